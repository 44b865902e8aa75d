/**
 * The transcribe worker: a voice note (or audio file) in, its transcript and an answer
 * out. The file is checked, fetched and sent to the transcription endpoint by speech.ts
 * (size before download, a file name the endpoint accepts, plain-words failures); the
 * worker shows the user what it heard, and then answers those words like any message
 * (answer.ts); history keeps the transcript as what the user said.
 * See https://platform.openai.com/docs/api-reference/audio/createTranscription
 */
import type { ChatResult, TranscribeJob } from '../domain/jobs.js';
import { TRANSCRIPTION_MAX_BYTES } from '../domain/media.js';
import { REPLIES } from '../domain/replies.js';
import type { JobContext, JobHandler, Outboxes, Transcriber } from '../ports/index.js';
import { answer, type AnswerDeps, outboxOf, replyTargetOf, say } from './answer.js';
import { gatherQuestion, type QuestionDeps } from './question-context.js';
import { hearSpeech } from './speech.js';

export interface TranscribeWorkerDeps extends AnswerDeps, QuestionDeps {
  readonly outboxes: Outboxes;
  readonly transcriber: Transcriber;
}

/** Creates the `transcribe` job handler. */
export function createTranscribeWorker(deps: TranscribeWorkerDeps): JobHandler<'transcribe'> {
  return async function handleTranscribe({ conversation, message }: TranscribeJob, context: JobContext): Promise<ChatResult> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    const audio = message.attachments.find((a) => a.kind === 'voice' || a.kind === 'audio');
    if (!outbox || !audio) {
      context.log.error({ platform: message.chat.platform, hasAudio: audio !== undefined }, 'transcribe job without an outbox or audio; dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);

    // 1. Check, download and transcribe, showing "recording a voice message…" meanwhile.
    const endUser = `${message.chat.platform}:${message.author.id}`;
    const heard = await hearSpeech({ outbox, target, audio, endpointMaxBytes: TRANSCRIPTION_MAX_BYTES, context }, (file, signal) =>
      deps.transcriber.transcribe(file, { endUser }, signal),
    );
    if ('reply' in heard) return heard.reply;
    const transcript = heard.text;
    if (transcript === '') return say(outbox, target, REPLIES.emptyTranscript, 'failed');

    // 2. Show what was heard, then answer it if the bot was asked (TRANSCRIBE_ALL_VOICE
    //    transcribes voice notes nobody addressed to the bot; those get the transcript only).
    await say(outbox, target, REPLIES.transcript(transcript));
    if (!message.addressed) return { replied: true, messagesSent: 1, outcome: 'answered' };
    const caption = message.text.trim();
    const said = caption === '' ? transcript : `${caption}\n\n${transcript}`;
    // A voice note that replies to a message is about that message too (question-context.ts).
    const gathered = await gatherQuestion(deps, { conversation, message, outbox, target, said }, context);
    if ('reply' in gathered) return { ...gathered.reply, messagesSent: gathered.reply.messagesSent + 1 };
    const answered = await answer(deps, gathered.question, context);
    return { ...answered, messagesSent: answered.messagesSent + 1 };
  };
}
