import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';

describe('embedded redis-server', () => {
  it('keeps data across a restart when persistence is on', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-embedded-'));
    try {
      const first = await startEmbeddedRedis({ dataDir, persistence: true });
      const client = new Redis(first.url);
      await client.set('greeting', 'hello');
      client.disconnect();
      await first.stop();

      const second = await startEmbeddedRedis({ dataDir, persistence: true });
      const again = new Redis(second.url);
      expect(await again.get('greeting')).toBe('hello');
      again.disconnect();
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('stops a stale server left by a killed run before starting', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-embedded-'));
    try {
      const orphan = await startEmbeddedRedis({ dataDir, persistence: true });
      const fresh = await startEmbeddedRedis({ dataDir, persistence: true });
      expect(() => process.kill(orphan.pid, 0)).toThrow();
      await fresh.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs outside the terminal\'s process group, so a Ctrl-C reaches the service first and not the server under its jobs', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-embedded-'));
    /** The process group of `pid` (field 5 of /proc/<pid>/stat, after the command's parentheses). */
    const groupOf = async (pid: number): Promise<number> => Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[2]);
    try {
      const server = await startEmbeddedRedis({ dataDir, persistence: false });
      try {
        expect(await groupOf(server.pid)).toBe(server.pid);
        expect(await groupOf(server.pid)).not.toBe(await groupOf(process.pid));
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
