/**
 * The ChannelSettingsStore port in Redis: one hash per conversation, no expiry (a
 * channel's persona outlives a quiet month, unlike its history). Every answer reads them,
 * so a process keeps what it read for a few seconds: a change made in this process shows
 * at once, one made elsewhere within CACHE_MS.
 */
import type { Redis } from 'ioredis';
import type { ChannelSettings } from '../../domain/channel-settings.js';
import { parseReasoningEffort } from '../../domain/reasoning.js';
import type { ChannelSettingsStore } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

const FIELDS = ['persona', 'model', 'scope', 'reasoning'] as const;
const CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

export function createRedisChannelSettings(options: {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly cacheMs?: number;
  readonly now?: () => number;
}): ChannelSettingsStore {
  const { redis, keys } = options;
  const cacheMs = options.cacheMs ?? CACHE_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { readonly settings: ChannelSettings; readonly until: number }>();
  /** Drops expired entries (the oldest come first), so the cache holds only the last few seconds' conversations. */
  const forgetExpired = (): void => {
    const at = now();
    for (const [conversation, entry] of cache) {
      if (entry.until > at) return;
      cache.delete(conversation);
    }
  };
  return {
    async get(conversation) {
      const hit = cache.get(conversation);
      if (hit && hit.until > now()) return hit.settings;
      forgetExpired();
      const stored = await redis.hgetall(keys.settings(conversation));
      const settings: { -readonly [K in keyof ChannelSettings]: ChannelSettings[K] } = {};
      if (stored.persona) settings.persona = stored.persona;
      if (stored.model) settings.model = stored.model;
      if (stored.scope === 'channel' || stored.scope === 'user') settings.scope = stored.scope;
      const reasoning = parseReasoningEffort(stored.reasoning ?? '');
      if (reasoning) settings.reasoning = reasoning;
      if (cache.size >= MAX_CACHED) cache.clear();
      // Re-inserted at the end: the map stays in the order entries expire.
      cache.delete(conversation);
      cache.set(conversation, { settings, until: now() + cacheMs });
      return settings;
    },
    async update(conversation, patch) {
      const key = keys.settings(conversation);
      const set: Record<string, string> = {};
      const clear: string[] = [];
      for (const field of FIELDS) {
        const value = patch[field];
        if (value === null) clear.push(field);
        else if (value !== undefined) set[field] = value;
      }
      const multi = redis.multi();
      if (Object.keys(set).length > 0) multi.hset(key, set);
      if (clear.length > 0) multi.hdel(key, ...clear);
      await multi.exec();
      cache.delete(conversation);
    },
  };
}
