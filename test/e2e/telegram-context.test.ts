/**
 * What the user points at, and reasoning models, on Telegram (issue #18), end to end
 * through src/app.ts's wiring, the real telegraf on the fake Bot API and the fake OpenAI:
 * a reply brings the message replied to into the request (its text, only the quoted part of
 * a partial quote, its photo, its voice note's transcript), even one the bot never saw
 * addressed; a text file's content reaches the request; a reasoning model's thinking never
 * reaches the chat or history; /redo replaces the last answer in history; an @username the
 * model writes in a group notifies nobody. Assertions are on what reached the fake OpenAI,
 * what the fake Bot API recorded, and what is in Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/domain/chat.js';
import { REPLIES } from '../../src/domain/replies.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { ann, bob, dm, group, MENTION, successful, useTelegramHarness, WAIT_MS } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();
const MEETING = 'the meeting moved to friday, and we meet in room 4B';
/** A JPEG's first bytes; Telegram's photos are always JPEG. */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40, 3), Buffer.from([0xff, 0xd9])]);
/** A few bytes that start like Ogg; the fake transcription endpoint reads any audio. */
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 7)]);

const redis = new Redis(testRedisUrl());
let prefix = '';
afterEach(() => {
  prefix = '';
});
afterAll(() => redis.disconnect());

/** Starts the service under a known key prefix, so a test can read history in Redis. */
async function start(env: Record<string, string> = {}): Promise<void> {
  prefix = uniquePrefix('tgctx');
  await h.start({ QUEUE_PREFIX: prefix, ...env });
}

async function history(conversation: string): Promise<HistoryEntry[]> {
  const raw = await redis.lrange(createRedisKeys(prefix).history(conversation), 0, -1);
  return raw.map((item) => JSON.parse(item) as HistoryEntry);
}

type Content = string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
/** The chat completion requests' messages, in order. */
const requests = (): Array<Array<{ role: string; content: Content; name?: string }>> =>
  h.openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ role: string; content: Content; name?: string }> }).messages);
/** The text of the newest user message of request `index`. */
const asked = (index = 0): string => {
  const content = requests()[index]?.at(-1)?.content;
  return typeof content === 'string' ? content : (content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join(' ');
};
const messageIdOf = (update: Record<string, unknown>): number => (update['message'] as { message_id: number }).message_id;

describe('telegram: replies and quotes as context', () => {
  it('brings a message the bot never saw addressed into the request, attributed to its author', async () => {
    await start();
    const note = h.telegram.message({ chat: group, from: ann, text: MEETING });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} what does this say?`, replyTo: messageIdOf(note) });
    await h.botTexts(group, (t) => t.length === 1);

    // One request: Ann's message was never answered on its own.
    expect(requests()).toHaveLength(1);
    const question = asked();
    expect(question.startsWith('what does this say?')).toBe(true);
    expect(question).toContain("Ann's message");
    expect(question).toContain(MEETING);
    // History keeps the question with what it was about, and the id it carried.
    const [user] = await history(`telegram:${group.id}`);
    expect(user).toMatchObject({ role: 'user', name: 'Bob', text: question, refs: [String(messageIdOf(note))] });
  });

  it('sends only the quoted part of a partial quote', async () => {
    await start();
    const note = h.telegram.message({ chat: group, from: ann, text: MEETING });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} which room?`, replyTo: messageIdOf(note), quote: 'room 4B' });
    await h.botTexts(group, (t) => t.length === 1);
    const question = asked();
    expect(question).toContain('room 4B');
    expect(question).toContain("part of Ann's message");
    expect(question).not.toContain('friday');
  });

  it('never repeats a message history already holds', async () => {
    await start();
    const first = h.telegram.message({ chat: dm, from: ann, text: 'what is the capital of Peru?' });
    await h.botTexts(dm, (t) => t.length === 1);
    h.telegram.message({ chat: dm, from: ann, text: 'and its population?', replyTo: messageIdOf(first) });
    await h.botTexts(dm, (t) => t.length === 2);
    // History has the question and the echoing answer, the last exchange: the new question repeats neither.
    const all = JSON.stringify(requests()[1]);
    expect(all.split('capital of Peru').length - 1).toBe(2);
    expect(asked(1)).toBe('and its population?');
    // The bot's first answer, now an earlier one, is pointed at, not repeated.
    const answer = h.telegram.botMessages(dm.id)[0]!;
    h.telegram.message({ chat: dm, from: ann, text: 'are you sure?', replyTo: answer.message_id });
    await h.botTexts(dm, (t) => t.length === 3);
    expect(JSON.stringify(requests()[2]).split('Echo: what is the capital of Peru?').length - 1).toBe(1);
    expect(asked(2)).toBe('are you sure?\n\n(In reply to your earlier message above.)');
  });

  it('carries the photo of a message replied to as an image part', async () => {
    await start({ CHAT_VISION: 'true' });
    const fileId = h.telegram.addFile(JPEG, 'photos/file_21.jpg');
    const photo = h.telegram.message({ chat: group, from: ann, caption: 'our new office', media: { photo: [{ file_id: fileId, file_unique_id: 'p21', width: 10, height: 10, file_size: JPEG.length }] } });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} what colour is the door?`, replyTo: messageIdOf(photo) });
    await h.botTexts(group, (t) => t.length === 1);

    const content = requests()[0]?.at(-1)?.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(content.find((p) => p.type === 'image_url')?.image_url?.url).toBe(`data:image/jpeg;base64,${JPEG.toString('base64')}`);
    expect(content.find((p) => p.type === 'text')?.text).toContain('our new office');
    // History keeps text only.
    expect(JSON.stringify(await history(`telegram:${group.id}`))).not.toContain('base64');
  });

  it('carries the transcript of a voice note replied to, transcribed on demand', async () => {
    h.openai.transcriptReply = () => 'bring the slides on thursday';
    await start();
    const fileId = h.telegram.addFile(OGG, 'voice/file_22.oga');
    const voice = h.telegram.message({ chat: group, from: ann, media: { voice: { file_id: fileId, file_unique_id: 'v22', duration: 2, mime_type: 'audio/ogg', file_size: OGG.length } } });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} what did she ask for?`, replyTo: messageIdOf(voice) });
    await h.botTexts(group, (t) => t.length === 1);

    expect(h.openai.requestsTo('/audio/transcriptions')).toHaveLength(1);
    expect(asked()).toContain('[voice note] bring the slides on thursday');
    // Only the answer: the voice note itself was not answered (it was not addressed).
    expect(h.telegram.botMessages(group.id)).toHaveLength(1);
  });
});

describe('telegram: text files', () => {
  const document = (name: string, bytes: Buffer, mime = 'text/markdown') => {
    const fileId = h.telegram.addFile(bytes, `documents/${name}`);
    return { document: { file_id: fileId, file_unique_id: `d-${name}`, file_name: name, mime_type: mime, file_size: bytes.length } };
  };

  it('sends a text file’s content to the model, and refuses one over the cap in one sentence', async () => {
    await start({ TEXT_FILE_MAX_BYTES: '2000' });
    const notes = '# Plan\n\n- ship the context feature\n- write the tests\n';
    h.telegram.message({ chat: dm, from: ann, caption: 'summarize this', media: document('plan.md', Buffer.from(notes)) });
    await h.botTexts(dm, (t) => t.length === 1);
    expect(asked()).toContain('summarize this');
    expect(asked()).toContain('(File plan.md:)');
    expect(asked()).toContain('- ship the context feature');

    h.telegram.message({ chat: dm, from: ann, caption: 'and this one', media: document('big.csv', Buffer.from('a,b\n'.repeat(1_000)), 'text/csv') });
    const texts = await h.botTexts(dm, (t) => t.length === 2);
    expect(texts[1]).toBe(REPLIES.fileTooLarge('file', 4_000, 2_000));
    expect(requests()).toHaveLength(1);
  });
});

describe('telegram: reasoning models', () => {
  const THINKING = 'SECRET-THOUGHT: the user wants a greeting; keep it short.';

  it('keeps <think> text out of drafts, messages and history, showing typing while the model thinks', async () => {
    h.openai.chatReasoning = () => `${THINKING} ${'pondering '.repeat(40)}`;
    h.openai.chatReply = () => 'Hello there! Good to see you again, and have a fine day.';
    h.openai.streamByWord = true;
    h.openai.streamDelayMs = 40;
    await start();
    h.telegram.message({ chat: dm, from: ann, text: 'hi' });
    await h.botTexts(dm, (t) => t[0] === 'Hello there! Good to see you again, and have a fine day.');

    const shown = h.telegram.calls.filter((c) => ['sendMessage', 'editMessageText', 'sendMessageDraft'].includes(c.method));
    expect(shown.length).toBeGreaterThan(0);
    for (const call of shown) {
      expect(String(call.params['text'])).not.toMatch(/SECRET-THOUGHT|pondering|think>/);
      // No empty draft ("Thinking…") while the model thinks: the chat shows typing instead.
      expect(String(call.params['text']).trim()).not.toBe('');
    }
    const typing = h.telegram.callsTo('sendChatAction').filter((c) => c.params['action'] === 'typing');
    expect(typing.length).toBeGreaterThan(0);
    expect(typing[0]!.at).toBeLessThanOrEqual(shown[0]!.at);
    expect(JSON.stringify(await history(`telegram:${dm.id}`))).not.toMatch(/SECRET-THOUGHT|pondering|think>/);
  });

  it('with SHOW_REASONING=file, sends reasoning_content after the answer as reasoning.txt, and sends REASONING_EFFORT', async () => {
    h.openai.chatReasoning = () => THINKING;
    h.openai.reasoningStyle = 'reasoning_content';
    await start({ SHOW_REASONING: 'file', REASONING_EFFORT: 'high', CHAT_MODEL: 'o4-mini' });
    h.telegram.message({ chat: dm, from: ann, text: 'hello' });
    await expect.poll(() => h.telegram.uploads.length, { timeout: WAIT_MS }).toBe(1);

    expect(h.telegram.botMessages(dm.id)[0]?.text).toBe('Echo: hello');
    const [upload] = h.telegram.uploads;
    expect(upload).toMatchObject({ method: 'sendDocument', fileName: 'reasoning.txt', caption: REPLIES.reasoningCaption });
    expect(upload!.bytes.toString('utf8')).toBe(THINKING);
    expect((h.openai.requestsTo('/chat/completions')[0]?.body as Record<string, unknown>)['reasoning_effort']).toBe('high');
    expect(JSON.stringify(await history(`telegram:${dm.id}`))).not.toContain('SECRET-THOUGHT');
  });

  it('/settings reasoning sets the channel’s effort; a chat model is never sent one', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, text: '/settings reasoning low' });
    await h.botTexts(dm, (t) => t.length === 1);
    h.telegram.message({ chat: dm, from: ann, text: '/model o4-mini' });
    await h.botTexts(dm, (t) => t.length === 2);
    h.telegram.message({ chat: dm, from: ann, text: 'think about it' });
    await h.botTexts(dm, (t) => t.length === 3);
    h.telegram.message({ chat: dm, from: ann, text: '/model default' });
    await h.botTexts(dm, (t) => t.length === 4);
    h.telegram.message({ chat: dm, from: ann, text: 'and now?' });
    const texts = await h.botTexts(dm, (t) => t.length === 5);
    expect(texts[0]).toBe(REPLIES.reasoningSet('low', false));
    const efforts = h.openai.requestsTo('/chat/completions').map((r) => (r.body as Record<string, unknown>)['reasoning_effort']);
    expect(efforts).toEqual(['low', undefined]);
  });
});

describe('telegram: /redo and mentions', () => {
  it('/redo answers the last message again and replaces that answer in history', async () => {
    let answers = 0;
    h.openai.chatReply = () => `answer number ${++answers}`;
    await start();
    h.telegram.message({ chat: dm, from: ann, text: 'tell me a joke' });
    await h.botTexts(dm, (t) => t.length === 1);
    h.telegram.message({ chat: dm, from: ann, text: '/redo' });
    const texts = await h.botTexts(dm, (t) => t.length === 2);
    expect(texts).toEqual(['answer number 1', 'answer number 2']);
    // Asked again with the history before the exchange, not with the first answer in it.
    expect(requests()[1]?.map((m) => m.content)).toEqual([expect.any(String), 'tell me a joke']);
    const entries = await history(`telegram:${dm.id}`);
    expect(entries.map((e) => [e.role, e.text])).toEqual([
      ['user', 'tell me a joke'],
      ['assistant', 'answer number 2'],
    ]);
  });

  it('/redo with nothing to answer says so', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, text: '/redo' });
    expect(await h.botTexts(dm, (t) => t.length === 1)).toEqual([REPLIES.redoNothing]);
  });

  it('in a group, an @username the model writes is no mention, and notifies nobody', async () => {
    h.openai.chatReply = () => 'Ask @bob_the_builder or [Carol](tg://user?id=1003) about it; `@decorator` stays code.';
    await start();
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} who knows?` });
    await h.botTexts(group, (t) => t.length === 1);
    const [message] = h.telegram.botMessages(group.id);
    const entities = (message!['entities'] as Array<{ type: string }> | undefined) ?? [];
    expect(entities.filter((e) => e.type === 'mention' || e.type === 'text_mention')).toEqual([]);
    // It reads the same: the name after an invisible joiner; code untouched.
    expect(message!.text).toBe('Ask @\u2060bob_the_builder or Carol about it; @decorator stays code.');
    expect(successful(h.telegram.callsTo('sendMessage'))).toHaveLength(1);
    // In a private chat a mention notifies nobody else: the text goes as written.
    h.telegram.message({ chat: dm, from: ann, text: 'say @bob_the_builder' });
    await h.botTexts(dm, (t) => t.length === 1);
    expect(h.telegram.botMessages(dm.id)[0]?.text).toBe('Ask @bob_the_builder or Carol about it; @decorator stays code.');
  });
});
