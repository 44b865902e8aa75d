/**
 * The Telegram Outbox: workers send, stream-edit and show typing over the Bot API
 * (sendMessage, editMessageText, sendChatAction), with no polling or webhook of their own.
 *
 * Limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this)
 * are counted in the shared RateLimiter, so every worker process together stays under
 * them: one message a second per chat, twenty a minute per group, thirty a second in all.
 * A streaming edit that does not fit now is skipped (a later edit carries its text) and
 * may use only part of a group's minute, so the replies and final edits always have room;
 * sends and final edits wait their turn. A 429 pauses the chat's keys for `retry_after`
 * and the same call is retried: a reply is never dropped.
 *
 * Text goes as HTML converted from the model's Markdown; if Telegram refuses the
 * entities, the same text goes again as plain text. An edit that would not change what a
 * message shows is not sent at all, and Telegram's "message is not modified" is success.
 */
import type { ChatRef } from '../../src/domain/inbound-message.js';
import type { Logger, Outbox, RateLimit, RateLimiter, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { TelegramApiError, type TelegramApi } from './telegram.api.js';
import { markdownToTelegramHtml } from './telegram.format.js';
import { FileFetchError } from '../../src/domain/media.js';

/** https://core.telegram.org/bots/api#sendmessage: 1-4096 characters after entities parsing. */
export const TELEGRAM_MAX_MESSAGE_LENGTH = 4096;
/** One message (or edit) a second per chat. */
export const EDIT_INTERVAL_MS = 1_000;
const CHAT_LIMIT = { max: 1, perMs: 1_000 } as const;
const GROUP_LIMIT = { max: 20, perMs: 60_000 } as const;
/** Streaming edits may use this many of a group's twenty a minute; the rest are kept for replies and final edits. */
const GROUP_STREAMING_MAX = 15;
const GLOBAL_LIMIT = { max: 30, perMs: 1_000 } as const;
/** How many 429s in a row one call sits out before the job fails (and the queue retries it). */
const MAX_FLOOD_RETRIES = 8;
/** When Telegram gives no retry_after with a 429. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** Messages still streaming whose shown text this process remembers (a reply's messages live in one job, one process). */
const MAX_TRACKED_MESSAGES = 10_000;

export interface TelegramOutboxDeps {
  readonly api: TelegramApi;
  readonly rateLimiter: RateLimiter;
  /** The bot's id (the token's first part): limit keys are per bot. */
  readonly botId: string;
  readonly log: Logger;
}

type Mode = 'wait' | 'skip';

/** Creates the Outbox of platform 'telegram'. */
export function createTelegramOutbox(deps: TelegramOutboxDeps): Outbox {
  const log = deps.log.child({ platform: 'telegram' });
  // What each of our streaming messages shows, so an edit to the same text costs no call
  // (a short answer's final edit usually repeats the text it was sent with).
  const shown = new Map<string, string>();
  const remember = (key: string, text: string | undefined): void => {
    shown.delete(key);
    if (text === undefined) return;
    shown.set(key, text);
    if (shown.size > MAX_TRACKED_MESSAGES) shown.delete(shown.keys().next().value ?? '');
  };

  const limitsFor = (chat: ChatRef, mode: Mode): RateLimit[] => {
    const base = `telegram:${deps.botId}`;
    const limits: RateLimit[] = [
      { key: `${base}:chat:${chat.id}`, ...CHAT_LIMIT },
      { key: `${base}:global`, ...GLOBAL_LIMIT },
    ];
    if (chat.kind === 'group') {
      limits.push({ key: `${base}:group:${chat.id}`, max: mode === 'skip' ? GROUP_STREAMING_MAX : GROUP_LIMIT.max, perMs: GROUP_LIMIT.perMs });
    }
    return limits;
  };

  /**
   * One rate-limited call. Returns undefined when a 'skip' call did not fit (or hit a 429):
   * the caller's next update carries the text.
   */
  const limited = async <T>(chat: ChatRef, mode: Mode, method: string, params: Record<string, unknown>): Promise<T | undefined> => {
    const limits = limitsFor(chat, mode);
    for (let attempt = 0; ; attempt += 1) {
      if (mode === 'skip') {
        if ((await deps.rateLimiter.tryAcquire(limits)) > 0) return undefined;
      } else {
        await deps.rateLimiter.acquire(limits);
      }
      try {
        return await deps.api.call<T>(method, params);
      } catch (error) {
        if (!(error instanceof TelegramApiError) || error.status !== 429 || attempt >= MAX_FLOOD_RETRIES) throw error;
        const ms = (error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) * 1000;
        log.warn({ method, chat: chat.id, retryAfterMs: ms }, 'telegram flood control: pausing this chat');
        // Global limits are not per chat, but a chat's 429 is the chat's: pause only its keys.
        await Promise.all(limits.filter((l) => !l.key.endsWith(':global')).map((l) => deps.rateLimiter.pause(l.key, ms)));
        if (mode === 'skip') return undefined;
      }
    }
  };

  /** Sends `text` as HTML, falling back to the same text as plain text if Telegram refuses the entities. */
  const withFormatting = async <T>(
    chat: ChatRef,
    mode: Mode,
    method: string,
    params: Record<string, unknown>,
    text: string,
  ): Promise<T | undefined> => {
    try {
      return await limited<T>(chat, mode, method, { ...params, text: markdownToTelegramHtml(text), parse_mode: 'HTML' });
    } catch (error) {
      if (!(error instanceof TelegramApiError) || !error.badEntities) throw error;
      log.warn({ method, chat: chat.id, description: error.description }, 'telegram refused the HTML; sending plain text');
      return limited<T>(chat, mode, method, { ...params, text });
    }
  };

  return {
    platform: 'telegram',
    maxMessageLength: TELEGRAM_MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,

    async send(target, text, options): Promise<SentMessage> {
      const params: Record<string, unknown> = { chat_id: target.chat.id, ...thread(target) };
      if (target.replyToMessageId !== undefined) {
        // The user's message may be gone by now; the answer still matters.
        params['reply_parameters'] = { message_id: Number(target.replyToMessageId), allow_sending_without_reply: true };
      }
      const sent = await withFormatting<{ message_id: number }>(target.chat, 'wait', 'sendMessage', params, text);
      if (sent === undefined) throw new Error('sendMessage returned nothing');
      if (!options.final) remember(`${target.chat.id}:${sent.message_id}`, text);
      return { id: String(sent.message_id) };
    },

    async edit(target, message, text, options): Promise<void> {
      const key = `${target.chat.id}:${message.id}`;
      if (shown.get(key) === text) {
        if (options.final) remember(key, undefined);
        return;
      }
      const params = { chat_id: target.chat.id, message_id: Number(message.id) };
      try {
        const edited = await withFormatting(target.chat, options.final ? 'wait' : 'skip', 'editMessageText', params, text);
        if (options.final) remember(key, undefined);
        else if (edited !== undefined) remember(key, text);
      } catch (error) {
        if (!(error instanceof TelegramApiError) || !error.notModified) throw error;
        remember(key, options.final ? undefined : text);
      }
    },

    async showTyping(target): Promise<void> {
      await deps.api.call('sendChatAction', { chat_id: target.chat.id, action: 'typing', ...thread(target) });
    },
    // Issue #5: replaced by the platform's file download and image upload.
    maxFileBytes: 0,
    async fetchFile() {
      throw new FileFetchError('files are not supported on this platform yet', false);
    },
    async sendImage() {
      throw new FileFetchError('images are not supported on this platform yet', false);
    },
  };
}

function thread(target: ReplyTarget): { message_thread_id?: number } {
  return target.chat.threadId === undefined ? {} : { message_thread_id: Number(target.chat.threadId) };
}
