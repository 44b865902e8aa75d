/**
 * The AI endpoint's gate on real Redis: two gates on their own connections stand for two
 * worker processes; a virtual clock that their sleeps move forward stands for time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createUpstreamGate, type GatePass, type UpstreamGate } from '../../src/infra/ai/upstream-gate.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const connections: Redis[] = [];
afterAll(() => connections.forEach((c) => c.disconnect()));

/** A gate as one process has it, on the shared clock. */
function gateOn(
  prefix: string,
  clock: { now: number },
  budgets: { requestsPerMinute?: number; tokensPerMinute?: number } = {},
  /** Real time each sleep also takes, where a test needs virtual time to pass slowly. */
  realMs = 0,
): UpstreamGate {
  const redis = new Redis(testRedisUrl());
  connections.push(redis);
  return createUpstreamGate({
    redis,
    keys: createRedisKeys(prefix),
    ...budgets,
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
      await new Promise((resolve) => (realMs > 0 ? setTimeout(resolve, realMs) : setImmediate(resolve)));
    },
  });
}

/** Enters `count` requests in turn through the gates, each let through at clock time `times[i]`. */
async function enterInTurn(gates: UpstreamGate[], count: number, clock: { now: number }, tokens = 0): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const pass = await gates[i % gates.length]!.enter('gpt-4o-mini', tokens);
    times.push(clock.now);
    pass.done(200, {});
  }
  return times;
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('the AI endpoint gate', () => {
  it('keeps two processes together to OPENAI_REQUESTS_PER_MINUTE, evenly, never in a burst', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    const gates = [gateOn(prefix, clock, { requestsPerMinute: 120 }), gateOn(prefix, clock, { requestsPerMinute: 120 })];
    const times = await enterInTurn(gates, 8, clock);
    expect(gaps(times).every((gap) => gap >= 500)).toBe(true);
    expect(times.at(-1)! - times[0]!).toBeLessThan(7 * 500 + 500);
  });

  it('paces by tokens a minute: a request waits until the tokens before it have been spent', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    const gates = [gateOn(prefix, clock, { tokensPerMinute: 60_000 }), gateOn(prefix, clock, { tokensPerMinute: 60_000 })];
    // 2,000 tokens of 60,000 a minute: one request every 2 s.
    const times = await enterInTurn(gates, 4, clock, 2_000);
    expect(gaps(times).every((gap) => gap >= 2_000)).toBe(true);
  });

  it('paces by the budget the endpoint states, learned from any process’s answer', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    const [a, b] = [gateOn(prefix, clock), gateOn(prefix, clock)];
    const first = await a.enter('gpt-4o-mini', 10);
    first.done(200, { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const times = await enterInTurn([b, a], 4, clock);
    expect(gaps(times).every((gap) => gap >= 1_000)).toBe(true);
    // Another model is another lane, with budgets of its own.
    const other = clock.now;
    await b.enter('whisper-1', 0);
    expect(clock.now).toBe(other);
  });

  it('after a 429 holds everyone for what the endpoint asked, then lets one probe go before the rest', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    // Virtual time passes slowly here (10 ms a sleep): the probe's 15 s lease must not run out while the test looks.
    const [a, b] = [gateOn(prefix, clock, {}, 10), gateOn(prefix, clock, {}, 10)];
    const limited = await a.enter('gpt-4o-mini', 0);
    const limitedAt = clock.now;
    expect(limited.done(429, { 'retry-after-ms': '2000' })).toBe(2_000);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Three requests wait, in two processes: the first through is the probe.
    const order: string[] = [];
    const passes: GatePass[] = [];
    const waiting = ['a1', 'b1', 'a2'].map((name) =>
      (name.startsWith('a') ? a : b).enter('gpt-4o-mini', 0).then((pass) => {
        order.push(name);
        passes.push(pass);
      }),
    );
    await expect.poll(() => order.length, { timeout: 5_000 }).toBe(1);
    expect(clock.now - limitedAt).toBeGreaterThanOrEqual(2_000);
    // While the probe is out, nobody else goes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toHaveLength(1);
    passes[0]!.done(200, {});
    await Promise.all(waiting);
    expect(order).toHaveLength(3);
  });

  it('a probe that is refused again holds the lane again; one that fails without an answer lets another probe', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    const gate = gateOn(prefix, clock);
    (await gate.enter('m', 0)).done(429, { 'retry-after': '1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const start = clock.now;
    const probe = await gate.enter('m', 0);
    expect(clock.now - start).toBeGreaterThanOrEqual(1_000);
    probe.done(429, { 'retry-after': '3' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = clock.now;
    const second = await gate.enter('m', 0);
    expect(clock.now - again).toBeGreaterThanOrEqual(3_000);
    second.done(undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const third = await gate.enter('m', 0);
    third.done(200, {});
    const free = clock.now;
    await Promise.all([gate.enter('m', 0), gate.enter('m', 0)]);
    expect(clock.now).toBe(free);
  });

  it('lets requests through in batches and on credit when a budget is large, never beyond it', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    // 100 a second: a 100 ms burst is ten requests.
    const gates = [gateOn(prefix, clock, { requestsPerMinute: 6_000 }), gateOn(prefix, clock, { requestsPerMinute: 6_000 })];
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const pass = await gates[i % 2]!.enter('m', 0);
        times.push(clock.now);
        pass.done(200, {});
      }),
    );
    times.sort((a, b) => a - b);
    const span = times.at(-1)! - times[0]!;
    // 300 requests at 100 a second, less the first burst: about three seconds, never much less.
    expect(span).toBeGreaterThanOrEqual(2_800);
    for (let i = 0; i < times.length; i++) {
      const inOneSecond = times.filter((t) => t >= times[i]! && t < times[i]! + 1_000).length;
      expect(inOneSecond).toBeLessThanOrEqual(100 + 10);
    }
  });

  it('ends a wait when the caller aborts', async () => {
    const prefix = uniquePrefix('gate');
    const clock = { now: 1_000_000 };
    const gate = gateOn(prefix, clock, { requestsPerMinute: 1 });
    (await gate.enter('m', 0)).done(200, {});
    const stop = new AbortController();
    const waiting = gate.enter('m', 0, stop.signal);
    stop.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });
});
