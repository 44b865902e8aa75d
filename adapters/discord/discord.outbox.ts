/**
 * The Discord Outbox: workers answer over Discord's REST API alone (@discordjs/rest), so
 * they need no gateway connection. A message is a reply (`message_reference`) to the
 * user's; an answer to a slash command fills the deferred response (`@original`) and
 * continues in follow-ups. Every body carries `allowed_mentions: { parse: [] }`, so
 * nothing a model writes (`@everyone`, `<@&role>`, `<@user>`) pings anyone.
 *
 * Rate limits: @discordjs/rest (re-exported by discord.js, our one declared Discord
 * dependency) keeps Discord's per-route buckets and honours 429
 * `Retry-After` within this process; the RateLimiter port keeps every process that shares
 * the bot token under the global 50 requests a second (and a channel's send rate)
 * together, and a global 429 pauses all of them.
 * https://discord.com/developers/docs/resources/message#create-message
 * https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages
 * https://discord.com/developers/docs/topics/rate-limits
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
import type { Logger, Outbox, RateLimit, RateLimiter, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { toDiscordError } from './discord.errors.js';
import { globalLimit, channelLimit } from './discord.limits.js';
import { parseReplyHandle } from './discord.reply-handle.js';
import { FileFetchError } from '../../src/domain/media.js';

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
  readonly log: Logger;
}

/** Creates the Discord Outbox. */
export function createDiscordOutbox(deps: DiscordOutboxDeps): Outbox {
  const rest = new REST({ api: deps.apiUrl, version: API_VERSION }).setToken(deps.token);
  const global = globalLimit(deps.token);
  rest.on(RESTEvents.RateLimited, (info: RateLimitData) => {
    deps.log.warn({ route: info.route, retryAfterMs: info.retryAfter, global: info.global, scope: info.scope }, 'discord rate limited a request; waiting as asked');
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
    if (limits.length > 0) await deps.rateLimiter.acquire(limits);
    try {
      return (await run()) as T;
    } catch (error) {
      throw toDiscordError(error, route);
    }
  }

  const channelOf = (target: ReplyTarget): string => target.chat.threadId ?? target.chat.id;

  return {
    platform: 'discord',
    maxMessageLength: DISCORD_MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,

    async send(target, text): Promise<SentMessage> {
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
      remember(shown, `${channel}/${message.id}`, text);
      return { id: message.id };
    },

    async edit(target, message, text, options): Promise<void> {
      const handle = parseReplyHandle(target.replyHandle);
      const channel = channelOf(target);
      const key = `${handle ? handle.interactionToken : channel}/${message.id}`;
      if (shown.get(key) === text) return;
      const limits = handle ? [global] : [global, channelLimit(channel, 'edit')];
      // A streaming edit that does not fit the limits now is skipped: a later edit carries
      // the whole text anyway, and the final one always goes through.
      if (!options.final && (await deps.rateLimiter.tryAcquire(limits)) > 0) return;
      const body = { content: text, allowed_mentions: noPings() };
      const run = handle
        ? () => rest.patch(Routes.webhookMessage(handle.applicationId, handle.interactionToken, message.id), { body, auth: false })
        : () => rest.patch(Routes.channelMessage(channel, message.id), { body });
      const route = handle ? 'PATCH /webhooks/:app/:token/messages/:id' : 'PATCH /channels/:id/messages/:id';
      // A streaming edit was already counted by tryAcquire.
      await call(route, options.final ? limits : [], run);
      remember(shown, key, text);
    },

    async showTyping(target): Promise<void> {
      // A deferred interaction already shows "thinking…".
      if (parseReplyHandle(target.replyHandle)) return;
      if ((await deps.rateLimiter.tryAcquire([global])) > 0) return;
      const channel = channelOf(target);
      await call('POST /channels/:id/typing', [], () => rest.post(Routes.channelTyping(channel)));
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
