/**
 * Reading a message's files for the chat model (issue #18): a photo as a data: URL (so
 * the provider never fetches from a platform), a text file as UTF-8 text. Each is checked
 * against its limit before anything is downloaded; what cannot be read comes back as the
 * one sentence that says why, and a passing failure is left to the queue's next attempt.
 */
import type { Attachment } from '../domain/inbound-message.js';
import type { ChatResult } from '../domain/jobs.js';
import { FileFetchError, FileTooLargeError, VISION_MAX_BYTES, VISION_MIME_TYPES } from '../domain/media.js';
import type { FileText } from '../domain/question-context.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { decodeText, fileLabel } from '../domain/text-files.js';
import type { JobContext, Outbox } from '../ports/index.js';
import { DeliveryError } from './answer.js';

/** A file read, or the sentence that says why it could not be. */
export type Read<T> = T | { readonly refusal: string; readonly outcome?: ChatResult['outcome'] };

/** Downloads one photo as a data: URL, or the sentence that says why it cannot be read. */
export async function fetchImage(
  image: Attachment,
  outbox: Outbox,
  context: JobContext,
): Promise<Read<{ readonly dataUrl: string }>> {
  const maxBytes = Math.min(VISION_MAX_BYTES, outbox.maxFileBytes);
  if (image.sizeBytes !== undefined && image.sizeBytes > maxBytes) return { refusal: REPLIES.fileTooLarge('image', image.sizeBytes, maxBytes) };
  try {
    const file = await outbox.fetchFile(image, { maxBytes, signal: context.signal });
    const type = image.mimeType ?? file.mimeType ?? 'image/jpeg';
    if (!VISION_MIME_TYPES.has(type)) return { refusal: REPLIES.unsupportedImage };
    return { dataUrl: `data:${type};base64,${Buffer.from(file.bytes).toString('base64')}` };
  } catch (error) {
    return fileFailure(error, 'image', maxBytes, context);
  }
}

/** Downloads and decodes one text file, or the sentence that says why it cannot be read. */
export async function readTextFile(
  attachment: Attachment,
  maxBytes: number,
  outbox: Outbox,
  context: JobContext,
): Promise<Read<{ readonly file: FileText }>> {
  const name = fileLabel(attachment);
  if (attachment.sizeBytes !== undefined && attachment.sizeBytes > maxBytes) return { refusal: REPLIES.fileTooLarge('file', attachment.sizeBytes, maxBytes) };
  try {
    const file = await outbox.fetchFile(attachment, { maxBytes, signal: context.signal });
    const text = decodeText(file.bytes);
    return text === undefined ? { refusal: REPLIES.unreadableTextFile(name) } : { file: { name, text } };
  } catch (error) {
    return fileFailure(error, 'file', maxBytes, context);
  }
}

/** A download that failed: the sentence for the user, or a rethrow when another attempt may cure it. */
function fileFailure(error: unknown, what: string, maxBytes: number, context: JobContext): { refusal: string; outcome?: ChatResult['outcome'] } {
  if (error instanceof DeliveryError || context.signal.aborted) throw error;
  if (error instanceof FileTooLargeError) return { refusal: REPLIES.fileTooLarge(what, error.sizeBytes, maxBytes) };
  const retry = error instanceof FileFetchError ? error.retryable : true;
  const willRetry = retry && context.attempt < context.maxAttempts;
  context.log.warn({ err: error, willRetry }, `could not download ${what === 'image' ? 'a photo' : 'a file'}`);
  if (willRetry) throw error;
  return { refusal: error instanceof FileFetchError ? REPLIES.fileUnavailable(what) : FAILURE_NOTICES.internal, outcome: 'failed' };
}
