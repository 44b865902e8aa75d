/** The web playground as a platform module: always enabled; with ADMIN_TOKEN it also serves the operator view at /admin. */
import { createWebAdapter, createWebOutbox } from '../../adapters/web/index.js';
import type { PlatformModule } from './platform.js';

export const webPlatform: PlatformModule = {
  platform: 'web',
  enabled: () => true,
  createOutbox: async ({ pubsub, botName, uploads }) => createWebOutbox({ pubsub, botName, uploads }),
  async startGateway({ config, queue, history, pubsub, log, modelInfo, uploads, operations }) {
    const token = config.http.adminToken;
    const admin = token === undefined ? undefined : { token, operations };
    const adapter = createWebAdapter({ queue, history, pubsub, uploads, log, modelInfo, admin });
    return { routes: [(req, res) => adapter.handle(req, res)], close: () => adapter.close() };
  },
};
