/**
 * End to end through src/app.ts's wiring: the fake Bot API hands out updates (long
 * polling) or the test posts them to the webhook; jobs go through BullMQ on the test Redis
 * to the chat worker and the fake OpenAI; the answers come back to the fake Bot API, whose
 * records are what a Telegram user would see. This file: who gets an answer, where, and once.
 */
import { describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import { ann, bob, dm, forum, group, MENTION, BOT, successful, useTelegramHarness } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();

describe('telegram: who gets an answer', () => {
  it('answers a mention in a forum topic, in the same chat and topic, as a reply, with commands registered', async () => {
    await h.start();
    // A model slow to start, so "typing…" shows (in the topic) before the answer.
    h.openai.enqueueFault({ kind: 'slow', path: '/chat/completions', delayMs: 1_500 });
    const asked = h.telegram.message({ chat: forum, from: ann, text: `${MENTION} what is up?`, threadId: 77 });
    const texts = await h.botTexts(forum, (t) => t.includes('Echo: what is up?'), 77);
    expect(texts).toEqual(['Echo: what is up?']);

    const send = successful(h.telegram.callsTo('sendMessage'))[0]!;
    expect(send.params).toMatchObject({
      chat_id: String(forum.id),
      message_thread_id: 77,
      parse_mode: 'HTML',
      reply_parameters: { message_id: (asked['message'] as { message_id: number }).message_id, allow_sending_without_reply: true },
    });
    expect(h.telegram.callsTo('sendChatAction')[0]?.params).toMatchObject({ chat_id: String(forum.id), action: 'typing', message_thread_id: 77 });
    expect(h.telegram.callsTo('setMyCommands')[0]?.params['commands']).toEqual(
      expect.arrayContaining([expect.objectContaining({ command: 'reset' }), expect.objectContaining({ command: 'image' })]),
    );
    expect(h.telegram.callsTo('getUpdates').length).toBeGreaterThan(0);
  });

  it('answers a private chat, with the Markdown rendered as HTML', async () => {
    h.openai.chatReply = () => '**Hello** Ann, `1 < 2`';
    await h.start();
    h.telegram.message({ chat: dm, from: ann, text: 'hello' });
    await h.botTexts(dm, (t) => t.includes('Hello Ann, 1 < 2'));
    const last = successful([...h.telegram.callsTo('sendMessage'), ...h.telegram.callsTo('editMessageText')]).at(-1)!;
    expect(last.params).toMatchObject({ parse_mode: 'HTML', text: '<b>Hello</b> Ann, <code>1 &lt; 2</code>' });
  });

  it('does not answer an unaddressed group message, but does answer a reply to the bot', async () => {
    await h.start();
    h.telegram.message({ chat: group, from: ann, text: 'just chatting among ourselves' });
    h.telegram.message({ chat: group, from: bob, text: `hey ${MENTION}, ping` });
    await h.botTexts(group, (t) => t.length === 1 && t[0] === 'Echo: hey ping');

    const botMessageId = h.telegram.botMessages(group.id)[0]!.message_id;
    h.telegram.message({ chat: group, from: ann, text: 'and what about me?', replyTo: botMessageId });
    await h.botTexts(group, (t) => t.length === 2 && t[1] === 'Echo: and what about me?');
    expect(h.askedAbout()).toEqual(['hey ping', 'and what about me?']);
  });

  it('ignores a command addressed to another bot, and keeps the history', async () => {
    await h.start();
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} remember apples` });
    await h.botTexts(group, (t) => t.length === 1);
    h.telegram.message({ chat: group, from: ann, text: '/reset@otherbot' });
    h.telegram.message({ chat: group, from: ann, text: `/help@${BOT.username}` });
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} what did I say?` });
    const texts = await h.botTexts(group, (t) => t.length === 3);
    expect(texts[1]).toBe(REPLIES.help('Switchboard'));
    expect(texts).not.toContain(REPLIES.historyCleared);
    const prompt = (h.openai.requestsTo('/chat/completions').at(-1)!.body as { messages: Array<{ content: string }> }).messages;
    expect(prompt.map((m) => m.content).slice(1)).toEqual(['remember apples', 'Echo: remember apples', 'what did I say?']);
  });
});

describe('telegram: forum topics', () => {
  it('/reset empties the history of its own topic only', async () => {
    await h.start();
    h.telegram.message({ chat: forum, from: ann, text: `${MENTION} topic one fact`, threadId: 11 });
    await h.botTexts(forum, (t) => t.length === 1, 11);
    h.telegram.message({ chat: forum, from: ann, text: `${MENTION} topic two fact`, threadId: 22 });
    await h.botTexts(forum, (t) => t.length === 1, 22);

    h.telegram.message({ chat: forum, from: ann, text: '/reset', threadId: 11 });
    await h.botTexts(forum, (t) => t[1] === REPLIES.historyCleared, 11);

    h.telegram.message({ chat: forum, from: ann, text: `${MENTION} after reset one`, threadId: 11 });
    await h.botTexts(forum, (t) => t.length === 3, 11);
    h.telegram.message({ chat: forum, from: ann, text: `${MENTION} after reset two`, threadId: 22 });
    await h.botTexts(forum, (t) => t.length === 2, 22);

    const prompts = h.openai.requestsTo('/chat/completions').map((r) =>
      (r.body as { messages: Array<{ content: string }> }).messages.slice(1).map((m) => m.content),
    );
    expect(prompts.at(-2)).toEqual(['after reset one']);
    expect(prompts.at(-1)).toEqual(['topic two fact', 'Echo: topic two fact', 'after reset two']);
  });
});

describe('telegram: delivered once', () => {
  it('answers an update delivered twice once', async () => {
    await h.start();
    const update = h.telegram.message({ chat: dm, from: ann, text: 'only once please' });
    h.telegram.pushUpdate(structuredClone({ ...update, update_id: 0 }));
    h.telegram.message({ chat: dm, from: ann, text: 'and now this' });
    await h.botTexts(dm, (t) => t.includes('Echo: and now this'));
    expect(h.telegram.botMessages(dm.id).map((m) => m.text)).toEqual(['Echo: only once please', 'Echo: and now this']);
    expect(h.askedAbout()).toEqual(['only once please', 'and now this']);
  });

  it('takes webhook calls only with the secret token, answers them at once, and dedupes retries', async () => {
    const secret = 'hook-secret_123';
    const app = await h.start({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.test/tg/hook', TELEGRAM_WEBHOOK_SECRET: secret });
    expect(h.telegram.webhook).toEqual({ url: 'https://bot.example.test/tg/hook', secretToken: secret });
    const post = (update: unknown, token?: string) =>
      fetch(`${app.url}/tg/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { 'x-telegram-bot-api-secret-token': token }) },
        body: JSON.stringify(update),
      });

    const forged = h.telegram.message({ chat: dm, from: ann, text: 'forged message' });
    expect((await post(forged, 'wrong-secret')).status).toBe(403);
    expect((await post(forged)).status).toBe(403);
    expect((await post('not an update', secret)).status).toBe(400);
    expect((await fetch(`${app.url}/tg/hook`)).status).toBe(405);

    const real = h.telegram.message({ chat: dm, from: ann, text: 'real message' });
    expect((await post(real, secret)).status).toBe(200);
    expect((await post(real, secret)).status).toBe(200);
    await h.botTexts(dm, (t) => t.includes('Echo: real message'));
    expect(h.telegram.botMessages(dm.id).map((m) => m.text)).toEqual(['Echo: real message']);
    expect(h.askedAbout()).toEqual(['real message']);
    expect(h.telegram.callsTo('getUpdates')).toEqual([]);
  });
});
