/**
 * The tracing port: what an adapter needs to open the span of one platform event, so a
 * message's trace starts where it entered (issue #16). The span is current for everything
 * the work starts: the enqueue, and through the job the worker's run, join its trace.
 * src/infra/tracing implements it on OpenTelemetry; without tracing it is a no-op that
 * costs a function call.
 * https://opentelemetry.io/docs/concepts/signals/traces/
 */

/**
 * A span's attribute values: platform ids, counts, kinds and outcomes. Never a message's
 * text, a user's name, a token or a key: traces leave the service.
 */
export type TraceValue = string | number | boolean;

/** The span a piece of work runs in. */
export interface TraceSpan {
  /** Sets one attribute (one call each: nothing is built when tracing is off). */
  setAttribute(key: string, value: TraceValue): unknown;
}

/** Opens spans. */
export interface Tracer {
  /**
   * Runs `work` in a new span named `name`, a child of the current one (a root when there
   * is none), current for all `work` starts; ends it when `work` settles, marked failed
   * (with the error's class, never its message) when it throws.
   */
  inSpan<T>(name: string, work: (span: TraceSpan) => Promise<T>): Promise<T>;
}
