/**
 * The Telegram end-to-end tests' shared setup: a fresh fake Bot API per test, one fake
 * OpenAI per file, the service started through src/app.ts against both and the test
 * Redis, and every log line captured. The logger is given no secrets, so it is the
 * adapter itself that must keep the bot token out of every line; `useTelegramHarness`
 * checks that after the file's last test.
 */
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { createFakeOpenAI, type FakeOpenAI } from './openai.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser, type RecordedCall } from './telegram.js';
import { captureLogs } from '../support/logs.js';

export const TOKEN = '123456:TEST-token';
export const BOT = { id: 7_000_001, username: 'switchboard_test_bot' };
export const MENTION = `@${BOT.username}`;
/** How long any one answer may take to show up before a test fails. */
export const WAIT_MS = 15_000;

export const ann: FakeUser = { id: 1001, is_bot: false, first_name: 'Ann' };
export const bob: FakeUser = { id: 1002, is_bot: false, first_name: 'Bob', username: 'bob' };
export const dm: FakeChat = { id: 1001, type: 'private', first_name: 'Ann' };
export const forum: FakeChat = { id: -1_001_234_567_890, type: 'supergroup', title: 'Team', is_forum: true };
export const group: FakeChat = { id: -4_242, type: 'group', title: 'Friends' };

/** What a test file uses; the fakes are replaced before each test. */
export interface TelegramHarness {
  readonly openai: FakeOpenAI;
  readonly telegram: FakeTelegram;
  readonly logLines: string[];
  /** Starts the service (role all) with Telegram on the fake; stopped after the test. */
  start(env?: Record<string, string>): Promise<RunningApp>;
  /** The bot's message texts (a photo's caption) in a chat (and topic), once `predicate` holds for them. */
  botTexts(chat: FakeChat, predicate: (texts: string[]) => boolean, threadId?: number): Promise<string[]>;
  /** The newest user message of each chat completion request, in order. */
  askedAbout(): string[];
}

/** Registers the hooks of a Telegram end-to-end file and returns its harness. */
export function useTelegramHarness(): TelegramHarness {
  const { log, lines: logLines } = captureLogs([], { forbidden: [TOKEN] });
  let openai: FakeOpenAI | undefined;
  let telegram: FakeTelegram | undefined;
  const apps: RunningApp[] = [];

  beforeEach(async () => {
    openai ??= await createFakeOpenAI();
    telegram = await createFakeTelegram({ token: TOKEN, bot: BOT });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await telegram?.stop();
    expect(telegram?.violations).toEqual([]);
    expect(openai?.violations).toEqual([]);
    openai?.reset();
  });
  afterAll(async () => {
    await openai?.stop();
    // Every test logged at debug level, failures included: never the token.
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((line) => line.includes('TEST-token'))).toEqual([]);
  });

  const harness: TelegramHarness = {
    get openai() {
      if (!openai) throw new Error('the fake OpenAI starts before each test');
      return openai;
    },
    get telegram() {
      if (!telegram) throw new Error('the fake Bot API starts before each test');
      return telegram;
    },
    logLines,
    async start(env = {}) {
      const config = parseConfig({
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: harness.telegram.url,
        REDIS_URL: testRedisUrl(),
        OPENAI_BASE_URL: harness.openai.url,
        PORT: '0',
        QUEUE_PREFIX: uniquePrefix('tg'),
        ...env,
      });
      const app = await startApp(config, { log });
      apps.push(app);
      return app;
    },
    async botTexts(chat, predicate, threadId) {
      let texts: string[] = [];
      await expect
        .poll(
          () => {
            // A photo's caption is what a user reads of it.
            texts = harness.telegram.botMessages(chat.id, threadId).map((m) => m.text ?? (typeof m['caption'] === 'string' ? m['caption'] : ''));
            return predicate(texts);
          },
          { timeout: WAIT_MS, interval: 25 },
        )
        .toBe(true);
      return texts;
    },
    askedAbout() {
      return harness.openai.requestsTo('/chat/completions').map((r) => {
        const messages = (r.body as { messages: Array<{ role: string; content: string }> }).messages;
        return messages.at(-1)?.content ?? '';
      });
    },
  };
  return harness;
}

/** The calls Telegram answered `ok: true`. */
export function successful(calls: RecordedCall[]): RecordedCall[] {
  return calls.filter((c) => c.response.ok);
}
