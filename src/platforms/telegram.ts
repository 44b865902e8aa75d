/**
 * Telegram as a platform module: enabled by TELEGRAM_BOT_TOKEN. The Outbox talks to the
 * Bot API at TELEGRAM_API_ROOT (workers need no polling) and downloads users' files from
 * the same root, through a guarded downloader that trusts that host only; the gateway
 * long-polls, or serves the webhook at TELEGRAM_WEBHOOK_URL's path when that is set, and
 * asks the platform context which groups are under community moderation.
 */
import type { Config } from '../config.js';
import type { PlatformModule } from './platform.js';

export const telegramPlatform: PlatformModule = {
  platform: 'telegram',
  enabled: (config) => config.telegram !== undefined,
  async createOutbox({ config, rateLimiter, log, downloader }) {
    const { createTelegramApi, createTelegramFiles, createTelegramOutbox } = await import('../../adapters/telegram/index.js');
    const telegram = telegramConfig(config);
    const api = createTelegramApi({ token: telegram.token, apiRoot: telegram.apiRoot });
    // The operator chose this root (a self-hosted Bot API server may be on a private address).
    const files = createTelegramFiles({
      token: telegram.token,
      apiRoot: telegram.apiRoot,
      downloader: downloader({ allowed: [], trusted: [new URL(telegram.apiRoot).host] }),
    });
    // The token's first part is the bot's public id: enough to keep two bots' limits apart.
    const botId = telegram.token.split(':')[0] ?? 'bot';
    return createTelegramOutbox({ api, files, rateLimiter, botId, log, messagesPerSecond: telegram.messagesPerSecond });
  },
  async startGateway({ config, queue, log, isModerated, tracer }) {
    const { startTelegramGateway } = await import('../../adapters/telegram/index.js');
    const telegram = telegramConfig(config);
    const webhook =
      telegram.webhookUrl !== undefined && telegram.webhookSecret !== undefined
        ? { url: telegram.webhookUrl, secret: telegram.webhookSecret }
        : undefined;
    const gateway = await startTelegramGateway({
      token: telegram.token,
      apiRoot: telegram.apiRoot,
      webhook,
      queue,
      log,
      transcribeAllVoice: config.transcribe.allVoice,
      isModerated,
      tracer,
    });
    return { routes: gateway.routes, close: () => gateway.close() };
  },
};

function telegramConfig(config: Config): NonNullable<Config['telegram']> {
  if (config.telegram === undefined) throw new Error('Telegram is not configured: TELEGRAM_BOT_TOKEN is not set');
  return config.telegram;
}
