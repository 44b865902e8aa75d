/**
 * The fake OpenAI's rate limits, kept the way the live API describes them: a request
 * budget and a token budget per minute that refill continuously, reported on every answer
 * in `x-ratelimit-*` headers, and a 429 `rate_limit_exceeded` when a request does not fit.
 * A request's token cost is what the API counts before it runs: the prompt estimated from
 * its characters, plus the completion it may write (`max_completion_tokens`).
 * https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
 */

/** The budgets: undefined means unlimited (the headers then report a large fixed limit). */
export interface UpstreamLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Send `retry-after` (whole seconds) with a 429, as some deployments do (default false: headers only). */
  retryAfterHeader?: boolean;
  /** The budgets start spent, refilling from nothing (a provider suddenly limiting, as in a 429 storm). */
  startEmpty?: boolean;
}

/** What one request was let through with, or refused with. */
export interface LimitDecision {
  readonly ok: boolean;
  readonly headers: Record<string, string>;
  /** On a refusal: which budget ran out, for the error's `type`, and the message the API gives. */
  readonly refusal?: { readonly type: 'requests' | 'tokens'; readonly message: string };
}

/** Reported when a budget is unlimited, like the fake's headers always were. */
const UNLIMITED = { requests: 10_000, tokens: 30_000_000 } as const;
const MINUTE_MS = 60_000;
/** OpenAI's rough estimate: about four characters a token. */
const CHARS_PER_TOKEN = 4;

/** A continuously refilling bucket of `limit` per minute. */
class Bucket {
  #level: number;
  #at: number;
  constructor(readonly limit: number, now: number, empty = false) {
    this.#level = empty ? 0 : limit;
    this.#at = now;
  }
  level(now: number): number {
    this.#level = Math.min(this.limit, this.#level + ((now - this.#at) * this.limit) / MINUTE_MS);
    this.#at = now;
    return this.#level;
  }
  take(cost: number, now: number): boolean {
    if (this.level(now) < cost) return false;
    this.#level -= cost;
    return true;
  }
  /** Ms until `cost` fits. */
  msUntil(cost: number, now: number): number {
    return Math.max(0, ((cost - this.level(now)) * MINUTE_MS) / this.limit);
  }
  /** Ms until the bucket is full again (what `x-ratelimit-reset-*` says). */
  msUntilFull(now: number): number {
    return ((this.limit - this.level(now)) * MINUTE_MS) / this.limit;
  }
}

/** The request's token cost as the API counts it up front. */
export function estimatedTokens(body: unknown): number {
  const b = (body ?? {}) as { messages?: Array<{ content?: unknown }>; input?: unknown; prompt?: unknown; max_completion_tokens?: number | null; max_tokens?: number | null };
  let chars = 0;
  for (const message of b.messages ?? []) chars += JSON.stringify(message.content ?? '').length;
  if (b.input !== undefined) chars += JSON.stringify(b.input).length;
  if (typeof b.prompt === 'string') chars += b.prompt.length;
  return Math.ceil(chars / CHARS_PER_TOKEN) + (b.max_completion_tokens ?? b.max_tokens ?? 0);
}

/** "6m0s", "1.5s", "20ms": how the live API writes a reset time. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const minutes = Math.floor(ms / MINUTE_MS);
  const seconds = Number(((ms - minutes * MINUTE_MS) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

/** The fake's limiter: `decide` counts a request (or refuses it) and gives the headers to send. */
export function createUpstreamLimits(initial: UpstreamLimits = {}, now: () => number = Date.now) {
  let settings = initial;
  let requests = initial.requestsPerMinute === undefined ? undefined : new Bucket(initial.requestsPerMinute, now());
  let tokens = initial.tokensPerMinute === undefined ? undefined : new Bucket(initial.tokensPerMinute, now());

  const headersOf = (t: number): Record<string, string> => ({
    'x-ratelimit-limit-requests': String(requests?.limit ?? UNLIMITED.requests),
    'x-ratelimit-remaining-requests': String(requests ? Math.floor(requests.level(t)) : UNLIMITED.requests - 1),
    'x-ratelimit-reset-requests': formatReset(requests ? requests.msUntilFull(t) : 6),
    'x-ratelimit-limit-tokens': String(tokens?.limit ?? UNLIMITED.tokens),
    'x-ratelimit-remaining-tokens': String(tokens ? Math.floor(tokens.level(t)) : UNLIMITED.tokens - 1),
    'x-ratelimit-reset-tokens': formatReset(tokens ? tokens.msUntilFull(t) : 0),
  });

  return {
    /** Replaces the budgets (full again, or spent with `startEmpty`), e.g. to start or end a 429 storm. */
    set(next: UpstreamLimits): void {
      settings = next;
      const t = now();
      requests = next.requestsPerMinute === undefined ? undefined : new Bucket(next.requestsPerMinute, t, next.startEmpty);
      tokens = next.tokensPerMinute === undefined ? undefined : new Bucket(next.tokensPerMinute, t, next.startEmpty);
    },
    get settings(): UpstreamLimits {
      return settings;
    },
    /** The headers as they stand, counting nothing. */
    headers(): Record<string, string> {
      return headersOf(now());
    },
    decide(cost: number, model: string): LimitDecision {
      const t = now();
      if (requests && requests.level(t) < 1) return refuse('requests', 1, requests, t, model);
      if (tokens && tokens.level(t) < cost) return refuse('tokens', cost, tokens, t, model);
      requests?.take(1, t);
      tokens?.take(cost, t);
      return { ok: true, headers: headersOf(t) };
    },
  };

  function refuse(type: 'requests' | 'tokens', cost: number, bucket: Bucket, t: number, model: string): LimitDecision {
    const wait = bucket.msUntil(cost, t);
    const unit = type === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const used = Math.round(bucket.limit - bucket.level(t));
    const message =
      `Rate limit reached for ${model} in organization org-fake on ${unit}: Limit ${bucket.limit}, Used ${used}, Requested ${cost}. ` +
      `Please try again in ${formatReset(wait)}. Visit https://platform.openai.com/account/rate-limits to learn more.`;
    const headers = headersOf(t);
    if (settings.retryAfterHeader) headers['retry-after'] = String(Math.max(1, Math.ceil(wait / 1000)));
    return { ok: false, headers, refusal: { type, message } };
  }
}

export type FakeUpstreamLimits = ReturnType<typeof createUpstreamLimits>;
