/**
 * The Operations port on BullMQ: read-only queries of every job kind's queue for the
 * operator view (/admin): jobs by state, the workers connected, and the latest jobs that
 * failed for good with their reason. It only reads Redis, so a gateway-only process
 * serves it as well as one that runs workers.
 * https://api.docs.bullmq.io/classes/v5.Queue.html#getjobcounts
 * https://api.docs.bullmq.io/classes/v5.Queue.html#getworkers
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_KINDS, type JobKind } from '../../domain/jobs.js';
import type { Platform } from '../../domain/inbound-message.js';
import type { FailedJobSummary, Operations, OpsSnapshot, QueueSnapshot } from '../../ports/index.js';
import { createScrubber } from '../log/logger.js';
import { traceIdOfMetadata } from '../tracing/index.js';
import type { RedisKeys } from '../redis/keys.js';
import { createQueueSet } from './queue-set.js';

/** How many failed jobs the snapshot lists, newest first, over every kind. */
export const RECENT_FAILURES = 20;
/** A failure reason is cut to this many characters: enough to tell what failed, never a whole payload. */
export const MAX_REASON_CHARS = 300;
const PLATFORMS: ReadonlySet<string> = new Set<Platform>(['web', 'telegram', 'discord']);
/** BullMQ names a worker's blocking connection `<queue client name>:w:<worker name>` when the worker has a name. */
const WORKER_NAME_MARK = ':w:';

export interface QueueOperationsOptions {
  /** Preferably the fail-fast producer connection: an operator's refresh must not wait out a Redis outage. */
  readonly connection: Redis;
  readonly keys: Pick<RedisKeys, 'prefix'>;
  /** Values scrubbed from failure reasons, should one ever carry them (config.secrets). */
  readonly secrets: readonly string[];
}

/** Operations plus closing its queues (the connection stays open: it is shared). */
export interface QueueOperations extends Operations {
  close(): Promise<void>;
}

/** Creates the queries; queues are opened on the first snapshot, so an unused one costs nothing. */
export function createQueueOperations(options: QueueOperationsOptions): QueueOperations {
  const scrub = createScrubber(options.secrets);
  const queues = createQueueSet(options.connection, options.keys);
  const queueFor = (kind: JobKind): Queue => queues.get(kind);

  const readKind = async (kind: JobKind) => {
    const queue = queueFor(kind);
    const [counts, workers, failed] = await Promise.all([
      queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
      queue.getWorkers(),
      // BullMQ keeps failed jobs sorted by when they finished; newest first.
      queue.getJobs(['failed'], 0, RECENT_FAILURES - 1, false),
    ]);
    const snapshot: QueueSnapshot = {
      waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
      active: counts['active'] ?? 0,
      delayed: counts['delayed'] ?? 0,
      failed: counts['failed'] ?? 0,
      completed: counts['completed'] ?? 0,
      workers: workers.length,
    };
    const workerNames = workers.map((worker) => String(worker['rawname'] ?? ''));
    const failures = failed.filter((job): job is Job => job !== undefined).map((job) => summarize(kind, job, scrub));
    return { kind, snapshot, workerNames, failures };
  };

  return {
    async snapshot(): Promise<OpsSnapshot> {
      const kinds = await Promise.all(JOB_KINDS.map(readKind));
      return {
        takenAt: Date.now(),
        queues: Object.fromEntries(kinds.map(({ kind, snapshot }) => [kind, snapshot])) as Record<JobKind, QueueSnapshot>,
        processes: countProcesses(kinds.map(({ workerNames }) => workerNames)),
        failures: kinds
          .flatMap(({ failures }) => failures)
          .sort((a, b) => b.failedAt - a.failedAt)
          .slice(0, RECENT_FAILURES),
      };
    },
    async close() {
      await queues.close();
    },
  };
}

/**
 * What the operator sees of a failed job: where it came from, why it failed and, when it
 * was traced, its trace's id; never what the user wrote.
 */
function summarize(kind: JobKind, job: Job, scrub: (text: string) => string): FailedJobSummary {
  const chat = chatOf(job.data);
  const traceId = traceIdOfMetadata(job.opts.telemetry?.metadata);
  return {
    id: job.id ?? '',
    kind,
    ...(chat ?? {}),
    reason: cut(scrub(job.failedReason || 'no reason recorded')),
    attemptsMade: job.attemptsMade,
    failedAt: job.finishedOn ?? job.processedOn ?? job.timestamp,
    ...(traceId === undefined ? {} : { traceId }),
  };
}

/** The platform and channel of a job's message, read defensively: a job may predate today's payload shape. */
function chatOf(data: unknown): { platform: Platform; channel: string } | undefined {
  const chat = (data as { payload?: { message?: { chat?: { platform?: unknown; id?: unknown } } } } | null)?.payload?.message?.chat;
  if (typeof chat?.platform !== 'string' || !PLATFORMS.has(chat.platform) || typeof chat.id !== 'string') return undefined;
  return { platform: chat.platform as Platform, channel: chat.id };
}

function cut(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_REASON_CHARS ? oneLine : `${oneLine.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/**
 * Worker processes, from the workers' connection names per kind. Named workers
 * (`…:w:<name>`) are counted by distinct name; unnamed ones by the busiest kind, since
 * every worker process runs exactly one worker per kind.
 */
function countProcesses(namesByKind: ReadonlyArray<readonly string[]>): number {
  const all = namesByKind.flat();
  if (all.length > 0 && all.every((name) => name.includes(WORKER_NAME_MARK))) {
    return new Set(all.map((name) => name.slice(name.indexOf(WORKER_NAME_MARK) + WORKER_NAME_MARK.length))).size;
  }
  return Math.max(0, ...namesByKind.map((names) => names.length));
}
