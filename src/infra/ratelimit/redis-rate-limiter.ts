/**
 * The RateLimiter port on Redis: a sliding log per limit (a sorted set of call times),
 * checked and counted for all of a call's limits in one Lua script, so any number of
 * processes sharing a bot token stay under the platform's limits together. A platform's
 * 429 pauses a key for the time it asked; nobody calls under that key until then.
 * Telegram: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
 * Discord: https://discord.com/developers/docs/topics/rate-limits
 * Traced, a call that has to wait is a `rate limit wait` span (under its platform call's
 * span), and a skippable call that did not fit marks the current span.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RateLimit, RateLimiter } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';
import { noteOnCurrentSpan, startSpan, tracingOn } from '../tracing/index.js';

/** Never sleep less than this between two tries: the script's answer is already exact. */
const MIN_WAIT_MS = 5;
/** Never sleep longer than this in one go, so a long wait still notices an abort quickly. */
const MAX_WAIT_SLICE_MS = 1_000;
/**
 * A call made through run/tryRun holds its place in the window until it has finished:
 * counted as happening this far ahead, then moved to the time it actually finished. A
 * call let through on a busy host may reach the platform hundreds of ms later; counting
 * it at its start let more than the limit arrive within one window (seen as Discord
 * 429s in the soak). A process that dies mid-call frees the place after this long.
 */
const IN_FLIGHT_MS = 5_000;

/*
 * KEYS[1..n]   the limits' sorted sets;  KEYS[n+1..2n] the limits' pause keys
 * ARGV[1]      now (ms);  ARGV[2] a unique member for this call;  ARGV[3] how long the call
 *              may stay in flight (ms): until settled, it counts as happening at the end of that
 * ARGV[4..]    max, perMs for each limit, in KEYS order
 * Returns      0 when the call was counted against every limit; otherwise the ms to wait
 *              before trying again (nothing counted).
 */
const ACQUIRE_LUA = `
local n = #KEYS / 2
local now = tonumber(ARGV[1])
local pending = tonumber(ARGV[3])
local wait = 0
for i = 1, n do
  local paused = redis.call('PTTL', KEYS[n + i])
  if paused > wait then wait = paused end
  local max = tonumber(ARGV[2 + 2 * i])
  local window = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= max then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
    local free = oldest + window - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now + pending, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + 2 * i]) + pending)
end
return 0
`;

/* KEYS the limits' sorted sets; ARGV[1] when the call finished; ARGV[2] its member. Moves the member where it still is. */
const SETTLE_LUA = `
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', ARGV[1], ARGV[2]) end
return 0
`;

interface AcquireCommand {
  sbRateAcquire(numKeys: number, ...args: Array<string | number>): Promise<number>;
  sbRateSettle(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

export interface RedisRateLimiterOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Creates the shared rate limiter. */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const redis = options.redis as Redis & Partial<AcquireCommand>;
  if (typeof redis.sbRateAcquire !== 'function') {
    redis.defineCommand('sbRateAcquire', { lua: ACQUIRE_LUA });
    redis.defineCommand('sbRateSettle', { lua: SETTLE_LUA });
  }
  const r = redis as Redis & AcquireCommand;
  const now = options.now ?? Date.now;
  // An abort only cuts the sleep short; the loop's throwIfAborted rejects with the caller's reason.
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).catch(() => undefined));

  /** One try: 0 when counted, else the ms to wait. */
  const attempt = (limits: readonly RateLimit[], member: string, inFlightMs = 0): Promise<number> => {
    for (const limit of limits) assertLimit(limit);
    const keys = [...limits.map((l) => options.keys.rateLimit(l.key)), ...limits.map((l) => options.keys.rateLimitPause(l.key))];
    return r.sbRateAcquire(keys.length, ...keys, now(), member, inFlightMs, ...limits.flatMap((l) => [l.max, l.perMs]));
  };
  const acquire = async (limits: readonly RateLimit[], member: string, inFlightMs: number, signal?: AbortSignal): Promise<void> => {
    let waiting: ReturnType<typeof startSpan>;
    let tries = 0;
    try {
      for (;; tries += 1) {
        signal?.throwIfAborted();
        const wait = await attempt(limits, member, inFlightMs);
        if (wait <= 0) return;
        if (tries === 0 && tracingOn()) waiting = startSpan('rate limit wait', { 'switchboard.ratelimit.limits': limits.length });
        await sleep(Math.min(Math.max(wait, MIN_WAIT_MS), MAX_WAIT_SLICE_MS), signal);
      }
    } finally {
      waiting?.setAttribute('switchboard.ratelimit.tries', tries + 1);
      waiting?.end();
    }
  };
  /** Moves a finished call's place to when it finished (only if it is still there), in one round trip. */
  const settle = async (limits: readonly RateLimit[], member: string): Promise<void> => {
    const keys = limits.map((l) => options.keys.rateLimit(l.key));
    await r.sbRateSettle(keys.length, ...keys, now(), member).catch(() => undefined);
  };
  // Unique across processes (a random prefix per limiter) without a random draw per call.
  const memberPrefix = randomBytes(6).toString('hex');
  let calls = 0;
  const newMember = (): string => `${memberPrefix}${(calls++).toString(36)}`;

  return {
    async acquire(limits, signal) {
      if (limits.length === 0) return;
      await acquire(limits, newMember(), 0, signal);
    },
    async tryAcquire(limits) {
      if (limits.length === 0) return 0;
      const wait = Math.max(0, await attempt(limits, newMember()));
      if (wait > 0) noteOnCurrentSpan('switchboard.ratelimit.skipped', true);
      return wait;
    },
    // The settling is not awaited: the caller has its answer, and until the settle lands
    // the call only counts as still in flight, which errs on the safe side.
    async run(limits, call, signal) {
      if (limits.length === 0) return call();
      const member = newMember();
      await acquire(limits, member, IN_FLIGHT_MS, signal);
      try {
        return await call();
      } finally {
        void settle(limits, member);
      }
    },
    async tryRun(limits, call) {
      if (limits.length === 0) return { ran: true, value: await call() };
      const member = newMember();
      const wait = await attempt(limits, member, IN_FLIGHT_MS);
      if (wait > 0) {
        noteOnCurrentSpan('switchboard.ratelimit.skipped', true);
        return { ran: false, waitMs: wait };
      }
      try {
        return { ran: true, value: await call() };
      } finally {
        void settle(limits, member);
      }
    },
    async pause(key, ms) {
      if (!(ms > 0)) return;
      const pauseKey = options.keys.rateLimitPause(key);
      // Keep the longer of an existing pause and this one.
      const current = await redis.pttl(pauseKey);
      if (current < ms) await redis.set(pauseKey, '1', 'PX', Math.ceil(ms));
    },
  };
}

function assertLimit(limit: RateLimit): void {
  if (!Number.isInteger(limit.max) || limit.max < 1 || !(limit.perMs > 0) || limit.key === '') {
    throw new RangeError(`invalid rate limit ${JSON.stringify(limit)}`);
  }
}
