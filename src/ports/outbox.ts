/**
 * The Outbox: how workers reply on a platform, over its HTTP API (or pub/sub for the playground).
 * One area of src/ports; index.ts re-exports every port.
 */
import type { Attachment, ChatRef, MemberPermissions, Platform } from '../domain/inbound-message.js';
import type { FileContent } from '../domain/media.js';
import type { FetchFileOptions } from './files.js';

/** Where a reply goes: the chat (and thread) of the message, replying to it. */
export interface ReplyTarget {
  readonly chat: ChatRef;
  readonly replyToMessageId?: string;
  /** The message's platform-specific reply handle (InboundMessage.replyHandle), e.g. a Discord interaction. */
  readonly replyHandle?: string;
}

/** A message the bot sent, as the platform identifies it. */
export interface SentMessage {
  readonly id: string;
}

/** What the bot is busy with, shown as the platform's chat action (Telegram) or typing (elsewhere). */
export type ChatActivity = 'typing' | 'record_voice' | 'upload_photo';

/** An image to upload into a chat. */
export interface OutgoingImage {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  /** With an extension matching the type, e.g. `image.png`. */
  readonly fileName: string;
}

/** A file to upload into a chat as a document, e.g. a model's reasoning as text. */
export interface OutgoingFile {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly fileName: string;
}

/**
 * Sends and edits messages on one platform, over its HTTP API (or pub/sub for the
 * playground). Workers use it; it needs no gateway connection.
 */
export interface Outbox {
  readonly platform: Platform;
  /** The platform's limit on one message's text (Discord 2000, Telegram 4096). */
  readonly maxMessageLength: number;
  /** The least time between two edits of messages in one chat. */
  readonly editIntervalMs: number;
  /** `final` is false while a reply is still streaming. */
  send(target: ReplyTarget, text: string, options: { final: boolean }): Promise<SentMessage>;
  edit(target: ReplyTarget, message: SentMessage, text: string, options: { final: boolean }): Promise<void>;
  /** Shows "typing…" (or recording, or uploading a photo) the platform's way; best effort. */
  showTyping(target: ReplyTarget, activity?: ChatActivity): Promise<void>;
  /** The largest file the platform lets a bot download (Telegram: 20 MB). */
  readonly maxFileBytes: number;
  /**
   * Downloads a message's attachment through the platform's own file API (Telegram
   * getFile, Discord's CDN, a playground upload). Rejects with FileTooLargeError before
   * downloading when the file is over `maxBytes` or `maxFileBytes`, and with
   * FileFetchError when it cannot be had. Never puts a token or file URL in an error.
   */
  fetchFile(attachment: Attachment, options: FetchFileOptions): Promise<FileContent>;
  /** Uploads an image into the chat, replying to the target, with an optional caption (cut to the platform's caption limit). */
  sendImage(target: ReplyTarget, image: OutgoingImage, caption?: string): Promise<SentMessage>;
  /**
   * Uploads several images (2 to 10) as one album, replying to the target, the caption
   * under the album (Telegram sendMediaGroup, one Discord message with several files,
   * consecutive pictures in the playground). Resolves with the messages, first first.
   */
  sendImages(target: ReplyTarget, images: readonly OutgoingImage[], caption?: string): Promise<readonly SentMessage[]>;
  /**
   * Uploads a file as a document (Telegram sendDocument, a Discord attachment), replying to
   * the target, with an optional plain-text caption. Absent where the platform shows no files.
   */
  sendFile?(target: ReplyTarget, file: OutgoingFile, caption?: string): Promise<SentMessage>;
  /**
   * Deletes a message (a user's, in community moderation; or one of the bot's). Rejects
   * with PermissionError when the bot lacks the right (Discord 403, Telegram "not enough rights").
   */
  deleteMessage?(chat: ChatRef, messageId: string): Promise<void>;
  /**
   * Keeps a member from posting for `seconds` (Discord member timeout, Telegram
   * restrictChatMember). Rejects with PermissionError when the bot lacks the right.
   */
  timeoutMember?(chat: ChatRef, userId: string, seconds: number): Promise<void>;
  /**
   * What the user may do in the chat (Telegram: getChatMember). Used when the adapter did
   * not already know it at intake (AuthorRef.permissions). In a DM everything is allowed.
   */
  permissionsOf?(chat: ChatRef, userId: string): Promise<MemberPermissions>;
  /** A link to a message, where the platform has them. */
  messageLink?(chat: ChatRef, messageId: string): string | undefined;
  /** Streaming drafts, where the platform has them (Telegram's sendMessageDraft). */
  readonly drafts?: Drafts;
}

/**
 * Streaming drafts: the growing answer shows as an ephemeral draft that the final message
 * replaces, instead of a message sent and then edited again and again.
 * https://core.telegram.org/bots/api#sendmessagedraft
 */
export interface Drafts {
  /** Whether an answer in `chat` streams by drafts (Telegram: private chats, unless a server refused one lately). */
  available(chat: ChatRef): boolean;
  /**
   * Shows `text` as draft `draftId` (one per answer). Resolves true when shown, or skipped
   * to keep the chat's pace (a later draft carries the text); false when the platform
   * refused drafts here, and the answer should be sent and edited instead.
   */
  show(target: ReplyTarget, draftId: number, text: string): Promise<boolean>;
}

/** Outboxes by platform. */
export type Outboxes = Readonly<Partial<Record<Platform, Outbox>>>;
