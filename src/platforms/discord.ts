/**
 * Discord as a platform module: enabled by DISCORD_BOT_TOKEN. Workers get the REST-only
 * Outbox, which downloads attachments from DISCORD_CDN_HOSTS only; the gateway role
 * connects discord.js with the shards DISCORD_SHARDS / DISCORD_SHARD_IDS give this process,
 * registers the slash commands, and asks the shared moderation switches which channels'
 * messages also get a `moderate` job.
 */
import type { PlatformModule } from './platform.js';

export const discordPlatform: PlatformModule = {
  platform: 'discord',
  enabled: (config) => config.discord !== undefined,
  async createOutbox({ config, rateLimiter, log, downloader, metrics }) {
    const { createDiscordOutbox } = await import('../../adapters/discord/index.js');
    const discord = config.discord;
    if (!discord) throw new Error('Discord is not configured: DISCORD_BOT_TOKEN is unset');
    return createDiscordOutbox({
      token: discord.token,
      apiUrl: discord.apiUrl,
      rateLimiter,
      // Attachment URLs come from users' messages: only Discord's CDN is ever fetched.
      downloader: downloader({ allowed: discord.cdnHosts }),
      log: log.child({ platform: 'discord' }),
      metrics,
      requestsPerSecond: discord.requestsPerSecond,
    });
  },
  async startGateway({ config, queue, rateLimiter, log, isModerated, tracer }) {
    const { startDiscordGateway } = await import('../../adapters/discord/index.js');
    const discord = config.discord;
    if (!discord) throw new Error('Discord is not configured: DISCORD_BOT_TOKEN is unset');
    const gateway = await startDiscordGateway({
      token: discord.token,
      apiUrl: discord.apiUrl,
      guildIds: discord.guildIds,
      sharding: { shards: discord.shards, shardIds: discord.shardIds },
      queue,
      rateLimiter,
      requestsPerSecond: discord.requestsPerSecond,
      transcribeAllVoice: config.transcribe.allVoice,
      isModerated,
      log,
      tracer,
    });
    return { routes: [], close: () => gateway.close() };
  },
};
