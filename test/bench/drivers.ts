/**
 * The benchmark's ways in: the fake Telegram Bot API (long-polled by the service's
 * gateway), the fake Discord (gateway over WebSocket and REST) and the playground's HTTP
 * API. Each Driver sends a user message and times it from the moment the platform makes
 * it available (the update is queued for getUpdates; MESSAGE_CREATE goes out on the
 * gateway; the POST is sent) to the moment the platform records the bot's final text for
 * it (sendMessage or editMessageText; POST or PATCH of a channel message; the final
 * `message` event).
 *
 * The fakes offer no listener for "the bot posted", so the drivers wrap the `push` of the
 * arrays the fakes record into (`calls`, `messages`, `requests`) and empty the logs they
 * do not need as they go, so a long run does not keep every request.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createFakeDiscord, type FakeDiscord, type FakeMessage as DiscordMessage, type RecordedRequest } from '../fakes/discord.js';
import { createFakeTelegram, type FakeTelegram, type RecordedCall } from '../fakes/telegram.js';
import { BENCH_PROMPT, BENCH_REPLY, type Driver, type WriteCounts } from './measure.js';

export const TELEGRAM_TOKEN = '123456:BENCH-token';
/** Private chats (one user each) from this id: a DM is always addressed to the bot, and has no group limit. */
const TELEGRAM_CHAT_BASE = 500_000_000;
/** Discord user ids (and so DM channels) from this snowflake. */
const DISCORD_USER_BASE = 210_000_000_000_000_000n;
/**
 * Request logs are emptied past this length, and message logs cut to their newest
 * KEEP_MESSAGES (a bot's edit is of a message it sent moments ago): the drivers keep what
 * they need themselves, and the load generator's heap stays small, so its own GC pauses
 * do not show as the service's latency.
 */
const MAX_RECORDED = 20_000;
/** More than the answers in flight at once (a message being edited must still be on the fake). */
const KEEP_MESSAGES = 8_000;
/** Bot messages remembered for their edits, newest last. */
const MAX_ANSWERS = 10_000;

/** The Bot API calls that write to a chat (what a bot spends of Telegram's limits on an answer). */
const TELEGRAM_WRITES = new Set(['sendMessage', 'editMessageText', 'sendMessageDraft', 'sendChatAction']);
/** Discord REST calls that write to a channel, by method and route, with their short names. */
const DISCORD_WRITES: Readonly<Record<string, string>> = {
  'POST /channels/{channel_id}/messages': 'create',
  'PATCH /channels/{channel_id}/messages/{message_id}': 'edit',
  'POST /channels/{channel_id}/typing': 'typing',
};

interface Waiter {
  readonly at: number;
  readonly resolve: (ms: number) => void;
}

/** Pending messages by key; `done(key)` resolves one with its elapsed time. */
function waiters(): { add(key: string, at: number): Promise<number>; done(key: string | undefined): void; readonly size: number } {
  const pending = new Map<string, Waiter>();
  return {
    add: (key, at) => new Promise((resolve) => pending.set(key, { at, resolve })),
    done(key) {
      if (key === undefined) return;
      const waiter = pending.get(key);
      if (!waiter) return;
      pending.delete(key);
      waiter.resolve(performance.now() - waiter.at);
    },
    get size() {
      return pending.size;
    },
  };
}

/** Wraps `array.push` so `each` sees every element recorded; past MAX_RECORDED, keeps the newest `keep`. */
function onPush<T>(array: T[], each: (item: T) => void, keep: number): void {
  const push = array.push.bind(array);
  array.push = (...items: T[]): number => {
    const length = push(...items);
    for (const item of items) each(item);
    if (array.length > MAX_RECORDED) array.splice(0, array.length - keep);
    return length;
  };
}

/** Remembers a bot message's key, forgetting the oldest past MAX_ANSWERS. */
function remember(answers: Map<string, string>, key: string, value: string): void {
  answers.set(key, value);
  if (answers.size > MAX_ANSWERS) answers.delete(answers.keys().next().value!);
}

/** Text as a user sees it: Telegram HTML without its tags and entities. */
function visibleText(html: unknown): string {
  return String(html ?? '')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

export interface PlatformDriver extends Driver {
  /** The service's environment for this platform. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** What a driver is told: the bot's final text it waits for (the fake upstream's reply). */
export interface DriverOptions {
  readonly reply?: string;
}

/** Counts of the bot's platform calls by kind, since the last take(). */
function writeCounter(): { count(kind: string): void; take(): WriteCounts } {
  let counts: Record<string, number> = {};
  return {
    count(kind) {
      counts[kind] = (counts[kind] ?? 0) + 1;
    },
    take() {
      const taken = counts;
      counts = {};
      return taken;
    },
  };
}

/** A fake Bot API with its flood limits off; users write in private chats. */
export async function telegramDriver(options: DriverOptions = {}): Promise<PlatformDriver & { readonly fake: FakeTelegram }> {
  const reply = options.reply ?? BENCH_REPLY;
  const fake = await createFakeTelegram({ token: TELEGRAM_TOKEN, rateLimits: false, validate: false });
  const pending = waiters();
  const writes = writeCounter();
  // The bot's message → the user's message it answers, for edits.
  const answers = new Map<string, string>();
  onPush(
    fake.calls,
    (call: RecordedCall) => {
      if (TELEGRAM_WRITES.has(call.method)) writes.count(call.response.ok ? call.method : `${call.method} refused`);
      if (!call.response.ok) return;
      const chat = String(call.params['chat_id']);
      if (call.method === 'sendMessage') {
        const replyTo = (call.params['reply_parameters'] as { message_id?: number } | undefined)?.message_id;
        if (replyTo === undefined) return;
        const key = `${chat}:${replyTo}`;
        const sent = (call.response.result as { message_id: number }).message_id;
        remember(answers, `${chat}:${sent}`, key);
        if (visibleText(call.params['text']) === reply) pending.done(key);
      } else if (call.method === 'editMessageText') {
        const key = answers.get(`${chat}:${String(call.params['message_id'])}`);
        if (visibleText(call.params['text']) === reply) pending.done(key);
      }
    },
    0,
  );
  return {
    name: 'telegram',
    fake,
    env: { TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN, TELEGRAM_API_ROOT: fake.url },
    send(conversation) {
      const id = TELEGRAM_CHAT_BASE + conversation;
      const at = performance.now();
      const update = fake.message({
        chat: { id, type: 'private', first_name: `User ${conversation}` },
        from: { id, is_bot: false, first_name: `User ${conversation}` },
        text: BENCH_PROMPT,
      });
      const messageId = (update['message'] as { message_id: number }).message_id;
      return pending.add(`${id}:${messageId}`, at);
    },
    writes: () => writes.take(),
    stop: () => fake.stop(),
  };
}

/** A fake Discord (gateway and REST); users write in DMs, one DM channel each. */
export async function discordDriver(options: DriverOptions = {}): Promise<PlatformDriver & { readonly fake: FakeDiscord }> {
  const reply = options.reply ?? BENCH_REPLY;
  const fake = await createFakeDiscord({});
  const pending = waiters();
  const writes = writeCounter();
  const answers = new Map<string, string>();
  onPush(
    fake.messages,
    (message: DiscordMessage) => {
      if (message.author.id !== fake.bot.id) return;
      const replyTo = message.message_reference?.message_id;
      if (replyTo === undefined) return;
      remember(answers, message.id, replyTo);
      if (message.content === reply) pending.done(replyTo);
    },
    KEEP_MESSAGES,
  );
  onPush(
    fake.requests,
    (request: RecordedRequest) => {
      const kind = DISCORD_WRITES[`${request.method} ${request.route}`];
      // Recorded before it is answered: every call counts, as it spends the limits either way.
      if (kind) writes.count(kind);
      if (request.method !== 'PATCH' || request.route !== '/channels/{channel_id}/messages/{message_id}') return;
      const content = (request.body as { content?: unknown } | undefined)?.content;
      if (content === reply) pending.done(answers.get(request.path.split('/').at(-1) ?? ''));
    },
    0,
  );
  return {
    name: 'discord',
    fake,
    env: { DISCORD_BOT_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl },
    send(conversation) {
      const id = (DISCORD_USER_BASE + BigInt(conversation)).toString();
      const at = performance.now();
      const payload = fake.userMessage({ content: BENCH_PROMPT, dm: true, author: { id, username: `user${conversation}` } });
      return pending.add(String(payload['id']), at);
    },
    writes: () => writes.take(),
    stop: () => fake.stop(),
  };
}

/** The playground: a POST per message, the final `message` event on the channel's pub/sub topic. */
export async function playgroundDriver(baseUrl: string, redisUrl: string, prefix: string): Promise<Driver & { stop(): void }> {
  const subscriber = new Redis(redisUrl);
  const pending = waiters();
  await subscriber.psubscribe(`${prefix}:pubsub:web:channel:*`);
  subscriber.on('pmessage', (_pattern, _channel, raw: string) => {
    const event = JSON.parse(raw) as { type: string; message?: { role: string; final: boolean; replyTo?: string } };
    const m = event.message;
    if (event.type === 'message' && m?.role === 'assistant' && m.final) pending.done(m.replyTo);
  });
  return {
    name: 'playground',
    async send(conversation) {
      const id = randomUUID();
      const at = performance.now();
      const answered = pending.add(id, at);
      const response = await fetch(`${baseUrl}/api/channels/c${conversation}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, text: BENCH_PROMPT, author: 'bench' }),
      });
      if (response.status !== 202) throw new Error(`playground POST answered ${response.status}: ${await response.text()}`);
      return answered;
    },
    stop: () => subscriber.disconnect(),
  };
}
