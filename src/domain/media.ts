/**
 * Files users send (voice notes, audio, photos) and images the bot makes: the limits
 * that apply before anything is downloaded, the file names the transcription and
 * translation endpoints accept, and the errors a download (or a picture's conversion)
 * can end in. Pure: no I/O.
 * Transcription limits: https://platform.openai.com/docs/guides/speech-to-text
 */
import type { Attachment } from './inbound-message.js';

/** `POST /audio/transcriptions` refuses files over 25 MB. */
export const TRANSCRIPTION_MAX_BYTES = 25 * 1024 * 1024;
/** Chat image inputs: OpenAI takes up to 20 MB per image. */
export const VISION_MAX_BYTES = 20 * 1024 * 1024;
/** A generated image fetched from a `url` answer is capped at this size. */
export const GENERATED_IMAGE_MAX_BYTES = 20 * 1024 * 1024;
/** `POST /audio/translations` takes the same files as transcription: up to 25 MB, the same formats. */
export const TRANSLATION_MAX_BYTES = TRANSCRIPTION_MAX_BYTES;
/**
 * The largest picture a user may send for an edit or variations. It is converted to a
 * PNG within the endpoint's own limit (4 MB) before it goes upstream, so this only
 * bounds the download and the decoding.
 */
export const PICTURE_MAX_BYTES = 20 * 1024 * 1024;

/** Extensions `POST /audio/transcriptions` accepts (the spec's list). */
const TRANSCRIPTION_EXTENSIONS = new Set(['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'ogg', 'wav', 'webm']);

/** Audio mime types and the extension the endpoint knows them by. */
const EXTENSION_BY_MIME: Readonly<Record<string, string>> = {
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/oga': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'm4a',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'video/mp4': 'mp4',
  'video/mpeg': 'mpeg',
};

/** Other names for accepted formats: Telegram's voice notes are `.oga`, which is Ogg Opus. */
const EXTENSION_ALIASES: Readonly<Record<string, string>> = { oga: 'ogg', opus: 'ogg', mpga: 'mpga', aac: 'm4a' };

/**
 * The file name to send to the transcription endpoint: the endpoint infers the format
 * from the extension, so it must be one it accepts. Undefined when the attachment is in
 * no format the endpoint can read.
 */
export function transcriptionFileName(attachment: Pick<Attachment, 'mimeType' | 'fileName' | 'kind'>): string | undefined {
  const fromName = /\.([A-Za-z0-9]{1,5})$/.exec(attachment.fileName ?? '')?.[1]?.toLowerCase();
  const named = fromName === undefined ? undefined : (EXTENSION_ALIASES[fromName] ?? fromName);
  const mime = attachment.mimeType?.split(';')[0]?.trim().toLowerCase();
  const extension = named !== undefined && TRANSCRIPTION_EXTENSIONS.has(named) ? named : mime === undefined ? undefined : EXTENSION_BY_MIME[mime];
  if (extension === undefined) {
    // Voice notes without a stated type are Ogg Opus on both Telegram and Discord.
    return attachment.kind === 'voice' && mime === undefined ? 'voice.ogg' : undefined;
  }
  const base = (attachment.fileName ?? (attachment.kind === 'voice' ? 'voice' : 'audio')).replace(/\.[A-Za-z0-9]{1,5}$/, '').replace(/[^\w.-]+/g, '_') || 'audio';
  return `${base}.${extension}`;
}

/** The image types chat models accept as input. */
export const VISION_MIME_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

/** "3.4 MB": sizes as users read them (binary megabytes, one decimal under 10). */
export function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb >= 10) return `${Math.round(mb)} MB`;
  if (mb >= 0.1) return `${mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** A file's bytes, as downloaded. */
export interface FileContent {
  readonly bytes: Uint8Array;
  readonly mimeType?: string;
  readonly fileName?: string;
}

/** The file is over a limit; refused before (or while) downloading. Not retried. */
export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
  constructor(
    readonly sizeBytes: number | undefined,
    readonly maxBytes: number,
  ) {
    super(`file too large: ${sizeBytes ?? 'more than'} bytes, limit ${maxBytes}`);
  }
}

/**
 * A file could not be fetched: gone, refused by the platform, or from a host that is not
 * allowed. `retryable` when a later attempt may succeed (network, 5xx).
 */
export class FileFetchError extends Error {
  override readonly name = 'FileFetchError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A picture that could not be decoded (or is too large to decode) for the picture
 * endpoints: damaged, or in a format the converter does not read. Not retried.
 */
export class UnreadablePictureError extends Error {
  override readonly name = 'UnreadablePictureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
