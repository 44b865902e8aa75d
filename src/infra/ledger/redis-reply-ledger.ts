/**
 * The ReplyLedger port in Redis: one hash per job (sequence → where the message went and
 * its id), kept an hour: longer than any job's retries and stalls (attempts back off from
 * 1 s; a stalled job is picked up within seconds), and short enough that ledgers of
 * finished jobs do not pile up at a thousand messages a second.
 */
import type { Redis } from 'ioredis';
import type { LedgerEntry, ReplyLedger } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

export const LEDGER_TTL_SECONDS = 3600;

export function createRedisReplyLedger(options: { readonly redis: Redis; readonly keys: RedisKeys }): ReplyLedger {
  const { redis, keys } = options;
  return {
    async load(jobId) {
      const stored = await redis.hgetall(keys.ledger(jobId));
      const entries = new Map<number, LedgerEntry>();
      for (const [sequence, json] of Object.entries(stored)) {
        try {
          entries.set(Number(sequence), JSON.parse(json) as LedgerEntry);
        } catch {
          // A corrupt entry only costs the dedupe of one message.
        }
      }
      return entries;
    },
    async record(jobId, sequence, entry) {
      const key = keys.ledger(jobId);
      await redis.multi().hset(key, String(sequence), JSON.stringify(entry)).expire(key, LEDGER_TTL_SECONDS).exec();
    },
  };
}
