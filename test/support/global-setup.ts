/**
 * Vitest global setup: one throwaway redis-server for the whole run, on a free port
 * on 127.0.0.1, without persistence. Tests isolate themselves with unique key
 * prefixes and queue names (test/support/redis.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-test-redis-'));
  const redis = await startEmbeddedRedis({ dataDir, persistence: false });
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
