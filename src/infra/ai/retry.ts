/**
 * The one retry policy of the AI client, after openai-node: retry 408, 409, 429, 5xx,
 * network errors and timeouts; obey `x-should-retry`; wait what `retry-after-ms` or
 * `retry-after` asks when it is between 0 and 60 s, else back off exponentially with
 * jitter. The rules are pure functions (time and randomness are injected);
 * `aiRequestPolicy` puts them together as a policy for `retry()` of src/infra/retry.ts,
 * which runs the attempts of http.ts's send().
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import { AiNetworkError, AiTimeoutError, type AiApiError } from '../../domain/errors.js';
import type { RetryPolicy } from '../retry.js';

/** Retries after the first attempt, unless the client is configured otherwise. */
export const DEFAULT_MAX_RETRIES = 2;
/** Backoff before the first retry; doubles each retry up to MAX_RETRY_DELAY_MS. */
export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
/** Jitter takes up to this fraction off a backoff delay (so 75% to 100% of it). */
export const MAX_JITTER_FRACTION = 0.25;
/** A server-requested delay is used only below this; longer asks fall back to backoff. */
export const MAX_SERVER_DELAY_MS = 60_000;

/**
 * Response headers as undici gives them: lower-case names.
 * See https://platform.openai.com/docs/api-reference/debugging-requests
 */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: ResponseHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether a failed response is worth another attempt: the server's `x-should-retry`
 * wins, else 408, 409, 429 and 5xx are retried.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function shouldRetryResponse(status: number, headers?: ResponseHeaders): boolean {
  const explicit = header(headers, 'x-should-retry');
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Whether a request that got no response is worth another attempt: connection
 * failures and timeouts are; anything else (our own bug, an abort) is not.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function shouldRetryError(error: unknown): boolean {
  return error instanceof AiNetworkError || error instanceof AiTimeoutError;
}

/**
 * The delay the server asked for, in ms: `retry-after-ms` first, then `retry-after` as
 * seconds or an HTTP date (relative to `now`). Undefined when absent or unparsable;
 * may be negative for a date in the past.
 * See https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Retry-After
 */
export function parseRetryAfterMs(headers: ResponseHeaders | undefined, now: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value)) return value;
  }
  const after = header(headers, 'retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : date - now;
}

/**
 * Inputs of retryDelayMs.
 * See https://platform.openai.com/docs/guides/rate-limits/retrying-with-exponential-backoff
 */
export interface RetryDelayInput {
  /** 0 for the first retry, 1 for the second, … */
  readonly retry: number;
  /** Headers of the failed response, if there was one. */
  readonly headers?: ResponseHeaders;
  /** Returns a number in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Milliseconds since the epoch; Date.now() by default. */
  readonly now?: number;
}

/**
 * How long to wait before the given retry: the server's request when it is within
 * [0, 60 s), else 500 ms × 2^retry capped at 8 s, minus up to 25% jitter.
 * See https://platform.openai.com/docs/guides/rate-limits/retrying-with-exponential-backoff
 */
export function retryDelayMs(input: RetryDelayInput): number {
  const asked = parseRetryAfterMs(input.headers, input.now ?? Date.now());
  if (asked !== undefined && asked >= 0 && asked < MAX_SERVER_DELAY_MS) return asked;
  const backoff = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** Math.max(0, input.retry), MAX_RETRY_DELAY_MS);
  const jitter = 1 - (input.random ?? Math.random)() * MAX_JITTER_FRACTION;
  return backoff * jitter;
}

/**
 * A failed attempt as the policy judges it: the error its caller gets if it is the last,
 * whether it is worth another attempt, and the failed response's headers (for a delay the
 * server asked). send() throws it out of an attempt and hands the caller `error`.
 */
export class FailedAttempt {
  constructor(
    readonly error: Error,
    readonly retryable: boolean,
    readonly headers?: ResponseHeaders,
  ) {}
}

/**
 * An error status: retryable as shouldRetryResponse says, except a spent quota
 * (`insufficient_quota`), which no wait cures.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function responseFailure(error: AiApiError, status: number, headers: ResponseHeaders): FailedAttempt {
  return new FailedAttempt(error, shouldRetryResponse(status, headers) && !error.quotaExhausted, headers);
}

/** No answer (or a body that failed): retryable as shouldRetryError says. */
export function transportFailure(error: Error): FailedAttempt {
  return new FailedAttempt(error, shouldRetryError(error));
}

/**
 * How every AI request is retried: up to `maxRetries` times, only a FailedAttempt marked
 * retryable, each after retryDelayMs with the failed response's headers (Math.random's
 * jitter, Date.now() for a date in `retry-after`).
 * See https://platform.openai.com/docs/guides/rate-limits/retrying-with-exponential-backoff
 */
export function aiRequestPolicy(maxRetries: number = DEFAULT_MAX_RETRIES): RetryPolicy {
  return {
    retries: maxRetries,
    retryIf: (failure) => failure instanceof FailedAttempt && failure.retryable,
    delayMs: (retry, failure) => {
      const headers = failure instanceof FailedAttempt ? failure.headers : undefined;
      return retryDelayMs({ retry, ...(headers ? { headers } : {}) });
    },
  };
}
