/**
 * The Discord end-to-end files' shared setup: one fake Discord and one fake OpenAI per
 * file (the Discord fake reset before each test, both checked for spec violations after
 * it), the service started through src/app.ts against both and the suite's Redis, and
 * every log line captured. The logger is given no secrets, so it is the adapter itself
 * that must keep the bot token and the API key out of every line; the file's last test
 * is followed by that check (and the run-wide one, test/support/logs.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig, type Role } from '../../src/config.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';
import { createFakeDiscord, type FakeDiscord } from './discord.js';
import { createFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from './openai.js';

export interface DiscordHarnessOptions {
  readonly token: string;
  readonly apiKey: string;
  /** Key prefix label of this file's apps. */
  readonly label: string;
  /** Settings every start of this file adds (they may name the fake's channels). */
  readonly env?: (discord: FakeDiscord) => Record<string, string>;
  readonly openai?: Omit<FakeOpenAIOptions, 'apiKey'>;
}

/** What a test file uses. */
export interface DiscordHarness {
  readonly discord: FakeDiscord;
  readonly openai: FakeOpenAI;
  readonly logLines: string[];
  /** Starts the service with Discord on the fake; waits for the gateway unless the role has none. */
  start(env?: Record<string, string>, role?: Role): Promise<RunningApp>;
}

/** Registers the hooks of a Discord end-to-end file and returns its harness. */
export function useDiscordHarness(options: DiscordHarnessOptions): DiscordHarness {
  const { log, lines } = captureLogs([], { forbidden: [options.token, options.apiKey] });
  let discord: FakeDiscord | undefined;
  let openai: FakeOpenAI | undefined;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    discord = await createFakeDiscord({ token: options.token });
    openai = await createFakeOpenAI({ ...options.openai, apiKey: options.apiKey });
  });
  beforeEach(() => {
    discord?.reset();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    expect(discord?.violations).toEqual([]);
    expect(openai?.violations).toEqual([]);
    openai?.reset();
  });
  afterAll(async () => {
    await discord?.stop();
    await openai?.stop();
    const output = lines.join('');
    expect(output).not.toContain(options.token);
    expect(output).not.toContain(options.apiKey);
  });

  const harness: DiscordHarness = {
    get discord() {
      if (!discord) throw new Error('the fake Discord starts before the first test');
      return discord;
    },
    get openai() {
      if (!openai) throw new Error('the fake OpenAI starts before the first test');
      return openai;
    },
    logLines: lines,
    async start(env = {}, role = 'all') {
      const fake = harness.discord;
      const config = parseConfig({
        DISCORD_BOT_TOKEN: options.token,
        DISCORD_API_URL: fake.apiUrl,
        DISCORD_GUILD_IDS: fake.guildId,
        REDIS_URL: testRedisUrl(),
        OPENAI_BASE_URL: harness.openai.url,
        OPENAI_API_KEY: options.apiKey,
        PORT: '0',
        QUEUE_PREFIX: uniquePrefix(options.label),
        ...options.env?.(fake),
        ...env,
      });
      const app = await startApp(config, { log, role });
      apps.push(app);
      if (role !== 'worker') await fake.whenReady();
      return app;
    },
  };
  return harness;
}
