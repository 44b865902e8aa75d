/**
 * Tests of the fake OpenAI server itself, with plain fetch, so the project's own client is
 * tested against something already known to speak the protocol. Answers are also checked
 * against the spec's response schemas.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32, inflateSync } from 'node:zlib';
import { createFakeOpenAI, MODERATION_CATEGORIES, type FakeOpenAI, type MultipartFile } from '../fakes/openai.js';
import { loadOpenAISpec, validateJsonRequest, validateSchema } from '../fakes/openapi-validator.js';
import { PNG_SIGNATURE } from '../../src/infra/ai/png.js';

/** Upper bound for any single request in these tests. */
const REQUEST_TIMEOUT_MS = 5_000;

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there friend' }] };

let fake: FakeOpenAI;

beforeEach(async () => {
  fake = await createFakeOpenAI();
});

afterEach(async () => {
  await fake.stop();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

function postForm(form: FormData): Promise<Response> {
  return fetch(`${fake.url}/audio/transcriptions`, { method: 'POST', body: form, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/** The `data:` payloads of an SSE body, in order; fails on any other line. */
function sseData(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((event) => event !== '')
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      expect(event.includes('\n')).toBe(false);
      return event.slice('data: '.length);
    });
}

/** Reads a body until it ends or breaks; returns what arrived and the error, if any. */
async function readUntilBroken(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

interface ErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** Checks status, content type and the spec's ErrorResponse shape; returns `error`. */
async function expectOpenAIError(res: Response, status: number): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: ErrorBody };
  expect(validateSchema('ErrorResponse', body)).toEqual([]);
  return body.error;
}

describe('fake OpenAI: spec', () => {
  it('loads the spec and accepts nulls where the spec says nullable', () => {
    const { loadMs } = loadOpenAISpec();
    expect(loadMs).toBeGreaterThan(0);
    expect(validateJsonRequest('POST', '/chat/completions', { ...CHAT, temperature: null, max_completion_tokens: null })).toBeNull();
    expect(validateJsonRequest('POST', '/images/generations', { prompt: 'x', n: null, response_format: null })).toBeNull();
  });

  it('catches wrong types, unknown enum values and unknown parameters', () => {
    expect(validateJsonRequest('POST', '/chat/completions', { ...CHAT, temperature: 'hot' })).toMatchObject({
      param: 'temperature',
      code: 'invalid_type',
    });
    expect(validateJsonRequest('POST', '/chat/completions', { ...CHAT, messages: [{ role: 'bot', content: 'x' }] })).toMatchObject({
      param: 'messages.[0].role',
      code: 'invalid_value',
    });
    expect(validateJsonRequest('POST', '/images/generations', { prompt: 'x', response_format: 'gif' })).toMatchObject({
      param: 'response_format',
      code: 'invalid_value',
    });
    expect(validateJsonRequest('POST', '/moderations', { input: 'x', colour: 'red' })).toMatchObject({
      param: 'colour',
      code: 'unknown_parameter',
    });
  });
});

describe('fake OpenAI: chat completions', () => {
  it('answers a JSON completion in the spec shape and records the request headers', async () => {
    const res = await post('/chat/completions', CHAT, { 'openai-organization': 'org-test', 'user-agent': 'switchboard-test' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
    const body = (await res.json()) as {
      id: string;
      object: string;
      choices: Array<{ message: { role: string; content: string; refusal: null }; finish_reason: string }>;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    expect(validateSchema('CreateChatCompletionResponse', body)).toEqual([]);
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hello there friend', refusal: null });
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });

    const [recorded] = fake.requestsTo('/chat/completions');
    expect(recorded?.path).toBe('/v1/chat/completions');
    expect(recorded?.headers['openai-organization']).toBe('org-test');
    expect(recorded?.headers['user-agent']).toBe('switchboard-test');
    expect(recorded?.body).toEqual(CHAT);
    expect(fake.violations).toEqual([]);
  });

  it('streams role chunk, content deltas, finish chunk, usage chunk, then [DONE]', async () => {
    fake.chatReply = () => 'The quick brown fox jumps over';
    fake.streamChunkSize = 5;
    const res = await post('/chat/completions', { ...CHAT, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, any>);
    for (const chunk of chunks) expect(validateSchema('CreateChatCompletionStreamResponse', chunk)).toEqual([]);

    expect(chunks[0]?.choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const contentChunks = chunks.slice(1, -2);
    expect(contentChunks.map((c) => c.choices[0].delta.content)).toEqual(['The q', 'uick ', 'brown', ' fox ', 'jumps', ' over']);
    const finish = chunks.at(-2);
    expect(finish?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    const usage = chunks.at(-1);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage).toMatchObject({ completion_tokens: 6, total_tokens: expect.any(Number) });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('sends no usage chunk unless asked', async () => {
    const res = await post('/chat/completions', { ...CHAT, stream: true });
    const data = sseData(await res.text());
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, any>);
    expect(data.at(-1)).toBe('[DONE]');
    expect(chunks.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('Echo: hello there friend');
  });

  it('refuses a body without messages with 400 and records the violation', async () => {
    const error = await expectOpenAIError(await post('/chat/completions', { model: 'gpt-4o-mini' }), 400);
    expect(error).toMatchObject({ type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' });
    expect(error.message).toContain("'messages'");
    expect(fake.violations).toHaveLength(1);
    expect(fake.violations[0]).toContain('createChatCompletion');
    expect(fake.violations[0]).toContain('messages');
  });

  it('refuses a body that is not JSON', async () => {
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": ',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const error = await expectOpenAIError(res, 400);
    expect(error.message).toContain('could not parse the JSON body');
    expect(fake.violations).toHaveLength(1);
  });

  it('refuses stream_options without stream, as the API does', async () => {
    const error = await expectOpenAIError(await post('/chat/completions', { ...CHAT, stream_options: { include_usage: true } }), 400);
    expect(error.param).toBe('stream_options');
    expect(fake.violations).toHaveLength(1);
  });
});

describe('fake OpenAI: faults', () => {
  it('answers a 429 fault with retry headers and the rate-limit error, once', async () => {
    fake.enqueueFault({ kind: 'status', status: 429, retryAfter: '2', retryAfterMs: '1500', path: '/chat/completions' });
    const res = await post('/chat/completions', CHAT);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('retry-after-ms')).toBe('1500');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(res.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
    const error = await expectOpenAIError(res, 429);
    expect(error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });

    expect((await post('/chat/completions', CHAT)).status).toBe(200);
  });

  it('applies a fault only to its path, and `times` times', async () => {
    fake.enqueueFault({ kind: 'status', status: 500, path: '/moderations', times: 2 });
    expect((await post('/chat/completions', CHAT)).status).toBe(200);
    const first = await expectOpenAIError(await post('/moderations', { input: 'a' }), 500);
    expect(first).toMatchObject({ type: 'server_error', code: null });
    expect((await post('/moderations', { input: 'a' })).status).toBe(500);
    expect((await post('/moderations', { input: 'a' })).status).toBe(200);
  });

  it('cuts a stream after N content chunks without [DONE]', async () => {
    fake.chatReply = () => 'abcdefghijklmnopqrstuvwxyz';
    fake.streamChunkSize = 4;
    fake.enqueueFault({ kind: 'cut-stream', afterChunks: 2 });
    const res = await post('/chat/completions', { ...CHAT, stream: true });
    expect(res.status).toBe(200);
    const { text, error } = await readUntilBroken(res);
    expect(error).toBeInstanceOf(Error);
    expect(text).not.toContain('[DONE]');
    const contents = sseData(text).map((d) => (JSON.parse(d) as any).choices[0].delta.content);
    expect(contents).toEqual(['', 'abcd', 'efgh']);
  });

  it('sends a malformed body on demand', async () => {
    fake.enqueueFault({ kind: 'malformed' });
    const res = await post('/chat/completions', CHAT);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();

    fake.enqueueFault({ kind: 'malformed' });
    const stream = await post('/chat/completions', { ...CHAT, stream: true });
    const data = sseData(await stream.text());
    expect(data.some((d) => d !== '[DONE]' && !isJson(d))).toBe(true);
  });

  it('waits before answering on a slow fault', async () => {
    fake.enqueueFault({ kind: 'slow', delayMs: 200 });
    const started = performance.now();
    const res = await post('/chat/completions', CHAT);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('keeps a hung request open until stop() closes it', async () => {
    fake.enqueueFault({ kind: 'hang' });
    const pending = post('/chat/completions', CHAT).then(
      () => 'answered',
      (error: unknown) => error,
    );
    await waitFor(() => fake.requests.length === 1);
    await fake.stop();
    const outcome = await pending;
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).name)).not.toBe('TimeoutError');
  });

  it('survives a client that disconnects mid-stream', async () => {
    fake.chatReply = () => 'x'.repeat(500);
    fake.streamChunkSize = 1;
    fake.streamDelayMs = 20;
    const controller = new AbortController();
    const res = await fetch(`${fake.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...CHAT, stream: true }),
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).done).toBe(false);
    controller.abort();
    fake.streamDelayMs = 0;
    fake.chatReply = () => 'still here';
    const next = (await (await post('/chat/completions', CHAT)).json()) as any;
    expect(next.choices[0].message.content).toBe('still here');
  });

  it('clears requests, violations and faults on reset()', async () => {
    fake.enqueueFault({ kind: 'status', status: 500 });
    await post('/chat/completions', { model: 'x' });
    fake.chatReply = () => 'changed';
    fake.reset();
    expect(fake.requests).toEqual([]);
    expect(fake.violations).toEqual([]);
    const body = (await (await post('/chat/completions', CHAT)).json()) as any;
    expect(body.choices[0].message.content).toBe('Echo: hello there friend');
  });
});

describe('fake OpenAI: transcriptions', () => {
  function form(
    filename: string,
    bytes: Uint8Array<ArrayBuffer> | string = 'OggS fake opus',
    extra: Record<string, string> = { model: 'whisper-1' },
  ): FormData {
    const data = new FormData();
    data.append('file', new File([bytes], filename, { type: 'audio/ogg' }));
    for (const [name, value] of Object.entries(extra)) data.append(name, value);
    return data;
  }

  it('parses the multipart body and answers json', async () => {
    const res = await postForm(form('voice.ogg', 'OggS fake opus', { model: 'whisper-1', response_format: 'json', temperature: '0' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { text: string };
    expect(validateSchema('CreateTranscriptionResponseJson', body)).toEqual([]);
    expect(body.text).toBe('hello from the fake transcription');
    const recorded = fake.requestsTo('/audio/transcriptions')[0]?.body as Record<string, unknown>;
    const file = recorded['file'] as MultipartFile;
    expect(file).toMatchObject({ filename: 'voice.ogg', contentType: 'audio/ogg', size: 14 });
    expect(file.bytes.toString()).toBe('OggS fake opus');
    expect(recorded['model']).toBe('whisper-1');
    expect(fake.violations).toEqual([]);
  });

  it('accepts .ogg and refuses .oga like OpenAI, without calling it a violation', async () => {
    expect((await postForm(form('voice.ogg'))).status).toBe(200);
    const error = await expectOpenAIError(await postForm(form('voice.oga')), 400);
    expect(error.message).toMatch(/^Invalid file format\. Supported formats: \[.*'ogg'.*\]$/);
    expect(error.message).not.toContain("'oga'");
    expect(fake.violations).toEqual([]);
  });

  it('refuses a missing model and an unknown response_format as violations', async () => {
    const missing = await expectOpenAIError(await postForm(form('a.mp3', 'x', {})), 400);
    expect(missing).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
    const format = await expectOpenAIError(await postForm(form('a.mp3', 'x', { model: 'whisper-1', response_format: 'xml' })), 400);
    expect(format).toMatchObject({ param: 'response_format', code: 'invalid_value' });
    expect(fake.violations).toHaveLength(2);
  });

  it('answers corrupted audio and text format like OpenAI', async () => {
    const error = await expectOpenAIError(await postForm(form('a.wav', 'NOT AUDIO at all')), 400);
    expect(error).toEqual({
      message: 'Audio file might be corrupted or unsupported',
      type: 'invalid_request_error',
      param: 'file',
      code: 'invalid_value',
    });
    fake.transcriptReply = (file) => `heard ${file.filename}`;
    const text = await postForm(form('b.webm', 'x', { model: 'whisper-1', response_format: 'text' }));
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await text.text()).trim()).toBe('heard b.webm');
  });

  it('answers 413 past 25 MB', async () => {
    const error = await expectOpenAIError(await postForm(form('big.mp3', new Uint8Array(25 * 1024 * 1024 + 1))), 413);
    expect(error.message).toMatch(/^Maximum content size limit \(26214400\) exceeded/);
  });
});

describe('fake OpenAI: images', () => {
  it('returns a real PNG as b64_json by default', async () => {
    const res = await post('/images/generations', { model: 'gpt-image-1', prompt: 'a red fox', n: 2 });
    const body = (await res.json()) as { created: number; data: Array<{ b64_json: string; revised_prompt: string }> };
    expect(validateSchema('ImagesResponse', body)).toEqual([]);
    expect(body.data).toHaveLength(2);
    const png = Buffer.from(body.data[0]?.b64_json ?? '', 'base64');
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expectWellFormedPng(png);
  });

  it('serves the PNG at a URL when asked for url', async () => {
    const res = await post('/images/generations', { model: 'dall-e-3', prompt: 'a blue fox', response_format: 'url' });
    const body = (await res.json()) as { data: Array<{ url: string }> };
    const url = body.data[0]?.url ?? '';
    expect(url.startsWith(new URL(fake.url).origin)).toBe(true);
    const download = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await download.arrayBuffer());
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expectWellFormedPng(png);
  });

  it('refuses a forbidden prompt like the content policy does', async () => {
    const error = await expectOpenAIError(await post('/images/generations', { prompt: 'something FORBIDDEN' }), 400);
    expect(error).toMatchObject({ type: 'image_generation_user_error', code: 'content_policy_violation' });
  });
});

describe('fake OpenAI: moderations', () => {
  it('flags by rule, one result per input, with every category', async () => {
    fake.moderationRules = [
      { match: 'kill', category: 'violence', score: 0.9 },
      { match: /stupid/i, category: 'harassment', score: 0.3 },
    ];
    const res = await post('/moderations', { model: 'omni-moderation-latest', input: ['I will kill it', 'You are STUPID', 'nice day'] });
    const body = (await res.json()) as { id: string; results: Array<Record<string, any>> };
    expect(validateSchema('CreateModerationResponse', body)).toEqual([]);
    expect(body.id).toMatch(/^modr-/);
    expect(body.results).toHaveLength(3);
    for (const result of body.results) {
      expect(Object.keys(result['categories']).sort()).toEqual([...MODERATION_CATEGORIES].sort());
      expect(Object.keys(result['category_scores']).sort()).toEqual([...MODERATION_CATEGORIES].sort());
      expect(Object.keys(result['category_applied_input_types']).sort()).toEqual([...MODERATION_CATEGORIES].sort());
    }
    const [violent, rude, calm] = body.results;
    expect(violent).toMatchObject({ flagged: true, categories: { violence: true }, category_scores: { violence: 0.9 } });
    expect(rude).toMatchObject({ flagged: false, categories: { harassment: false }, category_scores: { harassment: 0.3 } });
    expect(calm?.['flagged']).toBe(false);
    expect(calm?.['category_scores']['hate']).toBeLessThan(0.01);
  });
});

describe('fake OpenAI: auth, models and routing', () => {
  it('requires the API key when one is set', async () => {
    await fake.stop();
    fake = await createFakeOpenAI({ apiKey: 'sk-test-123456789' });
    const missing = await expectOpenAIError(await post('/chat/completions', CHAT), 401);
    expect(missing.message).toContain("didn't provide an API key");
    const wrong = await expectOpenAIError(await post('/chat/completions', CHAT, { authorization: 'Bearer sk-wrong-000000' }), 401);
    expect(wrong).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
    expect(wrong.message).toMatch(/^Incorrect API key provided/);
    const ok = await post('/chat/completions', CHAT, { authorization: 'Bearer sk-test-123456789' });
    expect(ok.status).toBe(200);
    expect(fake.requests.map((r) => r.headers['authorization'])).toEqual([
      undefined,
      'Bearer sk-wrong-000000',
      'Bearer sk-test-123456789',
    ]);
  });

  it('lists models', async () => {
    const res = await fetch(`${fake.url}/models`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await res.json()) as { data: Array<{ id: string }> };
    expect(validateSchema('ListModelsResponse', body)).toEqual([]);
    expect(body.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(['gpt-4o-mini', 'whisper-1', 'gpt-image-1', 'omni-moderation-latest']),
    );
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const notFound = await expectOpenAIError(await post('/chat/completion', CHAT), 404);
    expect(notFound.message).toBe('Invalid URL (POST /v1/chat/completion)');
    const wrongMethod = await fetch(`${fake.url}/chat/completions`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    await expectOpenAIError(wrongMethod, 405);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = REQUEST_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Walks the chunks: CRCs match, IHDR first, IDAT inflates to the scanlines, IEND last. */
function expectWellFormedPng(png: Buffer): void {
  let offset = PNG_SIGNATURE.length;
  const types: string[] = [];
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    expect(crc).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(data);
    types.push(type);
    offset += 12 + length;
  }
  expect(types[0]).toBe('IHDR');
  expect(types.at(-1)).toBe('IEND');
  expect(width).toBeGreaterThan(0);
  expect(inflateSync(Buffer.concat(idat)).length).toBe(height * (1 + width * 3));
}
