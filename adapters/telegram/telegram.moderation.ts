/**
 * The Telegram Outbox's moderation calls, for community moderation and the admin
 * commands: delete a message (https://core.telegram.org/bots/api#deletemessage), time a
 * member out (https://core.telegram.org/bots/api#restrictchatmember), what a member may
 * do (https://core.telegram.org/bots/api#getchatmember), and links to messages.
 *
 * Telegram's "the bot may not do that here" answers (400 "message can't be deleted",
 * "not enough rights…", "method is available only for supergroups", any 403) become
 * PermissionError, which the moderate worker reports instead of failing. These calls are
 * not messages, so they are not counted against the message limits; a 429 still waits
 * its `retry_after` and tries again.
 */
import type { ChatMember } from 'telegraf/types';
import { PermissionError } from '../../src/domain/errors.js';
import type { ChatRef, MemberPermissions } from '../../src/domain/inbound-message.js';
import type { Outbox } from '../../src/ports/index.js';
import { retry, type RetryPolicy } from '../../src/infra/retry.js';
import { isFlood, TelegramApiError, type TelegramApi, type TelegramMethod, type TelegramParams, type TelegramResult } from './telegram.api.js';

/** Telegram's ways of saying the bot lacks a right (or the chat does not allow the call). */
const NO_RIGHTS =
  /not enough rights|can't be deleted|CHAT_ADMIN_REQUIRED|need administrator rights|administrator of the chat|can't remove chat owner|can't restrict self|only for supergroups|USER_ADMIN_INVALID/i;
/** The message is gone already: what a delete wanted. */
const ALREADY_DELETED = /message to delete not found/i;
/** A 429 waits its `retry_after` and tries again, three times at most; then the call fails (and the queue retries the job). */
const FLOOD_RETRY: RetryPolicy = {
  retries: 3,
  delayMs: (_retry, error) => (isFlood(error) ? error.retryAfterMs : 0),
  retryIf: isFlood,
};
/** Supergroups' and channels' ids are `-100` followed by the id t.me links use. */
const SUPERGROUP_ID = /^-100(\d+)$/;
/** Everything a member may send or change, all off: what a timeout takes away until it ends. */
const MUTED = {
  can_send_messages: false,
  can_send_audios: false,
  can_send_documents: false,
  can_send_photos: false,
  can_send_videos: false,
  can_send_video_notes: false,
  can_send_voice_notes: false,
  can_send_polls: false,
  can_send_other_messages: false,
  can_add_web_page_previews: false,
  can_change_info: false,
  can_invite_users: false,
  can_pin_messages: false,
  can_manage_topics: false,
} as const;
const EVERYTHING: MemberPermissions = { manageMessages: true, manageChannel: true };
const NOTHING: MemberPermissions = { manageMessages: false, manageChannel: false };

export interface TelegramModerationDeps {
  readonly api: TelegramApi;
  /** Milliseconds since the epoch; Date.now unless a test says otherwise. */
  readonly now?: () => number;
}

/** The moderation part of the Telegram Outbox. */
export type TelegramModeration = Required<Pick<Outbox, 'deleteMessage' | 'timeoutMember' | 'permissionsOf' | 'messageLink'>>;

/** Creates the moderation calls over the Bot API. */
export function createTelegramModeration(deps: TelegramModerationDeps): TelegramModeration {
  const now = deps.now ?? Date.now;

  /** One call; a 429 waits and tries again, a missing right is a PermissionError. */
  const call = async <M extends TelegramMethod>(method: M, params: TelegramParams<M>, needs: string): Promise<TelegramResult<M>> => {
    try {
      return await retry(FLOOD_RETRY, () => deps.api.call(method, params));
    } catch (error) {
      if (!(error instanceof TelegramApiError)) throw error;
      if (error.status === 403 || (error.status === 400 && NO_RIGHTS.test(error.description))) {
        throw new PermissionError(`Telegram refused ${method} (${error.status} ${error.description}): the bot needs ${needs}`, { cause: error });
      }
      throw error;
    }
  };

  return {
    async deleteMessage(chat, messageId) {
      try {
        await call('deleteMessage', { chat_id: chat.id, message_id: Number(messageId) }, 'to be an admin with the right to delete messages');
      } catch (error) {
        if (error instanceof TelegramApiError && error.status === 400 && ALREADY_DELETED.test(error.description)) return;
        throw error;
      }
    },

    async timeoutMember(chat, userId, seconds) {
      const untilDate = Math.floor(now() / 1000) + seconds;
      await call(
        'restrictChatMember',
        { chat_id: chat.id, user_id: Number(userId), permissions: MUTED, use_independent_chat_permissions: true, until_date: untilDate },
        'to be an admin with the right to ban users, in a supergroup',
      );
    },

    async permissionsOf(chat, userId) {
      if (chat.kind === 'dm') return EVERYTHING;
      let member: ChatMember;
      try {
        member = await deps.api.call('getChatMember', { chat_id: chat.id, user_id: Number(userId) });
      } catch (error) {
        // Someone Telegram does not know as a member may do nothing here.
        if (error instanceof TelegramApiError && error.status === 400) return NOTHING;
        throw error;
      }
      if (member.status === 'creator') return EVERYTHING;
      if (member.status === 'administrator') {
        return { manageMessages: member.can_delete_messages === true, manageChannel: member.can_change_info === true };
      }
      return NOTHING;
    },

    messageLink(chat, messageId) {
      return telegramMessageLink(chat, messageId);
    },
  };
}

/**
 * A t.me link to a message in a supergroup (`https://t.me/c/<id>/<message>`, with the
 * topic for a forum topic's message): it opens for the chat's members, moderators
 * included, whether or not the chat has a public username. Basic groups and private
 * chats have no message links.
 */
export function telegramMessageLink(chat: Pick<ChatRef, 'id' | 'threadId'>, messageId: string): string | undefined {
  const id = SUPERGROUP_ID.exec(chat.id)?.[1];
  if (id === undefined) return undefined;
  return chat.threadId === undefined ? `https://t.me/c/${id}/${messageId}` : `https://t.me/c/${id}/${chat.threadId}/${messageId}`;
}
