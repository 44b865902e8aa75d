/**
 * What the fuzz tests share: the seed (FUZZ_SEED replays or explores), odd texts and
 * random JSON, a watch on the process for unhandled rejections and uncaught exceptions,
 * bounded-concurrency HTTP with a per-request timeout, the service's queue state from
 * /metrics, and the captured log lines as JSON.
 *
 * Seeds: every run uses a fixed seed per adapter, so `npm test` is the same every time;
 * `FUZZ_SEED=<n>` replays or explores another one, and `FUZZ_SEED=random` draws one. The
 * seed is in every test's name, so a failure report always carries it.
 */
import { request, type Agent } from 'node:http';
import type { Random } from '../support/prng.js';

/** The seed for a fuzz file: FUZZ_SEED when set (a number, or `random`), else the file's own fixed one. */
export function fuzzSeed(fixed: number): number {
  const given = process.env['FUZZ_SEED']?.trim();
  if (given === undefined || given === '') return fixed;
  if (given === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be a whole number or "random", not ${JSON.stringify(given)}`);
  return seed;
}

/**
 * Texts that break naive code: empty and blank, control characters and NUL, right-to-left
 * and zero-width marks, emoji ZWJ sequences, combining marks, lone surrogates (JSON
 * escapes them as `\ud800`), non-characters, markup of every platform, commands.
 */
const ODD_PIECES: readonly string[] = [
  '',
  ' ',
  '\n\n\t ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31mred\u001b[0m',
  '\r\n',
  '\u202Egnirts desrever\u202C',
  '\u200F\u05E9\u05DC\u05D5\u05DD \u0645\u0631\u062D\u0628\u0627',
  '\u200B\u200C\u200D\u2060\uFEFF',
  '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}',
  '\u{1F3F3}\uFE0F\u200D\u{1F308}',
  'Z\u0337\u0322\u0348a\u0338l\u0334g\u0335o\u0336\u0301\u0302\u0303',
  '\uD800',
  '\uDFFF',
  'x\uDBFF',
  '\uDC00y',
  '\uFFFE\uFFFF',
  '\u{10FFFF}',
  '\u{1D54F}\u{1D550}',
  '\uE000',
  '<b>bold</b> <script>alert(1)</script>',
  '**bold** _it_ `code` ```js\nx\n``` [link](http://example.invalid)',
  '```',
  '<@100000000000000001> <@!123> @everyone @here <#1> <@&2>',
  '@switchboard_test_bot',
  '/start',
  '/help',
  '/reset',
  '/image ',
  '/image a cat',
  '/reset@otherbot',
  '/persona set be rude',
  '/moderation on',
  '/',
  '//',
  '%s%n%x',
  '${process.exit()}',
  '__proto__',
  '{"a":1}',
  'null',
  '\\u0000',
  '\u00A0\u2028\u2029',
  '\u0130\u0131\u00DF',
];

/** An odd text: pieces of ODD_PIECES and plain words, sometimes very long. */
export function oddText(random: Random): string {
  const roll = random.next();
  if (roll < 0.04) return '';
  if (roll < 0.08) return 'x'.repeat(random.pick([4096, 4097, 8000, 8001, 10_000, 20_000]));
  if (roll < 0.1) return random.pick(ODD_PIECES).repeat(random.int(100, 2000));
  const parts: string[] = [];
  const count = random.int(1, 6);
  for (let i = 0; i < count; i += 1) {
    parts.push(random.chance(0.6) ? random.pick(ODD_PIECES) : random.pick(['hello', 'what is', 'up?', 'ok', '42', 'über', '日本語', 'тест']));
  }
  return parts.join(random.pick(['', ' ', '\n']));
}

/** Any JSON value, nested up to `depth`. */
export function randomJson(random: Random, depth = 3): unknown {
  const kind = random.int(0, depth > 0 ? 8 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, -0, 7_000_001]);
    case 3:
      return random.int(-1_000_000, 1_000_000);
    case 4:
    case 5:
      return oddText(random);
    case 6:
      return Array.from({ length: random.int(0, 4) }, () => randomJson(random, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = random.int(0, 5); i > 0; i -= 1) out[random.pick(['id', 'type', 'text', 'a', '__proto__', 'constructor', oddText(random)])] = randomJson(random, depth - 1);
      return out;
    }
  }
}

/** A wrong value for a field: of another type, empty, huge, or nested garbage. */
export function wrongValue(random: Random): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => undefined,
    () => '',
    () => 'not-a-number',
    () => 'a:b:c',
    () => -1,
    () => 1.5,
    () => 2 ** 64,
    () => [],
    () => ({}),
    () => true,
    () => randomJson(random, 2),
  ])();
}

/**
 * Watches the process for what would crash a service (an unhandled rejection or an
 * uncaught exception) while a fuzz test runs. The listeners are removed by `stop()`.
 */
export function watchProcess(): { readonly problems: string[]; stop(): void } {
  const problems: string[] = [];
  const onRejection = (reason: unknown): void => {
    problems.push(`unhandled rejection: ${describe(reason)}`);
  };
  const onException = (error: unknown): void => {
    problems.push(`uncaught exception: ${describe(error)}`);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    problems,
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/**
 * The problems by kind: the error's first line and the frame that threw, with counts, so
 * a failure reads as a short list however many events hit the same bug.
 */
export function summarizeProblems(problems: readonly string[]): Record<string, number> {
  return tally(
    problems.map((problem) => {
      const lines = problem.split('\n');
      const frame = lines.find((line) => line.trim().startsWith('at '))?.trim().replace(/\(.*?node_modules\//, '(').replace(/\(\/.*?\/(adapters|src|test)\//, '($1/') ?? '';
      return `${(lines[0] ?? '').slice(0, 160)} ${frame}`;
    }),
  );
}

function describe(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}\n${value.stack ?? ''}` : String(value);
}

/** Runs `work` over `items` with at most `concurrency` at a time, in order of start. */
export async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/** One raw HTTP request. */
export interface RawRequest {
  readonly method: string;
  /** Path and query, sent as given (node:http refuses only control characters and spaces). */
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
}

/** The answer to a RawRequest; `status` 0 with `error` when none came within the timeout. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly error?: string;
}

/** How `send` treats a request's body and answer. */
export interface SendOptions {
  /** Send the headers (with their Content-Length) and no body, and wait for the answer: a refusal before reading. */
  readonly declaredOnly?: boolean;
  /** The answer is its status and headers (an event stream that never ends); hang up once they are in. */
  readonly headersOnly?: boolean;
  /** Reuse connections through this agent; by default each request has a connection of its own. */
  readonly agent?: Agent;
}

/**
 * Sends one request with node:http, so headers (a Content-Length with no body, no
 * Content-Type) go out exactly as given, on a connection of its own unless `agent` is
 * given, and gives up after `timeoutMs`.
 */
export function send(baseUrl: string, raw: RawRequest, timeoutMs: number, options: SendOptions = {}): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (response: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };
    const timer = setTimeout(() => {
      req.destroy();
      settle({ status: 0, headers: {}, body: Buffer.alloc(0), error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: raw.method,
        path: raw.path,
        headers: {
          ...(options.agent === undefined ? { connection: 'close' } : {}),
          // node:http frames a DELETE's or OPTIONS's body only with a length given.
          ...(raw.body === undefined ? {} : { 'content-length': Buffer.byteLength(raw.body) }),
          ...raw.headers,
        },
        agent: options.agent ?? false,
      },
      (res) => {
        if (options.headersOnly) {
          settle({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) });
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          settle({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          // A refusal may come before the whole body (or any of it) went out: nothing more to send.
          if (!req.writableFinished || options.declaredOnly) req.destroy();
        });
        res.on('error', (error) => settle({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: String(error) }));
      },
    );
    // No answer at all: refused, or reset before the status line came.
    req.on('error', (error) => settle({ status: 0, headers: {}, body: Buffer.alloc(0), error: String(error) }));
    if (options.declaredOnly) req.flushHeaders();
    else if (raw.body !== undefined) req.end(raw.body);
    else req.end();
  });
}

/** One sample of the service's /metrics, by metric name and label set (`kind=chat,state=active`). */
export type MetricSample = Map<string, Map<string, number>>;

/** Reads the service's Prometheus text. */
export async function readMetrics(baseUrl: string): Promise<MetricSample> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const out: MetricSample = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{([^}]*)\})? ([-+0-9.eE]+|NaN|\+Inf)$/.exec(line);
    if (!match) continue;
    const [, name = '', labels = '', value = '0'] = match;
    const key = labels.replace(/"/g, '');
    if (!out.has(name)) out.set(name, new Map());
    out.get(name)!.set(key, Number(value));
  }
  return out;
}

/** The sum of a metric's samples whose labels include every `key=value` of `where`. */
export function metricSum(sample: MetricSample, name: string, where: readonly string[] = []): number {
  let sum = 0;
  for (const [labels, value] of sample.get(name) ?? []) {
    const parts = labels.split(',');
    if (where.every((w) => parts.includes(w))) sum += value;
  }
  return sum;
}

/** Jobs made (not counting duplicates) and jobs that ended, completed or failed, in a sample. */
export function jobCounts(sample: MetricSample): { readonly made: number; readonly ended: number; readonly pending: number } {
  return {
    made: metricSum(sample, 'switchboard_jobs_enqueued_total', ['duplicate=false']),
    ended: metricSum(sample, 'switchboard_jobs_total', ['outcome=completed']) + metricSum(sample, 'switchboard_jobs_total', ['outcome=failed']),
    pending: ['state=waiting', 'state=delayed', 'state=active'].reduce((sum, state) => sum + metricSum(sample, 'switchboard_queue_jobs', [state]), 0),
  };
}

/**
 * Waits until every job made has ended (completed, or failed after its last attempt) and
 * none is waiting, delayed or active; returns the last sample. Fails with the counts and
 * the queue's states after `timeoutMs`: a job that never ends is stuck.
 */
export async function waitForJobsEnded(baseUrl: string, timeoutMs: number): Promise<MetricSample> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sample = await readMetrics(baseUrl);
    const { made, ended, pending } = jobCounts(sample);
    // More may end than were counted made: an enqueue that timed out (the user was told to
    // try again) may still have added its job.
    if (pending === 0 && ended >= made) return sample;
    if (Date.now() > deadline) {
      const states = [...(sample.get('switchboard_queue_jobs') ?? [])].filter(([, n]) => n > 0).map(([labels, n]) => `${labels}=${n}`);
      throw new Error(`jobs did not end within ${timeoutMs} ms: ${made} made, ${ended} ended, ${pending} pending (${states.join(' ')})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Errors that say Redis did not answer in time or at all (ioredis's own messages). On a
 * machine starved by other work Redis itself may leave the fail-fast producer unanswered
 * for 2 s (counted while the service's own event loop runs: src/infra/redis/command-timeout.ts)
 * and the service says it is temporarily unavailable, as designed: that is load, not bad
 * input, so a fuzz test accepts it, rarely, and only with one of these in the log.
 */
const REDIS_UNAVAILABLE = /Command timed out|Stream isn't writeable|Connection is closed|max retries per request|ECONNREFUSED|ETIMEDOUT/i;

/** Whether a logged `err` is Redis being unavailable (see REDIS_UNAVAILABLE). */
export function isRedisUnavailable(err: unknown): boolean {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' && REDIS_UNAVAILABLE.test(message);
}

/** At most this share of events may meet an unavailable Redis (see REDIS_UNAVAILABLE) before a run fails anyway. */
export const MAX_UNAVAILABLE_SHARE = 0.01;

/** A captured log line, parsed (pino's JSON). */
export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The captured lines from `from` on, parsed. */
export function logRecords(lines: readonly string[], from = 0): LogRecord[] {
  return lines.slice(from).flatMap((line) => {
    try {
      return [JSON.parse(line) as LogRecord];
    } catch {
      return [];
    }
  });
}

/** Counts of each value, e.g. HTTP statuses, for a readable failure and the report. */
export function tally<T extends string | number>(values: readonly T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[String(value)] = (out[String(value)] ?? 0) + 1;
  return out;
}

/** Deletes every key of a test's prefix (queues, dedupe records, histories) from the test Redis. */
export async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
