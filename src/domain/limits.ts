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
 * Whether the bot serves this message. Group chats must be in their platform's allowlist
 * when it is set (Discord by guild, Telegram by chat). A private chat on a platform whose
 * allowlist is set is served only to users in ALLOWED_USERS (or, on Telegram, whose chat
 * is listed). When ALLOWED_USERS is set, only those users are served, anywhere; community
 * moderation (`forModeration`) checks everyone in an allowed chat. The playground, local
 * by design, is always served.
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
