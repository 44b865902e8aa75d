/**
 * The soak's platform phase (b): 100 chats streaming answers at once through the Telegram
 * path, then 100 through the Discord path, against fakes that enforce the platforms'
 * limits: the Telegram fake's own flood control (per chat, per group) and, in front of the
 * fakes, limits-proxies.ts (Telegram's global limit; Discord's global and per-channel
 * ones). Fakes and proxies run in processes of their own (platform-fakes.ts,
 * limits-proxies.ts) so arrival times are true. The service runs as two processes sharing
 * one Redis (`--role all` and one more `--role worker`), so the limits hold only if the
 * shared Redis rate limiter keeps them together. Counts every 429 the bot got.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../bench/processes.js';
import { startServiceProcess, workerEnv, type WorkerProcess } from '../support/worker-process.js';
import { tally, type Tally, type Tracked } from './answers.js';
import type { ProxyStats } from './limits-proxy.js';
import { CHATS, DISCORD_TOKEN, TELEGRAM_TOKEN, type FakesReady, type WaveResult } from './platform-protocol.js';

const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
/** Longer than a wave may take in the fakes process. */
const REPLY_TIMEOUT_MS = 120_000;

export interface PlatformWave extends WaveResult {
  /** The samples as Tracked records (times from the wave's start), for tally and latency lines. */
  readonly tracked: Tracked[];
  readonly tally: Tally;
  /** What the limits proxy saw during the wave. */
  readonly proxy: ProxyStats;
}

export interface PlatformsResult {
  readonly telegram: PlatformWave;
  readonly discord: PlatformWave;
}

/** A forked helper process and a way to await its next message of a type. */
interface Helper {
  readonly child: ChildProcess;
  next<T>(type: string): Promise<T>;
  stop(): Promise<void>;
}

function forkHelper(file: string, args: string[]): Helper {
  const child = fork(path.join(ROOT, 'test', 'soak', file), args, { cwd: ROOT, execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<(message: { type: string }) => void> = [];
  child.on('message', (message: { type: string }) => waiting.shift()?.(message));
  return {
    child,
    next: <T>(type: string) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${file} did not answer ${type} in time`)), REPLY_TIMEOUT_MS);
        waiting.push((message) => {
          clearTimeout(timer);
          if (message.type === type) resolve(message as T);
          else reject(new Error(`${file} answered ${JSON.stringify(message)}`));
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        if (child.connected) child.send({ type: 'stop' });
        else child.kill('SIGTERM');
      }),
  };
}

function asWave(result: WaveResult, proxy: ProxyStats): PlatformWave {
  const tracked: Tracked[] = result.samples.map((s, i) => ({
    id: `${result.platform}-${i}`,
    expected: '',
    postedAt: 0,
    events: s.messages,
    ...(s.firstTextMs === undefined ? {} : { firstTextAt: s.firstTextMs }),
    ...(s.finalMs === undefined ? {} : { finalAt: s.finalMs }),
    messages: new Map(Array.from({ length: s.messages }, (_, k) => [String(k), { text: '', final: true }] as const)),
  }));
  return { ...result, tracked, tally: tally(tracked), proxy };
}

/** (b) Telegram then Discord, CHATS chats each, through two service processes. */
export async function runPlatforms(settings: { redisUrl: string; openaiUrl: string; prefix: string }): Promise<PlatformsResult> {
  const fakes = forkHelper('platform-fakes.ts', []);
  let proxies: Helper | undefined;
  const processes: WorkerProcess[] = [];
  try {
    const ready = await fakes.next<FakesReady>('ready');
    proxies = forkHelper('limits-proxies.ts', [ready.telegramOrigin, ready.discordOrigin]);
    const urls = await proxies.next<{ telegram: string; discord: string }>('ready');
    const env = (name: string): Record<string, string> =>
      workerEnv(
        {
          ...settings,
          env: {
            TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
            TELEGRAM_API_ROOT: urls.telegram,
            DISCORD_BOT_TOKEN: DISCORD_TOKEN,
            DISCORD_API_URL: `${urls.discord}/api`,
            DISCORD_GUILD_IDS: ready.discordGuildId,
            // Every chat streams at once, whichever process takes it.
            CHAT_CONCURRENCY: String(CHATS),
          },
        },
        name,
      );
    processes.push(await startServiceProcess('all', env('soak-platform-all'), 'soak-platform-all'));
    processes.push(await startServiceProcess('worker', env('soak-platform-worker'), 'soak-platform-worker'));
    const connected = fakes.next('connected');
    fakes.child.send({ type: 'connected' });
    await connected;

    const waves: PlatformWave[] = [];
    for (const platform of ['telegram', 'discord'] as const) {
      const done = fakes.next<{ result: WaveResult }>('wave');
      fakes.child.send({ type: 'wave', platform });
      const { result } = await done;
      const stats = proxies.next<Record<'telegram' | 'discord', ProxyStats>>('stats');
      proxies.child.send({ type: 'stats', since: result.startedAt });
      waves.push(asWave(result, (await stats)[platform]));
    }
    return { telegram: waves[0]!, discord: waves[1]! };
  } finally {
    await Promise.all(processes.map((p) => p.terminate()));
    await proxies?.stop();
    await fakes.stop();
  }
}
