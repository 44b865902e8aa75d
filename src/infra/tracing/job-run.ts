/**
 * What a job's run adds to its trace, on the worker (issue #16). BullMQ's `process` span
 * (queue-telemetry.ts) is current while the handler runs; this names the run in it (kind,
 * attempt, how often the job stalled: a run after a crashed worker's), records how long
 * the job waited in the queue as a span beside it, and times the ordering check of a job
 * that had to ask for its turn.
 */
import { propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { inSpan, startSpan, tracingOn } from './spans.js';

/** What a run's span is told about its job (BullMQ's Job has these). */
export interface JobRunFacts {
  readonly timestamp: number;
  readonly processedOn?: number | undefined;
  readonly attemptsMade: number;
  readonly attemptsStarted: number;
  readonly stalledCounter: number;
  readonly opts: { readonly telemetry?: { readonly metadata?: string | undefined } | undefined };
}

/**
 * Names the current run in its `process` span and, on the job's first run, records its
 * wait from the enqueue to this run as a `queue wait` span under the enqueue's span.
 */
export function traceJobRun(job: JobRunFacts, attempt: number, where: { readonly platform?: string; readonly channel?: string }): void {
  if (!tracingOn()) return;
  const run = trace.getActiveSpan();
  run?.setAttribute('switchboard.job.attempt', attempt);
  run?.setAttribute('switchboard.job.runs_started', job.attemptsStarted);
  run?.setAttribute('switchboard.job.stalled', job.stalledCounter);
  if (where.platform !== undefined) run?.setAttribute('switchboard.platform', where.platform);
  if (where.channel !== undefined) run?.setAttribute('switchboard.chat.id', where.channel);
  // A retry or a crashed run's rerun waited for other reasons; their BullMQ spans say so.
  if (job.attemptsMade > 0 || job.stalledCounter > 0 || job.processedOn === undefined) return;
  startSpan('queue wait', undefined, { startTime: job.timestamp, parent: enqueueContextOf(job.opts.telemetry?.metadata) })?.end(job.processedOn);
}

/** Runs a job's ordering check as an `ordering` span saying whether its turn had come. */
export function traceTurn(ticket: number, check: () => Promise<boolean>): Promise<boolean> {
  return inSpan('ordering', { 'switchboard.ordering.ticket': ticket }, async (span) => {
    const mayRun = await check();
    span?.setAttribute('switchboard.ordering.may_run', mayRun);
    return mayRun;
  });
}

/** The context of the span that added the job, from its propagation metadata; the current one without it. */
function enqueueContextOf(metadata: string | undefined): Context | undefined {
  if (metadata === undefined) return undefined;
  try {
    return propagation.extract(ROOT_CONTEXT, JSON.parse(metadata) as Record<string, string>);
  } catch {
    return undefined;
  }
}
