/**
 * The command-line entry: `npm start [-- --role all|gateway|worker]`.
 * Loads .env (here and nowhere else), parses the configuration, logs readable lines on a
 * terminal and JSON lines anywhere else, starts tracing when it is configured (the SDK is
 * the process's, so it starts here), starts the app, and stops it cleanly on
 * SIGTERM/SIGINT: intake first, then in-flight jobs (bounded by SHUTDOWN_TIMEOUT_MS), then
 * connections and the embedded Redis, then the last spans.
 */
import 'dotenv/config';
import { performance } from 'node:perf_hooks';
import { startApp } from './app.js';
import { ConfigError, parseConfig, parseRole, type Config, type Role } from './config.js';
import { createLogger, createScrubber } from './infra/log/logger.js';
import { createPrettyDestination, isTerminal } from './infra/log/pretty.js';
import { startTracing, type Tracing } from './infra/tracing/index.js';

/**
 * Signals this close together count as one. A terminal's Ctrl-C reaches every process of
 * `npm start` at once, and npm and the bootstrap each pass it on to this one as well: three
 * SIGINTs within milliseconds, which would otherwise read as "second signal: exit now" and
 * skip the drain. A person's second Ctrl-C comes later.
 */
const SAME_SIGNAL_MS = 500;

async function main(): Promise<void> {
  let config: Config;
  let role: Role;
  try {
    config = parseConfig(process.env);
    role = parseRole(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(2);
    }
    throw error;
  }

  // Readable lines for a person at a terminal; JSON lines for everything else (pipes, files, Docker).
  const destination = isTerminal() ? await createPrettyDestination() : undefined;
  const log = createLogger({ level: config.log.level, secrets: config.secrets, traceIds: config.tracing.enabled, destination });
  let tracing: Tracing;
  try {
    tracing = await startTracing(config.tracing, { role, log, scrub: createScrubber(config.secrets) });
  } catch (error) {
    log.fatal({ err: error }, 'could not start tracing (OTEL_* variables)');
    process.exitCode = 1;
    return;
  }
  const app = await startApp(config, { role, log, tracing }).catch(async (error: unknown) => {
    log.fatal({ err: error }, 'could not start');
    process.exitCode = 1;
    await tracing.stop();
    return undefined;
  });
  if (!app) return;

  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (firstSignalAt !== undefined) {
      // The same Ctrl-C, passed on by npm and scripts/bootstrap.mjs: not a second one.
      if (now - firstSignalAt < SAME_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = now;
    log.info({ signal }, 'shutting down');
    app.stop().then(
      () => tracing.stop().then(() => process.exit(0)),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A closed terminal: drain and stop the embedded Redis (in its own group, it hears no hangup).
  process.on('SIGHUP', onSignal);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}

void main();
