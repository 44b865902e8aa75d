/**
 * The consumer side: BullMQ workers that run plain handlers (payload, context), in
 * conversation order (ordering.ts), with retries and a bounded, graceful stop.
 * https://docs.bullmq.io/guide/workers  https://docs.bullmq.io/guide/retrying-failing-jobs
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Queue, Worker, type Job, type Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_KINDS, type JobKind, type JobPayload, type JobResult } from '../../domain/jobs.js';
import type { JobContext, JobHandler, Logger } from '../../ports/index.js';
import type { JobMetrics } from '../metrics/index.js';
import type { RedisKeys } from '../redis/keys.js';
import { readDepth, type JobDepth } from './depth.js';
import { queueNameOf, type JobEnvelope } from './job-queue.js';
import { createTurns } from './ordering.js';
import { settleWithin } from '../settle-within.js';
import { traceJobRun, tracingOn } from '../tracing/index.js';

/**
 * A job holds its lock this long without renewal before it counts as stalled. A killed
 * worker's job runs elsewhere after its lock expires (8-10 s after the kill, as locks are
 * renewed every LOCK_RENEW_MS) plus up to one STALLED_INTERVAL_MS: at most 13 s, inside
 * issue #7's 15 s. A live worker loses a job only if its event loop runs about 8 s late. With thousands of answers
 * in flight a worker on a saturated host answers its event loop a second or two late, and
 * its renewals queue behind other jobs' commands: with 6 s locks the benchmark saw 100 of
 * 2,000 jobs stall (and run twice) at 2,000 people writing at once, none with 10 s.
 * https://docs.bullmq.io/guide/workers/stalled-jobs
 */
const LOCK_DURATION_MS = 10_000;
/**
 * How often a worker renews the locks of its jobs. BullMQ's default (half the lock) lets a
 * job's lock go unrenewed for up to 7.5 s on time and renews it only when its timer fires, so
 * a worker whose event loop ran 2.5-5 s late lost jobs it was still running: the soak's
 * crowd (2,000 in flight, a worker killed with hundreds of answers, which the others then
 * take over at once, on a host running other work) saw jobs stall four times and fail.
 * Renewing every 2 s (BullMQ checks every 1 s) tolerates about 8 s of lag for one
 * `extendLocks` script call a second per worker, and a killed worker's jobs are still taken
 * over within 13 s.
 */
const LOCK_RENEW_MS = 2_000;
/** How often workers look for stalled jobs (a crashed worker's); one check per interval across all workers. */
const STALLED_INTERVAL_MS = 3_000;
/**
 * A job that stalls more often than this is failed rather than retried forever (a message
 * that crashes every worker that takes it). Three: a job survives its own worker's crash,
 * a second one, and a false stall of a worker starved of CPU, before it is given up.
 */
const MAX_STALLED_COUNT = 3;
/**
 * After a Redis error a BullMQ worker waits this long before fetching again. BullMQ's
 * default (15 s, documented as internal) would leave users waiting long after Redis is
 * back; our reconnect backoff is capped at 1 s, so match it.
 */
const RUN_RETRY_DELAY_MS = 1_000;
/** BullMQ's error for each job in a `lockRenewalFailed` event (LockManager.extendLocks). */
const RENEWAL_FAILED = /^could not renew lock for job /;
/** BullMQ's reason for a job failed by the stalled check (moveStalledJobsToWait). */
const STALL_LIMIT_REASON = /stalled more than allowable limit/i;
/** How long closing waits for a just-started worker's connections to finish connecting. */
const READY_BEFORE_CLOSE_MS = 2_000;

/** One run of a job in this process. */
interface Run {
  /** Set when a renewal of its lock failed: the job may be another worker's now. */
  lost: boolean;
  /** Set once the job's turn has come and its handler runs (until then it may park itself). */
  turnCame: boolean;
}

/** The handlers to run, by kind; kinds without a handler get no worker. */
export type JobHandlers = { readonly [K in JobKind]?: JobHandler<K> };

export interface JobWorkersOptions {
  /** A connection with `maxRetriesPerRequest: null` (BullMQ requirement). */
  readonly connection: Redis;
  readonly keys: RedisKeys;
  readonly handlers: JobHandlers;
  readonly concurrency: Readonly<Partial<Record<JobKind, number>>>;
  readonly log: Logger;
  /** How long to wait for a lost predecessor before skipping it (tests shorten it). */
  readonly gapGraceMs?: number;
  readonly metrics?: JobMetrics;
  /**
   * Told of a job given up without its handler having finished a run (it stalled more than
   * MAX_STALLED_COUNT times), so the user can be told; what it throws is logged.
   */
  readonly onGaveUp?: (kind: JobKind, payload: JobPayload<JobKind>) => Promise<void>;
  /** BullMQ's telemetry (tracing on): each run of a job is a span of its message's trace. */
  readonly telemetry?: Telemetry | undefined;
}

/** The running workers. */
export interface JobWorkers {
  /** True while every worker is connected and processing. */
  running(): boolean;
  /** Jobs per kind and state (waiting, delayed, active, failed), for metrics. */
  depth(): Promise<JobDepth>;
  /**
   * Stops taking jobs and waits for running ones up to `graceMs`; after that their
   * handlers are aborted (their jobs return to the queue as stalled and run elsewhere).
   */
  close(graceMs: number): Promise<void>;
}

/** Starts one BullMQ worker per handled kind. */
export function createJobWorkers(options: JobWorkersOptions): JobWorkers {
  // One signal for every job: it aborts them all at once when shutdown's grace is over.
  // (A signal per job outlived the young generation on Node 20, with all hung on it.)
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  const workers: Worker[] = [];
  const queues: Queue[] = [];

  // Every kind's queue: for depth, and for the turns of conversations whose jobs are of several kinds.
  const queueOf = {} as Record<JobKind, Queue>;
  for (const kind of JOB_KINDS) {
    const queue = new Queue(queueNameOf(kind), { connection: options.connection, prefix: options.keys.prefix });
    queues.push(queue);
    queueOf[kind] = queue;
  }
  const turns = createTurns(options.connection, options.keys, queues, { gapGraceMs: options.gapGraceMs });

  for (const kind of Object.keys(options.handlers) as JobKind[]) {
    const handler = options.handlers[kind] as JobHandler<JobKind> | undefined;
    if (!handler) continue;

    // This process's runs of jobs of this kind, by job id: each learns here whether its lock was lost.
    const runs = new Map<string, Run>();
    const processor = async (job: Job<JobEnvelope>, token?: string): Promise<JobResult<JobKind>> => {
      const jobId = job.id ?? '';
      // Its own record, from the start: a job comes back under the same id after being parked
      // for its turn (and after a failed attempt), and what befell an earlier run is not this one's.
      const run: Run = { lost: false, turnCame: false };
      runs.set(jobId, run);
      try {
        return await runJob(job, token, run);
      } finally {
        if (runs.get(jobId) === run) runs.delete(jobId);
      }
    };
    const runJob = async (job: Job<JobEnvelope>, token: string | undefined, run: Run): Promise<JobResult<JobKind>> => {
      const { payload, ticket } = job.data;
      const conversation = payload.conversation;
      // Its turn, or parked until then (ordering.ts).
      await turns.awaitTurn(job, token);
      run.turnCame = true;

      const maxAttempts = job.opts.attempts ?? 1;
      const attempt = job.attemptsMade + 1;
      if (job.attemptsMade === 0) options.metrics?.jobWaited(kind, (job.processedOn ?? Date.now()) - job.timestamp);
      options.metrics?.conversationActive(conversation);
      const jobId = job.id ?? '';
      const where = whereFrom(job);
      if (tracingOn()) traceJobRun(job, attempt, where);
      const context: JobContext = {
        jobId,
        attempt,
        maxAttempts,
        owned: () => !run.lost,
        // BullMQ counts every start (`ats`), a stalled job's takeover included.
        firstRun: job.attemptsStarted <= 1 && job.attemptsMade === 0,
        signal: shutdown.signal,
        log: options.log.child({ jobId: job.id, kind, ...where, conversation, attempt }),
      };
      const started = performance.now();
      try {
        const result = await handler(payload, context);
        if (!run.lost) await turns.finishTurn(conversation, ticket);
        return result;
      } catch (error) {
        // The last attempt hands the turn on; a run that lost its job to another worker leaves it to that worker.
        if (!run.lost && attempt >= maxAttempts) await turns.finishTurn(conversation, ticket);
        throw error;
      } finally {
        options.metrics?.jobRan(kind, performance.now() - started);
      }
    };

    const worker = new Worker(queueNameOf(kind), processor, {
      connection: options.connection,
      prefix: options.keys.prefix,
      concurrency: options.concurrency[kind] ?? 1,
      lockDuration: LOCK_DURATION_MS,
      lockRenewTime: LOCK_RENEW_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
      runRetryDelay: RUN_RETRY_DELAY_MS,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    });
    worker.on('completed', (_job, result) => options.metrics?.jobSettled(kind, 'completed', result));
    worker.on('failed', (job, error) => {
      // BullMQ sets finishedOn only when the job will not run again.
      const retried = job !== undefined && !job.finishedOn;
      options.metrics?.jobSettled(kind, retried ? 'retried' : 'failed');
      const where = job ? whereFrom(job) : {};
      options.log.warn({ jobId: job?.id, kind, ...where, attemptsMade: job?.attemptsMade, willRetry: retried, err: error }, 'job attempt failed');
      // Failed by the stalled check: no run of its handler finished, so nobody told the user.
      if (job && !retried && STALL_LIMIT_REASON.test(error.message) && job.data?.payload) {
        void options.onGaveUp?.(kind, job.data.payload).catch((err: unknown) => options.log.warn({ jobId: job.id, kind, err }, 'could not tell the user a job was given up'));
      }
    });
    worker.on('stalled', () => options.metrics?.jobSettled(kind, 'stalled'));
    // A renewal that failed for a job still running here means its lock is gone: the stalled
    // check may have given the job to another worker, so this run stops sending
    // (JobContext.owned) rather than answer twice. A busy worker also sends renewals for jobs
    // that are leaving its hands (finished, or parked as delayed until their turn); arriving
    // after that, they find no lock and fail, but the lock was given back, not lost. Counted
    // against the job, such a failure made its next run (its turn come) throw JobLostError,
    // fail, and keep its conversation's turn: under load, hundreds of chat jobs failed so.
    worker.on('lockRenewalFailed', (jobIds: string[]) => {
      const here = jobIds.flatMap((id) => {
        const run = runs.get(id);
        return run ? [run] : [];
      });
      for (const run of here) run.lost = true;
      // Still waiting for its turn, a run may be parking itself (its lock given back); it ends there either way.
      const running = here.filter((run) => run.turnCame).length;
      if (running > 0) {
        options.log.warn({ kind, jobs: running }, 'lost the lock of running jobs (the worker was too busy to renew it): they stop here and run elsewhere');
      }
      if (running < jobIds.length) options.log.debug({ kind, jobs: jobIds.length - running }, 'a lock renewal missed jobs leaving this worker (finished, or parked for their turn)');
    });
    // BullMQ also reports each failed renewal as an error; the listener above tells them apart.
    worker.on('error', (error) => {
      if (RENEWAL_FAILED.test(error.message)) return;
      options.log.error({ kind, err: error }, 'worker error');
    });
    workers.push(worker);
  }

  return {
    running: () => workers.length > 0 && workers.every((worker) => worker.isRunning()),
    depth: () => readDepth((kind) => queueOf[kind]),
    async close(graceMs) {
      const timer = setTimeout(() => shutdown.abort(new Error('shutting down')), graceMs);
      await Promise.all(
        workers.map(async (worker) => {
          // A worker closed while its blocking connection is still initializing drops that
          // connection's fire-and-forget init commands, which then reject unhandled
          // (taskforcesh/bullmq: RedisConnection.close disconnects while 'initializing').
          await settleWithin(worker.waitUntilReady().then(() => undefined), READY_BEFORE_CLOSE_MS, undefined);
          await worker.close();
        }),
      );
      clearTimeout(timer);
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}

/** The platform and channel a job's message came from, for its log lines. */
function whereFrom(job: Job<JobEnvelope>): { platform?: string; channel?: string } {
  const chat = job.data?.payload?.message?.chat;
  return chat ? { platform: chat.platform, channel: chat.id } : {};
}
