/**
 * Prometheus metrics of one app instance, on prom-client with a registry of its own
 * (tests run several apps in one process, so the library's global registry is never
 * used). Served as text at `GET /metrics` by src/infra/http/server.ts.
 * https://prometheus.io/docs/instrumenting/writing_exporters/  https://github.com/siimon/prom-client
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { settleWithin } from '../settle-within.js';
import { processRegistry } from './process-metrics.js';
import type { AiMetrics, ConversationCounter, IntakeMetrics, JobMetrics, PlatformMetrics, QueueDepth } from './recorders.js';

/** Every metric of ours starts with this. */
export const METRIC_PREFIX = 'switchboard_';
/** A scrape-time source (queue depth, active conversations) slower than this is left out of that scrape. */
const SOURCE_TIMEOUT_MS = 2_000;
/** Seconds a job waited in the queue: a user notices from about a second. */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds a job attempt ran: a streamed answer takes seconds, an image up to a minute. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
/** Seconds until an AI endpoint's response headers arrived. */
const AI_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];
/** Seconds a request waited for the AI endpoint's rate limits: mostly none, up to minutes in a 429 storm. */
const AI_WAIT_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Queue states reported by `switchboard_queue_jobs`. */
export const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/** The metrics of one app instance. */
export interface Metrics extends JobMetrics, IntakeMetrics, AiMetrics, PlatformMetrics {
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** This instance's metrics and the process's, in the Prometheus text format. */
  render(): Promise<string>;
  /** Where `switchboard_queue_jobs` is read from at each scrape. */
  watchQueues(source: () => Promise<QueueDepth>): void;
  /** Where `switchboard_active_conversations` is read from at each scrape; also told of each active conversation. */
  watchConversations(counter: ConversationCounter): void;
}

/** Creates the metrics of one app instance, each in a registry of its own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  let queues: (() => Promise<QueueDepth>) | undefined;
  let conversations: ConversationCounter | undefined;

  const jobs = new Counter({
    name: `${METRIC_PREFIX}jobs_total`,
    help: 'Job attempts by kind and outcome: completed, failed (no attempts left), retried (will run again), stalled (its worker vanished).',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const results = new Counter({
    name: `${METRIC_PREFIX}job_results_total`,
    help: "Completed jobs by kind and the handler's result: answered, command, failed, ignored, refused.",
    labelNames: ['kind', 'result'],
    registers,
  });
  const enqueued = new Counter({
    name: `${METRIC_PREFIX}jobs_enqueued_total`,
    help: 'Messages offered to the queue by kind; duplicate="true" when a redelivered message made no new job.',
    labelNames: ['kind', 'duplicate'],
    registers,
  });
  const waited = new Histogram({
    name: `${METRIC_PREFIX}job_wait_seconds`,
    help: 'Time from enqueue to the start of the first attempt, by kind (includes waiting for earlier messages of the conversation).',
    labelNames: ['kind'],
    buckets: WAIT_BUCKETS,
    registers,
  });
  const ran = new Histogram({
    name: `${METRIC_PREFIX}job_duration_seconds`,
    help: "Time one attempt's handler ran, by kind.",
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const aiRequests = new Counter({
    name: `${METRIC_PREFIX}ai_requests_total`,
    help: 'Upstream AI request attempts (each retry counts) by endpoint and HTTP status (timeout, network or aborted when none arrived).',
    labelNames: ['endpoint', 'status'],
    registers,
  });
  const aiLatency = new Histogram({
    name: `${METRIC_PREFIX}ai_request_duration_seconds`,
    help: 'Time until an upstream AI response\'s headers arrived (for a stream: its start), by endpoint and status.',
    labelNames: ['endpoint', 'status'],
    buckets: AI_LATENCY_BUCKETS,
    registers,
  });
  const aiWait = new Histogram({
    name: `${METRIC_PREFIX}ai_rate_limit_wait_seconds`,
    help: "Time AI requests waited for the endpoint's rate limits (shared by every process) before they went, by lane (the model).",
    labelNames: ['lane'],
    buckets: AI_WAIT_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: `${METRIC_PREFIX}ai_tokens_total`,
    help: 'Tokens used by chat completions, by model and type (prompt or completion), as the endpoint reported them.',
    labelNames: ['model', 'type'],
    registers,
  });
  const platformErrors = new Counter({
    name: `${METRIC_PREFIX}platform_errors_total`,
    help: 'Platform API calls that failed, by platform and HTTP status (429: rate limited) or failure kind.',
    labelNames: ['platform', 'status'],
    registers,
  });
  new Gauge({
    name: `${METRIC_PREFIX}queue_jobs`,
    help: 'Jobs in the queue by kind and state (waiting, delayed, active, failed), read from Redis at each scrape; the same for every process sharing the Redis.',
    labelNames: ['kind', 'state'],
    registers,
    async collect() {
      this.reset();
      if (!queues) return;
      const depth = await settleWithin(queues(), SOURCE_TIMEOUT_MS, undefined);
      for (const [kind, states] of Object.entries(depth ?? {})) {
        for (const state of QUEUE_STATES) this.set({ kind, state }, states[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}active_conversations`,
    help: 'Conversations with a job started within `window`, across every process sharing the Redis.',
    // The label also lets a failed read leave the gauge out rather than report 0.
    labelNames: ['window'],
    registers,
    async collect() {
      this.reset();
      if (!conversations) return;
      const count = await settleWithin(conversations.count(), SOURCE_TIMEOUT_MS, undefined);
      if (count !== undefined) this.set({ window: conversations.window }, count);
    },
  });

  return {
    contentType: registry.contentType,
    async render() {
      return (await processRegistry().metrics()) + (await registry.metrics());
    },
    watchQueues(source) {
      queues = source;
    },
    watchConversations(counter) {
      conversations = counter;
    },
    jobWaited(kind, ms) {
      waited.observe({ kind }, Math.max(0, ms) / 1000);
    },
    jobRan(kind, ms) {
      ran.observe({ kind }, Math.max(0, ms) / 1000);
    },
    jobSettled(kind, outcome, result) {
      jobs.inc({ kind, outcome });
      const handlerOutcome = outcomeOf(result);
      if (outcome === 'completed' && handlerOutcome !== undefined) results.inc({ kind, result: handlerOutcome });
    },
    conversationActive(conversation) {
      // Metrics never fail a job: a lost touch only undercounts.
      conversations?.touch(conversation).catch(() => undefined);
    },
    jobEnqueued(kind, duplicate) {
      enqueued.inc({ kind, duplicate: String(duplicate) });
    },
    aiRequest({ endpoint, status, seconds }) {
      aiRequests.inc({ endpoint, status });
      aiLatency.observe({ endpoint, status }, seconds);
    },
    aiWaited(lane, ms) {
      aiWait.observe({ lane }, Math.max(0, ms) / 1000);
    },
    tokensUsed(model, usage) {
      // A server that reports nonsense usage must not make the counter throw.
      if (isCount(usage.promptTokens)) tokens.inc({ model, type: 'prompt' }, usage.promptTokens);
      if (isCount(usage.completionTokens)) tokens.inc({ model, type: 'completion' }, usage.completionTokens);
    },
    platformError(platform, status) {
      platformErrors.inc({ platform, status: String(status) });
    },
  };
}

function isCount(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

/** The `outcome` field of a handler's result (ChatResult), if it has one. */
function outcomeOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || !('outcome' in result)) return undefined;
  const { outcome } = result as { outcome: unknown };
  return typeof outcome === 'string' ? outcome : undefined;
}
