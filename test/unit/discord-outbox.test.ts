/**
 * The Discord Outbox against the fake Discord and the real Redis rate limiter: channel
 * replies, the interaction flow (@original, then follow-ups), skipped repeats, errors
 * that name the route but never a token, and a global 429 pausing every process.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordOutbox } from '../../adapters/discord/discord.outbox.js';
import { DiscordApiError } from '../../adapters/discord/discord.errors.js';
import { globalLimit } from '../../adapters/discord/discord.limits.js';
import { encodeReplyHandle } from '../../adapters/discord/discord.reply-handle.js';
import { createRedisRateLimiter } from '../../src/infra/ratelimit/index.js';
import { closeRedis, createRedisConnection } from '../../src/infra/redis/connection.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import type { Logger, Outbox, RateLimiter } from '../../src/ports/index.js';
import { createFakeDiscord, type FakeDiscord } from '../fakes/discord.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const TOKEN = 'outbox-test-token.discord';
const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

let fake: FakeDiscord;
let redis: ReturnType<typeof createRedisConnection>;
let limiter: RateLimiter;
let outbox: Outbox;

beforeAll(async () => {
  fake = await createFakeDiscord({ token: TOKEN });
  redis = createRedisConnection(testRedisUrl(), 'command');
});
beforeEach(() => {
  fake.reset();
  limiter = createRedisRateLimiter({ redis, keys: createRedisKeys(uniquePrefix('dco')) });
  outbox = createDiscordOutbox({ token: TOKEN, apiUrl: fake.apiUrl, rateLimiter: limiter, log: silent });
});
afterAll(async () => {
  expect(fake.violations).toEqual([]);
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
    const watched = createDiscordOutbox({ token: TOKEN, apiUrl: fake.apiUrl, rateLimiter: spy, log: silent });
    fake.enqueueRateLimit({ retryAfterSeconds: 0.2 });
    await watched.send({ chat: guildChat() }, 'route limited', { final: true });
    expect(pauses).toEqual([]);
    fake.enqueueRateLimit({ retryAfterSeconds: 0.3, global: true });
    await watched.send({ chat: guildChat() }, 'globally limited', { final: true });
    expect(fake.requestsTo('POST', '/channels/{channel_id}/messages').map((r) => r.status)).toEqual([429, 200, 429, 200]);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]![0]).toBe(globalLimit(TOKEN).key);
    expect(pauses[0]![1]).toBeGreaterThanOrEqual(300);
  });
});
