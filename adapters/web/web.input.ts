/**
 * Checks what the browser sends, in plain words for the person at the page. Pure:
 * takes parsed JSON, returns the clean values or the one problem to report.
 */
import { WEB_ERROR_CODES, type WebErrorCode } from './web.http.js';
import { UPLOAD_ID_PATTERN } from './web.media.js';

/** A channel name: lower-case letters, digits and dashes, as in `#general`. */
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** A client-generated message id (the page uses crypto.randomUUID). */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
/** The longest message text accepted, in characters. */
export const MAX_TEXT_CHARS = 8000;
/** The longest display name accepted, in characters. */
export const MAX_AUTHOR_CHARS = 40;
/** The display name of someone who gave none (the page's default too). */
export const DEFAULT_AUTHOR = 'you';

/** A message the browser posted, checked. */
export interface MessageInput {
  readonly id: string;
  readonly text: string;
  readonly author: string;
  /** An uploaded file (POST /api/uploads), and the kind the upload answered if the page said it. */
  readonly attachment?: { readonly id: string; readonly kind?: AttachmentKind };
}

/** The kinds a message's attachment may claim; checked against the stored file's type. */
export type AttachmentKind = 'voice' | 'audio' | 'image';
const ATTACHMENT_KINDS: ReadonlySet<string> = new Set<AttachmentKind>(['voice', 'audio', 'image']);

/** A problem with the input, ready to answer with. */
export interface InputProblem {
  readonly status: number;
  readonly code: WebErrorCode;
  readonly message: string;
}

/** Checks a channel name taken from the URL. */
export function checkChannel(channel: string): InputProblem | undefined {
  if (CHANNEL_PATTERN.test(channel)) return undefined;
  return {
    status: 400,
    code: WEB_ERROR_CODES.INVALID_CHANNEL,
    message: 'Channel names use 1 to 40 lower-case letters, digits and dashes, and start with a letter or digit.',
  };
}

/** Checks the parsed JSON body of `POST /api/channels/:channel/messages`. */
export function checkMessageInput(body: unknown): { ok: true; value: MessageInput } | { ok: false; problem: InputProblem } {
  const fail = (code: WebErrorCode, message: string) => ({ ok: false as const, problem: { status: 400, code, message } });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(WEB_ERROR_CODES.INVALID_JSON, 'The request body must be a JSON object with "id", "text" and "author".');
  }
  const { id, text, author, attachment } = body as Record<string, unknown>;
  if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) {
    return fail(WEB_ERROR_CODES.INVALID_ID, 'The message id must be 8 to 64 letters, digits, dashes or underscores.');
  }
  const file = checkAttachment(attachment);
  if (file === 'invalid') {
    return fail(
      WEB_ERROR_CODES.INVALID_ATTACHMENT,
      'The attachment must be { "id": <the id POST /api/uploads answered>, "kind": "voice", "audio" or "image" (optional) }.',
    );
  }
  // With a file attached, the text (a caption) may be empty.
  if (typeof text !== 'string' && (file === undefined || (text !== undefined && text !== null))) {
    return fail(WEB_ERROR_CODES.EMPTY_TEXT, 'The message has no text.');
  }
  const trimmed = (text ?? '').trim();
  if (trimmed === '' && file === undefined) return fail(WEB_ERROR_CODES.EMPTY_TEXT, 'The message is empty. Type something first.');
  const length = countChars(trimmed);
  if (length > MAX_TEXT_CHARS) {
    return fail(
      WEB_ERROR_CODES.TEXT_TOO_LONG,
      `The message is too long: ${length} characters, and the limit is ${MAX_TEXT_CHARS}. Shorten it or split it up.`,
    );
  }
  if (author !== undefined && author !== null && typeof author !== 'string') {
    return fail(WEB_ERROR_CODES.INVALID_AUTHOR, 'The display name must be text.');
  }
  // Control characters would only garble the name in the page and the prompt.
  const name = (author ?? '').replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (countChars(name) > MAX_AUTHOR_CHARS) {
    return fail(WEB_ERROR_CODES.INVALID_AUTHOR, `The display name is too long; use at most ${MAX_AUTHOR_CHARS} characters.`);
  }
  const value: MessageInput = { id, text: trimmed, author: name === '' ? DEFAULT_AUTHOR : name, ...(file === undefined ? {} : { attachment: file }) };
  return { ok: true, value };
}

/** `attachment`: absent, or `{ id, kind? }` with an upload id. */
function checkAttachment(value: unknown): MessageInput['attachment'] | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return 'invalid';
  const { id, kind } = value as Record<string, unknown>;
  if (typeof id !== 'string' || !UPLOAD_ID_PATTERN.test(id)) return 'invalid';
  if (kind === undefined || kind === null) return { id };
  if (typeof kind !== 'string' || !ATTACHMENT_KINDS.has(kind)) return 'invalid';
  return { id, kind: kind as AttachmentKind };
}

/** Characters as people count them (code points), not UTF-16 units. */
function countChars(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}
