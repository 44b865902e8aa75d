/**
 * The soak's playground phases, on one gateway (in this process) and a fleet of worker
 * processes with one chat job each, so every SIGKILL interrupts exactly one answer:
 * (a) SIGKILLs of workers streaming an answer, while steady traffic goes on beside them;
 * (c) Redis stopped for 30 s under load and started again.
 */
import { randomUUID } from 'node:crypto';
import type { RunningApp } from '../../src/app.js';
import type { FakeOpenAI } from '../fakes/openai.js';
import type { OutageRedis } from '../support/outage-redis.js';
import { postMessage } from '../support/playground-client.js';
import { runsOf, slowReply, questionOf, type WorkerFleet } from '../support/worker-process.js';
import { percentile, tally, until, type PlaygroundWatch, type Tally, type Tracked } from './answers.js';

/** Killers at work at once; each waits for its replacement worker before the next kill. */
const KILLERS = 5;
/** Steady traffic beside the kills: one message every this many ms, over STEADY_CHANNELS channels. */
const STEADY_INTERVAL_MS = 1_000;
const STEADY_CHANNELS = 10;
/** How long one answer may take to show its first edit before a killer moves on. */
const PARTIAL_WAIT_MS = 30_000;
/** How long the soak waits for the last answers after the kills. */
const SETTLE_MS = 45_000;
/** Issue #7: Redis stopped for 30 s. */
const OUTAGE_MS = 30_000;
/** Messages posted before Redis goes, one every OUTAGE_POST_GAP_MS: the first answered, then some streaming, the rest queued. */
const OUTAGE_MESSAGES = 20;
const OUTAGE_POST_GAP_MS = 100;

export interface PlaygroundDeps {
  readonly gateway: RunningApp;
  readonly fake: FakeOpenAI;
  readonly fleet: WorkerFleet;
  readonly watch: PlaygroundWatch;
  readonly redis: OutageRedis;
}

export interface KillsResult {
  readonly kills: number;
  readonly seconds: number;
  /** The answers that were killed mid-stream. */
  readonly killed: Tracked[];
  /** Steady traffic that ran beside them. */
  readonly steady: Tracked[];
  readonly refused: number;
  /** Kill to the rerun's AI request, ms. */
  readonly pickups: number[];
  /** How long each replacement worker took to get ready, ms. */
  readonly spawns: number[];
  /** Messages a killer sent but did not kill (answered before it could, or its job moved already). */
  readonly spared: number;
  readonly tally: Tally;
}

/** Posts a message to be tracked; undefined when the gateway refused it. */
async function send(deps: PlaygroundDeps, channel: string, question: string): Promise<Tracked | undefined> {
  const id = randomUUID();
  const tracked = deps.watch.track(id, slowReply(question));
  const posted = await postMessage(deps.gateway.url, channel, question, { id }).catch(() => ({ status: 0 }));
  return posted.status === 202 ? tracked : undefined;
}

/** (a) `target` SIGKILLs of workers in the middle of streaming an answer, within `budgetMs`. */
export async function runKills(deps: PlaygroundDeps, target: number, budgetMs: number): Promise<KillsResult> {
  const { fake, fleet } = deps;
  const started = Date.now();
  const deadline = started + budgetMs;
  const killed: Tracked[] = [];
  const steady: Tracked[] = [];
  const pickups: Array<() => number | undefined> = [];
  let refused = 0;
  let spared = 0;
  const spawns: number[] = [];
  let kills = 0;
  let next = 0;
  let running = true;

  const steadyLoad = (async () => {
    for (let i = 0; running; i += 1) {
      const tracked = await send(deps, `steady-${i % STEADY_CHANNELS}`, `steady ${i} ${randomUUID().slice(0, 8)}`);
      if (tracked) steady.push(tracked);
      else refused += 1;
      await new Promise((resolve) => setTimeout(resolve, STEADY_INTERVAL_MS));
    }
  })();

  const killer = async (): Promise<void> => {
    while (kills < target && Date.now() < deadline) {
      const i = next++;
      const question = `kill ${i} ${randomUUID().slice(0, 8)}`;
      const tracked = await send(deps, `kill-${i}`, question);
      if (!tracked) {
        refused += 1;
        continue;
      }
      // An edit after the first send: its ledger record is written, the answer is mid-stream.
      if (!(await until(() => tracked.events >= 2 || tracked.finalAt !== undefined, PARTIAL_WAIT_MS))) {
        spared += 1;
        continue;
      }
      const runs = runsOf(fake.requests, question);
      const victim = fleet.byName(runs.at(-1) ?? '');
      const busyWith = victim && questionOf(fake.requests.findLast((r) => r.headers['openai-organization'] === victim.name)?.body);
      if (runs.length !== 1 || !victim?.alive() || busyWith !== question || tracked.finalAt !== undefined) {
        spared += 1;
        continue;
      }
      const killedAt = Date.now();
      await victim.kill();
      kills += 1;
      killed.push(tracked);
      pickups.push(() => {
        const rerun = fake.requests.find((r) => r.at >= killedAt && r.path.endsWith('/chat/completions') && questionOf(r.body) === question);
        return rerun === undefined ? undefined : rerun.at - killedAt;
      });
      const spawning = performance.now();
      await fleet.start();
      spawns.push(performance.now() - spawning);
    }
  };
  await Promise.all(Array.from({ length: KILLERS }, killer));
  const seconds = (Date.now() - started) / 1000;
  running = false;
  await steadyLoad;
  const all = [...killed, ...steady];
  await until(() => all.every((t) => t.finalAt !== undefined), SETTLE_MS, 100);
  // Anything late (a second answer) has had time to show.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return {
    kills,
    seconds,
    killed,
    steady,
    refused,
    pickups: pickups.flatMap((p) => p() ?? []),
    spawns,
    spared,
    tally: tally(all),
  };
}

export interface OutageResult {
  readonly downSeconds: number;
  /** Messages not yet answered when Redis stopped. */
  readonly unanswered: number;
  /** Status and time of a POST while Redis was away. */
  readonly refusedStatus: number;
  readonly refusedMs: number;
  /** Restart to the first AI request of a worker, and to the first answer event a user could see. */
  readonly firstJobMs: number | undefined;
  readonly firstAnswerMs: number | undefined;
  readonly tracked: Tracked[];
  readonly tally: Tally;
}

/** (c) Redis stopped for 30 s with answers streaming and queued, then started again. */
export async function runRedisRestart(deps: PlaygroundDeps): Promise<OutageResult> {
  const tracked: Tracked[] = [];
  for (let i = 0; i < OUTAGE_MESSAGES; i += 1) {
    const t = await send(deps, `outage-${i}`, `outage ${i} ${randomUUID().slice(0, 8)}`);
    if (t) tracked.push(t);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_POST_GAP_MS));
  }
  // Some answered, some mid-stream, the rest queued behind them.
  await until(() => tracked.some((t) => t.finalAt !== undefined) && tracked.some((t) => t.events >= 2 && t.finalAt === undefined), 20_000);
  await deps.redis.stop();
  const stoppedAt = Date.now();
  const unanswered = tracked.filter((t) => t.finalAt === undefined).length;

  const before = performance.now();
  const refused = await postMessage(deps.gateway.url, 'outage-0', 'during the outage').catch(() => ({ status: 0 }));
  const refusedMs = performance.now() - before;

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
  await deps.redis.restart();
  const restartedAt = Date.now();
  const downSeconds = (restartedAt - stoppedAt) / 1000;
  await until(() => deps.watch.firstEventAfter(restartedAt) !== undefined, 30_000);
  const firstEvent = deps.watch.firstEventAfter(restartedAt);
  const firstAnswer = firstEvent === undefined ? undefined : firstEvent - restartedAt;
  const firstRequest = deps.fake.requests.find((r) => r.at >= restartedAt && r.path.endsWith('/chat/completions'));
  await until(() => tracked.every((t) => t.finalAt !== undefined), SETTLE_MS, 100);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return {
    downSeconds,
    unanswered,
    refusedStatus: refused.status,
    refusedMs,
    firstJobMs: firstRequest === undefined ? undefined : firstRequest.at - restartedAt,
    firstAnswerMs: firstAnswer,
    tracked,
    tally: tally(tracked),
  };
}

/** `median … ms, p99 … ms, max … ms`. */
export function spread(values: readonly number[]): string {
  if (values.length === 0) return '–';
  return `median ${Math.round(percentile(values, 50))} ms, p99 ${Math.round(percentile(values, 99))} ms, max ${Math.round(Math.max(...values))} ms`;
}
