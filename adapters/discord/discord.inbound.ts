/**
 * Turns discord.js events into the platform-neutral InboundMessage: where it was posted
 * (channel, thread, DM), who wrote it, whether the bot is addressed, and the command of a
 * slash command. Nothing downstream sees a discord.js type.
 * https://discord.com/developers/docs/resources/message#message-object
 * https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import {
  MessageFlags,
  MessageType,
  PermissionFlagsBits,
  type Attachment as DiscordAttachment,
  type ChatInputCommandInteraction,
  type Message,
  type MessageContextMenuCommandInteraction,
  type PermissionsBitField,
} from 'discord.js';
import {
  parseCommand,
  type Attachment,
  type ChatRef,
  type InboundMessage,
  type MemberPermissions,
  type ParsedCommand,
  type RepliedTo,
} from '../../src/domain/inbound-message.js';
import { encodeReplyHandle } from './discord.reply-handle.js';

/** Message types a person writes; joins, pins, boosts and the like are not talk. */
const CONVERSATION_TYPES: ReadonlySet<MessageType> = new Set([MessageType.Default, MessageType.Reply]);

/** Slash command, subcommand and option names. */
export const SLASH = {
  ask: 'ask',
  reset: 'reset',
  redo: 'redo',
  imagine: 'imagine',
  promptOption: 'prompt',
  moderation: 'moderation',
  persona: 'persona',
  personaSet: 'set',
  personaReset: 'reset',
  model: 'model',
  scope: 'scope',
  settings: 'settings',
  reasoningOption: 'reasoning',
  modeOption: 'mode',
  textOption: 'text',
  idOption: 'id',
  vary: 'vary',
  translate: 'translate',
  imageOption: 'image',
  audioOption: 'audio',
} as const;

/** Message context-menu command names, as Discord shows them under Apps (issue #14). */
export const CONTEXT_MENU = {
  translate: 'Translate',
  vary: 'Vary',
} as const;

/** A Discord id (https://discord.com/developers/docs/reference#snowflakes); job ids and replies are built from them. */
const SNOWFLAKE = /^[0-9]{1,20}$/;

/** In a DM the author is the only other member: they may do everything the commands ask. */
const DM_PERMISSIONS: MemberPermissions = { manageMessages: true, manageChannel: true };

/**
 * The InboundMessage of a MESSAGE_CREATE (or of the new version of an edited message), or
 * undefined when it is none of the bot's business: the author is a bot (this one or
 * another) or it is not talk (joins, pins). Everything else comes back with `addressed`
 * saying whether it is for the bot (a DM, a mention, a reply to the bot, or a message in a
 * thread the bot started); routeInbound decides what an unaddressed message gets
 * (nothing, or a transcript of a voice message under TRANSCRIBE_ALL_VOICE). A server
 * message carries its guild and what its author may do in the channel; a reply carries
 * what `referenced` tells of the message it points at (discord.referenced.ts).
 */
export function inboundFromMessage(message: Message, botId: string, referenced?: Omit<RepliedTo, 'authorIsBot' | 'messageId'>): InboundMessage | undefined {
  if (!readable(message)) return undefined;
  if (message.author.bot || message.system || !CONVERSATION_TYPES.has(message.type)) return undefined;
  const chat = chatOf(message.channel, message.inGuild() ? message.guildId : undefined);
  const repliedToBot = message.reference?.messageId !== undefined && message.mentions.repliedUser?.id === botId;
  const mentioned = message.mentions.users.has(botId);
  const inBotThread = message.channel.isThread() && message.channel.ownerId === botId;
  const addressed = chat.kind === 'dm' || mentioned || repliedToBot || inBotThread;
  const text = stripBotMention(message.content, botId);
  const command = parseCommand(text);
  const reference = message.reference?.messageId;
  const voiceMessage = message.flags.has(MessageFlags.IsVoiceMessage);
  const permissions = chat.kind === 'dm' ? DM_PERMISSIONS : memberPermissionsIn(message);
  return {
    chat,
    author: {
      id: message.author.id,
      displayName: firstText(message.member?.displayName, message.author.globalName, message.author.username) ?? `user ${message.author.id}`,
      isBot: false,
      ...(permissions ? { permissions } : {}),
    },
    messageId: message.id,
    text,
    attachments: [...message.attachments.values()].filter((a) => typeof a.url === 'string').map((a) => attachmentOf(a, voiceMessage)),
    ...(reference === undefined || !SNOWFLAKE.test(String(reference)) ? {} : { replyTo: { ...referenced, messageId: reference, authorIsBot: repliedToBot } }),
    addressed,
    ...(command ? { command } : {}),
    receivedAt: message.createdTimestamp,
  };
}

/**
 * The InboundMessage of a slash command: `/ask prompt` is plain text; the others are the
 * chat worker's commands (`/reset`, `/redo`, `/imagine prompt` as `image`, `/moderation mode`,
 * `/persona set text` and `/persona reset`, `/model id`, `/scope mode`, `/settings
 * reasoning` as `/settings reasoning <effort>`) and
 * the media commands (`/imagine prompt image`, `/vary image`, `/translate audio`, whose
 * attachment option becomes the message's attachment). A message context-menu command
 * ("Translate", "Vary") is that command on the files of the message it was used on.
 * The author's permissions are the ones Discord computed for this channel. Its reply
 * handle lets the Outbox answer through the (deferred) interaction.
 */
export function inboundFromCommand(interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction): InboundMessage | undefined {
  // The token goes into the callback URL's path.
  const token = interaction.token as unknown;
  if (!isSnowflake(interaction.id) || !isSnowflake(interaction.channelId) || !isSnowflake(interaction.user?.id) || typeof token !== 'string' || !/^[^\s/?#]+$/.test(token)) return undefined;
  const command = interaction.isChatInputCommand() ? commandOf(interaction) : contextMenuCommandOf(interaction);
  if (command === undefined) return undefined;
  const channel = interaction.channel;
  const guildId = interaction.inGuild() ? interaction.guildId : undefined;
  const chat: ChatRef =
    channel === null
      ? { platform: 'discord', id: interaction.channelId, kind: guildId === undefined ? 'dm' : 'group', ...(guildId === undefined ? {} : { guildId }) }
      : chatOf(channel, guildId);
  const permissions = chat.kind === 'dm' ? DM_PERMISSIONS : permissionsOf(interaction.memberPermissions);
  return {
    chat,
    author: {
      id: interaction.user.id,
      displayName:
        firstText(interaction.inCachedGuild() ? interaction.member.displayName : undefined, interaction.user.globalName, interaction.user.username) ??
        `user ${interaction.user.id}`,
      isBot: false,
      ...(permissions ? { permissions } : {}),
    },
    messageId: interaction.id,
    text: command.text,
    attachments: command.attachments ?? [],
    addressed: true,
    ...(command.parsed ? { command: command.parsed } : {}),
    receivedAt: interaction.createdTimestamp,
    replyHandle: encodeReplyHandle({ applicationId: interaction.applicationId, interactionToken: interaction.token }),
  };
}

/** A command as the text a user would have typed, the ParsedCommand the workers read, and the files it is about. */
interface CommandInput {
  readonly text: string;
  readonly parsed?: ParsedCommand;
  readonly attachments?: readonly Attachment[];
}

/** A slash command as a CommandInput. */
function commandOf(interaction: ChatInputCommandInteraction): CommandInput | undefined {
  // An option of another type than the command declares makes getString throw: read as none.
  const option = (name: string): string => {
    try {
      const value = interaction.options.getString(name);
      return typeof value === 'string' ? value.trim() : '';
    } catch {
      return '';
    }
  };
  // An attachment option's file; none when it is missing or not an attachment.
  const file = (name: string): Attachment[] => {
    try {
      const attachment = interaction.options.getAttachment(name);
      return attachment !== null && typeof attachment.url === 'string' ? [attachmentOf(attachment, false)] : [];
    } catch {
      return [];
    }
  };
  const as = (name: string, args: string): { text: string; parsed: ParsedCommand } => ({ text: `/${name} ${args}`.trim(), parsed: { name, args } });
  switch (interaction.commandName) {
    case SLASH.ask:
      return { text: option(SLASH.promptOption) };
    case SLASH.reset:
      return as('reset', '');
    case SLASH.redo:
      return as('redo', '');
    case SLASH.imagine:
      return { ...as('image', option(SLASH.promptOption)), attachments: file(SLASH.imageOption) };
    case SLASH.vary:
      return { ...as('vary', ''), attachments: file(SLASH.imageOption) };
    case SLASH.translate:
      return { ...as('translate', ''), attachments: file(SLASH.audioOption) };
    case SLASH.moderation:
      return as('moderation', option(SLASH.modeOption));
    case SLASH.persona:
      return interaction.options.getSubcommand(false) === SLASH.personaSet
        ? as('persona', `set ${option(SLASH.textOption)}`.trim())
        : as('persona', 'reset');
    case SLASH.model:
      return as('model', option(SLASH.idOption));
    case SLASH.scope:
      return as('scope', option(SLASH.modeOption));
    case SLASH.settings: {
      const effort = option(SLASH.reasoningOption);
      return as('settings', effort === '' ? '' : `reasoning ${effort}`);
    }
    default:
      return undefined;
  }
}

/**
 * A message context-menu command as a CommandInput: "Translate" and "Vary" on the files of
 * the message it was used on (a voice message's one attachment is `voice`).
 * https://discord.com/developers/docs/interactions/application-commands#message-commands
 */
function contextMenuCommandOf(interaction: MessageContextMenuCommandInteraction): CommandInput | undefined {
  const name = interaction.commandName === CONTEXT_MENU.translate ? 'translate' : interaction.commandName === CONTEXT_MENU.vary ? 'vary' : undefined;
  if (name === undefined) return undefined;
  let attachments: Attachment[] = [];
  try {
    const target = interaction.targetMessage;
    const voice = target.flags.has(MessageFlags.IsVoiceMessage);
    attachments = [...target.attachments.values()].filter((a) => typeof a.url === 'string').map((a) => attachmentOf(a, voice));
  } catch {
    // A target message discord.js could not read: the command then has no file, and the worker says how to use it.
  }
  return { text: `/${name}`, parsed: { name, args: '' }, attachments };
}

/**
 * What a message's author may do in its channel, from the roles and channel overwrites
 * discord.js keeps from GUILD_CREATE and the message's `member`. Undefined when discord.js
 * cannot tell (no member on the message, or the channel is not cached); the worker then
 * asks the Outbox, which does not know either, so nothing is allowed.
 * https://discord.com/developers/docs/topics/permissions#permission-overwrites
 */
function memberPermissionsIn(message: Message): MemberPermissions | undefined {
  if (!message.inGuild()) return undefined;
  try {
    return permissionsOf(message.member?.permissionsIn(message.channel));
  } catch {
    return undefined;
  }
}

function permissionsOf(bits: Readonly<PermissionsBitField> | null | undefined): MemberPermissions | undefined {
  if (!bits) return undefined;
  return { manageMessages: bits.has(PermissionFlagsBits.ManageMessages), manageChannel: bits.has(PermissionFlagsBits.ManageChannels) };
}

/**
 * A channel as a ChatRef: a thread keeps its parent as the chat and itself as the thread,
 * so it has its own history. A server channel carries its guild (timeouts and links need it).
 */
function chatOf(channel: Message['channel'] | NonNullable<ChatInputCommandInteraction['channel']>, guildId: string | undefined): ChatRef {
  const guild = guildId === undefined ? {} : { guildId };
  if (channel.isThread()) {
    return { platform: 'discord', id: channel.parentId ?? channel.id, threadId: channel.id, kind: 'group', ...guild };
  }
  return { platform: 'discord', id: channel.id, kind: guildId === undefined ? 'dm' : 'group', ...guild };
}

/**
 * Whether a message has what every message Discord sends has, of the types it gives them:
 * snowflake ids (the job id and the reply are built from them), an author, text content,
 * and a channel discord.js knows. Anything else did not come from Discord as documented.
 */
function readable(message: Message): boolean {
  const author = message.author as Message['author'] | null;
  return (
    isSnowflake(message.id) &&
    isSnowflake(message.channelId) &&
    author !== null &&
    isSnowflake(author.id) &&
    typeof message.content === 'string' &&
    (message.channel as Message['channel'] | null) !== null
  );
}

function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE.test(value);
}

/** The first of `values` that is text with something in it. */
function firstText(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value.trim() !== '');
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
export function attachmentOf(attachment: Pick<DiscordAttachment, 'url' | 'name' | 'contentType' | 'size' | 'duration'>, voiceMessage: boolean): Attachment {
  // Discord documents each field's type; anything else is left out rather than passed on.
  const contentType = typeof attachment.contentType === 'string' && attachment.contentType !== '' ? attachment.contentType : null;
  const name = typeof attachment.name === 'string' ? attachment.name : '';
  return {
    kind: kindOf(contentType, name, voiceMessage),
    fileRef: attachment.url,
    ...(contentType ? { mimeType: contentType } : {}),
    ...(Number.isFinite(attachment.size) ? { sizeBytes: attachment.size } : {}),
    ...(Number.isFinite(attachment.duration) ? { durationSeconds: attachment.duration as number } : {}),
    ...(name === '' ? {} : { fileName: name }),
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
