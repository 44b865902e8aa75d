/**
 * Per-conversation ordering across every worker process: the one module that keeps a
 * conversation's turns. The producer (job-queue.ts) and the workers (workers.ts) each ask
 * it one thing: `createIntakeOrder` for a message's place, `createTurns` for a job's turn.
 *
 * Each accepted message takes a ticket from its conversation's counter; a job may run
 * only when every earlier ticket of its conversation has finished. A job that arrives
 * early parks itself as delayed; the job before it promotes it when it finishes, and a
 * slow poll covers the rare race. Different conversations never wait for each other.
 * A ticket whose job vanished (a producer died between taking the ticket and adding the
 * job) is skipped after GAP_GRACE_MS, so one lost message never blocks a conversation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { traceTurn, tracingOn } from '../tracing/index.js';
import { fixedDelays, retry } from '../retry.js';

/** How long tickets, counters and dedupe records live after the last activity. */
export const ORDER_STATE_TTL_MS = 7 * 24 * 3600 * 1000;
/** A redelivered platform message within this window is recognised (issue #7 asks >= 24 h). */
export const DEDUPE_TTL_MS = 48 * 3600 * 1000;
/** How long a job waits for a predecessor whose job cannot be found before skipping it. */
export const GAP_GRACE_MS = 15_000;
/** A producer that claimed a message this long ago without confirming it is presumed dead. */
export const PENDING_CLAIM_MS = 10_000;
/** How many earlier tickets a waiting job inspects before it simply waits. */
const MAX_SCAN = 50;
/** A job waiting for its turn checks again after this long if nobody promoted it. */
const ORDER_POLL_MS = 1_000;
/** How often a producer asks again about a message another producer is adding. */
const CLAIM_POLL_MS = 250;
/** Writing down that a message's job was added: three retries, after these pauses. */
const MARK_ADDED = fixedDelays([100, 400, 1_600]);

/*
 * KEYS[1] dedupe record of the message, KEYS[2] ticket counter, KEYS[3] ticket -> job id hash,
 * KEYS[4] done counter.  ARGV[1] job id, ARGV[2] dedupe TTL ms, ARGV[3] state TTL ms,
 * ARGV[4] now (ms), ARGV[5] how long a pending claim is trusted (ms).
 * Returns {ticket, state, runnable}. State: 0 = new (add the job), 1 = claimed earlier but
 * never confirmed added and the claim is stale (add it again: the producer died), 2 = added
 * (add nothing), 3 = being added by a producer right now (ask again shortly: it may fail).
 * Runnable: 1 when every earlier ticket has finished already (the done counter only
 * grows, so the job may run whenever it is picked up, without asking again).
 * The record reads "<ticket>:pending:<claimed at ms>" until the job is added, then "<ticket>:added".
 */
const ACCEPT_LUA = `
local function runnable(ticket)
  if ticket <= tonumber(redis.call('GET', KEYS[4]) or '0') + 1 then return 1 end
  return 0
end
local record = redis.call('GET', KEYS[1])
if record then
  local ticket, state, since = string.match(record, '^(%d+):(%a+):?(%d*)$')
  ticket = tonumber(ticket)
  if state == 'pending' and tonumber(ARGV[4]) - (tonumber(since) or 0) > tonumber(ARGV[5]) then
    redis.call('SET', KEYS[1], ticket .. ':pending:' .. ARGV[4], 'PX', ARGV[2])
    return {ticket, 1, runnable(ticket)}
  end
  if state == 'pending' then return {ticket, 3, 0} end
  return {ticket, 2, 0}
end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('DEL', KEYS[4]) end
local ticket = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ticket .. ':pending:' .. ARGV[4], 'PX', ARGV[2])
redis.call('HSET', KEYS[3], ticket, ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return {ticket, 0, runnable(ticket)}
`;

/*
 * KEYS[1] done counter, KEYS[2] ticket -> job id hash, KEYS[3] ticket counter.
 * ARGV[1] finished ticket, ARGV[2] state TTL ms.
 * Raises done to the ticket (never lowers it); returns the job id of the next ticket or false.
 */
const ADVANCE_LUA = `
local done = tonumber(redis.call('GET', KEYS[1]) or '0')
local ticket = tonumber(ARGV[1])
if ticket > done then redis.call('SET', KEYS[1], ticket, 'PX', ARGV[2]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return redis.call('HGET', KEYS[2], tostring(ticket + 1))
`;

interface OrderingCommands {
  sbAccept(k1: string, k2: string, k3: string, k4: string, jobId: string, dedupeTtl: number, stateTtl: number, now: number, claimMs: number): Promise<[number, number, number]>;
  sbAdvance(k1: string, k2: string, k3: string, ticket: number, stateTtl: number): Promise<string | null>;
}

function withCommands(redis: Redis): Redis & OrderingCommands {
  const r = redis as Redis & Partial<OrderingCommands>;
  if (typeof r.sbAccept !== 'function') {
    redis.defineCommand('sbAccept', { numberOfKeys: 4, lua: ACCEPT_LUA });
    redis.defineCommand('sbAdvance', { numberOfKeys: 3, lua: ADVANCE_LUA });
  }
  return redis as Redis & OrderingCommands;
}

/** The outcome of accepting a message for a conversation. */
export interface Acceptance {
  readonly ticket: number;
  /** True when this message's job is on the queue already: enqueue nothing. */
  readonly alreadyAdded: boolean;
  /** True while another producer is adding it (or one failed moments ago): ask again shortly. */
  readonly beingAdded: boolean;
  /** True when every earlier message of the conversation had finished: the job need not check its turn. */
  readonly runnable: boolean;
}

/** The ordering operations, bound to one Redis connection and key space. */
export interface Ordering {
  accept(conversation: string, jobId: string): Promise<Acceptance>;
  markAdded(conversation: string, jobId: string, ticket: number): Promise<void>;
  /** Gives up a claim whose job could not be added, so the next try takes it over at once (same ticket). */
  release(conversation: string, jobId: string, ticket: number): Promise<void>;
  /** Marks a ticket finished; returns the job id holding the next ticket, if any. */
  finish(conversation: string, ticket: number): Promise<string | undefined>;
  /**
   * True when the ticket may run now. When earlier tickets are all finished or lost,
   * repairs the counter first. `stateOf` reports a job's queue state ('unknown' if gone).
   */
  mayRun(conversation: string, ticket: number, waitingSince: number, stateOf: (jobId: string) => Promise<string>): Promise<boolean>;
}

/** Creates the ordering operations on `redis`. */
export function createOrdering(
  redis: Redis,
  keys: RedisKeys,
  options: { readonly gapGraceMs?: number; readonly now?: () => number } = {},
): Ordering {
  const now = options.now ?? Date.now;
  const gapGraceMs = options.gapGraceMs ?? GAP_GRACE_MS;
  const r = withCommands(redis);
  const finish = async (conversation: string, ticket: number): Promise<string | undefined> =>
    (await r.sbAdvance(keys.orderDone(conversation), keys.orderTickets(conversation), keys.orderSeq(conversation), ticket, ORDER_STATE_TTL_MS)) ?? undefined;

  return {
    async accept(conversation, jobId) {
      const [ticket, state, runnable] = await r.sbAccept(
        keys.dedupe(conversation, jobId), keys.orderSeq(conversation), keys.orderTickets(conversation), keys.orderDone(conversation),
        jobId, DEDUPE_TTL_MS, ORDER_STATE_TTL_MS, now(), PENDING_CLAIM_MS,
      );
      return { ticket, alreadyAdded: state === 2, beingAdded: state === 3, runnable: runnable === 1 };
    },
    async release(conversation, jobId, ticket) {
      // A claim made at time 0 is stale for every producer: the next accept reuses the ticket.
      await redis.set(keys.dedupe(conversation, jobId), `${ticket}:pending:0`, 'PX', DEDUPE_TTL_MS);
    },
    async markAdded(conversation, jobId, ticket) {
      await redis.set(keys.dedupe(conversation, jobId), `${ticket}:added`, 'PX', DEDUPE_TTL_MS);
    },
    finish,
    async mayRun(conversation, ticket, waitingSince, stateOf) {
      const done = Number((await redis.get(keys.orderDone(conversation))) ?? 0);
      if (ticket <= done + 1) return true;
      if (ticket - done - 1 > MAX_SCAN) return false;
      const graceOver = now() - waitingSince > gapGraceMs;
      for (let earlier = ticket - 1; earlier > done; earlier--) {
        const jobId = await redis.hget(keys.orderTickets(conversation), String(earlier));
        if (jobId === null) continue; // finished and cleaned up
        const state = await stateOf(jobId);
        if (state === 'completed' || state === 'failed') continue;
        if (state === 'unknown' && graceOver) continue;
        return false;
      }
      await finish(conversation, ticket - 1);
      return true;
    },
  };
}

/** The producer's side: a message's place in its conversation, claimed before its job is added. */
export interface IntakeOrder {
  /**
   * Takes the message's ticket. When another producer is adding this very message (a
   * platform delivered it twice at once), or one failed moments ago, waits until it is
   * added or its claim goes stale, rather than calling it a duplicate and perhaps losing it.
   */
  claim(conversation: string, jobId: string): Promise<Acceptance>;
  /** Gives a claim back after its job could not be added (best effort: the caller retries). */
  release(conversation: string, jobId: string, ticket: number): Promise<void>;
  /**
   * Marks the message's claim "added", off the caller's path: the job is on the queue
   * already, so the platform may be told the message is taken (Telegram's next poll need
   * not wait for this round trip). Until the mark lands, a second delivery of the message
   * waits for it (`beingAdded`). Retried a few times; if Redis stays away, the claim goes
   * stale after PENDING_CLAIM_MS and a later delivery adds the message again under the same
   * job id, which BullMQ ignores while it keeps the job.
   */
  confirmAdded(conversation: string, jobId: string, ticket: number): void;
  /** Waits for the marks still being written. */
  close(): Promise<void>;
}

/** Creates the producer's side of ordering on `redis`. */
export function createIntakeOrder(redis: Redis, keys: RedisKeys): IntakeOrder {
  const ordering = createOrdering(redis, keys);
  const marking = new Set<Promise<void>>();
  return {
    async claim(conversation, jobId) {
      let acceptance = await ordering.accept(conversation, jobId);
      for (let waited = 0; acceptance.beingAdded && waited <= PENDING_CLAIM_MS; waited += CLAIM_POLL_MS) {
        await sleep(CLAIM_POLL_MS);
        acceptance = await ordering.accept(conversation, jobId);
      }
      return acceptance;
    },
    async release(conversation, jobId, ticket) {
      await ordering.release(conversation, jobId, ticket).catch(() => undefined);
    },
    confirmAdded(conversation, jobId, ticket) {
      // If Redis stays away, the claim goes stale after PENDING_CLAIM_MS and a later delivery
      // adds the message again under the same job id, which BullMQ ignores while it keeps the job.
      const mark = retry(MARK_ADDED, () => ordering.markAdded(conversation, jobId, ticket))
        .then(() => undefined, () => undefined)
        .finally(() => marking.delete(mark));
      marking.add(mark);
    },
    async close() {
      await Promise.all(marking);
    },
  };
}

/** What a job carries of its place in the conversation (JobEnvelope's ordering part). */
export interface TurnTicket {
  readonly payload: { readonly conversation: string };
  readonly ticket: number;
  /** Set when no earlier message of the conversation was unfinished at intake: its turn has come already. */
  readonly runnable?: true;
}

/** The workers' side: whether a job's turn has come, and handing the turn on. */
export interface Turns {
  /**
   * Returns when the job may run now. Otherwise parks it as delayed (its predecessor
   * promotes it when it finishes; a slow poll covers the race) and throws BullMQ's
   * DelayedError, which the processor lets through.
   */
  awaitTurn(job: Job<TurnTicket>, token: string | undefined): Promise<void>;
  /** Marks the ticket finished and promotes the conversation's next job if it is waiting. */
  finishTurn(conversation: string, ticket: number): Promise<void>;
}

/**
 * Creates the workers' side of ordering. `queues`: every kind's queue, since a
 * conversation's jobs may be of different kinds (a voice note after a text message) and a
 * waiting job looks for its predecessor in each.
 */
export function createTurns(redis: Redis, keys: RedisKeys, queues: readonly Queue[], options: { readonly gapGraceMs?: number } = {}): Turns {
  const ordering = createOrdering(redis, keys, options);
  const stateOf = async (jobId: string): Promise<string> => {
    for (const queue of queues) {
      const state = await queue.getJobState(jobId);
      if (state !== 'unknown') return state;
    }
    return 'unknown';
  };
  const findJob = async (jobId: string): Promise<Job | undefined> => {
    for (const queue of queues) {
      const job = await queue.getJob(jobId);
      if (job) return job;
    }
    return undefined;
  };
  /** Whether every earlier message of the conversation has finished (traced: an `ordering` span). */
  const turnHasCome = (conversation: string, ticket: number, since: number): Promise<boolean> => {
    const check = (): Promise<boolean> => ordering.mayRun(conversation, ticket, since, stateOf);
    return tracingOn() ? traceTurn(ticket, check) : check();
  };
  return {
    async awaitTurn(job, token) {
      const { payload, ticket, runnable } = job.data;
      // A job whose predecessors had all finished at intake needs no look (the usual case).
      if (runnable || (await turnHasCome(payload.conversation, ticket, job.timestamp))) return;
      await job.moveToDelayed(Date.now() + ORDER_POLL_MS, token);
      // The predecessor may have finished between the check and the move; don't sleep then.
      if (await ordering.mayRun(payload.conversation, ticket, job.timestamp, stateOf)) await job.promote().catch(() => undefined);
      throw new DelayedError();
    },
    async finishTurn(conversation, ticket) {
      const next = await ordering.finish(conversation, ticket);
      if (next === undefined) return;
      const nextJob = await findJob(next);
      if (nextJob && (await nextJob.isDelayed())) await nextJob.promote().catch(() => undefined);
    },
  };
}
