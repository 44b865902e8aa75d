/**
 * Counts the conversations that were active recently, across every process sharing the
 * Redis: one sorted set, member = conversation key, score = when a job of it last
 * started. A count drops the entries older than the window, then takes the set's size:
 * exact, and its memory is bounded by the conversations of one window. The set expires
 * on its own once nothing has been active for a window.
 * https://redis.io/docs/latest/develop/data-types/sorted-sets/
 */
import type { Cluster, Redis } from 'ioredis';
import type { ConversationCounter } from './recorders.js';

/** "Active" means a job of the conversation started within this long. */
export const ACTIVE_WINDOW_MS = 3600 * 1000;
/**
 * A process writes a conversation's time at most once per this long: the count is per
 * hour, so a minute's lag costs nothing, and a busy conversation costs one write a minute
 * instead of one a message.
 */
const TOUCH_EVERY_MS = 60_000;
/** Conversations remembered as recently written, per process, before the memory is reset. */
const MAX_REMEMBERED = 50_000;

export interface ActiveConversationsOptions {
  readonly redis: Redis | Cluster;
  /** The sorted set's key (src/infra/redis/keys.ts). */
  readonly key: string;
  readonly windowMs?: number;
  readonly now?: () => number;
}

/** Creates the counter behind `switchboard_active_conversations`. */
export function createActiveConversations(options: ActiveConversationsOptions): ConversationCounter {
  const { redis, key } = options;
  const windowMs = options.windowMs ?? ACTIVE_WINDOW_MS;
  const now = options.now ?? Date.now;
  const written = new Map<string, number>();
  const touchEveryMs = Math.min(TOUCH_EVERY_MS, windowMs / 10);
  return {
    window: windowLabel(windowMs),
    async touch(conversation) {
      const at = now();
      if (at - (written.get(conversation) ?? Number.NEGATIVE_INFINITY) < touchEveryMs) return;
      if (written.size >= MAX_REMEMBERED) written.clear();
      written.set(conversation, at);
      await redis.multi().zadd(key, at, conversation).pexpire(key, windowMs).exec();
    },
    async count() {
      const replies = await redis.multi().zremrangebyscore(key, '-inf', `(${now() - windowMs}`).zcard(key).exec();
      const [error, size] = replies?.[1] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return Number(size);
    },
  };
}

/** `1h`, `30m` or `90s`: the window as Prometheus writes durations. */
function windowLabel(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
