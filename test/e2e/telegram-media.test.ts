/**
 * Voice notes, images and photos on Telegram, end to end through src/app.ts's wiring: the
 * fake Bot API hands out media updates and serves the files (getFile and the download
 * route), the workers transcribe, draw and look at them through the fake OpenAI, and the
 * answers come back to the fake Bot API, whose records are what a Telegram user would see.
 * Issue #5.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import { PNG_SIGNATURE } from '../fakes/png.js';
import { MAX_DOWNLOAD_BYTES } from '../fakes/telegram.js';
import { ann, bob, dm, forum, group, MENTION, successful, TOKEN, useTelegramHarness, WAIT_MS } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();
/** Given to every start, so the logs are checked for it too. */
const API_KEY = 'sk-test-MEDIA-secret-key';
const MB = 1024 * 1024;
const start = (env: Record<string, string> = {}) => h.start({ OPENAI_API_KEY: API_KEY, ...env });

afterAll(() => {
  // The token is in every file URL; neither it, nor the URL, nor the API key may reach a log.
  expect(h.logLines.filter((line) => line.includes(TOKEN) || line.includes(API_KEY) || line.includes('/file/bot'))).toEqual([]);
});

let files = 0;
/** A voice note Telegram would send: registered with the fake, `.oga` Ogg Opus; `size` as the update states it. */
function voiceNote(bytes: Buffer, options: { size?: number | null; served?: number } = {}): Record<string, unknown> {
  files += 1;
  const fileId = h.telegram.addFile(bytes, `voice/file_${files}.oga`, options.served === undefined ? {} : { size: options.served });
  const size = options.size === undefined ? bytes.length : options.size;
  return { voice: { file_id: fileId, file_unique_id: `uv${files}`, duration: 3, mime_type: 'audio/ogg', ...(size === null ? {} : { file_size: size }) } };
}

/** A few bytes that start like Ogg; the fake transcription endpoint reads any audio but "NOT AUDIO". */
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 7)]);
/** A JPEG's first bytes; Telegram's photos are always JPEG. */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40, 3), Buffer.from([0xff, 0xd9])]);

function messageIdOf(update: Record<string, unknown>): number {
  return (update['message'] as { message_id: number }).message_id;
}

function chatActions(): string[] {
  return h.telegram.callsTo('sendChatAction').map((c) => String(c.params['action']));
}

describe('telegram: voice notes', () => {
  it('transcribes a voice note in a private chat, shows the transcript, and answers it', async () => {
    h.openai.transcriptReply = () => 'what is the weather like';
    await start();
    const update = h.telegram.message({ chat: dm, from: ann, media: voiceNote(OGG) });

    const texts = await h.botTexts(dm, (t) => t.length === 2 && t[1] === 'Echo: what is the weather like');
    expect(texts[0]).toBe(REPLIES.transcript('what is the weather like'));
    // Both are replies to the voice note.
    const replies = successful(h.telegram.callsTo('sendMessage')).map((c) => (c.params['reply_parameters'] as { message_id: number }).message_id);
    expect(replies).toEqual([messageIdOf(update), messageIdOf(update)]);

    // The file went through getFile and the file route, then to the endpoint as .ogg, multipart.
    expect(h.telegram.downloads).toEqual([{ path: expect.stringMatching(/^voice\/file_\d+\.oga$/), tokenOk: true, status: 200 }]);
    const [transcription] = h.openai.requestsTo('/audio/transcriptions');
    expect(transcription?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const body = transcription?.body as { model: string; file: { filename: string; bytes: Buffer } };
    expect(body.model).toBe('whisper-1');
    expect(body.file.filename).toMatch(/\.ogg$/);
    expect(body.file.bytes.equals(OGG)).toBe(true);
    expect(h.askedAbout()).toEqual(['what is the weather like']);
    await expect.poll(chatActions, { timeout: WAIT_MS }).toContain('record_voice');
  });

  it('transcribes a round video note as MP4 with the transcription model configured', async () => {
    h.openai.transcriptReply = () => 'hello from a video';
    await start({ TRANSCRIBE_MODEL: 'gpt-4o-mini-transcribe' });
    const fileId = h.telegram.addFile(Buffer.from('....ftypisom video'), 'video_notes/file_9.mp4');
    h.telegram.message({ chat: dm, from: ann, media: { video_note: { file_id: fileId, file_unique_id: 'vn', length: 240, duration: 2, file_size: 18 } } });
    await h.botTexts(dm, (t) => t.length === 2 && t[1] === 'Echo: hello from a video');
    const body = h.openai.requestsTo('/audio/transcriptions')[0]?.body as { model: string; file: { filename: string } };
    expect(body).toMatchObject({ model: 'gpt-4o-mini-transcribe', file: { filename: 'video_note.mp4' } });
  });

  it('refuses a voice note over 20 MB in one sentence, without asking Telegram for the file', async () => {
    await start();
    const size = 21 * MB;
    h.telegram.message({ chat: dm, from: ann, media: voiceNote(OGG, { size, served: size }) });
    const texts = await h.botTexts(dm, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.fileTooLarge('voice note', size, 20 * MB)]);
    expect(h.telegram.callsTo('getFile')).toEqual([]);
    expect(h.telegram.downloads).toEqual([]);
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);
  });

  it('refuses a voice note whose size only getFile knows, when Telegram says it is too big', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, media: voiceNote(OGG, { size: null, served: MAX_DOWNLOAD_BYTES + 1 }) });
    const texts = await h.botTexts(dm, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.fileTooLarge('voice note', undefined, 20 * MB)]);
    expect(h.telegram.callsTo('getFile').map((c) => c.response.description)).toEqual(['Bad Request: file is too big']);
    expect(h.telegram.downloads).toEqual([]);
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);
  });

  it('tries a failed download again, and answers the voice note', async () => {
    h.openai.transcriptReply = () => 'second time lucky';
    await start({ JOB_ATTEMPTS: '2' });
    const fileId = h.telegram.addFile(OGG, 'voice/file_flaky.oga', { failDownloads: 1 });
    h.telegram.message({ chat: dm, from: ann, media: { voice: { file_id: fileId, file_unique_id: 'uf', duration: 1, mime_type: 'audio/ogg', file_size: OGG.length } } });
    const texts = await h.botTexts(dm, (t) => t[1] === 'Echo: second time lucky');
    expect(texts).toEqual([REPLIES.transcript('second time lucky'), 'Echo: second time lucky']);
    expect(h.telegram.downloads.map((d) => d.status)).toEqual([502, 200]);
  });

  it('says so when the file cannot be downloaded at all', async () => {
    await start({ JOB_ATTEMPTS: '1' });
    const fileId = h.telegram.addFile(OGG, 'voice/file_gone.oga', { failDownloads: 5 });
    h.telegram.message({ chat: dm, from: ann, media: { voice: { file_id: fileId, file_unique_id: 'ug', duration: 1, mime_type: 'audio/ogg' } } });
    expect(await h.botTexts(dm, (t) => t.length === 1)).toEqual([REPLIES.fileUnavailable('voice note')]);
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);
  });

  it('says so when the audio cannot be read, and does not answer it', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, media: voiceNote(Buffer.from('NOT AUDIO at all')) });
    const texts = await h.botTexts(dm, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.unreadableAudio]);
    expect(h.openai.requestsTo('/audio/transcriptions')).toHaveLength(1);
    expect(h.openai.requestsTo('/chat/completions')).toEqual([]);
  });

  it('in a group, ignores a voice note not addressed to the bot, but transcribes one that replies to it', async () => {
    h.openai.transcriptReply = () => 'a reply by voice';
    await start();
    h.telegram.message({ chat: group, from: ann, media: voiceNote(OGG) });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} hello` });
    await h.botTexts(group, (t) => t.length === 1 && t[0] === 'Echo: hello');
    // Updates are taken in order: the voice note before the mention was skipped at intake.
    expect(h.telegram.callsTo('getFile')).toEqual([]);
    expect(h.openai.requestsTo('/audio/transcriptions')).toEqual([]);

    const botMessage = h.telegram.botMessages(group.id)[0]!.message_id;
    h.telegram.message({ chat: group, from: ann, media: voiceNote(OGG), replyTo: botMessage });
    const texts = await h.botTexts(group, (t) => t[2] === 'Echo: a reply by voice');
    expect(texts.slice(1)).toEqual([REPLIES.transcript('a reply by voice'), 'Echo: a reply by voice']);
  });

  it('with TRANSCRIBE_ALL_VOICE, transcribes every voice note in a group, answering only those addressed to it', async () => {
    h.openai.transcriptReply = () => 'meeting moved to noon';
    await start({ TRANSCRIBE_ALL_VOICE: 'true' });
    h.telegram.message({ chat: group, from: ann, media: voiceNote(OGG) });
    await h.botTexts(group, (t) => t.length === 1);
    // Plain text in the group is still left alone.
    h.telegram.message({ chat: group, from: ann, text: 'see you all at noon then' });
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} thanks` });
    const texts = await h.botTexts(group, (t) => t[1] === 'Echo: thanks');
    expect(texts).toEqual([REPLIES.transcript('meeting moved to noon'), 'Echo: thanks']);
    expect(h.openai.requestsTo('/audio/transcriptions')).toHaveLength(1);
    expect(h.askedAbout()).toEqual(['thanks']);
  });
});

describe('telegram: /image', () => {
  it('draws the prompt and uploads a real PNG as a photo reply in the topic, captioned with the revised prompt', async () => {
    await start();
    const asked = h.telegram.message({ chat: forum, from: ann, text: '/image a red fox', threadId: 77 });
    const texts = await h.botTexts(forum, (t) => t.length === 1, 77);
    expect(texts).toEqual(['a red fox']);

    const [upload] = h.telegram.uploads;
    expect(upload).toMatchObject({ method: 'sendPhoto', chatId: forum.id, threadId: 77, replyTo: messageIdOf(asked), caption: 'a red fox', fileName: 'image.png' });
    expect(upload?.bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect((h.openai.requestsTo('/images/generations')[0]?.body as { prompt: string }).prompt).toBe('a red fox');
    await expect.poll(chatActions, { timeout: WAIT_MS }).toContain('upload_photo');
    expect(h.telegram.callsTo('sendChatAction').find((c) => c.params['action'] === 'upload_photo')?.params['message_thread_id']).toBe(77);
  });

  it('stops at IMAGE_DAILY_LIMIT with the quota reply', async () => {
    await start({ IMAGE_DAILY_LIMIT: '1' });
    const before = Date.now();
    h.telegram.message({ chat: dm, from: ann, text: '/image a lighthouse' });
    h.telegram.message({ chat: dm, from: ann, text: '/image another lighthouse' });
    const texts = await h.botTexts(dm, (t) => t.length === 2);
    const after = Date.now();
    expect(texts[0]).toBe('a lighthouse');
    const midnight = new Date(before).setUTCHours(24, 0, 0, 0);
    expect([REPLIES.imageQuota(1, midnight, before), REPLIES.imageQuota(1, midnight, after)]).toContain(texts[1]);
    expect(h.openai.requestsTo('/images/generations')).toHaveLength(1);
    expect(h.telegram.uploads).toHaveLength(1);
  });

  it('asks for a prompt when there is none', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, text: '/image' });
    expect(await h.botTexts(dm, (t) => t.length === 1)).toEqual([REPLIES.imageUsage]);
    expect(h.openai.requestsTo('/images/generations')).toEqual([]);
  });

  it('explains a prompt the image service refuses under its content policy', async () => {
    await start();
    h.telegram.message({ chat: dm, from: ann, text: '/image something FORBIDDEN' });
    expect(await h.botTexts(dm, (t) => t.length === 1)).toEqual([REPLIES.imageRefused]);
    expect(h.telegram.uploads).toEqual([]);
  });
});

describe('telegram: photos', () => {
  it('sends a captioned photo to the chat model as a data: URL of the photo’s bytes', async () => {
    await start();
    const fileId = h.telegram.addFile(JPEG, 'photos/file_5.jpg');
    const small = h.telegram.addFile(Buffer.from([0xff, 0xd8, 0xff]), 'photos/file_4.jpg');
    const photo = [
      { file_id: small, file_unique_id: 'ps', width: 90, height: 60, file_size: 3 },
      { file_id: fileId, file_unique_id: 'pl', width: 1280, height: 853, file_size: JPEG.length },
    ];
    h.telegram.message({ chat: dm, from: ann, caption: 'what is this?', media: { photo } });
    await h.botTexts(dm, (t) => t.length === 1 && t[0] === 'Echo: what is this?');

    const request = h.openai.requestsTo('/chat/completions')[0]?.body as { messages: Array<{ role: string; content: unknown }> };
    const content = request.messages.at(-1)?.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(content.find((part) => part.type === 'text')?.text).toBe('what is this?');
    const image = content.find((part) => part.type === 'image_url')?.image_url?.url ?? '';
    expect(image.startsWith('data:image/')).toBe(true);
    // The largest size, byte for byte.
    expect(image).toBe(`data:image/jpeg;base64,${JPEG.toString('base64')}`);
    expect(h.telegram.downloads.map((d) => d.path)).toEqual(['photos/file_5.jpg']);
  });

  it('in a group, looks at a photo whose caption mentions the bot', async () => {
    await start();
    const fileId = h.telegram.addFile(JPEG, 'photos/file_6.jpg');
    h.telegram.message({ chat: group, from: bob, caption: `${MENTION} rate my cat`, media: { photo: [{ file_id: fileId, file_unique_id: 'pc', width: 10, height: 10 }] } });
    await h.botTexts(group, (t) => t.length === 1 && t[0] === 'Echo: rate my cat');
    const content = (h.openai.requestsTo('/chat/completions')[0]?.body as { messages: Array<{ content: unknown }> }).messages.at(-1)?.content;
    expect(content).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'image_url' })]));
  });

  it('with CHAT_VISION=false, says the model cannot see images and answers the text alone', async () => {
    await start({ CHAT_VISION: 'false' });
    const fileId = h.telegram.addFile(JPEG, 'photos/file_7.jpg');
    h.telegram.message({ chat: dm, from: ann, caption: 'what is this?', media: { photo: [{ file_id: fileId, file_unique_id: 'pv', width: 10, height: 10 }] } });
    const texts = await h.botTexts(dm, (t) => t[1] === 'Echo: what is this?');
    expect(texts).toEqual([REPLIES.noVision, 'Echo: what is this?']);
    expect(h.askedAbout()).toEqual(['what is this?']);
    expect(h.telegram.callsTo('getFile')).toEqual([]);
  });
});
