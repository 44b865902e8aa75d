import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisDailyQuota } from '../../src/infra/quota/redis-daily-quota.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const redis = new Redis(testRedisUrl());
afterAll(() => redis.disconnect());

describe('daily quota in Redis', () => {
  it('allows the limit per key per UTC day, across instances, and gives back unused ones', async () => {
    const keys = createRedisKeys(uniquePrefix('quota'));
    const clock = { now: Date.UTC(2026, 10, 22, 23, 0) };
    const a = createRedisDailyQuota({ redis, keys, name: 'image', limit: 2, now: () => clock.now });
    const b = createRedisDailyQuota({ redis, keys, name: 'image', limit: 2, now: () => clock.now });
    expect((await a.take('u1')).allowed).toBe(true);
    expect((await b.take('u1')).allowed).toBe(true);
    const third = await a.take('u1');
    expect(third).toEqual({ allowed: false, used: 2, resetsAt: Date.UTC(2026, 10, 23) });
    expect((await a.take('u2')).allowed).toBe(true);
    await b.giveBack('u1');
    expect((await a.take('u1')).allowed).toBe(true);
    clock.now = Date.UTC(2026, 10, 23, 0, 1);
    expect((await a.take('u1')).used).toBe(1);
  });

  it('takes exactly the limit when many ask at once', async () => {
    const keys = createRedisKeys(uniquePrefix('quota'));
    const quota = createRedisDailyQuota({ redis, keys, name: 'image', limit: 5 });
    const results = await Promise.all(Array.from({ length: 20 }, () => quota.take('same')));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });
});
