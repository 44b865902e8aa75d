/**
 * The Telegram adapter: long polling (a loop of our own) or a webhook in, the Bot API
 * Outbox out, every call through one typed client on telegraf's types and HTTP client,
 * Markdown as Telegram HTML, forum topics as their own conversations, users' files
 * through getFile and images up as photos, and community moderation's calls (delete,
 * timeout, member rights, message links).
 */
export { createTelegramApi, scrubToken, TelegramApiError, TelegramNetworkError } from './telegram.api.js';
export type { SendMessageDraftParams, TelegramApi, TelegramApiOptions, TelegramMethod, TelegramParams, TelegramResult } from './telegram.api.js';
export { escapeHtml, markdownToTelegramHtml } from './telegram.format.js';
export { moderationCandidate, normalizeUpdate } from './telegram.inbound.js';
export type { BotIdentity, NormalizeOptions, Normalized, SkipReason } from './telegram.inbound.js';
export { createTelegramFiles } from './telegram.files.js';
export type { TelegramFiles, TelegramFilesOptions } from './telegram.files.js';
export {
  createTelegramOutbox,
  cutCaption,
  EDIT_INTERVAL_MS,
  TELEGRAM_MAX_CAPTION_LENGTH,
  TELEGRAM_MAX_DOWNLOAD_BYTES,
  TELEGRAM_MAX_MESSAGE_LENGTH,
} from './telegram.outbox.js';
export type { TelegramOutboxDeps } from './telegram.outbox.js';
export { ADMIN_COMMANDS, BOT_COMMANDS, COMMAND_REGISTRATIONS, isBotCommand } from './telegram.commands.js';
export type { CommandRegistration } from './telegram.commands.js';
export { createTelegramModeration, telegramMessageLink } from './telegram.moderation.js';
export type { TelegramModeration, TelegramModerationDeps } from './telegram.moderation.js';
export { startTelegramGateway } from './telegram.gateway.js';
export type { IntakeOutcome, TelegramGateway, TelegramGatewayDeps } from './telegram.gateway.js';
