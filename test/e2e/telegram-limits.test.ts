/**
 * Telegram's flood limits across processes: two Outboxes (as two worker processes would
 * have, each on its own Redis connection) share the limits through the Redis rate limiter.
 * A virtual clock stands in for a minute of wall time, so the per-group limit is tested
 * without waiting for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTelegramOutbox, type TelegramApi } from '../../adapters/telegram/index.js';
import { createRedisRateLimiter } from '../../src/infra/ratelimit/index.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import type { Logger, ReplyTarget } from '../../src/ports/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const group: ReplyTarget = { chat: { platform: 'telegram', id: '-500', kind: 'group' } };
const connections: Redis[] = [];
afterAll(() => connections.forEach((c) => c.disconnect()));

/** One "process": its own connection and limiter, a Bot API that records the virtual time of each call. */
function processWith(prefix: string, clock: { now: number }, calls: Array<{ method: string; at: number }>) {
  const redis = new Redis(testRedisUrl());
  connections.push(redis);
  const rateLimiter = createRedisRateLimiter({
    redis,
    keys: createRedisKeys(prefix),
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  });
  let nextId = 1;
  const api: TelegramApi = {
    async call<T>(method: string): Promise<T> {
      calls.push({ method, at: clock.now });
      return { message_id: nextId++ } as T;
    },
  };
  const files = { download: async () => Promise.reject(new Error('no file downloads in this test')) };
  return createTelegramOutbox({ api, files, rateLimiter, botId: '1', messagesPerSecond: 30, log: silent });
}

describe('Telegram limits shared through Redis', () => {
  it('two processes together send at most one message a second per chat and twenty a minute per group', async () => {
    const prefix = uniquePrefix('tgl');
    const clock = { now: 1_000_000 };
    const calls: Array<{ method: string; at: number }> = [];
    const [a, b] = [processWith(prefix, clock, calls), processWith(prefix, clock, calls)];
    for (let i = 0; i < 45; i += 1) await (i % 2 === 0 ? a : b).send(group, `message ${i}`, { final: true });

    const times = calls.map((c) => c.at);
    expect(times).toHaveLength(45);
    for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_000);
    for (let i = 20; i < times.length; i += 1) expect(times[i]! - times[i - 20]!).toBeGreaterThanOrEqual(60_000);
  });

  it('skips streaming edits that would eat the group’s last slots, so the final text never waits', async () => {
    const prefix = uniquePrefix('tgl');
    const clock = { now: 2_000_000 };
    const calls: Array<{ method: string; at: number }> = [];
    const outbox = processWith(prefix, clock, calls);
    for (let i = 0; i < 20; i += 1) {
      await outbox.edit(group, { id: '1' }, `partial ${i}`, { final: false });
      clock.now += 1_000;
    }
    expect(calls).toHaveLength(15);
    const before = clock.now;
    await outbox.edit(group, { id: '1' }, 'the whole answer', { final: true });
    expect(calls).toHaveLength(16);
    expect(clock.now).toBe(before);
  });
});
