/**
 * Voice translation, picture edits and variations on Telegram (issue #14), end to end
 * through src/app.ts's wiring: the fake Bot API hands out the updates and serves the
 * files, the translate and picture workers go through the fake OpenAI (which checks every
 * request against the spec), and what comes back to the fake Bot API is what a Telegram
 * user would see: the quoted translation, the edited photo with its caption, two
 * variations as one album (sendMediaGroup), and one sentence for each refusal.
 */
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import { PNG_SIGNATURE } from '../fakes/png.js';
import type { FakeChat } from '../fakes/telegram.js';
import { ann, bob, dm, group, successful, TOKEN, useTelegramHarness, WAIT_MS } from '../fakes/telegram-harness.js';
import { forbidInLogs } from '../support/logs.js';

const h = useTelegramHarness();
/** Given to every start, so the logs are checked for it too (here and run-wide). */
const API_KEY = 'sk-test-TRANSLATE-pictures-key';
forbidInLogs(API_KEY);
const MB = 1024 * 1024;
const start = (env: Record<string, string> = {}) => h.start({ OPENAI_API_KEY: API_KEY, ...env });

afterAll(() => {
  // The token is in every file URL; neither it, nor a file URL, nor the API key may reach a log.
  expect(h.logLines.filter((line) => line.includes(TOKEN) || line.includes(API_KEY) || line.includes('/file/bot'))).toEqual([]);
});

/** A few bytes that start like Ogg; the fake audio endpoints read any audio but "NOT AUDIO". */
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 7)]);
let files = 0;

/** A voice note Telegram would send, its file registered with the fake; `size` as the update states it. */
function voiceNote(options: { size?: number } = {}): Record<string, unknown> {
  files += 1;
  const size = options.size ?? OGG.length;
  const fileId = h.telegram.addFile(OGG, `voice/file_${files}.oga`, { size });
  return { voice: { file_id: fileId, file_unique_id: `tv${files}`, duration: 3, mime_type: 'audio/ogg', file_size: size } };
}

/** A photo Telegram would send: a real JPEG (64×48), in two sizes, the largest last. */
async function photo(options: { size?: number; bytes?: Buffer } = {}): Promise<Record<string, unknown>> {
  files += 1;
  const bytes = options.bytes ?? (await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 90, b: 200 } } }).jpeg().toBuffer());
  const size = options.size ?? bytes.length;
  const small = h.telegram.addFile(bytes, `photos/file_${files}_s.jpg`);
  const large = h.telegram.addFile(bytes, `photos/file_${files}.jpg`, { size });
  return {
    photo: [
      { file_id: small, file_unique_id: `ps${files}`, width: 32, height: 24, file_size: bytes.length },
      { file_id: large, file_unique_id: `pl${files}`, width: 64, height: 48, file_size: size },
    ],
  };
}

/** Posts a user's message (not for the bot, in a group) and returns its id, to reply to. */
function posted(chat: FakeChat, media: Record<string, unknown>): number {
  const update = h.telegram.message({ chat, from: ann, media });
  return (update['message'] as { message_id: number }).message_id;
}

const fieldsOf = (path: string, index = 0) => h.openai.requestsTo(path)[index]?.body as Record<string, unknown> & { image?: { filename: string; bytes: Buffer } };

describe('telegram: /translate', () => {
  it('translates a voice note it is a reply to, and quotes the English like a transcript', async () => {
    h.openai.translationReply = () => 'where is the station';
    await start();
    const note = posted(group, voiceNote());
    const command = h.telegram.message({ chat: group, from: bob, text: '/translate', replyTo: note });
    const texts = await h.botTexts(group, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.translation('where is the station')]);
    // A reply to the command, sent as HTML like any message.
    const [sent] = successful(h.telegram.callsTo('sendMessage'));
    expect((sent!.params['reply_parameters'] as { message_id: number }).message_id).toBe((command['message'] as { message_id: number }).message_id);

    // The voice note went through getFile and the file route, then to the translation endpoint as .ogg.
    expect(h.telegram.downloads).toEqual([{ path: expect.stringMatching(/^voice\/file_\d+\.oga$/), tokenOk: true, status: 200 }]);
    const fields = fieldsOf('/audio/translations') as { model: string; file: { filename: string; bytes: Buffer } };
    expect(fields.model).toBe('whisper-1');
    expect(fields.file.filename).toMatch(/\.ogg$/);
    expect(fields.file.bytes.equals(OGG)).toBe(true);
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);
    // Without TRANSLATE_THEN_ANSWER the translation is the whole answer.
    expect(h.openai.requestsTo('/chat/completions')).toEqual([]);
  });

  it('with TRANSLATE_THEN_ANSWER, translates an audio file whose caption is /translate, then answers it', async () => {
    h.openai.translationReply = () => 'good morning everyone';
    await start({ TRANSLATE_THEN_ANSWER: 'true', TRANSLATE_MODEL: 'whisper-1' });
    const fileId = h.telegram.addFile(OGG, 'music/file_1.mp3');
    h.telegram.message({ chat: dm, from: ann, caption: '/translate', media: { audio: { file_id: fileId, file_unique_id: 'au', duration: 4, mime_type: 'audio/mpeg', file_name: 'speech.mp3', file_size: OGG.length } } });
    const texts = await h.botTexts(dm, (t) => t.length === 2 && t[1] === 'Echo: good morning everyone');
    expect(texts[0]).toBe(REPLIES.translation('good morning everyone'));
    expect((fieldsOf('/audio/translations') as { file: { filename: string } }).file.filename).toBe('speech.mp3');
    expect(h.askedAbout()).toEqual(['good morning everyone']);
  });

  it('refuses a voice note over 20 MB before asking Telegram for it, and says how to use /translate without one', async () => {
    await start();
    const size = 21 * MB;
    const note = posted(group, voiceNote({ size }));
    h.telegram.message({ chat: group, from: bob, text: '/translate', replyTo: note });
    h.telegram.message({ chat: group, from: bob, text: '/translate' });
    const texts = await h.botTexts(group, (t) => t.length === 2);
    expect(texts).toEqual([REPLIES.fileTooLarge('voice note', size, 20 * MB), REPLIES.translateUsage]);
    expect(h.telegram.callsTo('getFile')).toEqual([]);
    expect(h.telegram.downloads).toEqual([]);
    expect(h.openai.requestsTo('/audio/translations')).toEqual([]);
  });
});

describe('telegram: pictures', () => {
  it('edits a photo whose caption is /image <prompt>, and replies with the picture captioned', async () => {
    await start();
    const update = h.telegram.message({ chat: group, from: ann, caption: '/image give it a red hat', media: await photo() });
    await expect.poll(() => h.telegram.uploads.length, { timeout: WAIT_MS }).toBe(1);
    const [upload] = h.telegram.uploads;
    expect(upload).toMatchObject({ method: 'sendPhoto', chatId: group.id, replyTo: (update['message'] as { message_id: number }).message_id, caption: 'give it a red hat' });
    expect(upload!.bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);

    // The largest size was downloaded, made a square RGBA PNG, and sent with the prompt.
    expect(h.telegram.downloads.map((d) => d.path)).toEqual([expect.stringMatching(/^photos\/file_\d+\.jpg$/)]);
    const fields = fieldsOf('/images/edits');
    expect(fields).toMatchObject({ model: 'gpt-image-1', prompt: 'give it a red hat', n: '1' });
    const sent = await sharp(fields.image!.bytes).metadata();
    expect([fields.image!.filename, sent.format, sent.width, sent.height, sent.channels]).toEqual(['picture.png', 'png', 48, 48, 4]);
    expect(h.openai.requestsTo('/images/generations')).toEqual([]);
    await expect.poll(() => h.telegram.callsTo('sendChatAction').map((c) => c.params['action']), { timeout: WAIT_MS }).toContain('upload_photo');
  });

  it('draws two variations of the photo /vary replies to, and sends them as one album', async () => {
    await start();
    const original = posted(group, await photo());
    const command = h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    await expect.poll(() => h.telegram.uploads.length, { timeout: WAIT_MS }).toBe(2);
    expect(h.telegram.callsTo('sendMediaGroup')).toHaveLength(1);
    expect(h.telegram.callsTo('sendPhoto')).toEqual([]);
    const album = h.telegram.botMessages(group.id);
    expect(album).toHaveLength(2);
    expect(new Set(album.map((m) => m['media_group_id'])).size).toBe(1);
    const commandId = (command['message'] as { message_id: number }).message_id;
    expect(h.telegram.uploads.map((u) => [u.method, u.replyTo])).toEqual([
      ['sendMediaGroup', commandId],
      ['sendMediaGroup', commandId],
    ]);
    expect(h.telegram.uploads[0]!.bytes.equals(h.telegram.uploads[1]!.bytes)).toBe(false);
    expect(fieldsOf('/images/variations')).toMatchObject({ model: 'dall-e-2', n: '2', response_format: 'b64_json' });
  });

  it('counts every picture drawn against IMAGE_DAILY_LIMIT: two, then the one left, then none', async () => {
    await start({ IMAGE_DAILY_LIMIT: '3' });
    const original = posted(group, await photo());
    h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    h.telegram.message({ chat: group, from: bob, caption: '/image make it night', media: await photo() });
    const quota = REPLIES.imageQuota(3, 0, 0).split('. ')[0]!;
    await h.botTexts(group, (t) => t.some((text) => text.startsWith(quota)));
    // Picture jobs of one chat run in order: an album of two, one photo, then the refusal.
    expect(h.openai.requestsTo('/images/variations').map((r) => (r.body as { n: string }).n)).toEqual(['2', '1']);
    expect(h.telegram.uploads.map((u) => u.method)).toEqual(['sendMediaGroup', 'sendMediaGroup', 'sendPhoto']);
    expect(h.openai.requestsTo('/images/edits')).toEqual([]);
  });

  it('gives a use back when nothing was delivered: a content-policy refusal costs nothing', async () => {
    await start({ IMAGE_DAILY_LIMIT: '1' });
    const original = posted(group, await photo());
    h.telegram.message({ chat: group, from: bob, text: '/image put a FORBIDDEN sign on it', replyTo: original });
    h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    await expect.poll(() => h.telegram.uploads.length, { timeout: WAIT_MS }).toBe(1);
    expect(await h.botTexts(group, (t) => t.length === 2)).toEqual([REPLIES.pictureRefused, '']);
    expect(h.openai.requestsTo('/images/edits')).toHaveLength(1);
    expect(fieldsOf('/images/variations')).toMatchObject({ n: '1' });
  });

  it('says in one sentence when the model cannot draw variations, and when the picture cannot be read', async () => {
    await start({ IMAGE_VARIATION_MODEL: 'gpt-image-1' });
    const original = posted(group, await photo());
    h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    const broken = posted(group, await photo({ bytes: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]) }));
    h.telegram.message({ chat: group, from: bob, text: '/image add a hat', replyTo: broken });
    const texts = await h.botTexts(group, (t) => t.length === 2);
    expect(texts).toEqual([REPLIES.pictureModelUnsupported('gpt-image-1', 'vary'), REPLIES.pictureNotTaken]);
    expect(h.openai.requestsTo('/images/variations')).toHaveLength(1);
    // The damaged photo never went upstream.
    expect(h.openai.requestsTo('/images/edits')).toEqual([]);
    expect(h.telegram.uploads).toEqual([]);
  });

  it('refuses a photo over 20 MB before asking Telegram for it', async () => {
    await start();
    const size = 21 * MB;
    const original = posted(group, await photo({ size }));
    h.telegram.message({ chat: group, from: bob, text: '/vary', replyTo: original });
    expect(await h.botTexts(group, (t) => t.length === 1)).toEqual([REPLIES.fileTooLarge('picture', size, 20 * MB)]);
    expect(h.telegram.callsTo('getFile')).toEqual([]);
    expect(h.openai.requestsTo('/images/variations')).toEqual([]);
  });
});
