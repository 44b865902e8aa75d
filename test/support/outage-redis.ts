/**
 * A private redis-server (AOF on, its own temp folder) that a test can stop and start
 * again on the same port, for outage tests; the suite's shared Redis must never go away.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';

export interface OutageRedis {
  readonly url: string;
  /** Stops Redis as a shutdown would (it saves first). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it if running and deletes its data. */
  dispose(): Promise<void>;
}

/** Starts the private Redis. */
export async function startOutageRedis(): Promise<OutageRedis> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-outage-'));
  let redis: EmbeddedRedis = await startEmbeddedRedis({ dataDir, persistence: true });
  const port = redis.port;
  return {
    url: redis.url,
    stop: () => redis.stop(),
    async restart() {
      redis = await startEmbeddedRedis({ dataDir, persistence: true, port });
    },
    async dispose() {
      await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
