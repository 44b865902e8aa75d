/**
 * The reply ledger on real Redis: a job's first run writes what it sends without reading
 * the ledger first (nothing can be there: one round trip saved per job); a later run reads
 * it, edits what the earlier run sent and removes what it no longer needs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisReplyLedger } from '../../src/infra/ledger/redis-reply-ledger.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { createReplyLedger } from '../../src/workers/reply-ledger.js';
import type { ChatJob, ChatResult, PictureJob } from '../../src/domain/jobs.js';
import type { JobContext, Outbox, ReplyLedger, ReplyTarget } from '../../src/ports/index.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const redis = new Redis(testRedisUrl());
afterAll(() => redis.disconnect());

/** What reached the platform, in order. */
type PlatformCall =
  | { op: 'send'; id: string; text: string }
  | { op: 'edit'; id: string; text: string }
  | { op: 'delete'; id: string }
  | { op: 'album'; ids: string[]; pictures: number };

/** A platform's side of the Outbox port: records each call, numbers the messages. */
function platform(): { outbox: Outbox; calls: PlatformCall[] } {
  const calls: PlatformCall[] = [];
  let next = 100;
  const outbox = {
    platform: 'telegram',
    maxMessageLength: 4096,
    editIntervalMs: 1000,
    maxFileBytes: 20 * 1024 * 1024,
    async send(_target: ReplyTarget, text: string) {
      const id = String(next++);
      calls.push({ op: 'send', id, text });
      return { id };
    },
    async edit(_target: ReplyTarget, message: { id: string }, text: string) {
      calls.push({ op: 'edit', id: message.id, text });
    },
    async deleteMessage(_chat: unknown, id: string) {
      calls.push({ op: 'delete', id });
    },
    showTyping: async () => undefined,
    fetchFile: async () => Promise.reject(new Error('no files here')),
    sendImage: async () => Promise.reject(new Error('no single images here')),
    async sendImages(_target: ReplyTarget, images: readonly unknown[]) {
      const ids = images.map(() => String(next++));
      calls.push({ op: 'album', ids, pictures: images.length });
      return ids.map((id) => ({ id }));
    },
  } as Outbox;
  return { outbox, calls };
}

function setup() {
  const stored = createRedisReplyLedger({ redis, keys: createRedisKeys(uniquePrefix('ledger')) });
  let loads = 0;
  const ledger: ReplyLedger = {
    load: (jobId) => {
      loads += 1;
      return stored.load(jobId);
    },
    record: (jobId, sequence, entry) => stored.record(jobId, sequence, entry),
  };
  const { outbox, calls } = platform();
  // One per process in the service; each run of a job replies through its own ledgered Outbox.
  const ledgered = createReplyLedger(ledger, { telegram: outbox });
  const runOutbox = (context: JobContext): Outbox => {
    const own = context.outboxes?.telegram;
    if (!own) throw new Error('the run was given no Outbox of its own');
    return own;
  };
  const target: ReplyTarget = { chat: { platform: 'telegram', id: '42', kind: 'dm' } };
  /** A chat job that sends each of `texts` as a message. */
  const job = (texts: string[]) =>
    ledgered('chat', async (_payload, context): Promise<ChatResult> => {
      for (const text of texts) await runOutbox(context).send(target, text, { final: true });
      return { replied: true, messagesSent: texts.length, outcome: 'answered' };
    });
  const context = (extra: Partial<JobContext>): JobContext => ({
    jobId: 'telegram:42:7',
    attempt: 1,
    maxAttempts: 3,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    ...extra,
  });
  /** A picture job that sends an album of two, then fails `failures` times after it (a crash between the upload and the end). */
  const albumJob = (failures: { left: number }) =>
    ledgered('picture', async (_payload, context): Promise<ChatResult> => {
      const image = { bytes: new Uint8Array([1]), mimeType: 'image/png', fileName: 'image.png' };
      await runOutbox(context).sendImages(target, [image, image]);
      if (failures.left-- > 0) throw new Error('the worker died after the upload');
      return { replied: true, messagesSent: 2, outcome: 'answered' };
    });
  return { stored, calls, job, albumJob, context, loads: () => loads };
}

const payload = {} as ChatJob;

describe('reply ledger (real Redis)', () => {
  it('lets a run that lost its lock send nothing more', async () => {
    const s = setup();
    let owned = true;
    const run = s.job(['first', 'second', 'third'])(payload, s.context({ firstRun: true, owned: () => owned }));
    // The first send is on its way; the lock is lost before the second.
    owned = false;
    await expect(run).rejects.toMatchObject({ name: 'JobLostError' });
    expect(s.calls).toEqual([{ op: 'send', id: '100', text: 'first' }]);
  });

  it('does not read the ledger on a first run, and writes each send to it', async () => {
    const s = setup();
    await s.job(['Retrying…', 'the answer'])(payload, s.context({ firstRun: true }));
    expect(s.loads()).toBe(0);
    expect(s.calls).toEqual([
      { op: 'send', id: '100', text: 'Retrying…' },
      { op: 'send', id: '101', text: 'the answer' },
    ]);
    const entries = await s.stored.load('chat/telegram:42:7');
    expect([...entries].map(([sequence, entry]) => [sequence, entry.messageId])).toEqual([
      [0, '100'],
      [1, '101'],
    ]);
  });

  it('reads it on a later run: edits what the earlier run sent and deletes what is left over', async () => {
    const s = setup();
    await s.job(['Retrying…', 'half an answer'])(payload, s.context({ firstRun: true }));
    s.calls.length = 0;
    await s.job(['the whole answer'])(payload, s.context({ firstRun: false, attempt: 2 }));
    expect(s.loads()).toBe(1);
    expect(s.calls).toEqual([
      { op: 'edit', id: '100', text: 'the whole answer' },
      { op: 'delete', id: '101' },
    ]);
  });

  it('reads it when nobody says whether the run is the first', async () => {
    const s = setup();
    await s.job(['an answer'])(payload, s.context({}));
    expect(s.loads()).toBe(1);
    expect(s.calls).toEqual([{ op: 'send', id: '100', text: 'an answer' }]);
  });

  it('sends an album once: a job that runs again after delivering it does not send it again', async () => {
    const s = setup();
    const failures = { left: 1 };
    await expect(s.albumJob(failures)({} as PictureJob, s.context({ firstRun: true }))).rejects.toThrow('died');
    await s.albumJob(failures)({} as PictureJob, s.context({ firstRun: false, attempt: 2 }));
    expect(s.calls).toEqual([{ op: 'album', ids: ['100', '101'], pictures: 2 }]);
  });
});
