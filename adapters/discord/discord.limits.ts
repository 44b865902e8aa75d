/**
 * Discord's limits as RateLimiter limits, shared by every process through Redis:
 * the global 50 requests a second per bot token, and a channel's send rate.
 * https://discord.com/developers/docs/topics/rate-limits#global-rate-limit
 */
import { createHash } from 'node:crypto';
import type { RateLimit } from '../../src/ports/index.js';

/** Sends, and edits, per channel in a window: Discord's buckets for each are about five per five seconds. */
const CHANNEL_MESSAGES = 5;
const CHANNEL_WINDOW_MS = 5_000;

/**
 * The bot's global limit, `perSecond` requests (DISCORD_REQUESTS_PER_SECOND: Discord's 50 unless
 * Discord raised the bot's). Keyed by a hash of the token: the token itself never reaches Redis.
 */
export function globalLimit(token: string, perSecond: number): RateLimit {
  const id = createHash('sha256').update(token).digest('hex').slice(0, 16);
  return { key: `discord:global:${id}`, max: perSecond, perMs: 1_000 };
}

/** A channel's (or thread's) rate of sends or of edits; Discord counts them in separate buckets. */
export function channelLimit(channelId: string, kind: 'send' | 'edit'): RateLimit {
  return { key: `discord:channel:${channelId}:${kind}`, max: CHANNEL_MESSAGES, perMs: CHANNEL_WINDOW_MS };
}
