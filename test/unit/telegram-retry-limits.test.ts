/**
 * The Telegram adapter's retry limits (issue #15 moved its loops onto src/infra/retry.ts
 * and kept their figures): a sent message sits out eight 429s in a row, a moderation call
 * three, and only a 429 is tried again.
 */
import { describe, expect, it } from 'vitest';
import { createTelegramModeration, createTelegramOutbox, TelegramApiError, type TelegramApi } from '../../adapters/telegram/index.js';
import type { Logger, RateLimiter, ReplyTarget } from '../../src/ports/index.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const group: ReplyTarget = { chat: { platform: 'telegram', id: '-100', kind: 'group' } };
const files = { download: async () => Promise.reject(new Error('no file downloads in this test')) };

/** A Bot API that answers every call with `error`, counting the calls. */
function refusing(error: Error) {
  const calls: string[] = [];
  const api: TelegramApi = {
    async call(method) {
      calls.push(method);
      throw error;
    },
  };
  return { api, calls };
}

/** A rate limiter that lets every call through at once and records its pauses. */
function openLimiter() {
  const paused: string[] = [];
  const rateLimiter: RateLimiter = {
    async acquire() {},
    async tryAcquire() {
      return 0;
    },
    run: async (_limits, call) => call(),
    tryRun: async (_limits, call) => ({ ran: true, value: await call() }),
    async pause(key) {
      paused.push(key);
    },
  };
  return { rateLimiter, paused };
}

describe('Telegram retry limits', () => {
  it('a message waits out eight 429s in a row, pausing the chat each time, then fails', async () => {
    const flood = new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 0', 0);
    const { api, calls } = refusing(flood);
    const { rateLimiter, paused } = openLimiter();
    const outbox = createTelegramOutbox({ api, files, rateLimiter, botId: '1', messagesPerSecond: 30, log: silent });
    await expect(outbox.send(group, 'hello', { final: true })).rejects.toBe(flood);
    expect(calls).toHaveLength(9);
    // The chat's and the group's keys, once per retry; never the global one.
    expect(paused).toHaveLength(16);
    expect(paused.every((key) => !key.endsWith(':global'))).toBe(true);
  });

  it('a streaming edit hit by a 429 is skipped after pausing the chat, not retried', async () => {
    const flood = new TelegramApiError('editMessageText', 429, 'Too Many Requests: retry after 0', 0);
    const { api, calls } = refusing(flood);
    const { rateLimiter, paused } = openLimiter();
    const outbox = createTelegramOutbox({ api, files, rateLimiter, botId: '1', messagesPerSecond: 30, log: silent });
    await outbox.edit(group, { id: '5' }, 'partial', { final: false });
    expect(calls).toEqual(['editMessageText']);
    expect(paused).toHaveLength(2);
  });

  it('a message refused otherwise is not tried again', async () => {
    const refused = new TelegramApiError('sendMessage', 403, 'Forbidden: bot was blocked by the user', undefined);
    const { api, calls } = refusing(refused);
    const { rateLimiter, paused } = openLimiter();
    const outbox = createTelegramOutbox({ api, files, rateLimiter, botId: '1', messagesPerSecond: 30, log: silent });
    await expect(outbox.send(group, 'hello', { final: true })).rejects.toBe(refused);
    expect(calls).toHaveLength(1);
    expect(paused).toEqual([]);
  });

  it('a moderation call waits out three 429s in a row, then fails', async () => {
    const flood = new TelegramApiError('deleteMessage', 429, 'Too Many Requests: retry after 0', 0);
    const { api, calls } = refusing(flood);
    const moderation = createTelegramModeration({ api });
    await expect(moderation.deleteMessage(group.chat, '7')).rejects.toBe(flood);
    expect(calls).toHaveLength(4);
  });
});
