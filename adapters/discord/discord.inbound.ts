/**
 * Turns discord.js events into the platform-neutral InboundMessage: where it was posted
 * (channel, thread, DM), who wrote it, whether the bot is addressed, and the command of a
 * slash command. Nothing downstream sees a discord.js type.
 * https://discord.com/developers/docs/resources/message#message-object
 * https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import { MessageFlags, MessageType, type Attachment as DiscordAttachment, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { parseCommand, type Attachment, type ChatRef, type InboundMessage, type ParsedCommand } from '../../src/domain/inbound-message.js';
import { encodeReplyHandle } from './discord.reply-handle.js';

/** Message types a person writes; joins, pins, boosts and the like are not talk. */
const CONVERSATION_TYPES: ReadonlySet<MessageType> = new Set([MessageType.Default, MessageType.Reply]);

/** Slash command names and the option that holds their text. */
export const SLASH = { ask: 'ask', reset: 'reset', imagine: 'imagine', promptOption: 'prompt' } as const;

/**
 * The InboundMessage of a MESSAGE_CREATE, or undefined when it is none of the bot's
 * business: the author is a bot (this one or another) or it is not talk (joins, pins).
 * Everything else comes back with `addressed` saying whether it is for the bot (a DM, a
 * mention, a reply to the bot, or a message in a thread the bot started); routeInbound
 * decides what an unaddressed message gets (nothing, or a transcript of a voice message
 * under TRANSCRIBE_ALL_VOICE).
 */
export function inboundFromMessage(message: Message, botId: string): InboundMessage | undefined {
  if (message.author.bot || message.system || !CONVERSATION_TYPES.has(message.type)) return undefined;
  const chat = chatOf(message.channel, message.inGuild());
  const repliedToBot = message.reference?.messageId !== undefined && message.mentions.repliedUser?.id === botId;
  const mentioned = message.mentions.users.has(botId);
  const inBotThread = message.channel.isThread() && message.channel.ownerId === botId;
  const addressed = chat.kind === 'dm' || mentioned || repliedToBot || inBotThread;
  const text = stripBotMention(message.content, botId);
  const command = parseCommand(text);
  const referenced = message.reference?.messageId;
  const voiceMessage = message.flags.has(MessageFlags.IsVoiceMessage);
  return {
    chat,
    author: {
      id: message.author.id,
      displayName: message.member?.displayName ?? message.author.globalName ?? message.author.username,
      isBot: false,
    },
    messageId: message.id,
    text,
    attachments: [...message.attachments.values()].map((a) => attachmentOf(a, voiceMessage)),
    ...(referenced === undefined ? {} : { replyTo: { messageId: referenced, authorIsBot: repliedToBot } }),
    addressed,
    ...(command ? { command } : {}),
    receivedAt: message.createdTimestamp,
  };
}

/**
 * The InboundMessage of a slash command: `/ask prompt` is plain text, `/reset` and
 * `/imagine prompt` are the chat worker's `reset` and `image` commands. Its reply handle
 * lets the Outbox answer through the (deferred) interaction.
 */
export function inboundFromCommand(interaction: ChatInputCommandInteraction): InboundMessage | undefined {
  const prompt = interaction.options.getString(SLASH.promptOption) ?? '';
  let command: ParsedCommand | undefined;
  let text = '';
  switch (interaction.commandName) {
    case SLASH.ask:
      text = prompt;
      break;
    case SLASH.reset:
      command = { name: 'reset', args: '' };
      text = '/reset';
      break;
    case SLASH.imagine:
      command = { name: 'image', args: prompt };
      text = `/image ${prompt}`.trim();
      break;
    default:
      return undefined;
  }
  const channel = interaction.channel;
  const chat: ChatRef =
    channel === null
      ? { platform: 'discord', id: interaction.channelId, kind: interaction.inGuild() ? 'group' : 'dm' }
      : chatOf(channel, interaction.inGuild());
  return {
    chat,
    author: {
      id: interaction.user.id,
      displayName: interaction.inCachedGuild() ? interaction.member.displayName : (interaction.user.globalName ?? interaction.user.username),
      isBot: false,
    },
    messageId: interaction.id,
    text,
    attachments: [],
    addressed: true,
    ...(command ? { command } : {}),
    receivedAt: interaction.createdTimestamp,
    replyHandle: encodeReplyHandle({ applicationId: interaction.applicationId, interactionToken: interaction.token }),
  };
}

/** A channel as a ChatRef: a thread keeps its parent as the chat and itself as the thread, so it has its own history. */
function chatOf(channel: Message['channel'] | NonNullable<ChatInputCommandInteraction['channel']>, inGuild: boolean): ChatRef {
  if (channel.isThread()) {
    return { platform: 'discord', id: channel.parentId ?? channel.id, threadId: channel.id, kind: 'group' };
  }
  return { platform: 'discord', id: channel.id, kind: inGuild ? 'group' : 'dm' };
}

/** Removes `<@bot>` / `<@!bot>` so the model reads what the user asked. */
function stripBotMention(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), ' ').replace(/[ \t]{2,}/g, ' ').trim();
}

/** File extensions by kind, for the rare attachment Discord gives no `content_type`. */
const AUDIO_EXTENSIONS = new Set(['mp3', 'm4a', 'ogg', 'oga', 'opus', 'wav', 'flac', 'aac', 'mpga']);
const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'gif']);

/**
 * A Discord attachment as an Attachment, referenced by its CDN URL. A voice message
 * (flag IS_VOICE_MESSAGE) carries one `audio/ogg` attachment with `duration_secs` and
 * `waveform`: that one is `voice`; any other audio file is `audio`.
 * https://discord.com/developers/docs/resources/message#voice-messages
 */
export function attachmentOf(attachment: DiscordAttachment, voiceMessage: boolean): Attachment {
  return {
    kind: kindOf(attachment.contentType, attachment.name, voiceMessage),
    fileRef: attachment.url,
    ...(attachment.contentType ? { mimeType: attachment.contentType } : {}),
    sizeBytes: attachment.size,
    ...(typeof attachment.duration === 'number' ? { durationSeconds: attachment.duration } : {}),
    fileName: attachment.name,
  };
}

function kindOf(contentType: string | null, name: string, voiceMessage: boolean): Attachment['kind'] {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  const extension = /\.([a-z0-9]{1,5})$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  const audio = type === undefined ? AUDIO_EXTENSIONS.has(extension) || voiceMessage : type.startsWith('audio/');
  if (audio) return voiceMessage ? 'voice' : 'audio';
  const image = type === undefined ? IMAGE_EXTENSIONS.has(extension) : type.startsWith('image/');
  return image ? 'image' : 'file';
}
