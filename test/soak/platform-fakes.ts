/**
 * The soak's platform fakes, in a process of their own (forked by platforms.ts): the fake
 * Telegram Bot API with its flood limits on, and the fake Discord. The Telegram fake judges
 * its per-chat and per-group limits by arrival time, so it must not share an event loop
 * with the soak's heavy parts (the fake OpenAI streaming a hundred answers); the limits the
 * fakes do not enforce are enforced by limits-proxies.ts, in front of them.
 *
 * Messages: it sends `{ type: 'ready', … }` (FakesReady) once listening. From the parent:
 * `{ type: 'connected' }` is answered once the service polls Telegram and holds a Discord
 * session; `{ type: 'wave', platform }` sends one message in each of CHATS chats at once and
 * is answered `{ type: 'wave', result }` once every chat shows its complete answer (or
 * WAVE_WAIT_MS passed); `{ type: 'stop' }` stops everything and exits.
 */
import { createFakeDiscord, type FakeDiscord } from '../fakes/discord.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram } from '../fakes/telegram.js';
import { until } from './answers.js';
import { CHATS, DISCORD_TOKEN, platformReply, TELEGRAM_BOT, TELEGRAM_TOKEN, type FakesReady, type WaveResult, type WaveSample } from './platform-protocol.js';

/** Telegram chats that are groups (per-group limit too); the rest are private. */
const TELEGRAM_GROUPS = 40;
/** How long a wave of answers may take to complete. */
const WAVE_WAIT_MS = 90_000;
const POLL_MS = 100;
/** Time for anything late (a second message) to show before a wave is counted. */
const LATE_MS = 1_500;

/** One chat of a wave, by its key in the fake's snapshot. */
interface Chat {
  readonly key: string;
  readonly expected: string;
  readonly sample: WaveSample;
}

/** The bot's message texts by chat, read once per poll (a poll must stay cheap: this process stamps arrival times). */
type Snapshot = () => Map<string, string[]>;

async function wave(platform: 'telegram' | 'discord', chats: Chat[], snapshot: Snapshot, fake429s: () => number, startedAt: number): Promise<WaveResult> {
  const poll = (): boolean => {
    const now = Date.now() - startedAt;
    const texts = snapshot();
    for (const chat of chats) {
      const current = texts.get(chat.key) ?? [];
      chat.sample.messages = current.length;
      if (chat.sample.firstTextMs === undefined && current.some((text) => text !== '')) chat.sample.firstTextMs = now;
      if (chat.sample.finalMs === undefined && current.includes(chat.expected)) chat.sample.finalMs = now;
    }
    return chats.every((c) => c.sample.finalMs !== undefined);
  };
  await until(poll, WAVE_WAIT_MS, POLL_MS);
  await new Promise((resolve) => setTimeout(resolve, LATE_MS));
  poll();
  return { platform, startedAt, samples: chats.map((c) => c.sample), fake429s: fake429s(), seconds: (Date.now() - startedAt) / 1000 };
}

function telegramWave(telegram: FakeTelegram): Promise<WaveResult> {
  const started = Date.now();
  const chats: Chat[] = [];
  for (let i = 0; i < CHATS; i += 1) {
    const tag = `tg-${i}`;
    const user = { id: 5_000 + i, is_bot: false, first_name: `User${i}` };
    const group = i < TELEGRAM_GROUPS;
    const chat: FakeChat = group ? { id: -(6_000 + i), type: 'group', title: `Group ${i}` } : { id: user.id, type: 'private', first_name: user.first_name };
    telegram.message({ chat, from: user, text: group ? `@${TELEGRAM_BOT.username} [${tag}] how is it going?` : `[${tag}] how is it going?` });
    chats.push({ key: String(chat.id), expected: platformReply(tag), sample: { messages: 0 } });
  }
  const snapshot: Snapshot = () => new Map(chats.map((c) => [c.key, telegram.botMessages(Number(c.key)).map((m) => m.text ?? '')]));
  const earlier429s = telegram.calls.filter((c) => c.response.error_code === 429).length;
  return wave('telegram', chats, snapshot, () => telegram.calls.filter((c) => c.response.error_code === 429).length - earlier429s, started);
}

function discordWave(discord: FakeDiscord): Promise<WaveResult> {
  const started = Date.now();
  const chats: Chat[] = [];
  for (let i = 0; i < CHATS; i += 1) {
    const tag = `dc-${i}`;
    const id = `3${'0'.repeat(13)}${String(i).padStart(4, '0')}`;
    // The fake's DM channel with a user.
    const channelId = `4${id.slice(1)}`;
    discord.userMessage({ content: `[${tag}] how is it going?`, dm: true, author: { id, username: `user${i}`, global_name: `User ${i}` } });
    chats.push({ key: channelId, expected: platformReply(tag), sample: { messages: 0 } });
  }
  const snapshot: Snapshot = () => {
    const texts = new Map<string, string[]>();
    for (const m of discord.botMessages({})) texts.set(m.channel_id, [...(texts.get(m.channel_id) ?? []), m.content]);
    return texts;
  };
  const earlier429s = discord.requests.filter((r) => r.status === 429).length;
  return wave('discord', chats, snapshot, () => discord.requests.filter((r) => r.status === 429).length - earlier429s, started);
}

const telegram = await createFakeTelegram({ token: TELEGRAM_TOKEN, bot: TELEGRAM_BOT, rateLimits: true });
const discord = await createFakeDiscord({ token: DISCORD_TOKEN });

const stop = async (): Promise<never> => {
  await telegram.stop();
  await discord.stop();
  process.exit(0);
};
// The parent went away: nothing here may outlive it.
process.on('disconnect', () => void stop());

process.on('message', (message: { type: string; platform?: string }) => {
  void (async () => {
    if (message.type === 'stop') return stop();
    if (message.type === 'connected') {
      // The service is up: it polls Telegram and holds a Discord gateway session.
      await until(() => telegram.polling, 30_000);
      await discord.whenReady(30_000);
      process.send!({ type: 'connected' });
      return;
    }
    if (message.type === 'wave') {
      const result = message.platform === 'telegram' ? await telegramWave(telegram) : await discordWave(discord);
      process.send!({ type: 'wave', result });
    }
  })().catch((error: unknown) => {
    process.send!({ type: 'error', message: String(error) });
  });
});

const ready: FakesReady = { type: 'ready', telegramOrigin: telegram.url, discordOrigin: new URL(discord.apiUrl).origin, discordGuildId: discord.guildId };
process.send!(ready);
