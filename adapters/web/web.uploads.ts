/**
 * The playground's files. `POST /api/uploads` takes one voice note, audio file or photo
 * as the raw request body and keeps it in the UploadStore (Redis, an hour), where the
 * worker that takes the message reads it; `GET /api/files/:id` serves stored images
 * back to the page: photos users sent and pictures the bot drew.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, UploadStore } from '../../src/ports/index.js';
import { readBytes } from '../../src/infra/http/body.js';
import { sendJson } from '../../src/infra/http/json.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';
import type { InputProblem } from './web.input.js';
import { classifyUpload, cleanFileName, isServable, MAX_UPLOAD_BYTES, UPLOAD_ID_PATTERN, uploadTooLarge } from './web.media.js';

/** Files are named by a random id and never change: a tab may keep them as long as they live. */
const FILE_CACHE_CONTROL = 'private, max-age=3600, immutable';
/** A served file is never a document that could run anything, whatever a browser makes of it. */
const FILE_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";

/** What the file routes need. */
export interface UploadRouteDeps {
  readonly uploads: UploadStore;
  readonly log: Logger;
}

/**
 * `POST /api/uploads?name=<file name>[&voice=1]`, the body the file itself and
 * Content-Type its type; `voice=1` marks a recording made on the page. Answers
 * `201 { id, kind, mimeType, sizeBytes, fileName }`; the id goes in a message's
 * `attachment`. Size is checked on Content-Length before reading and again while
 * reading. A cross-site form cannot send audio or image types without a CORS
 * preflight, which we never grant.
 */
export async function postUpload(deps: UploadRouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const query = new URL(req.url ?? '/', 'http://playground.invalid').searchParams;
  const classified = classifyUpload(req.headers['content-type'], query.get('voice') === '1');
  if (!classified.ok) return refuse(res, classified.problem);
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > MAX_UPLOAD_BYTES) return refuse(res, uploadTooLarge(declared));

  const body = await readBytes(req, MAX_UPLOAD_BYTES);
  if (!body.ok) return refuse(res, uploadTooLarge(undefined));
  if (body.bytes.length === 0) {
    sendError(res, 400, WEB_ERROR_CODES.EMPTY_FILE, 'The file is empty. Record or choose it again.');
    return;
  }
  const { kind, mimeType } = classified.value;
  const fileName = cleanFileName(query.get('name'));
  let id: string;
  try {
    id = await deps.uploads.put({ bytes: body.bytes, mimeType, ...(fileName === undefined ? {} : { fileName }) });
  } catch (error) {
    deps.log.error({ err: error, sizeBytes: body.bytes.length }, 'could not store a playground upload');
    sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.', { 'retry-after': '2' });
    return;
  }
  sendJson(res, 201, { id, kind, mimeType, sizeBytes: body.bytes.length, ...(fileName === undefined ? {} : { fileName }) });
}

/** `GET /api/files/:id`: a stored image with its own type; anything else is not found. */
export async function serveFile(deps: UploadRouteDeps, id: string, res: ServerResponse, headOnly: boolean): Promise<void> {
  const notFound = (): void =>
    sendError(res, 404, WEB_ERROR_CODES.FILE_NOT_FOUND, 'This file is gone: the playground keeps files for an hour.');
  if (!UPLOAD_ID_PATTERN.test(id)) return notFound();
  let file;
  try {
    file = await deps.uploads.get(id);
  } catch (error) {
    deps.log.error({ err: error }, 'could not read a playground file');
    sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.');
    return;
  }
  // Audio is not served: only types a browser shows as a picture and nothing else.
  if (file === undefined || !isServable(file.mimeType)) return notFound();
  res.writeHead(200, {
    'content-type': file.mimeType,
    'content-length': file.bytes.byteLength,
    'cache-control': FILE_CACHE_CONTROL,
    'x-content-type-options': 'nosniff',
    'content-security-policy': FILE_CONTENT_SECURITY_POLICY,
    'cross-origin-resource-policy': 'same-origin',
    'content-disposition': 'inline',
  });
  res.end(headOnly ? undefined : file.bytes);
}

/** Refuses an upload whose body is (mostly) unread: that must not be parsed as the connection's next request. */
function refuse(res: ServerResponse, problem: InputProblem): void {
  sendError(res, problem.status, problem.code, problem.message, { connection: 'close' });
}
