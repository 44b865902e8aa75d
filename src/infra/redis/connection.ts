/**
 * Redis connections. Three uses, three settings:
 * - workers (BullMQ blocking commands): never give up on a command (BullMQ requires
 *   `maxRetriesPerRequest: null`) and reconnect quickly;
 * - producers (adapters enqueueing): fail fast while Redis is away, so a user hears
 *   "temporarily unavailable" at once instead of waiting;
 * - subscribers (pub/sub).
 * All reconnect with a capped backoff so processing resumes soon after Redis returns.
 * https://github.com/redis/ioredis#auto-reconnect
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { timeCommands } from './command-timeout.js';
import { parseRedisUrl } from './redis-url.js';
import { settleWithin } from '../settle-within.js';

/** The longest wait between two reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/**
 * How long a producer's command may go unanswered on an open connection (a hung Redis)
 * before failing, in time this process was running to hear the answer (command-timeout.ts):
 * a loop held up for seconds on a busy host is not Redis failing to answer.
 */
const PRODUCER_COMMAND_TIMEOUT_MS = 2_000;
/**
 * Commands issued in the same turn of the event loop go to Redis in one write: with
 * thousands of answers in flight, most of a turn's commands are other jobs', and each
 * separate write was a system call. Only on the command connection (history, limits,
 * ledger, the AI gate): BullMQ's connections are left as BullMQ expects them.
 * https://github.com/redis/ioredis#autopipelining
 */
const AUTO_PIPELINING = { enableAutoPipelining: true } as const;

export type ConnectionRole = 'worker' | 'producer' | 'subscriber' | 'command';

/**
 * Opens a connection for one role. `url` is a REDIS_URL of any form (redis-url.ts). A
 * Cluster client is returned typed as Redis: ioredis gives both the same command
 * interface, and BullMQ takes either.
 */
export function createRedisConnection(url: string, role: ConnectionRole, name = 'switchboard'): Redis {
  const common: RedisOptions = {
    connectionName: `${name}:${role}`,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
  };
  const byRole: Record<ConnectionRole, RedisOptions> = {
    worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
    // Not ioredis's `commandTimeout`, a wall-clock timer: timeCommands below.
    producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false },
    subscriber: { maxRetriesPerRequest: null },
    command: { maxRetriesPerRequest: 2, ...AUTO_PIPELINING },
  };
  const options = { ...common, ...byRole[role] };
  const client = connect(url, options);
  if (role === 'producer') timeCommands(client, PRODUCER_COMMAND_TIMEOUT_MS);
  return client;
}

function connect(url: string, options: RedisOptions): Redis {
  const target = parseRedisUrl(url);
  if (target.kind === 'url') return new Redis(target.url, options);
  if (target.kind === 'sentinel') return new Redis({ ...target.options, ...options });
  // The cluster client discovers slots over its node connections before it is ready, so
  // fail-fast (no offline queue) applies to the cluster, never to those node connections.
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
  const cluster = new Cluster([...target.nodes], {
    redisOptions: { ...target.options, ...nodeOptions },
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
  });
  return cluster as unknown as Redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis was not ready within ${timeoutMs} ms (status: ${redis.status})`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** How long a polite QUIT may take before the connection is simply dropped. */
const QUIT_TIMEOUT_MS = 1_000;

/** Closes a connection politely, or drops it when Redis is unreachable or slow to answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  // A late QUIT rejects with "Connection is closed" once we drop the connection;
  // settleWithin keeps that rejection handled.
  const politely = await settleWithin(redis.quit().then(() => true), QUIT_TIMEOUT_MS, false);
  if (!politely) redis.disconnect();
}
