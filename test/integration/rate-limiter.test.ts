import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisRateLimiter } from '../../src/infra/ratelimit/index.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const connections: Redis[] = [];
afterAll(() => connections.forEach((c) => c.disconnect()));

/** A limiter on its own connection (as another process would have) with a virtual clock. */
function limiterWithClock(prefix: string, clock: { now: number }) {
  const redis = new Redis(testRedisUrl());
  connections.push(redis);
  const slept: number[] = [];
  const limiter = createRedisRateLimiter({
    redis,
    keys: createRedisKeys(prefix),
    now: () => clock.now,
    sleep: async (ms) => {
      slept.push(ms);
      clock.now += ms;
    },
  });
  return { limiter, slept };
}

describe('Redis rate limiter', () => {
  it('keeps two processes together under a per-second limit', async () => {
    const prefix = uniquePrefix('rl');
    const clock = { now: 1_000_000 };
    const a = limiterWithClock(prefix, clock);
    const b = limiterWithClock(prefix, clock);
    const limit = [{ key: 'chat:1', max: 1, perMs: 1000 }];
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      await (i % 2 === 0 ? a : b).limiter.acquire(limit);
      times.push(clock.now);
    }
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
  });

  it('counts a call against all its limits at once, or against none', async () => {
    const prefix = uniquePrefix('rl');
    const clock = { now: 5_000_000 };
    const { limiter } = limiterWithClock(prefix, clock);
    const group = { key: 'group:g', max: 20, perMs: 60_000 };
    // Twenty calls in twenty different chats of one group fill the group's minute.
    for (let i = 0; i < 20; i++) await limiter.acquire([{ key: `chat:${i}`, max: 1, perMs: 1000 }, group]);
    const before = clock.now;
    await limiter.acquire([{ key: 'chat:new', max: 1, perMs: 1000 }, group]);
    expect(clock.now - before).toBeGreaterThanOrEqual(59_000);
    const redis = connections[0]!;
    // The waiting call counted nothing while it waited: the new chat's log holds one call.
    expect(await redis.zcard(createRedisKeys(prefix).rateLimit('chat:new'))).toBe(1);
  });

  it('holds a paused key until the pause ends', async () => {
    const prefix = uniquePrefix('rl');
    const clock = { now: 9_000_000 };
    const { limiter, slept } = limiterWithClock(prefix, clock);
    await limiter.pause('bot', 3_000);
    await limiter.acquire([{ key: 'bot', max: 30, perMs: 1000 }]);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThan(0);
  });

  it('tryAcquire counts only a call that fits, and says how long until the next would', async () => {
    const clock = { now: 12_000_000 };
    const { limiter } = limiterWithClock(uniquePrefix('rl'), clock);
    const limit = [{ key: 'edits', max: 1, perMs: 1000 }];
    expect(await limiter.tryAcquire(limit)).toBe(0);
    clock.now += 300;
    expect(await limiter.tryAcquire(limit)).toBe(700);
    clock.now += 700;
    expect(await limiter.tryAcquire(limit)).toBe(0);
  });

  it('stops waiting when aborted', async () => {
    const redis = new Redis(testRedisUrl());
    connections.push(redis);
    const limiter = createRedisRateLimiter({ redis, keys: createRedisKeys(uniquePrefix('rl')) });
    const limit = [{ key: 'x', max: 1, perMs: 60_000 }];
    await limiter.acquire(limit);
    const abort = new AbortController();
    const waiting = limiter.acquire(limit, abort.signal);
    abort.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });

  it('refuses a nonsense limit', async () => {
    const redis = new Redis(testRedisUrl());
    connections.push(redis);
    const limiter = createRedisRateLimiter({ redis, keys: createRedisKeys(uniquePrefix('rl')) });
    await expect(limiter.acquire([{ key: 'x', max: 0, perMs: 1000 }])).rejects.toThrow(RangeError);
  });
});

describe('calls that keep their place until they finish', () => {
  it('counts a slow call at the time it finished, so the next window is not overfilled', async () => {
    const prefix = uniquePrefix('rl-run');
    const clock = { now: 5_000_000 };
    const { limiter } = limiterWithClock(prefix, clock);
    const limits = [{ key: 'g', max: 2, perMs: 1_000 }];
    // Two calls let through at t=0 that only reach the platform 800 ms later…
    await Promise.all(
      [0, 1].map(() =>
        limiter.run(limits, async () => {
          clock.now += 400;
        }),
      ),
    );
    // …still hold the window at t=1000 (they finished at t=800): a third must wait.
    clock.now = 5_001_000;
    expect(await limiter.tryAcquire(limits)).toBeGreaterThan(0);
    // Counted at their start (acquire), they would have left the window at t=1000.
    const other = [{ key: 'h', max: 2, perMs: 1_000 }];
    clock.now = 5_010_000;
    await limiter.acquire(other);
    await limiter.acquire(other);
    clock.now = 5_011_000;
    expect(await limiter.tryAcquire(other)).toBe(0);
  });

  it('tryRun makes no call when the limit is full, and says how long to wait', async () => {
    const prefix = uniquePrefix('rl-tryrun');
    const clock = { now: 6_000_000 };
    const { limiter } = limiterWithClock(prefix, clock);
    const limits = [{ key: 'c', max: 1, perMs: 1_000 }];
    let calls = 0;
    expect(await limiter.tryRun(limits, async () => ++calls)).toEqual({ ran: true, value: 1 });
    const second = await limiter.tryRun(limits, async () => ++calls);
    expect(second.ran).toBe(false);
    expect(calls).toBe(1);
  });
});
