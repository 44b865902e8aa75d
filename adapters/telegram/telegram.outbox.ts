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
 * Drafts (Bot API 9.3, sendMessageDraft): in private chats an answer streams as a draft,
 * then one sendMessage persists it. Telegram documents a draft as a streamed, ephemeral
 * preview, not a message (it is a typing action, `sendMessageTextDraftAction`, that the
 * next message from the bot replaces): drafts come one a second per chat (the answer's
 * ReplyStream paces them) on a count of their own, so the final message never waits
 * behind them, and they spend nothing of the bot's messages a second. A 429 holds the
 * chat's drafts for retry_after; a draft that fails is skipped. Where Telegram refuses drafts (a group, a Bot API server without the method),
 * the answer sends and edits instead, and private chats stream by editing for an hour.
 * https://core.telegram.org/bots/api#sendmessagedraft  https://core.telegram.org/api/bots/ai
 *
 * Text goes as HTML converted from the model's Markdown; if Telegram refuses the
 * entities, the same text goes again as plain text. In groups, an `@username` (or a
 * `tg://user` link) the model wrote is sent so that it notifies nobody (telegram.mentions.ts). An edit that would not change what a
 * message shows is not sent at all, and Telegram's "message is not modified" is success.
 *
 * Files: a user's file is fetched with getFile and downloaded from the Bot API's file
 * route (telegram.files.ts), refused before any call when its size is known to be over
 * the 20 MB a bot may download. Images go up as sendPhoto uploads, counted against the
 * same limits as messages, with a plain-text caption cut to Telegram's 1024 characters;
 * several at once go as one album (telegram.album.ts). Other files (a model's reasoning as
 * text) go up as sendDocument.
 *
 * Moderation (deleting a message, timing a member out, a member's rights, message links):
 * telegram.moderation.ts.
 */
import type { File as TelegramFile } from 'telegraf/types';
import type { Attachment, ChatRef } from '../../src/domain/inbound-message.js';
import { FileFetchError, FileTooLargeError, type FileContent } from '../../src/domain/media.js';
import type { Logger, Outbox, RateLimit, RateLimiter, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { retry, type RetryPolicy } from '../../src/infra/retry.js';
import { sendAlbum } from './telegram.album.js';
import { isFlood, TelegramApiError, uploadFile, type TelegramApi, type TelegramMethod, type TelegramParams, type TelegramResult } from './telegram.api.js';
import type { TelegramFiles } from './telegram.files.js';
import { markdownToTelegramHtml } from './telegram.format.js';
import { mentionStyleFor, withoutMentionsHtml, withoutMentionsPlain } from './telegram.mentions.js';
import { createTelegramModeration } from './telegram.moderation.js';

/** https://core.telegram.org/bots/api#sendmessage: 1-4096 characters after entities parsing. */
export const TELEGRAM_MAX_MESSAGE_LENGTH = 4096;
/** https://core.telegram.org/bots/api#getfile: bots may download files of up to 20 MB. */
export const TELEGRAM_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
/** https://core.telegram.org/bots/api#sendphoto: a media caption is 0-1024 characters. */
export const TELEGRAM_MAX_CAPTION_LENGTH = 1024;
/** sendPhoto takes photos of up to 10 MB; a larger image goes as a document (up to 50 MB). */
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
/** One message (or edit) a second per chat. */
export const EDIT_INTERVAL_MS = 1_000;
const CHAT_LIMIT = { max: 1, perMs: 1_000 } as const;
const GROUP_LIMIT = { max: 20, perMs: 60_000 } as const;
/** Streaming edits may use this many of a group's twenty a minute; the rest are kept for replies and final edits. */
const GROUP_STREAMING_MAX = 15;
/**
 * A 429 pauses the chat's limit keys for `retry_after`, and the call waits its turn again
 * (the pause is the wait): eight 429s in a row at most, then the job fails (and the queue retries it).
 */
const FLOOD_RETRY: RetryPolicy = { retries: 8, delayMs: () => 0, retryIf: isFlood };
/** After Telegram refuses a draft in a kind of chat, that kind streams by editing for this long, then tries drafts again. */
const DRAFT_REFUSAL_MS = 3_600_000;
/** Messages still streaming whose shown text this process remembers (a reply's messages live in one job, one process). */
const MAX_TRACKED_MESSAGES = 10_000;

export interface TelegramOutboxDeps {
  readonly api: TelegramApi;
  readonly rateLimiter: RateLimiter;
  /** The bot's id (the token's first part): limit keys are per bot. */
  readonly botId: string;
  /** Messages a second the bot may send in all (TELEGRAM_MESSAGES_PER_SECOND): Telegram's free 30, or up to 1000 with Paid Broadcasts. */
  readonly messagesPerSecond: number;
  readonly log: Logger;
  /** Downloads of getFile's file paths (the URL holds the token). */
  readonly files: TelegramFiles;
  /** Milliseconds since the epoch (a timeout's end); Date.now unless a test says otherwise. */
  readonly now?: () => number;
}

type Mode = 'wait' | 'skip';

/** A message's text as sent: HTML with its parse mode, or plain. */
interface FormattedText {
  readonly text: string;
  readonly parse_mode?: 'HTML';
}

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
      { key: `${base}:global`, max: deps.messagesPerSecond, perMs: 1_000 },
    ];
    if (chat.kind === 'group') {
      limits.push({ key: `${base}:group:${chat.id}`, max: mode === 'skip' ? GROUP_STREAMING_MAX : GROUP_LIMIT.max, perMs: GROUP_LIMIT.perMs });
    }
    return limits;
  };

  // Chats whose drafts Telegram asked to hold (429), until when. A chat's drafts need no
  // shared count: one answer streams in one chat at a time (answers of a conversation run in
  // turn), and its ReplyStream already paces it to one update a second.
  const draftsHeld = new Map<string, number>();

  /**
   * One rate-limited call. Returns undefined when a 'skip' call did not fit (or hit a 429):
   * the caller's next update carries the text.
   */
  const limited = async <M extends TelegramMethod>(
    chat: ChatRef,
    mode: Mode,
    method: M,
    params: TelegramParams<M>,
  ): Promise<TelegramResult<M> | undefined> => {
    const limits = limitsFor(chat, mode);
    const once = (): Promise<TelegramResult<M>> => deps.api.call(method, params);
    const holdChat = async (error: TelegramApiError): Promise<void> => {
      const ms = error.retryAfterMs;
      log.warn({ method, chat: chat.id, retryAfterMs: ms }, 'telegram flood control: pausing this chat');
      // Global limits are not per chat, but a chat's 429 is the chat's: pause only its keys.
      await Promise.all(limits.filter((l) => !l.key.endsWith(':global')).map((l) => deps.rateLimiter.pause(l.key, ms)));
    };
    // The call keeps its place in the shared window until Telegram has answered it.
    if (mode !== 'skip') return retry(FLOOD_RETRY, () => deps.rateLimiter.run(limits, once), { onRetry: (error) => holdChat(error as TelegramApiError) });
    try {
      const tried = await deps.rateLimiter.tryRun(limits, once);
      return tried.ran ? tried.value : undefined;
    } catch (error) {
      if (!isFlood(error)) throw error;
      await holdChat(error);
      return undefined;
    }
  };

  /**
   * `text` as HTML converted from Markdown, or as plain text if Telegram refuses the
   * entities: `send` makes the call with the text (and parse mode) it is given.
   */
  const withFormatting = async <T>(chat: ChatRef, method: TelegramMethod, text: string, send: (formatted: FormattedText) => Promise<T>): Promise<T> => {
    // In a group an @username the model wrote would notify that member: sent so it does not (telegram.mentions.ts).
    const style = chat.kind === 'group' ? mentionStyleFor(text, TELEGRAM_MAX_MESSAGE_LENGTH) : undefined;
    const html = markdownToTelegramHtml(text);
    try {
      return await send({ text: style ? withoutMentionsHtml(html, style) : html, parse_mode: 'HTML' });
    } catch (error) {
      if (!(error instanceof TelegramApiError) || !error.badEntities) throw error;
      log.warn({ method, chat: chat.id, description: error.description }, 'telegram refused the HTML; sending plain text');
      return send({ text: style ? withoutMentionsPlain(text, style) : text });
    }
  };

  // Kinds of chat where Telegram refused a draft lately, until when.
  const draftsRefused = new Map<string, number>();
  const draftKindOf = (chat: ChatRef): string => `${chat.kind}${chat.threadId === undefined ? '' : ':topic'}`;
  const now = deps.now ?? Date.now;

  return {
    ...createTelegramModeration({ api: deps.api, ...(deps.now === undefined ? {} : { now: deps.now }) }),
    platform: 'telegram',
    maxMessageLength: TELEGRAM_MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,

    async send(target, text, options): Promise<SentMessage> {
      const params = { chat_id: target.chat.id, ...thread(target), ...replyTo(target) };
      const sent = await withFormatting(target.chat, 'sendMessage', text, (formatted) => limited(target.chat, 'wait', 'sendMessage', { ...params, ...formatted }));
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
        const mode = options.final ? 'wait' : 'skip';
        const edited = await withFormatting(target.chat, 'editMessageText', text, (formatted) => limited(target.chat, mode, 'editMessageText', { ...params, ...formatted }));
        if (options.final) remember(key, undefined);
        else if (edited !== undefined) remember(key, text);
      } catch (error) {
        if (!(error instanceof TelegramApiError) || !error.notModified) throw error;
        remember(key, options.final ? undefined : text);
      }
    },

    drafts: {
      available(chat) {
        return chat.kind === 'dm' && (draftsRefused.get(draftKindOf(chat)) ?? 0) <= now();
      },
      async show(target, draftId, text) {
        const chatId = target.chat.id;
        if ((draftsHeld.get(chatId) ?? 0) > now()) return true;
        draftsHeld.delete(chatId);
        // An Integer: drafts go to private chats only, never to an @username.
        const params = { chat_id: Number(chatId), draft_id: draftId, ...thread(target) };
        try {
          await deps.api
            .call('sendMessageDraft', { ...params, text: markdownToTelegramHtml(text), parse_mode: 'HTML' })
            .catch((error: unknown) => {
              if (!(error instanceof TelegramApiError) || !error.badEntities) throw error;
              return deps.api.call('sendMessageDraft', { ...params, text });
            });
          return true;
        } catch (error) {
          if (isFlood(error)) {
            log.warn({ chat: chatId, retryAfterSeconds: error.retryAfterSeconds }, 'telegram flood control: holding this chat’s drafts');
            if (draftsHeld.size >= MAX_TRACKED_MESSAGES) draftsHeld.clear();
            draftsHeld.set(chatId, now() + error.retryAfterMs);
            return true;
          }
          // Only a refusal changes how the answer streams; anything else skips this draft (the final message carries the text).
          if (!(error instanceof TelegramApiError) || (error.status !== 400 && error.status !== 404)) return true;
          const kind = draftKindOf(target.chat);
          if (!draftsRefused.has(kind)) log.warn({ status: error.status, description: error.description, chatKind: kind }, 'telegram refused sendMessageDraft: answers here stream by editing for the next hour');
          draftsRefused.set(kind, now() + DRAFT_REFUSAL_MS);
          return false;
        }
      },
    },

    async showTyping(target, activity = 'typing'): Promise<void> {
      await deps.api.call('sendChatAction', { chat_id: target.chat.id, action: activity, ...thread(target) });
    },

    maxFileBytes: TELEGRAM_MAX_DOWNLOAD_BYTES,

    async fetchFile(attachment, { maxBytes, signal }): Promise<FileContent> {
      const limit = Math.min(maxBytes, TELEGRAM_MAX_DOWNLOAD_BYTES);
      // Known too large: not one call, so a 2 GB video costs Telegram nothing.
      if (attachment.sizeBytes !== undefined && attachment.sizeBytes > limit) throw new FileTooLargeError(attachment.sizeBytes, limit);
      const file = await getFile(attachment, limit, signal);
      if (file.file_size !== undefined && file.file_size > limit) throw new FileTooLargeError(file.file_size, limit);
      if (file.file_path === undefined || file.file_path === '') throw new FileFetchError('Telegram getFile gave no file path', false);
      // A Bot API server in --local mode answers with a path on its own disk, which no worker can read.
      if (file.file_path.startsWith('/')) throw new FileFetchError('the Bot API server gave a local file path (is it running with --local?)', false);
      const content = await deps.files.download(file.file_path, { maxBytes: limit, ...(signal === undefined ? {} : { signal }) });
      const fileName = attachment.fileName ?? file.file_path.split('/').at(-1);
      const mimeType = attachment.mimeType ?? mimeTypeOfPath(file.file_path) ?? (content.mimeType === 'application/octet-stream' ? undefined : content.mimeType);
      return { bytes: content.bytes, ...(mimeType === undefined ? {} : { mimeType }), ...(fileName === undefined ? {} : { fileName }) };
    },

    async sendImage(target, image, caption): Promise<SentMessage> {
      const file = uploadFile(image.bytes, image.fileName);
      const text = caption === undefined ? '' : captionFor(target.chat, caption);
      // Plain text: a caption is the model's revised prompt, not Markdown.
      const extra = { ...replyToInUpload(target), ...(text === '' ? {} : { caption: text }) };
      const sent =
        image.bytes.byteLength <= PHOTO_MAX_BYTES
          ? await limited(target.chat, 'wait', 'sendPhoto', { chat_id: target.chat.id, ...thread(target), photo: file, ...extra })
          : await limited(target.chat, 'wait', 'sendDocument', { chat_id: target.chat.id, ...thread(target), document: file, ...extra });
      if (sent === undefined) throw new Error('the image upload returned nothing');
      return { id: String(sent.message_id) };
    },

    async sendFile(target, file, caption): Promise<SentMessage> {
      const text = caption === undefined ? '' : captionFor(target.chat, caption);
      const params = { chat_id: target.chat.id, ...thread(target), document: uploadFile(file.bytes, file.fileName), ...replyToInUpload(target), ...(text === '' ? {} : { caption: text }) };
      const sent = await limited(target.chat, 'wait', 'sendDocument', params);
      if (sent === undefined) throw new Error('sendDocument returned nothing');
      return { id: String(sent.message_id) };
    },

    async sendImages(target, images, caption): Promise<readonly SentMessage[]> {
      return sendAlbum(
        {
          call: (params) => limited(target.chat, 'wait', 'sendMediaGroup', params),
          // An album is as many messages as photos: a group's twenty a minute counts each.
          countExtra: async (messages) => {
            const group = limitsFor(target.chat, 'wait').filter((limit) => limit.key.includes(':group:'));
            for (let i = 0; i < messages && group.length > 0; i += 1) await deps.rateLimiter.acquire(group);
          },
          sendOne: (to, image, text) => this.sendImage(to, image, text),
        },
        target,
        images,
        caption === undefined ? undefined : captionFor(target.chat, caption),
      );
    },
  };

  /** getFile, its failures as the Outbox's file errors. */
  async function getFile(attachment: Attachment, limit: number, signal: AbortSignal | undefined): Promise<TelegramFile> {
    try {
      return await deps.api.call('getFile', { file_id: attachment.fileRef }, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof TelegramApiError) {
        if (error.status === 400 && /file is too big/i.test(error.description)) throw new FileTooLargeError(attachment.sizeBytes, limit);
        const retryable = error.status === 429 || error.status >= 500;
        // The API error's text is already free of the token.
        throw new FileFetchError(`Telegram getFile failed: ${error.status} ${error.description}`, retryable, { cause: error });
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new FileFetchError(message, true, { cause: error });
    }
  }
}

/** Types by extension of Telegram's file paths (`voice/file_3.oga`, `photos/file_7.jpg`); its file server often says only octet-stream. */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  wav: 'audio/wav',
  flac: 'audio/flac',
  mp4: 'video/mp4',
  webm: 'video/webm',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
};

function mimeTypeOfPath(filePath: string): string | undefined {
  const extension = /\.([A-Za-z0-9]{1,5})$/.exec(filePath)?.[1]?.toLowerCase();
  return extension === undefined ? undefined : MIME_BY_EXTENSION[extension];
}

/** A plain-text caption as sent to `chat`: within the limit, and in a group without mentions. */
function captionFor(chat: ChatRef, caption: string): string {
  const text = cutCaption(caption.trim());
  return chat.kind === 'group' ? withoutMentionsPlain(text, mentionStyleFor(text, TELEGRAM_MAX_CAPTION_LENGTH)) : text;
}

/** The caption within Telegram's limit (UTF-16 units, as Telegram counts), cut with an ellipsis and never inside a surrogate pair. */
export function cutCaption(text: string): string {
  if (text.length <= TELEGRAM_MAX_CAPTION_LENGTH) return text;
  let end = TELEGRAM_MAX_CAPTION_LENGTH - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}

function thread(target: ReplyTarget): { message_thread_id?: number } {
  return target.chat.threadId === undefined ? {} : { message_thread_id: Number(target.chat.threadId) };
}

/** A reply to the user's message, if the target names one: the user's message may be gone by now, and the answer still matters. */
function replyTo(target: ReplyTarget): { reply_parameters?: { message_id: number; allow_sending_without_reply: true } } {
  return target.replyToMessageId === undefined ? {} : { reply_parameters: { message_id: Number(target.replyToMessageId), allow_sending_without_reply: true } };
}

/** The same in a multipart call (an upload), where object params go as JSON text (see uploadFile). */
function replyToInUpload(target: ReplyTarget): { reply_parameters?: string } {
  const { reply_parameters: reply } = replyTo(target);
  return reply === undefined ? {} : { reply_parameters: JSON.stringify(reply) };
}
