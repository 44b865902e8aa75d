/**
 * The web playground as a platform module: always enabled (its Outbox serves every
 * worker). Its gateway serves the playground: open on a loopback HOST, behind
 * PLAYGROUND_TOKEN when that is set, off on an exposed HOST without it (issue #17);
 * with ADMIN_TOKEN it also serves the operator view at /admin.
 */
import { createWebAdapter, createWebOutbox, type PlaygroundAccess } from '../../adapters/web/index.js';
import type { Config } from '../config.js';
import { createBearerCheck } from '../infra/http/bearer.js';
import type { PlatformModule } from './platform.js';

export const webPlatform: PlatformModule = {
  platform: 'web',
  enabled: () => true,
  createOutbox: async ({ pubsub, botName, uploads }) => createWebOutbox({ pubsub, botName, uploads }),
  async startGateway({ config, queue, history, pubsub, log, modelInfo, uploads, operations, tracer }) {
    const token = config.http.adminToken;
    const admin = token === undefined ? undefined : { check: createBearerCheck(token), operations };
    const adapter = createWebAdapter({ queue, history, pubsub, uploads, log, modelInfo, access: playgroundAccess(config), admin, tracer });
    return { routes: [(req, res) => adapter.handle(req, res)], close: () => adapter.close() };
  },
};

/** Who may use the playground with this config. */
export function playgroundAccess(config: Config): PlaygroundAccess {
  const token = config.http.playgroundToken;
  if (token !== undefined) return { mode: 'token', check: createBearerCheck(token) };
  return config.http.exposed ? { mode: 'off' } : { mode: 'open' };
}
