/**
 * BullMQ Queue objects by job kind, opened on first use on one connection, closed
 * together. The producer and the operator view each keep one set.
 */
import { Queue, type Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobKind } from '../../domain/jobs.js';
import type { RedisKeys } from '../redis/keys.js';

/** The BullMQ queue name of a job kind. */
export function queueNameOf(kind: JobKind): string {
  return kind;
}

export interface QueueSet {
  /** The kind's queue, opened now if it was not yet. */
  get(kind: JobKind): Queue;
  /** Closes the queues opened so far (the connection stays open: it is shared). */
  close(): Promise<void>;
}

/** Opens queues on `connection`; with `telemetry` (tracing on), each job added carries its trace (src/infra/tracing). */
export function createQueueSet(connection: Redis, keys: Pick<RedisKeys, 'prefix'>, telemetry?: Telemetry): QueueSet {
  const queues = new Map<JobKind, Queue>();
  return {
    get(kind) {
      let queue = queues.get(kind);
      if (!queue) {
        queue = new Queue(queueNameOf(kind), { connection, prefix: keys.prefix, ...(telemetry ? { telemetry } : {}) });
        queues.set(kind, queue);
      }
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
    },
  };
}
