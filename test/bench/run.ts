/**
 * `npm run bench`: prints figures, asserts nothing. Everything on 127.0.0.1, bounded in
 * count and time, and stopped at the end.
 *
 * 1. Bare BullMQ: add-and-process rate of no-op jobs on this machine (the ceiling).
 * 2. End to end: messages per second from a playground POST to the final reply event,
 *    through the real service process (`src/main.ts --role all`) and a zero-latency fake
 *    upstream in its own process; and its ratio to (1).
 * 3. Added latency (p50/p99) at a fixed offered load.
 * 4. RSS of an idle worker process, compiled (as in the Docker image) and through tsx.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';
import { buildInto, ROOT, rssMiB, startChild, type Child } from './processes.js';

const BARE_JOBS = 5_000;
const E2E_MESSAGES = 3_000;
const E2E_CHANNELS = 300;
const POSTS_IN_FLIGHT = 64;
const OFFERED_RATE_PER_S = 200;
const OFFERED_SECONDS = 10;
const IDLE_SETTLE_MS = 5_000;
const CONCURRENCY = 64;
const WAIT_LIMIT_MS = 120_000;
const PREFIX = 'bench';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function bareBullmq(redisUrl: string): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection, prefix: 'barebench' });
  let done = 0;
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker('bare', async () => 'ok', { connection, prefix: 'barebench', concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done === BARE_JOBS) finished();
  });
  await worker.waitUntilReady();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: POSTS_IN_FLIGHT }, async () => {
      while (next < BARE_JOBS) {
        const i = next++;
        await queue.add('bare', { i }, { jobId: `bare-${i}`, removeOnComplete: true });
      }
    }),
  );
  await Promise.race([allDone, sleep(WAIT_LIMIT_MS)]);
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return done / seconds;
}

/** Follows every playground channel's events; resolves reply waiters by the message they answer. */
async function replyWatcher(redisUrl: string): Promise<{ waitFor(id: string): Promise<number>; close(): void }> {
  const subscriber = new Redis(redisUrl);
  const waiters = new Map<string, (at: number) => void>();
  const early = new Map<string, number>();
  await subscriber.psubscribe(`${PREFIX}:pubsub:web:channel:*`);
  subscriber.on('pmessage', (_pattern, _channel, raw: string) => {
    const event = JSON.parse(raw) as { type: string; message?: { role: string; final: boolean; replyTo?: string } };
    const m = event.message;
    if (event.type !== 'message' || !m || m.role !== 'assistant' || !m.final || !m.replyTo) return;
    const at = performance.now();
    const waiter = waiters.get(m.replyTo);
    if (waiter) waiter(at);
    else early.set(m.replyTo, at);
  });
  return {
    waitFor: (id) =>
      new Promise((resolve) => {
        const at = early.get(id);
        if (at !== undefined) resolve(at);
        else waiters.set(id, resolve);
      }),
    close: () => subscriber.disconnect(),
  };
}

async function post(baseUrl: string, channel: string, id: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/channels/${channel}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, text: 'How are you today?', author: 'bench' }),
  });
  if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${await response.text()}`);
}

async function throughput(baseUrl: string, watcher: Awaited<ReturnType<typeof replyWatcher>>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const replies: Promise<number>[] = [];
  await Promise.all(
    Array.from({ length: POSTS_IN_FLIGHT }, async () => {
      while (next < E2E_MESSAGES) {
        const i = next++;
        const id = randomUUID();
        replies.push(watcher.waitFor(id));
        await post(baseUrl, `t${i % E2E_CHANNELS}`, id);
      }
    }),
  );
  const last = Math.max(...(await Promise.race([Promise.all(replies), sleep(WAIT_LIMIT_MS).then(() => [NaN])])));
  return E2E_MESSAGES / ((last - start) / 1000);
}

async function latency(baseUrl: string, watcher: Awaited<ReturnType<typeof replyWatcher>>): Promise<number[]> {
  const total = OFFERED_RATE_PER_S * OFFERED_SECONDS;
  const interval = 1000 / OFFERED_RATE_PER_S;
  const samples: Promise<number>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const id = randomUUID();
    const sent = performance.now();
    const reply = watcher.waitFor(id);
    samples.push(post(baseUrl, `l${i % E2E_CHANNELS}`, id).then(() => reply).then((at) => at - sent));
  }
  const values = await Promise.race([Promise.all(samples), sleep(WAIT_LIMIT_MS).then(() => [] as number[])]);
  return values.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-bench-'));
  const redis = await startEmbeddedRedis({ dataDir, persistence: false });
  const children: Child[] = [];
  try {
    console.log(`Switchboard benchmark on 127.0.0.1 (${process.platform}, Node ${process.versions.node})`);
    const bare = await bareBullmq(redis.url);
    console.log(`bare BullMQ add+process:        ${bare.toFixed(0)} jobs/s (${BARE_JOBS} no-op jobs, concurrency ${CONCURRENCY})`);

    const upstream = await startChild('test/bench/fake-upstream.ts', [], {}, (line) => typeof line['url'] === 'string');
    children.push(upstream);
    const env = {
      REDIS_URL: redis.url,
      OPENAI_BASE_URL: String(upstream.readyLine['url']),
      OPENAI_API_KEY: 'sk-bench-not-a-real-key',
      QUEUE_PREFIX: PREFIX,
      CHAT_CONCURRENCY: String(CONCURRENCY),
      LOG_LEVEL: 'warn',
    };
    const service = await startChild('src/main.ts', ['--role', 'all'], { ...env, PORT: '0', LOG_LEVEL: 'info' }, (line) =>
      String(line['msg'] ?? '').startsWith('playground at'),
    );
    children.push(service);
    const baseUrl = String(service.readyLine['url']);
    const watcher = await replyWatcher(redis.url);

    const e2e = await throughput(baseUrl, watcher);
    console.log(`end to end (playground → reply): ${e2e.toFixed(0)} messages/s (${E2E_MESSAGES} messages, ${E2E_CHANNELS} channels)`);
    console.log(`ratio end-to-end / bare:         ${(e2e / bare).toFixed(2)}`);

    const samples = await latency(baseUrl, watcher);
    console.log(
      `added latency at ${OFFERED_RATE_PER_S} msg/s:       p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms (${samples.length} messages)`,
    );
    console.log(`RSS of the all-in-one service:   ${(await rssMiB(service.process.pid!)).toFixed(0)} MiB after the load`);
    watcher.close();

    const workerReady = (line: Record<string, unknown>) => String(line['msg'] ?? '') === 'worker ready';
    const workerEnv = { ...env, PORT: '0', LOG_LEVEL: 'info' };
    const viaTsx = await startChild('src/main.ts', ['--role', 'worker'], workerEnv, workerReady);
    children.push(viaTsx);
    // Inside the project, so the build finds node_modules and package.json (type: module).
    const buildDir = path.join(ROOT, 'dist');
    await buildInto(buildDir);
    const compiled = await startChild(path.join(buildDir, 'src', 'main.js'), ['--role', 'worker'], workerEnv, workerReady);
    children.push(compiled);
    await sleep(IDLE_SETTLE_MS);
    console.log(`RSS of an idle worker process:   ${(await rssMiB(compiled.process.pid!)).toFixed(0)} MiB compiled (as in the Docker image), ${(await rssMiB(viaTsx.process.pid!)).toFixed(0)} MiB through tsx (npm start)`);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
