/**
 * Community moderation on Discord (issue #6), end to end through the real discord.js and
 * the real wiring: fake Discord gateway → discord.js → queue (a `moderate` job beside any
 * chat job) → moderate worker → fake OpenAI `/moderations` → Discord Outbox (DELETE the
 * message, PATCH the member's timeout) → fake Discord REST, and the mod-log entry in
 * MOD_LOG_CHANNEL. Also `/moderation` as a slash command, with the member's permissions
 * as Discord computes them, and edited messages (MESSAGE_UPDATE). Assertions are on what
 * reached the fakes and what people see.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { REPLIES } from '../../src/domain/replies.js';
import type { FakeDiscord, FakeMessage } from '../fakes/discord.js';
import { useDiscordHarness } from '../fakes/discord-harness.js';

const BOT_TOKEN = 'test-token.discord-moderation.x';
const API_KEY = 'sk-test-discord-moderation-0123456789';
const FLAGGED = 'you are worthless and everyone hates you';
const SCORE = 0.95;
const TIMEOUT_SECONDS = 600;
/** A member with no role: no Manage Messages. */
const BOB = { id: '200000000000000007', username: 'bob', global_name: 'Bob' };
/** A member with the fake's Moderators role. */
const MOD = { id: '200000000000000008', username: 'mia', global_name: 'Mia' };
const h = useDiscordHarness({
  token: BOT_TOKEN,
  apiKey: API_KEY,
  label: 'dcmod',
  env: (discord) => ({ MODERATED_CHANNELS: `discord:${discord.channelId}`, MOD_LOG_CHANNEL: `discord:${discord.modLogChannelId}` }),
});
const start = (env: Record<string, string> = {}): Promise<RunningApp> => h.start(env);

const modLog = (): FakeMessage[] => h.discord.botMessages({ channelId: h.discord.modLogChannelId });
const deletedIds = (): string[] => h.discord.deleted.map((m) => m.id);
const moderated = (text: string): boolean => h.openai.requestsTo('/moderations').some((r) => (r.body as { input?: unknown }).input === text);
/** Waits until the moderation endpoint has scored `text` (the fake OpenAI has no waiters: poll). */
const whenScored = (text: string): Promise<void> =>
  vi.waitFor(() => expect(moderated(text)).toBe(true), { timeout: 15_000, interval: 20 });
const chatCalls = () => h.openai.requestsTo('/chat/completions');
const link = (channelId: string, messageId: string): string => `https://discord.com/channels/${h.discord.guildId}/${channelId}/${messageId}`;

/** Sends a mention and waits for its answer: proof the bot is alive, and that earlier jobs had their turn. */
async function mentionAnswered(text: string, channelId = h.discord.channelId): Promise<void> {
  h.discord.userMessage({ content: text, channelId, mentionBot: true, author: BOB });
  await h.discord.waitFor(() => h.discord.botMessages({ channelId }).some((m) => m.content === `Echo: ${text}`), 15_000);
}

/** The bot's answer to a slash command, once it is there. */
async function commandAnswer(command: Parameters<FakeDiscord['slashCommand']>[0]): Promise<string> {
  const { token } = h.discord.slashCommand(command);
  await h.discord.waitFor(() => h.discord.botMessages({ interactionToken: token }).some((m) => m.content !== ''), 15_000);
  return h.discord.botMessages({ interactionToken: token })[0]!.content;
}

beforeEach(() => {
  h.openai.moderationRules = [{ match: 'worthless', category: 'harassment', score: SCORE }];
});


describe('discord community moderation', () => {
  it('deletes a flagged message nobody addressed to the bot, and writes who, why, what and a link to the mod log', async () => {
    await start();
    const message = h.discord.userMessage({ content: FLAGGED, author: BOB });
    const id = String(message['id']);
    await h.discord.waitFor(() => deletedIds().includes(id) && modLog().length === 1, 15_000);

    const [entry] = modLog();
    expect(entry!.content).toContain('deleted the message');
    expect(entry!.content).toContain(`Bob (${BOB.id})`);
    expect(entry!.content).toContain(`harassment ${SCORE.toFixed(2)}`);
    expect(entry!.content).toContain(link(h.discord.channelId, id));
    // The audit log says who did it.
    const [deletion] = h.discord.requestsTo('DELETE', '/channels/{channel_id}/messages/{message_id}');
    expect(decodeURIComponent(String(deletion!.headers['x-audit-log-reason']))).toBe('Switchboard community moderation');
    // Nothing was said in the channel, and the model never saw it.
    expect(h.discord.botMessages({ channelId: h.discord.channelId })).toEqual([]);
    expect(chatCalls()).toHaveLength(0);
  });

  it('checks messages in the threads of a moderated channel too, and links to the thread', async () => {
    await start();
    const id = String(h.discord.userMessage({ content: FLAGGED, channelId: h.discord.userThreadId, author: BOB })['id']);
    await h.discord.waitFor(() => deletedIds().includes(id) && modLog().length === 1, 15_000);
    expect(h.discord.deleted[0]!.channel_id).toBe(h.discord.userThreadId);
    expect(modLog()[0]!.content).toContain(link(h.discord.userThreadId, id));
  });

  it('neither touches nor answers a clean message', async () => {
    await start();
    h.discord.userMessage({ content: 'lovely weather for a walk today', author: BOB });
    await whenScored('lovely weather for a walk today');
    await mentionAnswered('are you there?');

    expect(h.discord.requestsTo('DELETE', '/channels/{channel_id}/messages/{message_id}')).toEqual([]);
    expect(modLog()).toEqual([]);
    // The one answer is to the mention; the clean message reached no chat call.
    expect(h.discord.botMessages({ channelId: h.discord.channelId }).map((m) => m.content)).toEqual(['Echo: are you there?']);
    expect(chatCalls()).toHaveLength(1);
  });

  it('leaves unlisted channels alone', async () => {
    await start();
    h.discord.userMessage({ content: FLAGGED, channelId: h.discord.otherChannelId, author: BOB });
    await mentionAnswered('still here?', h.discord.otherChannelId);
    expect(moderated(FLAGGED)).toBe(false);
    expect(h.discord.deleted).toEqual([]);
  });

  it('with MODERATION_ACTION=timeout, deletes the message and times the author out for MODERATION_TIMEOUT_SECONDS', async () => {
    await start({ MODERATION_ACTION: 'timeout', MODERATION_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) });
    const sentAt = Date.now();
    const id = String(h.discord.userMessage({ content: FLAGGED, author: BOB })['id']);
    await h.discord.waitFor(() => deletedIds().includes(id) && h.discord.timeouts.length === 1 && modLog().length === 1, 15_000);

    const [timeout] = h.discord.timeouts;
    expect(timeout).toMatchObject({ guildId: h.discord.guildId, userId: BOB.id, reason: 'Switchboard community moderation' });
    const until = Date.parse(timeout!.until!);
    expect(until).toBeGreaterThanOrEqual(sentAt + TIMEOUT_SECONDS * 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + TIMEOUT_SECONDS * 1000);
    expect(modLog()[0]!.content).toContain('deleted the message; timed the author out for 10 min');
  });

  it('reports a 403 on delete in the mod log once an hour, and keeps working', async () => {
    h.discord.denyBot('manageMessages', h.discord.channelId);
    await start();
    const first = String(h.discord.userMessage({ content: FLAGGED, author: BOB })['id']);
    await h.discord.waitFor(() => modLog().length === 1, 15_000);
    const [report] = modLog();
    expect(report!.content).toContain('could not delete the message');
    expect(report!.content).toContain('lacks the permission');
    expect(report!.content).toContain(link(h.discord.channelId, first));

    // A second flagged message in the hour: tried, refused again, not reported again.
    h.discord.userMessage({ content: `${FLAGGED}, really`, author: BOB });
    await h.discord.waitFor(() => h.discord.requestsTo('DELETE', '/channels/{channel_id}/messages/{message_id}').filter((r) => r.status === 403).length === 2, 15_000);
    await mentionAnswered('can you still hear me?');
    expect(modLog()).toHaveLength(1);
    expect(h.discord.deleted).toEqual([]);
    expect(h.logLines.join('')).toContain('moderation lacks permissions in this channel');
  });

  it("refuses a non-moderator's /moderation mode:off, and leaves moderation on", async () => {
    await start();
    expect(await commandAnswer({ name: 'moderation', options: { mode: 'off' }, author: BOB })).toBe(REPLIES.moderationNotAllowed);
    expect(await commandAnswer({ name: 'moderation', options: { mode: 'status' }, author: BOB })).toBe(
      REPLIES.moderationStatus(true, 'config', 'delete'),
    );
    const id = String(h.discord.userMessage({ content: FLAGGED, author: BOB })['id']);
    await h.discord.waitFor(() => deletedIds().includes(id), 15_000);
  });

  it("turns moderation on in an unlisted channel at a moderator's /moderation mode:on, and reports it", async () => {
    await start();
    const moderator = { author: MOD, roles: [h.discord.moderatorRoleId], channelId: h.discord.otherChannelId };
    expect(await commandAnswer({ name: 'moderation', options: { mode: 'on' }, ...moderator })).toBe(REPLIES.moderationSwitched(true));
    expect(await commandAnswer({ name: 'moderation', options: { mode: 'status' }, ...moderator })).toBe(
      REPLIES.moderationStatus(true, 'channel', 'delete'),
    );
    const id = String(h.discord.userMessage({ content: FLAGGED, channelId: h.discord.otherChannelId, author: BOB })['id']);
    await h.discord.waitFor(() => deletedIds().includes(id) && modLog().length === 1, 15_000);
    expect(modLog()[0]!.content).toContain(link(h.discord.otherChannelId, id));
  });

  it('lets a moderator who writes in the channel switch moderation by text command too', async () => {
    await start();
    h.discord.userMessage({ content: '/moderation off', mentionBot: true, author: MOD, roles: [h.discord.moderatorRoleId] });
    await h.discord.waitFor(() => h.discord.botMessages({ channelId: h.discord.channelId }).some((m) => m.content === REPLIES.moderationSwitched(false)), 15_000);
    h.discord.userMessage({ content: '/moderation on', mentionBot: true, author: BOB });
    await h.discord.waitFor(() => h.discord.botMessages({ channelId: h.discord.channelId }).some((m) => m.content === REPLIES.moderationNotAllowed), 15_000);
  });

  it('deletes a message that an edit made flagged, without answering it', async () => {
    await start();
    const id = String(h.discord.userMessage({ content: 'I agree with you', author: BOB })['id']);
    await whenScored('I agree with you');
    h.discord.editUserMessage(id, FLAGGED);
    await h.discord.waitFor(() => deletedIds().includes(id) && modLog().length === 1, 15_000);
    expect(h.discord.deleted[0]!.versions).toEqual(['I agree with you', FLAGGED]);
    expect(h.discord.botMessages({ channelId: h.discord.channelId })).toEqual([]);
    expect(chatCalls()).toHaveLength(0);
  });

  it('refuses a flagged message addressed to the bot without calling the chat endpoint, and deletes it', async () => {
    await start();
    const id = String(h.discord.userMessage({ content: FLAGGED, mentionBot: true, author: BOB })['id']);
    await h.discord.waitFor(
      () => h.discord.botMessages({ channelId: h.discord.channelId }).some((m) => m.content === REPLIES.inputRefused('harassment')) && deletedIds().includes(id),
      15_000,
    );
    expect(chatCalls()).toHaveLength(0);
    const refusal = h.discord.botMessages({ channelId: h.discord.channelId }).find((m) => m.content === REPLIES.inputRefused('harassment'));
    expect(refusal!.message_reference).toEqual({ message_id: id });
  });
});
