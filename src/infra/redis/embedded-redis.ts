/**
 * Runs a private `redis-server` child process: the store `npm start` uses when
 * REDIS_URL is unset, and the throwaway server of the test suite.
 * Redis configuration reference: https://redis.io/docs/latest/operate/oss_and_stack/management/config/
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import path from 'node:path';

/** How long redis-server may take to accept connections. */
const START_TIMEOUT_MS = 10_000;
/** How long a SIGTERM'd redis-server may take to save and exit before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedRedisOptions {
  /** Folder for the AOF/RDB files and the pid file; created if missing. */
  readonly dataDir: string;
  /** AOF + RDB on (the service) or off (throwaway test servers). */
  readonly persistence: boolean;
  /** Fixed port; a free one is picked when omitted. */
  readonly port?: number;
  readonly binary?: string;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGTERM (Redis saves and exits), then waits; SIGKILL after STOP_TIMEOUT_MS. */
  stop(): Promise<void>;
  /** SIGKILL, no save: for crash tests. */
  kill(): Promise<void>;
}

/** Starts redis-server bound to 127.0.0.1 and resolves once it accepts connections. */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'redis.pid');
  await stopStaleServer(pidFile);
  const port = options.port ?? (await findFreePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', dataDir,
    '--pidfile', pidFile,
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'warning',
    // BullMQ requires that Redis never evicts its keys.
    '--maxmemory-policy', 'noeviction',
    ...(options.persistence
      ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '3600 1 300 100 60 10000']
      : ['--appendonly', 'no', '--save', '']),
  ];
  // In a process group of its own: a Ctrl-C in the terminal (SIGINT to the foreground
  // group) reaches the service, which drains its jobs and then stops this server, instead
  // of the server quitting under the answers still finishing. A server left behind by a
  // killed run is stopped by the next start (stopStaleServer).
  const child = spawn(options.binary ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

  try {
    await Promise.race([waitForPort(port, START_TIMEOUT_MS), spawnFailed,
      exited.then((code) => { throw new Error(`redis-server exited with code ${code} before it was ready: ${stderr.trim()}`); })]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop: () => stopChild(child, exited, 'SIGTERM'),
    kill: () => stopChild(child, exited, 'SIGKILL'),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * A previous run that was killed leaves its redis-server running and holding the AOF;
 * stop it so the new one can own the folder. Only a process whose command line is
 * redis-server is touched.
 */
async function stopStaleServer(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('redis-server')) {
    await rm(pidFile, { force: true });
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, 'SIGKILL');
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
