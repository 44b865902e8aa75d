/**
 * Small node:http helpers of the playground: JSON answers, the error body and its
 * codes, and a bounded body reader. No framework: the routes are few and fixed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The largest request body the playground reads. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Past this much discarded body we stop reading and drop the connection. */
const MAX_DISCARD_BYTES = 1024 * 1024;

/** Error codes of the playground API, in `{ error: { code, message } }`; documented in docs/playground.md. */
export const WEB_ERROR_CODES = {
  INVALID_CHANNEL: 'invalid_channel',
  INVALID_JSON: 'invalid_json',
  INVALID_ID: 'invalid_id',
  INVALID_AUTHOR: 'invalid_author',
  EMPTY_TEXT: 'empty_text',
  TEXT_TOO_LONG: 'text_too_long',
  BODY_TOO_LARGE: 'body_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  EMPTY_FILE: 'empty_file',
  FILE_TOO_LARGE: 'file_too_large',
  UNSUPPORTED_FILE_TYPE: 'unsupported_file_type',
  INVALID_ATTACHMENT: 'invalid_attachment',
  UPLOAD_EXPIRED: 'upload_expired',
  FILE_NOT_FOUND: 'file_not_found',
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  UNAUTHORIZED: 'unauthorized',
  CROSS_ORIGIN: 'cross_origin',
  HOST_NOT_ALLOWED: 'host_not_allowed',
  PLAYGROUND_OFF: 'playground_off',
  UNAVAILABLE: 'unavailable',
  INTERNAL: 'internal',
} as const;

/** One of WEB_ERROR_CODES. */
export type WebErrorCode = (typeof WEB_ERROR_CODES)[keyof typeof WEB_ERROR_CODES];

/** Writes a JSON answer that no cache keeps. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}

/** Writes `{ error: { code, message } }`; `message` is plain words for the person at the page. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: WebErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

/** The outcome of reading a body: its text, or that it was over the limit. */
export type BodyResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly tooLarge: true };

/** The outcome of reading a body as bytes. */
export type BytesResult = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly tooLarge: true };

/** Reads a JSON (or other text) body up to `limit` bytes; see `readBytes`. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const result = await readBytes(req, limit);
  return result.ok ? { ok: true, text: result.bytes.toString('utf8') } : result;
}

/**
 * Reads the request body up to `limit` bytes. A body declared larger is refused
 * unread; one that turns out larger is drained up to a point (so the client still
 * reads our answer rather than a reset) and reported as too large. Answer a too
 * large body with `connection: close`: what was not read must not be parsed as a
 * next request.
 */
export function readBytes(req: IncomingMessage, limit: number): Promise<BytesResult> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve({ ok: false, tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BytesResult): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit + MAX_DISCARD_BYTES) {
        req.pause();
        finish({ ok: false, tooLarge: true });
      }
    };
    const onEnd = (): void => {
      finish(size > limit ? { ok: false, tooLarge: true } : { ok: true, bytes: Buffer.concat(chunks, size) });
    };
    const onError = (error: Error): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      reject(error);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
