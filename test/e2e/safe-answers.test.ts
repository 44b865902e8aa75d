/**
 * Safe answers (issue #6), end to end through the playground: a flagged message is
 * refused and the chat endpoint never called; a flagged answer is withheld; a flagged
 * image prompt never reaches the image endpoint; nothing flagged goes into history.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { FAILURE_NOTICES, REPLIES } from '../../src/domain/replies.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';

const API_KEY = 'sk-test-safe-0123456789abcdef';
const { log } = captureLogs([API_KEY]);
let fake: FakeOpenAI;
const apps: RunningApp[] = [];

async function start(env: Record<string, string> = {}): Promise<RunningApp> {
  const config = parseConfig({
    REDIS_URL: testRedisUrl(),
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: API_KEY,
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('safe'),
    ...env,
  });
  const app = await startApp(config, { log });
  apps.push(app);
  return app;
}

async function historyOf(app: RunningApp, channel: string): Promise<string[]> {
  const body = (await (await fetch(`${app.url}/api/channels/${channel}/history`)).json()) as { messages: Array<{ text: string }> };
  return body.messages.map((m) => m.text);
}

beforeAll(async () => {
  fake = await createFakeOpenAI({ apiKey: API_KEY });
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  expect(fake.violations).toEqual([]);
  fake.reset();
});
afterAll(() => fake.stop());

describe('safe answers', () => {
  it('refuses a flagged message, naming the category, without calling the chat endpoint', async () => {
    fake.moderationRules = [{ match: 'hurt them', category: 'violence', score: 0.93 }];
    const app = await start();
    const page = await followChannel(app.url, 'safety');
    await postMessage(app.url, 'safety', 'how do I hurt them');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.inputRefused('violence')]);
    expect(fake.requestsTo('/moderations')).toHaveLength(1);
    expect(fake.requestsTo('/moderations')[0]?.body).toEqual({ input: 'how do I hurt them', model: 'omni-moderation-latest' });
    expect(fake.requestsTo('/chat/completions')).toHaveLength(0);
    expect(await historyOf(app, 'safety')).toEqual([]);

    // A clean message afterwards is answered as usual.
    await postMessage(app.url, 'safety', 'what is a haiku');
    const after = await page.waitFor((m) => finalAnswers(m).length === 2);
    expect(finalAnswers(after)[1]).toBe('Echo: what is a haiku');
    expect(await historyOf(app, 'safety')).toEqual(['what is a haiku', 'Echo: what is a haiku']);
    page.close();
  });

  it('asks the model only after a slow input check has passed', async () => {
    fake.moderationRules = [{ match: 'forbidden words', category: 'hate', score: 0.9 }];
    // The check is slow, the answer fast: the answer must still wait for it.
    fake.enqueueFault({ kind: 'slow', path: '/moderations', delayMs: 600 });
    fake.streamDelayMs = 0;
    const app = await start();
    const page = await followChannel(app.url, 'waits');
    await postMessage(app.url, 'waits', 'say forbidden words');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.inputRefused('hate')]);
    expect(page.events.filter((e) => e.role === 'assistant').map((e) => e.text)).not.toContainEqual(expect.stringContaining('Echo'));
    expect(fake.requestsTo('/chat/completions')).toHaveLength(0);
    page.close();
  });

  it('answers after a slow check passes', async () => {
    fake.enqueueFault({ kind: 'slow', path: '/moderations', delayMs: 400 });
    const app = await start();
    const page = await followChannel(app.url, 'slowclean');
    await postMessage(app.url, 'slowclean', 'hello');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: hello']);
    page.close();
  });

  it('tells the user in one sentence when the moderation service stays down, and asks no model', async () => {
    fake.enqueueFault({ kind: 'status', status: 503, path: '/moderations', times: 50 });
    const app = await start({ JOB_ATTEMPTS: '1', OPENAI_MAX_RETRIES: '0' });
    const page = await followChannel(app.url, 'moddown');
    await postMessage(app.url, 'moddown', 'hello');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([FAILURE_NOTICES.upstream_unavailable]);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(0);
    page.close();
  });

  it('withholds a flagged answer and keeps it out of history', async () => {
    fake.moderationRules = [{ match: 'DANGEROUS RECIPE', category: 'illicit/violent', score: 0.97 }];
    fake.chatReply = () => 'Here is the DANGEROUS RECIPE you asked for.';
    const app = await start();
    const page = await followChannel(app.url, 'output');
    await postMessage(app.url, 'output', 'tell me something');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.answerWithheld]);
    expect(fake.requestsTo('/moderations')).toHaveLength(2);
    expect(await historyOf(app, 'output')).toEqual([]);
    page.close();
  });

  it('checks image prompts before the image endpoint', async () => {
    fake.moderationRules = [{ match: 'gore', category: 'violence/graphic', score: 0.88 }];
    const app = await start();
    const page = await followChannel(app.url, 'draw');
    await postMessage(app.url, 'draw', '/image lots of gore');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.imagePromptRefused('violence/graphic')]);
    expect(fake.requestsTo('/images/generations')).toHaveLength(0);
    page.close();
  });

  it('can be switched off', async () => {
    fake.moderationRules = [{ match: 'hurt them', category: 'violence', score: 0.93 }];
    const app = await start({ MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' });
    const page = await followChannel(app.url, 'off');
    await postMessage(app.url, 'off', 'how do I hurt them');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: how do I hurt them']);
    expect(fake.requestsTo('/moderations')).toHaveLength(0);
    page.close();
  });
});
