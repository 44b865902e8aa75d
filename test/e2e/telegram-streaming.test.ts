/**
 * End to end (src/app.ts's wiring, the real telegraf on the fake Bot API): how an answer
 * streams. In a private chat the growing answer is a draft (sendMessageDraft, one draft id
 * per answer) and one sendMessage persists it; where drafts are refused (a Bot API server
 * without the method) the answer sends and edits instead, and later answers do not try
 * drafts again; a short answer is one write; a group's edits keep to one a second; 300
 * people writing at once to a model that is slow to start and streams for seconds are all
 * answered, each once, in full, with history kept (counts, not times).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { FLOOD_TOLERANCE_MS } from '../fakes/telegram.js';
import { ann, dm, group, MENTION, successful, useTelegramHarness } from '../fakes/telegram-harness.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const h = useTelegramHarness();

/** An answer streamed word by word over about `ms`. */
function streamSlowly(answer: string, ms: number): void {
  h.openai.chatReply = () => answer;
  h.openai.streamByWord = true;
  h.openai.streamDelayMs = Math.round(ms / answer.split(' ').length);
}

const LONG_ANSWER = Array.from({ length: 8 }, (_, i) => `Sentence number ${i + 1} of a streamed answer.`).join(' ');
const writesTo = (chatId: number) =>
  h.telegram.calls.filter((c) => ['sendMessage', 'editMessageText', 'sendMessageDraft'].includes(c.method) && Number(c.params['chat_id']) === chatId);

describe('telegram: streaming an answer', () => {
  it('streams a private-chat answer as drafts of one draft id, then persists it with one sendMessage', async () => {
    h.telegram.rateLimits = true;
    streamSlowly(LONG_ANSWER, 3_000);
    await h.start();
    const question = h.telegram.message({ chat: dm, from: ann, text: 'tell me slowly' });
    await h.botTexts(dm, (t) => t.includes(LONG_ANSWER));

    const drafts = successful(h.telegram.callsTo('sendMessageDraft'));
    expect(drafts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(drafts.map((c) => c.params['draft_id'])).size).toBe(1);
    // Each draft shows more of the answer than the one before, and all of it is the answer's beginning.
    const shown = drafts.map((c) => String(c.params['text']));
    for (const [i, text] of shown.entries()) {
      expect(LONG_ANSWER.startsWith(text.replace(/…$/, '').trim()), text).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(shown[i - 1]!.length);
    }
    // Drafts keep to one a second in the chat, as Telegram's flood control asks.
    const gaps = drafts.slice(1).map((c, i) => c.at - drafts[i]!.at);
    expect(gaps.filter((gap) => gap < 1_000 - FLOOD_TOLERANCE_MS)).toEqual([]);
    // One message, sent once, as a reply; never edited.
    const sends = successful(h.telegram.callsTo('sendMessage'));
    expect(sends).toHaveLength(1);
    expect((sends[0]!.params['reply_parameters'] as { message_id: number }).message_id).toBe((question['message'] as { message_id: number }).message_id);
    expect(h.telegram.callsTo('editMessageText')).toEqual([]);
    expect(h.telegram.calls.filter((c) => c.response.error_code === 429)).toEqual([]);
    // The message replaced the draft the chat showed.
    expect(h.telegram.shownDrafts.has(dm.id)).toBe(false);
  });

  it('falls back to sending and editing when the server has no sendMessageDraft, and stops trying drafts', async () => {
    h.telegram.drafts = false;
    streamSlowly(LONG_ANSWER, 3_000);
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'first question' });
    await h.botTexts(dm, (t) => t.includes(LONG_ANSWER));
    const refused = h.telegram.callsTo('sendMessageDraft');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.response.error_code).toBe(404);
    // What the draft would have shown went out as a message at once, then edits.
    expect(successful(h.telegram.callsTo('sendMessage'))).toHaveLength(1);
    expect(successful(h.telegram.callsTo('editMessageText')).length).toBeGreaterThanOrEqual(1);
    expect(h.telegram.botMessages(dm.id).map((m) => m.text)).toEqual([LONG_ANSWER]);

    // The next answer in a private chat does not ask for a draft again.
    h.telegram.message({ chat: dm, from: ann, text: 'second question' });
    await h.botTexts(dm, (t) => t.length === 2 && t[1] === LONG_ANSWER);
    expect(h.telegram.callsTo('sendMessageDraft')).toHaveLength(1);
  });

  it('sends a short answer as one message: no draft, no edit', async () => {
    h.openai.chatReply = () => 'Yes, that works.';
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'does it work?' });
    await h.botTexts(dm, (t) => t.includes('Yes, that works.'));
    // Past the window, nothing more comes.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(writesTo(dm.id).map((c) => c.method)).toEqual(['sendMessage']);

    h.telegram.message({ chat: group, from: ann, text: `${MENTION} and in a group?` });
    await h.botTexts(group, (t) => t.includes('Yes, that works.'));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(writesTo(group.id).map((c) => c.method)).toEqual(['sendMessage']);
  });

  it('streams a group answer by editing, at most once a second, with no draft', async () => {
    h.telegram.rateLimits = true;
    streamSlowly(LONG_ANSWER, 4_000);
    await h.start();
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} stream it` });
    await h.botTexts(group, (t) => t[0] === LONG_ANSWER);
    const writes = successful(writesTo(group.id)).sort((a, b) => a.at - b.at);
    expect(writes.map((c) => c.method)).not.toContain('sendMessageDraft');
    expect(writes.filter((c) => c.method === 'editMessageText').length).toBeGreaterThanOrEqual(1);
    // The first message waited for a piece worth showing: a whole sentence, not the first word.
    expect(String(writes[0]!.params['text'])).toMatch(/^Sentence number 1 of a streamed answer\./);
    const gaps = writes.slice(1).map((c, i) => c.at - writes[i]!.at);
    expect(gaps.filter((gap) => gap < 1_000 - FLOOD_TOLERANCE_MS)).toEqual([]);
    expect(h.telegram.calls.filter((c) => c.response.error_code === 429)).toEqual([]);
  });

  it('answers 300 people writing at once to a slow streaming model: each once, in full, history kept', async () => {
    const PEOPLE = 300;
    h.openai.chatReply = (body) => {
      const asked = String(body.messages.at(-1)?.content ?? '');
      return `You asked: ${asked}. ${LONG_ANSWER}`;
    };
    h.openai.streamByWord = true;
    h.openai.firstTokenDelayMs = 500;
    h.openai.streamDelayMs = 60; // about 50 words: three seconds a stream, like a real model
    const prefix = uniquePrefix('tgcrowd');
    // The abuse limits and the bot-wide cap are the operator's to raise; the fake has neither.
    await h.start({ QUEUE_PREFIX: prefix, USER_RATE_LIMIT: '0', CHANNEL_RATE_LIMIT: '0', TELEGRAM_MESSAGES_PER_SECOND: '100000' });
    const people = Array.from({ length: PEOPLE }, (_, i) => ({ id: 50_000 + i, first_name: `P${i}` }));
    for (const person of people) {
      h.telegram.message({ chat: { id: person.id, type: 'private', first_name: person.first_name }, from: { ...person, is_bot: false }, text: `question ${person.id}` });
    }
    const expected = (id: number) => `You asked: question ${id}. ${LONG_ANSWER}`;
    await expect
      .poll(() => people.filter((p) => h.telegram.botMessages(p.id).some((m) => m.text === expected(p.id))).length, { timeout: 60_000, interval: 200 })
      .toBe(PEOPLE);
    // Each person got one message (drafts aside): their own answer, whole, never another's.
    for (const person of people) {
      expect(h.telegram.botMessages(person.id).map((m) => m.text)).toEqual([expected(person.id)]);
    }
    expect(h.openai.requestsTo('/chat/completions')).toHaveLength(PEOPLE);
    // History holds each exchange once.
    const redis = new Redis(testRedisUrl());
    try {
      const keys = createRedisKeys(prefix);
      const lengths = await Promise.all(people.map((p) => redis.llen(keys.history(`telegram:${p.id}`))));
      expect(lengths.filter((n) => n !== 2)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
