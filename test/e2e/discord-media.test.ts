/**
 * Voice messages, audio files, pictures and /imagine on Discord, end to end through the
 * real discord.js and the real wiring: fake Discord gateway (its CDN serving the
 * attachments) → discord.js → queue → transcribe / image / chat worker → fake OpenAI →
 * Discord Outbox (downloads through the guarded downloader, multipart uploads) → fake
 * Discord REST. Assertions are on what the user sees at the fake, and on what reached
 * the fake OpenAI and the fake CDN.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { TRANSCRIPTION_MAX_BYTES } from '../../src/domain/media.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { DiscordAttachmentObject, FakeMessage } from '../fakes/discord.js';
import { useDiscordHarness } from '../fakes/discord-harness.js';
import type { MultipartFile } from '../fakes/openai.js';
import { createPng, PNG_SIGNATURE } from '../fakes/png.js';

const BOT_TOKEN = 'test-token.discord-media.x';
const API_KEY = 'sk-test-discord-media-0123456789';
const TRANSCRIBE_MODEL = 'whisper-test-1';
const TRANSCRIPT = 'please remind me to water the plants';
/** Bytes of a voice message: Ogg's capture pattern, then filler; the fake OpenAI reads only the name. */
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(2_000, 7)]);
const h = useDiscordHarness({
  token: BOT_TOKEN,
  apiKey: API_KEY,
  label: 'dcm',
  env: (discord) => ({ DISCORD_CDN_HOSTS: discord.cdnHost, TRANSCRIBE_MODEL, CHAT_VISION: 'true' }),
  openai: { transcript: TRANSCRIPT },
});
const start = (env: Record<string, string> = {}): Promise<RunningApp> => h.start(env);

/** A voice message's attachment on the fake CDN. */
const voiceNote = (bytes: Buffer = OGG): DiscordAttachmentObject =>
  h.discord.registerAttachment(bytes, { name: 'voice-message.ogg', contentType: 'audio/ogg', voice: { durationSecs: 3.4 } });

/** Waits until the bot's messages in a channel satisfy `predicate`; returns them. */
async function botMessagesIn(channelId: string, predicate: (messages: FakeMessage[]) => boolean, timeoutMs = 15_000): Promise<FakeMessage[]> {
  await h.discord.waitFor(() => predicate(h.discord.botMessages({ channelId })), timeoutMs);
  return h.discord.botMessages({ channelId });
}
const showing = (...texts: string[]) => (messages: FakeMessage[]) => texts.every((text) => messages.some((m) => m.content === text));

/** The bot's messages for an interaction, once one satisfies `predicate`. */
async function interactionMessages(token: string, predicate: (message: FakeMessage) => boolean): Promise<FakeMessage[]> {
  await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: token }).some(predicate), 15_000);
  return h.discord.botMessages({ interactionToken: token });
}

const transcriptions = () => h.openai.requestsTo('/audio/transcriptions');
const lastUserContent = (): unknown =>
  (h.openai.requestsTo('/chat/completions').at(-1)?.body as { messages: Array<{ role: string; content: unknown }> } | undefined)?.messages.at(-1)?.content;

afterAll(() => {
  const output = h.logLines.join('');
  expect(output).toContain('discord gateway ready');
  // Attachment URLs are signed capabilities: none reaches a log line.
  expect(output).not.toMatch(/[?&]hm=/);
});

describe('discord voice messages and audio', () => {
  it('transcribes a voice message in a DM, shows the transcript, then answers it', async () => {
    await start();
    const voice = voiceNote();
    const message = h.discord.userMessage({ content: '', dm: true, voice: true, attachments: [voice] });
    const channel = String(message['channel_id']);
    const messages = await botMessagesIn(channel, showing(REPLIES.transcript(TRANSCRIPT), `Echo: ${TRANSCRIPT}`));
    // The transcript first, as a reply to the voice message; then the answer.
    expect(messages.map((m) => m.content)).toEqual([REPLIES.transcript(TRANSCRIPT), `Echo: ${TRANSCRIPT}`]);
    expect(messages[0]!.message_reference).toEqual({ message_id: message['id'] });

    // The file came from Discord's CDN once, and reached the endpoint as an accepted audio file.
    expect(h.discord.downloads).toEqual([{ path: expect.stringMatching(/\/voice-message\.ogg$/), status: 200 }]);
    const [request] = transcriptions();
    expect(request!.headers['content-type']).toMatch(/^multipart\/form-data/);
    const fields = request!.body as { file: MultipartFile; model: string };
    expect(fields.model).toBe(TRANSCRIBE_MODEL);
    expect(fields.file.filename).toMatch(/\.ogg$/);
    expect(fields.file.bytes.equals(OGG)).toBe(true);
    expect(lastUserContent()).toBe(TRANSCRIPT);
  });

  it('refuses an audio file over 25 MB in one sentence, without downloading it', async () => {
    await start();
    const size = 26 * 1024 * 1024;
    const big = h.discord.registerAttachment(Buffer.from('ID3 a small file that says it is large'), { name: 'lecture.mp3', contentType: 'audio/mpeg', size });
    const message = h.discord.userMessage({ content: 'what does this say?', dm: true, attachments: [big] });
    const expected = REPLIES.fileTooLarge('audio file', size, TRANSCRIPTION_MAX_BYTES);
    await botMessagesIn(String(message['channel_id']), showing(expected));
    expect(h.discord.downloads).toEqual([]);
    expect(transcriptions()).toEqual([]);
    expect(h.openai.requestsTo('/chat/completions')).toEqual([]);
  });

  it('says when the audio cannot be read', async () => {
    await start();
    const broken = voiceNote(Buffer.from('NOT AUDIO, just text pretending'));
    const message = h.discord.userMessage({ content: '', dm: true, voice: true, attachments: [broken] });
    const [reply] = await botMessagesIn(String(message['channel_id']), showing(REPLIES.unreadableAudio));
    expect(reply!.content).toBe(REPLIES.unreadableAudio);
    expect(transcriptions()).toHaveLength(1);
    expect(h.openai.requestsTo('/chat/completions')).toEqual([]);
  });

  it('never fetches an attachment URL on a host outside DISCORD_CDN_HOSTS', async () => {
    await start();
    const voice = voiceNote();
    // The same file, but the URL names another host (which resolves to the fake all the same).
    const elsewhere = { ...voice, url: voice.url.replace('127.0.0.1', 'localhost'), proxy_url: voice.proxy_url.replace('127.0.0.1', 'localhost') };
    const message = h.discord.userMessage({ content: '', dm: true, voice: true, attachments: [elsewhere] });
    await botMessagesIn(String(message['channel_id']), showing(REPLIES.fileUnavailable('voice note')));
    expect(h.discord.downloads).toEqual([]);
    expect(transcriptions()).toEqual([]);
  });

  it('in a server, ignores a voice message not addressed to it', async () => {
    await start();
    h.discord.userMessage({ content: '', voice: true, attachments: [voiceNote()] });
    // Messages of one channel are handled in order: once the marker is answered, the voice message was seen and skipped.
    h.discord.userMessage({ content: 'marker', mentionBot: true });
    const messages = await botMessagesIn(h.discord.channelId, showing('Echo: marker'));
    expect(messages.map((m) => m.content)).toEqual(['Echo: marker']);
    expect(h.discord.downloads).toEqual([]);
    expect(transcriptions()).toEqual([]);
  });

  it('with TRANSCRIBE_ALL_VOICE, transcribes every voice message in a server, answering only those addressed to it', async () => {
    await start({ TRANSCRIBE_ALL_VOICE: 'true' });
    const voice = h.discord.userMessage({ content: '', voice: true, attachments: [voiceNote()] });
    const [transcript] = await botMessagesIn(h.discord.channelId, showing(REPLIES.transcript(TRANSCRIPT)));
    expect(transcript!.message_reference).toEqual({ message_id: voice['id'] });
    h.discord.userMessage({ content: 'marker', mentionBot: true });
    const messages = await botMessagesIn(h.discord.channelId, showing('Echo: marker'));
    expect(messages.map((m) => m.content)).toEqual([REPLIES.transcript(TRANSCRIPT), 'Echo: marker']);
    expect(transcriptions()).toHaveLength(1);
  });
});

describe('discord /imagine', () => {
  it('delivers a PNG through the interaction, the revised prompt as its caption', async () => {
    await start();
    const imagine = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a red fox' } });
    const [picture] = await interactionMessages(imagine.token, (m) => m.attachments.length > 0);
    // The fake's revised prompt is the prompt.
    expect(picture!.content).toBe('a red fox');
    expect(picture!.attachments).toHaveLength(1);
    expect(picture!.attachments[0]).toMatchObject({ filename: 'image.png', content_type: 'image/png' });
    expect(picture!.attachments[0]!.bytes!.subarray(0, PNG_SIGNATURE.length)).toEqual(PNG_SIGNATURE);
    // Deferred at once, then the deferred response filled with the upload.
    const callbacks = h.discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback');
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]!.body).toMatchObject({ type: 5 });
    const [edit] = h.discord.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original');
    expect(edit!.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(edit!.body).toMatchObject({ attachments: [{ id: '0', filename: 'image.png' }], allowed_mentions: { parse: [] } });
    expect((h.openai.requestsTo('/images/generations')[0]!.body as { prompt: string }).prompt).toBe('a red fox');
  });

  it('delivers an image the endpoint answers with a URL', async () => {
    h.openai.imageFormat = 'url';
    await start();
    const imagine = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a lighthouse' } });
    const [picture] = await interactionMessages(imagine.token, (m) => m.attachments.length > 0);
    expect(picture!.content).toBe('a lighthouse');
    expect(picture!.attachments[0]!.bytes!.subarray(0, PNG_SIGNATURE.length)).toEqual(PNG_SIGNATURE);
  });

  it('stops at IMAGE_DAILY_LIMIT with the quota reply', async () => {
    await start({ IMAGE_DAILY_LIMIT: '1' });
    const first = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a red fox' } });
    await interactionMessages(first.token, (m) => m.attachments.length > 0);
    const second = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a blue fox' } });
    // The reply names the limit and when it resets; its first sentence does not depend on the time.
    const quotaSentence = REPLIES.imageQuota(1, 0, 0).split('. ')[0]!;
    const [reply] = await interactionMessages(second.token, (m) => m.content.startsWith(quotaSentence));
    expect(reply!.attachments).toEqual([]);
    expect(h.openai.requestsTo('/images/generations')).toHaveLength(1);
  });

  it('answers "@bot /image <prompt>" in a channel with the picture as a reply', async () => {
    await start();
    const request = h.discord.userMessage({ content: '/image a green fox', mentionBot: true });
    const [picture] = await botMessagesIn(h.discord.channelId, (messages) => messages.some((m) => m.attachments.length > 0));
    expect(picture).toMatchObject({ content: 'a green fox', message_reference: { message_id: request['id'] } });
    expect(picture!.attachments[0]!.bytes!.subarray(0, PNG_SIGNATURE.length)).toEqual(PNG_SIGNATURE);
    const [create] = h.discord.requestsTo('POST', '/channels/{channel_id}/messages');
    expect(create!.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(create!.body).toMatchObject({ allowed_mentions: { parse: [], replied_user: false }, message_reference: { message_id: request['id'] } });
  });

  it('explains a content-policy refusal', async () => {
    await start();
    const imagine = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'something FORBIDDEN' } });
    const [reply] = await interactionMessages(imagine.token, (m) => m.content === REPLIES.imageRefused);
    expect(reply!.attachments).toEqual([]);
  });
});

describe('discord pictures', () => {
  it('sends a picture that mentions the bot to the chat model as a data: URL image part', async () => {
    await start();
    const png = createPng(6, 6, [220, 90, 20]);
    const photo = h.discord.registerAttachment(png, { name: 'fox.png', contentType: 'image/png' });
    h.discord.userMessage({ content: 'what is in this picture?', mentionBot: true, attachments: [photo] });
    await botMessagesIn(h.discord.channelId, (messages) => messages.some((m) => m.content.startsWith('Echo:')));
    const parts = lastUserContent() as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(parts.find((p) => p.type === 'text')?.text).toBe('what is in this picture?');
    const image = parts.find((p) => p.type === 'image_url');
    expect(image?.image_url?.url.startsWith('data:image/')).toBe(true);
    expect(image!.image_url!.url).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(h.discord.downloads).toEqual([{ path: expect.stringMatching(/\/fox\.png$/), status: 200 }]);
  });
});
