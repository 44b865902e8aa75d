/**
 * The operator view's API over HTTP against the real app (src/app.ts): `/admin` is off
 * without ADMIN_TOKEN, the snapshot needs the token as a Bearer header, and it reports
 * what is in Redis: waiting jobs under a gateway with no worker, the workers of every
 * process, and a job that failed for good (Telegram refused the answer) with its reason.
 * The logger scrubs nothing, so the token not being in any line is the code's doing.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { JOB_KINDS, type JobKind } from '../../src/domain/jobs.js';
import { createQueueOperations, MAX_REASON_CHARS, RECENT_FAILURES } from '../../src/infra/queue/index.js';
import { closeRedis, createRedisConnection } from '../../src/infra/redis/connection.js';
import type { OpsSnapshot } from '../../src/ports/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { captureLogs } from '../support/logs.js';
import { startOutageRedis } from '../support/outage-redis.js';
import { postMessage } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const ADMIN_TOKEN = `adm-${randomBytes(16).toString('hex')}`;
/** As long as the real one, so only the constant-time comparison tells them apart. */
const WRONG_TOKEN = `adm-${randomBytes(16).toString('hex')}`;
const TELEGRAM_TOKEN = '246810:ADMIN-test-token';
const WAIT = { timeout: 15_000, interval: 50 };

const { log, lines: logLines } = captureLogs([], { forbidden: [ADMIN_TOKEN, WRONG_TOKEN, TELEGRAM_TOKEN] });

let openai: FakeOpenAI;
const apps: RunningApp[] = [];

async function start(env: Record<string, string> = {}, role: 'all' | 'gateway' | 'worker' = 'all'): Promise<RunningApp> {
  const config = parseConfig({
    REDIS_URL: testRedisUrl(),
    OPENAI_BASE_URL: openai.url,
    PORT: '0',
    QUEUE_PREFIX: uniquePrefix('admin'),
    ADMIN_TOKEN,
    ...env,
  });
  const app = await startApp(config, { log, role });
  apps.push(app);
  return app;
}

async function stop(app: RunningApp): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  await app.stop();
}

function getSnapshot(app: RunningApp, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }, query = ''): Promise<Response> {
  return fetch(`${app.url}/api/admin/snapshot${query}`, { headers });
}

async function snapshot(app: RunningApp): Promise<OpsSnapshot> {
  const response = await getSnapshot(app);
  expect(response.status).toBe(200);
  return (await response.json()) as OpsSnapshot;
}

/** Polls the snapshot until `check` passes; returns the snapshot it passed on. */
function snapshotUntil(app: RunningApp, check: (s: OpsSnapshot) => void): Promise<OpsSnapshot> {
  return vi.waitFor(async () => {
    const s = await snapshot(app);
    check(s);
    return s;
  }, WAIT);
}

beforeAll(async () => {
  openai = await createFakeOpenAI();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  openai.reset();
});

afterAll(async () => {
  await openai.stop();
  expect(logLines.length).toBeGreaterThan(0);
  for (const secret of [ADMIN_TOKEN, WRONG_TOKEN, TELEGRAM_TOKEN]) {
    expect(logLines.filter((line) => line.includes(secret))).toEqual([]);
  }
});

describe('/admin without ADMIN_TOKEN', () => {
  it('is not there: the page, its files and the API answer 404, with or without a token', async () => {
    const app = await start({ ADMIN_TOKEN: '' });
    for (const path of ['/admin', '/admin.js', '/admin.css', '/api/admin/snapshot']) {
      const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});

describe('/api/admin/snapshot access', () => {
  it('answers 401 without the right Bearer token, and never takes it from the URL', async () => {
    const app = await start();
    const refused: Array<[string, Record<string, string>, string]> = [
      ['no header', {}, ''],
      ['a wrong token of the same length', { authorization: `Bearer ${WRONG_TOKEN}` }, ''],
      ['a prefix of the token', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }, ''],
      ['the token with more after it', { authorization: `Bearer ${ADMIN_TOKEN}x` }, ''],
      ['another scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }, ''],
      ['the bare token', { authorization: ADMIN_TOKEN }, ''],
      ['the token in the query', {}, `?token=${ADMIN_TOKEN}&access_token=${ADMIN_TOKEN}`],
    ];
    for (const [what, headers, query] of refused) {
      const response = await getSnapshot(app, headers, query);
      expect(response.status, what).toBe(401);
      expect(response.headers.get('cache-control'), what).toBe('no-store');
      expect(response.headers.get('www-authenticate'), what).toMatch(/^Bearer realm="switchboard-admin"/);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code, what).toBe('unauthorized');
      expect(JSON.stringify(body)).not.toContain(ADMIN_TOKEN.slice(4));
    }
    expect((await getSnapshot(app, { authorization: `Bearer ${WRONG_TOKEN}` })).headers.get('www-authenticate')).toContain('error="invalid_token"');

    const ok = await getSnapshot(app, { authorization: `bearer   ${ADMIN_TOKEN} ` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await ok.json()) as OpsSnapshot;
    expect(Object.keys(body.queues).sort()).toEqual([...JOB_KINDS].sort());
    expect(body.failures).toEqual([]);

    const post = await fetch(`${app.url}/api/admin/snapshot`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('serves the page to anyone (it holds no data) with the playground’s content security policy', async () => {
    const app = await start();
    const page = await fetch(`${app.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("form-action 'none'");
    const html = await page.text();
    expect(html).toContain('<script src="/admin.js" defer></script>');
    expect(html).not.toContain(ADMIN_TOKEN);
    for (const [path, type] of [['/admin.js', 'text/javascript'], ['/admin.css', 'text/css']] as const) {
      const asset = await fetch(`${app.url}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toContain(type);
    }
    expect((await fetch(`${app.url}/admin`, { method: 'POST' })).status).toBe(405);
  });
});

describe('the snapshot', () => {
  it('counts the jobs waiting under a gateway alone, then the workers of each process that joins', async () => {
    const prefix = uniquePrefix('admin');
    const gateway = await start({ QUEUE_PREFIX: prefix }, 'gateway');
    for (const text of ['one', 'two', 'three']) expect((await postMessage(gateway.url, 'ops-room', text)).status).toBe(202);

    const waiting = await snapshot(gateway);
    expect(waiting.queues.chat).toEqual({ waiting: 3, active: 0, delayed: 0, failed: 0, completed: 0, workers: 0 });
    for (const kind of JOB_KINDS) expect(waiting.queues[kind].workers, kind).toBe(0);
    expect(waiting.processes).toBe(0);
    expect(waiting.takenAt).toBeGreaterThan(Date.now() - 60_000);

    const first = await start({ QUEUE_PREFIX: prefix }, 'worker');
    await snapshotUntil(gateway, (s) => {
      expect(s.queues.chat).toMatchObject({ waiting: 0, active: 0, completed: 3, workers: 1 });
      for (const kind of JOB_KINDS) expect(s.queues[kind].workers, kind).toBe(1);
      expect(s.processes).toBe(1);
    });

    const second = await start({ QUEUE_PREFIX: prefix }, 'worker');
    await snapshotUntil(gateway, (s) => {
      for (const kind of JOB_KINDS) expect(s.queues[kind].workers, kind).toBe(2);
      expect(s.processes).toBe(2);
    });
    await stop(first);
    await snapshotUntil(gateway, (s) => expect(s.processes).toBe(1));
    await stop(second);
    await snapshotUntil(gateway, (s) => expect(s.processes).toBe(0));
  });

  it('answers 503 while Redis is away, and recovers by itself', async () => {
    const redis = await startOutageRedis();
    try {
      const app = await start({ REDIS_URL: redis.url }, 'gateway');
      await snapshot(app);
      await redis.stop();
      const during = await getSnapshot(app);
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBe('5');
      expect(((await during.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      await redis.restart();
      await snapshotUntil(app, (s) => expect(s.processes).toBe(0));
      await stop(app);
    } finally {
      await redis.dispose();
    }
  });

  describe('with Telegram', () => {
    const ann: FakeUser = { id: 4242, is_bot: false, first_name: 'Ann' };
    const dm: FakeChat = { id: 4242, type: 'private', first_name: 'Ann' };
    let telegram: FakeTelegram;

    beforeAll(async () => {
      telegram = await createFakeTelegram({ token: TELEGRAM_TOKEN });
    });
    afterAll(async () => {
      await telegram.stop();
    });

    it('lists a job that failed for good with its reason, where it came from and its attempts, never what was said', async () => {
      const app = await start({ TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN, TELEGRAM_API_ROOT: telegram.url, JOB_ATTEMPTS: '1' });
      // The user blocked the bot: the answer cannot be delivered, and with one attempt the job fails for good.
      telegram.failNext({ method: 'sendMessage', error_code: 403, description: 'Forbidden: bot was blocked by the user' });
      const sent = telegram.message({ chat: dm, from: ann, text: 'a private question about parsnips' });

      const after = await snapshotUntil(app, (s) => expect(s.failures).toHaveLength(1));
      expect(after.failures[0]).toEqual({
        id: `telegram:${dm.id}:${(sent['message'] as { message_id: number }).message_id}`,
        kind: 'chat',
        platform: 'telegram',
        channel: String(dm.id),
        reason: 'Telegram sendMessage failed: 403 Forbidden: bot was blocked by the user',
        attemptsMade: 1,
        failedAt: expect.any(Number),
      });
      expect(after.failures[0]!.failedAt).toBeGreaterThan(Date.now() - 60_000);
      expect(after.queues.chat).toMatchObject({ failed: 1, waiting: 0, active: 0, workers: 1 });
      expect(after.processes).toBe(1);
      const raw = JSON.stringify(after);
      expect(raw).not.toContain('parsnips');
      expect(raw).not.toContain(TELEGRAM_TOKEN);
    });
  });
});

describe('createQueueOperations on real Redis', () => {
  const SECRET = `sk-${randomBytes(12).toString('hex')}`;
  const redisUrl = (): string => testRedisUrl();

  it('lists the newest failures of every kind first, at most RECENT_FAILURES, with reasons cut short and scrubbed', async () => {
    const prefix = uniquePrefix('ops');
    const connection = createRedisConnection(redisUrl(), 'worker', 'admin-test');
    const queues = new Map<JobKind, Queue>();
    const workers: Worker[] = [];
    const operations = createQueueOperations({ connection, keys: { prefix }, secrets: [SECRET] });
    try {
      const failAll = async (kind: JobKind, count: number, reason: string): Promise<void> => {
        const queue = new Queue(kind, { connection, prefix });
        queues.set(kind, queue);
        let failed = 0;
        const done = new Promise<void>((resolve) => {
          const worker = new Worker(kind, async (): Promise<void> => {
            throw new Error(reason);
          }, { connection, prefix, concurrency: 5 });
          worker.on('failed', () => {
            failed += 1;
            if (failed === count) resolve();
          });
          workers.push(worker);
        });
        await queue.addBulk(
          Array.from({ length: count }, (_, i) => ({
            name: kind,
            data: { payload: { conversation: `web:lab${i}`, message: { chat: { platform: 'web', id: `lab${i}` }, text: 'never shown' } }, ticket: 1 },
            opts: { jobId: `web:lab${i}:${kind}`, attempts: 1 },
          })),
        );
        await done;
      };

      await failAll('chat', RECENT_FAILURES + 5, `upstream said key=${SECRET}\n${'x'.repeat(2 * MAX_REASON_CHARS)}`);
      await failAll('image', 1, 'the image could not be delivered');

      const s = await operations.snapshot();
      expect(s.failures).toHaveLength(RECENT_FAILURES);
      expect(s.failures[0]).toMatchObject({ kind: 'image', id: 'web:lab0:image', platform: 'web', channel: 'lab0', reason: 'the image could not be delivered', attemptsMade: 1 });
      const chat = s.failures.slice(1);
      expect(chat.every((f) => f.kind === 'chat')).toBe(true);
      for (const [i, failure] of s.failures.entries()) if (i > 0) expect(failure.failedAt).toBeLessThanOrEqual(s.failures[i - 1]!.failedAt);
      for (const failure of chat) {
        expect(failure.reason.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
        expect(failure.reason).toMatch(/^upstream said key=\[redacted\] x+…$/);
        expect(failure.reason).not.toContain(SECRET);
      }
      expect(JSON.stringify(s)).not.toContain('never shown');
      expect(s.queues.chat).toMatchObject({ failed: RECENT_FAILURES + 5, workers: 1 });
      expect(s.queues.image).toMatchObject({ failed: 1, workers: 1 });
      expect(s.queues.transcribe).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0, workers: 0 });
      expect(s.processes).toBe(1);
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all([...queues.values()].map((queue) => queue.obliterate({ force: true }).then(() => queue.close())));
      await operations.close();
      await closeRedis(connection);
    }
  });

  it('names the trace of a failed job that carried one (issue #16), and nothing for one that did not', async () => {
    const prefix = uniquePrefix('ops');
    const connection = createRedisConnection(redisUrl(), 'worker', 'admin-trace-test');
    const queue = new Queue('chat', { connection, prefix });
    const operations = createQueueOperations({ connection, keys: { prefix }, secrets: [] });
    const traceId = randomBytes(16).toString('hex');
    const workers: Worker[] = [];
    try {
      const data = { payload: { conversation: 'web:t', message: { chat: { platform: 'web', id: 't' } } }, ticket: 1 };
      // What bullmq-otel writes into a job added inside a span: the W3C trace context as JSON.
      await queue.add('chat', data, { jobId: 'web:t:traced', attempts: 1, telemetry: { metadata: JSON.stringify({ traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }) } });
      await queue.add('chat', data, { jobId: 'web:t:untraced', attempts: 1 });
      await new Promise<void>((resolve) => {
        let failed = 0;
        const worker = new Worker('chat', async (): Promise<void> => {
          throw new Error('the reply could not be delivered');
        }, { connection, prefix });
        worker.on('failed', () => (failed += 1) === 2 && resolve());
        workers.push(worker);
      });
      const failures = (await operations.snapshot()).failures;
      expect(failures.find((f) => f.id === 'web:t:traced')?.traceId).toBe(traceId);
      expect(failures.find((f) => f.id === 'web:t:untraced')).not.toHaveProperty('traceId');
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
      await queue.obliterate({ force: true });
      await queue.close();
      await operations.close();
      await closeRedis(connection);
    }
  });
});
