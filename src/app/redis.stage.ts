/**
 * The first stage: Redis. Starts an embedded redis-server when REDIS_URL is unset, opens
 * the connections the process's role uses and waits until every one is ready; stops by
 * closing them, then the embedded server.
 */
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { closeRedis, createRedisConnection, waitForReady } from '../infra/redis/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../infra/redis/embedded-redis.js';
import type { Logger } from '../ports/index.js';
import type { Started } from './stages.js';

/** How long start-up waits for Redis before giving up with a clear message. */
const REDIS_READY_TIMEOUT_MS = 15_000;

/** The process's Redis connections, one per use; those its role does not need are undefined. */
export interface RedisConnections {
  /** REDIS_URL, or the embedded server's URL. */
  readonly url: string;
  readonly command: Redis;
  /** Gateways only: the playground's event streams. */
  readonly subscriber: Redis | undefined;
  /** Workers only: BullMQ's blocking connection. */
  readonly worker: Redis | undefined;
  /** Gateways only: enqueues, failing fast while Redis is away. */
  readonly producer: Redis | undefined;
}

/** Starts the Redis stage; throws a clear error when Redis cannot be reached in time. */
export async function startRedis(
  config: Config,
  role: { readonly runsGateway: boolean; readonly runsWorkers: boolean },
  log: Logger,
): Promise<Started<RedisConnections>> {
  const { runsGateway, runsWorkers } = role;
  let embedded: EmbeddedRedis | undefined;
  let redisUrl = config.redis.url;
  if (redisUrl === undefined) {
    const dataDir = path.resolve(config.redis.dataDir, 'redis');
    embedded = await startEmbeddedRedis({ dataDir, persistence: true });
    redisUrl = embedded.url;
    log.info({ dataDir, port: embedded.port }, 'started an embedded redis-server (set REDIS_URL to use your own)');
  }

  const command = createRedisConnection(redisUrl, 'command');
  // Only gateways listen (the playground's event streams); workers just publish.
  const subscriber = runsGateway ? createRedisConnection(redisUrl, 'subscriber') : undefined;
  const worker = runsWorkers ? createRedisConnection(redisUrl, 'worker') : undefined;
  const producer = runsGateway ? createRedisConnection(redisUrl, 'producer') : undefined;
  const connections = [command, subscriber, worker, producer].filter((c) => c !== undefined);
  for (const connection of connections) connection.on('error', () => undefined); // reconnects; readiness reports it
  try {
    // All of them: a fail-fast producer that is still connecting would refuse the first
    // messages as if Redis were down.
    await Promise.all(connections.map((connection) => waitForReady(connection, REDIS_READY_TIMEOUT_MS)));
  } catch (error) {
    await Promise.all(connections.map(closeRedis));
    await embedded?.stop();
    throw new Error(`Cannot reach Redis at ${describeRedis(redisUrl)}: is it running, and is REDIS_URL right?`, { cause: error });
  }

  return {
    value: { url: redisUrl, command, subscriber, worker, producer },
    // Last of all: everything else has stopped using Redis by now.
    async stop() {
      await Promise.all(connections.map(closeRedis));
      await embedded?.stop();
    },
  };
}

/** host:port of a Redis URL, without credentials. */
function describeRedis(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}
