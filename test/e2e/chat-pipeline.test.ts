/**
 * End to end: playground HTTP → BullMQ → chat worker → fake OpenAI → history in Redis →
 * the streamed reply on the channel's event stream, all through src/app.ts's wiring.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { FAILURE_NOTICES, REPLIES } from '../../src/domain/replies.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';

const API_KEY = 'sk-test-e2e-0123456789abcdef';
const { log, lines: logLines } = captureLogs([API_KEY]);

let fake: FakeOpenAI;
const apps: RunningApp[] = [];

async function start(env: Record<string, string> = {}, role: 'all' | 'gateway' | 'worker' = 'all'): Promise<RunningApp> {
  const config = parseConfig({
    REDIS_URL: testRedisUrl(),
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: API_KEY,
    OPENAI_MAX_RETRIES: '2',
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('e2e'),
    ...env,
  });
  const app = await startApp(config, { log, role });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  fake = await createFakeOpenAI({ apiKey: API_KEY });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  expect(fake.violations).toEqual([]);
  fake.reset();
});

afterAll(async () => {
  await fake.stop();
  const output = logLines.join('');
  expect(output.length).toBeGreaterThan(0);
  expect(output).not.toContain(API_KEY);
});

describe('chat pipeline through the playground', () => {
  it('streams the answer to every open page of the channel', async () => {
    fake.chatReply = () => 'Streaming works. '.repeat(30).trim();
    fake.streamChunkSize = 10;
    fake.streamDelayMs = 15;
    const app = await start();
    const pageA = await followChannel(app.url, 'general');
    const pageB = await followChannel(app.url, 'general');

    const posted = await postMessage(app.url, 'general', 'hello there');
    expect(posted.status).toBe(202);

    const expected = 'Streaming works. '.repeat(30).trim();
    for (const page of [pageA, pageB]) {
      const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
      expect(messages.find((m) => m.role === 'user')?.text).toBe('hello there');
      expect(finalAnswers(messages)).toEqual([expected]);
    }
    // It streamed: the page saw the answer grow before it was final.
    const partials = pageA.events.filter((e) => e.role === 'assistant' && !e.final && e.text.length < expected.length);
    expect(partials.length).toBeGreaterThan(0);

    const request = fake.requestsTo('/chat/completions')[0]!;
    const body = request.body as { stream: boolean; user: string; messages: Array<{ role: string; content: string }> };
    expect(body.stream).toBe(true);
    expect(body.messages[0]?.role).toBe('system');
    expect(body.messages.at(-1)).toMatchObject({ role: 'user', content: 'hello there' });
    expect(body.user).toMatch(/^[0-9a-f]{32}$/);
    expect(request.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    pageA.close();
    pageB.close();
  });

  it('answers four quick messages in order, each seeing the exchange before it', async () => {
    fake.chatReply = (body) =>
      `re: ${String(body.messages.at(-1)?.content)} (after ${body.messages.filter((m) => m.role === 'assistant').length} answers)`;
    fake.streamDelayMs = 5;
    const app = await start();
    const page = await followChannel(app.url, 'busy');
    const others = await Promise.all(['side-1', 'side-2'].map((c) => followChannel(app.url, c)));

    const texts = ['one', 'two', 'three', 'four'];
    await Promise.all([
      ...texts.map((text) => postMessage(app.url, 'busy', text)),
      ...['side-1', 'side-2'].flatMap((c) => [postMessage(app.url, c, `${c} a`), postMessage(app.url, c, `${c} b`)]),
    ]);
    const messages = await page.waitFor((m) => finalAnswers(m).length === 4, 20_000);
    // The posts raced each other, so the order is the order the service accepted them in.
    const accepted = messages.filter((m) => m.role === 'user').map((m) => m.text);
    expect([...accepted].sort()).toEqual([...texts].sort());
    expect(finalAnswers(messages)).toEqual(accepted.map((text, i) => `re: ${text} (after ${i} answers)`));

    const history = (await (await fetch(`${app.url}/api/channels/busy/history`)).json()) as {
      messages: Array<{ role: string; text: string }>;
    };
    expect(history.messages.map((m) => [m.role, m.text])).toEqual(
      accepted.flatMap((text, i) => [
        ['user', text],
        ['assistant', `re: ${text} (after ${i} answers)`],
      ]),
    );
    for (const other of others) await other.waitFor((m) => finalAnswers(m).length === 2, 20_000);
    [page, ...others].forEach((p) => p.close());
  });

  it('delivers a 10,000-character answer whole, as several messages within the limit, code block intact', async () => {
    const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20).trim();
    const code = '```ts\n' + Array.from({ length: 80 }, (_, i) => `const line${i} = ${i};`).join('\n') + '\n```';
    const answer = `${[paragraph, paragraph, code, paragraph, paragraph, paragraph, paragraph].join('\n\n')}`;
    expect(answer.length).toBeGreaterThan(8_000);
    fake.chatReply = () => answer;
    fake.streamChunkSize = 500;
    const app = await start({ MAX_COMPLETION_TOKENS: '10000' });
    const page = await followChannel(app.url, 'long');
    await postMessage(app.url, 'long', 'tell me everything');
    const messages = await page.waitFor((m) => m.filter((x) => x.role === 'assistant').length >= 3 && m.filter((x) => x.role === 'assistant').every((x) => x.final), 15_000);
    const parts = finalAnswers(messages);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(4000);
      // Every message renders on its own: its code fences are balanced.
      expect((part.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    const strip = (text: string) => text.replace(/^```(ts)?$/gm, '').replace(/\s+/g, '');
    expect(strip(parts.join('\n'))).toBe(strip(answer));
    page.close();
  });

  it('says so when the answer was cut at the length limit', async () => {
    fake.chatReply = () => 'word '.repeat(50).trim();
    const app = await start({ MAX_COMPLETION_TOKENS: '20' });
    const page = await followChannel(app.url, 'short');
    await postMessage(app.url, 'short', 'talk a lot');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)[0]).toBe(`${'word '.repeat(20).trim()}${REPLIES.cutAtLength}`);
    // History keeps what the model said, not our notice.
    const history = (await (await fetch(`${app.url}/api/channels/short/history`)).json()) as { messages: Array<{ text: string }> };
    expect(history.messages.map((m) => m.text)).toEqual(['talk a lot', 'word '.repeat(20).trim()]);
    page.close();
  });

  it('gets the user an answer after an upstream 429 with retry-after', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'limits');
    fake.enqueueFault({ path: '/chat/completions', kind: 'status', status: 429, retryAfterMs: '200' });
    await postMessage(app.url, 'limits', 'are you there?');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: are you there?']);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(2);
    page.close();
  });

  it('tells the user in plain words when the AI service stays down', async () => {
    const app = await start({ OPENAI_MAX_RETRIES: '0', JOB_ATTEMPTS: '2' });
    const page = await followChannel(app.url, 'down');
    fake.enqueueFault({ path: '/chat/completions', kind: 'status', status: 500, times: 10 });
    await postMessage(app.url, 'down', 'hello?');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1, 15_000);
    expect(finalAnswers(messages)).toEqual([FAILURE_NOTICES.upstream_unavailable]);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(2);
    // Nothing half-done went into history.
    const history = (await (await fetch(`${app.url}/api/channels/down/history`)).json()) as { messages: unknown[] };
    expect(history.messages).toEqual([]);
    page.close();
  });

  it('says at once when the AI service refuses the request', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'refused');
    fake.enqueueFault({ path: '/chat/completions', kind: 'status', status: 400, code: 'context_length_exceeded', type: 'invalid_request_error' });
    await postMessage(app.url, 'refused', 'a very long story');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([FAILURE_NOTICES.upstream_refused]);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(1);
    page.close();
  });

  it('/reset forgets the channel, and only that channel', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'resettable');
    await postMessage(app.url, 'resettable', 'remember me');
    await postMessage(app.url, 'kept', 'keep me');
    await page.waitFor((m) => finalAnswers(m).length === 1);
    await postMessage(app.url, 'resettable', '/reset');
    await page.waitFor((m) => finalAnswers(m).length === 2);
    const read = async (channel: string) =>
      ((await (await fetch(`${app.url}/api/channels/${channel}/history`)).json()) as { messages: unknown[] }).messages;
    expect(await read('resettable')).toEqual([]);
    await expect.poll(() => read('kept').then((m) => m.length)).toBe(2);
    page.close();
  });
});

describe('roles', () => {
  it('runs gateway and workers as separate processes sharing one Redis', async () => {
    const QUEUE_PREFIX = uniquePrefix('roles');
    const gateway = await start({ QUEUE_PREFIX }, 'gateway');
    const page = await followChannel(gateway.url, 'split');
    await postMessage(gateway.url, 'split', 'anyone home?');
    // No worker yet: the message waits in the queue, nothing is lost.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.requestsTo('/chat/completions')).toHaveLength(0);

    const worker = await start({ QUEUE_PREFIX }, 'worker');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: anyone home?']);

    const ready = async (url: string) => (await fetch(`${url}/readyz`)).json();
    expect(await ready(gateway.url)).toEqual({ status: 'ready', checks: { redis: true } });
    expect(await ready(worker.url)).toEqual({ status: 'ready', checks: { redis: true, workers: true } });
    // A worker serves health, not the playground.
    expect((await fetch(`${worker.url}/api/info`)).status).toBe(404);
    page.close();
  });
});

describe('shutdown', () => {
  it('stops taking messages but finishes the answer in progress', async () => {
    const answer = 'slow and steady '.repeat(20).trim();
    fake.chatReply = () => answer;
    fake.streamChunkSize = 16;
    fake.streamDelayMs = 40;
    const prefix = uniquePrefix('drain');
    const app = await start({ QUEUE_PREFIX: prefix });
    const page = await followChannel(app.url, 'draining');
    await postMessage(app.url, 'draining', 'take your time');
    await page.waitFor((m) => m.some((x) => x.role === 'assistant' && !x.final));
    page.close();

    const stopped = app.stop();
    // Intake closes at once...
    await expect.poll(() => fetch(`${app.url}/healthz`).then(() => 'open', () => 'closed'), { timeout: 5_000 }).toBe('closed');
    await stopped;
    // ...and the answer that was streaming was finished and remembered before the process let go.
    const next = await start({ QUEUE_PREFIX: prefix });
    const history = (await (await fetch(`${next.url}/api/channels/draining/history`)).json()) as { messages: Array<{ text: string }> };
    expect(history.messages.map((m) => m.text)).toEqual(['take your time', answer]);
  });
});

describe('restarts', () => {
  it('keeps history across a restart of the service and its embedded Redis', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sb-restart-'));
    try {
      const env = { REDIS_URL: '', DATA_DIR: dataDir, QUEUE_PREFIX: uniquePrefix('restart') };
      const first = await start(env);
      const page = await followChannel(first.url, 'diary');
      await postMessage(first.url, 'diary', 'my name is Ann');
      await page.waitFor((m) => finalAnswers(m).length === 1);
      page.close();
      await first.stop();

      const second = await start(env);
      expect(second.redisUrl).not.toBe(testRedisUrl());
      const again = await followChannel(second.url, 'diary');
      await postMessage(second.url, 'diary', 'what is my name?');
      await again.waitFor((m) => finalAnswers(m).length === 1);
      const prompt = (fake.requestsTo('/chat/completions').at(-1)!.body as { messages: Array<{ content: string }> }).messages;
      expect(prompt.map((m) => m.content)).toEqual([
        expect.any(String),
        'my name is Ann',
        'Echo: my name is Ann',
        'what is my name?',
      ]);
      again.close();
    } finally {
      await Promise.all(apps.splice(0).map((app) => app.stop()));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
