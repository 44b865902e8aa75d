/**
 * Starting OpenTelemetry tracing in a process, when the configuration asks for it
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER;
 * see src/config.ts). Only then are @opentelemetry/sdk-node, its OTLP exporters and
 * bullmq-otel loaded, by dynamic import: a process without tracing loads the API alone,
 * whose spans are no-ops, and the service's own helpers (spans.ts) return before making one.
 *
 * The SDK reads the standard variables itself (the exporter and its protocol, endpoint,
 * headers, timeout and compression; the sampler, propagators, resource attributes and
 * batch settings): https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * We set the service name when OTEL_SERVICE_NAME does not (`switchboard-<role>`), export
 * traces only (metrics are /metrics' and logs stdout's), and write the SDK's own
 * diagnostics (a collector that cannot be reached) as service log lines.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { Telemetry } from 'bullmq';
import type { Logger, Tracer } from '../../ports/index.js';
import { settleWithin } from '../settle-within.js';
import { createQueueTelemetry } from './queue-telemetry.js';
import { switchTracingOn } from './spans.js';
import { createTracer, NO_TRACER } from './tracer.js';

/** How long stopping waits for the last spans to reach the collector. */
const FLUSH_LIMIT_MS = 5_000;

/** OTEL_LOG_LEVEL's values (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration). */
export type DiagnosticsLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
const DIAG_LEVELS: Readonly<Record<DiagnosticsLevel, DiagLogLevel>> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** What the configuration says about tracing (Config['tracing']). */
export interface TracingSettings {
  readonly enabled: boolean;
  /** OTEL_SERVICE_NAME (or `service.name` in OTEL_RESOURCE_ATTRIBUTES); unset: `switchboard-<role>`. */
  readonly serviceName: string | undefined;
  /** OTEL_LOG_LEVEL: the SDK's own diagnostics written as log lines; `warn` by default. */
  readonly diagnostics: DiagnosticsLevel;
}

/** Tracing in this process, on or off. */
export interface Tracing {
  readonly enabled: boolean;
  /** The port adapters open a platform event's span with. */
  readonly tracer: Tracer;
  /** BullMQ's `telemetry` option for every Queue and Worker; undefined when off. */
  readonly queueTelemetry: Telemetry | undefined;
  /** Exports the spans still buffered (waiting up to FLUSH_LIMIT_MS) and stops the SDK. */
  stop(): Promise<void>;
}

/** A process without tracing. */
export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  tracer: NO_TRACER,
  queueTelemetry: undefined,
  stop: async () => undefined,
});

export interface StartTracingOptions {
  /** The process's role, for the default service name. */
  readonly role: string;
  readonly log: Logger;
  /** Scrubs secrets from what BullMQ writes into spans (a failed job's reason). */
  readonly scrub: (text: string) => string;
}

/** Starts the SDK when `settings.enabled`; otherwise returns TRACING_OFF having loaded nothing. */
export async function startTracing(settings: TracingSettings, options: StartTracingOptions): Promise<Tracing> {
  if (!settings.enabled) return TRACING_OFF;
  const [{ NodeSDK }, queueTelemetry] = await Promise.all([import('@opentelemetry/sdk-node'), createQueueTelemetry(options.scrub)]);
  const sdk = new NodeSDK({
    ...(settings.serviceName === undefined ? { serviceName: `switchboard-${options.role}` } : {}),
    metricReaders: [],
    logRecordProcessors: [],
  });
  // After the SDK's constructor, which installs a console logger of its own for OTEL_LOG_LEVEL.
  diag.setLogger(diagnosticsTo(options.log), { logLevel: DIAG_LEVELS[settings.diagnostics], suppressOverrideMessage: true });
  sdk.start();
  switchTracingOn();
  return {
    enabled: true,
    tracer: createTracer(),
    queueTelemetry,
    stop: () => settleWithin(sdk.shutdown(), FLUSH_LIMIT_MS, undefined),
  };
}

/** The SDK's diagnostics as service log lines (scrubbed like every line). */
function diagnosticsTo(log: Logger): DiagLogger {
  const line = (write: (fields: object, message: string) => void) => (message: string, ...args: unknown[]) =>
    write(args.length === 0 ? {} : { detail: args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg))) }, `opentelemetry: ${message}`);
  return {
    error: line((fields, message) => log.error(fields, message)),
    warn: line((fields, message) => log.warn(fields, message)),
    info: line((fields, message) => log.info(fields, message)),
    debug: line((fields, message) => log.debug(fields, message)),
    verbose: line((fields, message) => log.debug(fields, message)),
  };
}
