/**
 * The soak's crowd (issue #13): thousands of answers in flight at once, beside the kills
 * and the Redis outage. A gateway of its own (its own key prefix, the same Redis) and a few
 * worker processes with the default CHAT_CONCURRENCY hold CROWD conversations, each one
 * person writing again as soon as an answer is final; a slow fake model (its own fake)
 * streams every answer over CROWD_ANSWER_MS, so most of the crowd is always mid-answer.
 * Now and then a crowd worker is SIGKILLed with hundreds of answers in it; the Redis
 * outage of phase (c) stops them all. Every answer is tracked: lost or doubled.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { postMessage } from '../support/playground-client.js';
import { createWorkerFleet, questionOf, type WorkerFleet } from '../support/worker-process.js';
import { tally, watchPlayground, type PlaygroundWatch, type Tally, type Tracked } from './answers.js';

/** People writing at once (each in a conversation of their own). */
export const CROWD = 2_000;
/** Worker processes holding the crowd: hundreds of answers each. */
const CROWD_WORKERS = 3;
/** Words of a crowd answer, and the time between two of them: about a minute an answer (a slow model, thousands in flight at a modest rate). */
const CROWD_WORDS = 20;
const CROWD_WORD_MS = 3_000;
/** A crowd worker is SIGKILLed this often while the crowd runs. */
const CROWD_KILL_EVERY_MS = 60_000;
/** How long the crowd may take to finish its last answers once told to stop. */
const CROWD_SETTLE_MS = 150_000;

/** The answer the crowd's fake model gives to a question (a few dozen words naming it). */
function crowdReply(question: string): string {
  const words = Array.from({ length: CROWD_WORDS }, (_, i) => `w${i}`);
  return `${question}: ${words.join(' ')}.`;
}

export interface CrowdResult {
  readonly sent: number;
  /** Most answers in flight (posted, not final) seen at once. */
  readonly peakInFlight: number;
  readonly kills: number;
  readonly tally: Tally;
  /** What BullMQ says of the jobs of lost answers: state, stalls, attempts, reason (counted). */
  readonly lostJobs: string;
}

/** The running crowd: `stop()` ends the writing, waits for the last answers, and counts. */
export interface Crowd {
  inFlight(): number;
  stop(): Promise<CrowdResult>;
}

/** Starts the crowd on `redisUrl` under `prefix`. */
export async function startCrowd(redisUrl: string, prefix: string, log: (line: string) => void): Promise<Crowd> {
  const fake: FakeOpenAI = await createFakeOpenAI({
    chatReply: (body) => crowdReply(questionOf(body)),
    streamByWord: true,
    streamDelayMs: CROWD_WORD_MS,
    // The spec check costs CPU this process needs; the e2e tests check every request.
    validate: false,
  });
  const noLimits = { USER_RATE_LIMIT: '0', CHANNEL_RATE_LIMIT: '0', MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' };
  const gateway: RunningApp = await startApp(parseConfig({ REDIS_URL: redisUrl, OPENAI_BASE_URL: fake.url, PORT: '0', QUEUE_PREFIX: prefix, ...noLimits }), {
    role: 'gateway',
    log: pino({ level: 'silent' }),
  });
  const watch: PlaygroundWatch = await watchPlayground(redisUrl, prefix);
  const fleet: WorkerFleet = createWorkerFleet({ redisUrl, openaiUrl: fake.url, prefix, env: {} }, 'crowd');
  await Promise.all(Array.from({ length: CROWD_WORKERS }, () => fleet.start()));

  const tracked: Tracked[] = [];
  let writing = true;
  let peak = 0;
  let kills = 0;
  const open = new Set<Tracked>();
  const jobIds = new Map<Tracked, string>();
  // Keep the bookkeeping of finished answers small: the crowd sends tens of thousands.
  const inFlight = (): number => {
    for (const t of open) if (t.finalAt !== undefined) open.delete(t);
    return open.size;
  };

  const person = async (i: number): Promise<void> => {
    // Everyone starts within the first ten seconds, not in one instant.
    await new Promise((resolve) => setTimeout(resolve, (i / CROWD) * 10_000));
    for (let n = 0; writing; n += 1) {
      const id = randomUUID();
      const question = `crowd ${i} ${n}`;
      const t = watch.track(id, crowdReply(question));
      const posted = await postMessage(gateway.url, `crowd-${i}`, question, { id }).catch(() => ({ status: 0 }));
      // Refused (Redis away): the person tries again shortly, as a user would.
      if (posted.status !== 202) {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        continue;
      }
      tracked.push(t);
      jobIds.set(t, `web:crowd-${i}:${id}`);
      open.add(t);
      while (t.finalAt === undefined && writing) await new Promise((resolve) => setTimeout(resolve, 1_000));
      if (t.finalAt === undefined) return;
    }
  };
  const people = Array.from({ length: CROWD }, (_, i) => person(i));
  const sampler = setInterval(() => {
    peak = Math.max(peak, inFlight());
  }, 1_000);
  // A replacement that cannot start (Redis away) tries again until it can.
  let replacing = false;
  const replace = async (): Promise<void> => {
    replacing = true;
    while (writing) {
      try {
        await fleet.start();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
    replacing = false;
  };
  const killer = setInterval(() => {
    const victim = fleet.alive()[0];
    if (!victim || replacing) return;
    kills += 1;
    log(`    crowd: SIGKILL of ${victim.name} with about ${Math.round(inFlight() / CROWD_WORKERS)} answers in it (${inFlight()} in flight)`);
    void victim.kill().then(replace);
  }, CROWD_KILL_EVERY_MS);

  return {
    inFlight,
    async stop() {
      clearInterval(killer);
      writing = false;
      await Promise.all(people);
      // The last answers of everyone: those posted before the stop finish streaming.
      const end = Date.now() + CROWD_SETTLE_MS;
      while (Date.now() < end && tracked.some((t) => t.finalAt === undefined)) await new Promise((resolve) => setTimeout(resolve, 250));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      clearInterval(sampler);
      const lost = tracked.filter((t) => t.finalAt === undefined);
      const why = await whatBecameOf(redisUrl, prefix, lost.map((t) => jobIds.get(t) ?? ''));
      watch.close();
      await fleet.killAll();
      await gateway.stop();
      await fake.stop();
      return { sent: tracked.length, peakInFlight: peak, kills, tally: tally(tracked), lostJobs: why };
    },
  };
}

/** The state of each job (by id) as BullMQ has it, counted by state, stalls and reason. */
async function whatBecameOf(redisUrl: string, prefix: string, jobIds: readonly string[]): Promise<string> {
  if (jobIds.length === 0) return 'none';
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('chat', { connection, prefix });
  const counts = new Map<string, number>();
  try {
    for (const id of jobIds) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'gone';
      const key = `${state} (stalled ${job?.stalledCounter ?? '?'}, attempts ${job?.attemptsMade ?? '?'}${job?.failedReason ? `: ${job.failedReason.slice(0, 80)}` : ''})`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return [...counts].map(([key, n]) => `${n} ${key}`).join('; ');
}
