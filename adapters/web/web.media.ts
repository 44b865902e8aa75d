/**
 * Which files the playground takes and shows, in plain words for the person at the
 * page. Pure: the upload and file routes (web.uploads.ts) and the message route use it.
 */
import { formatBytes, TRANSCRIPTION_MAX_BYTES, VISION_MIME_TYPES } from '../../src/domain/media.js';
import type { Attachment } from '../../src/domain/inbound-message.js';
import { WEB_ERROR_CODES } from './web.http.js';
import type { InputProblem } from './web.input.js';

/**
 * The largest upload: the transcription endpoint's limit, which is also above the
 * vision limit (a photo between the two gets the bot's own "too large" reply).
 */
export const MAX_UPLOAD_BYTES = TRANSCRIPTION_MAX_BYTES;
/** An upload id, as the UploadStore makes them (128 random bits in hex). */
export const UPLOAD_ID_PATTERN = /^[a-f0-9]{32}$/;
/** The longest file name kept; longer ones are cut, keeping the extension. */
const MAX_FILE_NAME_CHARS = 100;
/** Video containers browsers record audio in (Safari's MediaRecorder makes audio as video/mp4). */
const AUDIO_VIDEO_TYPES: ReadonlySet<string> = new Set(['video/webm', 'video/mp4']);

/** What an upload becomes: the attachment kind and its bare media type. */
export interface UploadKind {
  readonly kind: Extract<Attachment['kind'], 'voice' | 'audio' | 'image'>;
  readonly mimeType: string;
}

/** The bare, lower-case media type of a Content-Type header (`audio/webm;codecs=opus` → `audio/webm`). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Sorts an upload by its Content-Type: audio (a recording from the page is a `voice`
 * note) or a photo the model can look at. Anything else is refused, SVG included: it
 * is a document that runs script, not a picture.
 */
export function classifyUpload(contentType: string | undefined, recorded: boolean): { ok: true; value: UploadKind } | { ok: false; problem: InputProblem } {
  const mimeType = mediaTypeOf(contentType);
  if (/^audio\/[a-z0-9.+-]+$/.test(mimeType) || AUDIO_VIDEO_TYPES.has(mimeType)) {
    return { ok: true, value: { kind: recorded ? 'voice' : 'audio', mimeType } };
  }
  if (VISION_MIME_TYPES.has(mimeType)) return { ok: true, value: { kind: 'image', mimeType } };
  const what = mimeType === '' ? 'a file without a type' : `a ${mimeType} file`;
  return {
    ok: false,
    problem: {
      status: 415,
      code: WEB_ERROR_CODES.UNSUPPORTED_FILE_TYPE,
      message: `The playground takes voice notes, audio files and PNG, JPEG, WebP or GIF images, not ${what}.`,
    },
  };
}

/** The problem with an upload over MAX_UPLOAD_BYTES (`size` when it is known). */
export function uploadTooLarge(size: number | undefined): InputProblem {
  const limit = formatBytes(MAX_UPLOAD_BYTES);
  return {
    status: 413,
    code: WEB_ERROR_CODES.FILE_TOO_LARGE,
    message:
      size === undefined || formatBytes(size) === limit
        ? `The file is too large: the playground takes files up to ${limit}.`
        : `The file is ${formatBytes(size)}, more than the ${limit} the playground takes.`,
  };
}

/** A file name safe to keep and show: no path, no control characters, at most MAX_FILE_NAME_CHARS. */
export function cleanFileName(raw: string | null | undefined): string | undefined {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const name = base.replace(/[\p{Cc}\p{Cf}]+/gu, '').replace(/\s+/g, ' ').trim();
  if (name === '' || name === '.' || name === '..') return undefined;
  const chars = [...name];
  if (chars.length <= MAX_FILE_NAME_CHARS) return name;
  const extension = /\.[A-Za-z0-9]{1,5}$/.exec(name)?.[0] ?? '';
  return chars.slice(0, MAX_FILE_NAME_CHARS - extension.length).join('') + extension;
}

/** Whether `/api/files/<id>` may serve a stored file of this type: the image types only. */
export function isServable(mimeType: string | undefined): mimeType is string {
  return mimeType !== undefined && VISION_MIME_TYPES.has(mimeType);
}
