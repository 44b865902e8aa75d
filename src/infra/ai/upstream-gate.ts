/**
 * The AI endpoint's limits, shared by every process through Redis: requests wait here
 * before they go, so the endpoint's limits, not the number of answers in flight, bound
 * what the service asks of it.
 *
 * Each lane (a model, or an endpoint without one) paces requests and tokens a minute as
 * the endpoint's `x-ratelimit-limit-*` headers say (OPENAI_REQUESTS_PER_MINUTE and
 * OPENAI_TOKENS_PER_MINUTE add a budget over all lanes), counted as theoretical arrival
 * times (GCRA), so requests leave evenly, never in a burst. A 429 holds the lane for what
 * the endpoint asked (`retry-after-ms`, `retry-after`, or until its budget refills, per
 * rate-headers.ts); after the hold one request goes first as a probe, and the rest follow
 * only once it was let through: a 429 storm becomes one request per hold, not a retry
 * from everyone waiting. An answer saying a budget is spent (`remaining` 0) holds the lane
 * until it refills. A request waiting here has no time limit of its own: its caller's
 * signal ends the wait. If Redis is unreachable, requests go (the limits are a courtesy to
 * the endpoint; an answer matters more).
 * https://platform.openai.com/docs/guides/rate-limits
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { pauseAfter, readRateHeaders } from './rate-headers.js';
import type { ResponseHeaders } from './retry.js';

/**
 * Waiters let through by one script call, at most. Large: on a busy worker each call
 * costs a turn of its event loop (tens of ms with thousands of answers in flight), so a
 * lane must let through in one call what arrives in one turn.
 */
const MAX_BATCH = 1_000;
/** While a probe is out, the others look again this often. */
const PROBE_POLL_MS = 100;
/** A probe whose process died frees the lane after this long. */
const PROBE_LEASE_MS = 15_000;
/** The longest one sleep of a waiting lane, so an aborted waiter is let go soon. */
const MAX_SLEEP_MS = 250;
/**
 * A budget lets requests through in batches while its backlog is under this much time (a
 * budget slower than one request a burst goes strictly evenly): a large budget costs one
 * script call for many requests, and a small one never bursts.
 */
const BURST_MS = 100;
/**
 * Requests a lane lets through without asking Redis, counted in advance by the last
 * script call while the lane was far from its budgets, and how long they stay good. On a
 * busy worker each call costs a turn of the event loop (hundreds of ms at 2,000 answers in
 * flight), three of them an answer; this makes most requests go at once. A credit left
 * unused is a request the lane did not make: the budgets are never overrun.
 */
const MAX_CREDITS = 64;
const CREDITS_TTL_MS = 50;
/** A lane's state is forgotten this long after its last answer. */
const LANE_TTL_MS = 3_600_000;

/*
 * KEYS[1] the lane's hash (pausedUntil, recovering, probeUntil, rpm, tpm, and the arrival
 * times reqAt, tokAt), KEYS[2] the hash of the budgets over all lanes (reqAt, tokAt).
 * ARGV[1] now (ms), ARGV[2] / ARGV[3] configured requests / tokens a minute over all lanes
 * (0: none), ARGV[4] probe lease (ms), ARGV[5] burst (ms), ARGV[6] credits wanted, ARGV[7]
 * the tokens a credit reserves, ARGV[8..] each waiter's tokens.
 * Returns {granted, wait ms, probe, credits}: the first `granted` waiters go now (counted);
 * the next waits `wait` ms; probe 1 when the first one granted tests whether the lane is
 * back; `credits` more requests are counted already, for the process to let through
 * without asking (only while the lane is far from its budgets: within half the burst).
 * A budget lets a request go while its backlog is within the burst less the request's own
 * spacing (GCRA's tolerance), so a large budget is let through in batches and one slower
 * than a request a burst strictly evenly.
 */
const ENTER_LUA = `
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[5])
local lane = redis.call('HMGET', KEYS[1], 'pausedUntil', 'recovering', 'probeUntil', 'rpm', 'tpm', 'reqAt', 'tokAt')
local pausedUntil = tonumber(lane[1] or '0')
if pausedUntil > now then return {0, math.ceil(pausedUntil - now), 0, 0} end
local recovering = lane[2] == '1'
if recovering and tonumber(lane[3] or '0') > now then return {0, ${PROBE_POLL_MS}, 0, 0} end
local budgets = tonumber(ARGV[2]) > 0 or tonumber(ARGV[3]) > 0
local all = {false, false}
if budgets then all = redis.call('HMGET', KEYS[2], 'reqAt', 'tokAt') end
-- {hash, field, per minute, counts tokens, arrival time}
local limits = {
  {KEYS[1], 'reqAt', tonumber(lane[4] or '0'), false, tonumber(lane[6] or '0')},
  {KEYS[1], 'tokAt', tonumber(lane[5] or '0'), true, tonumber(lane[7] or '0')},
  {KEYS[2], 'reqAt', tonumber(ARGV[2]), false, tonumber(all[1] or '0')},
  {KEYS[2], 'tokAt', tonumber(ARGV[3]), true, tonumber(all[2] or '0')},
}
for _, limit in ipairs(limits) do
  if limit[5] < now then limit[5] = now end
end
-- How long a request of \`tokens\` must wait for every budget, with \`allowed\` ms of backlog.
local function waitFor(tokens, allowed)
  local wait = 0
  for _, limit in ipairs(limits) do
    if limit[3] > 0 and (not limit[4] or tokens > 0) then
      local spacing = (limit[4] and tokens or 1) * 60000 / limit[3]
      local over = limit[5] - now - math.max(0, allowed - spacing)
      if over > wait then wait = over end
    end
  end
  return wait
end
local function take(tokens)
  for _, limit in ipairs(limits) do
    if limit[3] > 0 then limit[5] = limit[5] + (limit[4] and tokens or 1) * 60000 / limit[3] end
  end
end
local granted, wait, credits = 0, 0, 0
for w = 8, #ARGV do
  local tokens = tonumber(ARGV[w])
  wait = waitFor(tokens, burst)
  if wait > 0 then break end
  take(tokens)
  granted = granted + 1
  if recovering then break end
end
if wait <= 0 and not recovering then
  local creditTokens = tonumber(ARGV[7])
  while credits < tonumber(ARGV[6]) and waitFor(creditTokens, burst / 2) <= 0 do
    take(creditTokens)
    credits = credits + 1
  end
end
if granted + credits > 0 then
  for _, limit in ipairs(limits) do
    if limit[3] > 0 then redis.call('HSET', limit[1], limit[2], limit[5]) end
  end
  redis.call('PEXPIRE', KEYS[1], ${LANE_TTL_MS})
  if budgets then redis.call('PEXPIRE', KEYS[2], ${LANE_TTL_MS}) end
end
local probe = 0
if recovering and granted > 0 then
  redis.call('HSET', KEYS[1], 'probeUntil', now + tonumber(ARGV[4]))
  probe = 1
end
return {granted, math.ceil(wait), probe, credits}
`;

/*
 * KEYS[1] the lane's hash. ARGV[1] now (ms), ARGV[2] outcome (ok, limited, failed),
 * ARGV[3] how long to hold the lane (ms), ARGV[4] / ARGV[5] the endpoint's requests /
 * tokens a minute (0: not said), ARGV[6] 1 when the request was the probe.
 * A 429 holds the lane and makes the next request a probe; the probe's success ends that.
 */
const DONE_LUA = `
local now = tonumber(ARGV[1])
local hold = tonumber(ARGV[3])
if ARGV[4] ~= '0' then redis.call('HSET', KEYS[1], 'rpm', ARGV[4]) end
if ARGV[5] ~= '0' then redis.call('HSET', KEYS[1], 'tpm', ARGV[5]) end
if hold > 0 and now + hold > tonumber(redis.call('HGET', KEYS[1], 'pausedUntil') or '0') then
  redis.call('HSET', KEYS[1], 'pausedUntil', now + hold)
end
if ARGV[2] == 'limited' then
  redis.call('HSET', KEYS[1], 'recovering', '1')
  redis.call('HDEL', KEYS[1], 'probeUntil')
elseif ARGV[6] == '1' then
  if ARGV[2] == 'ok' then redis.call('HDEL', KEYS[1], 'recovering') end
  redis.call('HDEL', KEYS[1], 'probeUntil')
end
redis.call('PEXPIRE', KEYS[1], ${LANE_TTL_MS})
return 0
`;

interface GateCommands {
  sbAiEnter(k1: string, k2: string, ...args: Array<string | number>): Promise<[number, number, number, number]>;
  sbAiDone(k1: string, ...args: Array<string | number>): Promise<number>;
}

/** What one request tells the gate once it has its answer (or none). */
export interface GatePass {
  /** The answer's status and headers (no status when no answer came); returns how long the lane is held, in ms. */
  done(status: number | undefined, headers?: ResponseHeaders): number;
}

/** Where requests wait for the endpoint's limits. */
export interface UpstreamGate {
  /**
   * Resolves when a request of `tokens` in `lane` may go; rejects only with the signal's
   * reason. The pass must be told the answer.
   */
  enter(lane: string, tokens: number, signal?: AbortSignal): Promise<GatePass>;
}

/** Told how long requests waited at the gate (metrics). */
export type GateObserver = (lane: string, waitedMs: number) => void;

export interface UpstreamGateOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  /** OPENAI_REQUESTS_PER_MINUTE and OPENAI_TOKENS_PER_MINUTE: budgets over every lane (0 or absent: none). */
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly observe?: GateObserver;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Waiter {
  readonly tokens: number;
  readonly since: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (pass: GatePass) => void;
  readonly reject: (reason: unknown) => void;
}

/** Creates the gate on Redis. */
export function createUpstreamGate(options: UpstreamGateOptions): UpstreamGate {
  const redis = options.redis as Redis & Partial<GateCommands>;
  if (typeof redis.sbAiEnter !== 'function') {
    redis.defineCommand('sbAiEnter', { numberOfKeys: 2, lua: ENTER_LUA });
    redis.defineCommand('sbAiDone', { numberOfKeys: 1, lua: DONE_LUA });
  }
  const r = redis as Redis & GateCommands;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const keys = options.keys;
  const lanes = new Map<string, Lane>();

  /** One lane's waiters in this process, let through in order by one loop. */
  class Lane {
    readonly waiting: Waiter[] = [];
    #pumping = false;
    /** 429s in a row (for the backoff when the endpoint says nothing). */
    limitedInARow = 0;
    /** The endpoint's budgets as last written, so an unchanged one costs no write. */
    written = { rpm: 0, tpm: 0, at: 0 };

    constructor(readonly name: string) {}

    /** Requests counted in advance (see MAX_CREDITS), good until creditsUntil, each for creditTokens. */
    credits = 0;
    creditsUntil = 0;
    creditTokens = 0;

    add(waiter: Waiter): void {
      // Credits are for requests no bigger than they reserved, and never jump the queue.
      if (this.waiting.length === 0 && this.credits > 0 && now() < this.creditsUntil && waiter.tokens <= this.creditTokens) {
        this.credits -= 1;
        options.observe?.(this.name, 0);
        waiter.resolve(this.#pass(false, waiter.tokens));
        return;
      }
      this.waiting.push(waiter);
      void this.#pump();
    }

    async #pump(): Promise<void> {
      if (this.#pumping) return;
      this.#pumping = true;
      try {
        while (this.waiting.length > 0) {
          this.#dropAborted();
          const batch = this.waiting.slice(0, MAX_BATCH);
          if (batch.length === 0) break;
          let granted: number;
          let wait: number;
          let probe: number;
          let credits: number;
          // A credit reserves as many tokens as the biggest request waiting now.
          const creditTokens = Math.max(...batch.map((w) => w.tokens));
          try {
            [granted, wait, probe, credits] = await r.sbAiEnter(
              keys.aiLane(this.name), keys.aiBudgets(),
              now(), options.requestsPerMinute ?? 0, options.tokensPerMinute ?? 0, PROBE_LEASE_MS, BURST_MS, MAX_CREDITS, creditTokens, ...batch.map((w) => w.tokens),
            );
          } catch {
            // Redis is away: let everyone waiting go rather than hold answers for a courtesy.
            [granted, wait, probe, credits] = [batch.length, 0, 0, 0];
          }
          this.credits = credits;
          this.creditTokens = creditTokens;
          this.creditsUntil = now() + CREDITS_TTL_MS;
          const through = this.waiting.splice(0, granted);
          const at = now();
          for (const [i, waiter] of through.entries()) {
            options.observe?.(this.name, at - waiter.since);
            waiter.resolve(this.#pass(probe === 1 && i === 0, waiter.tokens));
          }
          if (granted === 0) await sleep(Math.min(Math.max(wait, 1), MAX_SLEEP_MS));
        }
      } finally {
        this.#pumping = false;
      }
    }

    #dropAborted(): void {
      if (!this.waiting.some((waiter) => waiter.signal?.aborted)) return;
      const still: Waiter[] = [];
      for (const waiter of this.waiting) {
        if (waiter.signal?.aborted) waiter.reject(waiter.signal.reason);
        else still.push(waiter);
      }
      this.waiting.splice(0, this.waiting.length, ...still);
    }

    #pass(probe: boolean, tokens: number): GatePass {
      let told = false;
      return {
        done: (status, headers = {}) => {
          if (told) return 0;
          told = true;
          const outcome = status === undefined || status >= 500 ? 'failed' : status === 429 ? 'limited' : 'ok';
          this.limitedInARow = outcome === 'limited' ? this.limitedInARow + 1 : outcome === 'ok' ? 0 : this.limitedInARow;
          if (outcome === 'limited') this.credits = 0;
          const hold = status === undefined ? 0 : pauseAfter(status, headers, tokens, this.limitedInARow, now());
          const rate = readRateHeaders(headers);
          // The endpoint's budgets are written when they change, and again before the lane's state would expire.
          const stale = now() - this.written.at > LANE_TTL_MS / 2;
          const rpm = rate.requests.limit !== undefined && (stale || rate.requests.limit !== this.written.rpm) ? rate.requests.limit : 0;
          const tpm = rate.tokens.limit !== undefined && (stale || rate.tokens.limit !== this.written.tpm) ? rate.tokens.limit : 0;
          // Nothing to tell: the usual answer costs no Redis call.
          if (outcome === 'ok' && hold === 0 && rpm === 0 && tpm === 0 && !probe) return 0;
          if (rpm > 0 || tpm > 0) {
            this.written = { rpm: rpm || this.written.rpm, tpm: tpm || this.written.tpm, at: now() };
            // Credits counted before the lane knew its budgets are not to be trusted.
            this.credits = 0;
          }
          r.sbAiDone(keys.aiLane(this.name), now(), outcome, Math.ceil(hold), rpm, tpm, probe ? 1 : 0).catch(() => undefined);
          return hold;
        },
      };
    }
  }

  return {
    enter(lane, tokens, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      let entry = lanes.get(lane);
      if (!entry) lanes.set(lane, (entry = new Lane(lane)));
      const target = entry;
      return new Promise<GatePass>((resolve, reject) => target.add({ tokens, since: now(), signal, resolve, reject }));
    },
  };
}
