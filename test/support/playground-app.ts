/**
 * The playground end-to-end files' shared setup: one fake OpenAI per file (reset after
 * each test, its spec violations checked), the service started through src/app.ts against
 * it and the suite's Redis with a fresh key prefix, every app stopped after its test, and
 * every log line captured with the API key registered for the run-wide secrets check.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig, type Role } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { captureLogs, type CapturedLogs } from './logs.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

export interface PlaygroundApp {
  readonly fake: FakeOpenAI;
  readonly log: CapturedLogs['log'];
  /** Every log line written so far. */
  readonly logLines: string[];
  /** Starts the service with OPENAI_BASE_URL on the fake; `env` adds to or overrides the defaults. */
  start(env?: Record<string, string>, role?: Role): Promise<RunningApp>;
}

/** Registers the hooks of a playground end-to-end file and returns its harness. */
export function usePlaygroundApp(options: { readonly apiKey: string; readonly label: string; readonly env?: Record<string, string> }): PlaygroundApp {
  const { log, lines } = captureLogs([options.apiKey]);
  let fake: FakeOpenAI | undefined;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI({ apiKey: options.apiKey });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    expect(fake?.violations).toEqual([]);
    fake?.reset();
  });
  afterAll(async () => {
    await fake?.stop();
    expect(lines.join('')).not.toContain(options.apiKey);
  });

  const current = (): FakeOpenAI => {
    if (!fake) throw new Error('the fake OpenAI starts before the first test');
    return fake;
  };
  return {
    get fake() {
      return current();
    },
    log,
    logLines: lines,
    async start(env = {}, role = 'all') {
      const config = parseConfig({
        REDIS_URL: testRedisUrl(),
        OPENAI_BASE_URL: current().url,
        OPENAI_API_KEY: options.apiKey,
        PORT: '0',
        QUEUE_PREFIX: uniquePrefix(options.label),
        ...options.env,
        ...env,
      });
      const app = await startApp(config, { log, role });
      apps.push(app);
      return app;
    },
  };
}
