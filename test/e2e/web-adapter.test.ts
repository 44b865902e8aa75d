/**
 * The playground adapter over HTTP and Server-Sent Events, against the whole service
 * (real Redis, BullMQ, workers) and the fake OpenAI server. Plain fetch, as a browser
 * would use it; the page itself is tested in test/e2e/playground-browser.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_ERROR_CODES, type WebMessage } from '../../adapters/web/index.js';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { Logger } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** Longest a test waits for one expected event. */
const WAIT_MS = 10_000;
const POLL_MS = 20;

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

interface SseClient {
  readonly events: SseEvent[];
  /** Messages seen, in order (every edit of a streamed reply is one entry). */
  messages(): WebMessage[];
  waitForMessage(predicate: (message: WebMessage) => boolean, what: string): Promise<WebMessage>;
  close(): void;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
}

/** A minimal SSE reader over fetch; resolves once the server answered (and so subscribed). */
async function openEvents(url: string): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) events.push({ event, data: data.join('\n') });
      }
    }
  })().catch(() => undefined);
  const messages = (): WebMessage[] =>
    events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as WebMessage);
  return {
    events,
    messages,
    async waitForMessage(predicate, what) {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const found = messages().find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms; saw ${JSON.stringify(events)}`);
        await sleep(POLL_MS);
      }
    },
    close: () => abort.abort(),
    ended,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${WAIT_MS} ms; last: ${JSON.stringify(value)}`);
    await sleep(POLL_MS * 5);
  }
}

/** A logger that keeps what it is given, for asserting on errors. */
function recordingLogger(lines: Array<{ level: string; fields: object; message?: string }> = []): Logger {
  const at = (level: string) => (fields: object, message?: string) => void lines.push({ level, fields, message });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

const channelName = () => `t-${randomBytes(4).toString('hex')}`;
const messageId = () => randomUUID();

describe('web adapter, whole service', () => {
  let fake: FakeOpenAI;
  let app: { url: string; stop(): Promise<void> };
  const streams: SseClient[] = [];

  beforeAll(async () => {
    fake = await createFakeOpenAI();
    const config = parseConfig({
      REDIS_URL: testRedisUrl(),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-test-key',
      PORT: '0',
      QUEUE_PREFIX: uniquePrefix('web'),
    });
    app = await startApp(config, { log: recordingLogger() });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await app?.stop();
    await fake?.stop();
  });

  const events = async (channel: string): Promise<SseClient> => {
    const stream = await openEvents(`${app.url}/api/channels/${channel}/events`);
    streams.push(stream);
    return stream;
  };

  const post = (channel: string, body: unknown, init: { contentType?: string; raw?: string } = {}) =>
    fetch(`${app.url}/api/channels/${channel}/messages`, {
      method: 'POST',
      headers: init.contentType === '' ? {} : { 'content-type': init.contentType ?? 'application/json' },
      body: init.raw ?? JSON.stringify(body),
    });

  const chatRequestsAbout = (text: string) =>
    fake.requestsTo('/chat/completions').filter((request) => JSON.stringify(request.body).includes(text));

  it('serves the page, its assets and /api/info', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/app.js', 'text/javascript'],
      ['/style.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    const info = await fetch(`${app.url}/api/info`);
    expect(await info.json()).toEqual({ platform: 'web', model: 'gpt-4o-mini', demo: false });
    expect((await fetch(`${app.url}/no-such-page`)).status).toBe(404);
  });

  it('answers a POST at once and streams the reply on the events stream', async () => {
    const channel = channelName();
    const stream = await events(channel);
    const id = messageId();
    const res = await post(channel, { id, text: 'hello there', author: 'Ann' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId: `web:${channel}:${id}`, duplicate: false });

    const mine = await stream.waitForMessage((m) => m.id === id, 'echo of the user message');
    expect(mine).toMatchObject({ role: 'user', author: 'Ann', text: 'hello there', final: true });
    const reply = await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'final reply');
    expect(reply).toMatchObject({ text: 'Echo: hello there', author: 'Switchboard', replyTo: id });
    expect(reply.id).toMatch(/^b-/);
    // "typing…" only ever announces a reply that has not started: none once its text streams.
    // (Whether it shows at all depends on how fast this machine is, which no test may assert.)
    const firstText = stream.events.findIndex((e) => e.event === 'message' && (JSON.parse(e.data) as WebMessage).role === 'assistant');
    expect(firstText).toBeGreaterThanOrEqual(0);
    expect(stream.events.slice(firstText).some((e) => e.event === 'typing')).toBe(false);
  });

  it('shows "typing…" while the model is slow to start', async () => {
    const channel = channelName();
    const stream = await events(channel);
    fake.enqueueFault({ kind: 'slow', path: '/chat/completions', delayMs: 1_500 });
    await post(channel, { id: messageId(), text: 'think hard', author: 'Ann' });
    await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'final reply');
    const typing = stream.events.findIndex((e) => e.event === 'typing');
    const firstText = stream.events.findIndex((e) => e.event === 'message' && (JSON.parse(e.data) as WebMessage).role === 'assistant');
    expect(typing).toBeGreaterThanOrEqual(0);
    expect(typing).toBeLessThan(firstText);
  });

  it('streams a long reply as edits of one message, ending in the full text', async () => {
    const channel = channelName();
    const stream = await events(channel);
    const full = `Streaming: ${'lorem ipsum dolor sit amet '.repeat(12).trim()}.`;
    fake.chatReply = () => full;
    fake.streamDelayMs = 25;
    try {
      await post(channel, { id: messageId(), text: 'tell me a long story', author: 'Ann' });
      const reply = await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'final reply');
      expect(reply.text).toBe(full);
      const edits = stream.messages().filter((m) => m.id === reply.id);
      expect(edits.filter((m) => !m.final).length).toBeGreaterThan(0);
      for (const edit of edits) expect(full.startsWith(edit.text)).toBe(true);
    } finally {
      fake.reset();
    }
  });

  it('shows the user message and the reply to every client of the channel', async () => {
    const channel = channelName();
    const [first, second] = [await events(channel), await events(channel)];
    const other = await events(channelName());
    const id = messageId();
    expect((await post(channel, { id, text: 'for everyone', author: 'Bo' })).status).toBe(202);
    for (const stream of [first, second]) {
      await stream.waitForMessage((m) => m.id === id && m.role === 'user', 'user message');
      await stream.waitForMessage((m) => m.role === 'assistant' && m.final && m.text === 'Echo: for everyone', 'reply');
    }
    expect(other.messages()).toEqual([]);
  });

  it('makes one job of a message id posted twice', async () => {
    const channel = channelName();
    const stream = await events(channel);
    const id = messageId();
    const text = `only once ${id}`;
    const first = await post(channel, { id, text, author: 'Cy' });
    const again = await post(channel, { id, text, author: 'Cy' });
    expect(await first.json()).toEqual({ jobId: `web:${channel}:${id}`, duplicate: false });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ jobId: `web:${channel}:${id}`, duplicate: true });
    await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'reply');
    // Give a second job, if there were one, the time to reach the model.
    await sleep(500);
    expect(chatRequestsAbout(text)).toHaveLength(1);
    expect(stream.messages().filter((m) => m.id === id)).toHaveLength(1);

    // The same id posted concurrently (a double click racing a retry).
    const sameId = messageId();
    const concurrent = await Promise.all([1, 2, 3].map(() => post(channel, { id: sameId, text: `race ${sameId}` })));
    expect(concurrent.every((res) => res.status === 202)).toBe(true);
    const flags = await Promise.all(concurrent.map(async (res) => ((await res.json()) as { duplicate: boolean }).duplicate));
    expect(flags.filter((duplicate) => !duplicate)).toHaveLength(1);
    await eventually(async () => chatRequestsAbout(`race ${sameId}`).length, (n) => n >= 1, 'the raced message answered');
    await sleep(500);
    expect(chatRequestsAbout(`race ${sameId}`)).toHaveLength(1);
  });

  it('refuses bad input with a status and a plain-words message, and enqueues nothing', async () => {
    const channel = channelName();
    // Every case with text carries this marker, so the model would show it if one got through.
    const hi = `hi ${channel}`;
    const cases: Array<{ name: string; send: () => Promise<Response>; status: number; code: string }> = [
      { name: 'invalid channel', send: () => post('Not_A_Channel', { id: messageId(), text: hi }), status: 400, code: WEB_ERROR_CODES.INVALID_CHANNEL },
      { name: 'channel too long', send: () => post('a'.repeat(41), { id: messageId(), text: hi }), status: 400, code: WEB_ERROR_CODES.INVALID_CHANNEL },
      { name: 'empty text', send: () => post(channel, { id: messageId(), text: '  \n ' }), status: 400, code: WEB_ERROR_CODES.EMPTY_TEXT },
      { name: 'missing text', send: () => post(channel, { id: messageId() }), status: 400, code: WEB_ERROR_CODES.EMPTY_TEXT },
      { name: 'text over 8000', send: () => post(channel, { id: messageId(), text: hi + 'x'.repeat(8001) }), status: 400, code: WEB_ERROR_CODES.TEXT_TOO_LONG },
      { name: 'body over 64 KB', send: () => post(channel, { id: messageId(), text: hi, pad: 'y'.repeat(70_000) }), status: 413, code: WEB_ERROR_CODES.BODY_TOO_LARGE },
      { name: 'invalid JSON', send: () => post(channel, undefined, { raw: '{"id": "abc' }), status: 400, code: WEB_ERROR_CODES.INVALID_JSON },
      { name: 'JSON not an object', send: () => post(channel, ['hi']), status: 400, code: WEB_ERROR_CODES.INVALID_JSON },
      { name: 'missing id', send: () => post(channel, { text: hi }), status: 400, code: WEB_ERROR_CODES.INVALID_ID },
      { name: 'short id', send: () => post(channel, { id: 'abc', text: hi }), status: 400, code: WEB_ERROR_CODES.INVALID_ID },
      { name: 'id with a colon', send: () => post(channel, { id: 'abcdefgh:1', text: hi }), status: 400, code: WEB_ERROR_CODES.INVALID_ID },
      { name: 'author not text', send: () => post(channel, { id: messageId(), text: hi, author: 42 }), status: 400, code: WEB_ERROR_CODES.INVALID_AUTHOR },
      { name: 'not JSON content', send: () => post(channel, { id: messageId(), text: hi }, { contentType: 'text/plain' }), status: 415, code: WEB_ERROR_CODES.UNSUPPORTED_MEDIA_TYPE },
    ];
    for (const c of cases) {
      const res = await c.send();
      expect(res.status, c.name).toBe(c.status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, c.name).toBe(c.code);
      expect(body.error.message.length, c.name).toBeGreaterThan(10);
    }
    for (const path of ['history', 'events']) {
      const res = await fetch(`${app.url}/api/channels/Bad!/${path}`);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(WEB_ERROR_CODES.INVALID_CHANNEL);
    }
    const wrongMethod = await fetch(`${app.url}/api/channels/${channel}/messages`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');

    // After all that, the channel still works and nothing reached the model.
    await sleep(300);
    expect(chatRequestsAbout(hi)).toEqual([]);
    const ok = await post(channel, { id: messageId(), text: 'still here', author: 'Di' });
    expect(ok.status).toBe(202);
  });

  it('returns the conversation from history after the reply, and /reset clears it', async () => {
    const channel = channelName();
    const stream = await events(channel);
    await post(channel, { id: messageId(), text: 'remember me', author: 'Eve' });
    await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'reply');
    const read = async () =>
      (await (await fetch(`${app.url}/api/channels/${channel}/history`)).json()) as { channel: string; messages: WebMessage[] };
    const history = await eventually(read, (h) => h.messages.length === 2, 'two history entries');
    expect(history.channel).toBe(channel);
    expect(history.messages).toMatchObject([
      { role: 'user', author: 'Eve', text: 'remember me', final: true },
      { role: 'assistant', author: 'Switchboard', text: 'Echo: remember me', final: true },
    ]);
    expect(new Set(history.messages.map((m) => m.id)).size).toBe(2);
    for (const m of history.messages) expect(typeof m.at).toBe('number');

    const resetId = messageId();
    await post(channel, { id: resetId, text: '/reset', author: 'Eve' });
    await stream.waitForMessage((m) => m.role === 'assistant' && m.replyTo === resetId && m.final, 'reset confirmation');
    expect((await read()).messages).toEqual([]);
  });

  it('/redo answers the last message again, its answer in the old one\'s place in history (issue #18)', async () => {
    const channel = channelName();
    const stream = await events(channel);
    const read = async () => ((await (await fetch(`${app.url}/api/channels/${channel}/history`)).json()) as { messages: WebMessage[] }).messages;
    await post(channel, { id: messageId(), text: 'say it again', author: 'Eve' });
    await stream.waitForMessage((m) => m.role === 'assistant' && m.final, 'reply');
    const [, first] = await eventually(read, (messages) => messages.length === 2, 'the first exchange in history');
    const redoId = messageId();
    await post(channel, { id: redoId, text: '/redo', author: 'Eve' });
    const again = await stream.waitForMessage((m) => m.role === 'assistant' && m.replyTo === redoId && m.final, 'the answer again');
    expect(again.text).toBe('Echo: say it again');
    // Two entries, not four: the exchange was replaced (a new answer), and /redo itself is no turn.
    const after = await eventually(read, (messages) => messages[1]?.at !== first?.at, 'the new answer in history');
    expect(after.map((m) => [m.role, m.text])).toEqual([
      ['user', 'say it again'],
      ['assistant', 'Echo: say it again'],
    ]);
  });

  it('hardens every answer for browsers: a CSP without inline script and no framing, no referrer, no sniffing (issue #17)', async () => {
    const channel = channelName();
    for (const path of ['/', '/app.js', '/style.css', '/api/info', `/api/channels/${channel}/history`, '/no-such-page', '/healthz', '/metrics']) {
      const res = await fetch(`${app.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      await res.arrayBuffer();
    }
    // The page runs only its own script file: nothing inline to allow.
    const page = await fetch(`${app.url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('refuses a POST from a page of another origin, and enqueues nothing (issue #17)', async () => {
    const channel = channelName();
    const stream = await events(channel);
    const text = `cross ${channel}`;
    for (const origin of ['https://evil.example', 'null', `http://localhost:${new URL(app.url).port}`]) {
      const res = await fetch(`${app.url}/api/channels/${channel}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ id: messageId(), text, author: 'Mallory' }),
      });
      expect(res.status, origin).toBe(403);
      expect(((await res.json()) as { error: { code: string; message: string } }).error).toEqual({
        code: WEB_ERROR_CODES.CROSS_ORIGIN,
        message: 'The playground takes messages and files only from its own page, not from another site.',
      });
    }
    const upload = await fetch(`${app.url}/api/uploads?name=a.ogg`, {
      method: 'POST',
      headers: { 'content-type': 'audio/ogg', 'sec-fetch-site': 'cross-site' },
      body: 'OggS',
    });
    expect(upload.status).toBe(403);
    // The page's own origin, as a browser sends it, is fine.
    const own = await fetch(`${app.url}/api/channels/${channel}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: app.url, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ id: messageId(), text: 'from my own page', author: 'Ann' }),
    });
    expect(own.status).toBe(202);
    await stream.waitForMessage((m) => m.role === 'assistant' && m.final && m.text === 'Echo: from my own page', 'reply');
    expect(chatRequestsAbout(text)).toEqual([]);
    expect(stream.messages().some((m) => m.text.includes(text))).toBe(false);
  });

  it('answers the token-free console only at a loopback name: a rebound hostile name is refused, and nothing is enqueued (issue #17)', async () => {
    const channel = channelName();
    const text = `rebound ${channel}`;
    const { port } = new URL(app.url);
    /** A POST as a browser sends it from a page whose name now points at 127.0.0.1: same-origin, its own Host. */
    const postAs = (host: string) =>
      new Promise<{ status: number; body: { error?: { code: string; message: string } } }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path: `/api/channels/${channel}/messages`, headers: { host, origin: `http://${host}`, 'content-type': 'application/json' } },
          (res) => {
            let raw = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw || '{}') }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ id: messageId(), text, author: 'Mallory' }));
      });
    for (const host of [`evil.example:${port}`, `192.168.1.20:${port}`]) {
      const refused = await postAs(host);
      expect(refused.status, host).toBe(403);
      expect(refused.body.error).toEqual({
        code: WEB_ERROR_CODES.HOST_NOT_ALLOWED,
        message: 'Without PLAYGROUND_TOKEN the playground answers only at localhost or 127.0.0.1.',
      });
    }
    // The operator's own names are fine.
    expect((await postAs(`localhost:${port}`)).status).toBe(202);
    await expect.poll(() => chatRequestsAbout(text).length, { timeout: 10_000 }).toBe(1);
    expect((await postAs(`127.0.0.1:${port}`)).status).toBe(202);
    await expect.poll(() => chatRequestsAbout(text).length, { timeout: 10_000 }).toBe(2);
  });

  it('has sent the model only requests that follow the spec', () => {
    expect(fake.violations).toEqual([]);
  });
});
