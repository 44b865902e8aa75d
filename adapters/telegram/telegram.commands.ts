/**
 * The bot's commands: registered with setMyCommands at start
 * (https://core.telegram.org/bots/api#setmycommands), and the only bare commands the bot
 * takes in a group, where `/foo` may be meant for another bot.
 */
import type { BotCommand } from 'telegraf/types';

export const BOT_COMMANDS: readonly BotCommand[] = [
  { command: 'start', description: 'Say hello and see what I can do' },
  { command: 'help', description: 'What I can do' },
  { command: 'reset', description: 'Forget this conversation (this topic in a forum)' },
  { command: 'image', description: 'Make a picture from a prompt' },
];

/** True for a command name the bot registered. */
export function isBotCommand(name: string): boolean {
  return BOT_COMMANDS.some((c) => c.command === name);
}
