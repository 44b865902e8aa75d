export type { PlatformContext, PlatformGateway, PlatformModule } from './platform.js';
export { playgroundAccess, webPlatform } from './web.js';
import type { PlatformModule } from './platform.js';
import { telegramPlatform } from './telegram.js';
import { webPlatform } from './web.js';
import { discordPlatform } from './discord.js';

/** Every platform Switchboard knows, in start order. */
export const PLATFORMS: readonly PlatformModule[] = [webPlatform, discordPlatform, telegramPlatform];
