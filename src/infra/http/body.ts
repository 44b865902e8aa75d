/**
 * Bounded request body readers for the HTTP routes (the playground's API, the Telegram
 * webhook): a body over the route's limit is never buffered whole.
 */
import type { IncomingMessage } from 'node:http';

/** Past this much discarded body we stop reading and drop the connection. */
const MAX_DISCARD_BYTES = 1024 * 1024;

/** The outcome of reading a body: its text, or that it was over the limit. */
export type BodyResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly tooLarge: true };

/** The outcome of reading a body as bytes. */
export type BytesResult = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly tooLarge: true };

/** Reads a JSON (or other text) body up to `limit` bytes, as UTF-8; see `readBytes`. */
export async function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
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
