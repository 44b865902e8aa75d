/**
 * End to end through the real discord.js and the real wiring: fake Discord gateway →
 * discord.js → queue → chat worker → fake OpenAI → Discord Outbox → fake Discord REST.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { REPLIES } from '../../src/domain/replies.js';
import { createFakeDiscord, DISCORD_MAX_CONTENT, type FakeDiscord, type FakeMessage } from '../fakes/discord.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { PNG_SIGNATURE } from '../fakes/png.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { captureLogs } from '../support/logs.js';

const BOT_TOKEN = 'test-token.discord.x';
const API_KEY = 'sk-test-discord-0123456789';
// No secrets given to the scrubber: the adapter itself must never write the token.
const { log, lines: logLines } = captureLogs([], { forbidden: [BOT_TOKEN, API_KEY] });

let discord: FakeDiscord;
let openai: FakeOpenAI;
const apps: RunningApp[] = [];

async function start(env: Record<string, string> = {}, role: 'all' | 'gateway' | 'worker' = 'all'): Promise<RunningApp> {
  const config = parseConfig({
    DISCORD_BOT_TOKEN: BOT_TOKEN,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_IDS: discord.guildId,
    REDIS_URL: testRedisUrl(),
    OPENAI_BASE_URL: openai.url,
    OPENAI_API_KEY: API_KEY,
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('dc'),
    ...env,
  });
  const app = await startApp(config, { log, role });
  apps.push(app);
  if (role !== 'worker') await discord.whenReady();
  return app;
}

/** Every body the bot sent that creates or edits a message. */
function messageBodies(): Array<Record<string, unknown>> {
  return discord.requests
    .filter((r) => (r.method === 'POST' || r.method === 'PATCH') && /messages|^\/webhooks\//.test(r.route))
    .map((r) => r.body as Record<string, unknown>);
}

/** The bot's final answer in a channel: its messages' contents, in order. */
async function answerIn(channelId: string, predicate: (messages: FakeMessage[]) => boolean, timeoutMs = 10_000): Promise<FakeMessage[]> {
  await discord.waitFor(() => predicate(discord.botMessages({ channelId })), timeoutMs);
  return discord.botMessages({ channelId });
}

/** True once the answer `text` is fully shown as the last version of one message. */
const shows = (text: string) => (messages: FakeMessage[]) => messages.some((m) => m.content === text);

beforeAll(async () => {
  discord = await createFakeDiscord({ token: BOT_TOKEN });
  openai = await createFakeOpenAI({ apiKey: API_KEY });
});

beforeEach(() => {
  discord.reset();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  expect(discord.violations).toEqual([]);
  expect(openai.violations).toEqual([]);
  openai.reset();
});

afterAll(async () => {
  await discord.stop();
  await openai.stop();
  const output = logLines.join('');
  expect(output).toContain('discord gateway ready');
  expect(output).not.toContain(BOT_TOKEN);
});

describe('discord adapter', () => {
  it('connects, registers the slash commands, and answers a mention in a guild channel as a reply', async () => {
    await start();
    expect(discord.sessions[0]).toMatchObject({ op: 'identify', d: { token: BOT_TOKEN } });
    const intents = Number(discord.sessions[0]!.d['intents']);
    // Guilds | GuildMessages | DirectMessages | MessageContent
    expect(intents & (1 | 512 | 4096 | 32768)).toBe(1 | 512 | 4096 | 32768);
    const registered = discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands');
    expect(registered).toHaveLength(1);
    expect((registered[0]!.body as Array<{ name: string }>).map((c) => c.name)).toEqual(['ask', 'reset', 'imagine', 'moderation', 'persona', 'model', 'scope', 'settings']);

    const question = discord.userMessage({ content: 'what is 2+2?', mentionBot: true });
    const [answer] = await answerIn(discord.channelId, shows('Echo: what is 2+2?'));
    expect(answer!.message_reference).toEqual({ message_id: question['id'] });
    const create = discord.requestsTo('POST', '/channels/{channel_id}/messages')[0]!;
    expect(create.body).toMatchObject({
      message_reference: { message_id: question['id'], fail_if_not_exists: false },
      allowed_mentions: { parse: [], replied_user: false },
    });
    expect(create.headers['authorization']).toBe(`Bot ${BOT_TOKEN}`);
    // The answer came at once: no typing indicator was spent on it.
    expect(discord.requestsTo('POST', '/channels/{channel_id}/typing')).toHaveLength(0);
    // The model read the question without the mention.
    const prompt = (openai.requestsTo('/chat/completions')[0]!.body as { messages: Array<{ content: string }> }).messages;
    expect(prompt.at(-1)?.content).toBe('what is 2+2?');
  });

  it('streams the answer into its message by editing it', async () => {
    const answer = 'Streaming into Discord, one edit at a time. '.repeat(12).trim();
    openai.chatReply = () => answer;
    openai.streamChunkSize = 24;
    openai.streamDelayMs = 60;
    await start();
    discord.userMessage({ content: 'stream please', mentionBot: true });
    const [message] = await answerIn(discord.channelId, shows(answer), 20_000);
    // It showed a partial answer first, then grew by edits to the whole.
    expect(message!.versions.length).toBeGreaterThan(1);
    expect(message!.versions[0]!.length).toBeLessThan(answer.length);
    const edits = discord.requestsTo('PATCH', '/channels/{channel_id}/messages/{message_id}');
    expect(edits.length).toBeGreaterThan(0);
    expect(discord.botMessages({ channelId: discord.channelId })).toHaveLength(1);
  });

  it('registers the commands globally without DISCORD_GUILD_IDS', async () => {
    await start({ DISCORD_GUILD_IDS: '' });
    const registered = discord.requestsTo('PUT', '/applications/{application_id}/commands');
    expect(registered).toHaveLength(1);
    expect(discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands')).toHaveLength(0);
  });

  it('answers through a worker process that has no gateway connection', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-roles');
    await start({ QUEUE_PREFIX }, 'gateway');
    await start({ QUEUE_PREFIX }, 'worker');
    discord.userMessage({ content: 'split roles', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: split roles'));
    // One gateway connection: the worker's Outbox used REST alone.
    expect(discord.sessions.filter((s) => s.op === 'identify')).toHaveLength(1);
  });

  it('answers a DM', async () => {
    await start();
    const question = discord.userMessage({ content: 'hello in private', dm: true });
    const [answer] = await answerIn(String(question['channel_id']), shows('Echo: hello in private'));
    expect(answer!.guild_id).toBeUndefined();
  });

  it('does not answer a message that does not address it, nor its own or other bots\' messages', async () => {
    await start();
    discord.userMessage({ content: 'just chatting among humans' });
    discord.userMessage({ content: 'a bot talking', author: { id: '200000000000000077', username: 'otherbot', bot: true }, mentionBot: true });
    discord.userMessage({ content: 'chatting in a user thread', channelId: discord.userThreadId });
    // Markers that are answered: each conversation answers in order, so once they are, the
    // messages before them were seen and skipped.
    discord.userMessage({ content: 'marker', mentionBot: true });
    discord.userMessage({ content: 'thread marker', channelId: discord.userThreadId, mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: marker'));
    await answerIn(discord.userThreadId, shows('Echo: thread marker'));
    // The fake echoes the bot's own answers through the gateway, as Discord does; had the bot
    // taken them, they would be answered before this second marker.
    discord.userMessage({ content: 'marker 2', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: marker 2'));
    const prompts = openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content);
    expect([...prompts].sort()).toEqual(['marker', 'marker 2', 'thread marker']);
    expect(discord.botMessages({}).length).toBe(3);
  });

  it('keeps a thread\'s history apart from its channel\'s, and answers in a thread it started without a mention', async () => {
    await start();
    discord.userMessage({ content: 'my name is Ann', channelId: discord.botThreadId });
    await answerIn(discord.botThreadId, shows('Echo: my name is Ann'));
    discord.userMessage({ content: 'channel talk', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: channel talk'));
    discord.userMessage({ content: 'what is my name?', channelId: discord.botThreadId });
    await answerIn(discord.botThreadId, shows('Echo: what is my name?'));

    const prompts = openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.slice(1).map((m) => m.content));
    expect(prompts).toEqual([['my name is Ann'], ['channel talk'], ['my name is Ann', 'Echo: my name is Ann', 'what is my name?']]);
  });

  it('answers a reply to one of its messages', async () => {
    await start();
    discord.userMessage({ content: 'first', mentionBot: true });
    const [first] = await answerIn(discord.channelId, shows('Echo: first'));
    // With the reply's ping turned off, so only the reference says it is for the bot.
    discord.userMessage({ content: 'and then?', replyTo: first, replyPing: false });
    await answerIn(discord.channelId, shows('Echo: and then?'));
  });

  it('defers /ask at once, then edits the answer in', async () => {
    await start();
    const interaction = discord.slashCommand({ name: 'ask', options: { prompt: 'slash question' } });
    await discord.waitFor(() => discord.botMessages({ interactionToken: interaction.token }).some((m) => m.content === 'Echo: slash question'));
    const callback = discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback');
    expect(callback).toHaveLength(1);
    expect(callback[0]!.body).toMatchObject({ type: 5 });
    const edits = discord.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original');
    expect(edits.length).toBeGreaterThan(0);
    // The deferral came before any answer.
    expect(discord.requests.indexOf(callback[0]!)).toBeLessThan(discord.requests.indexOf(edits[0]!));
    expect(edits.every((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('/reset forgets the channel\'s history', async () => {
    await start();
    discord.userMessage({ content: 'remember this', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: remember this'));
    const reset = discord.slashCommand({ name: 'reset' });
    await discord.waitFor(() => discord.botMessages({ interactionToken: reset.token }).some((m) => m.content === REPLIES.historyCleared));
    discord.userMessage({ content: 'fresh start', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: fresh start'));
    const last = (openai.requestsTo('/chat/completions').at(-1)!.body as { messages: Array<{ content: string }> }).messages;
    expect(last.slice(1).map((m) => m.content)).toEqual(['fresh start']);
  });

  it('defers /imagine, then delivers the picture through the interaction', async () => {
    await start();
    const imagine = discord.slashCommand({ name: 'imagine', options: { prompt: 'a red fox' } });
    await discord.waitFor(() => discord.botMessages({ interactionToken: imagine.token }).some((m) => m.attachments.length > 0));
    expect(discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback')[0]!.body).toMatchObject({ type: 5 });
    const [picture] = discord.botMessages({ interactionToken: imagine.token });
    expect(picture!.attachments[0]!.bytes!.subarray(0, PNG_SIGNATURE.length)).toEqual(PNG_SIGNATURE);
    expect(openai.requestsTo('/images/generations')).toHaveLength(1);
  });

  it('delivers a 5,000-character answer as three messages, in order, each within 2000', async () => {
    const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8).trim();
    const paragraphs = Array.from({ length: 11 }, () => paragraph);
    const answer = paragraphs.join('\n\n');
    expect(answer.length).toBeGreaterThan(4_900);
    expect(answer.length).toBeLessThan(5_100);
    openai.chatReply = () => answer;
    openai.streamChunkSize = 200;
    await start({ MAX_COMPLETION_TOKENS: '5000' });
    discord.userMessage({ content: 'tell me a lot', mentionBot: true });
    const isDone = (messages: FakeMessage[]): boolean =>
      messages.map((m) => m.content).join('').replace(/\s+/g, '') === answer.replace(/\s+/g, '');
    const messages = await answerIn(discord.channelId, isDone, 20_000);
    expect(messages).toHaveLength(3);
    for (const message of messages) expect(message.content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT);
    // Only the first is a reply; the rest continue it.
    expect(messages[0]!.message_reference).toBeDefined();
    expect(messages.slice(1).every((m) => m.message_reference === undefined)).toBe(true);
    expect(messages.map((m) => m.content).join('\n\n')).toBe(answer);
  });

  it('never lets model output ping: allowed_mentions.parse is empty on every message request', async () => {
    openai.chatReply = () => 'Hey @everyone and @here, <@&300000000000000009> and <@200000000000000001>!';
    await start();
    discord.userMessage({ content: 'ping them all', mentionBot: true });
    await answerIn(discord.channelId, shows('Hey @everyone and @here, <@&300000000000000009> and <@200000000000000001>!'));
    const slash = discord.slashCommand({ name: 'ask', options: { prompt: 'again' } });
    await discord.waitFor(() => discord.botMessages({ interactionToken: slash.token }).some((m) => m.content.includes('@everyone')));
    const bodies = messageBodies();
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(body['allowed_mentions']).toEqual({ parse: [], replied_user: false });
  });

  it('shows typing while the model is slow to start', async () => {
    await start();
    openai.enqueueFault({ kind: 'slow', path: '/chat/completions', delayMs: 1_500 });
    discord.userMessage({ content: 'think hard', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: think hard'));
    expect(discord.requestsTo('POST', '/channels/{channel_id}/typing').length).toBeGreaterThan(0);
  });

  it('retries a message after Discord answers 429 with Retry-After, and counts the 429', async () => {
    const app = await start();
    discord.enqueueRateLimit({ match: 'POST /channels/{channel_id}/messages', retryAfterSeconds: 0.3 });
    discord.userMessage({ content: 'are you limited?', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: are you limited?'));
    const creates = discord.requestsTo('POST', '/channels/{channel_id}/messages');
    expect(creates.map((r) => r.status)).toEqual([429, 200]);
    expect(discord.botMessages({ channelId: discord.channelId })).toHaveLength(1);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_platform_errors_total\{platform="discord",status="429"\} [1-9]/);
  });

  it('answers a MESSAGE_CREATE once when the gateway replays it after a resume, and after a restart', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-replay');
    await start({ QUEUE_PREFIX });
    const question = discord.userMessage({ content: 'only once please', mentionBot: true });
    const seq = discord.sequence;
    await answerIn(discord.channelId, shows('Echo: only once please'));

    // The connection drops; on RESUME the fake replays from before the question.
    discord.replayOnResume(seq);
    discord.dropConnection();
    await discord.waitFor(() => discord.sessions.some((s) => s.op === 'resume'));
    const resume = discord.sessions.find((s) => s.op === 'resume')!;
    expect(Number(resume.d['seq'])).toBeGreaterThanOrEqual(seq);
    // Messages of one channel are answered in order: once this one is, the replay was handled.
    discord.userMessage({ content: 'after the resume', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: after the resume'));
    const askedOf = (): unknown[] =>
      openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content);
    expect(askedOf().filter((text) => text === 'only once please')).toHaveLength(1);
    // A new gateway process (a restart) sees the same MESSAGE_CREATE again.
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    discord.reset();
    await start({ QUEUE_PREFIX });
    discord.dispatch('MESSAGE_CREATE', question);
    discord.userMessage({ content: 'marker', mentionBot: true });
    await answerIn(discord.channelId, shows('Echo: marker'));
    expect(askedOf().filter((text) => text === 'only once please')).toHaveLength(1);
  });
});
