/**
 * Discord sharding end to end, through the real discord.js and the real wiring. The fake
 * Discord has two guilds on different shards of two, recommends two shards, and refuses an
 * unsharded session (4011), as Discord does for a bot with too many guilds per session; it
 * sends each guild's events on its own shard only. With DISCORD_SHARDS unset one process
 * holds both shards; with DISCORD_SHARDS=2 two gateway processes split them, and a worker
 * answers for both; two gateways holding the same shards still answer each message once.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeDiscord, type FakeDiscord, type FakeMessage } from '../fakes/discord.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';

const BOT_TOKEN = 'test-token.discord.shards';
const API_KEY = 'sk-test-discord-shards-0123456789';
const { log, lines: logLines } = captureLogs([], { forbidden: [BOT_TOKEN, API_KEY] });

let discord: FakeDiscord;
let openai: FakeOpenAI;
const apps: RunningApp[] = [];

type Role = 'all' | 'gateway' | 'worker';

function configFor(env: Record<string, string>): ReturnType<typeof parseConfig> {
  return parseConfig({
    DISCORD_BOT_TOKEN: BOT_TOKEN,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_IDS: `${discord.guildId},${discord.secondGuildId}`,
    REDIS_URL: testRedisUrl(),
    OPENAI_BASE_URL: openai.url,
    OPENAI_API_KEY: API_KEY,
    PORT: '0',
    ...env,
  });
}

async function start(env: Record<string, string>, role: Role = 'all', logger: typeof log = log): Promise<RunningApp> {
  const app = await startApp(configFor(env), { log: logger, role });
  apps.push(app);
  return app;
}

/** A gateway's own log, to tell which process took which message. */
function gatewayLog(): ReturnType<typeof captureLogs> {
  const captured = captureLogs([], { forbidden: [BOT_TOKEN, API_KEY] });
  gatewayLogs.push(captured.lines);
  return captured;
}
const gatewayLogs: string[][] = [];

/** The channels of the jobs a gateway queued (`fresh`) or found queued already (`duplicate`), from its log. */
function queuedBy(lines: readonly string[]): { fresh: string[]; duplicate: string[] } {
  const entries = lines
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; jobId?: string });
  // Job ids are `discord:<channel>:<message>`.
  const channels = (msg: string): string[] => entries.filter((e) => e.msg === msg).map((e) => String(e.jobId).split(':')[1]!);
  return { fresh: channels('message queued'), duplicate: channels('message already queued') };
}

/** The `[id, count]` of each IDENTIFY since the last reset, in order. */
const identified = (): unknown[] => discord.sessions.filter((s) => s.op === 'identify').map((s) => s.d['shard']);

/** What the model was asked, last message of each chat completion. */
const askedOf = (): unknown[] =>
  openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content);

/** Waits until the bot's messages in `channelId` show `text`; returns them. */
async function answered(channelId: string, text: string): Promise<FakeMessage[]> {
  await discord.waitFor(() => discord.botMessages({ channelId }).some((m) => m.content === text), 15_000);
  return discord.botMessages({ channelId });
}

/** A mention in each guild and a DM; waits until all three are answered, and checks each was asked once. Returns the DM channel. */
async function askEverywhere(tag: string): Promise<string> {
  const first = `${tag} in the first guild`;
  const second = `${tag} in the second guild`;
  const private_ = `${tag} in a DM`;
  discord.userMessage({ content: first, mentionBot: true, channelId: discord.channelId });
  discord.userMessage({ content: second, mentionBot: true, channelId: discord.secondGuildChannelId });
  const dm = discord.userMessage({ content: private_, dm: true });
  await answered(discord.channelId, `Echo: ${first}`);
  await answered(discord.secondGuildChannelId, `Echo: ${second}`);
  await answered(String(dm['channel_id']), `Echo: ${private_}`);
  for (const text of [first, second, private_]) expect(askedOf().filter((asked) => asked === text), text).toHaveLength(1);
  return String(dm['channel_id']);
}

beforeAll(async () => {
  // max_concurrency 2, as Discord grants bots this large: both shards may identify at once
  // (with 1, discord.js spaces them 5 seconds apart).
  discord = await createFakeDiscord({ token: BOT_TOKEN, shards: 2, maxConcurrency: 2, maxGuildsPerShard: 1 });
  openai = await createFakeOpenAI({ apiKey: API_KEY });
});

beforeEach(() => discord.reset());

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  gatewayLogs.length = 0;
  expect(discord.violations).toEqual([]);
  expect(openai.violations).toEqual([]);
  openai.reset();
});

afterAll(async () => {
  await discord.stop();
  await openai.stop();
  const output = [logLines, ...gatewayLogs].flat().join('');
  expect(output).not.toContain(BOT_TOKEN);
});

describe('discord sharding', () => {
  it("holds every shard Discord recommends in one process by default, and answers in guilds on each", async () => {
    await start({ QUEUE_PREFIX: uniquePrefix('dc-shards-auto') });
    expect(identified().sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(discord.liveShards()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    await askEverywhere('auto');
    // A slash command in the second guild arrives on shard 1.
    const command = discord.slashCommand({ name: 'ask', options: { prompt: 'a command on shard one' }, channelId: discord.secondGuildChannelId });
    await discord.waitFor(() => discord.botMessages({ interactionToken: command.token }).some((m) => m.content === 'Echo: a command on shard one'), 15_000);
    expect(logLines.join('')).toMatch(/"shards":\[0,1\],"shardCount":2[^\n]*discord gateway ready/);
  });

  it('splits a fixed shard count across gateway processes; one worker answers every guild once', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-shards-split');
    const shard = (id: number): Record<string, string> => ({ QUEUE_PREFIX, DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: String(id) });
    const zero = gatewayLog();
    const one = gatewayLog();
    await start(shard(0), 'gateway', zero.log);
    expect(identified()).toEqual([[0, 2]]);
    await start(shard(1), 'gateway', one.log);
    expect(identified()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    await start({ QUEUE_PREFIX }, 'worker');
    // The process holding shard 0 registered the commands, in each guild; the other did not.
    expect(discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands').map((r) => r.path)).toEqual([
      `/applications/${discord.applicationId}/guilds/${discord.guildId}/commands`,
      `/applications/${discord.applicationId}/guilds/${discord.secondGuildId}/commands`,
    ]);

    const dmChannel = await askEverywhere('split');
    const command = discord.slashCommand({ name: 'ask', options: { prompt: 'a split command' }, channelId: discord.secondGuildChannelId });
    await discord.waitFor(() => discord.botMessages({ interactionToken: command.token }).some((m) => m.content === 'Echo: a split command'), 15_000);
    // Each process took only what arrived on its shard: the first guild and DMs on 0, the second guild on 1.
    await expect.poll(() => queuedBy(zero.lines), { timeout: 5_000 }).toEqual({ fresh: [discord.channelId, dmChannel], duplicate: [] });
    await expect.poll(() => queuedBy(one.lines), { timeout: 5_000 }).toEqual({ fresh: [discord.secondGuildChannelId, discord.secondGuildChannelId], duplicate: [] });

    // Shard 1's process stops: the second guild goes unheard, the first is still answered.
    const [, shardOne] = apps;
    await shardOne!.stop();
    expect(discord.liveShards()).toEqual([[0, 2]]);
    discord.userMessage({ content: 'nobody holds shard one', mentionBot: true, channelId: discord.secondGuildChannelId });
    discord.userMessage({ content: 'shard zero still here', mentionBot: true, channelId: discord.channelId });
    await answered(discord.channelId, 'Echo: shard zero still here');
    // Shard 1 back: a later message in the second guild is answered, and (a channel answers
    // in order) the one sent while nobody held its shard never was.
    await start(shard(1), 'gateway');
    discord.userMessage({ content: 'shard one is back', mentionBot: true, channelId: discord.secondGuildChannelId });
    await answered(discord.secondGuildChannelId, 'Echo: shard one is back');
    expect(askedOf()).not.toContain('nobody holds shard one');
  });

  it('answers once when two gateway processes hold the same shards and both get the message', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-shards-twice');
    const first = gatewayLog();
    const second = gatewayLog();
    await start({ QUEUE_PREFIX }, 'gateway', first.log);
    await start({ QUEUE_PREFIX }, 'gateway', second.log);
    await start({ QUEUE_PREFIX }, 'worker');
    expect(discord.liveShards()).toEqual([
      [0, 2],
      [0, 2],
      [1, 2],
      [1, 2],
    ]);
    const dmChannel = await askEverywhere('twice');
    expect(discord.botMessages({ channelId: discord.channelId })).toHaveLength(1);
    expect(discord.botMessages({ channelId: discord.secondGuildChannelId })).toHaveLength(1);
    // Both processes got each message; the job id made one job of each.
    const sorted = (channels: string[]): string[] => [...channels].sort();
    const everyMessage = sorted([discord.channelId, discord.secondGuildChannelId, dmChannel]);
    const both = (which: 'fresh' | 'duplicate'): string[] => sorted([...queuedBy(first.lines)[which], ...queuedBy(second.lines)[which]]);
    expect(both('fresh')).toEqual(everyMessage);
    // The later copy may still be making sure the first was added.
    await expect.poll(() => both('duplicate'), { timeout: 5_000 }).toEqual(everyMessage);
  });

  it('refuses to start a gateway whose shard count disagrees with the running ones', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-shards-bad');
    await start({ QUEUE_PREFIX, DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '0' }, 'gateway');
    await expect(start({ QUEUE_PREFIX, DISCORD_SHARDS: '3', DISCORD_SHARD_IDS: '1' }, 'gateway')).rejects.toThrow(/Invalid shard/);
    await expect(start({ QUEUE_PREFIX, DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '2' }, 'gateway')).rejects.toThrow(/DISCORD_SHARD_IDS: 2 outside DISCORD_SHARDS=2/);
    expect(discord.liveShards()).toEqual([[0, 2]]);
  });
});
