/**
 * The intake stage, last to start and first to stop: the platforms' gateways (processes
 * that take messages), then the HTTP server on PORT (playground, webhooks, /healthz,
 * /readyz, /metrics) and the /metrics listener on METRICS_PORT when set. Stopping it
 * stops new messages: the gateways first, then the listeners.
 */
import type { Config, Role } from '../config.js';
import { createBearerCheck } from '../infra/http/bearer.js';
import { startHttpServer, type RouteHandler, type RunningHttpServer } from '../infra/http/server.js';
import type { Metrics } from '../infra/metrics/index.js';
import type { ManagedJobQueue } from '../infra/queue/index.js';
import { playgroundAccess, type PlatformContext, type PlatformGateway, type PlatformModule } from '../platforms/index.js';
import type { BearerCheck, Logger, ReadinessCheck } from '../ports/index.js';
import type { Started } from './stages.js';

/** What the intake stage uses. */
export interface IntakeDeps {
  readonly config: Config;
  readonly role: Role;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly platforms: readonly PlatformModule[];
  readonly context: PlatformContext;
  /** The queue gateways enqueue on; undefined in a worker-only process, which starts no gateway. */
  readonly queue: ManagedJobQueue | undefined;
  readonly checks: ReadinessCheck[];
}

/** The listeners the intake stage started. */
export interface Listeners {
  readonly http: RunningHttpServer;
  readonly metricsHttp: RunningHttpServer | undefined;
}

/** Starts the intake stage and logs the process's ready line. */
export async function startIntake(deps: IntakeDeps): Promise<Started<Listeners>> {
  const { config, role, log, metrics, platforms, context, queue, checks } = deps;
  const gateways: PlatformGateway[] = [];
  const closeAdapters = async (): Promise<void> => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
  };
  let http: RunningHttpServer | undefined;
  let metricsHttp: RunningHttpServer | undefined;
  const metricsPlace = metricsPlacement(config.http);
  try {
    if (queue) {
      for (const platform of platforms) {
        gateways.push(await platform.startGateway({ ...context, queue }));
        log.info({ platform: platform.platform }, 'platform started');
      }
    }
    const routes: RouteHandler[] = gateways.flatMap((gateway) => gateway.routes);
    const metricsAccess = metricsPlace.access === undefined ? {} : { metricsAccess: metricsPlace.access };
    http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      checks,
      routes,
      log,
      ...(metricsPlace.onMain ? { metrics, ...metricsAccess } : {}),
    });
    if (metricsPlace.listener) {
      metricsHttp = await startHttpServer({ ...metricsPlace.listener, checks, routes: [], log, metrics, ...metricsAccess });
    }
  } catch (error) {
    // Whatever of it started is stopped; the stages before it stop after this throws.
    await http?.close();
    await closeAdapters();
    throw error;
  }
  const listening = { role, url: http.url, bound: http.bound };
  if (role !== 'worker') log.info(listening, startSentence(config, http.bound));
  else log.info(listening, 'worker ready');
  if (metricsHttp) {
    log.info({ bound: metricsHttp.bound }, `/metrics is served on ${metricsHttp.bound} only${metricsPlace.access ? ', for METRICS_TOKEN' : ''}`);
  } else if (!metricsPlace.onMain) {
    log.warn({ bound: http.bound }, `/metrics is off on ${http.bound}: HOST is not a loopback address, and neither METRICS_TOKEN nor METRICS_PORT is set`);
  }
  const running = http;

  return {
    value: { http, metricsHttp },
    async stop() {
      await closeAdapters();
      await running.close();
      await metricsHttp?.close();
    },
  };
}

/**
 * Where /metrics is served and who may read it (issue #17): on METRICS_PORT's listener
 * alone when that is set; else on PORT, where METRICS_TOKEN, when set, is required, and
 * required at all on an exposed HOST (without it /metrics is not found there).
 */
function metricsPlacement(http: Config['http']): {
  readonly onMain: boolean;
  readonly listener: { readonly host: string; readonly port: number } | undefined;
  readonly access: BearerCheck | undefined;
} {
  const access = http.metricsToken === undefined ? undefined : createBearerCheck(http.metricsToken);
  const listener = http.metricsListener;
  return { onMain: listener === undefined && (access !== undefined || !http.exposed), listener, access };
}

/** The gateway's ready line: where it is bound, and whether and how the playground is there. */
function startSentence(config: Config, bound: string): string {
  const where = /\/\/(0\.0\.0\.0|\[::\]):/.test(bound) ? `${bound} (every address of this machine)` : bound;
  const access = playgroundAccess(config);
  // `playground at <url>` is the ready line scripts wait for (test/support/worker-process.ts).
  if (access.mode === 'open') return `playground at ${bound}`;
  if (access.mode === 'token') return `listening on ${where}; the playground asks for PLAYGROUND_TOKEN`;
  return `listening on ${where}; the playground is off because HOST is not a loopback address and PLAYGROUND_TOKEN is not set`;
}
