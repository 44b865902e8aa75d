/**
 * Redis goes away under a long-polling Telegram gateway: the update that arrives meanwhile
 * is not confirmed to Telegram (no getUpdates offset past it) and is answered, in order,
 * once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { startOutageRedis, type OutageRedis } from '../support/outage-redis.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';

const TOKEN = '654321:OUTAGE-token';
const ann: FakeUser = { id: 77, is_bot: false, first_name: 'Ann' };
const dm: FakeChat = { id: 77, type: 'private', first_name: 'Ann' };
const WAIT_MS = 20_000;

const { log, lines: logLines } = captureLogs([], { forbidden: [TOKEN] });

let openai: FakeOpenAI;
let telegram: FakeTelegram;
let redis: OutageRedis;
let app: RunningApp;

beforeAll(async () => {
  openai = await createFakeOpenAI();
  telegram = await createFakeTelegram({ token: TOKEN });
  redis = await startOutageRedis();
  const config = parseConfig({
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: telegram.url,
    REDIS_URL: redis.url,
    OPENAI_BASE_URL: openai.url,
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('tgout'),
  });
  app = await startApp(config, { log });
});

afterAll(async () => {
  await app?.stop();
  await redis?.dispose();
  await telegram?.stop();
  await openai?.stop();
});

const texts = (): string[] => telegram.botMessages(dm.id).map((m) => m.text ?? '');

describe('Telegram during a Redis outage', () => {
  it('keeps the update unconfirmed while Redis is away and answers it when Redis returns', async () => {
    telegram.message({ chat: dm, from: ann, text: 'before' });
    await expect.poll(texts, { timeout: WAIT_MS }).toEqual(['Echo: before']);

    await redis.stop();
    const during = telegram.message({ chat: dm, from: ann, text: 'during' });
    await expect.poll(() => logLines.some((l) => l.includes('could not enqueue a telegram update')), { timeout: WAIT_MS }).toBe(true);
    const confirmed = telegram.callsTo('getUpdates').some((c) => Number(c.params['offset'] ?? 0) > Number(during['update_id']));
    expect(confirmed).toBe(false);

    await redis.restart();
    await expect.poll(texts, { timeout: WAIT_MS }).toEqual(['Echo: before', 'Echo: during']);
    telegram.message({ chat: dm, from: ann, text: 'after' });
    await expect.poll(texts, { timeout: WAIT_MS }).toEqual(['Echo: before', 'Echo: during', 'Echo: after']);
    expect(telegram.violations).toEqual([]);
    expect(logLines.filter((l) => l.includes('OUTAGE-token'))).toEqual([]);
  });
});
