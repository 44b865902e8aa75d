/**
 * The metrics module (src/infra/metrics): what each recording method adds to the text
 * exposition, scrape-time sources, isolation between app instances, and the hooks the
 * AI client and chat model report through. Never asserts on times.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenAIChatModel, createOpenAIClient } from '../../src/infra/ai/index.js';
import { createActiveConversations, createMetrics, type AiRequestObservation } from '../../src/infra/metrics/index.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';

/** The sample lines of an exposition, as `name{labels} value` strings. */
function sampleLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('createMetrics', () => {
  it('records jobs, handler results, intake, AI requests, tokens and platform errors', async () => {
    const metrics = createMetrics();
    metrics.jobSettled('chat', 'completed', { replied: true, messagesSent: 1, outcome: 'answered' });
    metrics.jobSettled('chat', 'completed', { replied: true, messagesSent: 1, outcome: 'refused' });
    metrics.jobSettled('moderate', 'completed', { flagged: false });
    metrics.jobSettled('chat', 'retried');
    metrics.jobSettled('image', 'failed');
    metrics.jobSettled('chat', 'stalled');
    metrics.jobEnqueued('chat', false);
    metrics.jobEnqueued('chat', true);
    metrics.jobWaited('chat', 250);
    metrics.jobRan('chat', 1500);
    metrics.aiRequest({ endpoint: 'chat/completions', status: '200', seconds: 0.3 });
    metrics.aiRequest({ endpoint: 'moderations', status: 'timeout', seconds: 60 });
    metrics.tokensUsed('gpt-4o-mini', { promptTokens: 12, completionTokens: 30 });
    metrics.tokensUsed('gpt-4o-mini', { promptTokens: 8, completionTokens: 10 });
    metrics.platformError('telegram', 429);
    metrics.platformError('discord', 'network');

    const lines = sampleLines(await metrics.render());
    expect(lines).toEqual(
      expect.arrayContaining([
        'switchboard_jobs_total{kind="chat",outcome="completed"} 2',
        'switchboard_jobs_total{kind="moderate",outcome="completed"} 1',
        'switchboard_jobs_total{kind="chat",outcome="retried"} 1',
        'switchboard_jobs_total{kind="image",outcome="failed"} 1',
        'switchboard_jobs_total{kind="chat",outcome="stalled"} 1',
        'switchboard_job_results_total{kind="chat",result="answered"} 1',
        'switchboard_job_results_total{kind="chat",result="refused"} 1',
        'switchboard_jobs_enqueued_total{kind="chat",duplicate="false"} 1',
        'switchboard_jobs_enqueued_total{kind="chat",duplicate="true"} 1',
        'switchboard_job_wait_seconds_bucket{le="0.25",kind="chat"} 1',
        'switchboard_job_wait_seconds_bucket{le="0.1",kind="chat"} 0',
        'switchboard_job_wait_seconds_count{kind="chat"} 1',
        'switchboard_job_duration_seconds_sum{kind="chat"} 1.5',
        'switchboard_ai_requests_total{endpoint="chat/completions",status="200"} 1',
        'switchboard_ai_requests_total{endpoint="moderations",status="timeout"} 1',
        'switchboard_ai_request_duration_seconds_count{endpoint="chat/completions",status="200"} 1',
        'switchboard_ai_tokens_total{model="gpt-4o-mini",type="prompt"} 20',
        'switchboard_ai_tokens_total{model="gpt-4o-mini",type="completion"} 40',
        'switchboard_platform_errors_total{platform="telegram",status="429"} 1',
        'switchboard_platform_errors_total{platform="discord",status="network"} 1',
      ]),
    );
    // A result without an `outcome` field counts as a job but adds no result.
    expect(lines.filter((line) => line.startsWith('switchboard_job_results_total{kind="moderate"'))).toEqual([]);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('keeps each instance in its own registry, with the process metrics in every one', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.platformError('web', 500);
    const textA = await a.render();
    const textB = await b.render();
    expect(textA).toContain('switchboard_platform_errors_total{platform="web",status="500"} 1');
    expect(textB).not.toContain('platform="web"');
    for (const text of [textA, textB]) {
      expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
      // Every family appears once: the two registries never overlap.
      const types = text.split('\n').filter((line) => line.startsWith('# TYPE '));
      expect(new Set(types).size).toBe(types.length);
    }
  });

  it('reads queue depth and active conversations at each scrape', async () => {
    const metrics = createMetrics();
    let waiting = 3;
    metrics.watchQueues(async () => ({ chat: { waiting, delayed: 1, active: 2, failed: 0 }, image: { waiting: 0, delayed: 0, active: 0, failed: 4 } }));
    const touched: string[] = [];
    metrics.watchConversations({ window: '1h', touch: async (c) => void touched.push(c), count: async () => touched.length });
    metrics.conversationActive('web:general');

    let lines = sampleLines(await metrics.render());
    expect(lines).toEqual(
      expect.arrayContaining([
        'switchboard_queue_jobs{kind="chat",state="waiting"} 3',
        'switchboard_queue_jobs{kind="chat",state="delayed"} 1',
        'switchboard_queue_jobs{kind="chat",state="active"} 2',
        'switchboard_queue_jobs{kind="image",state="failed"} 4',
        'switchboard_active_conversations{window="1h"} 1',
      ]),
    );
    waiting = 0;
    lines = sampleLines(await metrics.render());
    expect(lines).toContain('switchboard_queue_jobs{kind="chat",state="waiting"} 0');
    expect(touched).toEqual(['web:general']);
  });

  it('still answers when a scrape-time source fails, leaving that gauge out', async () => {
    const metrics = createMetrics();
    metrics.watchQueues(async () => {
      throw new Error('Redis is down');
    });
    metrics.watchConversations({ window: '1h', touch: async () => Promise.reject(new Error('down')), count: async () => Promise.reject(new Error('down')) });
    metrics.conversationActive('web:general'); // a failed touch is swallowed
    metrics.jobSettled('chat', 'completed');
    const lines = sampleLines(await metrics.render());
    expect(lines).toContain('switchboard_jobs_total{kind="chat",outcome="completed"} 1');
    expect(lines.filter((line) => line.startsWith('switchboard_queue_jobs') || line.startsWith('switchboard_active_conversations'))).toEqual([]);
  });

  it('ignores usage figures a server got wrong instead of throwing', async () => {
    const metrics = createMetrics();
    expect(() => metrics.tokensUsed('m', { promptTokens: Number.NaN, completionTokens: -1 })).not.toThrow();
    expect(await metrics.render()).not.toContain('switchboard_ai_tokens_total{');
  });
});

describe('createActiveConversations (real Redis)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('counts distinct conversations touched within the window, forgetting older ones', async () => {
    const key = `${uniquePrefix('active')}:active-conversations`;
    let now = 1_000_000;
    const counter = createActiveConversations({ redis, key, windowMs: 60_000, now: () => now });
    await counter.touch('web:a');
    await counter.touch('web:b');
    await counter.touch('web:a');
    expect(await counter.count()).toBe(2);
    expect(counter.window).toBe('1m');
    now += 40_000;
    await counter.touch('web:b');
    now += 30_000; // web:a last active 70 s ago, web:b 30 s ago
    expect(await counter.count()).toBe(1);
    expect(await redis.zrange(key, 0, -1)).toEqual(['web:b']);
    // The set expires by itself once idle for a window.
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    await redis.del(key);
  });

  it('writes the touches of many jobs together, within a second, without a scrape', async () => {
    const key = `${uniquePrefix('active')}:active-conversations`;
    const counter = createActiveConversations({ redis, key });
    for (let i = 0; i < 50; i++) await counter.touch(`telegram:${i}`);
    await vi.waitFor(async () => expect(await redis.zcard(key)).toBe(50), { timeout: 3_000, interval: 100 });
    expect(await counter.count()).toBe(50);
    await redis.del(key);
  });
});

describe('AI client and chat model hooks', () => {
  const KEY = 'sk-test-metrics-hooks-0123456789';
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await createFakeOpenAI({ apiKey: KEY });
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('reports every attempt with its endpoint and status, and usage with the model asked', async () => {
    const seen: AiRequestObservation[] = [];
    const client = createOpenAIClient({
      baseUrl: fake.url,
      apiKey: KEY,
      sleep: async () => undefined,
      observe: (o) => seen.push(o),
    });
    fake.enqueueFault({ path: '/moderations', kind: 'status', status: 429, retryAfterMs: '1' });
    await client.createModeration({ input: 'hello' });
    await client.listModels();
    const usage: Array<[string, number]> = [];
    const model = createOpenAIChatModel({ client, model: 'gpt-4o-mini', onUsage: (m, u) => usage.push([m, u.completionTokens]) });
    for await (const event of model.streamChat({ model: '', messages: [{ role: 'user', content: 'hi' }] }, new AbortController().signal)) void event;
    await client.close();

    expect(seen.map(({ endpoint, status }) => `${endpoint} ${status}`)).toEqual([
      'moderations 429',
      'moderations 200',
      'models 200',
      'chat/completions 200',
    ]);
    for (const o of seen) expect(o.seconds).toBeGreaterThanOrEqual(0);
    expect(usage).toHaveLength(1);
    expect(usage[0]?.[0]).toBe('gpt-4o-mini');
    expect(usage[0]?.[1]).toBeGreaterThan(0);
  });

  it('reports a transport failure without a status, and an observer that throws breaks nothing', async () => {
    const seen: string[] = [];
    const client = createOpenAIClient({
      baseUrl: 'http://127.0.0.1:9/v1', // discard port: nothing listens
      maxRetries: 0,
      observe: (o) => {
        seen.push(`${o.endpoint} ${o.status}`);
        throw new Error('observer bug');
      },
    });
    await expect(client.listModels()).rejects.toThrow();
    await client.close();
    expect(seen).toEqual(['models network']);

    const ok = createOpenAIClient({ baseUrl: fake.url, apiKey: KEY, observe: () => { throw new Error('observer bug'); } });
    await expect(ok.listModels()).resolves.toMatchObject({ object: 'list' });
    await ok.close();
  });
});
