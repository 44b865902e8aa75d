/**
 * Discord as a platform module: enabled by DISCORD_BOT_TOKEN. Workers get the REST-only
 * Outbox; the gateway role connects discord.js and registers the slash commands.
 */
import type { PlatformModule } from './platform.js';

export const discordPlatform: PlatformModule = {
  platform: 'discord',
  enabled: (config) => config.discord !== undefined,
  async createOutbox({ config, rateLimiter, log }) {
    const { createDiscordOutbox } = await import('../../adapters/discord/index.js');
    const discord = config.discord;
    if (!discord) throw new Error('Discord is not configured: DISCORD_BOT_TOKEN is unset');
    return createDiscordOutbox({ token: discord.token, apiUrl: discord.apiUrl, rateLimiter, log: log.child({ platform: 'discord' }) });
  },
  async startGateway({ config, queue, rateLimiter, log }) {
    const { startDiscordGateway } = await import('../../adapters/discord/index.js');
    const discord = config.discord;
    if (!discord) throw new Error('Discord is not configured: DISCORD_BOT_TOKEN is unset');
    const gateway = await startDiscordGateway({ token: discord.token, apiUrl: discord.apiUrl, guildIds: discord.guildIds, queue, rateLimiter, log });
    return { routes: [], close: () => gateway.close() };
  },
};
