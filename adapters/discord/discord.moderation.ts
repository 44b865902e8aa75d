/**
 * The Discord Outbox's moderation calls, for community moderation: delete a user's
 * message (https://discord.com/developers/docs/resources/message#delete-message), time a
 * member out (https://discord.com/developers/docs/resources/guild#modify-guild-member),
 * and links to messages. Both calls carry an audit-log reason.
 *
 * Discord's 403 (Missing Permissions, Missing Access) becomes PermissionError, which the
 * moderate worker reports instead of failing; a message or member already gone counts as
 * done. The calls go through the Outbox's REST client under the bot's global limit.
 */
import { Routes, type REST } from 'discord.js';
import { PermissionError } from '../../src/domain/errors.js';
import type { ChatRef } from '../../src/domain/inbound-message.js';
import type { Outbox } from '../../src/ports/index.js';
import { DiscordApiError } from './discord.errors.js';

/**
 * The longest member timeout we ask for: Discord's 28 days, less a minute, so a clock a
 * little ahead of Discord's does not turn the longest timeout into a 400.
 */
export const DISCORD_MAX_TIMEOUT_SECONDS = 28 * 24 * 3600 - 60;
/** What the server's audit log says for the bot's moderation actions (the categories are the mod log's business). */
const AUDIT_LOG_REASON = 'Switchboard community moderation';
/** Discord's JSON error codes the moderation actions branch on. */
const UNKNOWN_MEMBER = 10007;
const UNKNOWN_MESSAGE = 10008;
const MISSING_ACCESS = 50001;
const MISSING_PERMISSIONS = 50013;
/** Links to messages: https://discord.com/channels/<guild or @me>/<channel>/<message>. */
const MESSAGE_LINK_BASE = 'https://discord.com/channels';

export interface DiscordModerationDeps {
  /** The Outbox's REST client. */
  readonly rest: REST;
  /** Runs one REST call under the bot's global limit; its errors are DiscordApiError or DiscordNetworkError. */
  readonly call: (route: string, run: () => Promise<unknown>) => Promise<unknown>;
}

/** The moderation part of the Discord Outbox. */
export type DiscordModeration = Required<Pick<Outbox, 'deleteMessage' | 'timeoutMember' | 'messageLink'>>;

/** Creates the moderation calls over Discord's REST API. */
export function createDiscordModeration(deps: DiscordModerationDeps): DiscordModeration {
  const { rest } = deps;

  /** A moderation call: 403 is the bot lacking a permission; `gone` (the message or member no longer exists) is done already. */
  async function moderate(route: string, gone: number, run: () => Promise<unknown>): Promise<void> {
    try {
      await deps.call(route, run);
    } catch (error) {
      if (!(error instanceof DiscordApiError)) throw error;
      if (error.discordCode === gone) return;
      if (error.status === 403 || error.discordCode === MISSING_PERMISSIONS || error.discordCode === MISSING_ACCESS) {
        throw new PermissionError(error.message, { cause: error });
      }
      throw error;
    }
  }

  return {
    async deleteMessage(chat, messageId): Promise<void> {
      const channel = chat.threadId ?? chat.id;
      await moderate('DELETE /channels/:id/messages/:id', UNKNOWN_MESSAGE, () =>
        rest.delete(Routes.channelMessage(channel, messageId), { reason: AUDIT_LOG_REASON }),
      );
    },

    async timeoutMember(chat, userId, seconds): Promise<void> {
      // Only a guild has members to time out; a job from before guilds were recorded cannot.
      if (chat.guildId === undefined) throw new PermissionError('Discord member timeouts need the server (guild) of the channel');
      const guildId = chat.guildId;
      const until = new Date(Date.now() + Math.min(Math.max(seconds, 0), DISCORD_MAX_TIMEOUT_SECONDS) * 1000).toISOString();
      // A member who has already left cannot post either: Unknown Member counts as done.
      await moderate('PATCH /guilds/:id/members/:id', UNKNOWN_MEMBER, () =>
        rest.patch(Routes.guildMember(guildId, userId), { body: { communication_disabled_until: until }, reason: AUDIT_LOG_REASON }),
      );
    },

    messageLink(chat, messageId): string | undefined {
      return messageLinkOf(chat, messageId);
    },
  };
}

/** The link Discord's client opens a message with; a server channel without its guild has none. */
export function messageLinkOf(chat: ChatRef, messageId: string): string | undefined {
  const place = chat.kind === 'dm' ? '@me' : chat.guildId;
  if (place === undefined) return undefined;
  return `${MESSAGE_LINK_BASE}/${place}/${chat.threadId ?? chat.id}/${messageId}`;
}
