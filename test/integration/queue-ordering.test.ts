import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { ChatJob, ChatResult } from '../../src/domain/jobs.js';
import { createJobQueue, createJobWorkers, type JobWorkers, type ManagedJobQueue } from '../../src/infra/queue/index.js';
import { createRedisConnection, waitForReady } from '../../src/infra/redis/connection.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { createOrdering, PENDING_CLAIM_MS } from '../../src/infra/queue/ordering.js';
import { AiApiError } from '../../src/domain/errors.js';
import type { JobContext } from '../../src/ports/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function message(conversation: string, id: string, text = id): ChatJob {
  return {
    conversation,
    message: {
      chat: { platform: 'web', id: conversation, kind: 'dm' },
      author: { id: 'u1', displayName: 'Ann', isBot: false },
      messageId: id,
      text,
      attachments: [],
      addressed: true,
      receivedAt: Date.now(),
    },
  };
}

interface Harness {
  queue: ManagedJobQueue;
  workers: JobWorkers[];
  connections: Redis[];
  prefix: string;
}

let harness: Harness | undefined;

async function setup(
  handler: (payload: ChatJob, context: JobContext) => Promise<ChatResult>,
  { workerProcesses = 1, concurrency = 8, attempts = 3, gapGraceMs = 15_000 } = {},
): Promise<Harness> {
  const url = testRedisUrl();
  const prefix = uniquePrefix('order');
  const keys = createRedisKeys(prefix);
  const producer = createRedisConnection(url, 'producer');
  const connections: Redis[] = [producer];
  const workers: JobWorkers[] = [];
  for (let i = 0; i < workerProcesses; i++) {
    const connection = createRedisConnection(url, 'worker');
    connections.push(connection);
    workers.push(createJobWorkers({ connection, keys, handlers: { chat: handler }, concurrency: { chat: concurrency }, log, gapGraceMs }));
  }
  await Promise.all(connections.map((connection) => waitForReady(connection)));
  harness = { queue: createJobQueue({ connection: producer, keys, attempts }), workers, connections, prefix };
  return harness;
}

afterEach(async () => {
  if (!harness) return;
  await Promise.all(harness.workers.map((w) => w.close(1000)));
  await harness.queue.close();
  const cleanup = new Redis(testRedisUrl());
  const keys = await cleanup.keys(`${harness.prefix}:*`);
  if (keys.length) await cleanup.del(...keys);
  cleanup.disconnect();
  harness.connections.forEach((c) => c.disconnect());
  harness = undefined;
});

const ok: ChatResult = { replied: true, messagesSent: 1, outcome: 'answered' };

describe('per-conversation ordering across workers', () => {
  it('runs one conversation in order, one at a time, while other conversations run in parallel', async () => {
    const order = new Map<string, string[]>();
    const active = new Map<string, number>();
    let overlapped = false;
    let maxParallel = 0;
    let running = 0;
    const { queue } = await setup(
      async ({ conversation, message: m }) => {
        running++;
        maxParallel = Math.max(maxParallel, running);
        const now = (active.get(conversation) ?? 0) + 1;
        active.set(conversation, now);
        if (now > 1) overlapped = true;
        await sleep(10 + Math.random() * 40);
        order.set(conversation, [...(order.get(conversation) ?? []), m.messageId]);
        active.set(conversation, (active.get(conversation) ?? 1) - 1);
        running--;
        return ok;
      },
      { workerProcesses: 2, concurrency: 4 },
    );

    const conversations = ['a', 'b', 'c', 'd'];
    await Promise.all(
      conversations.map(async (c) => {
        for (let i = 1; i <= 4; i++) await queue.enqueue('chat', message(c, `${c}${i}`), { jobId: `web:${c}:${c}${i}` });
      }),
    );
    await expect.poll(() => [...order.values()].flat().length, { timeout: 15_000 }).toBe(16);
    for (const c of conversations) expect(order.get(c)).toEqual([`${c}1`, `${c}2`, `${c}3`, `${c}4`]);
    expect(overlapped).toBe(false);
    expect(maxParallel).toBeGreaterThan(1);
  });

  it('enqueues a redelivered message once', async () => {
    let runs = 0;
    const { queue } = await setup(async () => {
      runs++;
      return ok;
    });
    const first = await queue.enqueue('chat', message('x', 'm1'), { jobId: 'web:x:m1' });
    const again = await queue.enqueue('chat', message('x', 'm1'), { jobId: 'web:x:m1' });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    await expect.poll(() => runs, { timeout: 5_000 }).toBe(1);
    await sleep(300);
    expect(await queue.enqueue('chat', message('x', 'm1'), { jobId: 'web:x:m1' })).toMatchObject({ duplicate: true });
    expect(runs).toBe(1);
  });

  it('has written down every added message by the time the producer has closed', async () => {
    const { queue, prefix } = await setup(async () => ok);
    for (let i = 1; i <= 20; i++) await queue.enqueue('chat', message('z', `m${i}`), { jobId: `web:z:m${i}` });
    // The "added" marks are off the enqueue path; closing waits for them.
    await queue.close();
    const redis = new Redis(testRedisUrl());
    const keys = createRedisKeys(prefix);
    const records = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.get(keys.dedupe('z', `web:z:m${i + 1}`))));
    redis.disconnect();
    expect(records).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}:added`));
  });

  it('reports a message posted several times at once as new exactly once', async () => {
    let runs = 0;
    const { queue } = await setup(async () => {
      runs++;
      return ok;
    });
    const results = await Promise.all(Array.from({ length: 6 }, () => queue.enqueue('chat', message('w', 'm1'), { jobId: 'web:w:m1' })));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    await expect.poll(() => runs, { timeout: 5_000 }).toBe(1);
  });

  it('re-adds a message whose producer died between claiming and adding it', async () => {
    const { connections, prefix } = await setup(async () => ok);
    let clock = 1_000_000;
    const ordering = createOrdering(connections[0]!, createRedisKeys(prefix), { now: () => clock });
    const first = await ordering.accept('v', 'web:v:m1');
    expect(first.alreadyAdded).toBe(false);
    // Another producer while the first is still adding: it is told to ask again shortly.
    expect(await ordering.accept('v', 'web:v:m1')).toEqual({ ticket: first.ticket, alreadyAdded: false, beingAdded: true, runnable: false });
    // The first never confirmed: a redelivery later takes over, with the same ticket.
    clock += PENDING_CLAIM_MS + 1;
    expect(await ordering.accept('v', 'web:v:m1')).toEqual({ ticket: first.ticket, alreadyAdded: false, beingAdded: false, runnable: true });
    await ordering.markAdded('v', 'web:v:m1', first.ticket);
    clock += PENDING_CLAIM_MS * 100;
    expect(await ordering.accept('v', 'web:v:m1')).toEqual({ ticket: first.ticket, alreadyAdded: true, beingAdded: false, runnable: false });
  });

  it('tells a message whose predecessors have all finished that it may run whenever it is picked up', async () => {
    const { connections, prefix } = await setup(async () => ok);
    const ordering = createOrdering(connections[0]!, createRedisKeys(prefix));
    expect(await ordering.accept('r', 'web:r:a')).toMatchObject({ ticket: 1, runnable: true });
    // b comes while a is unfinished: b must look whether its turn has come.
    expect(await ordering.accept('r', 'web:r:b')).toMatchObject({ ticket: 2, runnable: false });
    await ordering.finish('r', 1);
    await ordering.finish('r', 2);
    expect(await ordering.accept('r', 'web:r:c')).toMatchObject({ ticket: 3, runnable: true });
  });

  it('gives up its claim when the add fails, so the next try takes it over at once with the same ticket', async () => {
    const { connections, prefix, queue } = await setup(async () => ok);
    const ordering = createOrdering(connections[0]!, createRedisKeys(prefix));
    // BullMQ refuses this id ("Custom Id cannot contain :"): the add fails after the claim.
    await expect(queue.enqueue('chat', message('f', 'm1'), { jobId: 'web:f:m1:x' })).rejects.toThrow();
    const retry = await ordering.accept('f', 'web:f:m1:x');
    expect(retry).toEqual({ ticket: 1, alreadyAdded: false, beingAdded: false, runnable: true });
    // Without the release, a retry would have been told to wait for the failed producer.
    const held = await ordering.accept('f', 'web:f:m2');
    expect(await ordering.accept('f', 'web:f:m2')).toEqual({ ticket: held.ticket, alreadyAdded: false, beingAdded: true, runnable: false });
  });

  it('holds later messages while an earlier one is retried, and releases them after a final failure', async () => {
    const seen: string[] = [];
    const { queue } = await setup(
      async ({ message: m }, context) => {
        seen.push(`${m.messageId}#${context.attempt}`);
        if (m.messageId === 'm1') throw new AiApiError('upstream down', 503, undefined, undefined, undefined);
        return ok;
      },
      { attempts: 2 },
    );
    await queue.enqueue('chat', message('y', 'm1'), { jobId: 'web:y:m1' });
    await queue.enqueue('chat', message('y', 'm2'), { jobId: 'web:y:m2' });
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(3);
    expect(seen).toEqual(['m1#1', 'm1#2', 'm2#1']);
  });

  it('skips a ticket whose job was never added (producer died in between)', async () => {
    const seen: string[] = [];
    const { queue, connections, prefix } = await setup(
      async ({ message: m }) => {
        seen.push(m.messageId);
        return ok;
      },
      { gapGraceMs: 500 },
    );
    // Take ticket 1 for a message whose job never reaches the queue.
    await createOrdering(connections[0]!, createRedisKeys(prefix)).accept('z', 'web:z:lost');
    await queue.enqueue('chat', message('z', 'm2'), { jobId: 'web:z:m2' });
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['m2']);
  });

  it('tells a run whose lock was lost (its worker too busy to renew it) that the job is no longer its own', async () => {
    let ownedAtStart: boolean | undefined;
    let sawLoss = false;
    const { queue, prefix } = await setup(async (_payload, context) => {
      ownedAtStart = context.owned?.();
      const lockKey = `${prefix}:chat:${context.jobId}:lock`;
      // The lock expires as if the renewals had come too late; the next renewal finds it gone.
      const redis = new Redis(testRedisUrl());
      await redis.del(lockKey);
      redis.disconnect();
      for (let i = 0; i < 100 && !sawLoss; i++) {
        await sleep(100);
        sawLoss = context.owned?.() === false;
      }
      return ok;
    });
    await queue.enqueue('chat', message('lost', 'm1'), { jobId: 'web:lost:m1' });
    await expect.poll(() => sawLoss, { timeout: 15_000, interval: 100 }).toBe(true);
    expect(ownedAtStart).toBe(true);
  }, 20_000);

  it('does not count a renewal that failed because the job had just been parked for its turn against its later run', async () => {
    // A busy worker: the first message's run holds the event loop for 1.2 s at a time, so
    // the lock renewals (due every second) go out while the later messages, parked as
    // delayed until their turn, still look active to BullMQ. A renewal that reaches Redis
    // after the park finds no lock and is reported failed: the lock was given back, not lost.
    const ownedAtStart = new Map<string, boolean | undefined>();
    let allQueued = (): void => undefined;
    const queued = new Promise<void>((resolve) => (allQueued = resolve));
    const { queue } = await setup(
      async ({ message: m }, context) => {
        if (m.messageId === 'm1') {
          // Busy once the later messages are on the queue (this process enqueues them too).
          await queued;
          const until = performance.now() + 6_000;
          while (performance.now() < until) {
            const end = performance.now() + 1_200;
            while (performance.now() < end) {
              // busy
            }
            await new Promise((resolve) => setImmediate(resolve));
          }
          return ok;
        }
        ownedAtStart.set(m.messageId, context.owned?.());
        return ok;
      },
      { concurrency: 8 },
    );
    for (let i = 1; i <= 6; i++) await queue.enqueue('chat', message('busy', `m${i}`), { jobId: `web:busy:m${i}` });
    allQueued();
    await expect.poll(() => ownedAtStart.size, { timeout: 30_000, interval: 100 }).toBe(5);
    expect(Object.fromEntries(ownedAtStart)).toEqual({ m2: true, m3: true, m4: true, m5: true, m6: true });
  }, 40_000);
});
