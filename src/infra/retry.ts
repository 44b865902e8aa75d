/**
 * The one retry loop of the service: `retry(policy, fn)` calls `fn` until it succeeds, the
 * policy gives up, or the caller's signal aborts. A policy says how many retries, which
 * errors are worth one, and how long to pause before each; it is a named constant at the
 * top of the file that uses it (`BOT_API_RESET`, `ENQUEUE_UPDATE`, `MARK_ADDED`…), so
 * each call site's limits read in one line. The AI client's policy is built from its
 * configured retries (`aiRequestPolicy` in src/infra/ai/retry.ts: status codes,
 * `retry-after` headers, never a started stream) and run by its send() in src/infra/ai/http.ts.
 *
 * No I/O beyond timers, and no imports of adapters: a policy that knows a platform's
 * errors (a Bot API 429 with `retry_after`) is written where those errors live.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** How one kind of call is retried. */
export interface RetryPolicy {
  /** Retries after the first try; `UNTIL_ABORTED` for no limit (only the signal stops it). */
  readonly retries: number;
  /**
   * The pause before retry number `retry` (0 for the first retry) after `error`, in ms;
   * 0 tries again at once.
   */
  readonly delayMs: (retry: number, error: unknown) => number;
  /** Whether `error` is worth another try; every error is when unset. */
  readonly retryIf?: (error: unknown) => boolean;
}

/** What a call site adds to its policy. */
export interface RetryOptions {
  /** Once aborted, no retry starts and a pause ends early: the last error is thrown. */
  readonly signal?: AbortSignal;
  /** Told before each retry's pause (to log it, or to hold a rate limit): the error, the retry's number from 0, and the pause. */
  readonly onRetry?: (error: unknown, retry: number, delayMs: number) => void | Promise<void>;
  /**
   * Waits `ms` or until `signal` aborts, whichever is first. Node's timers (which never
   * reject) unless the caller says otherwise; one that rejects ends the retries with its
   * error (the AI client's rejects with its caller's abort reason).
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** `retries` for a policy that goes on until its caller's signal aborts. */
export const UNTIL_ABORTED = Number.POSITIVE_INFINITY;

/** Pauses of `minMs`, doubling each retry, never above `maxMs`. */
export function exponentialDelay(minMs: number, maxMs: number): (retry: number) => number {
  return (retry) => Math.min(minMs * 2 ** retry, maxMs);
}

/** A policy of exactly these pauses, one retry each. */
export function fixedDelays(delaysMs: readonly number[], retryIf?: (error: unknown) => boolean): RetryPolicy {
  return { retries: delaysMs.length, delayMs: (retry) => delaysMs[retry] ?? 0, ...(retryIf === undefined ? {} : { retryIf }) };
}

const sleepUnlessAborted = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);

/**
 * Calls `fn` (given the number of the try, from 0) and retries it as `policy` says.
 * Resolves with its first success; rejects with the last error once the policy gives up
 * on it (too many retries, or an error not worth one) or the signal has aborted.
 */
export async function retry<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal } = options;
  const sleep = options.sleep ?? sleepUnlessAborted;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.retries || signal?.aborted || !(policy.retryIf?.(error) ?? true)) throw error;
      const ms = policy.delayMs(attempt, error);
      await options.onRetry?.(error, attempt, ms);
      if (ms > 0) await sleep(ms, signal);
      if (signal?.aborted) throw error;
    }
  }
}
