/**
 * End to end: `GET /metrics` of the real app (src/app.ts) after real traffic through the
 * playground, the queue, the workers and the fake OpenAI. Asserts on the text exposition
 * a Prometheus server would scrape; never on times.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RunningApp } from '../../src/app.js';
import { JOB_KINDS } from '../../src/domain/jobs.js';
import { usePlaygroundApp } from '../support/playground-app.js';
import { uniquePrefix } from '../support/redis.js';
import { forbidInLogs } from '../support/logs.js';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';

const API_KEY = 'sk-test-metrics-0123456789abcdef';
const METRICS_TOKEN = 'mt-fedcba9876543210-metrics';
forbidInLogs(METRICS_TOKEN);
const MODEL = 'gpt-4o-mini';
const h = usePlaygroundApp({ apiKey: API_KEY, label: 'metrics', env: { CHAT_MODEL: MODEL } });
const { start, logLines } = h;

/** One sample of the exposition: name, labels, value. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format's sample lines. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample `name` whose labels include `labels`, or undefined. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(app: RunningApp): Promise<{ contentType: string | null; text: string; samples: Sample[] }> {
  const response = await fetch(`${app.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { contentType: response.headers.get('content-type'), text, samples: parseExposition(text) };
}

/** Scrapes until `check` passes: a job's 'completed' event may land just after its reply. */
async function scrapeUntil(app: RunningApp, check: (samples: Sample[]) => void): Promise<Sample[]> {
  return vi.waitFor(async () => {
    const { samples } = await scrape(app);
    check(samples);
    return samples;
  }, { timeout: 10_000, interval: 50 });
}

describe('GET /metrics', () => {
  it('counts jobs, upstream requests and tokens after two playground messages', async () => {
    const app = await start();
    const page = await followChannel(app.url, 'metered');
    expect((await postMessage(app.url, 'metered', 'first')).status).toBe(202);
    await page.waitFor((m) => finalAnswers(m).length === 1);
    expect((await postMessage(app.url, 'metered', 'second')).status).toBe(202);
    await page.waitFor((m) => finalAnswers(m).length === 2);
    page.close();

    const samples = await scrapeUntil(app, (s) => {
      expect(valueOf(s, 'switchboard_jobs_total', { kind: 'chat', outcome: 'completed' })).toBeGreaterThanOrEqual(2);
    });
    const { contentType, text } = await scrape(app);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE switchboard_jobs_total counter');

    expect(valueOf(samples, 'switchboard_job_results_total', { kind: 'chat', result: 'answered' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'switchboard_jobs_enqueued_total', { kind: 'chat', duplicate: 'false' })).toBe(2);
    expect(valueOf(samples, 'switchboard_ai_requests_total', { endpoint: 'chat/completions', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'switchboard_ai_request_duration_seconds_count', { endpoint: 'chat/completions', status: '200' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'switchboard_ai_tokens_total', { model: MODEL, type: 'prompt' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'switchboard_ai_tokens_total', { model: MODEL, type: 'completion' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'switchboard_job_wait_seconds_count', { kind: 'chat' })).toBe(2);
    expect(valueOf(samples, 'switchboard_job_duration_seconds_count', { kind: 'chat' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'switchboard_active_conversations', { window: '1h' })).toBe(1);
    for (const kind of JOB_KINDS) {
      for (const state of ['waiting', 'delayed', 'active', 'failed']) {
        expect(valueOf(samples, 'switchboard_queue_jobs', { kind, state }), `${kind} ${state}`).toBeDefined();
      }
    }
    expect(valueOf(samples, 'switchboard_queue_jobs', { kind: 'chat', state: 'failed' })).toBe(0);
    // prom-client's default process metrics come along.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeDefined();
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeDefined();
  });

  it('counts each upstream attempt by status, and a retried job as retried then completed', async () => {
    const app = await start({ OPENAI_MAX_RETRIES: '1', JOB_ATTEMPTS: '2' });
    const page = await followChannel(app.url, 'bumpy');
    // Attempt 1 of the job: 500 then 500 (its one client retry) → the job is retried.
    // Attempt 2: 429 (asked again once the rate-limit gate lets it, not a retry), then 200.
    h.fake.enqueueFault({ path: '/chat/completions', kind: 'status', status: 500, times: 2 });
    h.fake.enqueueFault({ path: '/chat/completions', kind: 'status', status: 429, retryAfterMs: '10' });
    await postMessage(app.url, 'bumpy', 'hello through the bumps');
    await page.waitFor((m) => finalAnswers(m).length === 1, 15_000);
    page.close();

    const samples = await scrapeUntil(app, (s) => {
      expect(valueOf(s, 'switchboard_jobs_total', { kind: 'chat', outcome: 'completed' })).toBe(1);
    });
    expect(valueOf(samples, 'switchboard_jobs_total', { kind: 'chat', outcome: 'retried' })).toBe(1);
    expect(valueOf(samples, 'switchboard_jobs_total', { kind: 'chat', outcome: 'failed' })).toBeUndefined();
    expect(valueOf(samples, 'switchboard_ai_requests_total', { endpoint: 'chat/completions', status: '429' })).toBe(1);
    expect(valueOf(samples, 'switchboard_ai_requests_total', { endpoint: 'chat/completions', status: '500' })).toBe(2);
    expect(valueOf(samples, 'switchboard_ai_requests_total', { endpoint: 'chat/completions', status: '200' })).toBe(1);
    // The job ran twice but waited in the queue once.
    expect(valueOf(samples, 'switchboard_job_duration_seconds_count', { kind: 'chat' })).toBe(2);
    expect(valueOf(samples, 'switchboard_job_wait_seconds_count', { kind: 'chat' })).toBe(1);

    // The job's log lines say where the message came from.
    const failed = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'chat completion failed');
    expect(failed).toMatchObject({ kind: 'chat', platform: 'web', channel: 'bumpy', attempt: 1 });
    expect(failed?.jobId).toEqual(expect.any(String));
  });

  it('is served by gateway-only and worker-only processes', async () => {
    const QUEUE_PREFIX = uniquePrefix('metrics-split');
    const gateway = await start({ QUEUE_PREFIX }, 'gateway');
    const page = await followChannel(gateway.url, 'split');
    await postMessage(gateway.url, 'split', 'anyone home?');
    // No worker yet: the gateway sees the job waiting.
    let samples = (await scrape(gateway)).samples;
    expect(valueOf(samples, 'switchboard_queue_jobs', { kind: 'chat', state: 'waiting' })).toBe(1);
    expect(valueOf(samples, 'switchboard_jobs_enqueued_total', { kind: 'chat', duplicate: 'false' })).toBe(1);

    const worker = await start({ QUEUE_PREFIX }, 'worker');
    await page.waitFor((m) => finalAnswers(m).length === 1);
    page.close();
    samples = await scrapeUntil(worker, (s) => {
      expect(valueOf(s, 'switchboard_jobs_total', { kind: 'chat', outcome: 'completed' })).toBe(1);
    });
    expect(valueOf(samples, 'switchboard_ai_requests_total', { endpoint: 'chat/completions', status: '200' })).toBe(1);
    // Both read the one queue in Redis.
    await scrapeUntil(gateway, (s) => {
      expect(valueOf(s, 'switchboard_queue_jobs', { kind: 'chat', state: 'waiting' })).toBe(0);
      expect(valueOf(s, 'switchboard_queue_jobs', { kind: 'chat', state: 'active' })).toBe(0);
      expect(valueOf(s, 'switchboard_active_conversations', { window: '1h' })).toBe(1);
    });
  });
});

describe('where /metrics is served (issue #17)', () => {
  it('with METRICS_PORT, only on its own listener (127.0.0.1 by default), with /healthz and /readyz', async () => {
    const app = await start({ METRICS_PORT: '0' });
    expect(app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app.metricsUrl).not.toBe(app.url);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    const { contentType, text } = await scrape({ ...app, url: app.metricsUrl! });
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE switchboard_jobs_total counter');
    expect(await (await fetch(`${app.metricsUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    // The listener serves nothing of the playground's.
    expect((await fetch(`${app.metricsUrl}/`)).status).toBe(404);
    expect(logLines.some((line) => line.includes(`"/metrics is served on ${app.metricsUrl} only"`))).toBe(true);
  });

  it('with METRICS_TOKEN, only for that Bearer token, also on loopback and on METRICS_PORT', async () => {
    for (const env of [{ METRICS_TOKEN }, { METRICS_TOKEN, METRICS_PORT: '0' }] as Array<Record<string, string>>) {
      const app = await start(env);
      const url = app.metricsUrl ?? app.url;
      const refused = await fetch(`${url}/metrics`);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="switchboard-metrics"');
      expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status).toBe(401);
      const scraped = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('# TYPE switchboard_jobs_total counter');
    }
    expect(logLines.filter((line) => line.includes(METRICS_TOKEN))).toEqual([]);
  });
});
