/**
 * Channel settings (issue #8), end to end through the playground: /persona, /model
 * (checked against GET /models), /scope and /settings, stored in Redis per channel and
 * used by the next answer.
 */
import { describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { REPLIES } from '../../src/domain/replies.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { uniquePrefix } from '../support/redis.js';
import { usePlaygroundApp } from '../support/playground-app.js';

const API_KEY = 'sk-test-settings-0123456789abcdef';
const h = usePlaygroundApp({ apiKey: API_KEY, label: 'set', env: { MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' } });
/** With a prefix of its own, a restarted service finds the same Redis state. */
const start = (prefix = uniquePrefix('set')): Promise<RunningApp> => h.start({ QUEUE_PREFIX: prefix });

/** Posts and waits for the answer to it (the n-th final answer on the page). */
async function ask(app: RunningApp, page: Awaited<ReturnType<typeof followChannel>>, channel: string, text: string, author = 'Ann'): Promise<string> {
  const before = finalAnswers(page.messages()).length;
  await postMessage(app.url, channel, text, { author });
  const messages = await page.waitFor((m) => finalAnswers(m).length > before);
  return finalAnswers(messages).at(-1) ?? '';
}

interface ChatBody {
  model: string;
  messages: Array<{ role: string; content: string }>;
}
const lastChat = (): ChatBody => h.fake.requestsTo('/chat/completions').at(-1)?.body as ChatBody;

describe('channel settings', () => {
  it('uses the channel persona as the system prompt, until reset, and keeps it across a restart', async () => {
    const prefix = uniquePrefix('set');
    let app = await start(prefix);
    let page = await followChannel(app.url, 'pirates');
    expect(await ask(app, page, 'pirates', '/persona set You are a pirate. Answer like one.')).toBe(REPLIES.personaSet);
    await ask(app, page, 'pirates', 'hello');
    expect(lastChat().messages[0]).toEqual({ role: 'system', content: 'You are a pirate. Answer like one.' });
    page.close();

    // Another channel keeps the default.
    const other = await followChannel(app.url, 'plain');
    await ask(app, other, 'plain', 'hello');
    expect(lastChat().messages[0]?.content).not.toContain('pirate');
    other.close();

    await app.stop();
    app = await start(prefix);
    page = await followChannel(app.url, 'pirates');
    expect(await ask(app, page, 'pirates', '/settings')).toContain('Persona: You are a pirate.');
    expect(await ask(app, page, 'pirates', '/persona reset')).toBe(REPLIES.personaReset);
    await ask(app, page, 'pirates', 'hello again');
    expect(lastChat().messages[0]?.content).not.toContain('pirate');
    page.close();
  });

  it('switches the model only to one the endpoint lists', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'models');
    const unknown = await ask(app, page, 'models', '/model gpt-nonexistent');
    expect(unknown).toContain('gpt-nonexistent');
    expect(unknown).toContain('gpt-4o');
    expect(h.fake.requestsTo('/models')).toHaveLength(1);
    expect(await ask(app, page, 'models', '/model gpt-4o')).toBe(REPLIES.modelSet('gpt-4o'));
    await ask(app, page, 'models', 'which model are you');
    expect(lastChat().model).toBe('gpt-4o');
    expect(await ask(app, page, 'models', '/model')).toBe(REPLIES.modelShow('gpt-4o', false));
    expect(await ask(app, page, 'models', '/model default')).toBe(REPLIES.modelDefault('gpt-4o-mini'));
    await ask(app, page, 'models', 'and now');
    expect(lastChat().model).toBe('gpt-4o-mini');
    page.close();
  });

  it('keeps one conversation per person with /scope user', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'scoped');
    await ask(app, page, 'scoped', 'I am Ann', 'Ann');
    expect(await ask(app, page, 'scoped', '/scope user')).toBe(REPLIES.scopeSet('user'));
    await ask(app, page, 'scoped', 'Ann speaking', 'Ann');
    await ask(app, page, 'scoped', 'Bob speaking', 'Bob');
    // Bob's prompt has no turn of Ann's.
    const bob = lastChat().messages.map((m) => m.content);
    expect(bob).toEqual([expect.any(String), 'Bob speaking']);
    await ask(app, page, 'scoped', 'Ann again', 'Ann');
    expect(lastChat().messages.map((m) => m.content).slice(1)).toEqual(['Ann speaking', 'Echo: Ann speaking', 'Ann again']);
    expect(await ask(app, page, 'scoped', '/settings')).toContain('one conversation per person');
    expect(await ask(app, page, 'scoped', '/scope everyone please')).toBe(REPLIES.scopeUsage);
    page.close();
  });
});
