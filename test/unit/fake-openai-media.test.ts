/**
 * Tests of the fake OpenAI's translation, image edit and image variation endpoints (issue
 * #14) with plain fetch and FormData: requests are checked against the spec (a violation
 * is recorded and answered 400), the file rules of each model are enforced with the API's
 * own 400s, and answers match the spec's response schemas.
 */
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { validateSchema } from '../fakes/openapi-validator.js';
import { createPng, PNG_SIGNATURE } from '../fakes/png.js';

/** Upper bound for any single request in these tests. */
const REQUEST_TIMEOUT_MS = 5_000;

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await createFakeOpenAI();
});
afterEach(async () => {
  await fake.stop();
});

type ErrorBody = { message: string; type: string; param: string | null; code: string | null };

/** A multipart form: text fields, and files as [name, bytes, type]. */
function form(fields: Record<string, string>, files: Array<[field: string, name: string, bytes: Uint8Array, type: string]>): FormData {
  const body = new FormData();
  for (const [field, name, bytes, type] of files) body.append(field, new Blob([new Uint8Array(bytes)], { type }), name);
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

function postForm(path: string, body: FormData): Promise<Response> {
  return fetch(`${fake.url}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function expectOpenAIError(res: Response, status: number): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: ErrorBody };
  expect(validateSchema('ErrorResponse', body)).toEqual([]);
  return body.error;
}

/** A square RGBA PNG, as dall-e-2 takes for an edit. */
const rgbaPng = (edge = 16): Promise<Buffer> =>
  sharp({ create: { width: edge, height: edge, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 1 } } }).png().toBuffer();
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(40, 1)]);

describe('fake OpenAI: translations', () => {
  it('answers the English text of an accepted file, as the spec says', async () => {
    fake.translationReply = (file) => `translated ${file.filename}`;
    const res = await postForm('/audio/translations', form({ model: 'whisper-1' }, [['file', 'voice.ogg', OGG, 'audio/ogg']]));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(validateSchema('CreateTranslationResponseJson', body)).toEqual([]);
    expect(body).toEqual({ text: 'translated voice.ogg' });
    const text = await postForm('/audio/translations', form({ model: 'whisper-1', response_format: 'text' }, [['file', 'voice.mp3', OGG, 'audio/mpeg']]));
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await text.text()).trim()).toBe('translated voice.mp3');
  });

  it("refuses what the API refuses: an unknown format, corrupted audio, a model other than whisper-1", async () => {
    const format = await expectOpenAIError(await postForm('/audio/translations', form({ model: 'whisper-1' }, [['file', 'voice.oga', OGG, 'audio/ogg']])), 400);
    expect(format.message).toMatch(/^Invalid file format\. Supported formats: \['flac'/);
    const corrupt = await expectOpenAIError(
      await postForm('/audio/translations', form({ model: 'whisper-1' }, [['file', 'a.wav', Buffer.from('NOT AUDIO'), 'audio/wav']])),
      400,
    );
    expect(corrupt).toMatchObject({ param: 'file', code: 'invalid_value' });
    const model = await expectOpenAIError(await postForm('/audio/translations', form({ model: 'gpt-4o-transcribe' }, [['file', 'a.mp3', OGG, 'audio/mpeg']])), 400);
    expect(model).toMatchObject({ param: 'model', code: 'invalid_value' });
    expect(fake.violations).toEqual([]);
  });

  it('records a request the spec refuses (no model, an unknown parameter) as a violation', async () => {
    const missing = await expectOpenAIError(await postForm('/audio/translations', form({}, [['file', 'a.mp3', OGG, 'audio/mpeg']])), 400);
    expect(missing).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
    // The translation endpoint takes no language (transcription's does).
    await expectOpenAIError(await postForm('/audio/translations', form({ model: 'whisper-1', language: 'de' }, [['file', 'a.mp3', OGG, 'audio/mpeg']])), 400);
    expect(fake.violations).toHaveLength(2);
    expect(fake.violations[1]).toMatch(/createTranslation/);
  });
});

describe('fake OpenAI: image edits', () => {
  it('edits with a GPT image model: base64 PNGs, a response that matches ImagesResponse', async () => {
    const res = await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'make it blue', n: '2' }, [['image', 'photo.png', createPng(20, 10), 'image/png']]));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ b64_json: string }> };
    expect(validateSchema('ImagesResponse', body)).toEqual([]);
    expect(body.data).toHaveLength(2);
    expect(Buffer.from(body.data[0]!.b64_json, 'base64').subarray(0, 8)).toEqual(PNG_SIGNATURE);
    // JPEG and WebP are fine for these models too.
    const jpeg = await sharp(createPng(10, 10)).jpeg().toBuffer();
    expect((await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'x' }, [['image', 'photo.jpg', jpeg, 'image/jpeg']]))).status).toBe(200);
  });

  it('holds dall-e-2 to a square RGBA PNG, and answers it with a URL unless asked for base64', async () => {
    const rgb = await expectOpenAIError(await postForm('/images/edits', form({ model: 'dall-e-2', prompt: 'x' }, [['image', 'a.png', createPng(16, 16), 'image/png']])), 400);
    expect(rgb).toEqual({
      message: "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.",
      type: 'invalid_request_error',
      param: 'image',
      code: 'invalid_image_format',
    });
    const oblong = await expectOpenAIError(await postForm('/images/edits', form({ model: 'dall-e-2', prompt: 'x' }, [['image', 'a.png', await sharp(await rgbaPng()).resize(16, 8).png().toBuffer(), 'image/png']])), 400);
    expect(oblong).toMatchObject({ param: 'image', message: expect.stringContaining('square') });
    const jpeg = await expectOpenAIError(
      await postForm('/images/edits', form({ model: 'dall-e-2', prompt: 'x' }, [['image', 'a.jpg', await sharp(createPng(8, 8)).jpeg().toBuffer(), 'image/jpeg']])),
      400,
    );
    expect(jpeg.message).toBe('Uploaded image must be a PNG and less than 4 MB.');

    const res = await postForm('/images/edits', form({ model: 'dall-e-2', prompt: 'a hat' }, [['image', 'a.png', await rgbaPng(), 'image/png']]));
    const url = ((await res.json()) as { data: Array<{ url: string }> }).data[0]!.url;
    const download = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(Buffer.from(await download.arrayBuffer()).subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('refuses a model the endpoint does not take, response_format for GPT image models, a non-image, and a forbidden prompt', async () => {
    const png = createPng(8, 8);
    const model = await expectOpenAIError(await postForm('/images/edits', form({ model: 'dall-e-3', prompt: 'x' }, [['image', 'a.png', png, 'image/png']])), 400);
    expect(model).toMatchObject({ param: 'model', code: 'invalid_value' });
    const format = await expectOpenAIError(
      await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'x', response_format: 'b64_json' }, [['image', 'a.png', png, 'image/png']])),
      400,
    );
    expect(format).toMatchObject({ param: 'response_format', code: 'unknown_parameter' });
    const text = await expectOpenAIError(await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'x' }, [['image', 'a.png', Buffer.from('hello'), 'image/png']])), 400);
    expect(text).toMatchObject({ param: 'image', code: 'invalid_image_file' });
    const refused = await expectOpenAIError(await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'a FORBIDDEN hat' }, [['image', 'a.png', png, 'image/png']])), 400);
    expect(refused).toMatchObject({ type: 'image_generation_user_error', code: 'moderation_blocked' });
    expect(fake.violations).toEqual([]);
  });

  it('records an edit without a prompt or a picture, or of more than ten, as a spec violation', async () => {
    const png = createPng(8, 8);
    const missing = await expectOpenAIError(await postForm('/images/edits', form({ model: 'gpt-image-1' }, [['image', 'a.png', png, 'image/png']])), 400);
    expect(missing).toMatchObject({ param: 'prompt', code: 'missing_required_parameter' });
    const none = await expectOpenAIError(await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'x' }, [])), 400);
    expect(none).toMatchObject({ code: 'missing_required_parameter' });
    await expectOpenAIError(await postForm('/images/edits', form({ model: 'gpt-image-1', prompt: 'x', n: '11' }, [['image', 'a.png', png, 'image/png']])), 400);
    expect(fake.violations).toHaveLength(3);
    expect(fake.violations.every((line) => line.includes('createImageEdit'))).toBe(true);
  });
});

describe('fake OpenAI: image variations', () => {
  it('draws n different variations of a square PNG with dall-e-2', async () => {
    const res = await postForm('/images/variations', form({ model: 'dall-e-2', n: '2', response_format: 'b64_json' }, [['image', 'a.png', createPng(12, 12), 'image/png']]));
    const body = (await res.json()) as { data: Array<{ b64_json: string }> };
    expect(validateSchema('ImagesResponse', body)).toEqual([]);
    expect(body.data).toHaveLength(2);
    expect(body.data[0]!.b64_json).not.toBe(body.data[1]!.b64_json);
  });

  it('takes dall-e-2 only, and a square PNG under 4 MB only', async () => {
    const model = await expectOpenAIError(await postForm('/images/variations', form({ model: 'gpt-image-1' }, [['image', 'a.png', createPng(8, 8), 'image/png']])), 400);
    expect(model).toEqual({ message: "Invalid value: 'gpt-image-1'. Supported values are: 'dall-e-2'.", type: 'invalid_request_error', param: 'model', code: 'invalid_value' });
    const oblong = await expectOpenAIError(await postForm('/images/variations', form({ model: 'dall-e-2' }, [['image', 'a.png', createPng(8, 4), 'image/png']])), 400);
    expect(oblong.param).toBe('image');
    const webp = await sharp(createPng(8, 8)).webp().toBuffer();
    const notPng = await expectOpenAIError(await postForm('/images/variations', form({ model: 'dall-e-2' }, [['image', 'a.webp', webp, 'image/webp']])), 400);
    expect(notPng.message).toBe('Uploaded image must be a PNG and less than 4 MB.');
    expect(fake.violations).toEqual([]);
    // More than ten is the spec's business.
    await expectOpenAIError(await postForm('/images/variations', form({ model: 'dall-e-2', n: '11' }, [['image', 'a.png', createPng(8, 8), 'image/png']])), 400);
    expect(fake.violations).toHaveLength(1);
  });
});
