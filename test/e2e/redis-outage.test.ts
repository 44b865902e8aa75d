/**
 * Redis goes away under a running service and comes back: the playground says the bot is
 * temporarily unavailable (fast, no hanging request), /readyz reports it, and once Redis
 * is back the service carries on with its history intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { startOutageRedis, type OutageRedis } from '../support/outage-redis.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { uniquePrefix } from '../support/redis.js';

let fake: FakeOpenAI;
let redis: OutageRedis;
let app: RunningApp;
let prefix: string;

beforeAll(async () => {
  fake = await createFakeOpenAI();
  redis = await startOutageRedis();
  prefix = uniquePrefix('outage');
  const config = parseConfig({ REDIS_URL: redis.url, OPENAI_BASE_URL: fake.url, PORT: '0', QUEUE_PREFIX: prefix });
  app = await startApp(config, { log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await app?.stop();
  await redis?.dispose();
  await fake?.stop();
});

describe('Redis outage', () => {
  it('tells users the bot is unavailable while Redis is away, and carries on when it returns', async () => {
    const page = await followChannel(app.url, 'steady');
    const { body } = await postMessage(app.url, 'steady', 'before');
    await page.waitFor((m) => finalAnswers(m).length === 1);
    page.close();
    // The answer shows before its job is marked done; stop Redis only once it is, or the
    // job legitimately runs again after the outage (answer-once across crashes is #7's ledger).
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('chat', { connection, prefix });
    await expect.poll(() => queue.getJobState(body.jobId!), { timeout: 10_000 }).toBe('completed');
    await queue.close();
    connection.disconnect();

    await redis.stop();
    const refused = await postMessage(app.url, 'steady', 'during');
    expect(refused.status).toBe(503);
    expect(refused.body.error).toEqual({ code: 'unavailable', message: 'The bot is temporarily unavailable. Try again in a moment.' });
    const notReady = await fetch(`${app.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ checks: { redis: false } });
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

    await redis.restart();
    await expect.poll(async () => (await fetch(`${app.url}/readyz`)).status, { timeout: 15_000, interval: 200 }).toBe(200);

    const again = await followChannel(app.url, 'steady');
    expect((await postMessage(app.url, 'steady', 'after')).status).toBe(202);
    await again.waitFor((m) => finalAnswers(m).length === 1, 15_000);
    const history = (await (await fetch(`${app.url}/api/channels/steady/history`)).json()) as { messages: Array<{ text: string }> };
    expect(history.messages.map((m) => m.text)).toEqual(['before', 'Echo: before', 'after', 'Echo: after']);
    again.close();
  });
});
