/**
 * The Tracer port (src/ports/tracing.ts) on the OpenTelemetry API, and its no-op twin for
 * a process without tracing.
 */
import type { Tracer, TraceSpan } from '../../ports/index.js';
import { inSpan } from './spans.js';

const NO_SPAN: TraceSpan = Object.freeze({ setAttribute: () => undefined });

/** Runs the work and nothing else: tracing is off. */
export const NO_TRACER: Tracer = Object.freeze({
  inSpan: <T>(_name: string, work: (span: TraceSpan) => Promise<T>): Promise<T> => work(NO_SPAN),
});

/** A Tracer whose spans go to the SDK startTracing started. */
export function createTracer(): Tracer {
  return {
    inSpan: (name, work) => inSpan(name, undefined, (span) => work(span ?? NO_SPAN)),
  };
}
