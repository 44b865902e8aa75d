/**
 * End to end through the real discord.js and the real wiring: fake Discord gateway →
 * discord.js → queue → chat worker → fake OpenAI → Discord Outbox → fake Discord REST.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import { DISCORD_MAX_CONTENT, type FakeMessage } from '../fakes/discord.js';
import { useDiscordHarness } from '../fakes/discord-harness.js';
import { PNG_SIGNATURE } from '../fakes/png.js';
import { uniquePrefix } from '../support/redis.js';

const BOT_TOKEN = 'test-token.discord.x';
const API_KEY = 'sk-test-discord-0123456789';
const h = useDiscordHarness({ token: BOT_TOKEN, apiKey: API_KEY, label: 'dc' });
const { start } = h;

/** Every body the bot sent that creates or edits a message. */
function messageBodies(): Array<Record<string, unknown>> {
  return h.discord.requests
    .filter((r) => (r.method === 'POST' || r.method === 'PATCH') && /messages|^\/webhooks\//.test(r.route))
    .map((r) => r.body as Record<string, unknown>);
}

/** The bot's final answer in a channel: its messages' contents, in order. */
async function answerIn(channelId: string, predicate: (messages: FakeMessage[]) => boolean, timeoutMs = 10_000): Promise<FakeMessage[]> {
  await h.discord.waitFor(() => predicate(h.discord.botMessages({ channelId })), timeoutMs);
  return h.discord.botMessages({ channelId });
}

/** True once the answer `text` is fully shown as the last version of one message. */
const shows = (text: string) => (messages: FakeMessage[]) => messages.some((m) => m.content === text);

afterAll(() => {
  expect(h.logLines.join('')).toContain('discord gateway ready');
});

describe('discord adapter', () => {
  it('connects, registers the slash commands, and answers a mention in a guild channel as a reply', async () => {
    await start();
    expect(h.discord.sessions[0]).toMatchObject({ op: 'identify', d: { token: BOT_TOKEN } });
    const intents = Number(h.discord.sessions[0]!.d['intents']);
    // Guilds | GuildMessages | DirectMessages | MessageContent
    expect(intents & (1 | 512 | 4096 | 32768)).toBe(1 | 512 | 4096 | 32768);
    const registered = h.discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands');
    expect(registered).toHaveLength(1);
    expect((registered[0]!.body as Array<{ name: string }>).map((c) => c.name)).toEqual([
      'ask',
      'reset',
      'redo',
      'imagine',
      'moderation',
      'persona',
      'model',
      'scope',
      'settings',
      'vary',
      'translate',
      'Translate',
      'Vary',
    ]);

    const question = h.discord.userMessage({ content: 'what is 2+2?', mentionBot: true });
    const [answer] = await answerIn(h.discord.channelId, shows('Echo: what is 2+2?'));
    expect(answer!.message_reference).toEqual({ message_id: question['id'] });
    const create = h.discord.requestsTo('POST', '/channels/{channel_id}/messages')[0]!;
    expect(create.body).toMatchObject({
      message_reference: { message_id: question['id'], fail_if_not_exists: false },
      allowed_mentions: { parse: [], replied_user: false },
    });
    expect(create.headers['authorization']).toBe(`Bot ${BOT_TOKEN}`);
    // No typing indicator once the answer shows (one came before it only if the answer took a while).
    const createdAt = h.discord.requests.indexOf(create);
    expect(h.discord.requests.slice(createdAt).filter((r) => r.route === '/channels/{channel_id}/typing')).toEqual([]);
    // The model read the question without the mention.
    const prompt = (h.openai.requestsTo('/chat/completions')[0]!.body as { messages: Array<{ content: string }> }).messages;
    expect(prompt.at(-1)?.content).toBe('what is 2+2?');
  });

  it('streams the answer into its message by editing it', async () => {
    const answer = 'Streaming into Discord, one edit at a time. '.repeat(12).trim();
    h.openai.chatReply = () => answer;
    // About 3.5 s of streaming: well past the first message's hold (one edit interval after the first word).
    h.openai.streamChunkSize = 24;
    h.openai.streamDelayMs = 150;
    await start();
    h.discord.userMessage({ content: 'stream please', mentionBot: true });
    const [message] = await answerIn(h.discord.channelId, shows(answer), 20_000);
    // It showed a partial answer first, then grew by edits to the whole.
    expect(message!.versions.length).toBeGreaterThan(1);
    expect(message!.versions[0]!.length).toBeLessThan(answer.length);
    const edits = h.discord.requestsTo('PATCH', '/channels/{channel_id}/messages/{message_id}');
    expect(edits.length).toBeGreaterThan(0);
    expect(h.discord.botMessages({ channelId: h.discord.channelId })).toHaveLength(1);
  });

  it('registers the commands globally without DISCORD_GUILD_IDS', async () => {
    await start({ DISCORD_GUILD_IDS: '' });
    const registered = h.discord.requestsTo('PUT', '/applications/{application_id}/commands');
    expect(registered).toHaveLength(1);
    expect(h.discord.requestsTo('PUT', '/applications/{application_id}/guilds/{guild_id}/commands')).toHaveLength(0);
  });

  it('answers through a worker process that has no gateway connection', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-roles');
    await start({ QUEUE_PREFIX }, 'gateway');
    await start({ QUEUE_PREFIX }, 'worker');
    h.discord.userMessage({ content: 'split roles', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: split roles'));
    // One gateway connection: the worker's Outbox used REST alone.
    expect(h.discord.sessions.filter((s) => s.op === 'identify')).toHaveLength(1);
  });

  it('answers a DM', async () => {
    await start();
    const question = h.discord.userMessage({ content: 'hello in private', dm: true });
    const [answer] = await answerIn(String(question['channel_id']), shows('Echo: hello in private'));
    expect(answer!.guild_id).toBeUndefined();
  });

  it('does not answer a message that does not address it, nor its own or other bots\' messages', async () => {
    await start();
    h.discord.userMessage({ content: 'just chatting among humans' });
    h.discord.userMessage({ content: 'a bot talking', author: { id: '200000000000000077', username: 'otherbot', bot: true }, mentionBot: true });
    h.discord.userMessage({ content: 'chatting in a user thread', channelId: h.discord.userThreadId });
    // Markers that are answered: each conversation answers in order, so once they are, the
    // messages before them were seen and skipped.
    h.discord.userMessage({ content: 'marker', mentionBot: true });
    h.discord.userMessage({ content: 'thread marker', channelId: h.discord.userThreadId, mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: marker'));
    await answerIn(h.discord.userThreadId, shows('Echo: thread marker'));
    // The fake echoes the bot's own answers through the gateway, as Discord does; had the bot
    // taken them, they would be answered before this second marker.
    h.discord.userMessage({ content: 'marker 2', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: marker 2'));
    const prompts = h.openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content);
    expect([...prompts].sort()).toEqual(['marker', 'marker 2', 'thread marker']);
    expect(h.discord.botMessages({}).length).toBe(3);
  });

  it('keeps a thread\'s history apart from its channel\'s, and answers in a thread it started without a mention', async () => {
    await start();
    h.discord.userMessage({ content: 'my name is Ann', channelId: h.discord.botThreadId });
    await answerIn(h.discord.botThreadId, shows('Echo: my name is Ann'));
    h.discord.userMessage({ content: 'channel talk', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: channel talk'));
    h.discord.userMessage({ content: 'what is my name?', channelId: h.discord.botThreadId });
    await answerIn(h.discord.botThreadId, shows('Echo: what is my name?'));

    const prompts = h.openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.slice(1).map((m) => m.content));
    expect(prompts).toEqual([['my name is Ann'], ['channel talk'], ['my name is Ann', 'Echo: my name is Ann', 'what is my name?']]);
  });

  it('answers a reply to one of its messages', async () => {
    await start();
    h.discord.userMessage({ content: 'first', mentionBot: true });
    const [first] = await answerIn(h.discord.channelId, shows('Echo: first'));
    // With the reply's ping turned off, so only the reference says it is for the bot.
    h.discord.userMessage({ content: 'and then?', replyTo: first, replyPing: false });
    await answerIn(h.discord.channelId, shows('Echo: and then?'));
  });

  it('defers /ask at once, then edits the answer in', async () => {
    await start();
    const interaction = h.discord.slashCommand({ name: 'ask', options: { prompt: 'slash question' } });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: interaction.token }).some((m) => m.content === 'Echo: slash question'));
    const callback = h.discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback');
    expect(callback).toHaveLength(1);
    expect(callback[0]!.body).toMatchObject({ type: 5 });
    const edits = h.discord.requestsTo('PATCH', '/webhooks/{webhook_id}/{webhook_token}/messages/@original');
    expect(edits.length).toBeGreaterThan(0);
    // The deferral came before any answer.
    expect(h.discord.requests.indexOf(callback[0]!)).toBeLessThan(h.discord.requests.indexOf(edits[0]!));
    expect(edits.every((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('/reset forgets the channel\'s history', async () => {
    await start();
    h.discord.userMessage({ content: 'remember this', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: remember this'));
    const reset = h.discord.slashCommand({ name: 'reset' });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: reset.token }).some((m) => m.content === REPLIES.historyCleared));
    h.discord.userMessage({ content: 'fresh start', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: fresh start'));
    const last = (h.openai.requestsTo('/chat/completions').at(-1)!.body as { messages: Array<{ content: string }> }).messages;
    expect(last.slice(1).map((m) => m.content)).toEqual(['fresh start']);
  });

  it('defers /imagine, then delivers the picture through the interaction', async () => {
    await start();
    const imagine = h.discord.slashCommand({ name: 'imagine', options: { prompt: 'a red fox' } });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: imagine.token }).some((m) => m.attachments.length > 0));
    expect(h.discord.requestsTo('POST', '/interactions/{interaction_id}/{interaction_token}/callback')[0]!.body).toMatchObject({ type: 5 });
    const [picture] = h.discord.botMessages({ interactionToken: imagine.token });
    expect(picture!.attachments[0]!.bytes!.subarray(0, PNG_SIGNATURE.length)).toEqual(PNG_SIGNATURE);
    expect(h.openai.requestsTo('/images/generations')).toHaveLength(1);
  });

  it('delivers a 5,000-character answer as three messages, in order, each within 2000', async () => {
    const paragraph = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8).trim();
    const paragraphs = Array.from({ length: 11 }, () => paragraph);
    const answer = paragraphs.join('\n\n');
    expect(answer.length).toBeGreaterThan(4_900);
    expect(answer.length).toBeLessThan(5_100);
    h.openai.chatReply = () => answer;
    h.openai.streamChunkSize = 200;
    await start({ MAX_COMPLETION_TOKENS: '5000' });
    h.discord.userMessage({ content: 'tell me a lot', mentionBot: true });
    const isDone = (messages: FakeMessage[]): boolean =>
      messages.map((m) => m.content).join('').replace(/\s+/g, '') === answer.replace(/\s+/g, '');
    const messages = await answerIn(h.discord.channelId, isDone, 20_000);
    expect(messages).toHaveLength(3);
    for (const message of messages) expect(message.content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT);
    // Only the first is a reply; the rest continue it.
    expect(messages[0]!.message_reference).toBeDefined();
    expect(messages.slice(1).every((m) => m.message_reference === undefined)).toBe(true);
    expect(messages.map((m) => m.content).join('\n\n')).toBe(answer);
  });

  it('never lets model output ping: allowed_mentions.parse is empty on every message request', async () => {
    h.openai.chatReply = () => 'Hey @everyone and @here, <@&300000000000000009> and <@200000000000000001>!';
    await start();
    h.discord.userMessage({ content: 'ping them all', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Hey @everyone and @here, <@&300000000000000009> and <@200000000000000001>!'));
    const slash = h.discord.slashCommand({ name: 'ask', options: { prompt: 'again' } });
    await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: slash.token }).some((m) => m.content.includes('@everyone')));
    const bodies = messageBodies();
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(body['allowed_mentions']).toEqual({ parse: [], replied_user: false });
  });

  it('shows typing while the model is slow to start', async () => {
    await start();
    h.openai.enqueueFault({ kind: 'slow', path: '/chat/completions', delayMs: 1_500 });
    h.discord.userMessage({ content: 'think hard', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: think hard'));
    expect(h.discord.requestsTo('POST', '/channels/{channel_id}/typing').length).toBeGreaterThan(0);
  });

  it('retries a message after Discord answers 429 with Retry-After, and counts the 429', async () => {
    const app = await start();
    h.discord.enqueueRateLimit({ match: 'POST /channels/{channel_id}/messages', retryAfterSeconds: 0.3 });
    h.discord.userMessage({ content: 'are you limited?', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: are you limited?'));
    const creates = h.discord.requestsTo('POST', '/channels/{channel_id}/messages');
    expect(creates.map((r) => r.status)).toEqual([429, 200]);
    expect(h.discord.botMessages({ channelId: h.discord.channelId })).toHaveLength(1);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_platform_errors_total\{platform="discord",status="429"\} [1-9]/);
  });

  it('answers a MESSAGE_CREATE once when the gateway replays it after a resume, and after a restart', async () => {
    const QUEUE_PREFIX = uniquePrefix('dc-replay');
    const first = await start({ QUEUE_PREFIX });
    const question = h.discord.userMessage({ content: 'only once please', mentionBot: true });
    const seq = h.discord.sequence;
    await answerIn(h.discord.channelId, shows('Echo: only once please'));

    // The connection drops; on RESUME the fake replays from before the question.
    h.discord.replayOnResume(seq);
    h.discord.dropConnection();
    await h.discord.waitFor(() => h.discord.sessions.some((s) => s.op === 'resume'));
    const resume = h.discord.sessions.find((s) => s.op === 'resume')!;
    expect(Number(resume.d['seq'])).toBeGreaterThanOrEqual(seq);
    // Messages of one channel are answered in order: once this one is, the replay was handled.
    h.discord.userMessage({ content: 'after the resume', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: after the resume'));
    const askedOf = (): unknown[] =>
      h.openai.requestsTo('/chat/completions').map((r) => (r.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content);
    expect(askedOf().filter((text) => text === 'only once please')).toHaveLength(1);
    // A new gateway process (a restart) sees the same MESSAGE_CREATE again.
    await first.stop();
    h.discord.reset();
    await start({ QUEUE_PREFIX });
    h.discord.dispatch('MESSAGE_CREATE', question);
    h.discord.userMessage({ content: 'marker', mentionBot: true });
    await answerIn(h.discord.channelId, shows('Echo: marker'));
    expect(askedOf().filter((text) => text === 'only once please')).toHaveLength(1);
  });
});
