/**
 * Issue #17, end to end: the whole service bound to 0.0.0.0 (the one test that binds
 * beyond loopback; every app stops after its test), reached from a non-loopback address
 * of this machine (os.networkInterfaces()). Without PLAYGROUND_TOKEN the playground is
 * off and enqueues nothing; with it, no token and a wrong one are refused, the right one
 * is answered, and the limits count the token's holder. /metrics needs METRICS_TOKEN.
 * The logger scrubs nothing, so no token in any line is the code's doing.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_HOLDER_ID, WEB_ERROR_CODES } from '../../adapters/web/index.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { JOB_KINDS } from '../../src/domain/jobs.js';
import { createQueueOperations } from '../../src/infra/queue/index.js';
import { createRedisDailyCounter } from '../../src/infra/quota/redis-daily-quota.js';
import { closeRedis, createRedisConnection } from '../../src/infra/redis/connection.js';
import { createRedisKeys } from '../../src/infra/redis/keys.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { captureLogs } from '../support/logs.js';
import { bearer, finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

const PLAYGROUND_TOKEN = `pg-${randomBytes(16).toString('hex')}`;
/** As long as the real one, so only the constant-time comparison tells them apart. */
const WRONG_TOKEN = `pg-${randomBytes(16).toString('hex')}`;
const METRICS_TOKEN = `mt-${randomBytes(16).toString('hex')}`;
const TOKENS = [PLAYGROUND_TOKEN, WRONG_TOKEN, METRICS_TOKEN];
/** Long enough to see a second job reach the model, were there one. */
const SETTLE_MS = 400;

const { log, lines: logLines } = captureLogs([], { forbidden: TOKENS });

/** An IPv4 address of this machine that is not loopback: requests to it come from it. */
function lanAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  throw new Error('this test needs a non-loopback IPv4 address on this machine; os.networkInterfaces() lists none');
}

let openai: FakeOpenAI;
const apps: RunningApp[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the service on 0.0.0.0 with a fresh prefix; answers where it is reached from outside. */
async function startExposed(env: Record<string, string>): Promise<{ app: RunningApp; outside: string; prefix: string }> {
  const prefix = uniquePrefix('exposed');
  const app = await startApp(
    parseConfig({ REDIS_URL: testRedisUrl(), OPENAI_BASE_URL: openai.url, HOST: '0.0.0.0', PORT: '0', QUEUE_PREFIX: prefix, ...env }),
    { log },
  );
  apps.push(app);
  return { app, outside: `http://${lanAddress()}:${new URL(app.url).port}`, prefix };
}

/** Every job of every kind in any state, under `prefix`. */
async function jobsIn(prefix: string): Promise<number> {
  const connection = createRedisConnection(testRedisUrl(), 'command');
  const operations = createQueueOperations({ connection, keys: createRedisKeys(prefix), secrets: [] });
  try {
    const { queues } = await operations.snapshot();
    return JOB_KINDS.reduce((sum, kind) => {
      const q = queues[kind];
      return sum + q.waiting + q.active + q.delayed + q.failed + q.completed;
    }, 0);
  } finally {
    await operations.close();
    await closeRedis(connection);
  }
}

const messagesPath = (channel: string) => `/api/channels/${channel}/messages`;
const post = (base: string, channel: string, headers: Record<string, string>) =>
  fetch(`${base}${messagesPath(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ id: randomBytes(8).toString('hex'), text: 'let me in', author: 'Mallory' }),
  });
const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
const chatRequests = () => openai.requestsTo('/chat/completions').length;
const logged = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  openai = await createFakeOpenAI();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  expect(openai.violations).toEqual([]);
  openai.reset();
});

afterAll(async () => {
  await openai?.stop();
  expect(logLines.length).toBeGreaterThan(0);
  for (const token of TOKENS) expect(logLines.filter((line) => line.includes(token))).toEqual([]);
});

describe('bound to 0.0.0.0 without PLAYGROUND_TOKEN', () => {
  it('keeps the playground off for everyone, enqueues nothing, and says so in the start log', async () => {
    const { app, outside, prefix } = await startExposed({});
    const port = new URL(app.url).port;

    for (const base of [outside, app.url]) {
      const refused = await post(base, 'general', {});
      expect(refused.status, base).toBe(404);
      expect(await errorCode(refused)).toBe(WEB_ERROR_CODES.PLAYGROUND_OFF);
      for (const path of ['/', '/app.js', '/style.css', '/api/info', '/api/channels/general/history', '/api/channels/general/events', `/api/files/${'a'.repeat(32)}`]) {
        expect((await fetch(`${base}${path}`)).status, `${base}${path}`).toBe(404);
      }
      const upload = await fetch(`${base}/api/uploads?name=a.ogg`, { method: 'POST', headers: { 'content-type': 'audio/ogg' }, body: 'OggS' });
      expect(upload.status).toBe(404);
    }
    // Health stays open and says nothing but that; /metrics is off without its token.
    const health = await fetch(`${outside}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(health.headers.get('referrer-policy')).toBe('no-referrer');
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await (await fetch(`${outside}/readyz`)).json()).toEqual({ status: 'ready', checks: { redis: true, workers: true } });
    expect((await fetch(`${outside}/metrics`)).status).toBe(404);

    await sleep(SETTLE_MS);
    expect(await jobsIn(prefix)).toBe(0);
    expect(chatRequests()).toBe(0);
    const messages = logged().map((line) => String(line['msg']));
    expect(messages).toContain(
      `listening on http://0.0.0.0:${port} (every address of this machine); the playground is off because HOST is not a loopback address and PLAYGROUND_TOKEN is not set`,
    );
    expect(messages).toContain(`/metrics is off on http://0.0.0.0:${port}: HOST is not a loopback address, and neither METRICS_TOKEN nor METRICS_PORT is set`);
  });
});

describe('bound to 0.0.0.0 with PLAYGROUND_TOKEN and METRICS_TOKEN', () => {
  it('refuses no token and a wrong one, answers the right one, refuses other origins, and counts the holder in the limits', async () => {
    const { app, outside, prefix } = await startExposed({
      PLAYGROUND_TOKEN,
      METRICS_TOKEN,
      USER_RATE_LIMIT: '2',
      USER_DAILY_TOKENS: '1000000',
    });
    const port = new URL(app.url).port;
    expect(logged().map((line) => line['msg'])).toContain(`listening on http://0.0.0.0:${port} (every address of this machine); the playground asks for PLAYGROUND_TOKEN`);

    // The page itself loads, to ask for the token; it holds none.
    const page = await fetch(`${outside}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain(PLAYGROUND_TOKEN);

    const channel = 'exposed';
    const missing = await post(outside, channel, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="switchboard-playground"');
    expect(await errorCode(missing)).toBe(WEB_ERROR_CODES.UNAUTHORIZED);
    const wrong = await post(outside, channel, bearer(WRONG_TOKEN));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="switchboard-playground", error="invalid_token"');
    for (const [what, headers] of [
      ['a prefix', bearer(PLAYGROUND_TOKEN.slice(0, -1))],
      ['more after it', bearer(`${PLAYGROUND_TOKEN}x`)],
      ['another scheme', { authorization: `Basic ${Buffer.from(`u:${PLAYGROUND_TOKEN}`).toString('base64')}` }],
    ] as const) {
      expect((await post(outside, channel, headers)).status, what).toBe(401);
    }
    // Never taken from the URL.
    const inQuery = await fetch(`${outside}${messagesPath(channel)}?token=${PLAYGROUND_TOKEN}&access_token=${PLAYGROUND_TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: randomBytes(8).toString('hex'), text: 'query', author: 'Mallory' }),
    });
    expect(inQuery.status).toBe(401);
    for (const path of ['/api/info', `/api/channels/${channel}/history`, `/api/channels/${channel}/events`, `/api/files/${'a'.repeat(32)}`]) {
      expect((await fetch(`${outside}${path}`)).status, path).toBe(401);
      expect((await fetch(`${outside}${path}`, { headers: bearer(WRONG_TOKEN) })).status, path).toBe(401);
    }
    const upload = await fetch(`${outside}/api/uploads?name=a.ogg`, { method: 'POST', headers: { 'content-type': 'audio/ogg' }, body: 'OggS' });
    expect(upload.status).toBe(401);
    await sleep(SETTLE_MS);
    expect(await jobsIn(prefix)).toBe(0);
    expect(chatRequests()).toBe(0);
    // The refusals came from outside this machine's loopback, and the log says from where, never with what.
    const refusal = logged().find((line) => line['msg'] === 'playground: refused a wrong token');
    expect(String(refusal?.['remoteAddress'])).toMatch(new RegExp(`(^|:)${lanAddress().replaceAll('.', '\\.')}$`));

    // The right token: taken at once and answered on the event stream.
    const stream = await followChannel(outside, channel, PLAYGROUND_TOKEN);
    const first = await postMessage(outside, channel, 'first', { author: 'Ann', headers: bearer(PLAYGROUND_TOKEN) });
    expect(first.status).toBe(202);
    await stream.waitFor((m) => finalAnswers(m).includes('Echo: first'));

    // A page of another origin may not post, even with the token; the page's own origin may.
    const crossOrigin = await postMessage(outside, channel, 'from elsewhere', {
      headers: { ...bearer(PLAYGROUND_TOKEN), origin: 'https://evil.example' },
    });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.body.error?.code).toBe(WEB_ERROR_CODES.CROSS_ORIGIN);
    const sameOrigin = await postMessage(outside, channel, 'second', { author: 'Bob', headers: { ...bearer(PLAYGROUND_TOKEN), origin: outside } });
    expect(sameOrigin.status).toBe(202);
    await stream.waitFor((m) => finalAnswers(m).includes('Echo: second'));

    // Another display name is the same holder: over USER_RATE_LIMIT (2 a minute) it is told, and the model is not asked.
    expect((await postMessage(outside, channel, 'third', { author: 'Cy', headers: bearer(PLAYGROUND_TOKEN) })).status).toBe(202);
    const answers = finalAnswers(await stream.waitFor((m) => finalAnswers(m).length === 3));
    expect(answers[2]).toMatch(/^You're sending me messages faster than I can take \(2 a minute\)\. You can ask again in \d+ s\.$/);
    await sleep(SETTLE_MS);
    const asked = openai.requestsTo('/chat/completions').map((request) => JSON.stringify(request.body));
    expect(asked).toHaveLength(2);
    expect(asked.some((body) => body.includes('from elsewhere') || body.includes('third'))).toBe(false);
    stream.close();

    // The holder's tokens are counted toward USER_DAILY_TOKENS.
    const redis = createRedisConnection(testRedisUrl(), 'command');
    try {
      const tokens = createRedisDailyCounter({ redis, keys: createRedisKeys(prefix), name: 'tokens' });
      expect((await tokens.get(`user:web:${TOKEN_HOLDER_ID}`)).total).toBeGreaterThan(0);
    } finally {
      await closeRedis(redis);
    }
  });

  it('serves /metrics from outside only with METRICS_TOKEN', async () => {
    const { outside } = await startExposed({ PLAYGROUND_TOKEN, METRICS_TOKEN });
    const without = await fetch(`${outside}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer realm="switchboard-metrics"');
    expect(await errorCode(without)).toBe('unauthorized');
    for (const token of [WRONG_TOKEN, PLAYGROUND_TOKEN]) expect((await fetch(`${outside}/metrics`, { headers: bearer(token) })).status).toBe(401);
    const scraped = await fetch(`${outside}/metrics`, { headers: bearer(METRICS_TOKEN) });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scraped.text()).toContain('# TYPE switchboard_jobs_total counter');
  });
});
