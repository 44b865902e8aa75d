/**
 * The service under load: its layouts (`--role all`, or one `--role gateway` with N
 * `--role worker` processes, each a child process on 127.0.0.1), and what each of its
 * processes used: CPU time per message and resident memory.
 */
import { cpus } from 'node:os';
import type { Redis } from 'ioredis';
import { cpuMs, rssMiB, SERVICE_NODE_FLAGS, startChild, type Child } from './processes.js';

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';

/** One layout of the service: its processes and where its playground is. */
export interface Service {
  readonly baseUrl: string;
  readonly prefix: string;
  /** Process ids by name (`gateway`, `worker#1`…). */
  readonly pids: Map<string, number>;
  stop(): Promise<void>;
}

const isGatewayReady = (line: Record<string, unknown>): boolean => String(line['msg'] ?? '').startsWith('playground at');
export const isWorkerReady = (line: Record<string, unknown>): boolean => String(line['msg'] ?? '') === 'worker ready';

/**
 * Starts `--role all`, or one `--role gateway` and `workers` × `--role worker`, from `entry`:
 * the compiled `dist/src/main.js` (as the Docker image runs it) or `src/main.ts` through tsx.
 */
export async function startService(layout: { workers: number } | 'all', env: Record<string, string>, entry = 'src/main.ts'): Promise<Service> {
  const children: Child[] = [];
  const pids = new Map<string, number>();
  try {
    if (layout === 'all') {
      const all = await startChild(entry, ['--role', 'all'], env, isGatewayReady, SERVICE_NODE_FLAGS);
      children.push(all);
      pids.set('service', all.process.pid!);
    } else {
      const workers = await Promise.all(
        Array.from({ length: layout.workers }, () => startChild(entry, ['--role', 'worker'], env, isWorkerReady, SERVICE_NODE_FLAGS)),
      );
      workers.forEach((worker, i) => {
        children.push(worker);
        pids.set(`worker#${i + 1}`, worker.process.pid!);
      });
      const gateway = await startChild(entry, ['--role', 'gateway'], env, isGatewayReady, SERVICE_NODE_FLAGS);
      children.push(gateway);
      pids.set('gateway', gateway.process.pid!);
    }
  } catch (error) {
    await Promise.all(children.map((child) => child.stop()));
    throw error;
  }
  const gateway = children.at(-1)!;
  return {
    baseUrl: String(gateway.readyLine['url']),
    prefix: env['QUEUE_PREFIX'] ?? 'sb',
    pids,
    // Intake first, as an operator would stop them.
    stop: async () => {
      await gateway.stop();
      await Promise.all(children.slice(0, -1).map((child) => child.stop()));
    },
  };
}

/** Resident set sizes of a layout's processes after its load. */
export async function rssOf(pids: ReadonlyMap<string, number>): Promise<string> {
  const parts: string[] = [];
  for (const [name, pid] of pids) parts.push(`${name.replace('#', ' ')} ${fmt(await rssMiB(pid))} MiB`);
  return `RSS after the load: ${parts.join(', ')}`;
}

/** Where the CPU of a phase went: the service's processes, Redis, the fake upstream, and this process (fakes and load). */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  private benchStart = process.cpuUsage();
  constructor(private readonly pids: ReadonlyMap<string, number>) {}
  async begin(): Promise<void> {
    for (const [name, pid] of this.pids) this.start.set(name, await cpuMs(pid));
    this.benchStart = process.cpuUsage();
  }
  /** CPU ms per message of each process group since begin(). */
  async perMessage(messages: number): Promise<string> {
    const parts: string[] = [];
    const groups = new Map<string, number>();
    for (const [name, pid] of this.pids) {
      const used = (await cpuMs(pid)) - (this.start.get(name) ?? 0);
      const group = name.replace(/#\d+$/, 's');
      groups.set(group, (groups.get(group) ?? 0) + used);
    }
    const bench = process.cpuUsage(this.benchStart);
    groups.set('bench', (bench.user + bench.system) / 1000);
    for (const [group, used] of groups) parts.push(`${group} ${fmt(used / Math.max(1, messages), 2)}`);
    // What the machine could do if these processes had every core to themselves.
    const total = [...groups.values()].reduce((a, b) => a + b, 0) / Math.max(1, messages);
    return `CPU ms/message: ${parts.join(', ')} (total ${fmt(total, 2)}: at most ${fmt((cpus().length * 1000) / total)} msg/s on ${cpus().length} cores)`;
  }
}

/** INFO memory used_memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}
