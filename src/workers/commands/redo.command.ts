/**
 * `/redo`: the last exchange of the conversation answered again. The user's turn is asked
 * as history has it (text only: a photo is its caption and "[photo]"), and the new answer
 * takes the old one's place in history.
 */
import { historyKeyOf } from '../../domain/channel-settings.js';
import type { HistoryEntry } from '../../domain/chat.js';
import type { ChatResult } from '../../domain/jobs.js';
import { REPLIES } from '../../domain/replies.js';
import type { JobContext } from '../../ports/index.js';
import { answer, say, type AnswerDeps } from '../answer.js';
import type { CommandInput } from './run-command.js';

/** Answers the conversation's last question again, or says there is none. */
export async function redo(deps: AnswerDeps, input: CommandInput, context: JobContext): Promise<ChatResult> {
  const scope = (await deps.channelSettings?.get(input.conversation))?.scope;
  const history = await deps.history.read(historyKeyOf(input.conversation, scope, input.message.author.id));
  const last = lastExchange(history);
  if (last === undefined) return say(input.outbox, input.target, REPLIES.redoNothing);
  return answer(deps, { ...input, text: last.asked.text, redo: last }, context);
}

/** The last user turn and how many entries from it to the end (its answer), if history has one. */
function lastExchange(history: readonly HistoryEntry[]): { readonly entries: number; readonly asked: HistoryEntry } | undefined {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i];
    if (entry?.role === 'user') return { entries: history.length - i, asked: entry };
  }
  return undefined;
}
