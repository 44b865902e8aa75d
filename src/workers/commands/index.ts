/**
 * The chat commands (`/reset`, `/redo`, `/persona`, `/model`, `/scope`, `/settings`,
 * `/moderation`, and `/start`, `/help`, `/image` without a prompt): what the chat worker
 * runs instead of an answer when a message is a command.
 */
export { runCommand, type CommandDeps } from './run-command.js';
