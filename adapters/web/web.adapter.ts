/**
 * The web playground adapter: the page, its small JSON API and its event streams,
 * on node:http. The service's HTTP server calls `handle` for every request it does
 * not answer itself. Messages take the same queue, workers and history as any
 * platform; replies come back through the web Outbox over pub/sub. Who may reach the
 * API is the guard's business (web.guard.ts): open on loopback, PLAYGROUND_TOKEN as a
 * Bearer token when set, off on an exposed HOST without it.
 *
 * Routes:
 *   GET  /, /app.js, /app/*.js, /style.css      the page and its script modules (load without the token, then ask for it)
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
import type { BearerCheck, HistoryStore, JobQueue, Logger, Operations, PubSub, Tracer, UploadStore } from '../../src/ports/index.js';
import { createAdminApi } from './web.admin.js';
import { createPlaygroundGuard, type PlaygroundAccess } from './web.guard.js';
import { getHistory } from './web.history.js';
import { sendJson } from '../../src/infra/http/json.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';
import { checkChannel } from './web.input.js';
import { postMessage } from './web.messages.js';
import { createEventStreams } from './web.sse.js';
import { createStaticAssets, PLAYGROUND_FILES } from './web.static.js';
import { postUpload, serveFile } from './web.uploads.js';

const CHANNEL_ROUTE = /^\/api\/channels\/([^/]+)\/(history|messages|events)$/;
const FILE_ROUTE = /^\/api\/files\/([^/]+)$/;
/** The playground's stylesheet, which the operator page uses too. */
const STYLESHEET = '/style.css';
const ADMIN_PAGES: ReadonlySet<string> = new Set(['/admin', '/admin.js', '/admin.css']);
const ADMIN_SNAPSHOT = '/api/admin/snapshot';
/** The span of one posted message: where its trace starts. */
const MESSAGE_SPAN = 'web message';
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
  /** Who may use the playground: open (loopback), behind PLAYGROUND_TOKEN, or off. */
  readonly access: PlaygroundAccess;
  /** The operator view at /admin: the check of ADMIN_TOKEN and the queries it shows; absent, /admin is not found. */
  readonly admin?: { readonly check: BearerCheck; readonly operations: Operations };
  /** Opens each posted message's span (a no-op without tracing). */
  readonly tracer: Tracer;
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
  const { access } = deps;
  const guard = createPlaygroundGuard(access, log);
  // Only the operator's own loopback playground goes unmetered; a token's holder is counted.
  const sender = { unmetered: access.mode === 'open' } as const;

  /** Serves one of the playground's own routes; `pathname` is known to be one. */
  const playground = async (req: IncomingMessage, res: ServerResponse, method: string, pathname: string): Promise<boolean> => {
    const readOnly = method === 'GET' || method === 'HEAD';
    if (PLAYGROUND_FILES.has(pathname)) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      return assets.serve(pathname, res, method === 'HEAD');
    }
    if (pathname === '/api/info') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      if (guard.refuse(req, res, false)) return true;
      sendJson(res, 200, { platform: 'web', model: deps.modelInfo.model, demo: deps.modelInfo.demo });
      return true;
    }
    if (pathname === '/api/uploads') {
      if (method !== 'POST') return notAllowed(res, 'POST');
      if (guard.refuse(req, res, true)) return true;
      await postUpload({ uploads: deps.uploads, log }, req, res);
      return true;
    }
    const file = FILE_ROUTE.exec(pathname);
    if (file !== null) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      if (guard.refuse(req, res, false)) return true;
      await serveFile({ uploads: deps.uploads, log }, file[1] ?? '', res, method === 'HEAD');
      return true;
    }

    const [, encoded = '', action = ''] = CHANNEL_ROUTE.exec(pathname) ?? [];
    const allowed = CHANNEL_METHODS[action] ?? [];
    if (!allowed.includes(method)) return notAllowed(res, allowed.join(', '));
    if (guard.refuse(req, res, action === 'messages')) return true;
    const channel = safeDecode(encoded);
    const problem = checkChannel(channel);
    if (problem !== undefined) {
      sendError(res, problem.status, problem.code, problem.message);
      return true;
    }
    if (action === 'history') await getHistory({ history: deps.history, log }, channel, res);
    else if (action === 'messages') {
      await deps.tracer.inSpan(MESSAGE_SPAN, (span) => {
        span.setAttribute('switchboard.platform', 'web');
        span.setAttribute('switchboard.chat.id', channel);
        return postMessage({ queue: deps.queue, pubsub: deps.pubsub, uploads: deps.uploads, log, now }, channel, sender, req, res);
      });
    }
    else await streams.open(channel, req, res);
    return true;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    // A path is appended, not resolved: resolved, `//x` would be a host and serve `/`.
    const pathname = (target.startsWith('/') ? new URL(`http://playground.invalid${target}`) : new URL(target, 'http://playground.invalid')).pathname;
    const readOnly = method === 'GET' || method === 'HEAD';

    // The operator view has its own token and is there on any bind.
    if (admin !== undefined && ADMIN_PAGES.has(pathname)) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      return assets.serve(pathname, res, method === 'HEAD');
    }
    if (admin !== undefined && pathname === ADMIN_SNAPSHOT) {
      if (method !== 'GET') return notAllowed(res, 'GET');
      await admin.snapshot(req, res);
      return true;
    }
    if (pathname === STYLESHEET && (access.mode !== 'off' || admin !== undefined)) {
      if (!readOnly) return notAllowed(res, 'GET, HEAD');
      return assets.serve(pathname, res, method === 'HEAD');
    }
    if (!isPlaygroundRoute(pathname)) return false;
    if (access.mode === 'off') {
      sendError(
        res,
        404,
        WEB_ERROR_CODES.PLAYGROUND_OFF,
        'The playground is off: this server listens beyond its own machine (HOST is not a loopback address) and has no PLAYGROUND_TOKEN.',
      );
      return true;
    }
    return playground(req, res, method, pathname);
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

/** Whether `pathname` is the playground's page or one of its API routes (the stylesheet aside). */
function isPlaygroundRoute(pathname: string): boolean {
  return (
    PLAYGROUND_FILES.has(pathname) ||
    pathname === '/api/info' ||
    pathname === '/api/uploads' ||
    FILE_ROUTE.test(pathname) ||
    CHANNEL_ROUTE.test(pathname)
  );
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
