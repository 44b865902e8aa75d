/**
 * The producer side: the JobQueue port on BullMQ. This module and workers.ts are the
 * only places that create BullMQ queues and workers (ARCHITECTURE.md).
 * https://docs.bullmq.io/guide/jobs/job-ids
 */
import type { Queue, Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_KINDS, type JobKind, type JobPayload } from '../../domain/jobs.js';
import type { JobQueue } from '../../ports/index.js';
import type { IntakeMetrics } from '../metrics/index.js';
import { inSpan, tracingOn } from '../tracing/index.js';
import type { RedisKeys } from '../redis/keys.js';
import { readDepth, type JobDepth } from './depth.js';
import { createIntakeOrder } from './ordering.js';
import { createQueueSet } from './queue-set.js';

/** First retry after this long, doubling each attempt. */
const BACKOFF_DELAY_MS = 1_000;
/** Finished jobs kept for inspection; the dedupe records outlive them. */
const KEEP_COMPLETED = { age: 3600, count: 1000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 };

/** What a BullMQ job carries: the handler's plain payload and its ordering ticket. */
export interface JobEnvelope<K extends JobKind = JobKind> {
  readonly payload: JobPayload<K>;
  readonly ticket: number;
  /** Set when no earlier message of the conversation was unfinished at intake: its turn has come already. */
  readonly runnable?: true;
}

export { queueNameOf } from './queue-set.js';

export interface JobQueueOptions {
  /** A fail-fast producer connection (src/infra/redis/connection.ts). */
  readonly connection: Redis;
  readonly keys: RedisKeys;
  readonly attempts: number;
  readonly metrics?: IntakeMetrics;
  /** BullMQ's telemetry (tracing on): the job carries the enqueue's trace to the worker. */
  readonly telemetry?: Telemetry | undefined;
}

/** A JobQueue plus what the composition root needs to manage it. */
export interface ManagedJobQueue extends JobQueue {
  /** Waiting + delayed + active jobs per kind. */
  counts(): Promise<Record<JobKind, number>>;
  /** Jobs per kind and state (waiting, delayed, active, failed), for metrics. */
  depth(): Promise<JobDepth>;
  close(): Promise<void>;
}

/** Creates the producer. Queues are opened lazily, one per job kind. */
export function createJobQueue(options: JobQueueOptions): ManagedJobQueue {
  // The message's place in its conversation: claimed before its job is added, confirmed after (ordering.ts).
  const order = createIntakeOrder(options.connection, options.keys);
  const queues = createQueueSet(options.connection, options.keys, options.telemetry);
  const queueFor = (kind: JobKind): Queue => queues.get(kind);
  const add: JobQueue['enqueue'] = async (kind, payload, { jobId }) => {
    const acceptance = await order.claim(payload.conversation, jobId);
    const { ticket, alreadyAdded } = acceptance;
    if (alreadyAdded || acceptance.beingAdded) {
      options.metrics?.jobEnqueued(kind, true);
      return { jobId, duplicate: true };
    }
    const envelope: JobEnvelope = acceptance.runnable ? { payload, ticket, runnable: true } : { payload, ticket };
    let job;
    try {
      job = await queueFor(kind).add(kind, envelope, {
        jobId,
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: BACKOFF_DELAY_MS },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      });
    } catch (error) {
      // Best effort (Redis may be the reason): the caller retries, and takes the claim over.
      await order.release(payload.conversation, jobId, ticket);
      throw error;
    }
    order.confirmAdded(payload.conversation, jobId, ticket);
    options.metrics?.jobEnqueued(kind, false);
    return { jobId: job.id ?? jobId, duplicate: false };
  };

  return {
    // Traced, the enqueue is a span of the platform event's trace, and BullMQ's `add` under it.
    enqueue: (kind, payload, enqueueOptions) =>
      tracingOn()
        ? inSpan(`enqueue ${kind}`, { 'switchboard.job.kind': kind, 'switchboard.job.id': enqueueOptions.jobId }, async (span) => {
            const outcome = await add(kind, payload, enqueueOptions);
            span?.setAttribute('switchboard.job.duplicate', outcome.duplicate);
            return outcome;
          })
        : add(kind, payload, enqueueOptions),
    async counts() {
      const result = {} as Record<JobKind, number>;
      for (const kind of JOB_KINDS) {
        const counts = await queueFor(kind).getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        result[kind] = Object.values(counts).reduce((sum, n) => sum + n, 0);
      }
      return result;
    },
    depth: () => readDepth(queueFor),
    async close() {
      await order.close();
      await queues.close();
    },
  };
}
