/**
 * The fake Discord keeps its promises, so the end-to-end tests' checks can fail: it
 * refuses content over 2000 characters and spec violations in Discord's error shape,
 * answers 429 like Discord, records multipart uploads (and refuses oversized ones and
 * attachments without a file part), serves signed CDN URLs, and speaks the gateway protocol
 * (HELLO, IDENTIFY → READY, heartbeat ACK, RESUME with replay), sharded like Discord: each
 * guild's events on the shard `(guild_id >> 22) % count` only, DMs on shard 0, and 4010 or
 * 4011 for a shard Discord would refuse.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createFakeDiscord, DISCORD_MAX_UPLOAD_BYTES, shardOf, VOICE_MESSAGE_FLAG, type FakeDiscord } from '../fakes/discord.js';

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

  it('refuses commands Discord would: a context-menu command with a description, a slash command with a capital', async () => {
    const put = (commands: unknown) =>
      fetch(`${fake.apiUrl}/v10/applications/${fake.applicationId}/guilds/${fake.guildId}/commands`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bot ${TOKEN}` },
        body: JSON.stringify(commands),
      });
    expect((await put([{ type: 3, name: 'Translate' }, { type: 1, name: 'vary', description: 'Variations' }])).status).toBe(200);
    expect(fake.violations).toEqual([]);
    expect((await put([{ type: 3, name: 'Translate', description: 'Translate it' }])).status).toBe(400);
    expect((await put([{ type: 1, name: 'Vary', description: 'Variations' }])).status).toBe(400);
    expect(fake.violations).toHaveLength(2);
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

/** One gateway payload, as a client receives it. */
interface Payload {
  op: number;
  t?: string;
  s?: number;
  d: unknown;
}

/** A minimal gateway client: collects every payload, and tells how the server closed. */
interface GatewayClient {
  ws: WebSocket;
  payloads: Payload[];
  next: (predicate: (payload: Payload) => boolean) => Promise<void>;
  closed: Promise<number>;
}

async function connect(gatewayUrl = fake.gatewayUrl): Promise<GatewayClient> {
  const ws = new WebSocket(`${gatewayUrl}?v=10&encoding=json`);
  const payloads: Payload[] = [];
  const listeners = new Set<() => void>();
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (raw) => {
    payloads.push(JSON.parse(String(raw)) as Payload);
    for (const l of listeners) l();
  });
  const next = (predicate: (payload: Payload) => boolean): Promise<void> =>
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
  return { ws, payloads, next, closed };
}

describe('fake Discord gateway', () => {
  it('says HELLO, answers IDENTIFY with READY and GUILD_CREATE, ACKs heartbeats, and replays on RESUME', async () => {
    const first = await connect();
    first.ws.send(JSON.stringify({ op: 2, d: { token: TOKEN, intents: 1, properties: {} } }));
    await first.next((p) => p.s === 3);
    const ready = first.payloads.find((p) => p.t === 'READY')!;
    expect(ready.s).toBe(1);
    // Unsharded, the session holds both guilds.
    expect(first.payloads.filter((p) => p.op === 0).map((p) => [p.t, p.s, (p.d as { id?: string }).id])).toEqual([
      ['READY', 1, undefined],
      ['GUILD_CREATE', 2, fake.guildId],
      ['GUILD_CREATE', 3, fake.secondGuildId],
    ]);
    first.ws.send(JSON.stringify({ op: 1, d: 3 }));
    await first.next((p) => p.op === 11);
    fake.userMessage({ content: 'one' });
    fake.userMessage({ content: 'two' });
    await first.next((p) => p.s === 5);
    first.ws.close();

    const second = await connect();
    const sessionId = (ready.d as { session_id: string }).session_id;
    second.ws.send(JSON.stringify({ op: 6, d: { token: TOKEN, session_id: sessionId, seq: 4 } }));
    await second.next((p) => p.t === 'RESUMED');
    // Only what the client had not seen, in order, then RESUMED.
    expect(second.payloads.filter((p) => p.op === 0).map((p) => [p.t, p.s])).toEqual([
      ['MESSAGE_CREATE', 5],
      ['RESUMED', 6],
    ]);
    second.ws.close();
  });

  it('closes the connection on a wrong token', async () => {
    const client = await connect();
    client.ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    expect(await client.closed).toBe(4004);
  });
});

describe('fake Discord sharding', () => {
  let sharded: FakeDiscord;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    // Two guilds, at most one per shard: Discord would require sharding, and recommends 2.
    sharded = await createFakeDiscord({ token: TOKEN, shards: 2, maxConcurrency: 2, maxGuildsPerShard: 1 });
  });
  beforeEach(() => sharded.reset());
  afterEach(() => {
    for (const ws of open.splice(0)) ws.close(1000);
  });
  afterAll(() => sharded.stop());

  /** Connects and identifies (`shard` omitted: unsharded); resolves once READY is in, or on a close. */
  async function identify(shard?: [number, number]): Promise<GatewayClient> {
    const client = await connect(sharded.gatewayUrl);
    open.push(client.ws);
    client.ws.send(JSON.stringify({ op: 2, d: { token: TOKEN, intents: 1, properties: {}, ...(shard ? { shard } : {}) } }));
    await Promise.race([client.next((p) => p.t === 'READY'), client.closed]);
    return client;
  }
  const dispatched = (client: GatewayClient, type: string): string[] =>
    client.payloads.filter((p) => p.t === type).map((p) => String((p.d as { id: string }).id));

  it("routes by Discord's formula: (guild_id >> 22) % count, DMs to shard 0", () => {
    expect(shardOf(sharded.guildId, 2)).toBe(0);
    expect(shardOf(sharded.secondGuildId, 2)).toBe(1);
    expect(shardOf(undefined, 2)).toBe(0);
    expect(shardOf(sharded.secondGuildId, 1)).toBe(0);
    // 175928847299117063 is Discord's own example snowflake; its timestamp part is 41944705796.
    expect(shardOf('175928847299117063', 7)).toBe(41944705796 % 7);
  });

  it('recommends its shard count and identify concurrency in GET /gateway/bot', async () => {
    const response = await fetch(`${sharded.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${TOKEN}` } });
    expect(await response.json()).toMatchObject({ shards: 2, session_start_limit: { max_concurrency: 2 } });
  });

  it("sends each guild's events on its own shard's connection only, and DMs on shard 0", async () => {
    const zero = await identify([0, 2]);
    const one = await identify([1, 2]);
    await zero.next((p) => p.t === 'GUILD_CREATE');
    await one.next((p) => p.t === 'GUILD_CREATE');
    expect((zero.payloads.find((p) => p.t === 'READY')!.d as { guilds: unknown; shard: unknown })).toMatchObject({ guilds: [{ id: sharded.guildId }], shard: [0, 2] });
    expect((one.payloads.find((p) => p.t === 'READY')!.d as { guilds: unknown; shard: unknown })).toMatchObject({ guilds: [{ id: sharded.secondGuildId }], shard: [1, 2] });
    expect(dispatched(zero, 'GUILD_CREATE')).toEqual([sharded.guildId]);
    expect(dispatched(one, 'GUILD_CREATE')).toEqual([sharded.secondGuildId]);
    expect(sharded.liveShards()).toEqual([[0, 2], [1, 2]]);
    expect(sharded.sessions.map((s) => s.d['shard'])).toEqual([[0, 2], [1, 2]]);

    const inFirst = String(sharded.userMessage({ content: 'first guild', channelId: sharded.channelId })['id']);
    const inSecond = String(sharded.userMessage({ content: 'second guild', channelId: sharded.secondGuildChannelId })['id']);
    const inDm = String(sharded.userMessage({ content: 'a DM', dm: true })['id']);
    const command = sharded.slashCommand({ name: 'ask', options: { prompt: 'hi' }, channelId: sharded.secondGuildChannelId });
    // Markers last: once each connection has its own, everything before it has arrived.
    const marker0 = String(sharded.userMessage({ content: 'marker', dm: true })['id']);
    const marker1 = String(sharded.userMessage({ content: 'marker', channelId: sharded.secondGuildChannelId })['id']);
    await zero.next((p) => (p.d as { id?: string } | null)?.id === marker0);
    await one.next((p) => (p.d as { id?: string } | null)?.id === marker1);
    expect(dispatched(zero, 'MESSAGE_CREATE')).toEqual([inFirst, inDm, marker0]);
    expect(dispatched(one, 'MESSAGE_CREATE')).toEqual([inSecond, marker1]);
    expect(dispatched(zero, 'INTERACTION_CREATE')).toEqual([]);
    expect(dispatched(one, 'INTERACTION_CREATE')).toEqual([command.id]);
    // Each session numbers its own dispatches.
    expect(one.payloads.filter((p) => p.op === 0).map((p) => p.s)).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends a shard\'s events to every session holding it', async () => {
    const first = await identify([1, 2]);
    const second = await identify([1, 2]);
    const id = String(sharded.userMessage({ content: 'twice', channelId: sharded.secondGuildChannelId })['id']);
    await first.next((p) => p.t === 'MESSAGE_CREATE');
    await second.next((p) => p.t === 'MESSAGE_CREATE');
    expect([dispatched(first, 'MESSAGE_CREATE'), dispatched(second, 'MESSAGE_CREATE')]).toEqual([[id], [id]]);
  });

  it('closes 4010 for a shard outside its count or a count other connections disagree with, and 4011 without sharding', async () => {
    expect(await (await identify([2, 2])).closed).toBe(4010);
    expect(await (await identify()).closed).toBe(4011);
    const zero = await identify([0, 2]);
    expect(await (await identify([1, 3])).closed).toBe(4010);
    // The refusals left the good connection alone.
    expect(zero.payloads.some((p) => p.t === 'READY')).toBe(true);
    expect(sharded.liveShards()).toEqual([[0, 2]]);
  });

  it('ends a session the client closes with 1000, and keeps one dropped otherwise for RESUME', async () => {
    const kept = await identify([1, 2]);
    const ended = await identify([1, 2]);
    const sessionOf = (client: GatewayClient): string => (client.payloads.find((p) => p.t === 'READY')!.d as { session_id: string }).session_id;
    kept.ws.close(4000);
    ended.ws.close(1000);
    await Promise.all([kept.closed, ended.closed]);
    await sharded.waitFor(() => sharded.liveShards().length === 0);
    const missed = String(sharded.userMessage({ content: 'while away', channelId: sharded.secondGuildChannelId })['id']);

    const resumed = await connect(sharded.gatewayUrl);
    open.push(resumed.ws);
    resumed.ws.send(JSON.stringify({ op: 6, d: { token: TOKEN, session_id: sessionOf(kept), seq: 2 } }));
    await resumed.next((p) => p.t === 'RESUMED');
    expect(dispatched(resumed, 'MESSAGE_CREATE')).toEqual([missed]);

    const refused = await connect(sharded.gatewayUrl);
    open.push(refused.ws);
    refused.ws.send(JSON.stringify({ op: 6, d: { token: TOKEN, session_id: sessionOf(ended), seq: 2 } }));
    await refused.next((p) => p.op === 9);
  });
});
