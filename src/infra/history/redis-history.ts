/**
 * The `HistoryStore` port on Redis: one list of JSON entries per conversation (oldest
 * first) and a running token total beside it, both under the idle TTL. Appending and
 * trimming happen in one Lua script, so concurrent workers never corrupt the total.
 *
 * Trimming rule: one entry may cost at most half the budget (`ENTRY_BUDGET_SHARE`); a
 * larger one keeps the start of its text, cut and marked `[…truncated]`. The script then
 * drops the oldest entries until the total is within `maxTokens` and the list within
 * `maxEntries`. So the total never exceeds the budget, and the newest user+assistant
 * pair always survives, however large.
 * Commands used: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */
import type { Cluster, Redis } from 'ioredis';
import type { HistoryEntry } from '../../domain/chat.js';
import { fitEntry, type TokenCounter } from '../../domain/history-budget.js';
import type { HistoryStore, Logger } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';
import { countTokens as defaultCountTokens } from './token-counter.js';

/** Entries kept at most, whatever their tokens: bounds the work of every read. */
const DEFAULT_MAX_ENTRIES = 200;
/** Below this a truncated entry plus its framing and marker cannot fit half the budget. */
const MIN_MAX_TOKENS = 64;
/** Name of the script on the ioredis client; prefixed so it cannot clash with another module's. */
const APPEND_COMMAND = 'switchboardHistoryAppend';

/**
 * Append ids remembered per history. A rerun's append comes before any later message's
 * (jobs of a conversation run one at a time, in order), so a few are plenty.
 */
const MAX_APPEND_IDS = 16;

const APPEND_SCRIPT = `
--[[
  Appends entries to one conversation's history and trims it to its budget, atomically.
  KEYS[1]   history list: JSON entries, oldest first, each starting {"tokens":<n>,
  KEYS[2]   token total of the list
  KEYS[3]   ids of the latest appends, newest first
  ARGV[1]   token budget (integer)
  ARGV[2]   most entries kept (integer)
  ARGV[3]   idle TTL in milliseconds, set on every key
  ARGV[4]   this append's id ('' for none): an id among the latest is not appended again
  ARGV[5]   entries to remove from the end before appending (integer; /redo replaces the last exchange)
  ARGV[6..] entries to append, oldest first, as JSON
  Returns   { entries kept, token total, entries dropped }, or {-1, 0, 0} for an append
            already made; history and total are deleted when nothing is kept
]]
local function tokensOf(raw)
  -- Our entries lead with their count, so no entry text is decoded here; anything else
  -- (a foreign or corrupt element) costs what its JSON says, or nothing.
  local n = string.match(raw, '^{"tokens":(%d+)[,}]')
  if n then return tonumber(n) end
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and type(entry.tokens) == 'number' then return entry.tokens end
  return 0
end

local once = ARGV[4]
if once ~= '' then
  for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
    if id == once then return { -1, 0, 0 } end
  end
  redis.call('LPUSH', KEYS[3], once)
  redis.call('LTRIM', KEYS[3], 0, ${MAX_APPEND_IDS - 1})
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end

local maxTokens = tonumber(ARGV[1])
local maxEntries = tonumber(ARGV[2])
local length = redis.call('LLEN', KEYS[1])
local total = tonumber(redis.call('GET', KEYS[2]))
if length == 0 then
  total = 0
elseif total == nil then
  -- Entries without a readable total (deleted by hand, or written by an old version):
  -- rebuild it rather than trust zero.
  total = 0
  for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do total = total + tokensOf(raw) end
end

for _ = 1, math.min(tonumber(ARGV[5]), length) do
  total = total - tokensOf(redis.call('RPOP', KEYS[1]))
  length = length - 1
end
if total < 0 then total = 0 end

for i = 6, #ARGV do
  length = redis.call('RPUSH', KEYS[1], ARGV[i])
  total = total + tokensOf(ARGV[i])
end

local dropped = 0
while length > 0 and (total > maxTokens or length > maxEntries) do
  total = total - tokensOf(redis.call('LPOP', KEYS[1]))
  length = length - 1
  dropped = dropped + 1
end

if length == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return { 0, 0, dropped }
end
redis.call('SET', KEYS[2], total, 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { length, total, dropped }
`;

type AppendCommand = (
  historyKey: string,
  tokensKey: string,
  appendsKey: string,
  maxTokens: number,
  maxEntries: number,
  ttlMs: number,
  once: string,
  replaceLast: number,
  ...entries: string[]
) => Promise<[kept: number, total: number, dropped: number]>;

/** What `createRedisHistoryStore` needs. */
export interface RedisHistoryStoreOptions {
  /** A standalone, Sentinel or Cluster client; the store defines its script on it. */
  readonly redis: Redis | Cluster;
  readonly keys: Pick<RedisKeys, 'history' | 'historyTokens' | 'historyAppends'>;
  /** Token budget of one conversation's history (at least 64). */
  readonly maxTokens: number;
  /** Both keys expire this long after the last append. */
  readonly idleTtlSeconds: number;
  /** Defaults to `countTokens` (o200k_base). */
  readonly countTokens?: TokenCounter;
  /** Defaults to 200; at least 2, so the newest pair fits. */
  readonly maxEntries?: number;
  /** Told about truncated entries (debug) and skipped corrupt ones (warn). */
  readonly log?: Pick<Logger, 'debug' | 'warn'>;
}

/** Creates the Redis-backed history store; throws `RangeError` on invalid options. */
export function createRedisHistoryStore(options: RedisHistoryStoreOptions): HistoryStore {
  const { redis, keys, maxTokens, idleTtlSeconds, log } = options;
  const count = options.countTokens ?? defaultCountTokens;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  validate(maxTokens, idleTtlSeconds, maxEntries);
  const ttlMs = idleTtlSeconds * 1000;

  redis.defineCommand(APPEND_COMMAND, { lua: APPEND_SCRIPT, numberOfKeys: 3 });
  const appendScript = (redis as unknown as Record<typeof APPEND_COMMAND, AppendCommand>)[APPEND_COMMAND].bind(redis);

  return {
    async read(conversation) {
      const raw = await redis.lrange(keys.history(conversation), 0, -1);
      const entries: HistoryEntry[] = [];
      for (const item of raw) {
        const entry = parseEntry(item);
        if (entry) entries.push(entry);
      }
      const corrupt = raw.length - entries.length;
      if (corrupt > 0) log?.warn({ conversation, corrupt }, 'skipped corrupt history entries');
      return entries;
    },

    async append(conversation, entries, options) {
      if (entries.length === 0) return;
      const serialized = entries.map((original) => {
        const { entry, tokens, truncated } = fitEntry(original, maxTokens, count);
        if (truncated) log?.debug({ conversation, tokens, chars: original.text.length }, 'truncated history entry');
        // `tokens` first: the script reads it with a pattern instead of decoding the text.
        return JSON.stringify({
          tokens,
          role: entry.role,
          name: entry.name,
          text: entry.text,
          at: entry.at,
          ...(entry.id === undefined ? {} : { id: entry.id }),
          ...(entry.refs === undefined || entry.refs.length === 0 ? {} : { refs: entry.refs }),
        });
      });
      await appendScript(
        keys.history(conversation), keys.historyTokens(conversation), keys.historyAppends(conversation),
        maxTokens, maxEntries, ttlMs, options?.once ?? '', Math.max(0, Math.floor(options?.replaceLast ?? 0)), ...serialized,
      );
    },

    async clear(conversation) {
      await redis.del(keys.history(conversation), keys.historyTokens(conversation), keys.historyAppends(conversation));
    },
  };
}

/** Reports every invalid option at once. */
function validate(maxTokens: number, idleTtlSeconds: number, maxEntries: number): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(maxTokens) || maxTokens < MIN_MAX_TOKENS) problems.push(`maxTokens must be an integer >= ${MIN_MAX_TOKENS}, got ${maxTokens}`);
  if (!Number.isSafeInteger(idleTtlSeconds) || idleTtlSeconds < 1) problems.push(`idleTtlSeconds must be a positive integer, got ${idleTtlSeconds}`);
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 2) problems.push(`maxEntries must be an integer >= 2, got ${maxEntries}`);
  if (problems.length > 0) throw new RangeError(`invalid history store options: ${problems.join('; ')}`);
}

/** One stored element back to a `HistoryEntry`, or undefined when it is not one. */
function parseEntry(raw: string): HistoryEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { role, name, text, at, id, refs } = value as Record<string, unknown>;
  if (role !== 'user' && role !== 'assistant') return undefined;
  if (typeof name !== 'string' || typeof text !== 'string' || typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  const ids = Array.isArray(refs) ? refs.filter((ref): ref is string => typeof ref === 'string') : [];
  return { role, name, text, at, ...(typeof id === 'string' ? { id } : {}), ...(ids.length > 0 ? { refs: ids } : {}) };
}
