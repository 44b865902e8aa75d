/**
 * The DailyQuota port in Redis: one counter per key per UTC day, taken only when it fits
 * (one Lua script, so two workers cannot both take the last one), expiring a day after
 * the day ends.
 */
import type { Redis } from 'ioredis';
import type { DailyCounter, DailyQuota } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

const DAY_MS = 24 * 3600 * 1000;

/* KEYS[1] counter; ARGV[1] limit, ARGV[2] TTL s. Returns {taken 0|1, count after}. */
const TAKE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return {0, used} end
used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, used}
`;

/* KEYS[1] counter. Decrements, never below zero. */
const GIVE_BACK_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then redis.call('DECR', KEYS[1]) end
return used
`;

export interface RedisDailyQuotaOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  /** Names the counter, e.g. `image`. */
  readonly name: string;
  readonly limit: number;
  readonly now?: () => number;
}

export function createRedisDailyQuota(options: RedisDailyQuotaOptions): DailyQuota {
  const { redis, keys, name, limit } = options;
  const now = options.now ?? Date.now;
  const keyOf = (key: string): { key: string; resetsAt: number } => {
    const today = Math.floor(now() / DAY_MS);
    return { key: keys.quota(name, new Date(today * DAY_MS).toISOString().slice(0, 10), key), resetsAt: (today + 1) * DAY_MS };
  };
  return {
    limit,
    async take(key) {
      const { key: counter, resetsAt } = keyOf(key);
      const [taken, used] = (await redis.eval(TAKE_LUA, 1, counter, limit, 2 * 24 * 3600)) as [number, number];
      return { allowed: taken === 1, used, resetsAt };
    },
    async giveBack(key) {
      await redis.eval(GIVE_BACK_LUA, 1, keyOf(key).key);
    },
  };
}

/** Today's totals per key (tokens per user), in one counter per key per UTC day. */
export function createRedisDailyCounter(options: Omit<RedisDailyQuotaOptions, 'limit'>): DailyCounter {
  const { redis, keys, name } = options;
  const now = options.now ?? Date.now;
  const keyOf = (key: string): { key: string; resetsAt: number } => {
    const today = Math.floor(now() / DAY_MS);
    return { key: keys.quota(name, new Date(today * DAY_MS).toISOString().slice(0, 10), key), resetsAt: (today + 1) * DAY_MS };
  };
  return {
    async get(key) {
      const { key: counter, resetsAt } = keyOf(key);
      return { total: Number((await redis.get(counter)) ?? 0), resetsAt };
    },
    async add(key, amount) {
      if (!(amount > 0)) return;
      const { key: counter } = keyOf(key);
      await redis.multi().incrby(counter, Math.round(amount)).expire(counter, 2 * 24 * 3600).exec();
    },
  };
}
