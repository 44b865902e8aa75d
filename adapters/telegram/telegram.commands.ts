/**
 * The bot's commands: registered with setMyCommands at start
 * (https://core.telegram.org/bots/api#setmycommands), and the only bare commands the bot
 * takes in a group, where `/foo` may be meant for another bot. Everyone's menu shows the
 * everyday commands (the default scope); chat administrators' menus show the admin
 * commands too (scope `all_chat_administrators`,
 * https://core.telegram.org/bots/api#botcommandscopeallchatadministrators). The menu is
 * only a hint: the workers check who may use an admin command.
 */
import type { BotCommand, BotCommandScope } from 'telegraf/types';

/** Commands for everyone. */
export const BOT_COMMANDS: readonly BotCommand[] = [
  { command: 'start', description: 'Say hello and see what I can do' },
  { command: 'help', description: 'What I can do' },
  { command: 'reset', description: 'Forget this conversation (this topic in a forum)' },
  { command: 'redo', description: 'Answer my last message again, replacing that answer' },
  { command: 'image', description: 'Draw a picture: /image <prompt> (in reply to a photo: change it)' },
  { command: 'vary', description: 'In reply to a photo: draw variations of it' },
  { command: 'translate', description: 'In reply to a voice note: translate it into English' },
];

/** Commands for chat administrators. */
export const ADMIN_COMMANDS: readonly BotCommand[] = [
  { command: 'moderation', description: 'Community moderation here: on, off or status' },
  { command: 'persona', description: "Set this chat's system prompt: /persona set <text>, /persona reset" },
  { command: 'model', description: "Choose this chat's model: /model <id>" },
  { command: 'scope', description: 'History per chat or per user: /scope chat|user' },
  { command: 'settings', description: "Show this chat's settings; /settings reasoning <effort>" },
];

/** One setMyCommands call: which commands, for whom. */
export interface CommandRegistration {
  readonly commands: readonly BotCommand[];
  readonly scope: BotCommandScope;
}

/** What the gateway registers at start: the everyday menu for everyone, everything for chat administrators. */
export const COMMAND_REGISTRATIONS: readonly CommandRegistration[] = [
  { commands: BOT_COMMANDS, scope: { type: 'default' } },
  { commands: [...BOT_COMMANDS, ...ADMIN_COMMANDS], scope: { type: 'all_chat_administrators' } },
];

/** True for a command name the bot registered, for anyone or for administrators. */
export function isBotCommand(name: string): boolean {
  return BOT_COMMANDS.some((c) => c.command === name) || ADMIN_COMMANDS.some((c) => c.command === name);
}
