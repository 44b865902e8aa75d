/**
 * Translation, picture edits and variations (issue #14) through the real client over HTTP
 * against the fake OpenAI server, which checks every request against the spec; and the
 * picture conversion that makes a user's picture into what those endpoints take.
 * See https://platform.openai.com/docs/api-reference/images/createEdit
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AiApiError } from '../../src/domain/errors.js';
import { UnreadablePictureError } from '../../src/domain/media.js';
import {
  createDemoPictureEditor,
  createDemoTranslator,
  createOpenAIClient,
  createOpenAIPictureEditor,
  createOpenAITranslator,
  DEMO_TRANSLATION,
  PICTURE_UPLOAD_MAX_BYTES,
  toEndpointPicture,
} from '../../src/infra/ai/index.js';
import type { Downloader } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI, type MultipartFile } from '../fakes/openai.js';
import { createPng, PNG_SIGNATURE } from '../fakes/png.js';

const KEY = 'sk-test-media-client-0a1b2c3d4e';
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(64, 3)]);

let fake: FakeOpenAI;
const clients: { close(): Promise<void> }[] = [];
const signal = new AbortController().signal;

function clientFor() {
  const delays: number[] = [];
  const client = createOpenAIClient({ baseUrl: fake.url, apiKey: KEY, sleep: async (ms) => void delays.push(ms) });
  clients.push(client);
  return { client, delays };
}

/** Downloads a `url` answer straight from the fake (the service uses the guarded downloader). */
const downloader: Downloader = {
  async download(url) {
    const res = await fetch(url);
    return { bytes: new Uint8Array(await res.arrayBuffer()), mimeType: res.headers.get('content-type') ?? undefined };
  },
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  fake = await createFakeOpenAI({ apiKey: KEY });
});
afterEach(async () => {
  expect(fake.violations).toEqual([]);
  fake.reset();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await fake.stop();
});

describe('translations', () => {
  it('sends the audio as multipart with its name and the model, and reads the English text', async () => {
    fake.translationReply = (file, fields) => `${String(fields['model'])} heard ${file.filename}`;
    const { client } = clientFor();
    const result = await client.createTranslation({ file: OGG, filename: 'voice.ogg', mimeType: 'audio/ogg', model: 'whisper-1' });
    expect(result).toEqual({ text: 'whisper-1 heard voice.ogg' });
    const [request] = fake.requestsTo('/audio/translations');
    expect(request!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(request!.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect((request!.body as { file: MultipartFile }).file).toMatchObject({ filename: 'voice.ogg', contentType: 'audio/ogg' });
    const text = await client.createTranslation({ file: OGG, filename: 'v.mp3', model: 'whisper-1', responseFormat: 'text' });
    expect(text.text.trim()).toBe('whisper-1 heard v.mp3');
  });

  it('retries a 503 with the whole upload again', async () => {
    fake.enqueueFault({ kind: 'status', status: 503, path: '/audio/translations' });
    const { client, delays } = clientFor();
    const translator = createOpenAITranslator({ client, model: 'whisper-1' });
    expect(await translator.translate({ bytes: OGG, fileName: 'voice.ogg', mimeType: 'audio/ogg' }, signal)).toBe('hello from the fake translation');
    expect(delays).toHaveLength(1);
    const bodies = fake.requestsTo('/audio/translations').map((r) => (r.body as { file: MultipartFile }).file.bytes);
    expect(bodies).toHaveLength(2);
    expect(bodies.every((bytes) => bytes.equals(OGG))).toBe(true);
  });

  it('says which parameter the endpoint refused', async () => {
    const { client } = clientFor();
    const error = await rejection(client.createTranslation({ file: OGG, filename: 'voice.ogg', model: 'gpt-4o-transcribe' }));
    expect(error).toBeInstanceOf(AiApiError);
    expect(error).toMatchObject({ status: 400, apiCode: 'invalid_value', apiParam: 'model' });
  });
});

describe('the picture conversion', () => {
  it('makes a square RGBA PNG of at most 1024 px, upright by its EXIF orientation, never scaled up', async () => {
    // 1600×900 stored, EXIF orientation 6 (turned a quarter): 900×1600 upright.
    const photo = await sharp({ create: { width: 1600, height: 900, channels: 3, background: '#c83c1e' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const upload = await toEndpointPicture(photo);
    expect(upload).toMatchObject({ filename: 'picture.png', mimeType: 'image/png' });
    const meta = await sharp(upload.bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 900, 900, 4]);
    const small = await sharp((await toEndpointPicture(createPng(30, 50))).bytes).metadata();
    expect([small.width, small.height]).toEqual([30, 30]);
  });

  it('keeps a picture full of detail under the 4 MB limit by drawing it smaller', async () => {
    // Random pixels, transparency included, do not compress: over 4 MB as a 1024 px PNG.
    const noise = await sharp(randomBytes(1024 * 1024 * 4), { raw: { width: 1024, height: 1024, channels: 4 } }).png().toBuffer();
    expect(noise.byteLength).toBeGreaterThan(PICTURE_UPLOAD_MAX_BYTES);
    const upload = await toEndpointPicture(noise);
    expect(upload.bytes.byteLength).toBeLessThanOrEqual(PICTURE_UPLOAD_MAX_BYTES);
    const meta = await sharp(upload.bytes).metadata();
    expect(meta.width).toBe(meta.height);
    expect(meta.width).toBeLessThan(1024);
  });

  it('refuses what is no picture, and a damaged one, with UnreadablePictureError', async () => {
    await expect(toEndpointPicture(Buffer.from('just some text'))).rejects.toBeInstanceOf(UnreadablePictureError);
    const damaged = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40, 3)]);
    await expect(toEndpointPicture(damaged)).rejects.toBeInstanceOf(UnreadablePictureError);
  });
});

describe('the PictureEditor on the fake', () => {
  it('edits with a GPT image model: the converted picture goes up, one picture comes back, no response_format', async () => {
    const { client } = clientFor();
    const editor = createOpenAIPictureEditor({ client, editModel: 'gpt-image-1', variationModel: 'dall-e-2', downloader });
    const photo = await sharp(createPng(40, 20, [200, 30, 30])).jpeg().toBuffer();
    const { image, revisedPrompt } = await editor.edit({ picture: { bytes: photo, mimeType: 'image/jpeg' }, prompt: 'add a hat', endUser: 'telegram:1' }, signal);
    expect(image.mimeType).toBe('image/png');
    expect(Buffer.from(image.bytes).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(revisedPrompt).toBeUndefined();
    const fields = fake.requestsTo('/images/edits')[0]!.body as Record<string, unknown>;
    expect(fields).toMatchObject({ model: 'gpt-image-1', prompt: 'add a hat', n: '1' });
    expect(fields['response_format']).toBeUndefined();
    // The end user goes as a hash, never as the platform id itself.
    expect(fields['user']).toMatch(/^[a-f0-9]{16,}$/);
    const sent = fields['image'] as MultipartFile;
    expect(sent).toMatchObject({ filename: 'picture.png', contentType: 'image/png' });
    const meta = await sharp(sent.bytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 20, 20, 4]);
  });

  it('edits with dall-e-2 too (its RGBA square PNG rule is met) and asks it for base64', async () => {
    const { client } = clientFor();
    const editor = createOpenAIPictureEditor({ client, editModel: 'dall-e-2', variationModel: 'dall-e-2', downloader });
    await editor.edit({ picture: { bytes: createPng(16, 24) }, prompt: 'a moon' }, signal);
    expect((fake.requestsTo('/images/edits')[0]!.body as Record<string, unknown>)['response_format']).toBe('b64_json');
  });

  it('draws variations with dall-e-2, asking for base64', async () => {
    const { client } = clientFor();
    const editor = createOpenAIPictureEditor({ client, editModel: 'gpt-image-1', variationModel: 'dall-e-2', downloader });
    const images = await editor.vary({ picture: { bytes: createPng(30, 30) }, count: 3 }, signal);
    expect(images).toHaveLength(3);
    expect(new Set(images.map((i) => Buffer.from(i.bytes).toString('base64'))).size).toBe(3);
    expect(fake.requestsTo('/images/variations')[0]!.body).toMatchObject({ model: 'dall-e-2', n: '3', response_format: 'b64_json' });
  });

  it('reads a url answer through the downloader', async () => {
    const { client } = clientFor();
    const answer = await client.createImageVariation({ image: { bytes: createPng(8, 8), filename: 'a.png', mimeType: 'image/png' }, model: 'dall-e-2', n: 1 });
    const url = answer.data[0]?.url ?? '';
    expect(url.startsWith(new URL(fake.url).origin)).toBe(true);
    const fetched = await downloader.download(url, { maxBytes: 1024 * 1024 });
    expect(Buffer.from(fetched.bytes).subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('passes the endpoint’s refusal of the model on, with its param', async () => {
    const { client } = clientFor();
    const editor = createOpenAIPictureEditor({ client, editModel: 'gpt-image-1', variationModel: 'gpt-image-1', downloader });
    const error = await rejection(editor.vary({ picture: { bytes: createPng(8, 8) }, count: 2 }, signal));
    expect(error).toMatchObject({ name: 'AiApiError', status: 400, apiParam: 'model' });
    expect(fake.requestsTo('/images/variations')).toHaveLength(1);
  });

  it('sends nothing for a picture it cannot read', async () => {
    const { client } = clientFor();
    const editor = createOpenAIPictureEditor({ client, editModel: 'gpt-image-1', variationModel: 'dall-e-2', downloader });
    await expect(editor.edit({ picture: { bytes: Buffer.from('not a picture') }, prompt: 'x' }, signal)).rejects.toBeInstanceOf(UnreadablePictureError);
    expect(fake.requestsTo('/images/edits')).toEqual([]);
  });
});

describe('the offline demo', () => {
  it('translates to a fixed sentence and draws the picture squared, and turned for variations', async () => {
    expect(await createDemoTranslator().translate({ bytes: OGG, fileName: 'a.ogg' }, signal)).toBe(DEMO_TRANSLATION);
    const editor = createDemoPictureEditor();
    const edited = await editor.edit({ picture: { bytes: createPng(10, 6) }, prompt: 'x' }, signal);
    expect((await sharp(edited.image.bytes).metadata()).width).toBe(6);
    const variations = await editor.vary({ picture: { bytes: createPng(10, 6) }, count: 2 }, signal);
    expect(variations).toHaveLength(2);
  });
});
