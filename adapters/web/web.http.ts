/**
 * The playground's HTTP vocabulary: the error body and its codes, and its body limit.
 * JSON answers and bounded body reading are the server's own (src/infra/http, imported
 * from there by each route), the same for every route. No framework: the routes are few and fixed.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../src/infra/http/json.js';

/** The largest request body the playground reads. */
export const MAX_BODY_BYTES = 64 * 1024;

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
