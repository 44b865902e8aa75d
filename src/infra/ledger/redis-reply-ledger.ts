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

/* KEYS[1] the job's ledger; ARGV[1] sequence, ARGV[2] entry (JSON), ARGV[3] TTL in seconds. One round trip, no MULTI. */
const RECORD_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
`;

interface RecordCommand {
  sbLedgerRecord(key: string, sequence: number, entry: string, ttlSeconds: number): Promise<number>;
}

export function createRedisReplyLedger(options: { readonly redis: Redis; readonly keys: RedisKeys }): ReplyLedger {
  const { redis, keys } = options;
  const r = redis as Redis & Partial<RecordCommand>;
  if (typeof r.sbLedgerRecord !== 'function') redis.defineCommand('sbLedgerRecord', { numberOfKeys: 1, lua: RECORD_LUA });
  const commands = redis as Redis & RecordCommand;
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
      await commands.sbLedgerRecord(keys.ledger(jobId), sequence, JSON.stringify(entry), LEDGER_TTL_SECONDS);
    },
  };
}
