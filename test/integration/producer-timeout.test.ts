/**
 * The producer connection's command timeout (src/infra/redis/command-timeout.ts): a
 * Redis that answered while this process's event loop was held up is heard, not reported
 * down; a Redis that keeps the connection open and never answers still fails the command
 * soon after the bound (2 s).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedisConnection, waitForReady } from '../../src/infra/redis/connection.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** The producer's bound (PRODUCER_COMMAND_TIMEOUT_MS). */
const BOUND_MS = 2_000;
/** A poll limit for "fails soon": far above the bound, far below a hang. */
const HANG_MS = 10_000;

/** Holds the event loop, as a busy host or a long synchronous task does. */
function holdLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/** A TCP proxy to the test Redis that can stop passing commands on, as a hung Redis would. */
async function hangingProxy(target: URL): Promise<{ url: string; hang(): void; close(): Promise<void> }> {
  let hung = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (data) => {
      if (!hung) upstream.write(data);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    hang: () => {
      hung = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const opened: Redis[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map(closeRedis));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function producer(url: string): Promise<Redis> {
  const connection = createRedisConnection(url, 'producer');
  connection.on('error', () => undefined);
  opened.push(connection);
  await waitForReady(connection);
  return connection;
}

describe('the producer command timeout', () => {
  it('hears an answer that arrived while the event loop was held up longer than the bound', async () => {
    const redis = await producer(testRedisUrl());
    const key = `${uniquePrefix('producer-timeout')}:k`;
    // Sent before the hold; Redis answers at once, and the answer waits in the socket.
    const set = redis.set(key, 'v', 'PX', 60_000);
    const script = redis.eval('return redis.call("GET", KEYS[1])', 1, key);
    holdLoop(BOUND_MS + 1_000);
    expect(await set).toBe('OK');
    expect(await script).toBe('v');
    // And a command sent after the hold, while the ticker is still catching up.
    expect(await redis.get(key)).toBe('v');
  });

  it('fails a command soon after the bound when Redis keeps the connection but never answers', async () => {
    const proxy = await hangingProxy(new URL(testRedisUrl()));
    cleanups.push(proxy.close);
    const redis = await producer(proxy.url);
    expect(await redis.ping()).toBe('PONG');
    proxy.hang();
    const started = performance.now();
    await expect(redis.get('anything')).rejects.toThrow(/Command timed out/);
    const tookMs = performance.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(BOUND_MS - 10);
    expect(tookMs).toBeLessThan(HANG_MS);
  });
});
