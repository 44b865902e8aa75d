/**
 * The Telegram Outbox's rules, against a scripted Bot API and a recording rate limiter;
 * its file downloads through the real guarded downloader; and token scrubbing.
 */
import { describe, expect, it } from 'vitest';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createTelegramApi,
  createTelegramFiles,
  createTelegramOutbox,
  cutCaption,
  scrubToken,
  TelegramApiError,
  TelegramNetworkError,
  type TelegramApi,
  type TelegramFiles,
} from '../../adapters/telegram/index.js';
import { FileFetchError, FileTooLargeError, type FileContent } from '../../src/domain/media.js';
import type { Attachment } from '../../src/domain/inbound-message.js';
import { createGuardedDownloader } from '../../src/infra/net/guarded-download.js';
import type { FetchFileOptions, Logger, RateLimit, RateLimiter, ReplyTarget } from '../../src/ports/index.js';
import { createPng } from '../fakes/png.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const group: ReplyTarget = { chat: { platform: 'telegram', id: '-100', kind: 'group', threadId: '5' }, replyToMessageId: '41' };

const MB = 1024 * 1024;
const voice: Attachment = { kind: 'voice', fileRef: 'voice-1', mimeType: 'audio/ogg', sizeBytes: 4000, durationSeconds: 3 };

/** A files port that records what it was asked for and answers `content`. */
function recordingFiles(content: FileContent = { bytes: new Uint8Array([1, 2, 3]), mimeType: 'application/octet-stream', fileName: 'file_3.oga' }) {
  const asked: Array<{ path: string; options: FetchFileOptions }> = [];
  const files: TelegramFiles = {
    async download(path, options) {
      asked.push({ path, options });
      return content;
    },
  };
  return { files, asked };
}

function setup(answers: Array<unknown | TelegramApiError>, tryAcquireWait = 0, files: TelegramFiles = recordingFiles().files) {
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
    // run and tryRun record like acquire and tryAcquire: the Outbox's calls go through them.
    async run(limits, call) {
      limiter.acquired.push([...limits]);
      return call();
    },
    async tryRun(limits, call) {
      limiter.tried.push([...limits]);
      return tryAcquireWait > 0 ? { ran: false, waitMs: tryAcquireWait } : { ran: true, value: await call() };
    },
    async pause(key, ms) {
      limiter.paused.push([key, ms]);
    },
  };
  const outbox = createTelegramOutbox({ api, files, rateLimiter, botId: '123', messagesPerSecond: 30, log: silent });
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

  describe('drafts', () => {
    const privateChat: ReplyTarget = { chat: { platform: 'telegram', id: '1001', kind: 'dm' }, replyToMessageId: '9' };

    it('are for private chats only, and spend nothing of the chat’s or the bot’s message limits', async () => {
      const { outbox, calls, limiter } = setup([true]);
      expect(outbox.drafts?.available(group.chat)).toBe(false);
      expect(outbox.drafts?.available(privateChat.chat)).toBe(true);
      expect(await outbox.drafts?.show(privateChat, 77, '**so far**')).toBe(true);
      expect(calls).toEqual([{ method: 'sendMessageDraft', params: { chat_id: 1001, draft_id: 77, text: '<b>so far</b>', parse_mode: 'HTML' } }]);
      expect([...limiter.tried, ...limiter.acquired]).toEqual([]);
    });

    it('on 429 hold the chat’s drafts for retry_after, skipping them; a server error skips one', async () => {
      let now = 1_000_000;
      const flood = new TelegramApiError('sendMessageDraft', 429, 'Too Many Requests: retry after 2', 2);
      const broken = new TelegramApiError('sendMessageDraft', 502, 'Bad Gateway', undefined);
      const answers: unknown[] = [flood, broken, true];
      const calls: string[] = [];
      const api: TelegramApi = {
        async call<T>(method: string): Promise<T> {
          calls.push(method);
          const answer = answers.shift();
          if (answer instanceof Error) throw answer;
          return answer as T;
        },
      };
      const outbox = createTelegramOutbox({ api, files: recordingFiles().files, rateLimiter: {} as RateLimiter, botId: '123', messagesPerSecond: 30, log: silent, now: () => now });
      expect(await outbox.drafts?.show(privateChat, 77, 'a')).toBe(true);
      now += 1_999;
      expect(await outbox.drafts?.show(privateChat, 77, 'ab')).toBe(true);
      expect(calls).toHaveLength(1);
      now += 1;
      expect(await outbox.drafts?.show(privateChat, 77, 'abc')).toBe(true);
      expect(await outbox.drafts?.show(privateChat, 77, 'abcd')).toBe(true);
      expect(calls).toHaveLength(3);
      expect(outbox.drafts?.available(privateChat.chat)).toBe(true);
    });

    it('when refused, say so, and private chats stream by editing for an hour', async () => {
      let now = 1_000_000;
      const refused = new TelegramApiError('sendMessageDraft', 400, 'Bad Request: TEXTDRAFT_PEER_INVALID', undefined);
      const api: TelegramApi = { call: async () => Promise.reject(refused) };
      const rateLimiter = { tryRun: async (_l: unknown, call: () => Promise<unknown>) => ({ ran: true, value: await call() }) } as unknown as RateLimiter;
      const outbox = createTelegramOutbox({ api, files: recordingFiles().files, rateLimiter, botId: '123', messagesPerSecond: 30, log: silent, now: () => now });
      expect(await outbox.drafts?.show(privateChat, 77, 'a')).toBe(false);
      expect(outbox.drafts?.available(privateChat.chat)).toBe(false);
      now += 3_600_001;
      expect(outbox.drafts?.available(privateChat.chat)).toBe(true);
    });
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

describe('the Telegram Outbox: files, images, chat actions', () => {
  it('refuses a file known to be too large before any call', async () => {
    const { files, asked } = recordingFiles();
    const { outbox, calls } = setup([], 0, files);
    expect(outbox.maxFileBytes).toBe(20 * MB);
    const big = { ...voice, sizeBytes: 20 * MB + 1 };
    await expect(outbox.fetchFile(big, { maxBytes: 25 * MB })).rejects.toEqual(new FileTooLargeError(20 * MB + 1, 20 * MB));
    // The caller's limit counts too, when it is the smaller one.
    await expect(outbox.fetchFile({ ...voice, sizeBytes: 2 * MB }, { maxBytes: MB })).rejects.toMatchObject({ sizeBytes: 2 * MB, maxBytes: MB });
    expect(calls).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('fetches with getFile, then downloads the path within the limit, keeping the attachment’s type', async () => {
    const { files, asked } = recordingFiles();
    const { outbox, calls } = setup([{ file_id: 'voice-1', file_unique_id: 'u', file_size: 4000, file_path: 'voice/file_3.oga' }], 0, files);
    const file = await outbox.fetchFile(voice, { maxBytes: 25 * MB });
    expect(calls).toEqual([{ method: 'getFile', params: { file_id: 'voice-1' } }]);
    expect(asked).toEqual([{ path: 'voice/file_3.oga', options: { maxBytes: 20 * MB } }]);
    expect(file).toEqual({ bytes: new Uint8Array([1, 2, 3]), mimeType: 'audio/ogg', fileName: 'file_3.oga' });
  });

  it('takes the type from the file path when neither the message nor the server says', async () => {
    const { outbox } = setup([{ file_id: 'p', file_unique_id: 'u', file_path: 'photos/file_9.jpg' }]);
    expect(await outbox.fetchFile({ kind: 'image', fileRef: 'p' }, { maxBytes: MB })).toMatchObject({ mimeType: 'image/jpeg', fileName: 'file_9.jpg' });
  });

  it('turns getFile’s "file is too big" and an over-limit file_size into FileTooLargeError, downloading nothing', async () => {
    const { files, asked } = recordingFiles();
    const tooBig = new TelegramApiError('getFile', 400, 'Bad Request: file is too big', undefined);
    const { outbox } = setup([tooBig, { file_id: 'v', file_unique_id: 'u', file_size: 3 * MB, file_path: 'voice/x.oga' }], 0, files);
    const unsized = { kind: 'voice', fileRef: 'v' } as const;
    await expect(outbox.fetchFile(unsized, { maxBytes: 25 * MB })).rejects.toEqual(new FileTooLargeError(undefined, 20 * MB));
    await expect(outbox.fetchFile(unsized, { maxBytes: 2 * MB })).rejects.toEqual(new FileTooLargeError(3 * MB, 2 * MB));
    expect(asked).toEqual([]);
  });

  it('says whether a failed getFile is worth retrying', async () => {
    const { outbox } = setup([
      new TelegramApiError('getFile', 400, 'Bad Request: invalid file_id', undefined),
      new TelegramApiError('getFile', 502, 'Bad Gateway', undefined),
      new TelegramNetworkError('getFile', 'connect ECONNREFUSED', 'ECONNREFUSED'),
      { file_id: 'v', file_unique_id: 'u' },
    ]);
    await expect(outbox.fetchFile(voice, { maxBytes: MB })).rejects.toMatchObject({ name: 'FileFetchError', retryable: false });
    await expect(outbox.fetchFile(voice, { maxBytes: MB })).rejects.toMatchObject({ name: 'FileFetchError', retryable: true });
    await expect(outbox.fetchFile(voice, { maxBytes: MB })).rejects.toMatchObject({ name: 'FileFetchError', retryable: true });
    await expect(outbox.fetchFile(voice, { maxBytes: MB })).rejects.toMatchObject({ name: 'FileFetchError', message: 'Telegram getFile gave no file path' });
  });

  it('uploads an image as a photo reply in the topic, with the caption cut to 1024 characters, after the limits', async () => {
    const { outbox, calls, limiter } = setup([{ message_id: 50 }]);
    const png = createPng();
    const sent = await outbox.sendImage(group, { bytes: new Uint8Array(png), mimeType: 'image/png', fileName: 'image.png' }, `${'a'.repeat(1100)}`);
    expect(sent).toEqual({ id: '50' });
    const { method, params } = calls[0]!;
    expect(method).toBe('sendPhoto');
    expect(params).toMatchObject({ chat_id: '-100', message_thread_id: 5, reply_parameters: '{"message_id":41,"allow_sending_without_reply":true}' });
    expect(params['photo']).toMatchObject({ filename: 'image.png' });
    expect(Buffer.from((params['photo'] as { source: Buffer }).source).equals(png)).toBe(true);
    expect(params['caption']).toBe(`${'a'.repeat(1023)}…`);
    expect(params['parse_mode']).toBeUndefined();
    expect(limiter.acquired[0]?.map((l) => l.key)).toEqual(['telegram:123:chat:-100', 'telegram:123:global', 'telegram:123:group:-100']);
  });

  it('sends an image over 10 MB as a document, and no caption when there is none', async () => {
    const { outbox, calls } = setup([{ message_id: 51 }]);
    await outbox.sendImage({ chat: { platform: 'telegram', id: '7', kind: 'dm' } }, { bytes: new Uint8Array(10 * MB + 1), mimeType: 'image/png', fileName: 'image.png' });
    expect(calls[0]?.method).toBe('sendDocument');
    expect(Object.keys(calls[0]!.params).sort()).toEqual(['chat_id', 'document']);
  });

  it('shows the activity asked for', async () => {
    const { outbox, calls } = setup([true, true]);
    await outbox.showTyping(group, 'record_voice');
    await outbox.showTyping(group);
    expect(calls.map((c) => c.params)).toEqual([
      { chat_id: '-100', action: 'record_voice', message_thread_id: 5 },
      { chat_id: '-100', action: 'typing', message_thread_id: 5 },
    ]);
  });

  it('cuts captions without splitting a surrogate pair', () => {
    expect(cutCaption('short')).toBe('short');
    const emoji = `${'a'.repeat(1022)}😀tail`;
    expect(cutCaption(emoji)).toBe(`${'a'.repeat(1022)}…`);
    expect(cutCaption(emoji).length).toBeLessThanOrEqual(1024);
  });
});

describe('Telegram file downloads', () => {
  const token = '987654:SECRET-token-value';

  /** A file server on 127.0.0.1 answering with `listener`, and a downloader trusting it. */
  async function serving(listener: RequestListener) {
    const server = createServer(listener).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const downloader = createGuardedDownloader({ allowed: [], trusted: [new URL(root).host], timeoutMs: 2_000 });
    const files = createTelegramFiles({ token, apiRoot: root, downloader });
    const close = async () => {
      await downloader.close();
      server.closeAllConnections();
      server.close();
    };
    return { files, root, close };
  }

  /** Everything an error shows a log: message, stack, own fields, causes. */
  function everything(error: unknown): string {
    const parts: string[] = [];
    for (let e: unknown = error; e !== undefined && e !== null; e = (e as Error).cause) {
      parts.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e));
    }
    return parts.join('\n');
  }

  it('downloads from /file/bot<token>/<path>', async () => {
    const seen: string[] = [];
    const { files, close } = await serving((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'audio/ogg' }).end('OggS');
    });
    try {
      const file = await files.download('voice/file 3.oga', { maxBytes: 100 });
      expect(Buffer.from(file.bytes).toString()).toBe('OggS');
      expect(seen).toEqual([`/file/bot${token}/voice/file%203.oga`]);
    } finally {
      await close();
    }
  });

  it('fail without the token or the file URL in the error: HTTP errors, oversize, a cut connection, no server, a host not allowed', async () => {
    const { files, root, close } = await serving((req, res) => {
      if (req.url?.endsWith('/gone.oga')) res.writeHead(404).end('{"ok":false}');
      else if (req.url?.endsWith('/big.oga')) res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      else req.socket.destroy();
    });
    const errors: unknown[] = [];
    try {
      for (const path of ['voice/gone.oga', 'voice/big.oga', 'voice/cut.oga']) {
        errors.push(await files.download(path, { maxBytes: 100 }).catch((e: unknown) => e));
      }
    } finally {
      await close();
    }
    const closed = createTelegramFiles({ token, apiRoot: root, downloader: createGuardedDownloader({ allowed: [], trusted: [new URL(root).host] }) });
    errors.push(await closed.download('voice/x.oga', { maxBytes: 100 }).catch((e: unknown) => e));
    const untrusted = createTelegramFiles({ token, apiRoot: 'http://127.0.0.1:9', downloader: createGuardedDownloader({ allowed: [] }) });
    errors.push(await untrusted.download('voice/x.oga', { maxBytes: 100 }).catch((e: unknown) => e));

    expect(errors.map((e) => (e as Error).name)).toEqual(['FileFetchError', 'FileTooLargeError', 'FileFetchError', 'FileFetchError', 'FileFetchError']);
    expect(errors[0]).toMatchObject({ retryable: false, message: expect.stringContaining('HTTP 404') });
    expect(errors[2]).toMatchObject({ retryable: true });
    expect(errors[3]).toBeInstanceOf(FileFetchError);
    for (const error of errors) {
      const text = everything(error);
      expect(text).not.toContain('SECRET-token');
      expect(text).not.toContain('/file/bot');
    }
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

  it('go again when a kept-alive connection was closed under the call, a few times at most', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests += 1;
      // The server drops the connection without an answer, as one closing an idle kept-alive connection does.
      if (requests % 2 === 1 || req.url?.includes('getChat')) return void req.socket.destroy();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result: { message_id: 9 } }));
    }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const api = createTelegramApi({ token: '1:t-token-x', apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      expect(await api.call('sendMessage', { chat_id: 1, text: 'x' })).toEqual({ message_id: 9 });
      expect(requests).toBe(2);
      await expect(api.call('getChat', { chat_id: 1 })).rejects.toMatchObject({ name: 'TelegramNetworkError', code: 'ECONNRESET' });
      expect(requests).toBe(2 + 4);
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
