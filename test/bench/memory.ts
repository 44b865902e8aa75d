/**
 * Redis memory per active conversation: INFO used_memory before and after a number of new
 * playground conversations with history, and what one such conversation's own keys hold
 * by MEMORY USAGE. The playground is used because it has no platform limits; a Telegram
 * or Discord conversation keeps the same keys.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { throughput, type Driver } from './measure.js';
import { fmt, usedMemory } from './service.js';

const MEMORY_CONVERSATIONS = 1_000;
const MEMORY_EXCHANGES = 3;
/** Conversation numbers far from the other phases'. */
const BASE = 900_000;
const WINDOW = 256;
const LIMIT_MS = 25_000;
/** Long enough for nothing to be in flight and short-lived keys (rate-limit windows) to be gone. */
const SETTLE_MS = 1_500;
/** Conversations whose keys are looked at one by one. */
const SAMPLE = 20;

/** What kind of per-conversation state a key is, by its name (src/infra/redis/keys.ts). */
function stateOf(key: string): string {
  if (key.includes(':msg:')) return 'dedupe records';
  if (key.includes(':ledger:')) return 'reply ledgers';
  if (key.endsWith(':history') || key.endsWith(':tokens') || key.endsWith(':appends')) return 'history';
  if (key.includes(':{c:')) return 'ordering';
  return 'finished job records';
}

/** Redis bytes per conversation: used_memory before and after MEMORY_CONVERSATIONS new conversations of MEMORY_EXCHANGES exchanges. */
export async function memoryPerConversation(redis: Redis, driver: Driver, prefix: string): Promise<string[]> {
  // Settled: nothing in flight, short-lived keys gone.
  await sleep(SETTLE_MS);
  const before = await usedMemory(redis);
  for (let round = 0; round < MEMORY_EXCHANGES; round++) {
    await throughput(driver, { messages: MEMORY_CONVERSATIONS, window: WINDOW, conversations: MEMORY_CONVERSATIONS, base: BASE, limitMs: LIMIT_MS });
  }
  await sleep(SETTLE_MS);
  const after = await usedMemory(redis);
  // The keys of a few conversations by kind, as MEMORY USAGE counts them.
  const bytes = new Map<string, number>();
  for (let c = 0; c < SAMPLE; c++) {
    for (const key of await scanAll(redis, `${prefix}:*c${BASE + c}[:}]*`)) {
      const kind = stateOf(key);
      bytes.set(kind, (bytes.get(kind) ?? 0) + Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')));
    }
  }
  const kinds = [...bytes].map(([kind, total]) => `${kind} ${fmt(total / SAMPLE)} B`).join(', ');
  return [
    `Redis memory per active conversation: ${fmt((after - before) / MEMORY_CONVERSATIONS / 1024, 1)} KiB (used_memory +${fmt((after - before) / 1024 / 1024, 1)} MiB ` +
      `for ${fmt(MEMORY_CONVERSATIONS)} new conversations of ${MEMORY_EXCHANGES} exchanges each)`,
    `  one such conversation's keys by MEMORY USAGE: ${kinds} (dedupe records live 48 h and reply ledgers 1 h per message; finished jobs are kept 1,000 per queue)`,
  ];
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}
