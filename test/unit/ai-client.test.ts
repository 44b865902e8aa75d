/**
 * The OpenAI-compatible client and ChatModel over real HTTP, against the fake OpenAI
 * server (test/fakes/openai.ts), which checks every request against the spec.
 * See https://platform.openai.com/docs/api-reference
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatStreamEvent } from '../../src/domain/chat.js';
import { AiApiError, AiNetworkError, AiStreamError, AiTimeoutError } from '../../src/domain/errors.js';
import { createOpenAIChatModel, createOpenAIClient, hashEndUser, type OpenAIClientOptions } from '../../src/infra/ai/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';

const KEY = 'sk-test-4f7c2a9e1b3d5c8f0a6e2d4b';
const PARAMS = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] } as const;

let fake: FakeOpenAI;
const clients: { close(): Promise<void> }[] = [];

/** A client on the fake that records retry delays instead of sleeping. */
function clientFor(options: Partial<OpenAIClientOptions> = {}) {
  const delays: number[] = [];
  const client = createOpenAIClient({
    baseUrl: fake.url,
    apiKey: KEY,
    sleep: async (ms) => void delays.push(ms),
    ...options,
  });
  clients.push(client);
  return { client, delays };
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

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

describe('createOpenAIClient against the fake', () => {
  it('creates a chat completion with bearer auth, organization, JSON and a user agent', async () => {
    const { client } = clientFor({ organization: 'org-switchboard', userAgent: 'switchboard-test/1' });
    const completion = await client.createChatCompletion(PARAMS);
    expect(completion.choices[0]?.message.content).toBe('Echo: hello there');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    const [request] = fake.requestsTo('/chat/completions');
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'openai-organization': 'org-switchboard',
      'content-type': 'application/json',
      'user-agent': 'switchboard-test/1',
    });
    expect(request?.body).toMatchObject({ stream: false });
  });

  it('sends no Authorization header without a key', async () => {
    const open = await createFakeOpenAI();
    try {
      const client = createOpenAIClient({ baseUrl: open.url });
      clients.push(client);
      const models = await client.listModels();
      expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
      expect(open.requests[0]?.headers).not.toHaveProperty('authorization');
      expect(open.requests[0]?.headers['user-agent']).toMatch(/^switchboard\//);
      expect(open.violations).toEqual([]);
    } finally {
      await open.stop();
    }
  });

  it('streams chunks with include_usage and ends at [DONE]', async () => {
    const { client } = clientFor();
    fake.streamChunkSize = 3;
    const chunks = await collect(client.streamChatCompletion(PARAMS));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo: hello there');
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0]?.headers.accept).toBe('text/event-stream');
  });

  it('retries a 429 once after retry-after-ms, then succeeds', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'status', status: 429, retryAfterMs: '1234', retryAfter: '30' });
    const completion = await client.createChatCompletion(PARAMS);
    expect(completion.choices[0]?.message.content).toBe('Echo: hello there');
    expect(delays).toEqual([1234]);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('honours retry-after in seconds, for a stream too', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'status', status: 503, retryAfter: '2' });
    const chunks = await collect(client.streamChatCompletion(PARAMS));
    expect(chunks.length).toBeGreaterThan(0);
    expect(delays).toEqual([2000]);
  });

  it('gives up on 500 after maxRetries with AiApiError 500, backing off with jitter', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'status', status: 500, times: 3 });
    const error = await rejection(client.createChatCompletion(PARAMS));
    expect(error).toBeInstanceOf(AiApiError);
    expect(error).toMatchObject({ status: 500, apiType: 'server_error', retryable: true });
    expect((error as Error).message).toContain('The server had an error');
    expect(fake.requestsTo('/chat/completions')).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(375);
    expect(delays[0]).toBeLessThanOrEqual(500);
    expect(delays[1]).toBeGreaterThanOrEqual(750);
    expect(delays[1]).toBeLessThanOrEqual(1000);
  });

  it('does not retry a 400 and carries the code, type and retry-after', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'status', status: 400, code: 'context_length_exceeded', type: 'invalid_request_error', message: 'Too long.', retryAfter: '7' });
    const error = await rejection(client.createChatCompletion(PARAMS));
    expect(error).toBeInstanceOf(AiApiError);
    expect(error).toMatchObject({ status: 400, apiCode: 'context_length_exceeded', apiType: 'invalid_request_error', retryAfterMs: 7000 });
    expect(delays).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('times out a hung request with AiTimeoutError, retrying it first', async () => {
    const { client, delays } = clientFor({ timeoutMs: 150, maxRetries: 1 });
    fake.enqueueFault({ kind: 'hang', times: 2 });
    const error = await rejection(client.listModels());
    expect(error).toBeInstanceOf(AiTimeoutError);
    expect(delays).toHaveLength(1);
    expect(fake.requestsTo('/models')).toHaveLength(2);
  });

  it('treats timeoutMs as idle time between stream chunks, and never retries a started stream', async () => {
    const { client } = clientFor({ timeoutMs: 500 });
    fake.streamDelayMs = 50;
    fake.streamChunkSize = 2;
    expect((await collect(client.streamChatCompletion(PARAMS))).length).toBeGreaterThan(8);
    fake.reset();
    fake.streamDelayMs = 2_000;
    const received: unknown[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of client.streamChatCompletion(PARAMS)) received.push(chunk);
      })(),
    );
    expect(error).toBeInstanceOf(AiTimeoutError);
    expect(received).toHaveLength(1);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('turns a cut stream into AiStreamError after the chunks that arrived, without retrying', async () => {
    const { client, delays } = clientFor();
    fake.streamChunkSize = 2;
    fake.enqueueFault({ kind: 'cut-stream', afterChunks: 3 });
    const received: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of client.streamChatCompletion(PARAMS)) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(error).toBeInstanceOf(AiStreamError);
    expect(received.join('')).toBe('Echo: ');
    expect(delays).toEqual([]);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('retries a JSON answer whose body was cut, since nothing reached the caller yet', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'cut-stream', afterChunks: 0 });
    const completion = await client.createChatCompletion(PARAMS);
    expect(completion.choices[0]?.message.content).toBe('Echo: hello there');
    expect(delays).toHaveLength(1);
    expect(fake.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('reports malformed bodies: AiStreamError in a stream, AiApiError for JSON', async () => {
    const { client } = clientFor();
    fake.enqueueFault({ kind: 'malformed' });
    expect(await rejection(collect(client.streamChatCompletion(PARAMS)))).toBeInstanceOf(AiStreamError);
    fake.enqueueFault({ kind: 'malformed' });
    const error = await rejection(client.createModeration({ input: 'hi' }));
    expect(error).toBeInstanceOf(AiApiError);
    expect((error as Error).message).toContain('not valid JSON');
    expect(fake.requests).toHaveLength(2);
  });

  it('sends a transcription as multipart with filename and model', async () => {
    const { client } = clientFor();
    const audio = Buffer.from('OggS fake audio bytes');
    const result = await client.createTranscription({ file: audio, filename: 'voice.ogg', mimeType: 'audio/ogg', model: 'whisper-1', language: 'en', prompt: 'Switchboard' });
    expect(result).toEqual({ text: 'hello from the fake transcription' });
    const body = fake.requestsTo('/audio/transcriptions')[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'whisper-1', language: 'en', prompt: 'Switchboard' });
    expect(body.file).toMatchObject({ filename: 'voice.ogg', contentType: 'audio/ogg', size: audio.length });
    expect(fake.requests[0]?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('reads text and verbose_json transcriptions, and retries a multipart upload', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'status', status: 502 });
    const file = new Blob([Buffer.from('RIFF wav')], { type: 'audio/wav' });
    expect(await client.createTranscription({ file, filename: 'a.wav', model: 'whisper-1', responseFormat: 'text' })).toEqual({
      text: 'hello from the fake transcription\n',
    });
    expect(delays).toHaveLength(1);
    const verbose = await client.createTranscription({ file, filename: 'a.wav', model: 'whisper-1', responseFormat: 'verbose_json' });
    expect(verbose).toMatchObject({ text: 'hello from the fake transcription', language: 'english' });
    expect(verbose.duration).toBeGreaterThan(0);
    const uploads = fake.requestsTo('/audio/transcriptions').map((r) => (r.body as { file: { size: number } }).file.size);
    expect(uploads).toEqual([8, 8, 8]);
  });

  it('generates images as base64 and as URLs', async () => {
    const { client } = clientFor();
    const b64 = await client.createImage({ prompt: 'a red fox', model: 'gpt-image-1', size: '1024x1024', user: hashEndUser('u1') });
    expect(Buffer.from(b64.data[0]?.b64_json ?? '', 'base64').subarray(1, 4).toString()).toBe('PNG');
    const url = await client.createImage({ prompt: 'a red fox', model: 'dall-e-3', n: 1, responseFormat: 'url' });
    expect(url.created).toBeGreaterThan(0);
    expect(url.data[0]?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/.+\.png$/);
    expect(url.data[0]?.revised_prompt).toBe('a red fox');
    expect(fake.requests[1]?.body).toEqual({ prompt: 'a red fox', model: 'dall-e-3', n: 1, response_format: 'url' });
  });

  it('moderates inputs', async () => {
    const { client } = clientFor();
    fake.moderationRules = [{ match: 'hurt', category: 'violence', score: 0.9 }];
    const result = await client.createModeration({ input: ['I will hurt you', 'nice weather'], model: 'omni-moderation-latest' });
    expect(result.model).toBe('omni-moderation-latest');
    expect(result.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(result.results[0]?.categories.violence).toBe(true);
    expect(result.results[0]?.category_scores.violence).toBe(0.9);
  });

  it('rejects with the caller’s abort reason and does not retry', async () => {
    const { client, delays } = clientFor();
    fake.enqueueFault({ kind: 'hang' });
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 50);
    expect(await rejection(client.listModels({ signal: controller.signal }))).toBe(reason);
    expect(delays).toEqual([]);
  });
});

describe('createOpenAIChatModel against the fake', () => {
  it('maps a ChatRequest to the body and chunks to delta and finish events', async () => {
    const { client } = clientFor();
    const model = createOpenAIChatModel({ client, model: 'gpt-4o-mini' });
    expect(model.info).toEqual({ model: 'gpt-4o-mini', demo: false });
    fake.chatReply = () => 'one two three four five';
    const events: ChatStreamEvent[] = await collect(
      model.streamChat(
        {
          model: '',
          maxTokens: 3,
          endUser: 'telegram:12345',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'hi', name: 'José Pérez' },
            { role: 'assistant', content: 'hello', name: 'Switchboard Bot' },
            { role: 'user', content: 'count', name: '李雷' },
          ],
        },
        new AbortController().signal,
      ),
    );
    const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text).toBe('one two three');
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'length', usage: { promptTokens: expect.any(Number), completionTokens: 3, totalTokens: expect.any(Number) } });
    const body = fake.requests[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'gpt-4o-mini', max_completion_tokens: 3, stream: true });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi', name: 'Jose_Perez' },
      { role: 'assistant', content: 'hello', name: 'Switchboard_Bot' },
      { role: 'user', content: 'count' },
    ]);
    expect(body.user).toMatch(/^[0-9a-f]{32}$/);
    expect(body.user).toBe(hashEndUser('telegram:12345'));
    expect(JSON.stringify(fake.requests[0])).not.toContain('12345');
  });
});

describe('createOpenAIChatModel with reasoning models', () => {
  const THINKING = 'The user greets me. <b>tags</b> inside thinking stay thinking; I should greet back.';
  const ask = (model: ReturnType<typeof createOpenAIChatModel>, request: Partial<Parameters<typeof model.streamChat>[0]> = {}) =>
    collect(model.streamChat({ model: '', messages: [{ role: 'user', content: 'hi' }], ...request }, new AbortController().signal));
  const split = (events: ChatStreamEvent[]) => ({
    answer: events.map((e) => (e.type === 'delta' ? e.text : '')).join(''),
    reasoning: events.map((e) => (e.type === 'reasoning' ? e.text : '')).join(''),
  });

  it('takes <think>…</think> out of the answer, however the tags are cut across chunks', async () => {
    const { client } = clientFor();
    const model = createOpenAIChatModel({ client, model: 'deepseek-r1' });
    fake.chatReply = () => 'Hello! Nice to meet you.';
    fake.chatReasoning = () => THINKING;
    for (const size of [1, 2, 3, 5, 8, 13]) {
      fake.streamChunkSize = size;
      const { answer, reasoning } = split(await ask(model));
      expect(answer, `chunks of ${size}`).toBe('Hello! Nice to meet you.');
      expect(reasoning.trim(), `chunks of ${size}`).toBe(THINKING);
    }
  });

  it('reads reasoning_content deltas as thinking, apart from the answer', async () => {
    const { client } = clientFor();
    const model = createOpenAIChatModel({ client, model: 'deepseek-reasoner' });
    fake.chatReply = () => 'Hello!';
    fake.chatReasoning = () => THINKING;
    fake.reasoningStyle = 'reasoning_content';
    const events = await ask(model);
    expect(split(events)).toEqual({ answer: 'Hello!', reasoning: THINKING });
    // Thinking comes before the answer's first word.
    expect(events.findIndex((e) => e.type === 'reasoning')).toBeLessThan(events.findIndex((e) => e.type === 'delta'));
  });

  it('sends reasoning_effort to reasoning models only, and drops it for a model that refuses it', async () => {
    const { client } = clientFor();
    const model = createOpenAIChatModel({ client, model: 'gpt-4o-mini' });
    const effortOf = (index: number) => (fake.requestsTo('/chat/completions')[index]?.body as Record<string, unknown>)['reasoning_effort'];
    await ask(model, { model: 'o4-mini', reasoningEffort: 'high' });
    expect(effortOf(0)).toBe('high');
    // Known not to take it: never sent.
    await ask(model, { reasoningEffort: 'high' });
    expect(effortOf(1)).toBeUndefined();
    // A name we do not know: sent; refused with a 400, asked again without it, and not sent again.
    const { answer } = split(await ask(model, { model: 'local-llama', reasoningEffort: 'low' }));
    expect(answer).toBe('Echo: hi');
    expect([effortOf(2), effortOf(3)]).toEqual(['low', undefined]);
    await ask(model, { model: 'local-llama', reasoningEffort: 'low' });
    expect(effortOf(4)).toBeUndefined();
    expect(fake.violations).toEqual([expect.stringContaining("'reasoning_effort' is not supported with this model")]);
    fake.violations.length = 0;
  });
});

/** A bare HTTP server for what the fake cannot show: the server side of a socket, odd bodies. */
async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Promise.withResolvers, which Node 20 lacks. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An SSE answer that sends one chunk every 20 ms until the client goes away. */
function endlessStream(onClose: (finished: boolean) => void) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })}\n\n`), 20);
    res.on('close', () => {
      clearInterval(timer);
      onClose(res.writableFinished);
    });
  };
}

describe('createOpenAIClient against a bare server', () => {
  it('closes the socket when the consumer breaks early or aborts', async () => {
    let closed = deferred<boolean>();
    const server = await rawServer(endlessStream((finished) => closed.resolve(finished)));
    try {
      const client = createOpenAIClient({ baseUrl: server.url });
      clients.push(client);
      let count = 0;
      for await (const _ of client.streamChatCompletion(PARAMS)) if (++count === 3) break;
      expect(await closed.promise).toBe(false);

      closed = deferred<boolean>();
      const controller = new AbortController();
      const reason = new Error('stop');
      const run = (async () => {
        for await (const _ of client.streamChatCompletion(PARAMS, { signal: controller.signal })) controller.abort(reason);
      })();
      expect(await rejection(run)).toBe(reason);
      expect(await closed.promise).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('aborts the request when a ChatModel consumer stops after the first delta', async () => {
    const closed = deferred<boolean>();
    const server = await rawServer(endlessStream((finished) => closed.resolve(finished)));
    try {
      const client = createOpenAIClient({ baseUrl: server.url });
      clients.push(client);
      const model = createOpenAIChatModel({ client, model: 'gpt-4o-mini' });
      const events: ChatStreamEvent[] = [];
      for await (const event of model.streamChat({ model: '', messages: PARAMS.messages }, new AbortController().signal)) {
        events.push(event);
        break;
      }
      expect(events).toEqual([{ type: 'delta', text: 'x' }]);
      expect(await closed.promise).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('reuses one keep-alive connection across calls', async () => {
    const ports: number[] = [];
    const server = await rawServer((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
    });
    try {
      const client = createOpenAIClient({ baseUrl: server.url });
      clients.push(client);
      for (let i = 0; i < 6; i++) await client.listModels();
      // undici's pool may open a second socket while the first is being released.
      expect(ports).toHaveLength(6);
      expect(new Set(ports).size).toBeLessThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it('falls back to the status text when an error body is not JSON', async () => {
    const server = await rawServer((_req, res) => res.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' }).end('<html>oops</html>'));
    try {
      const client = createOpenAIClient({ baseUrl: server.url, maxRetries: 0 });
      clients.push(client);
      const error = await rejection(client.listModels());
      expect(error).toBeInstanceOf(AiApiError);
      expect(error).toMatchObject({ status: 502, apiCode: undefined, apiType: undefined, message: 'GET /models failed with 502: Bad Gateway' });
    } finally {
      await server.close();
    }
  });

  it('maps a refused connection to AiNetworkError after retrying', async () => {
    const server = await rawServer(() => undefined);
    await server.close();
    const delays: number[] = [];
    const client = createOpenAIClient({ baseUrl: server.url, sleep: async (ms) => void delays.push(ms) });
    clients.push(client);
    const error = await rejection(client.listModels());
    expect(error).toBeInstanceOf(AiNetworkError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(delays).toHaveLength(2);
  });

  it('fails fast on invalid options', () => {
    expect(() => createOpenAIClient({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => createOpenAIClient({ baseUrl: 'http://x/v1', timeoutMs: 0, maxRetries: -1 })).toThrow(/timeoutMs.*maxRetries/);
    expect(() => createOpenAIClient({ baseUrl: 'http://x/v1', apiKey: 'sk bad\nkey' })).toThrow(/apiKey/);
    expect(() => createOpenAIClient({ baseUrl: 'http://x/v1', apiKey: 'sk bad\nkey' })).not.toThrow(/sk bad/);
  });
});

describe('the API key never leaks into errors', () => {
  /** Everything an error exposes: its JSON, its full inspection, and every cause's text. */
  function exposure(error: unknown): string {
    const parts = [JSON.stringify(error), inspect(error, { depth: Infinity, showHidden: true })];
    for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message, e.stack ?? '', JSON.stringify(e));
    return parts.join('\n');
  }

  it('across API, timeout, stream, malformed, network and echoing failures', async () => {
    const echo = await rawServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      if (req.url?.endsWith('/models')) return void res.writeHead(500, `Denied ${auth}`).end(`no JSON here: ${auth}`);
      if (req.url?.endsWith('/moderations')) return void res.writeHead(401).end(JSON.stringify({ error: { message: `bad ${auth}`, code: auth, type: auth } }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: error\ndata: ${JSON.stringify({ message: `boom ${auth}`, code: auth, type: 'server_error' })}\n\n`);
    });
    const dead = await rawServer(() => undefined);
    await dead.close();
    const errors: unknown[] = [];
    const capture = (promise: Promise<unknown>) => rejection(promise).then((e) => void errors.push(e));
    try {
      const { client } = clientFor({ timeoutMs: 150, maxRetries: 1 });
      fake.enqueueFault({ kind: 'status', status: 401, message: `Incorrect API key provided: ${KEY}`, code: KEY });
      await capture(client.createChatCompletion(PARAMS));
      fake.enqueueFault({ kind: 'status', status: 500, times: 2 });
      await capture(client.listModels());
      fake.enqueueFault({ kind: 'hang', times: 2 });
      await capture(client.listModels());
      fake.enqueueFault({ kind: 'cut-stream', afterChunks: 1 });
      await capture(collect(client.streamChatCompletion(PARAMS)));
      fake.enqueueFault({ kind: 'malformed' });
      await capture(client.createImage({ prompt: 'x', model: 'gpt-image-1' }));
      const wrongKey = clientFor({ apiKey: `${KEY}-old` }).client;
      await capture(wrongKey.listModels());
      const echoing = clientFor({ baseUrl: echo.url, maxRetries: 0 }).client;
      await capture(echoing.listModels());
      await capture(echoing.createModeration({ input: 'x' }));
      await capture(collect(echoing.streamChatCompletion(PARAMS)));
      await capture(clientFor({ baseUrl: dead.url }).client.listModels());
    } finally {
      await echo.close();
    }
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'AiApiError', 'AiApiError', 'AiTimeoutError', 'AiStreamError', 'AiApiError',
      'AiApiError', 'AiApiError', 'AiApiError', 'AiApiError', 'AiNetworkError',
    ]);
    for (const error of errors) expect(exposure(error)).not.toContain(KEY.slice(3));
    expect(exposure(errors[6])).toContain('[redacted]');
  });
});
