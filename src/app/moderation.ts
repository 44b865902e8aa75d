/**
 * Community moderation's settings as the app wires them: the `/moderation` switches in
 * Redis over MODERATED_CHANNELS, read through a short cache that a switch set from this
 * process forgets at once.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { channelAddressOf } from '../domain/moderation.js';
import { createModeratedChannels, createRedisModerationSettings } from '../infra/moderation/redis-moderation-settings.js';
import type { RedisKeys } from '../infra/redis/keys.js';

/** Creates the moderation settings, the cached "is this channel moderated" and the switches that invalidate it. */
export function createModeration(config: Config, redis: Redis, keys: RedisKeys) {
  const moderationSettings = createRedisModerationSettings({ redis, keys });
  const configuredModeration = config.moderation.channels.map((channel) => channelAddressOf(channel));
  const isModerated = createModeratedChannels({ settings: moderationSettings, configured: configuredModeration });
  const moderationSwitches = {
    ...moderationSettings,
    async set(channel: string, state: 'on' | 'off') {
      await moderationSettings.set(channel, state);
      isModerated.forget(channel);
    },
  };
  return { settings: moderationSettings, configured: configuredModeration, isModerated, switches: moderationSwitches };
}

/** The app's moderation wiring (createModeration). */
export type Moderation = ReturnType<typeof createModeration>;
