/**
 * Voice notes, photos and `/image` in the playground, over HTTP against the whole
 * service (real Redis, BullMQ, workers) and the fake OpenAI server: uploads are checked
 * (size, type) before anything is stored or queued, audio is transcribed and answered,
 * photos reach the chat model as `data:` image parts, drawn images are served back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WEB_ERROR_CODES, type WebMessage } from '../../adapters/web/index.js';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { DEMO_TRANSCRIPT } from '../../src/infra/ai/index.js';
import { TRANSCRIPTION_MAX_BYTES } from '../../src/domain/media.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { Logger } from '../../src/ports/index.js';
import { createFakeOpenAI, TRANSCRIPTION_EXTENSIONS, type FakeOpenAI, type MultipartFile } from '../fakes/openai.js';
import { createPng, PNG_SIGNATURE } from '../fakes/png.js';
import { finalAnswers, followChannel, postMessage, sendFile, uploadFile, type ChannelStream } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const TRANSCRIPT = 'please tell me about foxes';
/** What the fake treats as a file it cannot decode. */
const CORRUPT_AUDIO = Buffer.from('NOT AUDIO, just some bytes');
/** A chunk of the oversized bodies the tests stream. */
const CHUNK_BYTES = 1024 * 1024;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const channelName = () => `m-${randomBytes(4).toString('hex')}`;
/** Bytes that stand in for a recording: the fake reads only the file name and the first bytes. */
const audioBytes = () => Buffer.concat([Buffer.from('OggS'), randomBytes(2048)]);

type ErrorBody = { error: { code: string; message: string } };

/** A raw POST /api/uploads through node:http, so a test can stop sending once the answer is in. */
function rawUpload(
  baseUrl: string,
  options: { type: string; declaredBytes?: number; sendBytes: number },
): Promise<{ status: number; body: ErrorBody; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string | number> = { 'content-type': options.type };
    if (options.declaredBytes !== undefined) headers['content-length'] = options.declaredBytes;
    const req = request(`${baseUrl}/api/uploads?name=big.ogg`, { method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody, sent }));
      res.on('error', reject);
    });
    // The server may close while we still send; what counts is the answer it gave.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.flushHeaders();
    const chunk = Buffer.alloc(CHUNK_BYTES, 7);
    const pump = (): void => {
      while (!answered && sent < options.sendBytes) {
        const size = Math.min(CHUNK_BYTES, options.sendBytes - sent);
        sent += size;
        if (!req.write(size === CHUNK_BYTES ? chunk : chunk.subarray(0, size))) return void req.once('drain', pump);
      }
      if (!answered && options.declaredBytes === undefined) req.end();
    };
    pump();
  });
}

describe('playground voice notes, photos and images, whole service', () => {
  let fake: FakeOpenAI;
  let app: { url: string; stop(): Promise<void> };
  const streams: ChannelStream[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI({ transcript: TRANSCRIPT });
    const config = parseConfig({
      REDIS_URL: testRedisUrl(),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test-key',
      PORT: '0',
      QUEUE_PREFIX: uniquePrefix('webm'),
    });
    app = await startApp(config, { log: silent });
  });

  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });

  afterAll(async () => {
    await app?.stop();
    await fake?.stop();
  });

  const follow = async (channel: string): Promise<ChannelStream> => {
    const stream = await followChannel(app.url, channel);
    streams.push(stream);
    return stream;
  };
  const finalReplyTo = (id: string) => (messages: WebMessage[]) => messages.some((m) => m.role === 'assistant' && m.replyTo === id && m.final);

  it('transcribes a voice note, shows what it heard, and answers it', async () => {
    const channel = channelName();
    const stream = await follow(channel);
    const bytes = audioBytes();
    const uploaded = await uploadFile(app.url, { bytes, type: 'audio/webm;codecs=opus', name: 'recording.webm', voice: true });
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ kind: 'voice', mimeType: 'audio/webm', sizeBytes: bytes.length, fileName: 'recording.webm' });

    const id = randomUUID();
    const posted = await postMessage(app.url, channel, '', { id, attachment: { id: uploaded.body.id!, kind: 'voice' } });
    expect(posted).toEqual({ status: 202, body: { jobId: `web:${channel}:${id}`, duplicate: false } });

    const messages = await stream.waitFor((all) => finalAnswers(all).includes(`Echo: ${TRANSCRIPT}`));
    const mine = messages.find((m) => m.id === id);
    expect(mine).toMatchObject({ role: 'user', text: '', attachment: { kind: 'voice', mimeType: 'audio/webm', sizeBytes: bytes.length } });
    // Audio is not served back: the page that sent it plays its own copy.
    expect(mine?.attachment?.url).toBeUndefined();
    expect(finalAnswers(messages)).toEqual([REPLIES.transcript(TRANSCRIPT), `Echo: ${TRANSCRIPT}`]);
    expect(stream.activities).toContain('record_voice');

    const [transcription] = fake.requestsTo('/audio/transcriptions');
    const file = (transcription?.body as { file: MultipartFile }).file;
    const extension = /\.([a-z0-9]+)$/.exec(file.filename)?.[1] ?? '';
    expect(TRANSCRIPTION_EXTENSIONS).toContain(extension);
    expect(Buffer.compare(file.bytes, bytes)).toBe(0);
  });

  it('answers an audio file it cannot decode in plain words', async () => {
    const channel = channelName();
    const stream = await follow(channel);
    const id = await sendFile(app.url, channel, { bytes: CORRUPT_AUDIO, type: 'audio/mpeg', name: 'song.mp3' });
    const messages = await stream.waitFor(finalReplyTo(id));
    expect(messages.find((m) => m.id === id)?.attachment).toMatchObject({ kind: 'audio', fileName: 'song.mp3' });
    expect(finalAnswers(messages)).toEqual([REPLIES.unreadableAudio]);
  });

  it('refuses an upload over 25 MB with 413, from its Content-Length or while reading it, and nothing reaches the model', async () => {
    const before = fake.requests.length;
    const declared = await rawUpload(app.url, { type: 'audio/ogg', declaredBytes: 30 * CHUNK_BYTES, sendBytes: CHUNK_BYTES });
    expect(declared.status).toBe(413);
    expect(declared.body.error).toEqual({
      code: WEB_ERROR_CODES.FILE_TOO_LARGE,
      message: 'The file is 30 MB, more than the 25 MB the playground takes.',
    });
    const justOver = await rawUpload(app.url, { type: 'audio/ogg', declaredBytes: TRANSCRIPTION_MAX_BYTES + 1, sendBytes: 0 });
    expect(justOver.body.error.message).toBe('The file is too large: the playground takes files up to 25 MB.');

    // No Content-Length (chunked): counted as it arrives, refused once past the limit.
    const streamed = await rawUpload(app.url, { type: 'audio/ogg', sendBytes: TRANSCRIPTION_MAX_BYTES + 4 * CHUNK_BYTES });
    expect(streamed.status).toBe(413);
    expect(streamed.body.error).toEqual({
      code: WEB_ERROR_CODES.FILE_TOO_LARGE,
      message: 'The file is too large: the playground takes files up to 25 MB.',
    });
    expect(fake.requests.slice(before)).toEqual([]);
  });

  it('refuses files that are neither audio nor a picture with 415, and empty ones with 400', async () => {
    const cases: Array<{ type: string; status: number; code: string }> = [
      { type: 'application/zip', status: 415, code: WEB_ERROR_CODES.UNSUPPORTED_FILE_TYPE },
      { type: 'image/svg+xml', status: 415, code: WEB_ERROR_CODES.UNSUPPORTED_FILE_TYPE },
      { type: 'text/html', status: 415, code: WEB_ERROR_CODES.UNSUPPORTED_FILE_TYPE },
      { type: 'application/octet-stream', status: 415, code: WEB_ERROR_CODES.UNSUPPORTED_FILE_TYPE },
    ];
    for (const c of cases) {
      const res = await uploadFile(app.url, { bytes: Buffer.from('PK\x03\x04 zip bytes'), type: c.type, name: 'x.zip' });
      expect(res.status, c.type).toBe(c.status);
      expect(res.body.error?.code, c.type).toBe(c.code);
    }
    const zip = await uploadFile(app.url, { bytes: Buffer.from('PK'), type: 'application/zip', name: 'x.zip' });
    expect(zip.body.error?.message).toBe(
      'The playground takes voice notes, audio files and PNG, JPEG, WebP or GIF images, not a application/zip file.',
    );
    const empty = await uploadFile(app.url, { bytes: new Uint8Array(0), type: 'audio/ogg', name: 'x.ogg' });
    expect(empty.status).toBe(400);
    expect(empty.body.error?.code).toBe(WEB_ERROR_CODES.EMPTY_FILE);
    const wrongMethod = await fetch(`${app.url}/api/uploads`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('refuses a message whose attachment is malformed, unknown or of another kind, and enqueues nothing', async () => {
    const channel = channelName();
    const stream = await follow(channel);
    const photo = await uploadFile(app.url, { bytes: createPng(), type: 'image/png', name: 'p.png' });
    const cases: Array<{ name: string; attachment: unknown; status: number; code: string }> = [
      { name: 'not an upload id', attachment: { id: '../etc/passwd' }, status: 400, code: WEB_ERROR_CODES.INVALID_ATTACHMENT },
      { name: 'a bare string', attachment: photo.body.id, status: 400, code: WEB_ERROR_CODES.INVALID_ATTACHMENT },
      { name: 'unknown kind', attachment: { id: photo.body.id, kind: 'video' }, status: 400, code: WEB_ERROR_CODES.INVALID_ATTACHMENT },
      { name: 'kind of another file', attachment: { id: photo.body.id, kind: 'voice' }, status: 400, code: WEB_ERROR_CODES.INVALID_ATTACHMENT },
      { name: 'expired or unknown', attachment: { id: 'f'.repeat(32) }, status: 410, code: WEB_ERROR_CODES.UPLOAD_EXPIRED },
    ];
    for (const c of cases) {
      const res = await fetch(`${app.url}/api/channels/${channel}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: randomUUID(), text: 'look', attachment: c.attachment }),
      });
      expect(res.status, c.name).toBe(c.status);
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code, c.name).toBe(c.code);
      expect(body.error.message.length, c.name).toBeGreaterThan(20);
    }
    const blank = await postMessage(app.url, channel, '  ');
    expect(blank.body.error?.code).toBe(WEB_ERROR_CODES.EMPTY_TEXT);
    // A message that gets through is answered; none of the refused ones was.
    const ok = randomUUID();
    await postMessage(app.url, channel, 'still here', { id: ok });
    const messages = await stream.waitFor(finalReplyTo(ok));
    expect(messages.map((m) => m.text)).toEqual(['still here', 'Echo: still here']);
  });

  it('draws /image a red fox and serves the picture it sent, with the prompt as caption', async () => {
    const channel = channelName();
    const stream = await follow(channel);
    const id = randomUUID();
    await postMessage(app.url, channel, '/image a red fox', { id });
    const messages = await stream.waitFor(finalReplyTo(id), 20_000);
    const image = messages.find((m) => m.replyTo === id);
    expect(image).toMatchObject({ role: 'assistant', text: 'a red fox', attachment: { kind: 'image', mimeType: 'image/png' } });
    expect(stream.activities).toContain('upload_photo');

    const res = await fetch(`${app.url}${image?.attachment?.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBe(image?.attachment?.sizeBytes);
    expect(fake.requestsTo('/images/generations').map((r) => (r.body as { prompt: string }).prompt)).toContain('a red fox');

    const usage = randomUUID();
    await postMessage(app.url, channel, '/image', { id: usage });
    const after = await stream.waitFor(finalReplyTo(usage));
    expect(after.find((m) => m.replyTo === usage)?.text).toBe(REPLIES.imageUsage);
  });

  it('sends a photo with a caption to the model as an image_url data: part, and serves it back to the page', async () => {
    const channel = channelName();
    const stream = await follow(channel);
    const png = createPng(8, 8, [30, 160, 90]);
    const id = await sendFile(app.url, channel, { bytes: png, type: 'image/png', name: 'garden.png' }, 'what colour is this?');
    const messages = await stream.waitFor(finalReplyTo(id));
    const mine = messages.find((m) => m.id === id);
    expect(mine).toMatchObject({ text: 'what colour is this?', attachment: { kind: 'image', fileName: 'garden.png', sizeBytes: png.length } });

    const request = fake.requestsTo('/chat/completions').find((r) => JSON.stringify(r.body).includes('what colour is this?'));
    const last = (request?.body as { messages: Array<{ role: string; content: unknown }> }).messages.at(-1);
    expect(last?.role).toBe('user');
    const parts = last?.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(parts.find((p) => p.type === 'text')?.text).toContain('what colour is this?');
    const imagePart = parts.find((p) => p.type === 'image_url');
    expect(imagePart?.image_url?.url).toMatch(/^data:image\/png;base64,/);
    expect(Buffer.from(imagePart!.image_url!.url.split(',')[1]!, 'base64').equals(Buffer.from(png))).toBe(true);

    const served = await fetch(`${app.url}${mine?.attachment?.url}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
  });

  it('serves stored pictures only: not audio, not unknown ids', async () => {
    const audio = await uploadFile(app.url, { bytes: audioBytes(), type: 'audio/ogg', name: 'a.ogg' });
    for (const path of [`/api/files/${audio.body.id}`, `/api/files/${'0'.repeat(32)}`, '/api/files/..%2Fapp.js']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe(WEB_ERROR_CODES.FILE_NOT_FOUND);
    }
    const post = await fetch(`${app.url}/api/files/${audio.body.id}`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('has sent the model only requests that follow the spec', () => {
    expect(fake.violations).toEqual([]);
  });
});

describe('playground voice notes, photos and images with the offline demo model', () => {
  let app: { url: string; stop(): Promise<void> };
  const streams: ChannelStream[] = [];

  beforeAll(async () => {
    app = await startApp(parseConfig({ REDIS_URL: testRedisUrl(), PORT: '0', QUEUE_PREFIX: uniquePrefix('webd') }), { log: silent });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await app?.stop();
  });

  it('answers a photo, a voice note and /image without any AI service', async () => {
    const channel = `d-${randomBytes(4).toString('hex')}`;
    const stream = await followChannel(app.url, channel);
    streams.push(stream);
    const replyTo = (id: string) => (messages: WebMessage[]) => messages.some((m) => m.replyTo === id && m.final && m.role === 'assistant');

    const photo = await sendFile(app.url, channel, { bytes: createPng(), type: 'image/png', name: 'p.png' }, 'what is this?');
    const afterPhoto = await stream.waitFor(replyTo(photo));
    expect(afterPhoto.find((m) => m.replyTo === photo)?.text).toContain('I received an image');

    const voice = await sendFile(app.url, channel, { bytes: audioBytes(), type: 'audio/ogg', name: 'v.ogg', voice: true });
    const afterVoice = await stream.waitFor((all) => all.filter((m) => m.replyTo === voice && m.final).length === 2);
    expect(afterVoice.find((m) => m.replyTo === voice)?.text).toBe(REPLIES.transcript(DEMO_TRANSCRIPT));

    const image = randomUUID();
    await postMessage(app.url, channel, '/image a blue square', { id: image });
    const drawn = (await stream.waitFor(replyTo(image))).find((m) => m.replyTo === image);
    const res = await fetch(`${app.url}${drawn?.attachment?.url}`);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)).toBe(true);
  });
});
