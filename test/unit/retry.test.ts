import { describe, expect, it } from 'vitest';
import { exponentialDelay, fixedDelays, retry, UNTIL_ABORTED, type RetryPolicy } from '../../src/infra/retry.js';

/** A sleep that only records what it was asked to wait, and never waits. */
function recordingSleep() {
  const slept: number[] = [];
  return {
    slept,
    sleep: async (ms: number) => {
      slept.push(ms);
    },
  };
}

/** A call that fails with `errors`, one per try, then answers `value`. */
function failing<T>(errors: unknown[], value: T) {
  const attempts: number[] = [];
  return {
    attempts,
    fn: async (attempt: number): Promise<T> => {
      attempts.push(attempt);
      const error = errors.shift();
      if (error !== undefined) throw error;
      return value;
    },
  };
}

const oops = (n: number): Error => new Error(`oops ${n}`);

describe('retry', () => {
  it('returns the first success, without a pause when the first try works', async () => {
    const { sleep, slept } = recordingSleep();
    const call = failing([], 'ok');
    expect(await retry(fixedDelays([10, 20]), call.fn, { sleep })).toBe('ok');
    expect(call.attempts).toEqual([0]);
    expect(slept).toEqual([]);
  });

  it('tries once more than the policy has retries, then throws the last error', async () => {
    const { sleep, slept } = recordingSleep();
    const call = failing([oops(1), oops(2), oops(3), oops(4)], 'never');
    await expect(retry(fixedDelays([100, 400, 1_600]), call.fn, { sleep })).rejects.toThrow('oops 4');
    expect(call.attempts).toEqual([0, 1, 2, 3]);
    expect(slept).toEqual([100, 400, 1_600]);
  });

  it('succeeds on a retry within the limit', async () => {
    const { sleep, slept } = recordingSleep();
    const call = failing([oops(1), oops(2)], 'third time');
    expect(await retry(fixedDelays([100, 400, 1_600]), call.fn, { sleep })).toBe('third time');
    expect(slept).toEqual([100, 400]);
  });

  it('retries only the errors the policy names, and throws any other at once', async () => {
    const { sleep } = recordingSleep();
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const policy: RetryPolicy = { retries: 3, delayMs: () => 0, retryIf: (error) => (error as { code?: string }).code === 'ECONNRESET' };
    const call = failing([reset, reset, refused], 'never');
    await expect(retry(policy, call.fn, { sleep })).rejects.toBe(refused);
    expect(call.attempts).toEqual([0, 1, 2]);
  });

  it('does not sleep for a zero pause', async () => {
    const { sleep, slept } = recordingSleep();
    const call = failing([oops(1), oops(2), oops(3), oops(4)], 'never');
    await expect(retry({ retries: 3, delayMs: () => 0 }, call.fn, { sleep })).rejects.toThrow('oops 4');
    expect(call.attempts).toHaveLength(4);
    expect(slept).toEqual([]);
  });

  it('gives the policy the error to choose the pause from (a server asking for a wait)', async () => {
    const { sleep, slept } = recordingSleep();
    const flood = (seconds: number | undefined) => Object.assign(new Error('429'), { retryAfterSeconds: seconds });
    const policy: RetryPolicy = { retries: 3, delayMs: (_n, error) => ((error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 1) * 1000 };
    const call = failing([flood(5), flood(undefined)], 'ok');
    expect(await retry(policy, call.fn, { sleep })).toBe('ok');
    expect(slept).toEqual([5_000, 1_000]);
  });

  it('tells onRetry of each retry, its number and its pause, before the pause', async () => {
    const events: string[] = [];
    const sleep = async (ms: number) => {
      events.push(`sleep ${ms}`);
    };
    const call = failing([oops(1), oops(2)], 'ok');
    await retry(fixedDelays([100, 400]), call.fn, {
      sleep,
      onRetry: (error, n, ms) => {
        events.push(`retry ${n} after ${(error as Error).message} in ${ms}`);
      },
    });
    expect(events).toEqual(['retry 0 after oops 1 in 100', 'sleep 100', 'retry 1 after oops 2 in 400', 'sleep 400']);
  });

  it('does not tell onRetry of a failure it does not retry', async () => {
    const told: unknown[] = [];
    const call = failing([oops(1)], 'never');
    await expect(retry({ retries: 0, delayMs: () => 10 }, call.fn, { onRetry: (error) => void told.push(error) })).rejects.toThrow('oops 1');
    expect(told).toEqual([]);
  });

  it('starts no retry once the signal has aborted, and throws the last error', async () => {
    const stopping = new AbortController();
    const call = failing([oops(1), oops(2)], 'never');
    const fn = async (attempt: number) => {
      stopping.abort();
      return call.fn(attempt);
    };
    await expect(retry({ retries: UNTIL_ABORTED, delayMs: () => 10 }, fn, { signal: stopping.signal })).rejects.toThrow('oops 1');
    expect(call.attempts).toEqual([0]);
  });

  it('ends a pause early when the signal aborts, and throws the last error', async () => {
    const stopping = new AbortController();
    let tries = 0;
    const started = Date.now();
    const pending = retry(
      { retries: UNTIL_ABORTED, delayMs: () => 60_000 },
      async () => {
        tries += 1;
        throw oops(tries);
      },
      { signal: stopping.signal },
    );
    setTimeout(() => stopping.abort(), 20);
    await expect(pending).rejects.toThrow('oops 1');
    expect(tries).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('ends the retries with what a sleep rejects with (the AI client’s abort reason)', async () => {
    const reason = new Error('caller gave up');
    const call = failing([oops(1), oops(2)], 'never');
    await expect(retry(fixedDelays([100, 100]), call.fn, { sleep: () => Promise.reject(reason) })).rejects.toBe(reason);
    expect(call.attempts).toEqual([0]);
  });

  it('goes on until success with no limit', async () => {
    const { sleep, slept } = recordingSleep();
    const errors = Array.from({ length: 50 }, (_, i) => oops(i));
    const call = failing(errors, 'at last');
    expect(await retry({ retries: UNTIL_ABORTED, delayMs: exponentialDelay(250, 5_000) }, call.fn, { sleep })).toBe('at last');
    expect(call.attempts).toHaveLength(51);
    expect(slept.slice(0, 7)).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(slept.at(-1)).toBe(5_000);
  });

  it('waits for real with node timers by default', async () => {
    const started = Date.now();
    const call = failing([oops(1)], 'ok');
    expect(await retry(fixedDelays([50]), call.fn)).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe('backoff shapes', () => {
  it('exponentialDelay doubles from its minimum up to its maximum', () => {
    const delay = exponentialDelay(1_000, 30_000);
    expect([0, 1, 2, 3, 4, 5, 6, 2_000].map(delay)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('fixedDelays is as many retries as pauses', () => {
    const policy = fixedDelays([100, 400, 1_600]);
    expect(policy.retries).toBe(3);
    expect([0, 1, 2].map((n) => policy.delayMs(n, undefined))).toEqual([100, 400, 1_600]);
  });
});
