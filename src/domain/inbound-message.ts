/**
 * The platform-neutral shape of one incoming message. Every adapter turns its
 * platform's event (a Telegram update, a Discord MESSAGE_CREATE, a playground POST)
 * into exactly one of these; nothing downstream of an adapter sees platform types.
 */

/** Platforms Switchboard speaks to. */
export type Platform = 'web' | 'telegram' | 'discord';

/** Where a message was posted: a chat, and inside it a thread or forum topic if any. */
export interface ChatRef {
  readonly platform: Platform;
  /** The platform's chat / channel id, as a string (Telegram ids exceed 2^53 in future). */
  readonly id: string;
  /** Telegram `message_thread_id` of a forum topic, or a Discord thread's channel id. */
  readonly threadId?: string;
  readonly kind: 'dm' | 'group';
  /** Discord: the guild (server) the channel belongs to; member timeouts need it. */
  readonly guildId?: string;
}

/** Who wrote a message. */
export interface AuthorRef {
  readonly id: string;
  readonly displayName: string;
  readonly isBot: boolean;
  /**
   * What the author may do here, when the adapter knows it at intake (Discord member
   * permissions); undefined: the worker asks the Outbox.
   */
  readonly permissions?: MemberPermissions;
}

/** What a member may do in a chat, as far as the bot's commands care. */
export interface MemberPermissions {
  /** Delete others' messages (Discord Manage Messages; a Telegram admin who can delete messages, or the creator): `/moderation`. */
  readonly manageMessages: boolean;
  /** Change the channel (Discord Manage Channels; a Telegram admin who can change chat info, or the creator): `/persona`, `/model`, `/scope`. */
  readonly manageChannel: boolean;
}

/** A file attached to a message, referenced through the platform's own file API. */
export interface Attachment {
  readonly kind: 'voice' | 'audio' | 'image' | 'file';
  /** Telegram `file_id`, Discord attachment URL, or a playground upload id. */
  readonly fileRef: string;
  readonly mimeType?: string;
  readonly sizeBytes?: number;
  readonly durationSeconds?: number;
  readonly fileName?: string;
}

/** A bot command such as `/reset` or `/image a red fox`. */
export interface ParsedCommand {
  /** Lower-case name without the slash or `@botname` suffix. */
  readonly name: string;
  /** Everything after the command, trimmed. */
  readonly args: string;
}

/**
 * The message a message replies to, as far as the platform delivers it with the reply
 * (Telegram's `reply_to_message` and `quote`, Discord's `referenced_message`), whether or
 * not the bot saw it when it was posted.
 */
export interface RepliedTo {
  readonly messageId: string;
  /** Written by this bot. */
  readonly authorIsBot: boolean;
  readonly attachments?: readonly Attachment[];
  /** Its author's display name, when the platform says. */
  readonly authorName?: string;
  /** Its text, or a media message's caption. */
  readonly text?: string;
  /** The part of it the user quoted (Telegram's `quote`): the model reads this, not the whole text. */
  readonly quote?: string;
}

/** One incoming message, normalized. */
export interface InboundMessage {
  readonly chat: ChatRef;
  readonly author: AuthorRef;
  /** The platform's message id, unique within the chat. */
  readonly messageId: string;
  readonly text: string;
  readonly attachments: readonly Attachment[];
  /**
   * The message this one replies to, if any, with what the platform tells of it: its files
   * (`/translate` or `/vary` in reply to a voice note or a photo works on those), and its
   * author, text and the part the user quoted, which a chat answer reads as context.
   */
  readonly replyTo?: RepliedTo;
  /** True in a DM, on a mention, on a reply to the bot, or on a command. */
  readonly addressed: boolean;
  readonly command?: ParsedCommand;
  /** Milliseconds since the epoch when the platform received the message. */
  readonly receivedAt: number;
  /**
   * Opaque to everything but the platform's Outbox: what it needs to answer this message
   * in a way the platform requires, e.g. a Discord interaction's id and token.
   */
  readonly replyHandle?: string;
  /**
   * True only for a message from the operator's own playground (a loopback HOST without
   * PLAYGROUND_TOKEN): no request rates or token budgets apply to it. Only the web
   * adapter sets it; an exposed playground's messages are counted like any platform's.
   */
  readonly unmetered?: boolean;
}

/**
 * The key that owns one conversation's history and ordering: a chat, or a thread or
 * topic inside it. Messages with the same key are answered one at a time, in order.
 */
export function conversationKey(chat: Pick<ChatRef, 'platform' | 'id' | 'threadId'>): string {
  return chat.threadId === undefined
    ? `${chat.platform}:${chat.id}`
    : `${chat.platform}:${chat.id}:${chat.threadId}`;
}

/**
 * The deterministic job id of a message: the same platform message always maps to
 * the same id, so a redelivered update never makes a second job (ARCHITECTURE.md).
 * BullMQ forbids `:`-only numeric ids, which these never are.
 */
export function jobIdFor(chat: Pick<ChatRef, 'platform' | 'id'>, messageId: string): string {
  return `${chat.platform}:${chat.id}:${messageId}`;
}

/**
 * The job id of one edit of a message: the message's id with the platform's mark of that
 * edit (Telegram's update id, which is stable across redeliveries and, unlike the edit date
 * in whole seconds, differs between two quick edits; Discord's edit timestamp), so each
 * version is checked once. No third `:`: BullMQ takes custom ids with exactly two.
 */
export function editJobId(messageJobId: string, edit: number | string): string {
  return `${messageJobId}-e${edit}`;
}

/**
 * Parses a leading `/command[@bot] args`. Returns undefined when the text is not a
 * command, or when it is addressed to another bot (`/reset@otherbot`).
 * See https://core.telegram.org/bots/features#commands for the syntax.
 */
export function parseCommand(text: string, botUsername?: string): ParsedCommand | undefined {
  const match = /^\/([a-z0-9_]{1,32})(?:@([a-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, name = '', target, args = ''] = match;
  if (target !== undefined && (botUsername === undefined || target.toLowerCase() !== botUsername.toLowerCase())) {
    return undefined;
  }
  return { name: name.toLowerCase(), args: args.trim() };
}
