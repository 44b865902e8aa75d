/**
 * The Discord adapter: a discord.js gateway that routes messages (text, voice messages,
 * audio files, pictures) and slash commands onto the queue, and checks every message of
 * a moderated channel; and an Outbox over Discord's REST API that streams answers which
 * never ping, downloads attachments from Discord's CDN only, uploads images, and deletes
 * messages and times members out for community moderation.
 */
export { startDiscordGateway } from './discord.gateway.js';
export type { DiscordGateway, DiscordGatewayDeps } from './discord.gateway.js';
export { createDiscordOutbox, DISCORD_MAX_MESSAGE_LENGTH, noPings } from './discord.outbox.js';
export type { DiscordOutboxDeps } from './discord.outbox.js';
export { DISCORD_MAX_TIMEOUT_SECONDS, messageLinkOf } from './discord.moderation.js';
export { DiscordApiError, DiscordNetworkError } from './discord.errors.js';
export { attachmentOf, inboundFromCommand, inboundFromMessage, SLASH } from './discord.inbound.js';
export { encodeUpload } from './discord.upload.js';
export type { EncodedUpload, UploadFile } from './discord.upload.js';
export { SLASH_COMMANDS } from './discord.commands.js';
export { encodeReplyHandle, parseReplyHandle } from './discord.reply-handle.js';
export type { DiscordReplyHandle } from './discord.reply-handle.js';
export { channelLimit, globalLimit } from './discord.limits.js';
export { registersCommands, shardOptions } from './discord.shards.js';
export type { ShardSetting } from './discord.shards.js';
