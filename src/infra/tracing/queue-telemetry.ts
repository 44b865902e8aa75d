/**
 * BullMQ's `telemetry` option on bullmq-otel, which carries a message's trace through its
 * job: the producer's `add` span is written into the job (`opts.telemetry.metadata`, the
 * W3C `traceparent`), and every run of the job, on any worker, is a `process` span under
 * it, retries and a crashed worker's job taken over included.
 * https://docs.bullmq.io/guide/telemetry
 *
 * Two things on top of bullmq-otel: BullMQ's housekeeping (the stalled-job check every few
 * seconds, fetching, closing) would start a trace of its own each time, so those spans are
 * not recorded unless they belong to a job's trace; and what BullMQ writes into spans
 * (a failed job's reason, an exception) is scrubbed of the configured secrets and cut
 * short, without stack traces: what the operator view shows of a failure.
 */
import { context, isSpanContextValid, trace, type Context } from '@opentelemetry/api';
import type { Attributes, AttributeValue, Exception, Span as QueueSpan, SpanOptions as QueueSpanOptions, Telemetry, Time } from 'bullmq';

/** The instrumentation scope of BullMQ's spans. */
const QUEUE_TRACER_NAME = 'switchboard-bullmq';
/** BullMQ operations that are the queue's own upkeep, not a message's (the first word of the span name). */
const HOUSEKEEPING: ReadonlySet<string> = new Set([
  'moveStalledJobsToWait',
  'startStalledCheckTimer',
  'close',
  'pause',
  'resume',
  'rateLimit',
]);

/** A text BullMQ writes (a failed job's reason) is cut here, as the operator view cuts it. */
const MAX_TEXT_CHARS = 300;
/** Traced after the job was fetched, so it measures nothing; its job's `process` span says the same. */
const NOT_RECORDED = 'getNextJob';

/** A span BullMQ may use that records nothing and leaves the context as it was. */
const UNRECORDED: QueueSpan<Context> = Object.freeze({
  setSpanOnContext: (ctx: Context) => ctx,
  setAttribute: () => undefined,
  setAttributes: () => undefined,
  addEvent: () => undefined,
  recordException: () => undefined,
  end: () => undefined,
});

/** Creates the telemetry option of every BullMQ Queue and Worker of a traced process. */
export async function createQueueTelemetry(scrub: (text: string) => string): Promise<Telemetry<Context>> {
  const { BullMQOtel } = await import('bullmq-otel');
  const otel = new BullMQOtel(QUEUE_TRACER_NAME);
  const clean = (value: AttributeValue | undefined): AttributeValue | undefined => (typeof value === 'string' ? cut(scrub(value)) : value);
  const cleanAll = (attributes: Attributes | undefined): Attributes | undefined =>
    attributes === undefined ? undefined : Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, clean(value)]));

  /** bullmq-otel's span, with every string scrubbed on its way in. */
  const scrubbed = (inner: QueueSpan<Context>): QueueSpan<Context> => ({
    setSpanOnContext: (ctx) => inner.setSpanOnContext(ctx),
    setAttribute: (key, value) => inner.setAttribute(key, clean(value) ?? ''),
    setAttributes: (attributes) => inner.setAttributes(cleanAll(attributes) ?? {}),
    addEvent: (name, attributes) => inner.addEvent(name, cleanAll(attributes)),
    recordException: (exception: Exception, time?: Time) => inner.recordException(withoutStack(exception, scrub), time),
    end: () => inner.end(),
  });

  return {
    contextManager: otel.contextManager,
    tracer: {
      startSpan(name: string, options?: QueueSpanOptions, ctx?: Context): QueueSpan<Context> {
        const operation = name.split(' ', 1)[0] ?? name;
        if (operation === NOT_RECORDED) return UNRECORDED;
        if (HOUSEKEEPING.has(operation)) {
          const parent = trace.getSpanContext(ctx ?? context.active());
          if (parent === undefined || !isSpanContextValid(parent)) return UNRECORDED;
        }
        return scrubbed(otel.tracer.startSpan(name, options, ctx));
      },
    },
  };
}

/** An exception as a span may carry it: its class and scrubbed message, no stack. */
function withoutStack(exception: Exception, scrub: (text: string) => string): Exception {
  if (typeof exception === 'string') return cut(scrub(exception));
  return { name: exception.name ?? 'Error', message: cut(scrub(exception.message ?? '')) };
}

function cut(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS - 1)}…`;
}
