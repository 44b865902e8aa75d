/**
 * OpenTelemetry tracing (issue #16): one trace per message, from the platform event at the
 * gateway through the queue to the worker's AI request, platform writes and history.
 * Off unless configured; then nothing of the SDK is loaded.
 */
export { startTracing, TRACING_OFF, type DiagnosticsLevel, type Tracing, type TracingSettings, type StartTracingOptions } from './start.js';
export { createTracer, NO_TRACER } from './tracer.js';
export { tracedOutbox } from './outbox.js';
export { tracedHistory } from './history.js';
export { traceJobRun, traceTurn, type JobRunFacts } from './job-run.js';
export { failSpan, inSpan, noteOnCurrentSpan, startSpan, traceFieldsOfLogLine, traceIdOfMetadata, tracingOn, TRACER_NAME } from './spans.js';
