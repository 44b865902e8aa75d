/**
 * Rate limits shared by every process.
 * One area of src/ports; index.ts re-exports every port.
 */
/** One limit: at most `max` calls per `perMs` under `key`, counted across every process. */
export interface RateLimit {
  readonly key: string;
  readonly max: number;
  readonly perMs: number;
}

/**
 * A rate limiter shared by all processes (Redis), for platform API limits such as
 * Telegram's one message a second per chat and twenty a minute per group.
 */
export interface RateLimiter {
  /**
   * Waits until one more call fits every limit, then counts it against all of them at
   * once. Rejects if `signal` aborts while waiting.
   */
  acquire(limits: readonly RateLimit[], signal?: AbortSignal): Promise<void>;
  /**
   * Counts the call and returns 0 if it fits every limit now; otherwise counts nothing and
   * returns how many ms until it would (for updates that may be skipped, like a streaming edit).
   */
  tryAcquire(limits: readonly RateLimit[]): Promise<number>;
  /**
   * Waits for a place like `acquire`, then makes the platform call, which keeps its place
   * in the window until it has finished: a call let through counts as arriving when it
   * really arrives, however busy the host. Use it for calls to the platform.
   */
  run<T>(limits: readonly RateLimit[], call: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** `run` if the call fits every limit now; otherwise makes no call and says how long until it would. */
  tryRun<T>(limits: readonly RateLimit[], call: () => Promise<T>): Promise<{ readonly ran: true; readonly value: T } | { readonly ran: false; readonly waitMs: number }>;
  /** Holds every call that uses `key` for `ms` (the platform answered 429 with retry_after). */
  pause(key: string, ms: number): Promise<void>;
}
