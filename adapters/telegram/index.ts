/**
 * The Telegram adapter: telegraf long polling or webhook in, the Bot API Outbox out,
 * Markdown as Telegram HTML, forum topics as their own conversations.
 */
export { createTelegramApi, scrubToken, TelegramApiError, TelegramNetworkError } from './telegram.api.js';
export type { TelegramApi, TelegramApiOptions } from './telegram.api.js';
export { escapeHtml, markdownToTelegramHtml } from './telegram.format.js';
export { normalizeUpdate } from './telegram.inbound.js';
export type { BotIdentity, Normalized, SkipReason } from './telegram.inbound.js';
export { createTelegramOutbox, EDIT_INTERVAL_MS, TELEGRAM_MAX_MESSAGE_LENGTH } from './telegram.outbox.js';
export type { TelegramOutboxDeps } from './telegram.outbox.js';
export { BOT_COMMANDS, isBotCommand } from './telegram.commands.js';
export { startTelegramGateway } from './telegram.gateway.js';
export type { IntakeOutcome, TelegramGateway, TelegramGatewayDeps } from './telegram.gateway.js';
