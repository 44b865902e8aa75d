/**
 * `npx tsx test/bench/walk.ts`: which of our files run code for one message, measured, to
 * check the walk of docs/architecture.md against. Prints figures, asserts nothing.
 *
 * The service runs in this process (`--role all`) against the fake Bot API and the fake
 * OpenAI endpoint, on a throwaway Redis, all on 127.0.0.1. One group message warms every
 * lazy import and first-time path; then V8's precise coverage is reset, a second group
 * message (`@bot what is BullMQ?`, a new conversation) goes in, and once its final text
 * has reached the fake Bot API the files of ours with a function that ran are listed. What
 * runs on timers meanwhile (BullMQ's lock renewals, metrics, the poll loop) is listed too:
 * that is why the script waits no longer than the answer.
 */
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log/logger.js';
import { startEmbeddedRedis } from '../../src/infra/redis/embedded-redis.js';
import { createFakeOpenAI } from '../fakes/openai.js';
import { createFakeTelegram, type FakeChat } from '../fakes/telegram.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKEN = '123456:WALK-token';
const BOT = { id: 7_000_002, username: 'walk_bot' };
const ANSWER_TIMEOUT_MS = 15_000;

/** Our files (src/, adapters/) with at least one function that ran since the last call. */
async function filesRun(session: Session): Promise<string[]> {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const files = new Set<string>();
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const file = path.relative(ROOT, fileURLToPath(script.url));
    if (!/^(src|adapters)\//.test(file)) continue;
    if (script.functions.some((fn) => fn.ranges.some((range) => range.count > 0))) files.add(file);
  }
  return [...files].sort();
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-walk-'));
  const redis = await startEmbeddedRedis({ dataDir, persistence: false });
  const openai = await createFakeOpenAI();
  const telegram = await createFakeTelegram({ token: TOKEN, bot: BOT });
  const group: FakeChat = { id: -4_343, type: 'group', title: 'Walkers' };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // callCount: counts that reset on every take, so a take is "what ran since the last one".
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  const app = await startApp(
    parseConfig({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: telegram.url,
      REDIS_URL: redis.url,
      OPENAI_BASE_URL: openai.url,
      PORT: '0',
      QUEUE_PREFIX: 'walk',
    }),
    { log: createLogger({ level: 'silent', secrets: [TOKEN] }) },
  );
  /** Waits for the bot's message in the chat, then for 300 ms without a Bot API call (the final text is out). */
  const answered = async (chat: FakeChat): Promise<void> => {
    const until = Date.now() + ANSWER_TIMEOUT_MS;
    while (telegram.botMessages(chat.id).length === 0) {
      if (Date.now() > until) throw new Error('no answer within 15 s');
      await sleep(10);
    }
    for (let calls = -1; calls !== telegram.calls.length; await sleep(300)) calls = telegram.calls.length;
  };
  const other: FakeChat = { ...group, id: -4_344 };
  try {
    telegram.message({ chat: group, from: { id: 1, is_bot: false, first_name: 'Ann' }, text: `@${BOT.username} hello` });
    await answered(group);
    await filesRun(session);
    telegram.message({ chat: other, from: { id: 2, is_bot: false, first_name: 'Bob' }, text: `@${BOT.username} what is BullMQ?` });
    await answered(other);
    const files = await filesRun(session);
    const byFolder = new Map<string, string[]>();
    for (const file of files) {
      const folder = path.dirname(file);
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), path.basename(file)]);
    }
    console.log(`files of ours that ran code for one Telegram group message: ${files.length}`);
    for (const [folder, names] of [...byFolder].sort()) console.log(`  ${folder}/ (${names.length}): ${names.join(' ')}`);
  } finally {
    await session.post('Profiler.stopPreciseCoverage');
    session.disconnect();
    await app.stop();
    await telegram.stop();
    await openai.stop();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
