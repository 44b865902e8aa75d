/**
 * Jobs: what adapters enqueue and what a handler is given.
 * One area of src/ports; index.ts re-exports every port.
 */
import type { JobKind, JobPayload, JobResult } from '../domain/jobs.js';
import type { Logger } from './log.js';
import type { Outboxes } from './outbox.js';

/** Options for enqueueing one job. */
export interface EnqueueOptions {
  /** Deterministic id from the platform message (src/domain jobIdFor). */
  readonly jobId: string;
}

/** Puts jobs on the queue; what adapters use. */
export interface JobQueue {
  /**
   * Enqueues a job once: a second call with the same job id is a no-op that reports
   * `duplicate: true`. Rejects fast when Redis is unreachable.
   */
  enqueue<K extends JobKind>(
    kind: K,
    payload: JobPayload<K>,
    options: EnqueueOptions,
  ): Promise<{ readonly jobId: string; readonly duplicate: boolean }>;
}

/** What a handler knows about the attempt it runs in; never a BullMQ Job. */
export interface JobContext {
  readonly jobId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /**
   * True when no earlier run of this job can have started: not a retry, not taken over
   * from a stalled worker. Nothing of it can have been sent before. Absent: unknown.
   */
  readonly firstRun?: boolean;
  /** Aborted when the process is shutting down and the grace period is over. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * False once this process lost the job's lock: another worker may be running it now,
   * and this run must send nothing more. Absent: always true.
   */
  readonly owned?: () => boolean;
  /**
   * The Outboxes this run replies through: the run's own, whose sends its reply ledger
   * records (src/workers/reply-ledger.ts). Absent (a test, no ledger): the worker's own.
   */
  readonly outboxes?: Outboxes;
}

/** A job kind's handler: a plain function of payload and context. */
export type JobHandler<K extends JobKind> = (payload: JobPayload<K>, context: JobContext) => Promise<JobResult<K>>;
