/**
 * One Telegram update → at most one InboundMessage (pure). Decides whether the bot is
 * addressed: always in private chats; in groups on a mention of the bot (`@name` or a
 * text mention of its user, in the text or a media caption), a reply to one of its
 * messages, or one of its commands (any command with its `@name`). A command for another
 * bot (`/reset@otherbot`) is ignored outright. With `transcribeAllVoice`, a group's voice
 * note that does not address the bot still becomes a message (`addressed: false`), for
 * routeInbound to send to transcription.
 * In a group under community moderation (`moderated`), every message with text or a
 * caption becomes a message, `addressed: false` when it is not for the bot (another
 * bot's command included), and so does every edit of one (`edited_message`, with its
 * `editDate`): the gateway sends those to moderation only.
 * Voice notes, audio files, video notes, photos and documents become attachments, and so
 * do those of the message replied to, which comes with its author, text and any quote.
 * Update and Message: https://core.telegram.org/bots/api#update
 * Forum topics: https://core.telegram.org/bots/api#forumtopic
 */
import type { Message, Update, User } from 'telegraf/types';
import { parseCommand, type Attachment, type ChatRef, type InboundMessage, type RepliedTo } from '../../src/domain/inbound-message.js';
import { isBotCommand } from './telegram.commands.js';

/** Who the bot is, from getMe. */
export interface BotIdentity {
  readonly id: number;
  readonly username: string;
}

/** Why an update produced no job; for debug logs and tests. */
export type SkipReason = 'not-a-message' | 'malformed' | 'from-a-bot' | 'service-message' | 'other-bot-command' | 'not-addressed';

/**
 * The outcome of normalizing an update. `editDate` (Unix seconds) marks an edit of an
 * earlier message, taken only for moderation: it is never answered.
 */
export type Normalized = { readonly message: InboundMessage; readonly editDate?: number } | { readonly skip: SkipReason };

/** A command with an explicit `@target`, whatever the target. */
const TARGETED_COMMAND = /^\/[A-Za-z0-9_]{1,32}@([A-Za-z0-9_]{1,64})(?:\s|$)/;

/** Intake switches from config. */
export interface NormalizeOptions {
  /** TRANSCRIBE_ALL_VOICE: keep a group's unaddressed voice notes (as `addressed: false`). */
  readonly transcribeAllVoice?: boolean;
  /** The chat is under community moderation: keep every message with text or a caption, and edits of them. */
  readonly moderated?: boolean;
}

/** Telegram sends video notes (round videos) as MP4 without a name; this one gives the format away. */
const VIDEO_NOTE = { mimeType: 'video/mp4', fileName: 'video_note.mp4' } as const;

/** Normalizes one update for the bot `me`. */
export function normalizeUpdate(update: Update, me: BotIdentity, options: NormalizeOptions = {}): Normalized {
  const edit = options.moderated === true && 'edited_message' in update ? update.edited_message : undefined;
  const message = edit ?? ('message' in update ? update.message : undefined);
  if (message === undefined) return { skip: 'not-a-message' };
  if (!wellFormed(message)) return { skip: 'malformed' };
  const chatType = message.chat.type;
  const from = message.from;
  if (from === undefined || from.is_bot) return { skip: 'from-a-bot' };

  const text = textOf(message);
  const attachments = attachmentsOf(message);
  if (text === '' && attachments.length === 0) return { skip: 'service-message' };

  const dm = chatType === 'private';
  // Moderation reads text: a group's message without any is not its business.
  const forModeration = options.moderated === true && !dm && text !== '';
  if (edit !== undefined && !forModeration) return { skip: 'not-addressed' };

  const targeted = TARGETED_COMMAND.exec(text);
  const otherBots = targeted !== null && targeted[1]?.toLowerCase() !== me.username.toLowerCase();
  if (otherBots && !forModeration) return { skip: 'other-bot-command' };
  const command = otherBots || edit !== undefined ? undefined : parseCommand(text, me.username);

  const replyTo = realReplyOf(message);
  const repliesToBot = replyTo?.from?.id === me.id;
  const mentioned = mentionsBot(message, me);
  // In a group a bare `/foo` that is not ours is probably another bot's: not for us.
  const ourCommand = command !== undefined && (targeted !== null || isBotCommand(command.name));
  // An edit is never answered: the bot answered (or not) the message as first sent.
  const addressed = edit === undefined && !otherBots && (dm || mentioned || repliesToBot || ourCommand);
  // Spoken messages only (voice and round video notes): music or a podcast posted to a group is not.
  const voiceForAll = options.transcribeAllVoice === true && command === undefined && attachments.some((a) => a.kind === 'voice');
  if (!addressed && !voiceForAll && !forModeration) return { skip: 'not-addressed' };

  const threadId = 'is_topic_message' in message && message.is_topic_message && message.message_thread_id !== undefined
    ? String(message.message_thread_id)
    : undefined;
  const chat: ChatRef = {
    platform: 'telegram',
    id: String(message.chat.id),
    kind: dm ? 'dm' : 'group',
    ...(threadId === undefined ? {} : { threadId }),
  };
  return {
    message: {
      chat,
      author: { id: String(from.id), displayName: displayNameOf(from), isBot: false },
      messageId: String(message.message_id),
      text: command === undefined && mentioned ? withoutMention(text, me.username) : text,
      attachments,
      ...(replyTo === undefined ? {} : { replyTo: replyOf(replyTo, repliesToBot, quoteOf(message)) }),
      addressed,
      ...(command === undefined ? {} : { command }),
      receivedAt: message.date * 1000,
    },
    ...(edit === undefined ? {} : { editDate: edit.edit_date }),
  };
}

/**
 * The chat of a group message (new or edited) from a person, with text or a caption:
 * the updates community moderation may want, so the gateway asks whether their chat is
 * moderated before normalizing. Undefined for anything else.
 */
export function moderationCandidate(update: Update): string | undefined {
  const message = 'message' in update ? update.message : 'edited_message' in update ? update.edited_message : undefined;
  if (!wellFormed(message) || message.chat.type === 'private') return undefined;
  if (message.from === undefined || message.from.is_bot || textOf(message) === '') return undefined;
  return String(message.chat.id);
}

/**
 * Whether a message has the fields every message has, of the types the Bot API gives
 * them: ids that become job ids and go back to Telegram in replies must be integers. An
 * update that breaks this did not come from Telegram as documented; nothing is guessed.
 */
function wellFormed(message: unknown): message is Message {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const { message_id: id, date, chat, from, message_thread_id: thread } = message as Record<string, unknown>;
  if (!Number.isSafeInteger(id) || typeof date !== 'number') return false;
  if (typeof chat !== 'object' || chat === null) return false;
  const { id: chatId, type } = chat as Record<string, unknown>;
  if (!Number.isSafeInteger(chatId) || typeof type !== 'string') return false;
  if (from !== undefined && (typeof from !== 'object' || from === null || !Number.isSafeInteger((from as Record<string, unknown>)['id']))) return false;
  return thread === undefined || Number.isSafeInteger(thread);
}

function textOf(message: Message): string {
  if ('text' in message && typeof message.text === 'string') return message.text;
  if ('caption' in message && typeof message.caption === 'string') return message.caption;
  return '';
}

/** The message replied to, unless it is a forum topic's creation message (Telegram sets that on every topic message). */
function realReplyOf(message: Message): Message | undefined {
  const reply = 'reply_to_message' in message ? (message.reply_to_message as Message | undefined) : undefined;
  if (reply === undefined) return undefined;
  if ('forum_topic_created' in reply) return undefined;
  if ('is_topic_message' in message && message.is_topic_message && reply.message_id === message.message_thread_id) return undefined;
  return reply;
}

/**
 * The replied-to message as InboundMessage.replyTo: Telegram sends it whole (even one the
 * bot never received, in privacy mode), so its author, its text or caption and its files
 * come along: `/translate` or `/vary` in reply to a voice note or a photo works on those,
 * and a chat answer reads them. A `quote` is the part the user selected.
 * https://core.telegram.org/bots/api#message (reply_to_message, quote)
 */
function replyOf(reply: Message, authorIsBot: boolean, quote: string | undefined): RepliedTo {
  const readable = wellFormed(reply);
  const attachments = readable ? attachmentsOf(reply) : [];
  const text = readable ? textOf(reply) : '';
  const author = readable ? authorOf(reply) : undefined;
  return {
    messageId: String(reply.message_id),
    authorIsBot,
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(author === undefined ? {} : { authorName: author }),
    ...(text === '' ? {} : { text }),
    ...(quote === undefined ? {} : { quote }),
  };
}

/** The part of the replied-to message the user quoted (TextQuote), if they quoted one. https://core.telegram.org/bots/api#textquote */
function quoteOf(message: Message): string | undefined {
  const quote = 'quote' in message ? (message.quote as { text?: unknown } | undefined) : undefined;
  return typeof quote?.text === 'string' && quote.text.trim() !== '' ? quote.text : undefined;
}

/** Who wrote a message: a person, or a chat posting as itself (a channel, an anonymous admin). */
function authorOf(message: Message): string | undefined {
  if (message.from !== undefined && typeof message.from.first_name === 'string') return displayNameOf(message.from);
  const chat = 'sender_chat' in message ? (message.sender_chat as { title?: unknown } | undefined) : undefined;
  return typeof chat?.title === 'string' && chat.title !== '' ? chat.title : undefined;
}

function mentionsBot(message: Message, me: BotIdentity): boolean {
  const text = textOf(message);
  const entities = ('entities' in message ? message.entities : undefined) ?? ('caption_entities' in message ? message.caption_entities : undefined) ?? [];
  const handle = `@${me.username}`.toLowerCase();
  return entities.some(
    (entity) =>
      (entity.type === 'mention' && text.slice(entity.offset, entity.offset + entity.length).toLowerCase() === handle) ||
      (entity.type === 'text_mention' && entity.user.id === me.id),
  );
}

/** "@bot what is X?" reads better to the model as "what is X?". */
function withoutMention(text: string, username: string): string {
  const stripped = text.replace(new RegExp(`(^|\\s)@${username}\\b[,:]?`, 'gi'), '$1').replace(/[ \t]{2,}/g, ' ').trim();
  return stripped === '' ? text : stripped;
}

function displayNameOf(user: User): string {
  const name = [user.first_name, user.last_name].filter((part) => part !== undefined && part !== '').join(' ');
  return name || user.username || `user ${user.id}`;
}

function attachmentsOf(message: Message): Attachment[] {
  const out: Attachment[] = [];
  if ('voice' in message) {
    const v = message.voice;
    out.push({ kind: 'voice', fileRef: v.file_id, mimeType: v.mime_type, sizeBytes: v.file_size, durationSeconds: v.duration });
  }
  if ('video_note' in message) {
    const n = message.video_note;
    out.push({ kind: 'voice', fileRef: n.file_id, ...VIDEO_NOTE, sizeBytes: n.file_size, durationSeconds: n.duration });
  }
  if ('audio' in message) {
    const a = message.audio;
    out.push({ kind: 'audio', fileRef: a.file_id, mimeType: a.mime_type, sizeBytes: a.file_size, durationSeconds: a.duration, fileName: a.file_name });
  }
  if ('photo' in message) {
    // Telegram lists the sizes smallest first; the largest is the one worth reading.
    const p = message.photo.at(-1);
    if (p) out.push({ kind: 'image', fileRef: p.file_id, mimeType: 'image/jpeg', sizeBytes: p.file_size });
  }
  if ('document' in message) {
    const d = message.document;
    // Photos and music sent "as a file" (uncompressed) arrive as documents.
    const kind = d.mime_type?.startsWith('image/') ? 'image' : d.mime_type?.startsWith('audio/') ? 'audio' : 'file';
    out.push({ kind, fileRef: d.file_id, mimeType: d.mime_type, sizeBytes: d.file_size, fileName: d.file_name });
  }
  // Without a file id there is nothing to fetch: getFile needs one.
  return out
    .filter((a) => typeof a.fileRef === 'string' && a.fileRef !== '')
    .map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as unknown as Attachment);
}
