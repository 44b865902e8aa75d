/**
 * A protocol-level fake of the Telegram Bot API (https://core.telegram.org/bots/api) on
 * 127.0.0.1, which the real telegraf talks to through its `apiRoot`. Calls are
 * `/bot<token>/<method>` with a JSON, form or multipart body, answered like Telegram:
 * `{ ok: true, result }` or `{ ok: false, error_code, description, parameters }`.
 *
 * It checks every call's parameters against ../shared/specs/telegram-bot-api.json
 * (problems go to `violations`), records every call, holds `getUpdates` open like long
 * polling, parses HTML entities and the 4096 limit as Telegram does, can enforce the
 * per-chat (1/s) and per-group (20/min) limits with 429 `retry_after`, and misbehaves
 * on demand (`failNext`). Updates made with `message()` carry `entities` (or
 * `caption_entities`) for commands and mentions, and forum-topic messages carry the
 * topic's service message as `reply_to_message`, as Telegram's do. A reply carries the
 * message replied to without its own reply, and a `quote` (TextQuote) of a part of it,
 * which must be part of its text, as Telegram requires. The bot's messages keep the
 * entities Telegram would return: code, pre, `tg://user` text mentions, and the mentions
 * Telegram finds by itself in text outside code (`@username`, which notifies in a group).
 *
 * Moderation: `deleteMessage`, `restrictChatMember` and `getChatMember` work on what the
 * test sets up: members' statuses (`setMember`: creator, administrator with its rights,
 * member) and the bot's own rights per chat (`setBotRights`); without the right they fail
 * with Telegram's own errors ("message can't be deleted", "not enough rights to
 * restrict/unrestrict chat member"). Successful deletions and restrictions are recorded.
 * `edit()` changes a user's message and delivers the `edited_message` update.
 *
 * Drafts: sendMessageDraft works in private chats only (elsewhere 400
 * TEXTDRAFT_PEER_INVALID), keeps what each chat's draft shows (`shownDrafts`) until a
 * message from the bot replaces it, is paced one a second per chat on its own count when
 * `rateLimits` is on, and answers 404 like an older Bot API server with `drafts: false`.
 *
 * Files: `addFile` registers a file for getFile, which refuses files over the 20 MB a bot
 * may download ("file is too big"), and for the download route
 * `/file/bot<token>/<file_path>` (every download is recorded in `downloads`). Uploads
 * (sendPhoto, sendDocument as multipart, and the photos of a sendMediaGroup album named
 * `attach://<part>`) are recorded in `uploads`; a photo that is not a PNG, JPEG, GIF or
 * WebP image is refused like Telegram does, and an album of fewer than 2 or more than 10.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTelegramHtml, type MarkupEntity } from './telegram-html.js';
import { parseMultipart, type MultipartPart } from './multipart.js';
import { PNG_SIGNATURE } from './png.js';
import { checkCall, isKnownMethod } from './telegram-spec.js';

const HOST = '127.0.0.1';
/** Telegram's limit on a message's text after entity parsing, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 4096;
/** …and on a media caption (https://core.telegram.org/bots/api#sendphoto). */
const MAX_CAPTION_LENGTH = 1024;
/** The flood limits Telegram documents (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). */
const CHAT_INTERVAL_MS = 1_000;
const GROUP_MAX_PER_MINUTE = 20;
const MINUTE_MS = 60_000;
/**
 * Arrival times at the fake lag the limiter's clock by a few ms, unevenly; Telegram is not
 * exact either. Two messages to a chat closer than the interval by more than this get a 429.
 */
export const FLOOD_TOLERANCE_MS = 100;
/** https://core.telegram.org/bots/api#sendchataction */
const CHAT_ACTIONS = new Set(['typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice', 'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note']);
/** https://core.telegram.org/bots/api#getfile: "bots can download files of up to 20MB in size" (20 << 20 bytes in the Bot API server). */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
/** Methods that post or change a message, and count against the flood limits. */
const COUNTED_METHODS = new Set(['sendMessage', 'editMessageText', 'sendPhoto', 'sendDocument', 'sendMediaGroup']);
/** https://core.telegram.org/bots/api#sendmediagroup: "must include 2-10 items". */
const MIN_ALBUM_ITEMS = 2;
const MAX_ALBUM_ITEMS = 10;
/** How an InputMedia names a file uploaded in the same multipart request. */
const ATTACH_PREFIX = 'attach://';

/** A Telegram chat as updates carry it. */
export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  first_name?: string;
  username?: string;
  is_forum?: boolean;
}

/** A Telegram user as updates carry it. */
export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
}

/** A message as the fake keeps it (the Bot API's Message, the fields we use). */
export type FakeMessage = Record<string, unknown> & { message_id: number; chat: FakeChat; date: number; text?: string };

/** One call as the fake received it. */
export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  /** `Date.now()` when the body had been read. */
  at: number;
  /** What the fake answered. */
  response: { ok: boolean; error_code?: number; description?: string; result?: unknown };
}

/** One request to the file download route. */
export interface RecordedDownload {
  /** The file path asked for (after the token). */
  path: string;
  /** Whether the token in the URL was the bot's. */
  tokenOk: boolean;
  status: number;
}

/** A file the bot uploaded (sendPhoto, sendDocument, or one photo of a sendMediaGroup album). */
export interface RecordedUpload {
  method: 'sendPhoto' | 'sendDocument' | 'sendMediaGroup';
  /** The album's `media_group_id`, for the photos of one sendMediaGroup. */
  mediaGroupId?: string;
  chatId: number;
  threadId?: number;
  /** The message replied to, if the upload was a reply. */
  replyTo?: number;
  fileName: string;
  contentType?: string;
  bytes: Buffer;
  caption?: string;
}

/** A member's status in a chat, as a test sets it (https://core.telegram.org/bots/api#chatmember). */
export type FakeMember =
  | { status: 'creator' }
  | { status: 'administrator'; can_delete_messages?: boolean; can_change_info?: boolean; can_restrict_members?: boolean }
  | { status: 'member' };

/** The bot's administrator rights in a chat; both true unless a test says otherwise. */
export interface FakeBotRights {
  canDeleteMessages?: boolean;
  canRestrictMembers?: boolean;
}

/** A successful restrictChatMember. */
export interface RecordedRestriction {
  chatId: number;
  userId: number;
  permissions: Record<string, unknown>;
  untilDate?: number;
}

/** What `message()` builds: a text message, or media with an optional caption. */
export interface FakeMessageInput {
  chat: FakeChat;
  from: FakeUser;
  text?: string;
  caption?: string;
  /** Media fields as the Bot API names them, e.g. `{ voice: { file_id, … } }`. */
  media?: Record<string, unknown>;
  threadId?: number;
  replyTo?: number;
  /**
   * The part of the replied-to message the user selected to quote (with `replyTo`): it must
   * be an exact substring of that message's text or caption, as Telegram requires; the
   * update then carries it as `quote` (a TextQuote: https://core.telegram.org/bots/api#textquote).
   */
  quote?: string;
}

/** A Telegram error the next matching call(s) answer with. */
export interface TelegramFault {
  method: string;
  times?: number;
  /** Only calls whose params satisfy this. */
  when?: (params: Record<string, unknown>) => boolean;
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export interface FakeTelegramOptions {
  token: string;
  bot?: { id: number; username: string; first_name?: string };
  /** Enforce the per-chat and per-group limits with 429 (default false). */
  rateLimits?: boolean;
  /** Serve sendMessageDraft (default true); false answers it 404 like a Bot API server older than 9.3. */
  drafts?: boolean;
  /** Check every call against the spec (default true); the benchmark turns it off, as its calls are the tests'. */
  validate?: boolean;
}

export interface FakeTelegram {
  readonly url: string;
  readonly bot: FakeUser & { username: string };
  readonly calls: RecordedCall[];
  readonly violations: string[];
  /** Requests to the file download route, in order. */
  readonly downloads: RecordedDownload[];
  /** Files the bot uploaded, in order (successful calls only). */
  readonly uploads: RecordedUpload[];
  rateLimits: boolean;
  /** Whether sendMessageDraft is served (see FakeTelegramOptions.drafts). */
  drafts: boolean;
  /** The draft each private chat shows now (the last sendMessageDraft's visible text), until a message from the bot replaces it. */
  readonly shownDrafts: Map<number, { draftId: number; text: string }>;
  /** Set by setWebhook, cleared by deleteWebhook. */
  readonly webhook: { url: string; secretToken: string | undefined } | undefined;
  /** Calls of one method, in order. */
  callsTo(method: string): RecordedCall[];
  /** Makes the next matching call(s) fail with this error. */
  failNext(fault: TelegramFault): void;
  /** Builds a user's message update (with entities) and queues it for getUpdates. */
  message(input: FakeMessageInput): Record<string, unknown>;
  /** Changes a user's message's text (or caption) and queues the `edited_message` update. */
  edit(input: { chat: FakeChat; messageId: number; text: string }): Record<string, unknown>;
  /** Makes a chat known without a message in it (e.g. a mod-log chat the bot posts to). */
  addChat(chat: FakeChat): void;
  /** Sets a user's status in a chat, for getChatMember and restrictChatMember. */
  setMember(chat: FakeChat, user: FakeUser, member: FakeMember): void;
  /** Sets the bot's rights in a chat (both true by default). */
  setBotRights(chatId: number, rights: FakeBotRights): void;
  /** Messages deleted with deleteMessage, in order. */
  readonly deletions: Array<{ chatId: number; messageId: number }>;
  /** Members restricted with restrictChatMember, in order. */
  readonly restrictions: RecordedRestriction[];
  /** Queues an update as given (a duplicate delivery, an unusual kind). */
  pushUpdate(update: Record<string, unknown>): void;
  /** The bot's messages in a chat (and topic), as they stand after edits, in order. */
  botMessages(chatId: number, threadId?: number): FakeMessage[];
  /**
   * Registers a file for getFile and the download route; returns its file_id. `size` is
   * what getFile reports (default the data's length), so a test can have a 25 MB file
   * without allocating one; the first `failDownloads` downloads answer 502.
   */
  addFile(data: Buffer, path: string, options?: { size?: number; failDownloads?: number }): string;
  /** Updates not yet confirmed by a getUpdates offset. */
  pendingUpdates(): number;
  /** True while a getUpdates call is being held open. */
  readonly polling: boolean;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts the fake on a free port of 127.0.0.1. */
export async function createFakeTelegram(options: FakeTelegramOptions): Promise<FakeTelegram> {
  const bot = { id: options.bot?.id ?? 7_000_001, is_bot: true, first_name: options.bot?.first_name ?? 'Switchboard', username: options.bot?.username ?? 'switchboard_test_bot' };
  const calls: RecordedCall[] = [];
  const violations: string[] = [];
  const downloads: RecordedDownload[] = [];
  const uploads: RecordedUpload[] = [];
  const deletions: Array<{ chatId: number; messageId: number }> = [];
  const restrictions: RecordedRestriction[] = [];
  const members = new Map<string, FakeMember>();
  const botRights = new Map<number, FakeBotRights>();
  const memberKey = (chatId: number, userId: number): string => `${chatId}:${userId}`;
  let faults: TelegramFault[] = [];
  let updates: Array<Record<string, unknown>> = [];
  let nextUpdateId = 1;
  const messages = new Map<number, Map<number, FakeMessage>>();
  const chats = new Map<number, FakeChat>();
  const users = new Map<number, FakeUser>();
  const files = new Map<string, { data: Buffer; path: string; size: number; failDownloads: number }>();
  const counted = new Map<number, number[]>();
  const countedDrafts = new Map<number, number>();
  const shownDrafts = new Map<number, { draftId: number; text: string }>();
  let waiters: Array<() => void> = [];
  /** Ends the getUpdates call being held open, if any, with 409. */
  let terminatePoll: (() => void) | undefined;
  let webhook: FakeTelegram['webhook'];
  let allowedUpdates: string[] = [];

  const chatMessages = (chatId: number): Map<number, FakeMessage> => {
    let map = messages.get(chatId);
    if (!map) messages.set(chatId, (map = new Map()));
    return map;
  };
  // Telegram never reuses a chat's message id, even after a deletion.
  const lastMessageIds = new Map<number, number>();
  const nextMessageId = (chatId: number): number => {
    const id = Math.max(lastMessageIds.get(chatId) ?? 0, ...chatMessages(chatId).keys()) + 1;
    lastMessageIds.set(chatId, id);
    return id;
  };
  const wake = (): void => {
    const current = waiters;
    waiters = [];
    for (const wakeUp of current) wakeUp();
  };

  const fake: FakeTelegram = {
    get url() {
      return url;
    },
    bot,
    calls,
    violations,
    downloads,
    uploads,
    deletions,
    restrictions,
    rateLimits: options.rateLimits ?? false,
    drafts: options.drafts ?? true,
    shownDrafts,
    get webhook() {
      return webhook;
    },
    callsTo: (method) => calls.filter((call) => call.method === method),
    failNext(fault) {
      faults.push({ times: 1, ...fault });
    },
    message({ chat, from, text, caption, media, threadId, replyTo, quote }) {
      chats.set(chat.id, chat);
      users.set(from.id, from);
      const message: FakeMessage = { message_id: nextMessageId(chat.id), from, chat, date: Math.floor(Date.now() / 1000), ...media };
      if (text !== undefined) {
        message.text = text;
        const entities = entitiesOf(text);
        if (entities.length > 0) message['entities'] = entities;
      }
      if (caption !== undefined) {
        message['caption'] = caption;
        const entities = entitiesOf(caption);
        if (entities.length > 0) message['caption_entities'] = entities;
      }
      if (threadId !== undefined) {
        message['message_thread_id'] = threadId;
        message['is_topic_message'] = true;
      }
      const repliedTo = replyTo === undefined ? undefined : chatMessages(chat.id).get(replyTo);
      if (quote !== undefined) {
        const original = String(repliedTo?.text ?? repliedTo?.['caption'] ?? '');
        const position = original.indexOf(quote);
        if (!repliedTo || quote === '' || position === -1) throw new Error(`fake telegram: a quote must be part of the message replied to (${JSON.stringify(quote)})`);
        message['quote'] = { text: quote, position, is_manual: true };
      }
      // "The Message object in this field will not contain further reply_to_message fields even if it itself is a reply."
      if (repliedTo) message['reply_to_message'] = withoutReply(repliedTo);
      else if (threadId !== undefined) {
        // Telegram's quirk: a plain message in a topic "replies" to the topic's creation message.
        message['reply_to_message'] = { message_id: threadId, from, chat, date: message.date, message_thread_id: threadId, forum_topic_created: { name: 'Topic', icon_color: 7322096 }, is_topic_message: true };
      }
      chatMessages(chat.id).set(message.message_id, message);
      const update = { update_id: 0, message };
      fake.pushUpdate(update);
      return update;
    },
    edit({ chat, messageId, text }) {
      const message = chatMessages(chat.id).get(messageId);
      if (!message) throw new Error(`fake telegram: no message ${messageId} in chat ${chat.id} to edit`);
      const field = message.text !== undefined || message['caption'] === undefined ? 'text' : 'caption';
      message[field] = text;
      const entities = entitiesOf(text);
      const entitiesField = field === 'text' ? 'entities' : 'caption_entities';
      if (entities.length > 0) message[entitiesField] = entities;
      else delete message[entitiesField];
      message['edit_date'] = Math.floor(Date.now() / 1000);
      const update = { update_id: 0, edited_message: structuredClone(message) };
      fake.pushUpdate(update);
      return update;
    },
    addChat(chat) {
      chats.set(chat.id, chat);
    },
    setMember(chat, user, member) {
      chats.set(chat.id, chat);
      users.set(user.id, user);
      members.set(memberKey(chat.id, user.id), member);
    },
    setBotRights(chatId, rights) {
      botRights.set(chatId, { ...botRights.get(chatId), ...rights });
    },
    pushUpdate(update) {
      if (update['update_id'] === 0 || update['update_id'] === undefined) update['update_id'] = nextUpdateId;
      nextUpdateId = Math.max(nextUpdateId, Number(update['update_id'])) + 1;
      updates.push(structuredClone(update));
      wake();
    },
    botMessages(chatId, threadId) {
      return [...chatMessages(chatId).values()].filter(
        (m) => (m['from'] as FakeUser | undefined)?.id === bot.id && (threadId === undefined || m['message_thread_id'] === threadId),
      );
    },
    addFile(data, path, fileOptions) {
      const id = `file-${files.size + 1}-${Math.random().toString(36).slice(2, 10)}`;
      files.set(id, { data, path, size: fileOptions?.size ?? data.length, failDownloads: fileOptions?.failDownloads ?? 0 });
      return id;
    },
    pendingUpdates: () => updates.length,
    get polling() {
      return terminatePoll !== undefined;
    },
    reset() {
      calls.length = 0;
      violations.length = 0;
      downloads.length = 0;
      uploads.length = 0;
      deletions.length = 0;
      restrictions.length = 0;
      members.clear();
      botRights.clear();
      faults = [];
      updates = [];
      counted.clear();
      countedDrafts.clear();
      shownDrafts.clear();
      fake.drafts = options.drafts ?? true;
      webhook = undefined;
      allowedUpdates = [];
      fake.rateLimits = options.rateLimits ?? false;
    },
    async stop() {
      wake();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  type Answer = { status: number; body: Record<string, unknown> };
  const ok = (result: unknown): Answer => ({ status: 200, body: { ok: true, result } });
  const fail = (code: number, description: string, parameters?: Record<string, unknown>): Answer => ({
    status: code,
    body: { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) },
  });
  const badRequest = (description: string): Answer => fail(400, `Bad Request: ${description}`);

  /** Flood control: 429 when the call would go over a chat's or group's limit. */
  const floodCheck = (chatId: number, now: number): Answer | undefined => {
    const times = (counted.get(chatId) ?? []).filter((t) => t > now - MINUTE_MS);
    counted.set(chatId, times);
    if (!fake.rateLimits) {
      times.push(now);
      return undefined;
    }
    const last = times.at(-1);
    if (last !== undefined && now - last < CHAT_INTERVAL_MS - FLOOD_TOLERANCE_MS) {
      return fail(429, `Too Many Requests: retry after 1`, { retry_after: 1 });
    }
    const chat = chats.get(chatId);
    if (chat && chat.type !== 'private' && times.length >= GROUP_MAX_PER_MINUTE) {
      const retry = Math.max(1, Math.ceil(((times[0] ?? now) + MINUTE_MS - now) / 1000));
      return fail(429, `Too Many Requests: retry after ${retry}`, { retry_after: retry });
    }
    times.push(now);
    return undefined;
  };

  /**
   * The visible text of a message and its entities (those the markup made, and the
   * mentions Telegram finds in the text itself outside code), or the error Telegram gives.
   */
  const readText = (params: Record<string, unknown>, field = 'text'): { text: string; entities: Array<Record<string, unknown>> } | Answer => {
    const raw = String(params[field] ?? '');
    let text = raw;
    let markup: readonly MarkupEntity[] = [];
    if (params['parse_mode'] === 'HTML') {
      const parsed = parseTelegramHtml(raw);
      if (!parsed.ok) return badRequest(`can't parse entities: ${parsed.error}`);
      text = parsed.text;
      markup = parsed.entities;
    } else if (params['parse_mode'] !== undefined) {
      violations.push(`${field}: parse_mode ${String(params['parse_mode'])} is not one this fake checks`);
    }
    if (field === 'text' && text.trim() === '') return badRequest('message text is empty');
    if (field === 'caption' && text.length > MAX_CAPTION_LENGTH) return badRequest('message caption is too long');
    if (text.length > MAX_TEXT_LENGTH) return badRequest('message is too long');
    return { text, entities: messageEntities(text, markup, users) };
  };

  const botMessage = (chat: FakeChat, params: Record<string, unknown>, extra: Record<string, unknown>): FakeMessage | Answer => {
    const map = chatMessages(chat.id);
    const message: FakeMessage = { message_id: nextMessageId(chat.id), from: bot, chat, date: Math.floor(Date.now() / 1000), ...extra };
    const thread = params['message_thread_id'];
    if (thread !== undefined) {
      if (!chat.is_forum) return badRequest('message thread not found');
      message['message_thread_id'] = Number(thread);
      message['is_topic_message'] = true;
    }
    const reply = params['reply_parameters'] as { message_id?: number; allow_sending_without_reply?: boolean } | undefined;
    if (reply?.message_id !== undefined) {
      const target = map.get(reply.message_id);
      if (target) message['reply_to_message'] = target;
      else if (!reply.allow_sending_without_reply) return badRequest('message to be replied not found');
    }
    map.set(message.message_id, message);
    // A message from the bot replaces the draft its chat shows (https://core.telegram.org/api/bots/ai).
    shownDrafts.delete(chat.id);
    return message;
  };

  const isAnswer = (value: unknown): value is Answer => typeof value === 'object' && value !== null && 'status' in value && 'body' in value;

  const handlers: Record<string, (params: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => Promise<Answer | undefined> | Answer | undefined> = {
    getMe: () => ok({ ...bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false }),
    setMyCommands: (p) => {
      // https://core.telegram.org/bots/api#botcommand: 1-32 of a-z, 0-9 and _; a description of 1-256 characters.
      const commands = p['commands'] as Array<{ command: string; description: string }>;
      if (commands.length > 100) return badRequest('too many commands');
      if (commands.some((c) => !/^[a-z0-9_]{1,32}$/.test(c.command))) return badRequest('BOT_COMMAND_INVALID');
      if (commands.some((c) => c.description.length < 1 || c.description.length > 256)) return badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
      return ok(true);
    },
    setWebhook: (p) => {
      if (Array.isArray(p['allowed_updates'])) allowedUpdates = p['allowed_updates'] as string[];
      webhook = { url: String(p['url']), secretToken: p['secret_token'] === undefined ? undefined : String(p['secret_token']) };
      return ok(true);
    },
    deleteWebhook: (p) => {
      webhook = undefined;
      if (p['drop_pending_updates'] === true) updates = [];
      return ok(true);
    },
    getUpdates: async (p, req, res) => {
      if (webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
      const offset = Number(p['offset'] ?? 0);
      if (offset > 0) updates = updates.filter((u) => Number(u['update_id']) >= offset);
      if (Array.isArray(p['allowed_updates'])) allowedUpdates = p['allowed_updates'] as string[];
      // Telegram does not keep updates of kinds the bot did not ask for.
      if (allowedUpdates.length > 0) updates = updates.filter((u) => Object.keys(u).some((k) => allowedUpdates.includes(k)));
      const limit = Math.min(Math.max(Number(p['limit'] ?? 100), 1), 100);
      const holdMs = Math.max(0, Number(p['timeout'] ?? 0)) * 1000;
      // Like Telegram, a new poll ends the one still waiting: two pollers of one bot conflict.
      terminatePoll?.();
      if (updates.length === 0 && holdMs > 0) {
        const terminated = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => done(false), holdMs);
          const wakeUp = (): void => done(false);
          function done(conflict: boolean): void {
            clearTimeout(timer);
            // The socket is kept alive for the next poll: leave no listener behind on it.
            req.socket.off('close', wakeUp);
            res.off('close', wakeUp);
            waiters = waiters.filter((w) => w !== wakeUp);
            if (terminatePoll === terminate) terminatePoll = undefined;
            resolve(conflict);
          }
          const terminate = (): void => done(true);
          terminatePoll = terminate;
          waiters.push(wakeUp);
          req.socket.once('close', wakeUp);
          res.once('close', wakeUp);
        });
        if (terminated) return fail(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
      }
      return ok(updates.slice(0, limit));
    },
    sendMessage: (p) => {
      const chat = chats.get(Number(p['chat_id']));
      if (!chat) return badRequest('chat not found');
      const text = readText(p);
      if (isAnswer(text)) return text;
      const flood = floodCheck(chat.id, Date.now());
      if (flood) return flood;
      const message = botMessage(chat, p, {
        text: text.text,
        ...(text.entities.length > 0 ? { entities: text.entities } : {}),
        ...(p['parse_mode'] ? { parse_mode_sent: p['parse_mode'] } : {}),
      });
      return isAnswer(message) ? message : ok(publicMessage(message));
    },
    editMessageText: (p) => {
      if (p['inline_message_id'] !== undefined) return ok(true);
      const chat = chats.get(Number(p['chat_id']));
      if (!chat) return badRequest('chat not found');
      const message = chatMessages(chat.id).get(Number(p['message_id']));
      if (!message || (message['from'] as FakeUser | undefined)?.id !== bot.id) return badRequest('message to edit not found');
      const text = readText(p);
      if (isAnswer(text)) return text.body['description'] === 'Bad Request: message is too long' ? badRequest('MESSAGE_TOO_LONG') : text;
      if (text.text === message.text && (p['parse_mode'] ?? null) === (message['parse_mode_sent'] ?? null)) {
        return badRequest('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
      }
      const flood = floodCheck(chat.id, Date.now());
      if (flood) return flood;
      message.text = text.text;
      if (text.entities.length > 0) message['entities'] = text.entities;
      else delete message['entities'];
      if (p['parse_mode']) message['parse_mode_sent'] = p['parse_mode'];
      else delete message['parse_mode_sent'];
      message['edit_date'] = Math.floor(Date.now() / 1000);
      return ok(publicMessage(message));
    },
    sendMessageDraft: (p) => {
      if (!fake.drafts) return fail(404, 'Not Found');
      const chat = chats.get(Number(p['chat_id']));
      if (!chat) return badRequest('chat not found');
      // "Unique identifier for the target private chat": drafts go to users only.
      if (chat.type !== 'private') return badRequest('TEXTDRAFT_PEER_INVALID');
      const draftId = Number(p['draft_id']);
      if (!Number.isInteger(draftId) || draftId === 0) return badRequest('draft_id must be non-zero');
      // An empty text shows a "Thinking..." placeholder; otherwise the text is parsed like a message's.
      let visible = '';
      if (String(p['text'] ?? '') !== '') {
        const text = readText(p);
        if (isAnswer(text)) return text;
        visible = text.text;
      }
      // Drafts are paced per chat on a count of their own (they are typing actions, not messages).
      const now = Date.now();
      const last = countedDrafts.get(chat.id);
      if (fake.rateLimits && last !== undefined && now - last < CHAT_INTERVAL_MS - FLOOD_TOLERANCE_MS) {
        return fail(429, 'Too Many Requests: retry after 1', { retry_after: 1 });
      }
      countedDrafts.set(chat.id, now);
      shownDrafts.set(chat.id, { draftId, text: visible });
      return ok(true);
    },
    sendChatAction: (p) => {
      if (!chats.has(Number(p['chat_id']))) return badRequest('chat not found');
      return CHAT_ACTIONS.has(String(p['action'])) ? ok(true) : badRequest('wrong parameter action in request');
    },
    sendPhoto: (p) => sendMedia(p, 'photo'),
    sendDocument: (p) => sendMedia(p, 'document'),
    sendMediaGroup: (p) => sendAlbum(p),
    getFile: (p) => {
      const file = files.get(String(p['file_id']));
      if (!file) return badRequest('invalid file_id');
      if (file.size > MAX_DOWNLOAD_BYTES) return badRequest('file is too big');
      return ok({ file_id: p['file_id'], file_unique_id: `u${String(p['file_id'])}`, file_size: file.size, file_path: file.path });
    },
    deleteMessage: (p) => {
      const chatId = Number(p['chat_id']);
      const map = chatMessages(chatId);
      const message = map.get(Number(p['message_id']));
      if (!message) return badRequest('message to delete not found');
      const own = (message['from'] as FakeUser | undefined)?.id === bot.id;
      if (!own && botRights.get(chatId)?.canDeleteMessages === false) return badRequest("message can't be deleted");
      map.delete(message.message_id);
      deletions.push({ chatId, messageId: message.message_id });
      return ok(true);
    },
    getChatMember: (p) => {
      const chat = chats.get(Number(p['chat_id']));
      if (!chat) return badRequest('chat not found');
      const userId = Number(p['user_id']);
      if (userId === bot.id) {
        const rights = botRights.get(chat.id);
        return ok(administrator(bot, { can_delete_messages: rights?.canDeleteMessages !== false, can_restrict_members: rights?.canRestrictMembers !== false }));
      }
      const user = users.get(userId);
      if (!user) return badRequest('user not found');
      if (chat.type === 'private') return ok(chat.id === userId ? { status: 'member', user } : { status: 'left', user });
      const member = members.get(memberKey(chat.id, userId)) ?? { status: 'member' };
      if (member.status === 'creator') return ok({ status: 'creator', user, is_anonymous: false });
      if (member.status === 'administrator') return ok(administrator(user, member));
      return ok({ status: 'member', user });
    },
    restrictChatMember: (p) => {
      const chat = chats.get(Number(p['chat_id']));
      if (!chat) return badRequest('chat not found');
      if (chat.type !== 'supergroup') return badRequest('method is available only for supergroups');
      const userId = Number(p['user_id']);
      if (!users.has(userId)) return badRequest('user not found');
      if (botRights.get(chat.id)?.canRestrictMembers === false) return badRequest('not enough rights to restrict/unrestrict chat member');
      const status = members.get(memberKey(chat.id, userId))?.status;
      if (status === 'creator') return badRequest("can't remove chat owner");
      if (status === 'administrator') return badRequest('user is an administrator of the chat');
      restrictions.push({
        chatId: chat.id,
        userId,
        permissions: p['permissions'] as Record<string, unknown>,
        ...(p['until_date'] === undefined ? {} : { untilDate: Number(p['until_date']) }),
      });
      return ok(true);
    },
  };

  const sendMedia = (p: Record<string, unknown>, kind: 'photo' | 'document'): Answer => {
    const chat = chats.get(Number(p['chat_id']));
    if (!chat) return badRequest('chat not found');
    const input = p[kind];
    const upload = typeof input === 'object' && input !== null ? (input as MultipartPart) : undefined;
    if (p['caption'] !== undefined) {
      const caption = readText(p, 'caption');
      if (isAnswer(caption)) return caption;
    }
    // Telegram decodes an uploaded photo to make its sizes; bytes that are no image fail.
    const dimensions = kind === 'photo' && upload ? imageDimensions(upload.data) : { width: 1, height: 1 };
    if (dimensions === undefined) return badRequest('IMAGE_PROCESS_FAILED');
    const flood = floodCheck(chat.id, Date.now());
    if (flood) return flood;
    const fileId = upload ? fake.addFile(upload.data, `${kind}s/${upload.filename}`) : String(input);
    const media =
      kind === 'photo'
        ? { photo: [{ file_id: fileId, file_unique_id: `u${fileId}`, ...dimensions, file_size: upload?.data.length }] }
        : { document: { file_id: fileId, file_unique_id: `u${fileId}`, file_name: upload?.filename } };
    const message = botMessage(chat, p, { ...media, ...(p['caption'] ? { caption: p['caption'] } : {}) });
    if (isAnswer(message)) return message;
    if (upload) {
      const replyTo = (p['reply_parameters'] as { message_id?: number } | undefined)?.message_id;
      uploads.push({
        method: kind === 'photo' ? 'sendPhoto' : 'sendDocument',
        chatId: chat.id,
        ...(p['message_thread_id'] === undefined ? {} : { threadId: Number(p['message_thread_id']) }),
        ...(replyTo === undefined ? {} : { replyTo }),
        fileName: upload.filename ?? '',
        ...(upload.contentType === undefined ? {} : { contentType: upload.contentType }),
        bytes: upload.data,
        ...(p['caption'] === undefined ? {} : { caption: String(p['caption']) }),
      });
    }
    return ok(publicMessage(message));
  };

  /**
   * sendMediaGroup: 2-10 photos, each `attach://<part>` of this request (or a known
   * file_id), a caption of at most 1024 characters on any; every photo becomes a message
   * of one `media_group_id`, replying (and in the topic) as asked.
   */
  const sendAlbum = (p: Record<string, unknown>): Answer => {
    const chat = chats.get(Number(p['chat_id']));
    if (!chat) return badRequest('chat not found');
    const items = p['media'] as Array<{ type: string; media: string; caption?: string }>;
    if (items.length < MIN_ALBUM_ITEMS || items.length > MAX_ALBUM_ITEMS) return badRequest('media must include 2-10 items');
    const parts = attachments.get(p) ?? new Map<string, MultipartPart>();
    const photos: Array<{ upload?: MultipartPart; fileId: string; dimensions: { width: number; height: number }; caption?: string }> = [];
    for (const item of items) {
      if (item.type !== 'photo') return badRequest('this fake sends albums of photos only');
      if (item.caption !== undefined) {
        const caption = readText({ caption: item.caption }, 'caption');
        if (isAnswer(caption)) return caption;
      }
      const upload = item.media.startsWith(ATTACH_PREFIX) ? parts.get(item.media.slice(ATTACH_PREFIX.length)) : undefined;
      if (upload === undefined && !files.has(item.media)) return badRequest('wrong file identifier/HTTP URL specified');
      const dimensions = upload ? imageDimensions(upload.data) : { width: 1, height: 1 };
      if (dimensions === undefined) return badRequest('IMAGE_PROCESS_FAILED');
      const fileId = upload ? fake.addFile(upload.data, `photos/${upload.filename ?? 'photo.jpg'}`) : item.media;
      photos.push({ ...(upload ? { upload } : {}), fileId, dimensions, ...(item.caption === undefined ? {} : { caption: item.caption }) });
    }
    const at = Date.now();
    const flood = floodCheck(chat.id, at);
    if (flood) return flood;
    // Every photo of an album is a message of its own to Telegram's limits.
    for (let extra = 1; extra < photos.length; extra += 1) counted.get(chat.id)?.push(at);
    const mediaGroupId = String(10_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
    const sent: FakeMessage[] = [];
    for (const photo of photos) {
      const media = { photo: [{ file_id: photo.fileId, file_unique_id: `u${photo.fileId}`, ...photo.dimensions, file_size: photo.upload?.data.length }] };
      const message = botMessage(chat, p, { ...media, media_group_id: mediaGroupId, ...(photo.caption ? { caption: photo.caption } : {}) });
      if (isAnswer(message)) return message;
      sent.push(message);
    }
    const replyTo = (p['reply_parameters'] as { message_id?: number } | undefined)?.message_id;
    for (const photo of photos) {
      if (!photo.upload) continue;
      uploads.push({
        method: 'sendMediaGroup',
        mediaGroupId,
        chatId: chat.id,
        ...(p['message_thread_id'] === undefined ? {} : { threadId: Number(p['message_thread_id']) }),
        ...(replyTo === undefined ? {} : { replyTo }),
        fileName: photo.upload.filename ?? '',
        ...(photo.upload.contentType === undefined ? {} : { contentType: photo.upload.contentType }),
        bytes: photo.upload.data,
        ...(photo.caption === undefined ? {} : { caption: photo.caption }),
      });
    }
    return ok(sent.map(publicMessage));
  };

  /** The files a request's InputMedia name by `attach://`, taken out of its parameters (they are not parameters). */
  const attachments = new WeakMap<Record<string, unknown>, Map<string, MultipartPart>>();
  const takeAttachments = (params: Record<string, unknown>): void => {
    const media = params['media'];
    if (!Array.isArray(media)) return;
    const parts = new Map<string, MultipartPart>();
    for (const item of media as Array<{ media?: unknown }>) {
      if (typeof item?.media !== 'string' || !item.media.startsWith(ATTACH_PREFIX)) continue;
      const name = item.media.slice(ATTACH_PREFIX.length);
      const part = params[name];
      if (typeof part === 'object' && part !== null) {
        parts.set(name, part as MultipartPart);
        delete params[name];
      }
    }
    attachments.set(params, parts);
  };

  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      violations.push(`fake error: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://fake.invalid');
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(pathname);
    if (download) {
      const path = decodeURIComponent(download[2] ?? '');
      const tokenOk = decodeURIComponent(download[1] ?? '') === options.token;
      const file = [...files.values()].find((f) => f.path === path);
      const failing = file !== undefined && file.failDownloads > 0;
      const status = !tokenOk ? 401 : !file ? 404 : failing ? 502 : 200;
      downloads.push({ path, tokenOk, status });
      if (status === 401) return send(res, fail(401, 'Unauthorized'));
      if (!file) return send(res, fail(404, 'Not Found'));
      if (failing) {
        file.failDownloads -= 1;
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.data.length }).end(file.data);
      return;
    }
    const route = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(pathname);
    if (!route) return send(res, fail(404, 'Not Found'));
    const [, token, method = ''] = route;
    const body = await readBody(req);
    if (token !== options.token) return record(res, method, {}, Date.now(), fail(401, 'Unauthorized'));
    let params: Record<string, unknown>;
    let multipart = false;
    const contentType = req.headers['content-type'] ?? '';
    try {
      if (/^multipart\/form-data/i.test(contentType)) {
        multipart = true;
        params = Object.fromEntries(
          (await parseMultipart(body, contentType)).map((part) => [part.name, part.filename === undefined ? part.data.toString('utf8') : part]),
        );
        // telegraf repeats the method as a form field; Telegram ignores unknown fields.
        delete params['method'];
      } else if (/^application\/json/i.test(contentType)) {
        params = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      } else {
        params = Object.fromEntries(new URLSearchParams(body.length > 0 ? body.toString('utf8') : searchParams.toString()));
        multipart = true; // form values are text too
      }
    } catch (error) {
      violations.push(`${method}: unreadable body (${String(error)})`);
      return send(res, badRequest('invalid request body'));
    }
    const at = Date.now();
    const handler = handlers[Object.keys(handlers).find((name) => name.toLowerCase() === method.toLowerCase()) ?? ''];
    if (!isKnownMethod(method) || handler === undefined) {
      violations.push(`${method}: not served by this fake`);
      return record(res, method, params, at, fail(404, 'Not Found: method not found'));
    }
    const typed = multipart ? coerce(params) : params;
    if (multipart) takeAttachments(typed);
    const problems = options.validate === false ? [] : checkCall(method, typed);
    if (problems.length > 0) {
      violations.push(...problems);
      return record(res, method, typed, at, badRequest(problems[0] ?? 'invalid parameters'));
    }
    const fault = faults.find((f) => f.method === method && (f.when === undefined || f.when(typed)));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults = faults.filter((f) => f !== fault);
      return record(res, method, typed, at, fail(fault.error_code, fault.description, fault.parameters));
    }
    const answer = (await handler(typed, req, res)) ?? badRequest('unhandled');
    record(res, method, typed, at, answer);
  }

  function record(res: ServerResponse, method: string, params: Record<string, unknown>, at: number, answer: Answer): void {
    calls.push({ method, params, at, response: answer.body as RecordedCall['response'] });
    send(res, answer);
  }

  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  return fake;
}

function send(res: ServerResponse, answer: { status: number; body: Record<string, unknown> }): void {
  if (res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Form values as Telegram reads them: numbers, booleans and JSON from text. */
function coerce(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string') out[name] = value;
    else if (/^-?\d+$/.test(value) && name !== 'text' && name !== 'caption') out[name] = Number(value);
    else if (value === 'true' || value === 'false') out[name] = value === 'true';
    else if (/^[[{]/.test(value) && name !== 'text' && name !== 'caption') {
      try {
        out[name] = JSON.parse(value);
      } catch {
        out[name] = value;
      }
    } else out[name] = value;
  }
  return out;
}

/**
 * Width and height of a PNG (from IHDR), or 1×1 for a JPEG, GIF or WebP (recognised by
 * signature; their sizes do not matter here); undefined for anything else.
 */
function imageDimensions(data: Buffer): { width: number; height: number } | undefined {
  if (data.length >= 24 && data.subarray(0, 8).equals(PNG_SIGNATURE) && data.toString('latin1', 12, 16) === 'IHDR') {
    return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  const jpeg = data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;
  const gif = data.toString('latin1', 0, 4) === 'GIF8';
  const webp = data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP';
  return jpeg || gif || webp ? { width: 1, height: 1 } : undefined;
}

/** A ChatMemberAdministrator with every field the spec requires; rights not given are false. */
function administrator(user: FakeUser, rights: { can_delete_messages?: boolean; can_change_info?: boolean; can_restrict_members?: boolean }): Record<string, unknown> {
  return {
    status: 'administrator',
    user,
    can_be_edited: false,
    is_anonymous: false,
    can_manage_chat: true,
    can_delete_messages: rights.can_delete_messages === true,
    can_manage_video_chats: false,
    can_restrict_members: rights.can_restrict_members === true,
    can_promote_members: false,
    can_change_info: rights.can_change_info === true,
    can_invite_users: true,
    can_post_stories: false,
    can_edit_stories: false,
    can_delete_stories: false,
  };
}

/** A message as another's `reply_to_message` carries it: without its own reply, or the fake's bookkeeping. */
function withoutReply(message: FakeMessage): FakeMessage {
  const { reply_to_message: _reply, parse_mode_sent: _omit, ...rest } = message;
  return rest as FakeMessage;
}

/** The message as the API returns it (without the fake's own bookkeeping). */
function publicMessage(message: FakeMessage): Record<string, unknown> {
  const { parse_mode_sent: _omit, ...rest } = message;
  return rest;
}

/**
 * The entities of a message the bot sent, as Telegram returns them: code, pre and text
 * mentions from the markup, and the `mention` entities Telegram finds itself in the text
 * (an `@username` outside code), which notify that user in a group.
 */
function messageEntities(text: string, markup: readonly MarkupEntity[], users: ReadonlyMap<number, FakeUser>): Array<Record<string, unknown>> {
  const inCode = (at: number): boolean => markup.some((e) => e.type !== 'text_mention' && at >= e.offset && at < e.offset + e.length);
  const entities: Array<Record<string, unknown>> = markup.map((e) =>
    e.type === 'text_mention'
      ? { type: 'text_mention', offset: e.offset, length: e.length, user: users.get(e.userId ?? 0) ?? { id: e.userId, is_bot: false, first_name: 'User' } }
      : { type: e.type, offset: e.offset, length: e.length },
  );
  for (const mention of text.matchAll(MENTION)) {
    if (!inCode(mention.index)) entities.push({ type: 'mention', offset: mention.index, length: mention[0].length });
  }
  return entities.sort((a, b) => Number(a['offset']) - Number(b['offset']));
}

/** An @username Telegram turns into a mention: 5-32 of A-Z a-z 0-9 _, not inside a word or an address. */
const MENTION = /(?<![\w@/])@[A-Za-z0-9_]{5,32}\b/g;

/** `bot_command` and `mention` entities, as Telegram computes them (offsets in UTF-16 units). */
export function entitiesOf(text: string): Array<{ type: string; offset: number; length: number }> {
  const entities: Array<{ type: string; offset: number; length: number }> = [];
  const command = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?/.exec(text);
  if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
  for (const mention of text.matchAll(MENTION)) {
    if (command && mention.index < command[0].length) continue;
    entities.push({ type: 'mention', offset: mention.index, length: mention[0].length });
  }
  return entities;
}
