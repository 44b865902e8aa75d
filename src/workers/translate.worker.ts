/**
 * The translate worker (issue #14): `/translate` on a voice note, audio file or round
 * video note in, its English translation out, quoted like a transcript. The file is
 * checked, fetched and read by speech.ts exactly as for transcription (size before
 * download, the same formats, the same plain-words failures), through
 * `POST /audio/translations`. With TRANSLATE_THEN_ANSWER the translation is then answered
 * like any message (answer.ts), and history keeps it as what the user said.
 * See https://platform.openai.com/docs/api-reference/audio/createTranslation
 */
import { commandAudio } from '../domain/command-files.js';
import type { ChatResult, TranslateJob } from '../domain/jobs.js';
import { TRANSLATION_MAX_BYTES } from '../domain/media.js';
import { REPLIES } from '../domain/replies.js';
import type { JobContext, JobHandler, Outboxes, Translator } from '../ports/index.js';
import { answer, type AnswerDeps, outboxOf, replyTargetOf, say } from './answer.js';
import { hearSpeech } from './speech.js';

/** What the translate worker needs: the answering deps (for TRANSLATE_THEN_ANSWER) and the Translator. */
export interface TranslateWorkerDeps extends AnswerDeps {
  readonly outboxes: Outboxes;
  readonly translator: Translator;
  /** TRANSLATE_THEN_ANSWER: answer the translation like a chat message. */
  readonly thenAnswer: boolean;
}

/** Creates the `translate` job handler. */
export function createTranslateWorker(deps: TranslateWorkerDeps): JobHandler<'translate'> {
  return async function handleTranslate({ conversation, message }: TranslateJob, context: JobContext): Promise<ChatResult> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; translation dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);
    // The voice note the command is on: its own (a caption, an attachment option), or the one it replies to.
    const audio = commandAudio(message);
    if (!audio) return say(outbox, target, REPLIES.translateUsage);

    // 1. Check, download and translate, showing "recording a voice message…" meanwhile.
    const heard = await hearSpeech({ outbox, target, audio, endpointMaxBytes: TRANSLATION_MAX_BYTES, context }, (file, signal) =>
      deps.translator.translate(file, signal),
    );
    if ('reply' in heard) return heard.reply;
    const translation = heard.text;
    if (translation === '') return say(outbox, target, REPLIES.emptyTranslation, 'failed');

    // 2. Show the translation; answer it too when the operator asked for that.
    await say(outbox, target, REPLIES.translation(translation));
    if (!deps.thenAnswer) return { replied: true, messagesSent: 1, outcome: 'answered' };
    const answered = await answer(deps, { conversation, message, text: translation, outbox, target }, context);
    return { ...answered, messagesSent: answered.messagesSent + 1 };
  };
}
