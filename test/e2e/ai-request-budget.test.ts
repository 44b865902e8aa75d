/**
 * End to end across processes: two `--role worker` processes share OPENAI_REQUESTS_PER_MINUTE
 * through Redis. Messages arrive at once in many playground channels; the fake OpenAI
 * records when each chat completion reached it and from which worker (its
 * OpenAI-Organization); together they keep to the budget, evenly, and everyone is answered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { WebMessage } from '../../adapters/web/index.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { followChannel, postMessage, type ChannelStream } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { createWorkerFleet, runsOf, type WorkerFleet } from '../support/worker-process.js';

/** Two a second: the budget the workers share. */
const REQUESTS_PER_MINUTE = 120;
const SPACING_MS = 60_000 / REQUESTS_PER_MINUTE;
/** The fake sees requests a little unevenly (two processes, a busy machine). */
const JITTER_MS = 150;
const MESSAGES = 10;

let fake: FakeOpenAI;
let gateway: RunningApp;
let fleet: WorkerFleet;
const pages: ChannelStream[] = [];

beforeAll(async () => {
  fake = await createFakeOpenAI();
  const prefix = uniquePrefix('budget');
  gateway = await startApp(
    parseConfig({ REDIS_URL: testRedisUrl(), OPENAI_BASE_URL: fake.url, PORT: '0', QUEUE_PREFIX: prefix }),
    { role: 'gateway', log: pino({ level: 'silent' }) },
  );
  fleet = createWorkerFleet({ redisUrl: testRedisUrl(), openaiUrl: fake.url, prefix, env: { OPENAI_REQUESTS_PER_MINUTE: String(REQUESTS_PER_MINUTE) } }, 'budget');
  await Promise.all([fleet.start(), fleet.start()]);
}, 120_000);

afterAll(async () => {
  for (const page of pages) page.close();
  await fleet?.killAll();
  await gateway?.stop();
  await fake?.stop();
}, 60_000);

describe('OPENAI_REQUESTS_PER_MINUTE', () => {
  it('keeps two worker processes together within the budget, evenly, and answers everyone', async () => {
    const sent: Array<{ channel: string; page: ChannelStream; id: string; question: string }> = [];
    for (let i = 0; i < MESSAGES; i++) {
      const channel = `budget-${i}`;
      const page = await followChannel(gateway.url, channel);
      pages.push(page);
      sent.push({ channel, page, id: randomUUID(), question: `budget question ${i}` });
    }
    const posted = await Promise.all(sent.map(({ channel, id, question }) => postMessage(gateway.url, channel, question, { id })));
    expect(posted.map((p) => p.status)).toEqual(sent.map(() => 202));
    const final = (s: (typeof sent)[number]): WebMessage[] => s.page.messages().filter((m) => m.role === 'assistant' && m.replyTo === s.id && m.final);
    await expect.poll(() => sent.filter((s) => final(s).length === 1).length, { timeout: 30_000, interval: 100 }).toBe(MESSAGES);

    const asked = fake.requestsTo('/chat/completions').map((r) => r.at).sort((a, b) => a - b);
    expect(asked).toHaveLength(MESSAGES);
    // Spaced as they left the gate. On the way a busy machine may delay one request's arrival
    // by several hundred ms, which shortens the gap after it, but never brings three together:
    // any three in a row span about one spacing at least (a full suite once saw 485 ms of
    // 500), where a gate that let a burst through would bring them within a few ms.
    const windows = asked.slice(2).map((at, i) => at - asked[i]!);
    expect(windows.filter((span) => span < SPACING_MS - JITTER_MS)).toEqual([]);
    expect(asked.at(-1)! - asked[0]!).toBeGreaterThanOrEqual((MESSAGES - 1) * SPACING_MS - JITTER_MS);
    // Both processes asked: the budget was shared, not one worker's alone.
    const workers = new Set(sent.flatMap(({ question }) => runsOf(fake.requests, question)));
    expect(workers.size).toBe(2);
    for (const s of sent) expect(final(s).map((m) => m.text)).toEqual([`Echo: ${s.question}`]);
  }, 60_000);
});
