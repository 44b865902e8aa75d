/**
 * What operators see: metrics of platform calls and the queue's state (/admin).
 * One area of src/ports; index.ts re-exports every port.
 */
import type { Platform } from '../domain/inbound-message.js';
import type { JobKind } from '../domain/jobs.js';

/** Counts failed platform API calls (metrics). `status`: the HTTP status (429: rate limited) or a word such as `network`. */
export interface PlatformMetrics {
  platformError(platform: Platform, status: number | string): void;
}

/** One job kind's queue as the operator view shows it: jobs by state, and the workers taking it. */
export interface QueueSnapshot {
  /** Waiting to run (BullMQ's `wait` and `prioritized`). */
  readonly waiting: number;
  readonly active: number;
  /** Waiting for a retry's backoff or for their turn in the conversation. */
  readonly delayed: number;
  /** Failed for good, kept for a week. */
  readonly failed: number;
  /** Kept for an hour. */
  readonly completed: number;
  /** BullMQ workers connected for this kind, across every process. */
  readonly workers: number;
}

/** A job that failed for good. Never the message's text; `reason` is cut short and scrubbed of secrets. */
export interface FailedJobSummary {
  readonly id: string;
  readonly kind: JobKind;
  /** Where the message came from (from the payload), when the payload says. */
  readonly platform?: Platform;
  readonly channel?: string;
  /** The last attempt's error message (BullMQ `failedReason`). */
  readonly reason: string;
  readonly attemptsMade: number;
  /** When it failed for good, ms since the epoch. */
  readonly failedAt: number;
  /** The id of the trace its message's spans are in (issue #16), when it was traced. */
  readonly traceId?: string;
}

/** What the operator view at /admin shows, read from Redis. */
export interface OpsSnapshot {
  /** When it was read, ms since the epoch. */
  readonly takenAt: number;
  readonly queues: Readonly<Record<JobKind, QueueSnapshot>>;
  /** Worker processes connected (each runs one worker per kind). */
  readonly processes: number;
  /** The most recent failures of every kind, newest first. */
  readonly failures: readonly FailedJobSummary[];
}

/** Read-only queries of the queue's state, for operators. Rejects when Redis is unreachable. */
export interface Operations {
  snapshot(): Promise<OpsSnapshot>;
}
