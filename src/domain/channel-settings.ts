/**
 * Per-channel settings (and per Telegram topic / Discord thread: they are keyed by
 * conversation): the system prompt, the chat model and whose history the bot keeps.
 * Unset values fall back to the configuration. Pure.
 */
import type { ReasoningEffort } from './reasoning.js';

/** Whose history a conversation keeps: the whole channel's, or each user's own. */
export type HistoryScope = 'channel' | 'user';

export interface ChannelSettings {
  /** The system prompt (`/persona set`); unset: SYSTEM_PROMPT. */
  readonly persona?: string;
  /** The chat model (`/model`); unset: CHAT_MODEL. */
  readonly model?: string;
  /** `/scope`; unset: channel. */
  readonly scope?: HistoryScope;
  /** `/settings reasoning <effort>`: how hard a reasoning model thinks; unset: REASONING_EFFORT. */
  readonly reasoning?: ReasoningEffort;
}

/** A persona longer than this is refused: it is sent with every message. */
export const MAX_PERSONA_CHARS = 4000;

/** The history key of a message: the conversation's, or (scope `user`) the author's own inside it. */
export function historyKeyOf(conversation: string, scope: HistoryScope | undefined, authorId: string): string {
  return scope === 'user' ? `${conversation}/u:${authorId}` : conversation;
}

/** `/scope chat` on Telegram means the same as `/scope channel`. */
export function parseScope(text: string): HistoryScope | undefined {
  const word = text.trim().toLowerCase();
  if (word === 'channel' || word === 'chat' || word === 'group' || word === 'all') return 'channel';
  if (word === 'user' || word === 'users' || word === 'me' || word === 'personal') return 'user';
  return undefined;
}
