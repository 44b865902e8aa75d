import { describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import { deadlineIn } from '../../src/infra/deadline.js';

const until = (signal: AbortSignal): Promise<unknown> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));

describe('deadlineIn', () => {
  it('aborts at the deadline, at most a tenth of it late, and says it expired', async () => {
    const started = Date.now();
    const deadline = deadlineIn(100);
    expect(await until(deadline.signal)).toMatchObject({ name: 'TimeoutError' });
    expect(deadline.expired).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(99);
  });

  it('gives calls that fall due together one signal, and calls due later another', () => {
    // A hundred calls at once: one signal, or two if they straddle the edge of a slice.
    const signals = new Set(Array.from({ length: 100 }, () => deadlineIn(30_000).signal));
    expect(signals.size).toBeLessThanOrEqual(2);
    expect(signals.has(deadlineIn(40_000).signal)).toBe(false);
  });

  it("passes the caller's abort on to every deadline of that caller, with the caller's reason, not expired", async () => {
    const caller = new AbortController();
    const first = deadlineIn(10_000, caller.signal);
    const second = deadlineIn(20_000, caller.signal);
    // One listener on the caller, however many deadlines it has.
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    caller.abort(new Error('shutting down'));
    expect(first.signal.reason).toEqual(new Error('shutting down'));
    expect(second.signal.reason).toEqual(new Error('shutting down'));
    expect(first.expired || second.expired).toBe(false);
    expect(deadlineIn(10_000, caller.signal).signal.aborted).toBe(true);
  });

  it("lets go of the caller's signal once its last deadline has passed", async () => {
    const caller = new AbortController();
    const deadline = deadlineIn(50, caller.signal);
    await until(deadline.signal);
    expect(deadline.expired).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});
