/**
 * Redis goes away under a running Discord gateway: a mention and a slash command are
 * answered at once with "temporarily unavailable" (never silence, never a ping), and once
 * Redis is back the bot answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { startOutageRedis, type OutageRedis } from '../support/outage-redis.js';
import { createFakeDiscord, type FakeDiscord } from '../fakes/discord.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { uniquePrefix } from '../support/redis.js';

const UNAVAILABLE = 'The bot is temporarily unavailable. Try again in a moment.';
let discord: FakeDiscord;
let openai: FakeOpenAI;
let redis: OutageRedis;
let app: RunningApp;

beforeAll(async () => {
  discord = await createFakeDiscord();
  openai = await createFakeOpenAI();
  redis = await startOutageRedis();
  const config = parseConfig({
    DISCORD_BOT_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_IDS: discord.guildId,
    REDIS_URL: redis.url,
    OPENAI_BASE_URL: openai.url,
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('dc-outage'),
  });
  app = await startApp(config, { log: pino({ level: 'silent' }) });
  await discord.whenReady();
});

afterAll(async () => {
  await app?.stop();
  await redis?.dispose();
  await discord?.stop();
  await openai?.stop();
});

describe('Discord during a Redis outage', () => {
  it('tells users the bot is unavailable, then answers again when Redis returns', async () => {
    await redis.stop();
    const question = discord.userMessage({ content: 'anyone?', mentionBot: true });
    await discord.waitFor(() => discord.botMessages({ channelId: discord.channelId }).some((m) => m.content === UNAVAILABLE));
    const notice = discord.requestsTo('POST', '/channels/{channel_id}/messages')[0]!;
    expect(notice.body).toMatchObject({
      message_reference: { message_id: question['id'] },
      allowed_mentions: { parse: [], replied_user: false },
    });

    const slash = discord.slashCommand({ name: 'ask', options: { prompt: 'hello?' } });
    await discord.waitFor(() => discord.botMessages({ interactionToken: slash.token }).some((m) => m.content === UNAVAILABLE));
    expect(discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback')).toHaveLength(1);

    await redis.restart();
    await expect.poll(async () => (await fetch(`${app.url}/readyz`)).status, { timeout: 15_000, interval: 200 }).toBe(200);
    discord.userMessage({ content: 'back?', mentionBot: true });
    await discord.waitFor(() => discord.botMessages({ channelId: discord.channelId }).some((m) => m.content === 'Echo: back?'), 15_000);
    expect(discord.violations).toEqual([]);
  });
});
