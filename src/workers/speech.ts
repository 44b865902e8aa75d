/**
 * Reading the words of a voice note or audio file, shared by the transcribe and translate
 * workers: what cannot work is refused before anything is downloaded (a format the audio
 * endpoints do not read, a file over the platform's or the endpoint's limit); the file is
 * fetched through the platform's own file API while "recording a voice message…" shows,
 * and handed to the endpoint under a name it accepts; a failure is explained in plain
 * words, or left to the queue's next attempt when one may cure it.
 * See https://platform.openai.com/docs/guides/speech-to-text
 */
import { AiApiError, errorCodeOf } from '../domain/errors.js';
import type { Attachment } from '../domain/inbound-message.js';
import type { ChatResult } from '../domain/jobs.js';
import { FileFetchError, FileTooLargeError, transcriptionFileName } from '../domain/media.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import type { JobContext, OutgoingAudio, Outbox, ReplyTarget } from '../ports/index.js';
import { DeliveryError, keepShowing, say, worthRetrying } from './answer.js';

/** Where the words come from and where to explain a failure. */
export interface SpeechSource {
  readonly outbox: Outbox;
  readonly target: ReplyTarget;
  readonly audio: Attachment;
  /** The endpoint's limit on a file (25 MB for transcription and translation). */
  readonly endpointMaxBytes: number;
  readonly context: JobContext;
}

/** The words, or the reply already sent that says why there are none. */
export type Heard = { readonly text: string } | { readonly reply: ChatResult };

/** Reads the words of `source.audio` with `read` (an audio endpoint); `text` is trimmed and may be empty. */
export async function hearSpeech(source: SpeechSource, read: (file: OutgoingAudio, signal: AbortSignal) => Promise<string>): Promise<Heard> {
  const { outbox, target, audio, context } = source;
  const what = audio.kind === 'voice' ? 'voice note' : 'audio file';
  const fileName = transcriptionFileName(audio);
  if (fileName === undefined) return { reply: await say(outbox, target, REPLIES.unsupportedAudio) };
  const maxBytes = Math.min(source.endpointMaxBytes, outbox.maxFileBytes);
  if (audio.sizeBytes !== undefined && audio.sizeBytes > maxBytes) {
    return { reply: await say(outbox, target, REPLIES.fileTooLarge(what, audio.sizeBytes, maxBytes)) };
  }
  const busy = keepShowing(outbox, target, 'record_voice');
  try {
    const file = await outbox.fetchFile(audio, { maxBytes, signal: context.signal });
    const mimeType = audio.mimeType ?? file.mimeType;
    return { text: (await read({ bytes: file.bytes, fileName, ...(mimeType ? { mimeType } : {}) }, context.signal)).trim() };
  } catch (error) {
    if (error instanceof DeliveryError || context.signal.aborted) throw error;
    return { reply: await explainFailure(error, { what, maxBytes, say: (text) => say(outbox, target, text, 'failed'), context }) };
  } finally {
    busy.stop();
  }
}

/** Tells the user why the audio was not read, or rethrows for another attempt. */
async function explainFailure(
  error: unknown,
  s: { what: string; maxBytes: number; say: (text: string) => Promise<ChatResult>; context: JobContext },
): Promise<ChatResult> {
  if (error instanceof FileTooLargeError) return s.say(REPLIES.fileTooLarge(s.what, error.sizeBytes, s.maxBytes));
  // A 400 from an audio endpoint: the audio itself cannot be read; retrying won't help.
  if (error instanceof AiApiError && error.status === 400) return s.say(REPLIES.unreadableAudio);
  const retryable = error instanceof FileFetchError ? error.retryable : worthRetrying(error);
  const willRetry = retryable && s.context.attempt < s.context.maxAttempts;
  s.context.log.warn({ err: error, willRetry }, 'reading the audio failed');
  if (willRetry) throw error;
  return s.say(error instanceof FileFetchError ? REPLIES.fileUnavailable(s.what) : FAILURE_NOTICES[errorCodeOf(error)]);
}
