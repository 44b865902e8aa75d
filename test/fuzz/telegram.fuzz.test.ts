/**
 * Issue #7, bad input, Telegram: random and malformed updates through the running
 * gateway (src/app.ts's wiring, telegraf's types, the fake Bot API), by the webhook and by
 * long polling. The service never crashes (no unhandled rejection or uncaught exception,
 * /healthz and /readyz stay 200, a normal message still gets through), and every update
 * is accounted for: it made a job, or a log line says it was skipped; a webhook body that
 * is no update at all is refused with 400 or 413, and logged.
 *
 * The webhook run is the bulk (10,000 bodies) against a gateway-role process: it takes
 * them as fast as the adapter can, and its jobs wait in the queue, as they would for
 * workers elsewhere (the Telegram Outbox keeps to Telegram's 30 messages a second, so
 * answering its two thousand jobs would take minutes). The polling run (1,000 updates) is
 * the whole service: every job it makes runs to its end (answered, refused or failed)
 * before the queue is empty.
 *
 * Replay a failure with FUZZ_SEED=<seed in the test's name>; explore with FUZZ_SEED=random.
 */
import type { Update } from 'telegraf/types';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { moderationCandidate, normalizeUpdate } from '../../adapters/telegram/index.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { BOT, TOKEN, useTelegramHarness } from '../fakes/telegram-harness.js';
import type { FakeChat } from '../fakes/telegram.js';
import { captureLogs } from '../support/logs.js';
import { createRandom } from '../support/prng.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import {
  dropKeys,
  fuzzSeed,
  inPool,
  isRedisUnavailable,
  jobCounts,
  logRecords,
  MAX_UNAVAILABLE_SHARE,
  send,
  summarizeProblems,
  tally,
  waitForJobsEnded,
  watchProcess,
  type LogRecord,
} from './fuzz-support.js';
import { FUZZ_CHATS, FUZZ_GROUPS, FUZZ_USERS, notAnUpdateBody, telegramUpdate, type FuzzUpdate } from './telegram-updates.js';

const SEED = fuzzSeed(70_007);
/** Webhook bodies in the bulk run, about 5% of them no update at all. */
const WEBHOOK_EVENTS = 10_000;
const NOT_AN_UPDATE_SHARE = 0.05;
/** Updates the polling run hands out through getUpdates. */
const POLLED_UPDATES = 1_000;
/** Requests in flight at once, and how long one may take before it counts as a hang. */
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 10_000;
/** How long the polling run's jobs may take to be answered. */
const DRAIN_TIMEOUT_MS = 25_000;

const WEBHOOK = { url: 'https://bot.example.test/tg/fuzz-hook', secret: 'fuzz-hook-secret_7' };
const HOOK_PATH = new URL(WEBHOOK.url).pathname;
/** What the gateway logs for each update it read: a job, or why none. */
const OUTCOME_MESSAGES: ReadonlySet<string> = new Set([
  'telegram message enqueued',
  'telegram update not for the bot',
  'telegram message needs no job',
  'could not read a telegram update; skipped',
]);
const ENQUEUED = 'telegram message enqueued';
/** What the webhook logs when it answers 500, so that Telegram delivers the update again. */
const REDELIVERED = 'could not enqueue a telegram update; Telegram will redeliver it';
/** What the webhook logs for a body it refused. */
const REFUSED_BODY = 'telegram webhook body is not an update; refused';
/** update_id values no counter would make, each sent once, as raw JSON: the key the log shows for each. */
const ODD_UPDATE_IDS: ReadonlyArray<{ readonly json: string; readonly logged: unknown }> = [
  { json: '-1', logged: -1 },
  { json: '0', logged: 0 },
  { json: '1.5', logged: 1.5 },
  { json: '1152921504606846976', logged: 2 ** 60 },
  { json: '1e308', logged: 1e308 },
  { json: '1e400', logged: null },
];

const h = useTelegramHarness();

/** The outcome lines of each update id (JSON of the id as logged), from the captured lines. */
function outcomesById(records: readonly LogRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const record of records) {
    if (!OUTCOME_MESSAGES.has(record.msg) || !('updateId' in record)) continue;
    const key = JSON.stringify(record['updateId']);
    out.set(key, [...(out.get(key) ?? []), record.msg]);
  }
  return out;
}

/** Makes the chats the updates use known to the fake Bot API, so answers to them can land. */
function registerChats(): void {
  for (const chat of [...Object.values(FUZZ_CHATS), ...FUZZ_GROUPS]) h.telegram.addChat(chat as unknown as FakeChat);
  for (const user of FUZZ_USERS) h.telegram.addChat({ id: user.id, type: 'private', first_name: user.first_name } as FakeChat);
}

let watch: ReturnType<typeof watchProcess> | undefined;
afterEach(() => watch?.stop());
/** Prefixes whose keys are dropped once the harness has stopped the apps that use them. */
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await dropKeys(testRedisUrl(), prefix);
});

describe('telegram fuzz: bad input never crashes the gateway, and every update is accounted for', () => {
  it(`webhook: ${WEBHOOK_EVENTS} random and malformed bodies (seed ${SEED})`, async () => {
    const started = Date.now();
    const random = createRandom(SEED);
    const { log, lines } = captureLogs([], { forbidden: [TOKEN, WEBHOOK.secret] });
    const prefix = uniquePrefix('fuzz-tg');
    registerChats();
    watch = watchProcess();
    let app: RunningApp | undefined;
    try {
      app = await startApp(
        parseConfig({
          TELEGRAM_BOT_TOKEN: TOKEN,
          TELEGRAM_API_ROOT: h.telegram.url,
          TELEGRAM_WEBHOOK_URL: WEBHOOK.url,
          TELEGRAM_WEBHOOK_SECRET: WEBHOOK.secret,
          MODERATED_CHANNELS: `telegram:${FUZZ_CHATS.moderated.id}`,
          REDIS_URL: testRedisUrl(),
          OPENAI_BASE_URL: h.openai.url,
          PORT: '0',
          QUEUE_PREFIX: prefix,
        }),
        { log, role: 'gateway' },
      );
      const url = app.url;

      // `logged`: the update_id its outcome line carries; none for a body that is no update.
      type Item = { readonly body: Buffer | string; readonly contentType: string; readonly logged?: unknown; readonly fuzz?: FuzzUpdate };
      // Telegram sends JSON; the webhook must not care what a proxy calls it.
      const contentType = (): string => random.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']);
      const items: Item[] = [];
      for (let i = 1; items.length < WEBHOOK_EVENTS - ODD_UPDATE_IDS.length; i += 1) {
        if (random.chance(NOT_AN_UPDATE_SHARE)) items.push({ body: notAnUpdateBody(random), contentType: contentType() });
        else {
          const fuzz = telegramUpdate(random, i, BOT);
          items.push({ body: JSON.stringify(fuzz.update), contentType: contentType(), logged: i, fuzz });
        }
      }
      for (const { json, logged } of ODD_UPDATE_IDS) {
        const message = { message_id: 1, date: 1, chat: FUZZ_CHATS.group, from: FUZZ_USERS[0], text: 'odd update id' };
        items.splice(random.int(0, items.length), 0, { body: `{"update_id":${json},"message":${JSON.stringify(message)}}`, contentType: 'application/json', logged });
      }
      const post = (body: Buffer | string, type: string) =>
        send(url, { method: 'POST', path: HOOK_PATH, headers: { 'content-type': type, 'x-telegram-bot-api-secret-token': WEBHOOK.secret }, body }, REQUEST_TIMEOUT_MS);

      const from = lines.length;
      const responses = await inPool(items, CONCURRENCY, (item) => post(item.body, item.contentType));
      const statuses = responses.map((r) => r.status);
      const context = `seed ${SEED}; statuses ${JSON.stringify(tally(statuses))}`;

      const records = logRecords(lines, from);
      const outcomes = outcomesById(records);
      // Updates Telegram would deliver again because Redis did not answer in time (load, not input).
      const redelivered = new Set(records.filter((r) => r.msg === REDELIVERED && isRedisUnavailable(r['err'])).map((r) => JSON.stringify(r['updateId'])));
      expect(redelivered.size, context).toBeLessThanOrEqual(MAX_UNAVAILABLE_SHARE * WEBHOOK_EVENTS);

      // Never a hang, never a 500 for the input (Telegram would redeliver it forever).
      const broken = responses.flatMap((r, i) =>
        r.status === 0 || (r.status >= 500 && !redelivered.has(JSON.stringify(items[i]!.logged))) ? [`#${i} ${r.status} ${r.error ?? ''} ${String(items[i]!.body).slice(0, 200)}`] : [],
      );
      expect(broken, context).toEqual([]);
      const unaccounted: string[] = [];
      const wrong: string[] = [];
      let refusedBodies = 0;
      items.forEach((item, i) => {
        const status = statuses[i];
        if (item.logged === undefined) {
          if (status !== 400 && status !== 413) wrong.push(`#${i}: a body that is no update got ${status}: ${String(item.body).slice(0, 120)}`);
          refusedBodies += 1;
          return;
        }
        if (redelivered.has(JSON.stringify(item.logged))) return;
        if (status !== 200) wrong.push(`#${i}: an update got ${status}: ${String(item.body).slice(0, 200)}`);
        const seen = outcomes.get(JSON.stringify(item.logged));
        if (seen === undefined) unaccounted.push(`update ${JSON.stringify(item.logged)} (${item.fuzz?.kind ?? 'odd id'}): ${String(item.body).slice(0, 200)}`);
        else if (item.fuzz?.expect === 'job' && !seen.includes(ENQUEUED)) wrong.push(`update ${i} (${item.fuzz.kind}) should have made a job: ${seen.join(', ')}`);
        else if (item.fuzz?.expect === 'skip' && seen.includes(ENQUEUED)) wrong.push(`update ${i} (${item.fuzz.kind}) should have been skipped`);
      });
      expect(wrong.slice(0, 20), context).toEqual([]);
      expect(unaccounted.slice(0, 20), context).toEqual([]);
      expect(records.filter((r) => r.msg === REFUSED_BODY).length, context).toBe(refusedBodies);

      // Still healthy, and still taking a normal message.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const last = 5_000_000;
      const zed = { id: 424_242, is_bot: false, first_name: 'Zed' };
      const normal = { update_id: last, message: { message_id: last, date: Math.floor(Date.now() / 1000), chat: { id: zed.id, type: 'private', first_name: 'Zed' }, from: zed, text: 'are you still there?' } };
      expect((await post(JSON.stringify(normal), 'application/json')).status).toBe(200);
      expect(logRecords(lines, from).some((r) => r.msg === ENQUEUED && r['updateId'] === last)).toBe(true);
      expect(summarizeProblems(watch.problems), context).toEqual({});

      const jobs = new Set(records.filter((r) => r.msg === ENQUEUED).map((r) => r['updateId']));
      const byKind = tally(items.map((item) => item.fuzz?.kind ?? (item.logged === undefined ? 'not-an-update' : 'odd-update-id')));
      console.info(
        `telegram webhook fuzz (seed ${SEED}): ${items.length + 1} bodies in ${Date.now() - started} ms; ` +
          `${jobs.size} made jobs, ${outcomes.size - jobs.size} skipped with a log line, ${refusedBodies} refused; statuses ${JSON.stringify(tally(statuses))}; kinds ${JSON.stringify(byKind)}`,
      );
    } finally {
      await app?.stop();
      await dropKeys(testRedisUrl(), prefix);
    }
  }, 120_000);

  it(`long polling: ${POLLED_UPDATES} random and malformed updates, every job answered (seed ${SEED + 1})`, async () => {
    const started = Date.now();
    const random = createRandom(SEED + 1);
    // Short answers: the fuzz is about the input; a 20,000-character echo only costs time.
    h.openai.chatReply = (body) => {
      const lastMessage = body.messages.at(-1)?.content;
      return `Echo: ${(typeof lastMessage === 'string' ? lastMessage : '[parts]').slice(0, 200)}`;
    };
    registerChats();
    watch = watchProcess();
    const prefix = uniquePrefix('fuzz-tgp');
    prefixes.push(prefix);
    const app = await h.start({
      MODERATED_CHANNELS: `telegram:${FUZZ_CHATS.moderated.id}`,
      QUEUE_PREFIX: prefix,
      JOB_ATTEMPTS: '1',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    const from = h.logLines.length;
    const updates: FuzzUpdate[] = [];
    for (let i = 1; i <= POLLED_UPDATES; i += 1) {
      const fuzz = telegramUpdate(random, i, BOT, { dmShare: 0.06, groupAnswerShare: 0.3, messagesOnly: true });
      updates.push(fuzz);
      h.telegram.pushUpdate(fuzz.update);
    }
    const context = `seed ${SEED + 1}`;

    // Every update is read (confirmed by the next offset) and accounted for in the log.
    await expect.poll(() => outcomesById(logRecords(h.logLines, from)).size, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(POLLED_UPDATES);
    const records = logRecords(h.logLines, from);
    const outcomes = outcomesById(records);
    const unaccounted = updates.filter((u) => !outcomes.has(JSON.stringify(u.update['update_id']))).map((u) => `${u.kind}: ${JSON.stringify(u.update).slice(0, 200)}`);
    expect(unaccounted.slice(0, 20), context).toEqual([]);
    const wrong = updates.flatMap((u) => {
      const seen = outcomes.get(JSON.stringify(u.update['update_id'])) ?? [];
      if (u.expect === 'job' && !seen.includes(ENQUEUED)) return [`${u.kind} should have made a job: ${seen.join(', ')}`];
      if (u.expect === 'skip' && seen.includes(ENQUEUED)) return [`${u.kind} should have been skipped`];
      return [];
    });
    expect(wrong.slice(0, 20), context).toEqual([]);
    // No retry loop for the input: only Redis not answering in time (load) makes the gateway try an update again.
    const retried = records.filter((r) => r.msg === 'could not enqueue a telegram update; retrying' && !isRedisUnavailable(r['err']));
    expect(retried.map((r) => `${String(r['updateId'])}: ${String((r['err'] as { message?: string } | undefined)?.message)}`), context).toEqual([]);

    // Every job runs to its end (answered, refused or failed); none is stuck.
    const drained = await waitForJobsEnded(app.url, DRAIN_TIMEOUT_MS);
    const enqueued = jobCounts(drained).made;

    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const zed: FakeChat = { id: 424_243, type: 'private', first_name: 'Zed' };
    h.telegram.message({ chat: zed, from: { id: zed.id, is_bot: false, first_name: 'Zed' }, text: 'still there after all that?' });
    await h.botTexts(zed, (texts) => texts.includes('Echo: still there after all that?'));
    expect(summarizeProblems(watch.problems), context).toEqual({});

    const results = [...(drained.get('switchboard_job_results_total') ?? [])].map(([labels, n]) => `${labels}=${n}`).join(' ');
    console.info(
      `telegram polling fuzz (seed ${SEED + 1}): ${POLLED_UPDATES} updates in ${Date.now() - started} ms; ${enqueued} jobs, all ended (${results}); ` +
        `kinds ${JSON.stringify(tally(updates.map((u) => u.kind)))}`,
    );
  }, 90_000);
});

describe('telegram fuzz findings, kept as plain cases', () => {
  const chat = { id: -4_242, type: 'group', title: 'Friends' };
  const from = { id: 1001, is_bot: false, first_name: 'Ann' };
  const update = (message: unknown, key = 'message'): Update => ({ update_id: 1, [key]: message }) as unknown as Update;

  it('reads a message without a chat, or that is not an object, as malformed: before, moderationCandidate threw and the update was retried forever', () => {
    for (const message of [null, 5, 'text', [], {}, { message_id: 1, date: 1, from, text: 'hi' }, { message_id: 1, date: 1, chat: null, from, text: 'hi' }]) {
      expect(() => moderationCandidate(update(message))).not.toThrow();
      expect(moderationCandidate(update(message))).toBeUndefined();
      expect(normalizeUpdate(update(message), BOT, { moderated: true })).toEqual({ skip: 'malformed' });
    }
  });

  it('skips ids that are not integers, which would make job ids BullMQ refuses or replies Telegram refuses', () => {
    const dm = { id: 1001, type: 'private', first_name: 'Ann' };
    for (const broken of [{ message_id: 'a:b:c' }, { message_id: 1.5 }, { chat: { ...dm, id: 'x' } }, { from: { ...from, id: {} } }, { message_thread_id: 'x' }, { date: undefined }]) {
      const message = { message_id: 7, date: 1, chat: dm, from, text: 'hi', ...broken };
      expect(normalizeUpdate(update(message), BOT)).toEqual({ skip: 'malformed' });
    }
  });

  it('drops an attachment without a file id: getFile needs one', () => {
    const dm = { id: 1001, type: 'private', first_name: 'Ann' };
    const message = { message_id: 7, date: 1, chat: dm, from, caption: 'listen', voice: { file_unique_id: 'u', duration: 1, mime_type: 'audio/ogg' } };
    const normalized = normalizeUpdate(update(message), BOT);
    expect('message' in normalized && normalized.message.attachments).toEqual([]);
  });
});
