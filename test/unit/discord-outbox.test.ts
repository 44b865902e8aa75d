/**
 * The Discord Outbox against the fake Discord and the real Redis rate limiter: channel
 * replies, the interaction flow (@original, then follow-ups), skipped repeats, errors
 * that name the route but never a token, a global 429 pausing every process, attachment
 * downloads from the CDN hosts only (through the real guarded downloader), image
 * uploads as multipart, and the moderation actions (delete, timeout) with their 403s.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// First, as in the service (src/app.ts loads infra before any adapter): undici 7 then owns
// the process's global dispatcher, which @discordjs/rest's own undici sends through.
import { createGuardedDownloader, type GuardedDownloader } from '../../src/infra/net/guarded-download.js';
import { createDiscordOutbox } from '../../adapters/discord/discord.outbox.js';
import { DiscordApiError } from '../../adapters/discord/discord.errors.js';
import { globalLimit } from '../../adapters/discord/discord.limits.js';
import { encodeReplyHandle } from '../../adapters/discord/discord.reply-handle.js';
import { PermissionError } from '../../src/domain/errors.js';
import type { Attachment, ChatRef } from '../../src/domain/inbound-message.js';
import { FileFetchError, FileTooLargeError } from '../../src/domain/media.js';
import { createRedisRateLimiter } from '../../src/infra/ratelimit/index.js';
import { closeRedis, createRedisConnection } from '../../src/infra/redis/connection.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import type { Logger, Outbox, RateLimiter } from '../../src/ports/index.js';
import { createFakeDiscord, type DiscordAttachmentObject, type FakeDiscord } from '../fakes/discord.js';
import { createPng, PNG_SIGNATURE } from '../fakes/png.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const TOKEN = 'outbox-test-token.discord';
const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

let fake: FakeDiscord;
let redis: ReturnType<typeof createRedisConnection>;
let limiter: RateLimiter;
let outbox: Outbox;
let downloader: GuardedDownloader;

beforeAll(async () => {
  fake = await createFakeDiscord({ token: TOKEN });
  redis = createRedisConnection(testRedisUrl(), 'command');
  // What src/platforms/discord.ts builds from DISCORD_CDN_HOSTS; here the fake's CDN.
  downloader = createGuardedDownloader({ allowed: [fake.cdnHost] });
});
beforeEach(() => {
  fake.reset();
  limiter = createRedisRateLimiter({ redis, keys: createRedisKeys(uniquePrefix('dco')) });
  outbox = createDiscordOutbox({ token: TOKEN, apiUrl: fake.apiUrl, rateLimiter: limiter, downloader, log: silent, requestsPerSecond: 50 });
});
afterAll(async () => {
  expect(fake.violations).toEqual([]);
  await downloader.close();
  await closeRedis(redis);
  await fake.stop();
});

const guildChat = () => ({ platform: 'discord' as const, id: fake.channelId, kind: 'group' as const });

describe('discord outbox', () => {
  it('replies in the channel (or thread), then edits; a repeated text costs no request', async () => {
    const sent = await outbox.send({ chat: guildChat(), replyToMessageId: '555' }, 'hello', { final: false });
    await outbox.edit({ chat: guildChat() }, sent, 'hello world', { final: false });
    await outbox.edit({ chat: guildChat() }, sent, 'hello world', { final: true });
    expect(fake.requestsTo('PATCH', '/channels/{channel_id}/messages/{message_id}')).toHaveLength(1);
    expect(fake.botMessages({ channelId: fake.channelId }).map((m) => m.versions)).toEqual([['hello', 'hello world']]);

    await outbox.send({ chat: { ...guildChat(), threadId: fake.botThreadId } }, 'in the thread', { final: true });
    expect(fake.botMessages({ channelId: fake.botThreadId }).map((m) => m.content)).toEqual(['in the thread']);
  });

  it('answers an interaction in its deferred response, then in follow-ups', async () => {
    const interaction = fake.slashCommand({ name: 'ask', options: { prompt: 'q' } });
    await fetch(`${fake.apiUrl}/v10/interactions/${interaction.id}/${interaction.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 5 }),
    });
    const replyHandle = encodeReplyHandle({ applicationId: fake.applicationId, interactionToken: interaction.token });
    const target = { chat: guildChat(), replyToMessageId: interaction.id, replyHandle };
    const first = await outbox.send(target, 'part one', { final: false });
    await outbox.edit(target, first, 'part one, done', { final: true });
    const second = await outbox.send({ chat: guildChat(), replyHandle }, 'part two', { final: true });
    // A notice sent to the same target after the original was filled must not overwrite it.
    await outbox.send(target, 'a notice', { final: true });
    expect(second.id).not.toBe(first.id);
    expect(fake.botMessages({ interactionToken: interaction.token }).map((m) => m.content)).toEqual(['part one, done', 'part two', 'a notice']);
    expect(fake.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original')).toHaveLength(2);
    expect(fake.requestsTo('POST', '/webhooks/{webhook_id}/{webhook_token}')).toHaveLength(2);
    // Typing is Discord's "thinking…" for a deferred interaction: nothing to send.
    await outbox.showTyping(target);
    expect(fake.requestsTo('POST', '/channels/{channel_id}/typing')).toHaveLength(0);
  });

  it('says which call Discord refused, with its code, never the interaction token', async () => {
    const replyHandle = encodeReplyHandle({ applicationId: fake.applicationId, interactionToken: 'secret-interaction-token' });
    const error = await outbox.send({ chat: guildChat(), replyHandle }, 'x', { final: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiscordApiError);
    expect(error).toMatchObject({ status: 404, discordCode: 10015 });
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack })).not.toMatch(
      /secret-interaction-token|outbox-test-token/,
    );
  });

  it('a global 429 holds every process sharing the token, through the shared limiter', async () => {
    const pauses: Array<[string, number]> = [];
    const spy: RateLimiter = { ...limiter, pause: async (key, ms) => void pauses.push([key, ms]) };
    const watched = createDiscordOutbox({ token: TOKEN, apiUrl: fake.apiUrl, rateLimiter: spy, downloader, log: silent, requestsPerSecond: 50 });
    fake.enqueueRateLimit({ retryAfterSeconds: 0.2 });
    await watched.send({ chat: guildChat() }, 'route limited', { final: true });
    expect(pauses).toEqual([]);
    fake.enqueueRateLimit({ retryAfterSeconds: 0.3, global: true });
    await watched.send({ chat: guildChat() }, 'globally limited', { final: true });
    expect(fake.requestsTo('POST', '/channels/{channel_id}/messages').map((r) => r.status)).toEqual([429, 200, 429, 200]);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]![0]).toBe(globalLimit(TOKEN, 50).key);
    expect(pauses[0]![1]).toBeGreaterThanOrEqual(300);
  });

  it('shows typing for every activity outside an interaction', async () => {
    await outbox.showTyping({ chat: guildChat() }, 'record_voice');
    await outbox.showTyping({ chat: guildChat() }, 'upload_photo');
    expect(fake.requestsTo('POST', '/channels/{channel_id}/typing')).toHaveLength(2);
  });
});

/** The Attachment the gateway makes of a Discord attachment object. */
const asAttachment = (a: DiscordAttachmentObject, kind: Attachment['kind'] = 'voice'): Attachment => ({
  kind,
  fileRef: a.url,
  ...(a.content_type ? { mimeType: a.content_type } : {}),
  sizeBytes: a.size,
  fileName: a.filename,
});

/** The rejection of a promise that must reject. */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );

describe('discord outbox files', () => {
  it('downloads an attachment from the CDN', async () => {
    const bytes = Buffer.from('OggS fake opus bytes');
    const attachment = fake.registerAttachment(bytes, { name: 'voice-message.ogg', contentType: 'audio/ogg', voice: { durationSecs: 2.5 } });
    const file = await outbox.fetchFile(asAttachment(attachment), { maxBytes: 1024 });
    expect(Buffer.from(file.bytes)).toEqual(bytes);
    expect(file).toMatchObject({ mimeType: 'audio/ogg', fileName: 'voice-message.ogg' });
    expect(fake.downloads).toEqual([{ path: expect.stringMatching(/^\/attachments\/.*\/voice-message\.ogg$/), status: 200 }]);
  });

  it('refuses a file over the limit before downloading a byte', async () => {
    const attachment = fake.registerAttachment(Buffer.from('small, but says it is big'), { name: 'talk.mp3', contentType: 'audio/mpeg', size: 26 * 1024 * 1024 });
    const error = await rejection(outbox.fetchFile(asAttachment(attachment, 'audio'), { maxBytes: 25 * 1024 * 1024 }));
    expect(error).toBeInstanceOf(FileTooLargeError);
    expect(error).toMatchObject({ sizeBytes: 26 * 1024 * 1024, maxBytes: 25 * 1024 * 1024 });
    expect(outbox.maxFileBytes).toBeGreaterThanOrEqual(25 * 1024 * 1024);
    expect(fake.downloads).toEqual([]);
  });

  it('never fetches an attachment URL on a host outside DISCORD_CDN_HOSTS', async () => {
    const attachment = fake.registerAttachment(Buffer.from('OggS'), { name: 'voice-message.ogg', contentType: 'audio/ogg' });
    for (const url of [
      attachment.url.replace('127.0.0.1', 'localhost'),
      attachment.url.replace(/:\d+\//, ':1/'),
      'file:///etc/passwd',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const error = await rejection(outbox.fetchFile({ ...asAttachment(attachment), fileRef: url }, { maxBytes: 1024 }));
      expect(error).toBeInstanceOf(FileFetchError);
      expect(error).toMatchObject({ retryable: false });
      // The signed URL's query and path never reach an error.
      expect((error as Error).message).not.toMatch(/hm=|attachments|passwd|meta-data/);
    }
    expect(fake.downloads).toEqual([]);
  });

  it('says a file is gone when the CDN refuses it, naming the host only', async () => {
    const attachment = fake.registerAttachment(Buffer.from('OggS'), { name: 'voice-message.ogg', contentType: 'audio/ogg' });
    const unsigned = attachment.url.replace(/hm=[0-9a-f]+/, 'hm=0');
    const error = await rejection(outbox.fetchFile({ ...asAttachment(attachment), fileRef: unsigned }, { maxBytes: 1024 }));
    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as Error).message).toContain('404');
    expect((error as Error).message).not.toContain('hm=');
  });

  it('uploads an image as a reply in the channel, the caption as its content', async () => {
    const png = createPng(4, 4, [200, 40, 40]);
    const image = { bytes: new Uint8Array(png), mimeType: 'image/png', fileName: 'image.png' };
    const sent = await outbox.sendImage({ chat: guildChat(), replyToMessageId: '555' }, image, 'a red fox');
    const [message] = fake.botMessages({ channelId: fake.channelId });
    expect(message).toMatchObject({ id: sent.id, content: 'a red fox', message_reference: { message_id: '555' } });
    expect(message!.attachments).toHaveLength(1);
    expect(message!.attachments[0]).toMatchObject({ filename: 'image.png', content_type: 'image/png', size: png.length });
    expect(message!.attachments[0]!.bytes!.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const [request] = fake.requestsTo('POST', '/channels/{channel_id}/messages');
    expect(request!.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(request!.files).toEqual([{ name: 'files[0]', filename: 'image.png', size: png.length, contentType: 'image/png' }]);
    expect(request!.body).toEqual({
      content: 'a red fox',
      attachments: [{ id: '0', filename: 'image.png' }],
      allowed_mentions: { parse: [], replied_user: false },
      message_reference: { message_id: '555', fail_if_not_exists: false },
    });
  });

  it('cuts a long caption to Discord\'s 2000 characters', async () => {
    const image = { bytes: new Uint8Array(createPng()), mimeType: 'image/png', fileName: 'image.png' };
    await outbox.sendImage({ chat: guildChat() }, image, 'fox '.repeat(1000));
    const [message] = fake.botMessages({ channelId: fake.channelId });
    expect(message!.content.length).toBeLessThanOrEqual(2000);
    expect(message!.content.endsWith('…')).toBe(true);
    expect(message!.attachments).toHaveLength(1);
  });

  it('delivers an image into a deferred interaction, then as a follow-up', async () => {
    const interaction = fake.slashCommand({ name: 'imagine', options: { prompt: 'a red fox' } });
    await fetch(`${fake.apiUrl}/v10/interactions/${interaction.id}/${interaction.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 5 }),
    });
    const replyHandle = encodeReplyHandle({ applicationId: fake.applicationId, interactionToken: interaction.token });
    const target = { chat: guildChat(), replyToMessageId: interaction.id, replyHandle };
    const image = { bytes: new Uint8Array(createPng()), mimeType: 'image/png', fileName: 'image.png' };
    await outbox.showTyping(target, 'upload_photo');
    const first = await outbox.sendImage(target, image, 'a red fox');
    const second = await outbox.sendImage(target, image, 'another fox');
    expect(second.id).not.toBe(first.id);
    const messages = fake.botMessages({ interactionToken: interaction.token });
    expect(messages.map((m) => [m.content, m.attachments.map((a) => a.filename)])).toEqual([
      ['a red fox', ['image.png']],
      ['another fox', ['image.png']],
    ]);
    const edit = fake.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original');
    expect(edit).toHaveLength(1);
    expect(edit[0]!.files).toHaveLength(1);
    expect(edit[0]!.headers['authorization']).toBeUndefined();
    expect(fake.requestsTo('POST', '/webhooks/{webhook_id}/{webhook_token}')[0]!.files).toHaveLength(1);
    expect(fake.requestsTo('POST', '/channels/{channel_id}/typing')).toHaveLength(0);
  });
});

describe('discord outbox moderation', () => {
  const moderatedChat = (): ChatRef => ({ platform: 'discord', id: fake.channelId, kind: 'group', guildId: fake.guildId });
  const userMessageId = (content = 'a message'): string => String(fake.userMessage({ content })['id']);

  it("deletes a user's message with an audit-log reason; a message already gone counts as deleted", async () => {
    const id = userMessageId();
    await outbox.deleteMessage!(moderatedChat(), id);
    expect(fake.deleted.map((m) => m.id)).toEqual([id]);
    const [request] = fake.requestsTo('DELETE', '/channels/{channel_id}/messages/{message_id}');
    expect(request!.path).toBe(`/channels/${fake.channelId}/messages/${id}`);
    expect(decodeURIComponent(String(request!.headers['x-audit-log-reason']))).toBe('Switchboard community moderation');
    await expect(outbox.deleteMessage!(moderatedChat(), id)).resolves.toBeUndefined();
  });

  it('says the bot lacks the permission when Discord answers 403 Missing Permissions', async () => {
    fake.denyBot('manageMessages', fake.channelId);
    const id = userMessageId();
    const refused = await outbox.deleteMessage!(moderatedChat(), id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PermissionError);
    expect((refused as Error).message).toMatch(/403/);
    expect(fake.deleted).toEqual([]);
  });

  it('times a member out until now plus the seconds, capped at 28 days', async () => {
    await outbox.timeoutMember!(moderatedChat(), '200000000000000005', 600);
    await outbox.timeoutMember!(moderatedChat(), '200000000000000006', 365 * 24 * 3600);
    expect(fake.timeouts.map((t) => [t.userId, t.reason])).toEqual([
      ['200000000000000005', 'Switchboard community moderation'],
      ['200000000000000006', 'Switchboard community moderation'],
    ]);
    const [first, capped] = fake.timeouts.map((t) => Date.parse(t.until!) - Date.now());
    expect(first).toBeGreaterThan(500_000);
    expect(first).toBeLessThanOrEqual(600_000);
    expect(capped).toBeLessThanOrEqual(28 * 24 * 3600 * 1000);
    expect(capped).toBeGreaterThan(27 * 24 * 3600 * 1000);
  });

  it('refuses a timeout without Moderate Members, for the owner, and outside a guild, as missing permissions', async () => {
    await expect(outbox.timeoutMember!(moderatedChat(), fake.ownerId, 60)).rejects.toBeInstanceOf(PermissionError);
    fake.denyBot('moderateMembers');
    await expect(outbox.timeoutMember!(moderatedChat(), '200000000000000005', 60)).rejects.toBeInstanceOf(PermissionError);
    await expect(outbox.timeoutMember!({ platform: 'discord', id: fake.channelId, kind: 'group' }, '200000000000000005', 60)).rejects.toBeInstanceOf(
      PermissionError,
    );
    expect(fake.timeouts).toEqual([]);
  });

  it('links to a message in its guild channel or thread', () => {
    expect(outbox.messageLink!(moderatedChat(), '42')).toBe(`https://discord.com/channels/${fake.guildId}/${fake.channelId}/42`);
    expect(outbox.messageLink!({ ...moderatedChat(), threadId: fake.userThreadId }, '42')).toBe(
      `https://discord.com/channels/${fake.guildId}/${fake.userThreadId}/42`,
    );
  });
});
