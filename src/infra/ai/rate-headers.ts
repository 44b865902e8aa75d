/**
 * What an OpenAI-compatible endpoint says about its rate limits, and how long to hold
 * requests because of it. Pure functions over response headers:
 * `x-ratelimit-limit-*` (the budget a minute), `-remaining-*` (left now) and `-reset-*`
 * (until the budget is whole again, as "1s", "6m0s", "20ms"), for requests and tokens;
 * and on a 429 `retry-after-ms` / `retry-after`.
 * https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
 */
import { parseRetryAfterMs, type ResponseHeaders } from './retry.js';

/** One budget as the headers give it. */
export interface Budget {
  readonly limit?: number;
  readonly remaining?: number;
  /** Ms until the budget is whole again. */
  readonly resetMs?: number;
}

/** Both budgets of a response. */
export interface RateHeaders {
  readonly requests: Budget;
  readonly tokens: Budget;
}

/** A pause asked for when nothing better is known, doubled for each 429 in a row. */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** Never hold everyone longer than this on the word of one header. */
const MAX_PAUSE_MS = 60_000;
/** The endpoint's own rough measure (its rate-limit docs): about four characters a token. */
const CHARS_PER_TOKEN = 4;

const UNITS_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** "6m0s" → 360000, "1.5s" → 1500, "20ms" → 20; undefined when it is not a duration. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  // A bare number is seconds, as retry-after is.
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  let total = 0;
  let rest = trimmed;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * (UNITS_MS[match[2]!] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return total;
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function count(headers: ResponseHeaders, name: string): number | undefined {
  const value = Number(header(headers, name));
  return header(headers, name) === undefined || !Number.isFinite(value) ? undefined : value;
}

/** The budgets the response's `x-ratelimit-*` headers describe (fields absent when not sent). */
export function readRateHeaders(headers: ResponseHeaders): RateHeaders {
  const budget = (kind: 'requests' | 'tokens'): Budget => {
    const limit = count(headers, `x-ratelimit-limit-${kind}`);
    const remaining = count(headers, `x-ratelimit-remaining-${kind}`);
    const resetMs = parseDurationMs(header(headers, `x-ratelimit-reset-${kind}`));
    return { ...(limit === undefined ? {} : { limit }), ...(remaining === undefined ? {} : { remaining }), ...(resetMs === undefined ? {} : { resetMs }) };
  };
  return { requests: budget('requests'), tokens: budget('tokens') };
}

/**
 * How long until `needed` of a budget is back: the budget refills evenly, whole again
 * after `resetMs`, so each missing unit takes resetMs / (limit - remaining).
 */
function refillMs(budget: Budget, needed: number): number | undefined {
  const { limit, remaining, resetMs } = budget;
  if (remaining === undefined || resetMs === undefined || remaining >= needed) return remaining === undefined ? undefined : 0;
  if (limit === undefined || limit <= remaining) return resetMs;
  return Math.min(resetMs, (resetMs * (needed - remaining)) / (limit - remaining));
}

/**
 * How long every request to this endpoint should wait after this answer, in ms (0: no
 * need). A 429 waits what the server asked (`retry-after-ms`, `retry-after`), else until
 * the exhausted budget has room for one more request of `tokens`, else an exponential
 * backoff by `limitedInARow` (1, 2, 4… 30 s). Any other answer waits only when it says
 * a budget is spent: until one request (or `tokens`) has refilled.
 */
export function pauseAfter(status: number, headers: ResponseHeaders, tokens: number, limitedInARow: number, now: number = Date.now()): number {
  const rate = readRateHeaders(headers);
  const forRequests = refillMs(rate.requests, 1) ?? 0;
  const forTokens = tokens > 0 ? (refillMs(rate.tokens, tokens) ?? 0) : 0;
  const fromBudgets = Math.max(forRequests, forTokens);
  if (status !== 429) return Math.min(fromBudgets, MAX_PAUSE_MS);
  const asked = parseRetryAfterMs(headers, now);
  if (asked !== undefined && asked > 0) return Math.min(asked, MAX_PAUSE_MS);
  if (fromBudgets > 0) return Math.min(fromBudgets, MAX_PAUSE_MS);
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, limitedInARow - 1), MAX_BACKOFF_MS);
}

/** Roughly what the endpoint counts against a minute's tokens before it answers: the prompt by its characters, plus the completion it may write. */
export function estimateTokens(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  const b = body as { messages?: unknown; input?: unknown; max_completion_tokens?: unknown; max_tokens?: unknown };
  let chars = 0;
  if (Array.isArray(b.messages)) {
    for (const message of b.messages as Array<{ content?: unknown }>) {
      const content = message?.content;
      if (typeof content === 'string') chars += content.length;
      else if (Array.isArray(content)) for (const part of content as Array<{ text?: unknown }>) if (typeof part?.text === 'string') chars += part.text.length;
    }
  }
  if (typeof b.input === 'string') chars += b.input.length;
  else if (Array.isArray(b.input)) for (const item of b.input) if (typeof item === 'string') chars += item.length;
  const completion = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : typeof b.max_tokens === 'number' ? b.max_tokens : 0;
  return Math.ceil(chars / CHARS_PER_TOKEN) + completion;
}
