/**
 * The Discord Outbox: workers answer over Discord's REST API alone (@discordjs/rest), so
 * they need no gateway connection. A message is a reply (`message_reference`) to the
 * user's; an answer to a slash command fills the deferred response (`@original`) and
 * continues in follow-ups. Every body carries `allowed_mentions: { parse: [] }`, so
 * nothing a model writes (`@everyone`, `<@&role>`, `<@user>`) pings anyone.
 *
 * Files: a user's attachment is downloaded from its CDN URL through the guarded
 * Downloader, which fetches from DISCORD_CDN_HOSTS only, so a URL on any other host is
 * never fetched. An image is uploaded as multipart (`payload_json` + `files[0]`,
 * discord.upload.ts); an album is one message with several files (`files[0]`…`files[n]`).
 *
 * Moderation (deleting a message, timing a member out, message links):
 * discord.moderation.ts.
 *
 * Rate limits: @discordjs/rest (re-exported by discord.js, our one declared Discord
 * dependency) keeps Discord's per-route buckets and honours 429
 * `Retry-After` within this process; the RateLimiter port keeps every process that shares
 * the bot token under the global 50 requests a second (and a channel's send rate)
 * together, and a global 429 pauses all of them.
 * https://discord.com/developers/docs/resources/message#create-message
 * https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages
 * https://discord.com/developers/docs/topics/rate-limits
 * https://discord.com/developers/docs/reference#uploading-files
 */
import {
  REST,
  RESTEvents,
  Routes,
  type APIAllowedMentions,
  type APIMessage,
  type RateLimitData,
  type RESTPostAPIChannelMessageJSONBody,
} from 'discord.js';
import { FileTooLargeError, type FileContent } from '../../src/domain/media.js';
import type { Downloader, Logger, OutgoingFile, Outbox, PlatformMetrics, RateLimit, RateLimiter, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { DiscordApiError, toDiscordError } from './discord.errors.js';
import { globalLimit, channelLimit } from './discord.limits.js';
import { createDiscordModeration } from './discord.moderation.js';
import { parseReplyHandle } from './discord.reply-handle.js';
import { encodeUpload } from './discord.upload.js';

/** Discord's limit on a bot message's content. */
export const DISCORD_MAX_MESSAGE_LENGTH = 2000;
/** Discord allows about five edits per five seconds per channel; one a second and a bit stays clear. */
const EDIT_INTERVAL_MS = 1_200;
/** The REST API version discord.js 14 speaks. */
const API_VERSION = '10';
/** The SentMessage id of an interaction's deferred response. */
const ORIGINAL = '@original';
/** Interaction tokens live 15 minutes, answers stream for seconds: remembering this many covers any burst. */
const MAX_REMEMBERED = 10_000;
/**
 * The largest attachment we would download. Discord's own cap depends on the sender's
 * Nitro and the server's boosts (up to 500 MB); callers always pass a smaller `maxBytes`
 * (25 MB for transcription, 20 MB for a photo), so this only bounds a careless caller.
 */
const MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024;
/** https://discord.com/developers/docs/resources/message#create-message: up to 10 files in one message. */
const MAX_FILES_PER_MESSAGE = 10;

/** Mentions in bot messages never ping: no parsing, and no ping of the replied-to author. */
export function noPings(): APIAllowedMentions {
  return { parse: [], replied_user: false };
}

/** What the Discord Outbox needs. */
export interface DiscordOutboxDeps {
  readonly token: string;
  /** REST base, e.g. https://discord.com/api (DISCORD_API_URL). */
  readonly apiUrl: string;
  readonly rateLimiter: RateLimiter;
  /** Downloads attachments; built for DISCORD_CDN_HOSTS only, so no other host is ever fetched. */
  readonly downloader: Downloader;
  readonly log: Logger;
  /** Counts refused calls and 429s (/metrics). */
  readonly metrics?: PlatformMetrics;
  /** The bot token's global limit (DISCORD_REQUESTS_PER_SECOND): Discord's 50 a second unless Discord raised the bot's. */
  readonly requestsPerSecond: number;
}

/** Creates the Discord Outbox. */
export function createDiscordOutbox(deps: DiscordOutboxDeps): Outbox {
  const global = globalLimit(deps.token, deps.requestsPerSecond);
  // @discordjs/rest keeps its own count of the global limit in each process: the same figure.
  const rest = new REST({ api: deps.apiUrl, version: API_VERSION, globalRequestsPerSecond: global.max }).setToken(deps.token);
  rest.on(RESTEvents.RateLimited, (info: RateLimitData) => {
    deps.log.warn({ route: info.route, retryAfterMs: info.retryAfter, global: info.global, scope: info.scope }, 'discord rate limited a request; waiting as asked');
    deps.metrics?.platformError('discord', 429);
    // A global limit is the bot token's: every process must hold off, not just this one.
    if (info.global) void deps.rateLimiter.pause(global.key, info.retryAfter).catch(() => undefined);
  });
  // Interactions whose deferred response this process has already filled: later sends are follow-ups.
  const filledOriginals = new Set<string>();
  // The text each recent message shows, so the final edit that only marks a reply done (the
  // ReplyStream repeats the text) costs no request.
  const shown = new Map<string, string>();
  const remember = <K>(store: Set<K> | Map<K, string>, key: K, text?: string): void => {
    if (store instanceof Set) store.add(key);
    else store.set(key, text ?? '');
    if (store.size > MAX_REMEMBERED) store.delete(store.keys().next().value!);
  };

  /** Runs one REST call under the shared limits; errors become DiscordApiError / DiscordNetworkError. */
  async function call<T>(route: string, limits: readonly RateLimit[], run: () => Promise<unknown>): Promise<T> {
    try {
      // The call keeps its place in the shared window until Discord has answered it.
      return (await deps.rateLimiter.run(limits, run)) as T;
    } catch (error) {
      const failure = toDiscordError(error, route);
      deps.metrics?.platformError('discord', failure instanceof DiscordApiError ? failure.status : 'network');
      throw failure;
    }
  }

  const channelOf = (target: ReplyTarget): string => target.chat.threadId ?? target.chat.id;

  return {
    ...createDiscordModeration({ rest, call: (route, run) => call(route, [global], run) }),
    platform: 'discord',
    maxMessageLength: DISCORD_MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,

    async send(target, text, options): Promise<SentMessage> {
      const handle = parseReplyHandle(target.replyHandle);
      const body = { content: text, allowed_mentions: noPings() };
      if (handle) {
        const { applicationId, interactionToken } = handle;
        // The first message of an answer fills the deferred response; the rest follow it.
        if (target.replyToMessageId !== undefined && !filledOriginals.has(interactionToken)) {
          await call('PATCH /webhooks/:app/:token/messages/@original', [global], () =>
            rest.patch(Routes.webhookMessage(applicationId, interactionToken, ORIGINAL), { body, auth: false }),
          );
          remember(filledOriginals, interactionToken);
          remember(shown, `${interactionToken}/${ORIGINAL}`, text);
          return { id: ORIGINAL };
        }
        const message = await call<APIMessage>('POST /webhooks/:app/:token', [global], () =>
          rest.post(Routes.webhook(applicationId, interactionToken), { body, auth: false }),
        );
        remember(shown, `${interactionToken}/${message.id}`, text);
        return { id: message.id };
      }
      const channel = channelOf(target);
      const create: RESTPostAPIChannelMessageJSONBody = {
        ...body,
        ...(target.replyToMessageId === undefined
          ? {}
          : { message_reference: { message_id: target.replyToMessageId, fail_if_not_exists: false } }),
      };
      const message = await call<APIMessage>('POST /channels/:id/messages', [global, channelLimit(channel, 'send')], () =>
        rest.post(Routes.channelMessages(channel), { body: create }),
      );
      // A final message is not edited again (the stream is done): nothing to remember.
      if (!options.final) remember(shown, `${channel}/${message.id}`, text);
      return { id: message.id };
    },

    async edit(target, message, text, options): Promise<void> {
      const handle = parseReplyHandle(target.replyHandle);
      const channel = channelOf(target);
      const key = `${handle ? handle.interactionToken : channel}/${message.id}`;
      if (shown.get(key) === text) {
        if (options.final) shown.delete(key);
        return;
      }
      const limits = handle ? [global] : [global, channelLimit(channel, 'edit')];
      // A streaming edit that does not fit the limits now is skipped: a later edit carries
      // the whole text anyway, and the final one always goes through.
      const body = { content: text, allowed_mentions: noPings() };
      const run = handle
        ? () => rest.patch(Routes.webhookMessage(handle.applicationId, handle.interactionToken, message.id), { body, auth: false })
        : () => rest.patch(Routes.channelMessage(channel, message.id), { body });
      const route = handle ? 'PATCH /webhooks/:app/:token/messages/:id' : 'PATCH /channels/:id/messages/:id';
      if (options.final) {
        await call(route, limits, run);
        shown.delete(key);
        return;
      }
      if (!(await deps.rateLimiter.tryRun(limits, () => call(route, [], run))).ran) return;
      remember(shown, key, text);
    },

    async showTyping(target): Promise<void> {
      // Discord has one indicator for every activity (no "recording" or "uploading"), and
      // a deferred interaction already shows "thinking…".
      if (parseReplyHandle(target.replyHandle)) return;
      const channel = channelOf(target);
      await deps.rateLimiter.tryRun([global], () => call('POST /channels/:id/typing', [], () => rest.post(Routes.channelTyping(channel))));
    },

    maxFileBytes: MAX_DOWNLOAD_BYTES,

    async fetchFile(attachment, { maxBytes, signal }): Promise<FileContent> {
      const limit = Math.min(maxBytes, MAX_DOWNLOAD_BYTES);
      // Discord states every attachment's size: an oversized file is refused without a byte fetched.
      if (attachment.sizeBytes !== undefined && attachment.sizeBytes > limit) throw new FileTooLargeError(attachment.sizeBytes, limit);
      const file = await deps.downloader.download(attachment.fileRef, { maxBytes: limit, ...(signal ? { signal } : {}) });
      const mimeType = attachment.mimeType ?? file.mimeType;
      const fileName = attachment.fileName ?? file.fileName;
      return { bytes: file.bytes, ...(mimeType ? { mimeType } : {}), ...(fileName ? { fileName } : {}) };
    },

    async sendImage(target, image, caption): Promise<SentMessage> {
      return uploadFiles(target, [image], caption);
    },

    async sendImages(target, images, caption): Promise<readonly SentMessage[]> {
      // One message carries every file (Discord takes up to ten): the album.
      return [await uploadFiles(target, images.slice(0, MAX_FILES_PER_MESSAGE), caption)];
    },

    async sendFile(target, file, caption): Promise<SentMessage> {
      return uploadFiles(target, [file], caption);
    },
  };

  /** One message with the files (images, or a text file) as its attachments (`files[0]`…), the caption as its content. */
  async function uploadFiles(target: ReplyTarget, images: readonly OutgoingFile[], caption: string | undefined): Promise<SentMessage> {
    const content = caption === undefined ? '' : cutToLength(caption, DISCORD_MAX_MESSAGE_LENGTH);
    const payload = { content, attachments: images.map((image, index) => ({ id: String(index), filename: image.fileName })), allowed_mentions: noPings() };
    const files = images.map((image) => ({ name: image.fileName, data: image.bytes, contentType: image.mimeType }));
    const multipart = async (body: object) => {
      const encoded = await encodeUpload(body, files);
      return { body: encoded.body, passThroughBody: true, headers: { 'Content-Type': encoded.contentType } };
    };
    const handle = parseReplyHandle(target.replyHandle);
    if (handle) {
      const { applicationId, interactionToken } = handle;
      const request = { ...(await multipart(payload)), auth: false };
      // The picture fills the deferred response ("thinking…"); if that is taken, it follows it.
      if (!filledOriginals.has(interactionToken)) {
        await call('PATCH /webhooks/:app/:token/messages/@original', [global], () =>
          rest.patch(Routes.webhookMessage(applicationId, interactionToken, ORIGINAL), request),
        );
        remember(filledOriginals, interactionToken);
        remember(shown, `${interactionToken}/${ORIGINAL}`, content);
        return { id: ORIGINAL };
      }
      const message = await call<APIMessage>('POST /webhooks/:app/:token', [global], () => rest.post(Routes.webhook(applicationId, interactionToken), request));
      remember(shown, `${interactionToken}/${message.id}`, content);
      return { id: message.id };
    }
    const channel = channelOf(target);
    const create: RESTPostAPIChannelMessageJSONBody = {
      ...payload,
      ...(target.replyToMessageId === undefined
        ? {}
        : { message_reference: { message_id: target.replyToMessageId, fail_if_not_exists: false } }),
    };
    const request = await multipart(create);
    const message = await call<APIMessage>('POST /channels/:id/messages', [global, channelLimit(channel, 'send')], () =>
      rest.post(Routes.channelMessages(channel), request),
    );
    remember(shown, `${channel}/${message.id}`, content);
    return { id: message.id };
  }
}

/** `text` within `max` UTF-16 units (Discord's count), ending in "…" when cut, never splitting a surrogate pair. */
function cutToLength(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}
