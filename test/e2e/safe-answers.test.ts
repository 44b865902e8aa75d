/**
 * Safe answers (issue #6), end to end through the playground: a flagged message is
 * refused and the chat endpoint never called; a flagged answer is withheld; a flagged
 * image prompt never reaches the image endpoint; nothing flagged goes into history.
 */
import { describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { FAILURE_NOTICES, REPLIES } from '../../src/domain/replies.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { usePlaygroundApp } from '../support/playground-app.js';

const API_KEY = 'sk-test-safe-0123456789abcdef';
const h = usePlaygroundApp({ apiKey: API_KEY, label: 'safe' });
const { start } = h;

async function historyOf(app: RunningApp, channel: string): Promise<string[]> {
  const body = (await (await fetch(`${app.url}/api/channels/${channel}/history`)).json()) as { messages: Array<{ text: string }> };
  return body.messages.map((m) => m.text);
}

describe('safe answers', () => {
  it('refuses a flagged message, naming the category, without calling the chat endpoint', async () => {
    h.fake.moderationRules = [{ match: 'hurt them', category: 'violence', score: 0.93 }];
    const app = await start();
    const page = await followChannel(app.url, 'safety');
    await postMessage(app.url, 'safety', 'how do I hurt them');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.inputRefused('violence')]);
    expect(h.fake.requestsTo('/moderations')).toHaveLength(1);
    expect(h.fake.requestsTo('/moderations')[0]?.body).toEqual({ input: 'how do I hurt them', model: 'omni-moderation-latest' });
    expect(h.fake.requestsTo('/chat/completions')).toHaveLength(0);
    expect(await historyOf(app, 'safety')).toEqual([]);

    // A clean message afterwards is answered as usual.
    await postMessage(app.url, 'safety', 'what is a haiku');
    const after = await page.waitFor((m) => finalAnswers(m).length === 2);
    expect(finalAnswers(after)[1]).toBe('Echo: what is a haiku');
    expect(await historyOf(app, 'safety')).toEqual(['what is a haiku', 'Echo: what is a haiku']);
    page.close();
  });

  it('asks the model only after a slow input check has passed', async () => {
    h.fake.moderationRules = [{ match: 'forbidden words', category: 'hate', score: 0.9 }];
    // The check is slow, the answer fast: the answer must still wait for it.
    h.fake.enqueueFault({ kind: 'slow', path: '/moderations', delayMs: 600 });
    h.fake.streamDelayMs = 0;
    const app = await start();
    const page = await followChannel(app.url, 'waits');
    await postMessage(app.url, 'waits', 'say forbidden words');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.inputRefused('hate')]);
    expect(page.events.filter((e) => e.role === 'assistant').map((e) => e.text)).not.toContainEqual(expect.stringContaining('Echo'));
    expect(h.fake.requestsTo('/chat/completions')).toHaveLength(0);
    page.close();
  });

  it('answers after a slow check passes', async () => {
    h.fake.enqueueFault({ kind: 'slow', path: '/moderations', delayMs: 400 });
    const app = await start();
    const page = await followChannel(app.url, 'slowclean');
    await postMessage(app.url, 'slowclean', 'hello');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: hello']);
    page.close();
  });

  it('tells the user in one sentence when the moderation service stays down, and asks no model', async () => {
    h.fake.enqueueFault({ kind: 'status', status: 503, path: '/moderations', times: 50 });
    const app = await start({ JOB_ATTEMPTS: '1', OPENAI_MAX_RETRIES: '0' });
    const page = await followChannel(app.url, 'moddown');
    await postMessage(app.url, 'moddown', 'hello');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([FAILURE_NOTICES.upstream_unavailable]);
    expect(h.fake.requestsTo('/chat/completions')).toHaveLength(0);
    page.close();
  });

  it('withholds a flagged answer and keeps it out of history', async () => {
    h.fake.moderationRules = [{ match: 'DANGEROUS RECIPE', category: 'illicit/violent', score: 0.97 }];
    h.fake.chatReply = () => 'Here is the DANGEROUS RECIPE you asked for.';
    const app = await start();
    const page = await followChannel(app.url, 'output');
    await postMessage(app.url, 'output', 'tell me something');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.answerWithheld]);
    expect(h.fake.requestsTo('/moderations')).toHaveLength(2);
    expect(await historyOf(app, 'output')).toEqual([]);
    page.close();
  });

  it('checks image prompts before the image endpoint', async () => {
    h.fake.moderationRules = [{ match: 'gore', category: 'violence/graphic', score: 0.88 }];
    const app = await start();
    const page = await followChannel(app.url, 'draw');
    await postMessage(app.url, 'draw', '/image lots of gore');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual([REPLIES.imagePromptRefused('violence/graphic')]);
    expect(h.fake.requestsTo('/images/generations')).toHaveLength(0);
    page.close();
  });

  it('can be switched off', async () => {
    h.fake.moderationRules = [{ match: 'hurt them', category: 'violence', score: 0.93 }];
    const app = await start({ MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' });
    const page = await followChannel(app.url, 'off');
    await postMessage(app.url, 'off', 'how do I hurt them');
    const messages = await page.waitFor((m) => finalAnswers(m).length === 1);
    expect(finalAnswers(messages)).toEqual(['Echo: how do I hurt them']);
    expect(h.fake.requestsTo('/moderations')).toHaveLength(0);
    page.close();
  });
});
