/**
 * The slash commands the bot registers at start: `/ask prompt:`, `/reset`, `/imagine prompt:`.
 * Registered for the guilds in DISCORD_GUILD_IDS (instant) or globally (Discord may take
 * up to an hour to show changes). The bulk overwrite makes registration idempotent.
 * https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { SLASH } from './discord.inbound.js';

/** The longest prompt a slash command takes (Discord allows up to 6000 per option). */
const MAX_PROMPT_LENGTH = 4000;

/** Where the commands may be used: servers and the bot's DMs. */
const CONTEXTS = [InteractionContextType.Guild, InteractionContextType.BotDM];

/** The command definitions, as Discord's bulk-overwrite endpoint takes them. */
export const SLASH_COMMANDS: RESTPutAPIApplicationCommandsJSONBody = [
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
    name: SLASH.imagine,
    description: 'Generate an image from a prompt',
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.String, name: SLASH.promptOption, description: 'What to draw', required: true, max_length: MAX_PROMPT_LENGTH },
    ],
  },
];
