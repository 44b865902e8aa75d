/**
 * The one HTTP server of a process, on PORT: `/healthz` (the process is alive),
 * `/readyz` (Redis reachable and, where this process runs workers, workers running),
 * `/metrics` (Prometheus text format; with METRICS_TOKEN only for its Bearer), then
 * whatever the adapters serve (the playground). Every answer carries the browser
 * hardening headers (security-headers.ts). Plain node:http: a handful of routes does
 * not need a framework. METRICS_PORT runs a second one with no adapter routes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BearerCheck, Logger, ReadinessCheck } from '../../ports/index.js';
import { settleWithin } from '../settle-within.js';
import { bearerChallenge } from './bearer.js';
import { sendJson } from './json.js';
import { setSecurityHeaders } from './security-headers.js';

/** A readiness check that takes longer than this counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;
/** Keep-alive sockets are closed this long after shutdown begins. */
const CLOSE_IDLE_AFTER_MS = 1_000;
/** The realm in `WWW-Authenticate` of /metrics, so a scraper's operator knows which token is asked for. */
const METRICS_REALM = 'switchboard-metrics';

/** Serves a request if it is its route; returns false to let the next one try. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly checks: readonly ReadinessCheck[];
  readonly routes: readonly RouteHandler[];
  readonly log: Logger;
  /** Served at `GET /metrics`; without it the route is not found. */
  readonly metrics?: MetricsSource;
  /** When set, `/metrics` answers only a request whose Bearer token it accepts (METRICS_TOKEN). */
  readonly metricsAccess?: BearerCheck;
}

/** What `/metrics` serves. https://prometheus.io/docs/instrumenting/exposition_formats/ */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface RunningHttpServer {
  /** Where this machine reaches it, e.g. http://127.0.0.1:8080 (also when it is bound to every address). */
  readonly url: string;
  /** The address it is bound to, e.g. http://0.0.0.0:8080 or http://[::]:8080. */
  readonly bound: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    setSecurityHeaders(res);
    void route(req, res).catch((error: unknown) => {
      options.log.error({ err: error, method: req.method, url: req.url }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'Something went wrong on our side.' } });
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const results = await Promise.all(options.checks.map(async (check) => [check.name, await runCheck(check)] as const));
      const ready = results.every(([, ok]) => ok);
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
    }
    if (req.method === 'GET' && path === '/metrics' && options.metrics) {
      const verdict = options.metricsAccess?.(req.headers.authorization) ?? 'ok';
      if (verdict !== 'ok') {
        // Never the header itself: a wrong token may be the right one mistyped.
        if (verdict === 'wrong') options.log.warn({ remoteAddress: req.socket.remoteAddress }, '/metrics: refused a wrong token');
        return sendJson(res, 401, { error: { code: 'unauthorized', message: 'This needs the metrics token (METRICS_TOKEN) as "Authorization: Bearer <token>".' } }, {
          'www-authenticate': bearerChallenge(METRICS_REALM, verdict),
          'cache-control': 'no-store',
        });
      }
      const text = await options.metrics.render();
      res.writeHead(200, { 'content-type': options.metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    for (const handler of options.routes) {
      if (await handler(req, res)) return;
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'There is nothing here.' } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    bound: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), CLOSE_IDLE_AFTER_MS).unref();
      }),
  };
}

function runCheck(check: ReadinessCheck): Promise<boolean> {
  return settleWithin(check.check(), CHECK_TIMEOUT_MS, false);
}
