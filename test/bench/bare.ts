/**
 * The ceiling: BullMQ adding and processing no-op jobs on this machine's Redis, with
 * nothing of Switchboard in the way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

export const BARE_JOBS = 5_000;
export const BARE_CONCURRENCY = 64;
const LIMIT_MS = 25_000;

/** No-op jobs added and processed a second. */
export async function bareBullmq(redisUrl: string): Promise<number> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection, prefix: 'barebench' });
  let done = 0;
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker('bare', async () => 'ok', { connection, prefix: 'barebench', concurrency: BARE_CONCURRENCY });
  worker.on('completed', () => {
    if (++done === BARE_JOBS) finished();
  });
  await worker.waitUntilReady();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: BARE_CONCURRENCY }, async () => {
      while (next < BARE_JOBS) {
        const i = next++;
        await queue.add('bare', { i }, { jobId: `bare-${i}`, removeOnComplete: true });
      }
    }),
  );
  await Promise.race([allDone, sleep(LIMIT_MS)]);
  const seconds = (performance.now() - start) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return done / seconds;
}
