/**
 * Who may use the bot, and how much (issue #7): allowlists of Discord guilds, Telegram
 * chats and users, per-user and per-channel request rates, and daily token budgets. The
 * rules are pure; the counting lives in Redis (src/infra) and the enforcing in
 * src/workers/limits.ts.
 */
import type { InboundMessage } from './inbound-message.js';

export interface AbuseLimits {
  /** Requests per minute per user (0: no limit). */
  readonly userPerMinute: number;
  /** Requests per minute per channel (0: no limit). */
  readonly channelPerMinute: number;
  /** Chat tokens per user per UTC day (0: no limit). */
  readonly userDailyTokens: number;
  readonly channelDailyTokens: number;
  readonly allowedDiscordGuilds: readonly string[];
  readonly allowedTelegramChats: readonly string[];
  /** `platform:userId` */
  readonly allowedUsers: readonly string[];
}

/** `telegram:123`: a user as ALLOWED_USERS and the limits name them. */
export function userKeyOf(message: Pick<InboundMessage, 'chat' | 'author'>): string {
  return `${message.chat.platform}:${message.author.id}`;
}

/**
 * Whether no rate or budget applies to this message: the operator's own playground on a
 * loopback address without PLAYGROUND_TOKEN (issue #17). An exposed playground is counted
 * per token holder like any other platform's users.
 */
export function isUnmetered(message: Pick<InboundMessage, 'chat' | 'unmetered'>): boolean {
  return message.chat.platform === 'web' && message.unmetered === true;
}

/**
 * Whether the bot serves this message. Group chats must be in their platform's allowlist
 * when it is set (Discord by guild, Telegram by chat). A private chat on a platform whose
 * allowlist is set is served only to users in ALLOWED_USERS (or, on Telegram, whose chat
 * is listed). When ALLOWED_USERS is set, only those users are served, anywhere; community
 * moderation (`forModeration`) checks everyone in an allowed chat. The playground is
 * always served: it is local, or its token (PLAYGROUND_TOKEN) is its allowlist.
 */
export function admits(message: InboundMessage, limits: AbuseLimits, options: { readonly forModeration?: boolean } = {}): boolean {
  const { chat } = message;
  if (chat.platform === 'web') return true;
  const user = userKeyOf(message);
  const userListed = limits.allowedUsers.includes(user);
  const chatList = chat.platform === 'discord' ? limits.allowedDiscordGuilds : limits.allowedTelegramChats;
  if (chatList.length > 0) {
    const chatAllowed =
      chat.platform === 'discord'
        ? chat.kind === 'group' && chat.guildId !== undefined && chatList.includes(chat.guildId)
        : chatList.includes(chat.id);
    if (!chatAllowed && !(chat.kind === 'dm' && userListed)) return false;
  }
  if (options.forModeration) return true;
  return limits.allowedUsers.length === 0 || userListed;
}
