/**
 * Voice translation, picture edits and variations on Discord (issue #14), end to end
 * through the real discord.js and the real wiring: slash commands with an attachment
 * option (`/translate audio:`, `/imagine prompt: image:`, `/vary image:`) and the message
 * context-menu commands "Translate" and "Vary" → queue → translate / picture worker →
 * fake OpenAI (spec-checked) → Discord Outbox (CDN downloads through the guarded
 * downloader, multipart uploads) → fake Discord, whose records are what a user sees.
 */
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { TRANSLATION_MAX_BYTES } from '../../src/domain/media.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { DiscordAttachmentObject, FakeMessage } from '../fakes/discord.js';
import { useDiscordHarness } from '../fakes/discord-harness.js';
import type { MultipartFile } from '../fakes/openai.js';
import { PNG_SIGNATURE } from '../fakes/png.js';

const BOT_TOKEN = 'test-token.discord-translate.x';
const API_KEY = 'sk-test-discord-translate-9876543210';
const TRANSLATION = 'the train leaves at nine';
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(1_500, 5)]);
const h = useDiscordHarness({
  token: BOT_TOKEN,
  apiKey: API_KEY,
  label: 'dct',
  env: (discord) => ({ DISCORD_CDN_HOSTS: discord.cdnHost }),
});
const start = (env: Record<string, string> = {}): Promise<RunningApp> => h.start(env);

afterAll(() => {
  // Attachment URLs are signed capabilities, and interaction tokens are in webhook URLs: neither reaches a log line.
  const output = h.logLines.join('');
  expect(output).not.toMatch(/[?&]hm=/);
  expect(output).not.toContain('itoken-');
});

/** A voice message's attachment on the fake CDN. */
const voiceNote = (): DiscordAttachmentObject => h.discord.registerAttachment(OGG, { name: 'voice-message.ogg', contentType: 'audio/ogg', voice: { durationSecs: 2.5 } });
/** A real PNG picture (60×40) on the fake CDN. */
async function picture(name = 'fox.png'): Promise<DiscordAttachmentObject> {
  const png = await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 220, g: 120, b: 20 } } }).png().toBuffer();
  return h.discord.registerAttachment(png, { name, contentType: 'image/png' });
}

/** The bot's messages for an interaction, once one satisfies `predicate`. */
async function interactionMessages(token: string, predicate: (message: FakeMessage) => boolean): Promise<FakeMessage[]> {
  await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: token }).some(predicate), 15_000);
  return h.discord.botMessages({ interactionToken: token });
}
const withPictures = (count: number) => (message: FakeMessage) => message.attachments.length === count;

describe('discord /translate and Translate', () => {
  it('translates the recording given to /translate audio:, quoted in the command’s reply', async () => {
    h.openai.translationReply = () => TRANSLATION;
    await start();
    const command = h.discord.slashCommand({ name: 'translate', attachments: { audio: voiceNote() } });
    const [reply] = await interactionMessages(command.token, (m) => m.content === REPLIES.translation(TRANSLATION));
    expect(reply!.attachments).toEqual([]);
    // Deferred at once ("thinking…"), then filled.
    expect(h.discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback')[0]!.body).toMatchObject({ type: 5 });
    expect(h.discord.downloads).toEqual([{ path: expect.stringMatching(/\/voice-message\.ogg$/), status: 200 }]);
    const fields = h.openai.requestsTo('/audio/translations')[0]!.body as { model: string; file: MultipartFile };
    expect(fields.model).toBe('whisper-1');
    expect(fields.file.filename).toBe('voice-message.ogg');
    expect(fields.file.bytes.equals(OGG)).toBe(true);
    expect(h.openai.requestsTo('/chat/completions')).toEqual([]);
  });

  it('translates a voice message from its "Translate" context-menu command', async () => {
    h.openai.translationReply = () => TRANSLATION;
    await start();
    const voice = h.discord.userMessage({ content: '', voice: true, attachments: [voiceNote()] });
    const command = h.discord.messageCommand({ name: 'Translate', target: voice });
    const [reply] = await interactionMessages(command.token, (m) => m.content.length > 0);
    expect(reply!.content).toBe(REPLIES.translation(TRANSLATION));
    expect(h.openai.requestsTo('/audio/translations')).toHaveLength(1);
    // The voice message itself, unaddressed, was not transcribed.
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);
  });

  it('refuses a recording over 25 MB without downloading it', async () => {
    await start();
    const size = 26 * 1024 * 1024;
    const big = h.discord.registerAttachment(Buffer.from('ID3 small file, big claim'), { name: 'talk.mp3', contentType: 'audio/mpeg', size });
    const command = h.discord.slashCommand({ name: 'translate', attachments: { audio: big } });
    const expected = REPLIES.fileTooLarge('audio file', size, TRANSLATION_MAX_BYTES);
    await interactionMessages(command.token, (m) => m.content === expected);
    expect(h.discord.downloads).toEqual([]);
    expect(h.openai.requestsTo('/audio/translations')).toEqual([]);
  });
});

describe('discord pictures', () => {
  it('edits the image given to /imagine prompt: image:, the prompt as the caption', async () => {
    await start();
    const command = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'give it a scarf' }, attachments: { image: await picture() } });
    const [edited] = await interactionMessages(command.token, withPictures(1));
    expect(edited!.content).toBe('give it a scarf');
    expect(edited!.attachments[0]).toMatchObject({ filename: 'image.png', content_type: 'image/png' });
    expect(edited!.attachments[0]!.bytes!.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const fields = h.openai.requestsTo('/images/edits')[0]!.body as { model: string; prompt: string; image: MultipartFile };
    expect(fields).toMatchObject({ model: 'gpt-image-1', prompt: 'give it a scarf' });
    const sent = await sharp(fields.image.bytes).metadata();
    expect([sent.width, sent.height, sent.channels]).toEqual([40, 40, 4]);
    expect(h.openai.requestsTo('/images/generations')).toEqual([]);
  });

  it('draws two variations from /vary image: and delivers them in one message', async () => {
    await start();
    const command = h.discord.slashCommand({ name: 'vary', attachments: { image: await picture() } });
    const messages = await interactionMessages(command.token, withPictures(2));
    expect(messages).toHaveLength(1);
    const [album] = messages;
    expect(album!.attachments.map((a) => a.content_type)).toEqual(['image/png', 'image/png']);
    expect(album!.attachments[0]!.bytes!.equals(album!.attachments[1]!.bytes!)).toBe(false);
    const [upload] = h.discord.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original');
    expect(upload!.files.map((f) => f.name)).toEqual(['files[0]', 'files[1]']);
    expect(upload!.body).toMatchObject({ attachments: [{ id: '0' }, { id: '1' }], allowed_mentions: { parse: [] } });
    expect(h.openai.requestsTo('/images/variations')[0]!.body).toMatchObject({ model: 'dall-e-2', n: '2' });
  });

  it('draws variations of a message’s picture from its "Vary" context-menu command', async () => {
    await start({ IMAGE_VARIATIONS: '3' });
    const message = h.discord.userMessage({ content: 'look at this', attachments: [await picture('cat.png')] });
    const command = h.discord.messageCommand({ name: 'Vary', target: message });
    await interactionMessages(command.token, withPictures(3));
    expect(h.discord.downloads).toEqual([{ path: expect.stringMatching(/\/cat\.png$/), status: 200 }]);
    expect(h.openai.requestsTo('/images/variations')[0]!.body).toMatchObject({ n: '3' });
  });

  it('counts every picture against IMAGE_DAILY_LIMIT, and says how to use Vary on a message without one', async () => {
    await start({ IMAGE_DAILY_LIMIT: '2' });
    const vary = h.discord.slashCommand({ name: 'vary', attachments: { image: await picture() } });
    await interactionMessages(vary.token, withPictures(2));
    const edit = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a hat' }, attachments: { image: await picture() } });
    const quota = REPLIES.imageQuota(2, 0, 0).split('. ')[0]!;
    const [refusal] = await interactionMessages(edit.token, (m) => m.content.startsWith(quota));
    expect(refusal!.attachments).toEqual([]);
    const text = h.discord.userMessage({ content: 'no picture here' });
    const usage = h.discord.messageCommand({ name: 'Vary', target: text });
    await interactionMessages(usage.token, (m) => m.content === REPLIES.varyUsage);
    expect(h.openai.requestsTo('/images/edits')).toEqual([]);
    expect(h.openai.requestsTo('/images/variations')).toHaveLength(1);
  });

  it('registered the commands Discord accepts, context-menu commands included', async () => {
    await start();
    const [put] = h.discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands');
    const names = (put!.body as Array<{ name: string; type: number }>).map((c) => `${c.type}:${c.name}`);
    expect(names).toEqual(expect.arrayContaining(['1:translate', '1:vary', '1:imagine', '3:Translate', '3:Vary']));
    expect(put!.status).toBe(200);
  });
});
