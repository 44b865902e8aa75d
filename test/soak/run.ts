/**
 * `npm run soak` (issue #7): prints figures, asserts nothing. Everything on 127.0.0.1,
 * bounded in time (a watchdog ends it after SOAK_LIMIT_MS), every process and Redis
 * stopped at the end.
 *
 * (a) 100 SIGKILLs of worker processes while they stream answers, with steady playground
 *     traffic beside them: answers lost and doubled, and kill → pick-up times.
 * (b) 100 chats streaming at once through the Telegram path, then 100 through the Discord
 *     path, against fakes that enforce the platforms' limits: 429s seen.
 * (c) Redis stopped for 30 s under load and started again: recovery time, lost, doubled.
 * (d) Latency during the soak (post → first answer text, → complete answer), p50 and p99.
 * Beside (a) and (c), a crowd of 2,000 people keeps thousands of answers in flight on
 * workers of its own (crowd.ts), one of them SIGKILLed now and then, all of them through
 * the Redis outage.
 *
 * `npm run soak -- platforms` (or `kills`, `outage`) runs only the phases named.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { buildInto, ROOT } from '../bench/processes.js';
import { setMaxListeners } from 'node:events';
import { pino } from 'pino';
import { startApp, type RunningApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createFakeOpenAI, type FakeOpenAI } from '../fakes/openai.js';
import { startOutageRedis, type OutageRedis } from '../support/outage-redis.js';
import { createWorkerFleet, killAllServiceProcesses, questionOf, slowReply, type WorkerFleet } from '../support/worker-process.js';
import { latencyLine, until, watchPlayground, type PlaygroundWatch, type Tally } from './answers.js';
import { CHATS, platformReply, platformTag } from './platform-protocol.js';
import { runPlatforms, type PlatformsResult, type PlatformWave } from './platforms.js';
import { runKills, runRedisRestart, spread, type KillsResult, type OutageResult } from './playground.js';
import { CROWD, startCrowd, type Crowd, type CrowdResult } from './crowd.js';

/** Issue #7: 100 SIGKILLs. */
const KILLS = 100;
/** Phase (a) stops killing after this long even if it has not reached KILLS. */
const KILL_BUDGET_MS = 185_000;
/** Worker processes of phases (a) and (c); each runs one chat job at a time. */
const WORKERS = 12;
/** The whole soak never runs longer than this (the issue: bounded in time). */
const SOAK_LIMIT_MS = 600_000;

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const say = (line: string): void => console.log(`[${elapsed().padStart(5)}] ${line}`);
const counts = (t: Tally): string => `${t.sent} messages, ${t.lost} lost, ${t.doubled} doubled`;
// A hundred answers stream through one fake at once; each stream's pause listens on its stop signal.
setMaxListeners(4 * CHATS);

let redis: OutageRedis | undefined;
let fake: FakeOpenAI | undefined;
let gateway: RunningApp | undefined;
let watch: PlaygroundWatch | undefined;
let fleet: WorkerFleet | undefined;
let crowd: Crowd | undefined;

const cleanups: Array<() => Promise<void>> = [];

async function cleanup(): Promise<void> {
  await crowd?.stop().catch(() => undefined);
  for (const done of cleanups) await done().catch(() => undefined);
  watch?.close();
  await fleet?.killAll();
  await gateway?.stop();
  killAllServiceProcesses();
  await redis?.dispose();
  await fake?.stop();
}

function abort(reason: string): void {
  console.error(`soak: ${reason}; stopping everything`);
  killAllServiceProcesses();
  void Promise.race([redis?.dispose(), new Promise((resolve) => setTimeout(resolve, 3_000))]).finally(() => process.exit(1));
}
const watchdog = setTimeout(() => abort(`over its ${SOAK_LIMIT_MS / 1000} s limit`), SOAK_LIMIT_MS);
watchdog.unref();
process.once('SIGINT', () => abort('interrupted'));
process.once('SIGTERM', () => abort('terminated'));

/** Phases to run: all by default; `npm run soak -- platforms` (or kills, outage) runs only those named. */
const PHASES = new Set(process.argv.slice(2).filter((a) => ['kills', 'outage', 'platforms'].includes(a)));
const runs = (phase: string): boolean => PHASES.size === 0 || PHASES.has(phase);

async function main(): Promise<void> {
  console.log(`Switchboard soak on 127.0.0.1 (${process.platform}, Node ${process.versions.node}); bounded to ${SOAK_LIMIT_MS / 1000} s`);
  // Worker processes run compiled, as the Docker image runs them: a hundred replacements
  // started through tsx would each compile the TypeScript again, on the cores the soak needs.
  // Inside the project, so the compiled code finds node_modules.
  const buildDir = path.join(ROOT, 'dist-soak');
  cleanups.push(() => rm(buildDir, { recursive: true, force: true }));
  try {
    await buildInto(buildDir);
    process.env['SWITCHBOARD_ENTRY'] = path.join(buildDir, 'src', 'main.js');
  } catch (error) {
    say(`the build failed (${String(error)}); workers run through tsx`);
  }
  redis = await startOutageRedis();
  fake = await createFakeOpenAI({
    chatReply: (body) => {
      const question = questionOf(body);
      const tag = platformTag(question);
      return tag === undefined ? slowReply(question) : platformReply(tag);
    },
    // About 1.6 s per playground answer, so there is always one to interrupt.
    streamChunkSize: 4,
    streamDelayMs: 40,
    // The spec check costs CPU this process needs for timing; the e2e tests check every request.
    validate: false,
  });
  const prefix = `soak-${randomBytes(4).toString('hex')}`;

  let kills: KillsResult | undefined;
  let outage: OutageResult | undefined;
  let crowdResult: CrowdResult | undefined;
  if (runs('kills') || runs('outage')) {
    say(`    a crowd of ${CROWD} people starts beside them: thousands of answers in flight through every phase below…`);
    crowd = await startCrowd(redis.url, `${prefix}-crowd`, say);
    const noLimits = { USER_RATE_LIMIT: '0', CHANNEL_RATE_LIMIT: '0', MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' };
    gateway = await startApp(parseConfig({ REDIS_URL: redis.url, OPENAI_BASE_URL: fake.url, PORT: '0', QUEUE_PREFIX: prefix, ...noLimits }), {
      role: 'gateway',
      log: pino({ level: 'silent' }),
    });
    watch = await watchPlayground(redis.url, prefix);
    fleet = createWorkerFleet({ redisUrl: redis.url, openaiUrl: fake.url, prefix, env: { CHAT_CONCURRENCY: '1' } }, 'soak');
    await Promise.all(Array.from({ length: WORKERS }, () => fleet!.start()));
    const deps = { gateway, fake, fleet, watch, redis };

    if (runs('kills')) {
      say(`(a) ${KILLS} SIGKILLs of ${WORKERS} worker processes (one answer each) while they stream, with steady traffic beside them…`);
      kills = await runKills(deps, KILLS, KILL_BUDGET_MS);
      say(`    ${kills.kills} kills in ${kills.seconds.toFixed(0)} s (${kills.spared} messages spared): ${counts(kills.tally)}; kill → pick-up ${spread(kills.pickups)}`);
      say(`    replacement workers ready in ${spread(kills.spawns)}`);
    }
    if (runs('outage')) {
      // The outage is to find the crowd at full strength: thousands of answers in flight.
      await until(() => crowd!.inFlight() >= CROWD * 0.9, 30_000, 500);
      say(`(c) Redis stopped for 30 s with answers streaming and queued (${crowd.inFlight()} of the crowd's in flight), then started again…`);
      outage = await runRedisRestart(deps);
      say(
        `    down ${outage.downSeconds.toFixed(1)} s; a POST meanwhile answered ${outage.refusedStatus} in ${outage.refusedMs.toFixed(0)} ms; ` +
          `${outage.unanswered} of ${outage.tracked.length} unanswered at the stop: ${counts(outage.tally)}`,
      );
    }
    watch.close();
    watch = undefined;
    await fleet.killAll();
    fleet = undefined;
    await gateway.stop();
    gateway = undefined;
    say(`    the crowd stops writing (${crowd.inFlight()} answers in flight) and finishes…`);
    crowdResult = await crowd.stop();
    crowd = undefined;
    say(`    crowd: ${counts(crowdResult.tally)}; up to ${crowdResult.peakInFlight} answers in flight at once; ${crowdResult.kills} SIGKILLs of crowd workers`);
    if (crowdResult.tally.lost > 0) say(`    the lost answers' jobs: ${crowdResult.lostJobs}`);
  }

  let platforms: PlatformsResult | undefined;
  if (runs('platforms')) {
    say(`(b) ${CHATS} Telegram chats, then ${CHATS} Discord DMs, streaming at once through two service processes, limits enforced…`);
    // About 3 s per answer, so every chat streams several edits at once.
    fake.streamChunkSize = 6;
    fake.streamDelayMs = 75;
    platforms = await runPlatforms({ redisUrl: redis.url, openaiUrl: fake.url, prefix: `${prefix}-p` });
    for (const wave of [platforms.telegram, platforms.discord]) say(`    ${wave.platform}: ${counts(wave.tally)}; ${describe429s(wave)}; in ${wave.seconds.toFixed(0)} s`);
  }

  const tallies = [kills?.tally, outage?.tally, crowdResult?.tally, platforms?.telegram.tally, platforms?.discord.tally].filter((t) => t !== undefined);
  const sum = (key: keyof Tally): number => tallies.reduce((total, t) => total + t[key], 0);
  const ms = (v: number | undefined): string => (v === undefined ? 'none within 30 s' : `${v} ms`);
  const skipped = 'not run';
  console.log(
    [
      '',
      '================ Switchboard soak: summary ================',
      `answers lost            ${sum('lost')}  (goal 0) of ${sum('sent')} messages`,
      `answers doubled         ${sum('doubled')}  (goal at most 1)`,
      `SIGKILLs                ${kills ? `${kills.kills} of workers mid-stream; kill → another worker picks the job up: ${spread(kills.pickups)} (issue: within 15 s)` : skipped}`,
      `in flight               ${crowdResult ? `up to ${crowdResult.peakInFlight} crowd answers at once through the kills and the outage; ${crowdResult.kills} SIGKILLs of crowd workers holding hundreds each; crowd ${counts(crowdResult.tally)}` : skipped}`,
      `429s seen               ${
        platforms
          ? `${sum429s(platforms.telegram) + sum429s(platforms.discord)}  (goal 0): Telegram ${sum429s(platforms.telegram)}, Discord ${sum429s(platforms.discord)}; ` +
            `busiest 0.9 s: Telegram ${platforms.telegram.proxy.busiest} requests (limit 30/s), Discord ${platforms.discord.proxy.busiest} (limit 50/s)`
          : skipped
      }`,
      `Redis restart           ${
        outage
          ? `down ${outage.downSeconds.toFixed(1)} s; after the restart the first job was picked up in ${ms(outage.firstJobMs)}, the first answer text shown in ${ms(outage.firstAnswerMs)} (issue: within 5 s)`
          : skipped
      }`,
      'latency (post → first answer text; → complete answer)',
      ...(kills
        ? [`  playground, steady traffic during the kills   ${latencyLine(kills.steady)}`, `  playground, answers whose worker was killed   ${latencyLine(kills.killed)}`]
        : []),
      ...(outage ? [`  playground, across the Redis restart          ${latencyLine(outage.tracked)}`] : []),
      ...(platforms
        ? [`  Telegram, ${CHATS} chats at once                  ${latencyLine(platforms.telegram.tracked)}`, `  Discord, ${CHATS} DMs at once                     ${latencyLine(platforms.discord.tracked)}`]
        : []),
      `duration                ${elapsed()}`,
      '==========================================================',
    ].join('\n'),
  );
}

function sum429s(wave: PlatformWave): number {
  return wave.fake429s + Object.values(wave.proxy.refused).reduce((a, b) => a + b, 0);
}

function describe429s(wave: PlatformWave): string {
  const byLimit = Object.entries(wave.proxy.refused).map(([k, n]) => `${k} ${n}`).join(', ');
  const first = wave.proxy.refusals.map((r) => `\n        at ${r.atMs} ms ${r.request} (${r.key}; ${r.inLastSecond} passed in the second before)`).join('');
  return (
    `429s: ${wave.fake429s} from the fake${byLimit === '' ? '' : `, ${byLimit} from the limits proxy`}; ` +
    `busiest 0.9 s ${wave.proxy.busiest} counted requests; proxy's longest stall ${wave.proxy.maxLoopDelayMs} ms${first}`
  );
}

try {
  await main();
} catch (error) {
  console.error('soak failed:', error);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
  // Keep-alive sockets of the fakes' clients must not hold the script open.
  process.exit(process.exitCode ?? 0);
}
