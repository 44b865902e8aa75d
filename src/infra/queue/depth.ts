/**
 * Queue depth per job kind and state, read from BullMQ's counters, for the
 * `switchboard_queue_jobs` gauge.
 * https://api.docs.bullmq.io/classes/v5.Queue.html#getjobcounts
 */
import type { Queue } from 'bullmq';
import { JOB_KINDS, type JobKind } from '../../domain/jobs.js';

/** The states reported. BullMQ keeps jobs with a priority in `prioritized`; they are waiting too. */
export type DepthState = 'waiting' | 'delayed' | 'active' | 'failed';

/** Jobs per kind and state. */
export type JobDepth = Record<JobKind, Record<DepthState, number>>;

/** Reads the counts of every kind's queue. */
export async function readDepth(queueFor: (kind: JobKind) => Queue): Promise<JobDepth> {
  const entries = await Promise.all(
    JOB_KINDS.map(async (kind) => {
      const c = await queueFor(kind).getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
      const depth: Record<DepthState, number> = {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        delayed: c.delayed ?? 0,
        active: c.active ?? 0,
        failed: c.failed ?? 0,
      };
      return [kind, depth] as const;
    }),
  );
  return Object.fromEntries(entries) as JobDepth;
}
