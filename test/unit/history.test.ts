import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { countTokens as exactO200k } from 'gpt-tokenizer/encoding/o200k_base';
import type { HistoryEntry } from '../../src/domain/chat.js';
import { entryTokenLimit, messageTokens, TRUNCATION_MARKER, truncateText } from '../../src/domain/history-budget.js';
import { countTokens, createRedisHistoryStore } from '../../src/infra/history/index.js';
import { createRedisKeys, type RedisKeys } from '../../src/infra/redis/keys.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const TTL_SECONDS = 60;
const CONVERSATION = 'telegram:42';

/** Every client a test opened, and every prefix it wrote under: closed and deleted after it. */
const opened: Redis[] = [];
const prefixes: string[] = [];

function connect(): Redis {
  const client = new Redis(testRedisUrl());
  opened.push(client);
  return client;
}

function freshKeys(): RedisKeys {
  const prefix = uniquePrefix('hist');
  prefixes.push(prefix);
  return createRedisKeys(prefix);
}

afterEach(async () => {
  const admin = new Redis(testRedisUrl());
  for (const prefix of prefixes.splice(0)) {
    const found = await admin.keys(`${prefix}:*`);
    if (found.length > 0) await admin.del(...found);
  }
  admin.disconnect();
  for (const client of opened.splice(0)) client.disconnect();
});

function entry(index: number, text = `message number ${index}`): HistoryEntry {
  return { role: index % 2 === 0 ? 'user' : 'assistant', name: index % 2 === 0 ? 'alice' : 'bot', text, at: 1_700_000_000_000 + index };
}

/** The stored elements as written, tokens included. */
async function storedRaw(redis: Redis, keys: RedisKeys): Promise<Array<HistoryEntry & { tokens: number }>> {
  return (await redis.lrange(keys.history(CONVERSATION), 0, -1)).map((raw) => JSON.parse(raw) as HistoryEntry & { tokens: number });
}

async function storedTotal(redis: Redis, keys: RedisKeys): Promise<number> {
  return Number(await redis.get(keys.historyTokens(CONVERSATION)));
}

describe('redis history store', () => {
  it('reads back what was appended, oldest first, without the token field', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 10_000, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0), entry(1)]);
    await store.append(CONVERSATION, [entry(2), entry(3)]);

    expect(await store.read(CONVERSATION)).toEqual([entry(0), entry(1), entry(2), entry(3)]);
    expect(await store.read('telegram:other')).toEqual([]);
    const raw = await storedRaw(redis, keys);
    expect(raw.map((e) => e.tokens)).toEqual([0, 1, 2, 3].map((i) => messageTokens(entry(i), countTokens)));
    expect(await storedTotal(redis, keys)).toBe(raw.reduce((sum, e) => sum + e.tokens, 0));
  });

  it('keeps the message ids a turn was and carried, and replaces the last exchange in one step', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 10_000, idleTtlSeconds: TTL_SECONDS });
    const asked: HistoryEntry = { ...entry(2, 'what does this say?'), id: '42', refs: ['41'] };
    await store.append(CONVERSATION, [entry(0), entry(1), asked, entry(3, 'first answer')]);
    expect((await store.read(CONVERSATION))[2]).toEqual(asked);

    await store.append(CONVERSATION, [asked, entry(3, 'second answer')], { replaceLast: 2 });
    const after = await store.read(CONVERSATION);
    expect(after.map((e) => e.text)).toEqual(['message number 0', 'message number 1', 'what does this say?', 'second answer']);
    // The running total is what is stored, the replaced entries' tokens gone.
    const raw = await storedRaw(redis, keys);
    expect(await storedTotal(redis, keys)).toBe(raw.reduce((sum, e) => sum + e.tokens, 0));
    // A rerun of the same job replaces nothing twice.
    await store.append(CONVERSATION, [asked, entry(3, 'third answer')], { replaceLast: 2, once: 'job-1' });
    await store.append(CONVERSATION, [asked, entry(3, 'third answer')], { replaceLast: 2, once: 'job-1' });
    expect((await store.read(CONVERSATION)).map((e) => e.text)).toEqual(['message number 0', 'message number 1', 'what does this say?', 'third answer']);
  });

  it('drops the oldest entries first and keeps the total equal to what is stored', async () => {
    const redis = connect();
    const keys = freshKeys();
    const maxTokens = 100;
    const store = createRedisHistoryStore({ redis, keys, maxTokens, idleTtlSeconds: TTL_SECONDS });
    const all = Array.from({ length: 20 }, (_, i) => entry(i, `turn ${i}: ${'word '.repeat(i % 5)}`));
    for (const e of all) await store.append(CONVERSATION, [e]);

    // Reference: the longest suffix of `all` whose costs fit the budget.
    const costs = all.map((e) => messageTokens(e, countTokens));
    let expectedStart = all.length;
    let sum = 0;
    while (expectedStart > 0 && sum + costs[expectedStart - 1]! <= maxTokens) sum += costs[--expectedStart]!;

    const kept = await store.read(CONVERSATION);
    expect(kept.length).toBeLessThan(all.length);
    expect(kept).toEqual(all.slice(expectedStart));
    expect(await storedTotal(redis, keys)).toBe(sum);
    expect(sum).toBeLessThanOrEqual(maxTokens);
  });

  it('caps the number of entries at maxEntries', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 10_000, idleTtlSeconds: TTL_SECONDS, maxEntries: 5 });
    const all = Array.from({ length: 8 }, (_, i) => entry(i));
    await store.append(CONVERSATION, all.slice(0, 3));
    await store.append(CONVERSATION, all.slice(3));

    expect(await store.read(CONVERSATION)).toEqual(all.slice(3));
    const raw = await storedRaw(redis, keys);
    expect(await storedTotal(redis, keys)).toBe(raw.reduce((s, e) => s + e.tokens, 0));
  });

  it('sets the idle TTL on both keys and refreshes it on append', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0)]);
    for (const key of [keys.history(CONVERSATION), keys.historyTokens(CONVERSATION)]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan((TTL_SECONDS - 5) * 1000);
      expect(ttl).toBeLessThanOrEqual(TTL_SECONDS * 1000);
      // Age the key, as if the conversation had been idle.
      await redis.pexpire(key, 2_000);
    }

    await store.append(CONVERSATION, [entry(1)]);
    for (const key of [keys.history(CONVERSATION), keys.historyTokens(CONVERSATION)]) {
      expect(await redis.pttl(key)).toBeGreaterThan((TTL_SECONDS - 5) * 1000);
    }
  });

  it('records an exchange once when the same job appends it again, and appends of other jobs as usual', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 10_000, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0), entry(1)], { once: 'telegram:1:10' });
    // The same job, run again after its first run was cut off past this point.
    await store.append(CONVERSATION, [entry(0), entry(1)], { once: 'telegram:1:10' });
    await store.append(CONVERSATION, [entry(2), entry(3)], { once: 'telegram:1:11' });
    await store.append(CONVERSATION, [entry(4)]);
    expect(await store.read(CONVERSATION)).toEqual([entry(0), entry(1), entry(2), entry(3), entry(4)]);
    expect(await storedTotal(redis, keys)).toBe([0, 1, 2, 3, 4].reduce((sum, i) => sum + messageTokens(entry(i), countTokens), 0));
    await store.clear(CONVERSATION);
    // After /reset the same id may be recorded again (a new history).
    await store.append(CONVERSATION, [entry(0)], { once: 'telegram:1:10' });
    expect(await store.read(CONVERSATION)).toEqual([entry(0)]);
  });

  it('clear deletes both keys', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0), entry(1)]);
    await store.clear(CONVERSATION);

    expect(await redis.exists(keys.history(CONVERSATION), keys.historyTokens(CONVERSATION))).toBe(0);
    expect(await store.read(CONVERSATION)).toEqual([]);
    await store.append(CONVERSATION, [entry(2)]);
    expect(await storedTotal(redis, keys)).toBe(messageTokens(entry(2), countTokens));
  });

  it('keeps the total exact under 50 concurrent appends from two connections', async () => {
    const keys = freshKeys();
    const maxTokens = 300;
    const stores = [connect(), connect()].map((redis) => createRedisHistoryStore({ redis, keys, maxTokens, idleTtlSeconds: TTL_SECONDS }));
    const appends = Array.from({ length: 50 }, (_, i) =>
      stores[i % 2]!.append(CONVERSATION, [entry(2 * i, `question ${i} ${'why '.repeat(i % 7)}`), entry(2 * i + 1, `answer ${i}`)]),
    );
    await Promise.all(appends);

    const redis = connect();
    const raw = await storedRaw(redis, keys);
    const total = await storedTotal(redis, keys);
    expect(raw.length).toBeGreaterThan(1);
    expect(total).toBe(raw.reduce((s, e) => s + e.tokens, 0));
    expect(total).toBeLessThanOrEqual(maxTokens);
    // Each append pushed its pair in one step: no entry twice, and every kept question
    // is directly followed by its own answer.
    const ats = raw.map((e) => e.at - entry(0).at);
    expect(new Set(ats).size).toBe(ats.length);
    ats.forEach((at, i) => {
      if (at % 2 === 0) expect(ats[i + 1]).toBe(at + 1);
    });
  });

  it('survives a new client connection, as after a service restart', async () => {
    const keys = freshKeys();
    const first = new Redis(testRedisUrl());
    await createRedisHistoryStore({ redis: first, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS }).append(CONVERSATION, [entry(0), entry(1)]);
    await first.quit();

    const second = createRedisHistoryStore({ redis: connect(), keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    expect(await second.read(CONVERSATION)).toEqual([entry(0), entry(1)]);
    await second.append(CONVERSATION, [entry(2)]);
    expect(await second.read(CONVERSATION)).toEqual([entry(0), entry(1), entry(2)]);
  });

  it('cuts a 50,000-character entry to half the budget and keeps the newest pair', async () => {
    const redis = connect();
    const keys = freshKeys();
    const maxTokens = 2_000;
    const store = createRedisHistoryStore({ redis, keys, maxTokens, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0), entry(1)]);
    const huge = Array.from({ length: 5_000 }, (_, i) => `w${i % 97} `).join('').padEnd(50_000, 'x').slice(0, 50_000);
    await store.append(CONVERSATION, [entry(2, huge), entry(3, 'short answer')]);

    const kept = await store.read(CONVERSATION);
    const raw = await storedRaw(redis, keys);
    const total = await storedTotal(redis, keys);
    expect(kept.slice(-2).map((e) => e.at)).toEqual([entry(2).at, entry(3).at]);
    const cut = kept.at(-2)!.text;
    expect(cut.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(huge.startsWith(cut.slice(0, -TRUNCATION_MARKER.length))).toBe(true);
    expect(cut.length).toBeGreaterThan(1_000);
    expect(raw.at(-2)!.tokens).toBeLessThanOrEqual(entryTokenLimit(maxTokens));
    expect(raw.at(-2)!.tokens).toBe(messageTokens(kept.at(-2)!, countTokens));
    expect(total).toBe(raw.reduce((s, e) => s + e.tokens, 0));
    expect(total).toBeLessThanOrEqual(maxTokens);
  });

  it('skips corrupt list elements on read and keeps appending', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    const warnings: object[] = [];
    const logged = createRedisHistoryStore({
      redis,
      keys,
      maxTokens: 1_000,
      idleTtlSeconds: TTL_SECONDS,
      log: { debug: () => {}, warn: (fields) => warnings.push(fields) },
    });
    await store.append(CONVERSATION, [entry(0)]);
    await redis.rpush(keys.history(CONVERSATION), 'not json {', '{"role":"system","name":"x","text":"y","at":1}', 'null');
    await store.append(CONVERSATION, [entry(1)]);

    expect(await logged.read(CONVERSATION)).toEqual([entry(0), entry(1)]);
    expect(warnings).toEqual([{ conversation: CONVERSATION, corrupt: 3 }]);
    expect(await storedTotal(redis, keys)).toBe(messageTokens(entry(0), countTokens) + messageTokens(entry(1), countTokens));
  });

  it('rebuilds a missing token total from the stored entries', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    await store.append(CONVERSATION, [entry(0), entry(1)]);
    await redis.del(keys.historyTokens(CONVERSATION));
    await store.append(CONVERSATION, [entry(2)]);

    expect(await storedTotal(redis, keys)).toBe([0, 1, 2].reduce((s, i) => s + messageTokens(entry(i), countTokens), 0));
  });

  it('stores emoji, CJK and a lone surrogate intact with an exact total', async () => {
    const redis = connect();
    const keys = freshKeys();
    const store = createRedisHistoryStore({ redis, keys, maxTokens: 1_000, idleTtlSeconds: TTL_SECONDS });
    const texts = ['héllo 👋🏽 wörld 🎉', '你好，世界。日本語のテキストです。', 'broken \ud83d pair'];
    const entries = texts.map((text, i) => entry(i, text));
    await store.append(CONVERSATION, entries);

    expect(await store.read(CONVERSATION)).toEqual(entries);
    expect(await storedTotal(redis, keys)).toBe(entries.reduce((s, e) => s + messageTokens(e, countTokens), 0));
  });

  it('rejects invalid options, listing every problem', () => {
    const make = (): unknown => createRedisHistoryStore({ redis: connect(), keys: freshKeys(), maxTokens: 10, idleTtlSeconds: 0, maxEntries: 1 });
    expect(make).toThrow(/maxTokens.*idleTtlSeconds.*maxEntries/);
  });
});

describe('countTokens (o200k_base)', () => {
  it('matches the tokenizer exactly on ordinary text', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(100) + 'Ünïcödé 🙂 漢字';
    expect(countTokens(text)).toBe(exactO200k(text));
    expect(countTokens('hello world')).toBe(2);
  });

  it('counts emoji and CJK: more than zero, fewer than two per character', () => {
    for (const text of ['👋🏽🎉🙂🚀❤️', '你好世界，今天天气很好。', 'こんにちは、世界！', '한국어 텍스트']) {
      const chars = [...text].length;
      const tokens = countTokens(text);
      expect(tokens).toBeGreaterThan(0);
      expect(tokens).toBeLessThan(chars * 2);
      expect(tokens).toBe(exactO200k(text));
    }
  });

  it('stays within 1% of the exact count on a long unbroken run', () => {
    const run = 'ab'.repeat(6_000) + ' tail';
    const exact = exactO200k(run);
    expect(Math.abs(countTokens(run) - exact)).toBeLessThanOrEqual(exact * 0.01);
  });

  it('counts special-token strings as plain text instead of throwing', () => {
    expect(countTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });
});

describe('truncateText', () => {
  const chars = (text: string): number => text.length;

  it('returns text that fits unchanged', () => {
    expect(truncateText('short', 10, chars)).toBe('short');
  });

  it('keeps the longest-fitting start and marks the cut', () => {
    const limit = 40;
    const cut = truncateText('x'.repeat(1_000), limit, chars);
    expect(cut).toBe('x'.repeat(limit - TRUNCATION_MARKER.length) + TRUNCATION_MARKER);
  });

  it('never splits a surrogate pair', () => {
    const cut = truncateText('🙂'.repeat(100), 30, chars);
    expect(cut.slice(0, -TRUNCATION_MARKER.length)).toMatch(/^(🙂)+$/u);
  });
});
