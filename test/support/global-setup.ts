/**
 * Vitest global setup: one throwaway redis-server for the whole run, on a free port
 * on 127.0.0.1, without persistence. Tests isolate themselves with unique key
 * prefixes and queue names (test/support/redis.ts).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** Where captured log lines and the secrets tests used are collected (test/support/logs.ts). */
    logDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-test-redis-'));
  const redis = await startEmbeddedRedis({ dataDir, persistence: false });
  project.provide('redisUrl', redis.url);
  const logDir = await mkdtemp(path.join(tmpdir(), 'switchboard-test-logs-'));
  project.provide('logDir', logDir);
  return async () => {
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
    const leaks = await secretsInLogs(logDir);
    await rm(logDir, { recursive: true, force: true });
    if (leaks.length > 0) {
      // Vitest reports an error thrown here but still exits 0; the exit code must say it.
      process.stderr.write(`secrets reached log lines:\n${leaks.slice(0, 20).join('\n')}\n`);
      process.exitCode = 1;
    }
  };
}

/** Shapes of secrets no log line may hold, whether or not a test registered them. */
const SECRET_SHAPES: readonly RegExp[] = [
  /\/file\/bot/, // a Telegram file URL: it holds the bot token
  /\bbot\d{3,}:[A-Za-z0-9_-]{6,}/, // a Telegram Bot API URL path with its token
  /\bsk-[A-Za-z0-9_-]{12,}/, // an OpenAI-style API key
];

/**
 * Every line every test captured (through test/support/logs.ts), checked against every
 * secret a test registered and the shapes above. Issue #7: a test that fails if any log
 * line holds a bot token, API key, webhook secret or Telegram file URL.
 */
async function secretsInLogs(logDir: string): Promise<string[]> {
  const files = await readdir(logDir);
  const secrets = files.includes('secrets.txt')
    ? [...new Set((await readFile(path.join(logDir, 'secrets.txt'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as string))]
    : [];
  const leaks: string[] = [];
  let lines = 0;
  for (const file of files.filter((f) => f.startsWith('lines-'))) {
    for (const line of (await readFile(path.join(logDir, file), 'utf8')).split('\n')) {
      if (line === '') continue;
      lines += 1;
      const secret = secrets.find((s) => line.includes(s));
      const shape = SECRET_SHAPES.find((re) => re.test(line));
      if (secret !== undefined || shape !== undefined) leaks.push(`${secret !== undefined ? 'a registered secret' : String(shape)}: ${line.slice(0, 300)}`);
    }
  }
  process.stdout.write(`log check: ${lines} captured log lines, ${secrets.length} registered secrets, ${leaks.length} leaks\n`);
  return leaks;
}
