/**
 * The one HTTP server of a process, on PORT: `/healthz` (the process is alive),
 * `/readyz` (Redis reachable and, where this process runs workers, workers running),
 * `/metrics` (Prometheus text format), then whatever the adapters serve (the playground). Plain node:http: a handful of
 * routes does not need a framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, ReadinessCheck } from '../../ports/index.js';
import { settleWithin } from '../settle-within.js';

/** A readiness check that takes longer than this counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;
/** Keep-alive sockets are closed this long after shutdown begins. */
const CLOSE_IDLE_AFTER_MS = 1_000;

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
}

/** What `/metrics` serves. https://prometheus.io/docs/instrumenting/exposition_formats/ */
export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface RunningHttpServer {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
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

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
