/**
 * The ChannelSettingsStore port in Redis: one hash per conversation, no expiry (a
 * channel's persona outlives a quiet month, unlike its history).
 */
import type { Redis } from 'ioredis';
import type { ChannelSettings } from '../../domain/channel-settings.js';
import type { ChannelSettingsStore } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

const FIELDS = ['persona', 'model', 'scope'] as const;

export function createRedisChannelSettings(options: { readonly redis: Redis; readonly keys: RedisKeys }): ChannelSettingsStore {
  const { redis, keys } = options;
  return {
    async get(conversation) {
      const stored = await redis.hgetall(keys.settings(conversation));
      const settings: { -readonly [K in keyof ChannelSettings]: ChannelSettings[K] } = {};
      if (stored.persona) settings.persona = stored.persona;
      if (stored.model) settings.model = stored.model;
      if (stored.scope === 'channel' || stored.scope === 'user') settings.scope = stored.scope;
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
    },
  };
}
