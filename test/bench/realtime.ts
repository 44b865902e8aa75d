/**
 * Phase R of the benchmark: what users feel with a real model's timing. A fake upstream
 * waits before its first word and streams the answer over seconds; hundreds or thousands
 * of people write at once in private chats, each writing again as soon as their answer is
 * final. Per platform and crowd it prints answers a second, delivery to final text
 * (p50/p95/max), the platform calls per answer, the service's memory per 1,000 answers in
 * flight and its event-loop delay.
 */
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { peopleAtOnce, percentile, timedReply, type Driver, type WriteCounts } from './measure.js';
import { rssMiB } from './processes.js';
import { fmt, type CpuMeter, type Service } from './service.js';

/** A model's timing: first word after `firstTokenMs`, the rest over `streamMs`. */
export interface ModelTiming {
  readonly firstTokenMs: number;
  readonly streamMs: number;
  readonly words: number;
}

export const TIMINGS: readonly ModelTiming[] = [
  { firstTokenMs: 500, streamMs: 3_000, words: 60 },
  { firstTokenMs: 1_000, streamMs: 10_000, words: 60 },
];
export const CROWDS = [500, 2_000] as const;
/** Everyone has written and the first answers are back before measuring starts. */
const SETTLE_SECONDS = 6;
const MEASURE_SECONDS = 20;
/** With answers slower than this, the settling and the measured window stretch to hold several of them. */
const ANSWERS_PER_WINDOW = 4;
const DRAIN_MS = 30_000;
const SAMPLE_EVERY_MS = 1_000;
/** prom-client samples the event loop every 10 ms (its default precision); a sample's delay includes those 10 ms. */
const LOOP_SAMPLE_MS = 10;

/** What the fake upstream counted since it was last asked. */
export interface UpstreamStats {
  readonly passed: number;
  readonly refused: number;
  readonly streams: number;
  readonly streamedMs: number;
}

/** Asks the fake upstream (a child with IPC) for its counts, which restart from zero. */
export function upstreamStats(child: ChildProcess): Promise<UpstreamStats> {
  return new Promise((resolve) => {
    const onMessage = (message: { stats?: UpstreamStats }): void => {
      if (!message.stats) return;
      child.off('message', onMessage);
      resolve(message.stats);
    };
    child.on('message', onMessage);
    child.send({ stats: true });
  });
}

/** The upstream's environment for a timing. */
export function upstreamEnv(timing: ModelTiming): Record<string, string> {
  return {
    BENCH_UPSTREAM_FIRST_TOKEN_MS: String(timing.firstTokenMs),
    BENCH_UPSTREAM_STREAM_MS: String(timing.streamMs),
    BENCH_UPSTREAM_WORDS: String(timing.words),
  };
}

/** The answer the timed upstream gives, which a driver waits for. */
export function replyOf(timing: ModelTiming): string {
  return timedReply(timing.words);
}

/** Redis commands executed so far, by command (INFO commandstats). */
async function redisCommands(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** Redis commands per answer between two readings, the most frequent first. */
function redisPerAnswer(before: Map<string, number>, after: Map<string, number>, answers: number): string {
  const per = [...after].map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / Math.max(1, answers)] as const).filter(([, n]) => n >= 0.05);
  per.sort((a, b) => b[1] - a[1]);
  const total = per.reduce((sum, [, n]) => sum + n, 0);
  return `Redis ${fmt(total, 1)} commands/answer (${per.slice(0, Number(process.env['BENCH_REDIS_TOP'] ?? 6)).map(([name, n]) => `${name} ${fmt(n, 1)}`).join(', ')})`;
}

/** The service's own account of where an answer's time went (its /metrics), summed over a window. */
async function serviceSamples(service: Service): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  try {
    const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
    for (const match of text.matchAll(/^(switchboard_(?:job_wait_seconds_(?:sum|count)|ai_rate_limit_wait_seconds_(?:sum|count)|jobs_total|job_duration_seconds_(?:sum|count)))(\{[^}]*\})? ([0-9.e+-]+)$/gm)) {
      const labels = match[2] ?? '';
      if (labels.includes('kind=') && !labels.includes('kind="chat"')) continue;
      const key = `${match[1]}${labels.replace(/kind="chat",?/, '').replace(/,?\}$/, '}').replace('{}', '')}`;
      samples.set(key, (samples.get(key) ?? 0) + Number(match[3]));
    }
  } catch {
    // A process that does not answer has nothing to say.
  }
  return samples;
}

/** Queue wait, rate-limit wait and job outcomes between two readings. */
function timeLine(before: Map<string, number>, after: Map<string, number>): string {
  const diff = (key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const avg = (name: string): string => {
    const count = diff(`${name}_count`);
    return count > 0 ? `${fmt((diff(`${name}_sum`) / count) * 1000, 0)} ms` : '—';
  };
  let waitSum = 0;
  let waitCount = 0;
  for (const key of after.keys()) {
    if (key.startsWith('switchboard_ai_rate_limit_wait_seconds_sum')) waitSum += diff(key);
    if (key.startsWith('switchboard_ai_rate_limit_wait_seconds_count')) waitCount += diff(key);
  }
  const outcomes = ['retried', 'stalled', 'failed'].map((o) => `${o} ${fmt(diff(`switchboard_jobs_total{outcome="${o}"}`))}`).join(', ');
  return `chat job: queue wait ${avg('switchboard_job_wait_seconds')}, run ${avg('switchboard_job_duration_seconds')}, rate-limit wait ${waitCount > 0 ? `${fmt((waitSum / waitCount) * 1000, 0)} ms` : '—'} a request; ${outcomes}`;
}

/** The service's live JavaScript heap plus its buffers outside it (heap used + external), MiB. */
async function heapMiB(service: Service): Promise<number> {
  return (await scrape(service)).heapMiB;
}

/**
 * One scrape of a service's /metrics: its live heap and buffers, and the event-loop delay
 * since the previous scrape (prom-client resets its histogram on each, so the run's delay
 * is read every second, beside the heap, and summed up over the seconds).
 */
async function scrape(service: Service): Promise<{ heapMiB: number; loop?: { p50: number; p99: number; max: number } }> {
  try {
    const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
    const read = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    const lag = (name: string): number => Math.max(0, read(name) * 1000 - LOOP_SAMPLE_MS);
    return {
      heapMiB: (read('nodejs_heap_size_used_bytes') + read('nodejs_external_memory_bytes')) / 1024 / 1024,
      loop: { p50: lag('nodejs_eventloop_lag_p50_seconds'), p99: lag('nodejs_eventloop_lag_p99_seconds'), max: lag('nodejs_eventloop_lag_max_seconds') },
    };
  } catch {
    return { heapMiB: Number.NaN };
  }
}

/** Platform calls per answer, by kind, most frequent first. */
function perAnswer(writes: WriteCounts, answers: number): string {
  const entries = Object.entries(writes).sort((a, b) => b[1] - a[1]);
  const total = entries.filter(([kind]) => !kind.endsWith('refused') && kind !== 'sendChatAction' && kind !== 'typing').reduce((sum, [, n]) => sum + n, 0);
  const parts = entries.map(([kind, n]) => `${kind} ${fmt(n / Math.max(1, answers), 2)}`);
  return `${fmt(total / Math.max(1, answers), 2)} writes/answer (${parts.join(', ')})`;
}

/**
 * One crowd on one platform: the service is already running with `driver`'s platform.
 * Returns the printed line and the figures the summary needs.
 */
export async function measureCrowd(
  driver: Driver,
  service: Service,
  admin: Redis,
  users: number,
  base: number,
  cpu: CpuMeter,
  upstream: ChildProcess,
  timing: ModelTiming,
): Promise<{ line: string; p95: number; unanswered: number; kibPerAnswer: number }> {
  // Everyone's first message spread over one answer's time, so answers do not come in waves,
  // and a window that holds several answers of each person.
  const answerMs = timing.firstTokenMs + timing.streamMs;
  const seconds = Math.max(MEASURE_SECONDS, Math.ceil((ANSWERS_PER_WINDOW * answerMs) / 1000));
  const pid = service.pids.get('service') ?? [...service.pids.values()][0]!;
  const idleRss = await rssMiB(pid);
  const rss: number[] = [];
  const active: number[] = [];
  const heap: number[] = [];
  const idleHeap = await heapMiB(service);
  /** Each second's event-loop delay (p50, p99, max over that second). */
  const loops: Array<{ p50: number; p99: number; max: number }> = [];
  let cpuLine = '';
  let redisLine = '';
  let redisBefore = new Map<string, number>();
  let metricsBefore = new Map<string, number>();
  let metricsLine = '';
  let writes: WriteCounts = {};
  let modelLine = '';
  const result = await peopleAtOnce(driver, {
    users,
    settleSeconds: Math.max(SETTLE_SECONDS, Math.ceil((2 * answerMs) / 1000)),
    seconds,
    spreadMs: answerMs,
    base,
    drainMs: DRAIN_MS,
    during: () => {
      driver.writes?.();
      void cpu.begin();
      void redisCommands(admin).then((calls) => (redisBefore = calls));
      void serviceSamples(service).then((samples) => (metricsBefore = samples));
      void upstreamStats(upstream);
      void scrape(service);
      const timer = setInterval(() => {
        void rssMiB(pid).then((mib) => rss.push(mib));
        void admin.llen(`${service.prefix}:chat:active`).then((n) => active.push(n));
        void scrape(service).then((sample) => {
          heap.push(sample.heapMiB);
          if (sample.loop) loops.push(sample.loop);
        });
      }, SAMPLE_EVERY_MS);
      return async (answers) => {
        clearInterval(timer);
        writes = driver.writes?.() ?? {};
        cpuLine = await cpu.perMessage(answers);
        redisLine = redisPerAnswer(redisBefore, await redisCommands(admin), answers);
        metricsLine = timeLine(metricsBefore, await serviceSamples(service));
        const model = await upstreamStats(upstream);
        modelLine = `the fake model streamed each answer in ${fmt(model.streamedMs / Math.max(1, model.streams) / 1000, 2)} s`;
      };
    },
  });
  const avg = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const inFlight = avg(active);
  const kibPerAnswer = inFlight > 0 ? ((avg(rss) - idleRss) * 1024) / inFlight : Number.NaN;
  const liveKibPerAnswer = inFlight > 0 ? ((avg(heap) - idleHeap) * 1024) / inFlight : Number.NaN;
  const answers = result.answersPerSecond * seconds;
  const s = result.samples;
  const loop = {
    p50: percentile(loops.map((l) => l.p50).sort((a, b) => a - b), 50),
    p99: loops.length === 0 ? Number.NaN : Math.max(...loops.map((l) => l.p99)),
    max: loops.length === 0 ? Number.NaN : Math.max(...loops.map((l) => l.max)),
  };
  const line =
    `${driver.name.padEnd(9)} ${String(users).padStart(5)} people: ${fmt(result.answersPerSecond, 1)} answers/s; delivery → final text ` +
    `p50 ${fmt(percentile(s, 50) / 1000, 2)} s, p95 ${fmt(percentile(s, 95) / 1000, 2)} s, max ${fmt((s.at(-1) ?? Number.NaN) / 1000, 2)} s` +
    `${result.unanswered > 0 ? `, ${fmt(result.unanswered)} of ${fmt(result.sent)} unanswered` : `, all ${fmt(result.sent)} answered`}; ` +
    `${perAnswer(writes, answers)}; ${fmt(inFlight)} in flight, RSS ${fmt(idleRss)} → ${fmt(Math.max(...rss, idleRss))} MiB ` +
    `(${fmt((kibPerAnswer * 1000) / 1024, 1)} MiB per 1,000 in flight; live heap and buffers ${fmt((liveKibPerAnswer * 1000) / 1024, 1)} MiB per 1,000); event-loop delay, second by second: median p50 ${fmt(loop.p50, 1)} ms, ` +
    `worst p99 ${fmt(loop.p99, 1)} ms, max ${fmt(loop.max, 1)} ms (beyond the 10 ms sampling); ${cpuLine.replace('message', 'answer')}; ${redisLine}; ${metricsLine}; ${modelLine}`;
  return { line, p95: percentile(s, 95), unanswered: result.unanswered, kibPerAnswer };
}

/** The storm phase: the provider lets one request a second through, for STORM_SECONDS. */
export const STORM = { seconds: 10, requestsPerMinute: 60 } as const;

/**
 * A 429 storm under a crowd: after the crowd has settled, the fake provider suddenly allows
 * STORM.requestsPerMinute (its budget spent), for STORM.seconds, then its usual budget
 * again. Prints what reached it each second (let through / refused with 429), and whether
 * everyone was answered: a retry storm would show as hundreds refused a second.
 */
export async function measureStorm(driver: Driver, service: Service, users: number, upstream: ChildProcess): Promise<string[]> {
  const perSecond: string[] = [];
  let refusedTotal = 0;
  let passedTotal = 0;
  const result = await peopleAtOnce(driver, {
    users,
    settleSeconds: SETTLE_SECONDS,
    seconds: STORM.seconds + MEASURE_SECONDS / 2,
    base: 0,
    drainMs: DRAIN_MS * 2,
    sample: 'answered',
    during: () => {
      void upstreamStats(upstream);
      upstream.send({ limits: { requestsPerMinute: STORM.requestsPerMinute, startEmpty: true } });
      let second = 0;
      const timer = setInterval(() => {
        second += 1;
        if (second === STORM.seconds) upstream.send({ limits: {} });
        void upstreamStats(upstream).then((stats) => {
          refusedTotal += stats.refused;
          passedTotal += stats.passed;
          perSecond.push(`${stats.passed}/${stats.refused}`);
        });
      }, 1_000);
      return async () => clearInterval(timer);
    },
  });
  const s = result.samples;
  return [
    `${driver.name.padEnd(9)} ${users} people; the provider allows ${STORM.requestsPerMinute} requests a minute for ${STORM.seconds} s, then its usual budget:`,
    `   each second, requests let through / refused with 429: ${perSecond.join(' ')}`,
    `   ${fmt(passedTotal)} let through and ${fmt(refusedTotal)} refused over ${perSecond.length} s, while up to ${users} answers were waiting; ` +
      `${result.unanswered > 0 ? `${fmt(result.unanswered)} of ${fmt(result.sent)} unanswered` : `all ${fmt(result.sent)} answered`} ` +
      `(answered from the storm on: delivery → final text p50 ${fmt(percentile(s, 50) / 1000, 1)} s, p95 ${fmt(percentile(s, 95) / 1000, 1)} s, max ${fmt((s.at(-1) ?? Number.NaN) / 1000, 1)} s)`,
  ];
}
