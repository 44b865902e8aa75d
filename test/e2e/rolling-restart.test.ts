/**
 * Rolling restarts (issue #7): under a steady load of playground messages, worker
 * processes are replaced one at a time, ten times, as a deploy does it: the new one
 * starts, the old one gets SIGTERM and drains its in-flight answers (SHUTDOWN_TIMEOUT_MS)
 * before it exits 0. Nothing is stalled, retried, lost or answered twice, and BullMQ is
 * left with no active, waiting or failed job.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { WebMessage } from '../../adapters/web/index.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { followChannel, postMessage, type ChannelStream } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { createWorkerFleet, questionOf, runsOf, slowReply, type WorkerFleet, type WorkerProcess } from '../support/worker-process.js';

/** Issue #7: ten rolling restarts under load. */
const RESTARTS = 10;
const WORKERS = 3;
/** One message every LOAD_INTERVAL_MS, round-robin over CHANNELS (each channel's answers never queue behind each other). */
const LOAD_INTERVAL_MS = 200;
const CHANNELS = 12;
const ANSWERS_WAIT_MS = 60_000;

let fake: FakeOpenAI;
let gateway: RunningApp;
let fleet: WorkerFleet;
let prefix: string;
const pages = new Map<string, ChannelStream>();

beforeAll(async () => {
  fake = await createFakeOpenAI({ chatReply: (body) => slowReply(questionOf(body)), streamChunkSize: 4, streamDelayMs: 40 });
  prefix = uniquePrefix('rolling');
  gateway = await startApp(
    parseConfig({ REDIS_URL: testRedisUrl(), OPENAI_BASE_URL: fake.url, PORT: '0', QUEUE_PREFIX: prefix, USER_RATE_LIMIT: '0', CHANNEL_RATE_LIMIT: '0' }),
    { role: 'gateway', log: pino({ level: 'silent' }) },
  );
  // Draining takes one answer's time (under 2 s); the timeout only bounds a stuck one.
  fleet = createWorkerFleet({ redisUrl: testRedisUrl(), openaiUrl: fake.url, prefix, env: { CHAT_CONCURRENCY: '4', SHUTDOWN_TIMEOUT_MS: '20000' } }, 'rolling');
  await Promise.all(Array.from({ length: WORKERS }, () => fleet.start()));
  for (let c = 0; c < CHANNELS; c += 1) pages.set(`rolling-${c}`, await followChannel(gateway.url, `rolling-${c}`));
}, 120_000);

afterAll(async () => {
  for (const page of pages.values()) page.close();
  await fleet?.killAll();
  await gateway?.stop();
  await fake?.stop();
}, 60_000);

interface Sent {
  readonly channel: string;
  readonly id: string;
  readonly question: string;
}

const answersTo = (sent: Sent): WebMessage[] => pages.get(sent.channel)!.messages().filter((m) => m.role === 'assistant' && m.replyTo === sent.id);

describe('rolling restarts', () => {
  it(`leaves no job stalled, lost or answered twice across ${RESTARTS} rolling restarts under load`, async () => {
    const started = performance.now();
    const sent: Sent[] = [];
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i += 1) {
        const channel = `rolling-${i % CHANNELS}`;
        const id = randomUUID();
        const question = `rolling ${i} ${id.slice(0, 8)}`;
        const posted = await postMessage(gateway.url, channel, question, { id });
        expect(posted.status).toBe(202);
        sent.push({ channel, id, question });
        await new Promise((resolve) => setTimeout(resolve, LOAD_INTERVAL_MS));
      }
    })();

    const exits: Array<number | NodeJS.Signals> = [];
    let drained = 0;
    for (let r = 0; r < RESTARTS; r += 1) {
      // The oldest worker goes; its replacement is up first, as in a rolling deploy.
      const old: WorkerProcess = fleet.alive()[0]!;
      await fleet.start();
      // Answers it is streaming as it is told to stop: it must finish them before it exits.
      drained += sent.filter((s) => runsOf(fake.requests, s.question).includes(old.name) && !answersTo(s).some((m) => m.final)).length;
      exits.push(await old.terminate());
    }
    loading = false;
    await load;

    await expect
      .poll(() => sent.filter((s) => answersTo(s).some((m) => m.final)).length, { timeout: ANSWERS_WAIT_MS, interval: 100 })
      .toBe(sent.length);
    // Each worker stopped gracefully, some with answers in flight.
    expect(exits).toEqual(Array.from({ length: RESTARTS }, () => 0));
    expect(drained).toBeGreaterThan(0);
    for (const s of sent) {
      // One answer each, and the model was asked once: no job ran twice.
      expect(answersTo(s).map((m) => [m.text, m.final]), s.question).toEqual([[slowReply(s.question), true]]);
      expect(runsOf(fake.requests, s.question), s.question).toHaveLength(1);
    }

    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue('chat', { connection, prefix });
    await expect
      .poll(() => queue.getJobCounts('failed', 'active', 'waiting', 'delayed'), { timeout: 10_000 })
      .toMatchObject({ failed: 0, active: 0, waiting: 0, delayed: 0 });
    const completed: Job[] = await queue.getJobs(['completed'], 0, -1);
    expect(completed).toHaveLength(sent.length);
    // No job stalled (its worker vanished) or failed an attempt.
    expect(completed.filter((job) => job.stalledCounter > 0 || job.attemptsMade > 1).map((job) => job.id)).toEqual([]);
    await queue.close();
    connection.disconnect();

    console.log(
      `rolling restarts: ${RESTARTS} SIGTERM restarts under ${sent.length} messages, ${drained} answers in flight drained, ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s; every answer once, no job stalled or retried`,
    );
  }, 240_000);
});
