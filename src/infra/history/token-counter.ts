/**
 * Token counting with OpenAI's o200k_base encoding (GPT-4o, GPT-4.1, o-series, GPT-5),
 * through gpt-tokenizer. The history store counts with it by default, and the app's
 * workers stage (src/app/workers.stage.ts) hands the same function to the workers, which
 * bound a question's context (a message replied to, text files) by it: the budgets they
 * keep and the totals the history stores agree.
 * See https://github.com/niieani/gpt-tokenizer and https://github.com/openai/tiktoken
 */
import { createRequire } from 'node:module';

type CountO200k = typeof import('gpt-tokenizer/encoding/o200k_base').countTokens;

/**
 * The o200k tables take ~65 MiB once loaded, so they load on the first count rather
 * than at start: a worker that has not answered anything yet stays small.
 */
const requireLazily = createRequire(import.meta.url);
let loaded: CountO200k | undefined;
const countO200k: CountO200k = (text, options) => {
  loaded ??= (requireLazily('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountO200k }).countTokens;
  return loaded(text, options);
};

/**
 * Longest run counted in one piece. BPE cost grows with the square of a pre-token's
 * length: a 50,000-character run of CJK (no spaces, so one pre-token) takes ~11 s in
 * one piece and ~0.1 s in pieces of this size; 20,000 chars of "ab" take 215 ms vs 0.5 ms.
 */
const MAX_RUN_CHARS = 256;
/**
 * A run of non-space characters too long to count in one piece (with the one whitespace
 * character before it, which the tokenizer attaches to it), or a long whitespace run.
 */
const LONG_RUN = new RegExp(`\\s?\\S{${MAX_RUN_CHARS + 1},}|\\s{${MAX_RUN_CHARS + 1},}`, 'gu');
/** User text may contain "<|endoftext|>" and friends: count them as text, don't throw. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * Counts the o200k_base tokens of `text`. Exact for ordinary text; a run of more than
 * `MAX_RUN_CHARS` characters without whitespace (a base64 blob, unbroken CJK) is counted
 * in pieces, which may differ from the exact count by about one token per piece and
 * keeps the cost linear in the length of the text.
 */
export function countTokens(text: string): number {
  if (text.length <= MAX_RUN_CHARS) return countO200k(text, PLAIN_TEXT);
  let total = 0;
  let from = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    total += countO200k(text.slice(from, match.index), PLAIN_TEXT);
    for (const piece of pieces(match[0])) total += countO200k(piece, PLAIN_TEXT);
    from = match.index + match[0].length;
  }
  return total + countO200k(text.slice(from), PLAIN_TEXT);
}

/** Splits a long run into pieces of at most `MAX_RUN_CHARS`, never inside a surrogate pair. */
function* pieces(run: string): Generator<string> {
  let start = 0;
  while (start < run.length) {
    let end = Math.min(start + MAX_RUN_CHARS, run.length);
    const last = run.charCodeAt(end - 1);
    if (end < run.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    yield run.slice(start, end);
    start = end;
  }
}
