/**
 * The web playground adapter: the page, its small JSON API and its event streams,
 * on node:http. The service's HTTP server calls `handle` for every request it does
 * not answer itself. Messages take the same queue, workers and history as any
 * platform; replies come back through the web Outbox over pub/sub.
 *
 * Routes:
 *   GET  /, /app.js, /style.css                 the page
 *   GET  /api/info                              { platform: 'web', model, demo }
 *   GET  /api/channels/:channel/history         { channel, messages }
 *   POST /api/channels/:channel/messages        { id, text, author, attachment? } → 202 { jobId, duplicate }
 *   GET  /api/channels/:channel/events          Server-Sent Events: message, image, typing
 *   POST /api/uploads?name=&voice=1             the file as the body → 201 { id, kind, mimeType, sizeBytes, fileName }
 *   GET  /api/files/:id                         a stored image (a photo sent, a picture drawn)
 *   GET  /admin, /admin.js, /admin.css          the operator page (only with ADMIN_TOKEN)
 *   GET  /api/admin/snapshot                    queues, workers, recent failures (Bearer ADMIN_TOKEN)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HistoryStore, JobQueue, Logger, Operations, PubSub, UploadStore } from '../../src/ports/index.js';
import { createAdminApi } from './web.admin.js';
import { getHistory } from './web.history.js';
import { sendError, sendJson, WEB_ERROR_CODES } from './web.http.js';
import { checkChannel } from './web.input.js';
import { postMessage } from './web.messages.js';
import { createEventStreams } from './web.sse.js';
import { createStaticAssets } from './web.static.js';
import { postUpload, serveFile } from './web.uploads.js';

const CHANNEL_ROUTE = /^\/api\/channels\/([^/]+)\/(history|messages|events)$/;
const FILE_ROUTE = /^\/api\/files\/([^/]+)$/;
const ADMIN_PAGES: ReadonlySet<string> = new Set(['/admin', '/admin.js', '/admin.css']);
const ADMIN_SNAPSHOT = '/api/admin/snapshot';
/** The methods each channel route answers. */
const CHANNEL_METHODS: Readonly<Record<string, readonly string[]>> = {
  history: ['GET', 'HEAD'],
  messages: ['POST'],
  events: ['GET'],
};

/** What the playground adapter needs. */
export interface WebAdapterDeps {
  readonly queue: JobQueue;
  readonly history: HistoryStore;
  readonly pubsub: PubSub;
  /** Voice notes and photos users upload, and images the bot made (web Outbox). */
  readonly uploads: UploadStore;
  readonly log: Logger;
  /** Shown on the page; `demo` puts up the "offline demo model" banner. */
  readonly modelInfo: { readonly model: string; readonly demo: boolean };
  /** The operator view at /admin: ADMIN_TOKEN and the queries it shows; absent, /admin is not found. */
  readonly admin?: { readonly token: string; readonly operations: Operations };
  readonly now?: () => number;
}

/** The playground, as the HTTP server sees it. */
export interface WebAdapter {
  /** Serves the request when it is one of the playground's routes; true when it did. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Ends open event streams (and refuses new ones), for a clean shutdown. */
  close(): Promise<void>;
}

/** Creates the playground adapter. */
export function createWebAdapter(deps: WebAdapterDeps): WebAdapter {
  const log = deps.log.child({ adapter: 'web' });
  const now = deps.now ?? Date.now;
  const assets = createStaticAssets();
  const streams = createEventStreams({ pubsub: deps.pubsub, log });
  const admin = deps.admin === undefined ? undefined : createAdminApi({ ...deps.admin, log });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    // A path is appended, not resolved: resolved, `//x` would be a host and serve `/`.
    const pathname = (target.startsWith('/') ? new URL(`http://playground.invalid${target}`) : new URL(target, 'http://playground.invalid')).pathname;
    const readOnly = method === 'GET' || method === 'HEAD';

    if (pathname === '/' || pathname === '/app.js' || pathname === '/style.css') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      return assets.serve(pathname, res, method === 'HEAD');
    }
    if (pathname === '/api/info') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      sendJson(res, 200, { platform: 'web', model: deps.modelInfo.model, demo: deps.modelInfo.demo });
      return true;
    }
    if (pathname === '/api/uploads') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      await postUpload({ uploads: deps.uploads, log }, req, res);
      return true;
    }
    if (admin !== undefined && ADMIN_PAGES.has(pathname)) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      return assets.serve(pathname, res, method === 'HEAD');
    }
    if (admin !== undefined && pathname === ADMIN_SNAPSHOT) {
      if (method !== 'GET') return notAllowed(res, 'GET');
      await admin.snapshot(req, res);
      return true;
    }
    const file = FILE_ROUTE.exec(pathname);
    if (file !== null) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      await serveFile({ uploads: deps.uploads, log }, file[1] ?? '', res, method === 'HEAD');
      return true;
    }

    const match = CHANNEL_ROUTE.exec(pathname);
    if (match === null) return false;
    const [, encoded = '', action = ''] = match;
    const allowed = CHANNEL_METHODS[action] ?? [];
    if (!allowed.includes(method)) return notAllowed(res, allowed.join(', '));
    const channel = safeDecode(encoded);
    const problem = checkChannel(channel);
    if (problem !== undefined) {
      sendError(res, problem.status, problem.code, problem.message);
      return true;
    }
    if (action === 'history') await getHistory({ history: deps.history, log }, channel, res);
    else if (action === 'messages') await postMessage({ queue: deps.queue, pubsub: deps.pubsub, uploads: deps.uploads, log, now }, channel, req, res);
    else await streams.open(channel, req, res);
    return true;
  };

  return {
    async handle(req, res) {
      try {
        return await route(req, res);
      } catch (error) {
        log.error({ err: error, method: req.method, url: req.url }, 'playground request failed');
        if (!res.headersSent) sendError(res, 500, WEB_ERROR_CODES.INTERNAL, 'Something went wrong on our side. Try again.');
        else res.destroy();
        return true;
      }
    },
    close: () => streams.closeAll(),
  };
}

function notAllowed(res: ServerResponse, allow: string): true {
  sendError(res, 405, WEB_ERROR_CODES.METHOD_NOT_ALLOWED, `This address only answers ${allow}.`, { allow });
  return true;
}

/** A malformed escape is just an invalid channel name, not a server error. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
