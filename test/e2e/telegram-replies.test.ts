/**
 * End to end through src/app.ts's wiring and the fake Bot API (see telegram.test.ts):
 * replies within Telegram's limits (length, flood control, HTML), and a gateway that
 * keeps going when Telegram or the bot's replies fail.
 */
import { describe, expect, it } from 'vitest';
import { FLOOD_TOLERANCE_MS } from '../fakes/telegram.js';
import { ann, dm, group, MENTION, successful, useTelegramHarness, WAIT_MS } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();

describe('telegram: replies within Telegram’s limits', () => {
  it('sends a 6,000-character answer as two messages, in order, with nothing lost', async () => {
    const paragraphs = Array.from({ length: 60 }, (_, i) => `Paragraph ${String(i).padStart(2, '0')}: ${'lorem ipsum '.repeat(7).trim()}.`);
    const answer = paragraphs.join('\n\n');
    expect(answer.length).toBeGreaterThan(5_500);
    h.openai.chatReply = () => answer;
    h.openai.streamChunkSize = 200;
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'tell me everything' });
    const texts = await h.botTexts(dm, (t) => t.join('\n\n') === answer);
    expect(texts).toHaveLength(2);
    expect(texts.every((t) => t.length <= 4096)).toBe(true);

    const [first, second] = h.telegram.botMessages(dm.id);
    expect(first!.message_id).toBeLessThan(second!.message_id);
    expect(first!['reply_to_message']).toBeDefined();
    expect(second!['reply_to_message']).toBeUndefined();
    expect([...h.telegram.callsTo('sendMessage'), ...h.telegram.callsTo('editMessageText')].filter((c) => !c.response.ok && !/not modified/.test(c.response.description ?? ''))).toEqual([]);
  });

  it('never edits a chat more than once a second, even with Telegram enforcing it', async () => {
    h.telegram.rateLimits = true;
    const answer = 'Streaming words arrive one after another. '.repeat(20).trim();
    h.openai.chatReply = () => answer;
    h.openai.streamChunkSize = 6;
    h.openai.streamDelayMs = 25;
    await h.start();
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} stream please` });
    await h.botTexts(group, (t) => t[0] === answer);

    const writes = [...h.telegram.callsTo('sendMessage'), ...h.telegram.callsTo('editMessageText')].sort((a, b) => a.at - b.at);
    expect(writes.filter((c) => c.response.error_code === 429)).toEqual([]);
    const done = successful(writes);
    expect(done.filter((c) => c.method === 'editMessageText').length).toBeGreaterThan(1);
    const gaps = done.slice(1).map((c, i) => c.at - done[i]!.at);
    expect(gaps.filter((gap) => gap < 1_000 - FLOOD_TOLERANCE_MS)).toEqual([]);
  });

  it('retries a sendMessage refused with 429 after retry_after, and the answer still arrives', async () => {
    h.telegram.failNext({ method: 'sendMessage', error_code: 429, description: 'Too Many Requests: retry after 2', parameters: { retry_after: 2 } });
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'are you there?' });
    await h.botTexts(dm, (t) => t.includes('Echo: are you there?'));
    const [refused, retried] = h.telegram.callsTo('sendMessage');
    expect(refused?.response.error_code).toBe(429);
    expect(retried?.response.ok).toBe(true);
    expect(retried?.params['text']).toBe(refused?.params['text']);
    expect(retried!.at - refused!.at).toBeGreaterThanOrEqual(2_000 - FLOOD_TOLERANCE_MS);
    // The call was retried, not the whole job: the model was asked once.
    expect(h.askedAbout()).toEqual(['are you there?']);
  });

  it('sends the same text as plain text when Telegram refuses the HTML', async () => {
    const answer = '**Careful** with <this> & that';
    h.openai.chatReply = () => answer;
    const refuse = { error_code: 400, description: 'Bad Request: can\'t parse entities: Unsupported start tag "this" at byte offset 24', times: 100, when: (p: Record<string, unknown>) => p['parse_mode'] === 'HTML' };
    h.telegram.failNext({ method: 'sendMessage', ...refuse });
    h.telegram.failNext({ method: 'editMessageText', ...refuse });
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'format this' });
    await h.botTexts(dm, (t) => t[0] === answer);
    const plain = successful(h.telegram.callsTo('sendMessage'))[0]!;
    expect(plain.params['parse_mode']).toBeUndefined();
  });
});

describe('telegram: delivery', () => {
  it('keeps polling after Telegram refuses a poll', async () => {
    h.telegram.failNext({ method: 'getUpdates', error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'still there?' });
    await h.botTexts(dm, (t) => t.includes('Echo: still there?'));
    expect(h.telegram.callsTo('getUpdates')[0]?.response.error_code).toBe(409);
  });

  it('answers a burst of messages (one getUpdates batch) in the order they were sent', async () => {
    const burst = ['one', 'two', 'three', 'four'];
    for (const text of burst) h.telegram.message({ chat: dm, from: ann, text });
    await h.start();
    const expected = burst.map((text) => `Echo: ${text}`);
    await h.botTexts(dm, (t) => t.length === burst.length && t[burst.length - 1] === expected.at(-1));
    expect(h.telegram.botMessages(dm.id).map((m) => m.text)).toEqual(expected);
    expect(h.askedAbout()).toEqual(burst);
  });

  it('keeps the bot token out of every log line, even when Telegram refuses the replies', async () => {
    h.telegram.failNext({ method: 'sendMessage', error_code: 403, description: 'Forbidden: bot was blocked by the user', times: 100 });
    await h.start({ JOB_ATTEMPTS: '1' });
    h.telegram.message({ chat: dm, from: ann, text: 'you will not reach me' });
    await expect.poll(() => h.logLines.some((line) => line.includes('bot was blocked')), { timeout: WAIT_MS }).toBe(true);
    expect(h.logLines.filter((line) => line.includes('TEST-token'))).toEqual([]);
  });
});
