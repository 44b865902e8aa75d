/**
 * Pure token-budget rules for conversation history: what one stored message costs, and
 * how an oversized message is cut so the newest turn always fits the budget. The token
 * counter is injected, so this file stays free of any tokenizer and of I/O.
 * Message cost follows OpenAI's counting guide:
 * https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb
 */
import type { HistoryEntry } from './chat.js';

/** Framing of one chat message (3) plus its role, which is one token for user/assistant. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Extra framing when a message carries a `name`. */
export const NAME_OVERHEAD_TOKENS = 1;
/** One entry may use at most this share of the budget, so the newest user+assistant pair always fits. */
export const ENTRY_BUDGET_SHARE = 0.5;
/** Appended to a cut text so the model (and a reader) can tell it is incomplete. */
export const TRUNCATION_MARKER = ' […truncated]';
/** Each pass shrinks the kept prefix in proportion; more than a few passes means a pathological counter. */
const MAX_TRUNCATION_PASSES = 8;

/** Counts the tokens of a text (gpt-tokenizer in production, anything in tests). */
export type TokenCounter = (text: string) => number;

/** The tokens one message costs in a prompt: its text, its name and the chat framing. */
export function messageTokens(entry: Pick<HistoryEntry, 'name' | 'text'>, count: TokenCounter): number {
  const name = entry.name === '' ? 0 : count(entry.name) + NAME_OVERHEAD_TOKENS;
  return MESSAGE_OVERHEAD_TOKENS + name + count(entry.text);
}

/** The most tokens one stored entry may cost under a history budget of `maxTokens`. */
export function entryTokenLimit(maxTokens: number): number {
  return Math.floor(maxTokens * ENTRY_BUDGET_SHARE);
}

/**
 * Cuts `text` to a prefix that, with `TRUNCATION_MARKER` appended, counts at most `limit`
 * tokens. Returns `text` unchanged when it fits, and `''` when not even the marker fits.
 */
export function truncateText(text: string, limit: number, count: TokenCounter): string {
  let tokens = count(text);
  if (tokens <= limit) return text;
  const room = limit - count(TRUNCATION_MARKER);
  if (room <= 0) return '';
  let keep = text.length;
  for (let pass = 0; pass < MAX_TRUNCATION_PASSES && keep > 0; pass += 1) {
    // Token density is roughly even along a text, so a proportional cut lands close; the
    // loop only repeats when the kept prefix is denser than the whole.
    keep = Math.min(keep - 1, Math.floor((keep * room) / Math.max(tokens, 1)));
    keep = avoidSplitPair(text, keep);
    const prefix = text.slice(0, keep);
    tokens = count(prefix);
    if (tokens <= room) return prefix + TRUNCATION_MARKER;
  }
  return '';
}

/** An entry fitted to its share of the budget, with its final cost. */
export interface FittedEntry {
  readonly entry: HistoryEntry;
  readonly tokens: number;
  readonly truncated: boolean;
}

/**
 * Fits one entry to `entryTokenLimit(maxTokens)`: an entry that fits is returned as is;
 * a larger one keeps the start of its text, cut with `truncateText`. `tokens` is always
 * counted on the final text, so a store's running total stays exact.
 */
export function fitEntry(entry: HistoryEntry, maxTokens: number, count: TokenCounter): FittedEntry {
  const tokens = messageTokens(entry, count);
  const limit = entryTokenLimit(maxTokens);
  if (tokens <= limit) return { entry, tokens, truncated: false };
  const framing = messageTokens({ name: entry.name, text: '' }, count);
  const fitted: HistoryEntry = { ...entry, text: truncateText(entry.text, limit - framing, count) };
  return { entry: fitted, tokens: messageTokens(fitted, count), truncated: true };
}

/** Moves a cut off the middle of a surrogate pair: half an emoji is not text. */
function avoidSplitPair(text: string, at: number): number {
  const before = text.charCodeAt(at - 1);
  return at > 0 && before >= 0xd800 && before <= 0xdbff ? at - 1 : at;
}
