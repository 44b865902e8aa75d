/**
 * Worker processes for the crash, restart and soak tests: `src/main.ts --role worker` as a
 * child process through tsx, on 127.0.0.1, that a test can SIGKILL mid-job or stop
 * gracefully with SIGTERM. Each one sends its own name as the `OpenAI-Organization`
 * header, so the fake OpenAI's recorded requests tell which process is streaming which
 * answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../bench/processes.js';

/** How long a SIGTERMed worker may drain before it is killed (beyond SHUTDOWN_TIMEOUT_MS). */
const STOP_GRACE_MS = 15_000;
/** How long a process may take to log its ready line (tsx compiles on the way; the machine may be busy). */
const READY_TIMEOUT_MS = 45_000;
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
/** The Node flags of the service's processes (scripts/node-flags.json), for a compiled entry. */
const SERVICE_NODE_FLAGS: readonly string[] = JSON.parse(readFileSync(path.join(ROOT, 'scripts', 'node-flags.json'), 'utf8')).service;

/** What every worker of a test shares. */
export interface WorkerSettings {
  readonly redisUrl: string;
  /** The fake OpenAI's base URL (with /v1). */
  readonly openaiUrl: string;
  readonly prefix: string;
  /** More environment (CHAT_CONCURRENCY, platform tokens, …). */
  readonly env?: Readonly<Record<string, string>>;
}

/** One running worker process. */
export interface WorkerProcess {
  /** Its name, also its `OpenAI-Organization` header. */
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** True until the process has exited. */
  alive(): boolean;
  /** SIGKILL: a crash, nothing drains. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful stop; resolves with the exit code (SIGKILL after a grace period). */
  terminate(): Promise<number | NodeJS.Signals>;
}

/** The environment every child worker runs with; abuse limits and moderation off, so tests measure the queue alone. */
export function workerEnv(settings: WorkerSettings, name: string): Record<string, string> {
  return {
    REDIS_URL: settings.redisUrl,
    OPENAI_BASE_URL: settings.openaiUrl,
    OPENAI_ORGANIZATION: name,
    QUEUE_PREFIX: settings.prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    MODERATE_INPUT: 'false',
    MODERATE_OUTPUT: 'false',
    USER_RATE_LIMIT: '0',
    CHANNEL_RATE_LIMIT: '0',
    // The ready line is logged at info.
    LOG_LEVEL: 'info',
    ...settings.env,
  };
}

/** Every service process started here and not yet exited, for killAllServiceProcesses. */
const running = new Set<ChildProcess>();

/**
 * SIGKILLs every service process this module started that is still running, at once and
 * synchronously: for a script's watchdog or Ctrl-C, where nothing may be left behind.
 */
export function killAllServiceProcesses(): void {
  for (const proc of running) proc.kill('SIGKILL');
}

/** Starts a worker process and resolves once it logged `worker ready`. */
export function startWorkerProcess(settings: WorkerSettings, name: string): Promise<WorkerProcess> {
  return startServiceProcess('worker', workerEnv(settings, name), name);
}

/**
 * Starts `src/main.ts --role <role>` (like test/bench/processes.ts's startChild, but the
 * process is killed when it fails to get ready, and its ready line is the service's own:
 * `worker ready`, or `playground at …` with the URL in `url`).
 */
export async function startServiceProcess(
  role: 'all' | 'gateway' | 'worker',
  env: Readonly<Record<string, string>>,
  name: string,
  /** Every log line after the ready line (the soak counts what the service logged). */
  onLine?: (line: string) => void,
): Promise<WorkerProcess & { readonly url: string }> {
  // SWITCHBOARD_ENTRY: a compiled main.js (the soak builds one), started with plain node as the
  // Docker image does: quicker to start than compiling TypeScript in every process.
  const compiled = process.env['SWITCHBOARD_ENTRY'];
  const args = compiled ? [...SERVICE_NODE_FLAGS, compiled] : ['--import', TSX, 'src/main.ts'];
  const proc = spawn(process.execPath, [...args, '--role', role], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(proc);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? -1);
    }),
  );
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  // Read every line for the process's whole life: a full pipe would block its logger.
  const lines = createInterface({ input: proc.stdout });
  let ready = false;
  // The last lines before the ready line: why it failed, if it does.
  const early: string[] = [];
  const why = (): string => (early.length === 0 ? '' : `; its last log lines:\n${early.join('\n')}`);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} (${role}) was not ready within ${READY_TIMEOUT_MS} ms${why()}`)), READY_TIMEOUT_MS);
    void exited.then((code) => reject(new Error(`${name} (${role}) exited with ${code} before it was ready${why()}`)));
    lines.on('line', (line) => {
      if (ready) return onLine?.(line);
      early.push(line.slice(0, 2_000));
      if (early.length > 5) early.shift();
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const msg = String(parsed['msg'] ?? '');
        if (msg === 'worker ready' || msg.startsWith('playground at')) {
          ready = true;
          clearTimeout(timer);
          resolve(String(parsed['url'] ?? ''));
        }
      } catch {
        // not JSON: ignore
      }
    });
  }).catch(async (error: unknown) => {
    if (alive()) proc.kill('SIGKILL');
    await exited;
    throw error;
  });
  return {
    name,
    url,
    pid: proc.pid!,
    exited,
    alive,
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      await exited;
    },
    async terminate() {
      if (alive()) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * A set of worker processes with fresh names (`<label>-1`, `<label>-2`, …): start,
 * look up by name, and end them all (SIGKILL) at the end of a test.
 */
export interface WorkerFleet {
  start(): Promise<WorkerProcess>;
  byName(name: string): WorkerProcess | undefined;
  /** Workers that have not exited. */
  alive(): WorkerProcess[];
  /** How many have been started so far. */
  readonly started: number;
  /** Kills every worker still running (and any still starting) and waits for them to exit. */
  killAll(): Promise<void>;
}

export function createWorkerFleet(settings: WorkerSettings, label: string): WorkerFleet {
  const all = new Map<string, WorkerProcess>();
  const starting = new Set<Promise<WorkerProcess | undefined>>();
  let count = 0;
  return {
    async start() {
      count += 1;
      const name = `${label}-${count}`;
      const pending = startWorkerProcess(settings, name);
      const tracked = pending.then((w) => w, () => undefined);
      starting.add(tracked);
      try {
        const worker = await pending;
        all.set(name, worker);
        return worker;
      } finally {
        starting.delete(tracked);
      }
    },
    byName: (name) => all.get(name),
    alive: () => [...all.values()].filter((w) => w.alive()),
    get started() {
      return count;
    },
    async killAll() {
      const late = await Promise.all([...starting]);
      const everyone = [...all.values(), ...late.filter((w): w is WorkerProcess => w !== undefined)];
      await Promise.all(everyone.map((w) => w.kill()));
    },
  };
}

/** The last user message of a recorded chat completion request (the question it answers). */
export function questionOf(body: unknown): string {
  const messages = (body as { messages?: Array<{ role: string; content?: unknown }> } | undefined)?.messages ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

/** Which worker (by its OpenAI-Organization name) made each chat completion request for `question`, in order. */
export function runsOf(requests: ReadonlyArray<{ path: string; headers: Record<string, string>; body: unknown }>, question: string): string[] {
  return requests
    .filter((r) => r.path.endsWith('/chat/completions') && questionOf(r.body) === question)
    .map((r) => r.headers['openai-organization'] ?? '?');
}

/**
 * A reply the fake OpenAI streams slowly enough to be interrupted: about `chars`
 * characters, naming the question so every answer is different.
 */
export function slowReply(question: string, chars = 160): string {
  const head = `Answer to "${question}": `;
  const filler = 'the quick brown fox jumps over the lazy dog, ';
  return (head + filler.repeat(Math.ceil(chars / filler.length))).slice(0, Math.max(chars, head.length + 10)).trimEnd() + '.';
}
