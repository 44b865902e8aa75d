/**
 * prom-client's default metrics (CPU, memory, event loop lag, GC, handles): facts about
 * the process, so one registry per process holds them, created on first use. Collecting
 * them per app instance would leave an event-loop monitor and a GC observer behind for
 * every app a test starts. Their names are the standard ones (`process_*`, `nodejs_*`),
 * unprefixed, so stock Node.js dashboards work.
 * https://github.com/siimon/prom-client#default-metrics
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/** The process's registry of default metrics (never prom-client's global one). */
export function processRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
