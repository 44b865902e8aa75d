/**
 * Counts the conversations that were active recently, across every process sharing the
 * Redis: one sorted set, member = conversation key, score = when a job of it last
 * started. A count drops the entries older than the window, then takes the set's size:
 * exact, and its memory is bounded by the conversations of one window. The set expires
 * on its own once nothing has been active for a window. Each process writes its touches
 * in batches, at most a second late.
 * https://redis.io/docs/latest/develop/data-types/sorted-sets/
 */
import type { Cluster, Redis } from 'ioredis';
import type { ConversationCounter } from './recorders.js';

/** "Active" means a job of the conversation started within this long. */
export const ACTIVE_WINDOW_MS = 3600 * 1000;
/**
 * Touches are written together, once per this long (or sooner when this many wait): one
 * ZADD of many members instead of a round trip per job, and nothing kept per conversation
 * in between. A process that stops loses at most this much of the count's input.
 */
const FLUSH_EVERY_MS = 1_000;
const FLUSH_AT_PENDING = 1_000;

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
  /** Touches not yet written: conversation → when. */
  let pending = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    const members = [...batch].flatMap(([conversation, at]) => [at, conversation]);
    await redis.multi().zadd(key, ...members).pexpire(key, windowMs).exec();
  };
  return {
    window: windowLabel(windowMs),
    async touch(conversation) {
      // A conversation's touches within one flush are one member of one ZADD.
      pending.set(conversation, now());
      if (pending.size >= FLUSH_AT_PENDING) return flush();
      // Metrics never keep a process alive, nor fail a job: a lost write only undercounts.
      timer ??= setTimeout(() => void flush().catch(() => undefined), FLUSH_EVERY_MS).unref();
    },
    async count() {
      await flush();
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
