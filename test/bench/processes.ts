/** Child processes of the benchmark: started on 127.0.0.1, read until ready, always stopped. */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const READY_TIMEOUT_MS = 30_000;
/** The Node flags every service process runs with, as `npm start` and the Docker image give them (scripts/node-flags.json). */
export const SERVICE_NODE_FLAGS: readonly string[] = JSON.parse(readFileSync(path.join(ROOT, 'scripts', 'node-flags.json'), 'utf8')).service;

export interface Child {
  readonly process: ChildProcess;
  /** The first stdout JSON line that satisfied `ready`. */
  readonly readyLine: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Runs a TypeScript file with tsx (or a compiled .js file with plain node) and waits for a JSON stdout line that `ready` accepts. */
export async function startChild(
  file: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: Record<string, unknown>) => boolean,
  nodeFlags: readonly string[] = [],
  options: { readonly ipc?: boolean } = {},
): Promise<Child> {
  const loader = file.endsWith('.ts') ? ['--import', TSX] : [];
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each child there, for a look in DevTools.
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  const child = spawn(process.execPath, [...nodeFlags, ...(process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []), ...profile, ...loader, file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: options.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const readyLine = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      // BENCH_LOG=<file>: every log line of every child, to see what a phase's service said.
      if (process.env['BENCH_LOG']) appendFileSync(process.env['BENCH_LOG'], `${child.pid} ${line}\n`);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (ready(parsed)) {
          clearTimeout(timer);
          resolve(parsed);
        }
      } catch {
        // Not a log line: what a BENCH_NODE_FLAGS flag printed (--trace-gc…), passed on with the time.
        process.stderr.write(`[pid ${child.pid} at ${(performance.now() / 1000).toFixed(2)} s] ${line}\n`);
      }
    });
  });
  return {
    process: child,
    readyLine,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** Compiles the service as the Dockerfile does (npm run build), into `outDir`. */
export async function buildInto(outDir: string): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { cpSync } = await import('node:fs');
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: 'inherit' });
  cpSync(path.join(ROOT, 'adapters', 'web', 'public'), path.join(outDir, 'adapters', 'web', 'public'), { recursive: true });
}

/** Resident set size of a process, from /proc, in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Clock ticks a second in /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, from /proc, in ms. */
export async function cpuMs(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start with the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
