/**
 * The fake Discord keeps its promises, so the end-to-end tests' checks can fail: it
 * refuses content over 2000 characters and spec violations in Discord's error shape,
 * answers 429 like Discord, records multipart uploads (and refuses oversized ones and
 * attachments without a file part), serves signed CDN URLs, and speaks the gateway protocol
 * (HELLO, IDENTIFY → READY, heartbeat ACK, RESUME with replay).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createFakeDiscord, DISCORD_MAX_UPLOAD_BYTES, VOICE_MESSAGE_FLAG, type FakeDiscord } from '../fakes/discord.js';

const TOKEN = 'fake-test-token.abc';
let fake: FakeDiscord;

beforeAll(async () => {
  fake = await createFakeDiscord({ token: TOKEN });
});
beforeEach(() => fake.reset());
afterAll(() => fake.stop());

const post = (path: string, body: unknown, auth = true): Promise<Response> =>
  fetch(`${fake.apiUrl}/v10${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bot ${TOKEN}` } : {}) },
    body: JSON.stringify(body),
  });

describe('fake Discord REST', () => {
  it('creates a message and refuses content over 2000 characters as Discord does', async () => {
    const ok = await post(`/channels/${fake.channelId}/messages`, { content: 'hi', allowed_mentions: { parse: [] } });
    expect(ok.status).toBe(200);
    expect(fake.violations).toEqual([]);
    const tooLong = await post(`/channels/${fake.channelId}/messages`, { content: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 50035, message: 'Invalid Form Body', errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    expect(fake.violations).toHaveLength(1);
  });

  it('refuses a body that violates the OpenAPI spec, and a request without the bot token', async () => {
    const bad = await post(`/channels/${fake.channelId}/messages`, { content: 'hi', allowed_mentions: { parse: ['nobody'] } });
    expect(bad.status).toBe(400);
    expect(fake.violations[0]).toMatch(/allowed_mentions/);
    expect((await post(`/channels/${fake.channelId}/messages`, { content: 'hi' }, false)).status).toBe(401);
  });

  it('answers 429 with Retry-After, the rate-limit headers and Discord\'s body', async () => {
    fake.enqueueRateLimit({ match: '/channels/{channel_id}/messages', retryAfterSeconds: 1.5, global: true });
    const limited = await post(`/channels/${fake.channelId}/messages`, { content: 'hi' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1.5');
    expect(limited.headers.get('x-ratelimit-global')).toBe('true');
    expect(await limited.json()).toEqual({ message: 'You are being rate limited.', retry_after: 1.5, global: true });
    expect((await post(`/channels/${fake.channelId}/messages`, { content: 'hi' })).status).toBe(200);
  });

  it('records multipart attachments with their payload_json', async () => {
    const form = new FormData();
    form.append('payload_json', JSON.stringify({ content: 'a picture', attachments: [{ id: '0', filename: 'fox.png' }] }));
    form.append('files[0]', new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' }), 'fox.png');
    const response = await fetch(`${fake.apiUrl}/v10/channels/${fake.channelId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${TOKEN}` },
      body: form,
    });
    expect(response.status, fake.violations.join('\n')).toBe(200);
    const recorded = fake.requestsTo('POST', '/channels/{channel_id}/messages')[0]!;
    expect(recorded.body).toMatchObject({ content: 'a picture' });
    expect(recorded.files).toEqual([{ name: 'files[0]', filename: 'fox.png', size: 4, contentType: 'image/png' }]);
    expect(fake.violations).toEqual([]);
    // The file is kept, bytes and all, on the message, and served from the CDN like Discord's.
    const [message] = fake.botMessages({ channelId: fake.channelId });
    expect(message!.attachments).toMatchObject([{ filename: 'fox.png', content_type: 'image/png', size: 4 }]);
    expect([...message!.attachments[0]!.bytes!]).toEqual([1, 2, 3, 4]);
    const served = await fetch(message!.attachments[0]!.url);
    expect(served.status).toBe(200);
    expect([...new Uint8Array(await served.arrayBuffer())]).toEqual([1, 2, 3, 4]);
  });

  const upload = (payload: unknown, files: Array<[string, Uint8Array]>): Promise<Response> => {
    const form = new FormData();
    form.append('payload_json', JSON.stringify(payload));
    for (const [field, bytes] of files) form.append(field, new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'image.png');
    return fetch(`${fake.apiUrl}/v10/channels/${fake.channelId}/messages`, { method: 'POST', headers: { authorization: `Bot ${TOKEN}` }, body: form });
  };

  it('refuses an attachment entry that names no file part, as Discord does', async () => {
    const response = await upload({ content: 'x', attachments: [{ id: '1', filename: 'image.png' }] }, [['files[0]', new Uint8Array([1])]]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 50035 });
    expect(fake.violations).toHaveLength(1);
    expect(fake.botMessages({})).toEqual([]);
  });

  it('refuses an upload over 25 MiB with 413 and code 40005', async () => {
    const response = await upload({ attachments: [{ id: '0', filename: 'image.png' }] }, [['files[0]', new Uint8Array(DISCORD_MAX_UPLOAD_BYTES + 1)]]);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 40005 });
    expect(fake.violations).toHaveLength(1);
  });

  it('serves a registered attachment at its signed URL only, and records every download', async () => {
    const attachment = fake.registerAttachment(Buffer.from('OggS voice'), { name: 'voice-message.ogg', contentType: 'audio/ogg', voice: { durationSecs: 3 } });
    expect(attachment).toMatchObject({ filename: 'voice-message.ogg', size: 10, content_type: 'audio/ogg', duration_secs: 3 });
    expect(attachment.waveform).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(attachment.url.startsWith(`http://${fake.cdnHost}/attachments/`)).toBe(true);
    const ok = await fetch(attachment.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('audio/ogg');
    expect(await ok.text()).toBe('OggS voice');
    expect((await fetch(attachment.url.replace(/hm=[0-9a-f]+/, 'hm=bad'))).status).toBe(404);
    expect(fake.downloads.map((d) => d.status)).toEqual([200, 404]);
    // A voice message carries the flag and the attachment.
    const payload = fake.userMessage({ content: '', dm: true, voice: true, attachments: [attachment] });
    expect(payload).toMatchObject({ flags: VOICE_MESSAGE_FLAG, attachments: [attachment] });
  });
});

describe('fake Discord moderation', () => {
  const call = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${fake.apiUrl}/v10${path}`, {
      method,
      headers: { authorization: `Bot ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("deletes a user's message, but not without Manage Messages in its channel; the bot's own always", async () => {
    const id = String(fake.userMessage({ content: 'hi' })['id']);
    fake.denyBot('manageMessages', fake.channelId);
    const refused = await call('DELETE', `/channels/${fake.channelId}/messages/${id}`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: 'Missing Permissions', code: 50013 });
    const own = (await (await post(`/channels/${fake.channelId}/messages`, { content: 'mine' })).json()) as { id: string };
    expect((await call('DELETE', `/channels/${fake.channelId}/messages/${own.id}`)).status).toBe(204);
    fake.reset();
    const other = String(fake.userMessage({ content: 'hi again' })['id']);
    expect((await call('DELETE', `/channels/${fake.channelId}/messages/${other}`)).status).toBe(204);
    expect(fake.deleted.map((m) => m.id)).toEqual([other]);
    expect((await call('DELETE', `/channels/${fake.channelId}/messages/${other}`)).status).toBe(404);
  });

  it('times a member out within 28 days, refuses longer as Discord does, and never the owner', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    expect((await call('PATCH', `/guilds/${fake.guildId}/members/200000000000000005`, { communication_disabled_until: soon })).status).toBe(200);
    expect(fake.timeouts).toEqual([{ guildId: fake.guildId, userId: '200000000000000005', until: soon }]);
    expect((await call('PATCH', `/guilds/${fake.guildId}/members/${fake.ownerId}`, { communication_disabled_until: soon })).status).toBe(403);
    const tooLong = new Date(Date.now() + 29 * 24 * 3600 * 1000).toISOString();
    expect((await call('PATCH', `/guilds/${fake.guildId}/members/200000000000000005`, { communication_disabled_until: tooLong })).status).toBe(400);
    expect(fake.violations).toHaveLength(1);
    fake.violations.length = 0;
  });
});

describe('fake Discord gateway', () => {
  /** A minimal gateway client: collects every payload. */
  async function connect(): Promise<{ ws: WebSocket; payloads: Array<{ op: number; t?: string; s?: number; d: unknown }>; next: (p: (x: { op: number; t?: string; s?: number }) => boolean) => Promise<void> }> {
    const ws = new WebSocket(`${fake.gatewayUrl}?v=10&encoding=json`);
    const payloads: Array<{ op: number; t?: string; s?: number; d: unknown }> = [];
    const listeners = new Set<() => void>();
    ws.on('message', (raw) => {
      payloads.push(JSON.parse(String(raw)) as (typeof payloads)[number]);
      for (const l of listeners) l();
    });
    const next = (predicate: (x: { op: number; t?: string; s?: number }) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such payload; got ${JSON.stringify(payloads.map((p) => [p.op, p.t]))}`)), 5_000);
        const check = (): void => {
          if (payloads.some(predicate)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
      });
    await next((p) => p.op === 10);
    return { ws, payloads, next };
  }

  it('says HELLO, answers IDENTIFY with READY and GUILD_CREATE, ACKs heartbeats, and replays on RESUME', async () => {
    const first = await connect();
    first.ws.send(JSON.stringify({ op: 2, d: { token: TOKEN, intents: 1, properties: {} } }));
    await first.next((p) => p.t === 'GUILD_CREATE');
    const ready = first.payloads.find((p) => p.t === 'READY')!;
    expect(ready.s).toBe(1);
    expect(first.payloads.find((p) => p.t === 'GUILD_CREATE')!.s).toBe(2);
    first.ws.send(JSON.stringify({ op: 1, d: 2 }));
    await first.next((p) => p.op === 11);
    fake.userMessage({ content: 'one' });
    fake.userMessage({ content: 'two' });
    await first.next((p) => p.s === 4);
    first.ws.close();

    const second = await connect();
    const sessionId = (ready.d as { session_id: string }).session_id;
    second.ws.send(JSON.stringify({ op: 6, d: { token: TOKEN, session_id: sessionId, seq: 3 } }));
    await second.next((p) => p.t === 'RESUMED');
    // Only what the client had not seen, in order, then RESUMED.
    expect(second.payloads.filter((p) => p.op === 0).map((p) => [p.t, p.s])).toEqual([
      ['MESSAGE_CREATE', 4],
      ['RESUMED', 5],
    ]);
    second.ws.close();
  });

  it('closes the connection on a wrong token', async () => {
    const client = await connect();
    const closed = new Promise<number>((resolve) => client.ws.on('close', (code) => resolve(code)));
    client.ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    expect(await closed).toBe(4004);
  });
});
