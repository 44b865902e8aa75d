/** The Telegram Outbox's rules, against a scripted Bot API and a recording rate limiter; and token scrubbing. */
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createTelegramApi,
  createTelegramOutbox,
  scrubToken,
  TelegramApiError,
  TelegramNetworkError,
  type TelegramApi,
} from '../../adapters/telegram/index.js';
import type { Logger, RateLimit, RateLimiter, ReplyTarget } from '../../src/ports/index.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const group: ReplyTarget = { chat: { platform: 'telegram', id: '-100', kind: 'group', threadId: '5' }, replyToMessageId: '41' };

function setup(answers: Array<unknown | TelegramApiError>, tryAcquireWait = 0) {
  const calls: Array<{ method: string; params: Record<string, unknown> }> = [];
  const limiter = { acquired: [] as RateLimit[][], tried: [] as RateLimit[][], paused: [] as Array<[string, number]> };
  const api: TelegramApi = {
    async call<T>(method: string, params: Record<string, unknown>): Promise<T> {
      calls.push({ method, params });
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return answer as T;
    },
  };
  const rateLimiter: RateLimiter = {
    async acquire(limits) {
      limiter.acquired.push([...limits]);
    },
    async tryAcquire(limits) {
      limiter.tried.push([...limits]);
      return tryAcquireWait;
    },
    async pause(key, ms) {
      limiter.paused.push([key, ms]);
    },
  };
  const outbox = createTelegramOutbox({ api, rateLimiter, botId: '123', log: silent });
  return { outbox, calls, limiter };
}

describe('the Telegram Outbox', () => {
  it('sends HTML as a reply in the topic, after the chat, group and global limits', async () => {
    const { outbox, calls, limiter } = setup([{ message_id: 42 }]);
    expect(await outbox.send(group, '**hi**', { final: false })).toEqual({ id: '42' });
    expect(calls).toEqual([
      {
        method: 'sendMessage',
        params: { chat_id: '-100', message_thread_id: 5, reply_parameters: { message_id: 41, allow_sending_without_reply: true }, text: '<b>hi</b>', parse_mode: 'HTML' },
      },
    ]);
    expect(limiter.acquired[0]).toEqual([
      { key: 'telegram:123:chat:-100', max: 1, perMs: 1000 },
      { key: 'telegram:123:global', max: 30, perMs: 1000 },
      { key: 'telegram:123:group:-100', max: 20, perMs: 60000 },
    ]);
  });

  it('skips a streaming edit that does not fit the limits, and leaves group room for replies', async () => {
    const { outbox, calls, limiter } = setup([], 300);
    await outbox.edit(group, { id: '42' }, 'partial', { final: false });
    expect(calls).toEqual([]);
    expect(limiter.tried[0]?.find((l) => l.key.includes(':group:'))?.max).toBe(15);
  });

  it('waits for a final edit and takes "message is not modified" as done', async () => {
    const { outbox, calls, limiter } = setup([new TelegramApiError('editMessageText', 400, 'Bad Request: message is not modified: same', undefined)], 300);
    await expect(outbox.edit(group, { id: '42' }, 'all', { final: true })).resolves.toBeUndefined();
    expect(calls.map((c) => c.method)).toEqual(['editMessageText']);
    expect(limiter.acquired).toHaveLength(1);
  });

  it('on 429 pauses the chat and group for retry_after and retries the same call', async () => {
    const flood = new TelegramApiError('sendMessage', 429, 'Too Many Requests: retry after 3', 3);
    const { outbox, calls, limiter } = setup([flood, { message_id: 7 }]);
    expect(await outbox.send(group, 'x', { final: true })).toEqual({ id: '7' });
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual(calls[0]);
    expect(limiter.paused).toEqual([
      ['telegram:123:chat:-100', 3000],
      ['telegram:123:group:-100', 3000],
    ]);
  });

  it('sends the same text as plain text when Telegram cannot parse the entities', async () => {
    const refused = new TelegramApiError('sendMessage', 400, "Bad Request: can't parse entities: Unsupported start tag", undefined);
    const { outbox, calls } = setup([refused, { message_id: 8 }]);
    await outbox.send(group, '**a** <b', { final: true });
    expect(calls[1]?.params).toEqual({ chat_id: '-100', message_thread_id: 5, reply_parameters: { message_id: 41, allow_sending_without_reply: true }, text: '**a** <b' });
  });

  it('makes no call for an edit that would not change the text', async () => {
    const { outbox, calls } = setup([{ message_id: 42 }, { message_id: 42 }]);
    const sent = await outbox.send(group, 'short answer', { final: false });
    await outbox.edit(group, sent, 'short answer', { final: true });
    expect(calls.map((c) => c.method)).toEqual(['sendMessage']);
    await outbox.edit(group, sent, 'short answer, corrected', { final: true });
    expect(calls.map((c) => c.method)).toEqual(['sendMessage', 'editMessageText']);
  });

  it('passes other Telegram errors on', async () => {
    const { outbox } = setup([new TelegramApiError('sendMessage', 403, 'Forbidden: bot was kicked', undefined)]);
    await expect(outbox.send(group, 'x', { final: true })).rejects.toMatchObject({ status: 403 });
  });
});

describe('Bot API errors', () => {
  it('never carry the bot token', async () => {
    const token = '987654:SECRET-token-value';
    const api = createTelegramApi({ token, apiRoot: 'http://127.0.0.1:9' });
    const error = await api.call('getMe', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramNetworkError);
    const text = `${(error as Error).message}\n${(error as Error).stack}\n${JSON.stringify(error)}`;
    expect(text).not.toContain('SECRET-token');
    expect((error as Error).cause).toBeUndefined();
  });

  it('give up on a call Telegram never answers', async () => {
    const server = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const api = createTelegramApi({ token: '1:t-token-x', apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, callTimeoutMs: 200 });
      await expect(api.call('sendMessage', { chat_id: 1, text: 'x' })).rejects.toMatchObject({ name: 'TelegramNetworkError', code: 'ETIMEDOUT' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('scrub every occurrence of the token, plain and URL-encoded', () => {
    const token = '987654:SECRET-token-value';
    const text = `GET /bot${token}/getMe then /file/bot${encodeURIComponent(token)}/voice.ogg and ${token}`;
    expect(scrubToken(text, token)).toBe('GET /bot[redacted]/getMe then /file/bot[redacted]/voice.ogg and [redacted]');
  });
});
