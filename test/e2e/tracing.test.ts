/**
 * Tracing (issue #16), end to end across processes: a `--role gateway` process long-polls
 * the fake Bot API and a `--role worker` process answers through the fake OpenAI, both
 * real `src/main.ts` processes (test/support/worker-process.ts) exporting to a fake OTLP
 * collector on 127.0.0.1 — the gateway as OTLP/JSON, the worker in the SDK's default
 * binary protobuf, so both encodings and the standard variables are exercised. What is
 * asserted is what an operator would see in their tracing backend: one message is one
 * trace whose spans link across the two processes; a worker SIGKILLed mid-answer and the
 * worker that takes its job over write into that same trace; a failed job in the operator
 * view names its trace, and so do the log lines written inside it; and no span holds a
 * token, a key, the message's text or the user's name. No time is asserted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpsSnapshot } from '../../src/ports/index.js';
import { createFakeCollector, textsOf, type CollectedSpan, type FakeCollector } from '../fakes/otlp-collector.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { forbidInLogs, runLogAppender } from '../support/logs.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { slowReply, startServiceProcess, type WorkerProcess } from '../support/worker-process.js';

const TOKEN = `424242:${randomBytes(12).toString('hex')}`;
const OPENAI_KEY = `sk-trace-${randomBytes(12).toString('hex')}`;
const ADMIN_TOKEN = `admin-${randomBytes(12).toString('hex')}`;
/** A collector's API key, sent as an OTLP header: a secret too. */
const COLLECTOR_KEY = `collector-${randomBytes(12).toString('hex')}`;
const BOT = { id: 424_242, username: 'switchboard_trace_bot' };
/** How long one answer, or one batch of spans, may take before the test fails. */
const WAIT_MS = 30_000;
/** The worker's BullMQ lock (10 s) has to expire before a killed worker's job runs again. */
const TAKEOVER_WAIT_MS = 45_000;
/** SpanKind in OTLP. */
const PRODUCER = 4;
const CONSUMER = 5;
/** Housekeeping BullMQ would trace on its own every few seconds; never a trace of its own. */
const HOUSEKEEPING = /^(getNextJob|moveStalledJobsToWait|startStalledCheckTimer|close|pause|resume|rateLimit)\b/;

const zeb: FakeUser = { id: 31_337, is_bot: false, first_name: 'Zebediah', last_name: 'Quillfeather', username: 'zeb_quillfeather' } as FakeUser;
const ida: FakeUser = { id: 31_338, is_bot: false, first_name: 'Idabelle', username: 'idabelle_marsh' } as FakeUser;
const kit: FakeUser = { id: 31_339, is_bot: false, first_name: 'Kittredge' };
const lou: FakeUser = { id: 31_340, is_bot: false, first_name: 'Lucasta' };
const dmOf = (user: FakeUser): FakeChat => ({ id: user.id, type: 'private', first_name: user.first_name });
/** Words of the users' names: never in a span. */
const NAMES = ['Zebediah', 'Quillfeather', 'zeb_quillfeather', 'Idabelle', 'idabelle_marsh', 'Kittredge', 'Lucasta'];

let collector: FakeCollector;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let gateway: WorkerProcess & { url: string };
const workers: WorkerProcess[] = [];
let baseEnv: Record<string, string>;
/** Every message text sent and every answer: never in a span. */
const spoken: string[] = [];
const lines = new Map<string, Array<Record<string, unknown>>>();

/** Starts a service process whose log lines are kept (parsed) under its name and go to the run's secret check. */
async function startProcess(role: 'gateway' | 'worker', name: string, env: Record<string, string> = {}): Promise<WorkerProcess & { url: string }> {
  const kept: Array<Record<string, unknown>> = [];
  lines.set(name, kept);
  const append = runLogAppender(name);
  return startServiceProcess(role, { ...baseEnv, ...env }, name, (line) => {
    append(line);
    if (line.startsWith('{')) kept.push(JSON.parse(line) as Record<string, unknown>);
  });
}

beforeAll(async () => {
  forbidInLogs(TOKEN, OPENAI_KEY, ADMIN_TOKEN, COLLECTOR_KEY);
  [collector, telegram, openai] = await Promise.all([createFakeCollector(), createFakeTelegram({ token: TOKEN, bot: BOT }), createFakeOpenAI({ apiKey: OPENAI_KEY })]);
  baseEnv = {
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: uniquePrefix('trace'),
    PORT: '0',
    HOST: '127.0.0.1',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: telegram.url,
    OPENAI_BASE_URL: openai.url,
    OPENAI_API_KEY: OPENAI_KEY,
    ADMIN_TOKEN,
    // Moderation of the input is on, so its span is in the trace.
    MODERATE_INPUT: 'true',
    MODERATE_OUTPUT: 'false',
    USER_RATE_LIMIT: '0',
    CHANNEL_RATE_LIMIT: '0',
    // A job that fails fails for good: the operator view lists it at once.
    JOB_ATTEMPTS: '1',
    CHAT_CONCURRENCY: '4',
    LOG_LEVEL: 'debug',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_HEADERS: `x-collector-key=${COLLECTOR_KEY}`,
    // Batches go out a moment after their spans end, so a process SIGKILLed mid-answer has sent what it finished.
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  gateway = await startProcess('gateway', 'trace-gateway', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  workers.push(await startProcess('worker', 'trace-worker-1'));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill()));
  await gateway?.terminate();
  expect(telegram?.violations ?? []).toEqual([]);
  expect(openai?.violations ?? []).toEqual([]);
  expect(collector?.violations ?? []).toEqual([]);
  await Promise.all([collector?.stop(), telegram?.stop(), openai?.stop()]);
}, 60_000);

/** Polls until `find` returns something. */
async function until<T>(find: () => T | undefined, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let found: T | undefined;
  await expect.poll(() => (found = find()) !== undefined, { timeout: timeoutMs, interval: 50, message: `waiting for ${what}` }).toBe(true);
  return found!;
}

/** The gateway's span of the update that carried message `messageId` of `chat`. */
const updateSpanOf = (chat: FakeChat, messageId: number): CollectedSpan | undefined =>
  collector.spans.find((s) => s.name === 'telegram update' && s.attributes['switchboard.chat.id'] === String(chat.id) && s.attributes['switchboard.message.id'] === String(messageId));
const inTrace = (traceId: string): CollectedSpan[] => collector.spans.filter((s) => s.traceId === traceId);
const named = (spans: CollectedSpan[], name: string): CollectedSpan[] => spans.filter((s) => s.name === name);
const oneNamed = (spans: CollectedSpan[], name: string): CollectedSpan => {
  const found = named(spans, name);
  expect(found.map((s) => s.name), `one span named ${name}`).toEqual([name]);
  return found[0]!;
};
const serviceOf = (span: CollectedSpan): unknown => span.resource['service.name'];
const pidOf = (span: CollectedSpan): number => Number(span.resource['process.pid']);
const messageIdOf = (update: Record<string, unknown>): number => (update['message'] as { message_id: number }).message_id;

describe('tracing across a gateway and a worker process', () => {
  it('follows one Telegram message in one trace, from the update to the answer, with nothing said in it', async () => {
    const question = `where does trace ${randomUUID()} go?`;
    spoken.push(question, `Echo: ${question}`);
    const chat = dmOf(zeb);
    const update = telegram.message({ chat, from: zeb, text: question });
    await expect.poll(() => telegram.botMessages(chat.id).map((m) => m.text), { timeout: WAIT_MS }).toEqual([`Echo: ${question}`]);

    const root = await until(() => updateSpanOf(chat, messageIdOf(update)), "the gateway's update span");
    // The job's run ends (and its span goes out) just after the answer shows.
    await until(() => inTrace(root.traceId).find((s) => s.name === 'process chat'), "the worker's run");
    await until(() => inTrace(root.traceId).find((s) => s.name === 'complete chat'), 'the job completed');
    const spans = inTrace(root.traceId);

    // The gateway: the update, its enqueue, BullMQ's add, exported as OTLP/JSON.
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes).toMatchObject({ 'switchboard.platform': 'telegram', 'switchboard.outcome': 'enqueued' });
    const enqueue = oneNamed(spans, 'enqueue chat');
    const add = oneNamed(spans, 'add chat.chat');
    expect(enqueue.parentSpanId).toBe(root.spanId);
    expect(enqueue.attributes['switchboard.job.id']).toBe(`telegram:${chat.id}:${messageIdOf(update)}`);
    expect(add.parentSpanId).toBe(enqueue.spanId);
    expect(add.kind).toBe(PRODUCER);
    for (const span of [root, enqueue, add]) expect([serviceOf(span), span.encoding]).toEqual(['switchboard-gateway', 'json']);

    // The worker, in binary protobuf: its run hangs off the gateway's add, across the processes.
    const run = oneNamed(spans, 'process chat');
    expect(run.kind).toBe(CONSUMER);
    expect(run.parentSpanId).toBe(add.spanId);
    expect(run.attributes).toMatchObject({ 'switchboard.job.attempt': 1n, 'switchboard.job.stalled': 0n, 'switchboard.chat.id': String(chat.id) });
    expect(oneNamed(spans, 'queue wait').parentSpanId).toBe(add.spanId);
    const underRun = spans.filter((s) => s.parentSpanId === run.spanId).map((s) => s.name);
    expect(underRun).toEqual(expect.arrayContaining(['moderation', 'history read', 'chat gpt-4o-mini', 'telegram send', 'history append', 'complete chat']));
    const moderation = oneNamed(spans, 'moderation');
    expect(moderation.attributes).toMatchObject({ 'switchboard.moderation.flagged': false, 'gen_ai.request.model': 'omni-moderation-latest' });
    expect(oneNamed(spans, 'POST /moderations').parentSpanId).toBe(moderation.spanId);

    // The AI request: model, tokens, time to the first token, status; its HTTP attempt under it.
    const completion = oneNamed(spans, 'chat gpt-4o-mini');
    expect(completion.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(Number(completion.attributes['gen_ai.usage.input_tokens'])).toBeGreaterThan(0);
    expect(Number(completion.attributes['gen_ai.usage.output_tokens'])).toBeGreaterThan(0);
    expect(Number(completion.attributes['switchboard.ai.first_token_ms'])).toBeGreaterThanOrEqual(0);
    expect(completion.events.map((e) => e.name)).toEqual(['first token']);
    expect(completion.status.code).not.toBe(2);
    const attempt = oneNamed(spans, 'POST /chat/completions');
    expect(attempt.parentSpanId).toBe(completion.spanId);
    expect(attempt.attributes['http.response.status_code']).toBe(200n);

    // The final reply, written to Telegram, and the exchange written to history.
    const sends = named(spans, 'telegram send');
    expect(sends.map((s) => s.attributes['switchboard.final'])).toContain(true);
    expect(sends.every((s) => s.attributes['switchboard.chat.id'] === String(chat.id))).toBe(true);
    expect(oneNamed(spans, 'history append').attributes['switchboard.history.entries']).toBe(2n);
    for (const span of spans.filter((s) => s.spanId !== root.spanId && ![enqueue, add].includes(s))) {
      expect([span.name, serviceOf(span), span.encoding]).toEqual([span.name, 'switchboard-worker', 'protobuf']);
    }

    // A log line written inside a span names it: the gateway's, inside the update's span.
    const enqueued = lines.get('trace-gateway')!.find((l) => l['msg'] === 'telegram message enqueued' && l['jobId'] === enqueue.attributes['switchboard.job.id']);
    expect(enqueued).toMatchObject({ trace_id: root.traceId, span_id: root.spanId });
  }, 90_000);

  it('shows a platform write that Telegram\u2019s per-chat limit held, with its wait under it', async () => {
    const question = `split this ${randomUUID()}`;
    // Two messages (Telegram takes 4,096 characters): the second follows the first within a
    // second, so the shared limiter holds it for the chat's one message a second.
    const answer = `${'fragment '.repeat(700)}end.`;
    spoken.push(question, answer);
    openai.chatReply = () => answer;
    openai.streamChunkSize = 2_000;
    const chat = dmOf(lou);
    const update = telegram.message({ chat, from: lou, text: question });
    await expect.poll(() => telegram.botMessages(chat.id).length, { timeout: WAIT_MS }).toBe(2);
    const root = await until(() => updateSpanOf(chat, messageIdOf(update)), "the gateway's update span");
    await until(() => inTrace(root.traceId).find((s) => s.name === 'complete chat'), 'the job completed');

    const spans = inTrace(root.traceId);
    const sends = named(spans, 'telegram send');
    expect(sends.length).toBe(2);
    const waits = named(spans, 'rate limit wait');
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(sends.map((s) => s.spanId)).toContain(wait.parentSpanId);
    openai.reset();
  }, 90_000);

  it('shows a run SIGKILLed mid-answer and the run that took the job over in one trace', async () => {
    const first = workers[0]!;
    const question = `a long one ${randomUUID()}`;
    const answer = slowReply(question, 600);
    spoken.push(question, answer);
    openai.chatReply = () => answer;
    openai.streamChunkSize = 4;
    openai.streamDelayMs = 40;
    const chat = dmOf(ida);
    const update = telegram.message({ chat, from: ida, text: question });
    const root = await until(() => updateSpanOf(chat, messageIdOf(update)), "the gateway's update span");
    // Mid-answer: the first worker's request is out (its attempt span has arrived) and part of the answer shows.
    const killedRun = await until(
      () => inTrace(root.traceId).find((s) => s.name === 'POST /chat/completions' && pidOf(s) === first.pid),
      "the first worker's request",
    );
    await expect.poll(() => telegram.shownDrafts.get(chat.id)?.text.length ?? 0, { timeout: WAIT_MS }).toBeGreaterThan(0);
    await first.kill();
    workers.push(await startProcess('worker', 'trace-worker-2'));
    const second = workers[1]!;

    await expect.poll(() => telegram.botMessages(chat.id).map((m) => m.text), { timeout: TAKEOVER_WAIT_MS }).toEqual([answer]);
    const takeover = await until(() => inTrace(root.traceId).find((s) => s.name === 'process chat' && pidOf(s) === second.pid), "the second worker's run");

    // Both runs write into the message's trace: the killed one what it had finished, the second all of it.
    const add = oneNamed(inTrace(root.traceId), 'add chat.chat');
    expect(takeover.parentSpanId).toBe(add.spanId);
    expect(Number(takeover.attributes['switchboard.job.stalled'])).toBeGreaterThanOrEqual(1);
    const requests = named(inTrace(root.traceId), 'POST /chat/completions');
    expect(new Set(requests.map(pidOf))).toEqual(new Set([first.pid, second.pid]));
    // The killed run's spans hang off its own run, which never ended, not off the second one.
    expect(killedRun.parentSpanId).not.toBe(takeover.spanId);
    const secondCompletion = inTrace(root.traceId).find((s) => s.name === 'chat gpt-4o-mini' && pidOf(s) === second.pid);
    expect(secondCompletion?.parentSpanId).toBe(takeover.spanId);
    openai.reset();
  }, 120_000);

  it('names a failed job\u2019s trace in the operator view and in the worker\u2019s log lines', async () => {
    const question = `this one fails ${randomUUID()}`;
    spoken.push(question, `Echo: ${question}`);
    const chat = dmOf(kit);
    telegram.failNext({ method: 'sendMessage', error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    const update = telegram.message({ chat, from: kit, text: question });
    const snapshot = async (): Promise<OpsSnapshot> =>
      (await (await fetch(`${gateway.url}/api/admin/snapshot`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as OpsSnapshot;
    let failed: OpsSnapshot['failures'][number] | undefined;
    await expect.poll(async () => (failed = (await snapshot()).failures.find((f) => f.channel === String(chat.id))) !== undefined, { timeout: WAIT_MS, interval: 100 }).toBe(true);

    const root = await until(() => updateSpanOf(chat, messageIdOf(update)), "the gateway's update span");
    expect(failed?.traceId).toBe(root.traceId);
    const send = await until(() => inTrace(root.traceId).find((s) => s.name === 'telegram send' && s.status.code === 2), 'the refused send');
    expect(send.attributes).toMatchObject({ 'error.type': 'TelegramApiError', 'http.response.status_code': 403n });
    const worker = workers.at(-1)!;
    const logged = await until(() => lines.get(`trace-worker-${workers.length}`)!.find((l) => l['msg'] === 'job attempt failed' && l['jobId'] === failed?.id), 'the failure logged');
    expect(logged['trace_id']).toBe(root.traceId);
    expect(worker.alive()).toBe(true);
  }, 90_000);

  it('answers while the collector refuses spans, and says so in the log', async () => {
    collector.failNext(1_000);
    const question = `nobody is collecting ${randomUUID()}`;
    spoken.push(question, `Echo: ${question}`);
    const chat = dmOf(zeb);
    telegram.message({ chat, from: zeb, text: question });
    await expect.poll(() => telegram.botMessages(chat.id).map((m) => m.text).at(-1), { timeout: WAIT_MS }).toBe(`Echo: ${question}`);
    await until(() => [...lines.values()].flat().find((l) => String(l['msg']).startsWith('opentelemetry:') && l['level'] === 50), 'an export failure logged');
    collector.recover();
  }, 90_000);

  it('never puts a token, a key, a message or a name in a span, nor starts traces of its own', () => {
    expect(collector.spans.length).toBeGreaterThan(20);
    const uuids = spoken.flatMap((text) => text.match(/[0-9a-f]{8}-[0-9a-f-]{27}/g) ?? []);
    expect(uuids.length).toBeGreaterThan(4);
    const forbidden = [TOKEN, OPENAI_KEY, ADMIN_TOKEN, COLLECTOR_KEY, ...spoken, ...uuids, ...NAMES];
    for (const span of collector.spans) {
      const texts = textsOf(span);
      for (const secret of forbidden) expect(texts.filter((t) => t.toLowerCase().includes(secret.toLowerCase())), `${span.name} holds ${secret}`).toEqual([]);
    }
    expect(collector.spans.filter((s) => s.parentSpanId === undefined && HOUSEKEEPING.test(s.name)).map((s) => s.name)).toEqual([]);
  });
});
