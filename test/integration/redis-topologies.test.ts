/**
 * REDIS_URL beyond one server (issue #8): the whole service on a Redis Cluster
 * (redis+cluster://, hash-tagged QUEUE_PREFIX) and behind a Sentinel
 * (redis+sentinel://), each a real redis-server on 127.0.0.1 started by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { ConfigError, parseConfig } from '../../src/config.js';
import { findFreePort } from '../../src/infra/redis/embedded-redis.js';
import { parseRedisUrl } from '../../src/infra/redis/redis-url.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Starts a redis-server (or sentinel) on a free 127.0.0.1 port with these arguments; resolves once it answers PING. */
async function redisProcess(args: (port: number, dir: string) => Promise<string[]>): Promise<number> {
  const port = await findFreePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'sb-topology-'));
  dirs.push(dir);
  const child = spawn('redis-server', await args(port, dir), { cwd: dir, stdio: 'ignore' });
  children.push(child);
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused until the server is up
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return port;
    } catch {
      probe.disconnect();
      await sleep(50);
    }
  }
  throw new Error('redis-server did not start');
}

async function answersOnePlaygroundMessage(env: Record<string, string>): Promise<void> {
  const app = await startApp(parseConfig({ OPENAI_API_KEY: '', PORT: '0', ...env }), { log: pino({ level: 'silent' }) });
  try {
    const page = await followChannel(app.url, 'topology');
    expect((await postMessage(app.url, 'topology', 'hello cluster')).status).toBe(202);
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1, 15_000);
    expect(finalAnswers(messages)[0]).toContain('hello cluster');
    page.close();
  } finally {
    await app.stop();
  }
}

describe('Redis topologies', () => {
  it('reads the multi-host URL forms', () => {
    expect(parseRedisUrl('redis://:pw@h:1/2')).toEqual({ kind: 'url', url: 'redis://:pw@h:1/2' });
    expect(parseRedisUrl('redis+sentinel://:s%40cret@s1:26380,s2/mymaster/3')).toEqual({
      kind: 'sentinel',
      options: { sentinels: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }], name: 'mymaster', db: 3, password: 's@cret' },
    });
    expect(parseRedisUrl('redis+cluster://n1:7000,[::1]:7001')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'n1', port: 7000 }, { host: '::1', port: 7001 }],
      options: {},
    });
    expect(parseConfig({ REDIS_URL: 'redis+sentinel://:topsecret@s1:26379,s2:26379/m' }).secrets).toContain('topsecret');
    expect(() => parseConfig({ REDIS_URL: 'redis+cluster://n1:7000', QUEUE_PREFIX: 'sb' })).toThrow(ConfigError);
    expect(() => parseConfig({ REDIS_URL: 'redis+cluster://n1:7000', QUEUE_PREFIX: 'sb' })).toThrow(/QUEUE_PREFIX/);
  });

  it('runs on a Redis Cluster with a hash-tagged prefix', async () => {
    const port = await redisProcess(async (p, dir) => [
      '--port', String(p), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ]);
    const node = new Redis({ port, host: '127.0.0.1' });
    await node.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await expect.poll(async () => String(await node.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), { timeout: 10_000 }).toBe(true);
    node.disconnect();
    await answersOnePlaygroundMessage({ REDIS_URL: `redis+cluster://127.0.0.1:${port}`, QUEUE_PREFIX: '{sbc}' });
  });

  it('finds the master through a Sentinel', async () => {
    const master = await redisProcess(async (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    const sentinel = await redisProcess(async (p, dir) => {
      const conf = path.join(dir, 'sentinel.conf');
      await writeFile(conf, [`port ${p}`, 'bind 127.0.0.1', `sentinel monitor sbmaster 127.0.0.1 ${master} 1`, ''].join('\n'));
      return [conf, '--sentinel'];
    });
    await answersOnePlaygroundMessage({ REDIS_URL: `redis+sentinel://127.0.0.1:${sentinel}/sbmaster`, QUEUE_PREFIX: 'sbs' });
  });
});
