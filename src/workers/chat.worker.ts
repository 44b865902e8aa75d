/**
 * The chat worker: one message in, one streamed answer out. Read top to bottom: a command
 * is answered by its own code (commands/), else what the message points at is gathered
 * (its photos and text files, the message it replies to: question-context.ts), then the
 * answer (answer.ts: prompt from history, streamed completion, history, failure notices).
 */
import type { ChatJob, ChatResult } from '../domain/jobs.js';
import type { JobContext, JobHandler, Outboxes } from '../ports/index.js';
import { answer, outboxOf, replyTargetOf } from './answer.js';
import { runCommand, type CommandDeps } from './commands/index.js';
import { gatherQuestion, type QuestionDeps } from './question-context.js';

/** What the chat worker needs; each a port, so it runs the same in a test and in a worker. */
export interface ChatWorkerDeps extends CommandDeps, QuestionDeps {
  readonly outboxes: Outboxes;
}

/** Creates the `chat` job handler. */
export function createChatWorker(deps: ChatWorkerDeps): JobHandler<'chat'> {
  return async function handleChat({ conversation, message }: ChatJob, context: JobContext): Promise<ChatResult> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; message dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);

    // 1. Commands.
    if (message.command) return runCommand(deps, message.command, { conversation, message, outbox, target }, context);

    // 2. What the message points at: its photos (for a model that sees them) and text files,
    //    and the message it replies to (question-context.ts); then the answer (answer.ts).
    const gathered = await gatherQuestion(deps, { conversation, message, outbox, target, said: message.text.trim() }, context);
    if ('reply' in gathered) return gathered.reply;
    return answer(deps, gathered.question, context);
  };
}
