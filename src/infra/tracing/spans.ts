/**
 * The spans of the service's own code, on the OpenTelemetry API (issue #16). Tracing is
 * off until startTracing (start.ts) switches it on: until then every helper here returns
 * at its first line, so a process without tracing builds no span, no attribute and no
 * context per message. Attributes hold platform ids, counts, models and outcomes only;
 * a failure is recorded by its class, never its message (messages may quote what a
 * server said back).
 * https://opentelemetry.io/docs/specs/otel/trace/api/
 */
import { context, SpanStatusCode, trace, type Attributes, type Context, type Span, type TimeInput, type Tracer } from '@opentelemetry/api';
import { ERROR_CODES, errorCodeOf } from '../../domain/errors.js';

/** The instrumentation scope of our spans. */
export const TRACER_NAME = 'switchboard';
/** The fields a log line written inside a span carries (the OpenTelemetry log data model's names). */
const TRACE_ID_FIELD = 'trace_id';
const SPAN_ID_FIELD = 'span_id';
const TRACE_FLAGS_FIELD = 'trace_flags';
/** `traceparent`: version, trace id, parent id, flags. https://www.w3.org/TR/trace-context/#traceparent-header */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

let on = false;
let tracer: Tracer | undefined;

/** Called once by startTracing when the SDK is running. */
export function switchTracingOn(): void {
  tracer = trace.getTracer(TRACER_NAME);
  on = true;
}

/** Whether this process records spans. */
export function tracingOn(): boolean {
  return on;
}

/** Options of a span: a start time in the past, or a parent other than the current span. */
export interface SpanOptions {
  readonly startTime?: TimeInput;
  readonly parent?: Context;
}

/** Starts a span, a child of the current one (not made current), or nothing when tracing is off. */
export function startSpan(name: string, attributes?: Attributes, options?: SpanOptions): Span | undefined {
  if (tracer === undefined) return undefined;
  const startTime = options?.startTime;
  return tracer.startSpan(name, startTime === undefined ? { attributes } : { attributes, startTime }, options?.parent);
}

/**
 * Runs `work` in a span current for everything it starts, ended when `work` settles and
 * marked failed when it throws; without tracing, `work` runs with no span.
 */
export async function inSpan<T>(name: string, attributes: Attributes | undefined, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  const span = startSpan(name, attributes);
  if (span === undefined) return work(undefined);
  try {
    return await context.with(trace.setSpan(context.active(), span), () => work(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Marks a span failed: its status, `error.type` the error's class, the HTTP status a
 * platform or the AI endpoint answered with, and the service's error code of an AI
 * failure. Never the message or the stack.
 * https://opentelemetry.io/docs/specs/semconv/registry/attributes/error/
 */
export function failSpan(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
  const code = errorCodeOf(error);
  if (code !== ERROR_CODES.INTERNAL) span.setAttribute('switchboard.error.code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** Sets an attribute on the current span, if tracing is on and there is one. */
export function noteOnCurrentSpan(key: string, value: string | number | boolean): void {
  if (on) trace.getActiveSpan()?.setAttribute(key, value);
}

/**
 * pino's mixin: the trace and span ids of the span a log line is written in, so a log
 * line leads to its trace. Outside a span, nothing.
 * https://getpino.io/#/docs/api?id=mixin-function
 */
export function traceFieldsOfLogLine(): object {
  const span = trace.getActiveSpan();
  // A new object each time: pino merges the line's own fields into what this returns.
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { [TRACE_ID_FIELD]: traceId, [SPAN_ID_FIELD]: spanId, [TRACE_FLAGS_FIELD]: `0${traceFlags.toString(16)}`.slice(-2) };
}

/**
 * The trace id in a job's propagation metadata (BullMQ's `opts.telemetry.metadata`, as
 * bullmq-otel writes it: the W3C headers as JSON), or undefined when it has none.
 */
export function traceIdOfMetadata(metadata: unknown): string | undefined {
  if (typeof metadata !== 'string') return undefined;
  try {
    const carrier = JSON.parse(metadata) as { traceparent?: unknown } | null;
    const traceparent = carrier?.traceparent;
    return typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  } catch {
    return undefined;
  }
}
