/**
 * The commands the bot registers at start: `/ask prompt:`, `/reset`, `/redo`, `/imagine prompt:
 * image:`, the channel settings `/moderation mode:`, `/persona set text:` / `/persona
 * reset`, `/model id:`, `/scope mode:`, `/settings reasoning:`, then `/vary image:`, `/translate
 * audio:` and the message context-menu commands "Translate" and "Vary". Those that
 * change a channel are hidden by `default_member_permissions` from members who lack the
 * permission (server admins can change that under Integrations); the chat worker checks
 * the permission again either way.
 * Registered for the guilds in DISCORD_GUILD_IDS (instant) or globally (Discord may take
 * up to an hour to show changes). The bulk overwrite makes registration idempotent.
 * https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { REASONING_EFFORTS } from '../../src/domain/reasoning.js';
import { CONTEXT_MENU, SLASH } from './discord.inbound.js';

/** The longest prompt a slash command takes (Discord allows up to 6000 per option). */
const MAX_PROMPT_LENGTH = 4000;

/** The longest persona text (the channel's system prompt) and model id a command takes. */
const MAX_PERSONA_LENGTH = 4000;
const MAX_MODEL_ID_LENGTH = 100;

/** Where the commands may be used: servers and the bot's DMs. */
const CONTEXTS = [InteractionContextType.Guild, InteractionContextType.BotDM];
/** Moderation is for server channels only. */
const GUILD_ONLY = [InteractionContextType.Guild];

/**
 * `default_member_permissions` is a permission bit set. The docs (and discord-api-types)
 * write it as a string, Discord's OpenAPI spec as an integer; Discord takes either, and
 * the integer is what the spec validates.
 */
const MANAGE_MESSAGES = Number(PermissionFlagsBits.ManageMessages);
const MANAGE_CHANNELS = Number(PermissionFlagsBits.ManageChannels);

/**
 * One command (a slash command or a message context-menu command) as the bulk overwrite
 * takes it, with `default_member_permissions` as the spec's integer.
 */
export type SlashCommandDefinition = WithIntegerPermissions<RESTPostAPIApplicationCommandsJSONBody>;
/** Each kind of command body (distributed over the union), its permissions as an integer. */
type WithIntegerPermissions<Body> = Body extends unknown
  ? Omit<Body, 'default_member_permissions'> & { readonly default_member_permissions?: number | null }
  : never;

/** The command definitions, as Discord's bulk-overwrite endpoint takes them. */
export const SLASH_COMMANDS: readonly SlashCommandDefinition[] = [
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.ask,
    description: 'Ask the bot; the answer streams into this channel',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.String, name: SLASH.promptOption, description: 'What to ask', required: true, max_length: MAX_PROMPT_LENGTH },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.reset,
    description: "Forget this channel's (or thread's) conversation",
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.redo,
    description: 'Answer the last message again, replacing that answer',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.imagine,
    description: 'Generate an image from a prompt',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.String, name: SLASH.promptOption, description: 'What to draw', required: true, max_length: MAX_PROMPT_LENGTH },
      { type: ApplicationCommandOptionType.Attachment, name: SLASH.imageOption, description: 'A picture to change as the prompt says', required: false },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.moderation,
    description: 'Community moderation in this channel: switch it on or off, or see its status',
    contexts: GUILD_ONLY,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: MANAGE_MESSAGES,
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: SLASH.modeOption,
        description: 'on, off, or status (the default)',
        required: false,
        choices: [
          { name: 'on', value: 'on' },
          { name: 'off', value: 'off' },
          { name: 'status', value: 'status' },
        ],
      },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.persona,
    description: "The bot's persona in this channel",
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: MANAGE_CHANNELS,
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: SLASH.personaSet,
        description: 'Set the persona (the system prompt) for this channel',
        options: [
          { type: ApplicationCommandOptionType.String, name: SLASH.textOption, description: 'Who the bot is here and how it answers', required: true, max_length: MAX_PERSONA_LENGTH },
        ],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: SLASH.personaReset, description: 'Go back to the default persona' },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.model,
    description: 'The model that answers in this channel',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: MANAGE_CHANNELS,
    options: [
      { type: ApplicationCommandOptionType.String, name: SLASH.idOption, description: 'The model id', required: true, max_length: MAX_MODEL_ID_LENGTH },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.scope,
    description: 'One conversation for the whole channel, or one per user',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: MANAGE_CHANNELS,
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: SLASH.modeOption,
        description: 'channel: everyone shares one conversation; user: each person has their own',
        required: true,
        choices: [
          { name: 'channel', value: 'channel' },
          { name: 'user', value: 'user' },
        ],
      },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.settings,
    description: "This channel's settings: persona, model, scope, reasoning, moderation",
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: SLASH.reasoningOption,
        description: 'How hard reasoning models think here (needs Manage Channels); default: the configured one',
        required: false,
        choices: [...REASONING_EFFORTS, 'default'].map((effort) => ({ name: effort, value: effort })),
      },
    ],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.vary,
    description: 'Draw variations of a picture',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [{ type: ApplicationCommandOptionType.Attachment, name: SLASH.imageOption, description: 'The picture', required: true }],
  },
  {
    type: ApplicationCommandType.ChatInput,
    name: SLASH.translate,
    description: 'Translate a voice recording or audio file into English',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [{ type: ApplicationCommandOptionType.Attachment, name: SLASH.audioOption, description: 'The recording', required: true }],
  },
  // Right-click (long-press) a message → Apps: context-menu commands have a name and no description.
  { type: ApplicationCommandType.Message, name: CONTEXT_MENU.translate, contexts: CONTEXTS, integration_types: [ApplicationIntegrationType.GuildInstall] },
  { type: ApplicationCommandType.Message, name: CONTEXT_MENU.vary, contexts: CONTEXTS, integration_types: [ApplicationIntegrationType.GuildInstall] },
];
