/**
 * The transcribe worker: a voice note (or audio file) in, its transcript and an answer
 * out. It checks the file's size before anything is downloaded, fetches it through the
 * platform's own file API, sends it to the transcription endpoint under a file name the
 * endpoint accepts, shows the user what it heard, and then answers those words like any
 * message (answer.ts); history keeps the transcript as what the user said.
 * See https://platform.openai.com/docs/api-reference/audio/createTranscription
 */
import { AiApiError, errorCodeOf } from '../domain/errors.js';
import type { ChatResult, TranscribeJob } from '../domain/jobs.js';
import { FileFetchError, FileTooLargeError, TRANSCRIPTION_MAX_BYTES, transcriptionFileName } from '../domain/media.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import type { JobContext, JobHandler, Outboxes, Transcriber } from '../ports/index.js';
import { answer, DeliveryError, keepShowing, replyTargetOf, say, worthRetrying, type AnswerDeps } from './answer.js';

export interface TranscribeWorkerDeps extends AnswerDeps {
  readonly outboxes: Outboxes;
  readonly transcriber: Transcriber;
}

/** Creates the `transcribe` job handler. */
export function createTranscribeWorker(deps: TranscribeWorkerDeps): JobHandler<'transcribe'> {
  return async function handleTranscribe({ conversation, message }: TranscribeJob, context: JobContext): Promise<ChatResult> {
    const outbox = deps.outboxes[message.chat.platform];
    const audio = message.attachments.find((a) => a.kind === 'voice' || a.kind === 'audio');
    if (!outbox || !audio) {
      context.log.error({ platform: message.chat.platform, hasAudio: audio !== undefined }, 'transcribe job without an outbox or audio; dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);
    const what = audio.kind === 'voice' ? 'voice note' : 'audio file';

    // 1. Refuse what cannot work before downloading anything.
    const fileName = transcriptionFileName(audio);
    if (fileName === undefined) return say(outbox, target, REPLIES.unsupportedAudio);
    const maxBytes = Math.min(TRANSCRIPTION_MAX_BYTES, outbox.maxFileBytes);
    if (audio.sizeBytes !== undefined && audio.sizeBytes > maxBytes) {
      return say(outbox, target, REPLIES.fileTooLarge(what, audio.sizeBytes, maxBytes));
    }

    // 2. Download and transcribe, showing "recording a voice message…" meanwhile.
    let transcript: string;
    const busy = keepShowing(outbox, target, 'record_voice');
    try {
      const file = await outbox.fetchFile(audio, { maxBytes, signal: context.signal });
      const endUser = `${message.chat.platform}:${message.author.id}`;
      const mimeType = audio.mimeType ?? file.mimeType;
      transcript = (await deps.transcriber.transcribe({ bytes: file.bytes, fileName, ...(mimeType ? { mimeType } : {}) }, { endUser }, context.signal)).trim();
    } catch (error) {
      if (error instanceof DeliveryError || context.signal.aborted) throw error;
      return explainFailure(error, { what, maxBytes, say: (text) => say(outbox, target, text, 'failed'), context });
    } finally {
      busy.stop();
    }
    if (transcript === '') return say(outbox, target, REPLIES.emptyTranscript, 'failed');

    // 3. Show what was heard, then answer it if the bot was asked (TRANSCRIBE_ALL_VOICE
    //    transcribes voice notes nobody addressed to the bot; those get the transcript only).
    await say(outbox, target, REPLIES.transcript(transcript));
    if (!message.addressed) return { replied: true, messagesSent: 1, outcome: 'answered' };
    const caption = message.text.trim();
    const text = caption === '' ? transcript : `${caption}\n\n${transcript}`;
    const answered = await answer(deps, { conversation, message, text, outbox, target }, context);
    return { ...answered, messagesSent: answered.messagesSent + 1 };
  };
}

/** Tells the user why the audio was not transcribed, or rethrows for another attempt. */
async function explainFailure(
  error: unknown,
  s: { what: string; maxBytes: number; say: (text: string) => Promise<ChatResult>; context: JobContext },
): Promise<ChatResult> {
  if (error instanceof FileTooLargeError) return s.say(REPLIES.fileTooLarge(s.what, error.sizeBytes, s.maxBytes));
  // A 400 from the transcription endpoint: the audio itself cannot be read; retrying won't help.
  if (error instanceof AiApiError && error.status === 400) return s.say(REPLIES.unreadableAudio);
  const retryable = error instanceof FileFetchError ? error.retryable : worthRetrying(error);
  const willRetry = retryable && s.context.attempt < s.context.maxAttempts;
  s.context.log.warn({ err: error, willRetry }, 'transcription failed');
  if (willRetry) throw error;
  return s.say(error instanceof FileFetchError ? REPLIES.fileUnavailable(s.what) : FAILURE_NOTICES[errorCodeOf(error)]);
}
