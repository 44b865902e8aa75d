/** The web playground as a platform module: always enabled. */
import { createWebAdapter, createWebOutbox } from '../../adapters/web/index.js';
import type { PlatformModule } from './platform.js';

export const webPlatform: PlatformModule = {
  platform: 'web',
  enabled: () => true,
  createOutbox: async ({ pubsub, botName, uploads }) => createWebOutbox({ pubsub, botName, uploads }),
  async startGateway({ queue, history, pubsub, log, modelInfo, uploads }) {
    const adapter = createWebAdapter({ queue, history, pubsub, uploads, log, modelInfo });
    return { routes: [(req, res) => adapter.handle(req, res)], close: () => adapter.close() };
  },
};
