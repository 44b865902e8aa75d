import { describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import { withDeadline } from '../../src/domain/deadline.js';

const until = (signal: AbortSignal): Promise<unknown> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));

describe('withDeadline', () => {
  it('aborts the work at the deadline and says so', async () => {
    let expired = false;
    const reason = await withDeadline(30, undefined, async (signal, deadline) => {
      const r = await until(signal);
      expired = deadline.expired;
      return r;
    });
    expect(expired).toBe(true);
    expect(reason).toMatchObject({ name: 'TimeoutError' });
  });

  it("passes the caller's abort on, with the caller's reason, and is not expired then", async () => {
    const caller = new AbortController();
    const work = withDeadline(10_000, caller.signal, async (signal, deadline) => ({ reason: await until(signal), expired: deadline.expired }));
    caller.abort(new Error('shutting down'));
    expect(await work).toEqual({ reason: new Error('shutting down'), expired: false });
  });

  it("lets go of the caller's signal once the work is done", async () => {
    const caller = new AbortController();
    expect(await withDeadline(10_000, caller.signal, async () => 'done')).toBe('done');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});
