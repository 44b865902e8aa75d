/**
 * What the user points at, and reasoning models, on Discord (issue #18), end to end through
 * the real discord.js and the real wiring: a reply (message_reference, with the fake
 * gateway's referenced_message) brings the message replied to into the request, even one
 * the bot never saw addressed: its text, its picture, its voice message's transcript; a
 * text file's content reaches the request; a reasoning model's thinking never reaches a
 * message or history; /redo replaces the last answer in history. Discord has no partial
 * quotes (a reply references a whole message), so that case is Telegram's alone.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/domain/chat.js';
import { REPLIES } from '../../src/domain/replies.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import type { FakeMessage } from '../fakes/discord.js';
import { useDiscordHarness } from '../fakes/discord-harness.js';
import { createPng } from '../fakes/png.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const BOT_TOKEN = 'test-token.discord-context.x';
const API_KEY = 'sk-test-discord-context-0123456789';
const MEETING = 'the meeting moved to friday, and we meet in room 4B';
/** Bytes of a voice message: Ogg's capture pattern, then filler; the fake OpenAI reads only the name. */
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(2_000, 7)]);
const h = useDiscordHarness({
  token: BOT_TOKEN,
  apiKey: API_KEY,
  label: 'dcx',
  env: (discord) => ({ DISCORD_CDN_HOSTS: discord.cdnHost, CHAT_VISION: 'true' }),
});
const ann = { id: '300000000000000001', username: 'ann', global_name: 'Ann' };
const bob = { id: '300000000000000002', username: 'bob', global_name: 'Bob' };

const redis = new Redis(testRedisUrl());
let prefix = '';
afterAll(() => {
  redis.disconnect();
  expect(h.logLines.join('')).toContain('discord gateway ready');
});

async function start(env: Record<string, string> = {}): Promise<void> {
  prefix = uniquePrefix('dcx');
  await h.start({ QUEUE_PREFIX: prefix, ...env });
}

async function history(conversation: string): Promise<HistoryEntry[]> {
  return (await redis.lrange(createRedisKeys(prefix).history(conversation), 0, -1)).map((raw) => JSON.parse(raw) as HistoryEntry);
}

/** The user message the fake stored for a dispatched payload. */
const stored = (payload: Record<string, unknown>): FakeMessage => h.discord.messages.find((m) => m.id === payload['id'])!;

async function answers(count: number, channelId = h.discord.channelId): Promise<FakeMessage[]> {
  await h.discord.waitFor(() => h.discord.botMessages({ channelId }).length >= count, 15_000);
  return h.discord.botMessages({ channelId });
}

type Content = string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
const requests = (): Array<Array<{ role: string; content: Content }>> =>
  h.openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ role: string; content: Content }> }).messages);
const asked = (index = 0): string => {
  const content = requests()[index]?.at(-1)?.content;
  return typeof content === 'string' ? content : (content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join(' ');
};

describe('discord: replies as context', () => {
  it('brings a message the bot never saw addressed into the request, attributed to its author', async () => {
    await start();
    const note = h.discord.userMessage({ content: MEETING, author: ann });
    h.discord.userMessage({ content: 'what does this say?', author: bob, mentionBot: true, replyTo: stored(note), replyPing: false });
    await answers(1);
    expect(requests()).toHaveLength(1);
    expect(asked().startsWith('what does this say?')).toBe(true);
    expect(asked()).toContain("Ann's message");
    expect(asked()).toContain(MEETING);
    const [user] = await history(`discord:${h.discord.channelId}`);
    expect(user).toMatchObject({ role: 'user', name: 'Bob', refs: [note['id']] });
  });

  it('carries the picture of a message replied to as an image part', async () => {
    await start();
    const png = createPng(4, 4, [30, 120, 200]);
    const picture = h.discord.userMessage({ content: 'our new office', author: ann, attachments: [h.discord.registerAttachment(png, { name: 'office.png', contentType: 'image/png' })] });
    h.discord.userMessage({ content: 'what colour is it?', author: bob, mentionBot: true, replyTo: stored(picture), replyPing: false });
    await answers(1);
    const content = requests()[0]?.at(-1)?.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(content.find((p) => p.type === 'image_url')?.image_url?.url).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(content.find((p) => p.type === 'text')?.text).toContain('our new office');
  });

  it('carries the transcript of a voice message replied to, transcribed on demand', async () => {
    h.openai.transcriptReply = () => 'bring the slides on thursday';
    await start();
    const voice = h.discord.registerAttachment(OGG, { name: 'voice-message.ogg', contentType: 'audio/ogg', voice: { durationSecs: 2.5 } });
    const note = h.discord.userMessage({ content: '', author: ann, voice: true, attachments: [voice] });
    h.discord.userMessage({ content: 'what did she ask for?', author: bob, mentionBot: true, replyTo: stored(note), replyPing: false });
    const [answer] = await answers(1);
    expect(h.openai.requestsTo('/audio/transcriptions')).toHaveLength(1);
    expect(asked()).toContain('[voice note] bring the slides on thursday');
    expect(answer!.content.startsWith('Echo: what did she ask for?')).toBe(true);
  });

  it('sends a text file’s content to the model', async () => {
    await start();
    const code = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';
    const file = h.discord.registerAttachment(Buffer.from(code), { name: 'add.ts', contentType: 'text/plain; charset=utf-8' });
    h.discord.userMessage({ content: 'review this', author: bob, mentionBot: true, attachments: [file] });
    await answers(1);
    expect(asked()).toContain('(File add.ts:)');
    expect(asked()).toContain('return a + b;');
  });
});

describe('discord: reasoning models and /redo', () => {
  it('keeps <think> text out of every message version and history; SHOW_REASONING=file attaches it', async () => {
    h.openai.chatReasoning = () => 'SECRET-THOUGHT: keep it short';
    h.openai.chatReply = () => 'Short and sweet.';
    h.openai.streamChunkSize = 4;
    await start({ SHOW_REASONING: 'file' });
    h.discord.userMessage({ content: 'hello', author: bob, mentionBot: true });
    await h.discord.waitFor(() => h.discord.botMessages({ channelId: h.discord.channelId }).some((m) => m.attachments.length > 0), 15_000);
    const messages = h.discord.botMessages({ channelId: h.discord.channelId });
    expect(messages.find((m) => m.attachments.length === 0)?.content).toBe('Short and sweet.');
    for (const message of messages) for (const version of message.versions) expect(version).not.toMatch(/SECRET-THOUGHT|think>/);
    const file = messages.find((m) => m.attachments.length > 0)!;
    expect(file.content).toBe(REPLIES.reasoningCaption);
    expect(file.attachments[0]).toMatchObject({ filename: 'reasoning.txt' });
    expect(file.attachments[0]!.bytes!.toString('utf8')).toBe('SECRET-THOUGHT: keep it short');
    expect(JSON.stringify(await history(`discord:${h.discord.channelId}`))).not.toContain('SECRET-THOUGHT');
  });

  it('/redo answers the last message again and replaces that answer in history', async () => {
    let answered = 0;
    h.openai.chatReply = () => `answer number ${++answered}`;
    await start();
    h.discord.userMessage({ content: 'tell me a joke', author: bob, mentionBot: true });
    await answers(1);
    const redo = h.discord.slashCommand({ name: 'redo', author: bob });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: redo.token }).some((m) => m.content === 'answer number 2'), 15_000);
    expect(requests()[1]?.slice(1).map((m) => m.content)).toEqual(['tell me a joke']);
    expect((await history(`discord:${h.discord.channelId}`)).map((e) => [e.role, e.text])).toEqual([
      ['user', 'tell me a joke'],
      ['assistant', 'answer number 2'],
    ]);
  });

  it('/settings reasoning: sets the channel’s effort for members who may manage it', async () => {
    await start({ CHAT_MODEL: 'o4-mini' });
    const denied = h.discord.slashCommand({ name: 'settings', options: { reasoning: 'high' }, author: bob });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: denied.token }).some((m) => m.content === REPLIES.settingsNotAllowed), 15_000);
    const set = h.discord.slashCommand({ name: 'settings', options: { reasoning: 'high' }, author: ann, roles: [h.discord.moderatorRoleId] });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: set.token }).some((m) => m.content === REPLIES.reasoningSet('high', true)), 15_000);
    h.discord.userMessage({ content: 'think hard', author: bob, mentionBot: true });
    await h.discord.waitFor(() => h.discord.botMessages({ channelId: h.discord.channelId }).some((m) => m.content === 'Echo: think hard'), 15_000);
    expect((h.openai.requestsTo('/chat/completions')[0]?.body as Record<string, unknown>)['reasoning_effort']).toBe('high');
  });
});
