/**
 * The ModerationSettings port in Redis: `/moderation on|off` per channel (kept until
 * changed), and "once per period" marks (SET NX EX) so a missing permission is reported
 * once an hour per channel, not on every message, across all processes.
 */
import type { Redis } from 'ioredis';
import type { ChatRef } from '../../domain/inbound-message.js';
import { channelAddressOf, moderationOf } from '../../domain/moderation.js';
import type { ModerationSettings } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

export function createRedisModerationSettings(options: { readonly redis: Redis; readonly keys: RedisKeys }): ModerationSettings {
  const { redis, keys } = options;
  return {
    async get(channel) {
      const state = await redis.get(keys.moderationSwitch(channel));
      return state === 'on' || state === 'off' ? state : undefined;
    },
    async set(channel, state) {
      await redis.set(keys.moderationSwitch(channel), state);
    },
    async once(key, periodSeconds) {
      return (await redis.set(keys.once(key), '1', 'EX', periodSeconds, 'NX')) === 'OK';
    },
  };
}

/**
 * Whether a chat is moderated: its `/moderation` switch, else MODERATED_CHANNELS.
 * Gateways ask for every message, so answers are kept for a few seconds in the process.
 * It is the platform context's `isModerated` as it is: gateways ask it directly.
 */
export function createModeratedChannels(options: {
  readonly settings: ModerationSettings;
  readonly configured: readonly string[];
  readonly cacheMs?: number;
  readonly now?: () => number;
}): ((chat: Pick<ChatRef, 'platform' | 'id'>) => Promise<boolean>) & { forget(channel: string): void } {
  const configured = new Set(options.configured);
  const cacheMs = options.cacheMs ?? 5_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { moderated: boolean; until: number }>();
  const lookup = async (chat: Pick<ChatRef, 'platform' | 'id'>): Promise<boolean> => {
    const channel = channelAddressOf(chat);
    const hit = cache.get(channel);
    if (hit && hit.until > now()) return hit.moderated;
    const { on: moderated } = moderationOf(await options.settings.get(channel), configured.has(channel));
    if (cache.size > 10_000) cache.clear();
    cache.set(channel, { moderated, until: now() + cacheMs });
    return moderated;
  };
  // A switch made in this process shows at once; other processes see it within cacheMs.
  return Object.assign(lookup, { forget: (channel: string) => void cache.delete(channel) });
}
