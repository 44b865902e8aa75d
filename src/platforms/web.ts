/** The web playground as a platform module: always enabled. */
import { createWebAdapter, createWebOutbox } from '../../adapters/web/index.js';
import type { PlatformModule } from './platform.js';

export const webPlatform: PlatformModule = {
  platform: 'web',
  enabled: () => true,
  createOutbox: async ({ pubsub, botName }) => createWebOutbox({ pubsub, botName }),
  async startGateway({ queue, history, pubsub, log, modelInfo }) {
    const adapter = createWebAdapter({ queue, history, pubsub, log, modelInfo });
    return { routes: [(req, res) => adapter.handle(req, res)], close: () => adapter.close() };
  },
};
