/**
 * The container promises of issue #8, read from the files themselves (this machine has no
 * Docker engine): a multi-stage image on a slim Node LTS base, production dependencies
 * only, running as the unprivileged `node` user, with a HEALTHCHECK on /healthz and an
 * entrypoint that is where `npm run build` puts main.js; and a compose file whose Redis
 * persists and never evicts, with a gateway and a worker service that `--scale` can grow.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** One build stage: its FROM (ARG defaults resolved), name and instructions. */
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Parses a Dockerfile into stages; enough of the syntax for the checks below. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest };
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=');
      if (name && value !== undefined) args.set(name, value);
    } else if (instruction.keyword === 'FROM') {
      const [image = '', , name] = rest.split(/\s+/);
      const resolved = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '');
      stages.push({ from: resolved, name: name?.toLowerCase(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The JSON (exec) form of an instruction's arguments. */
function execForm(args: string): string[] {
  return JSON.parse(args) as string[];
}

/** Seconds of a compose duration such as `40s` or `1m30s`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(h|m|s)/g)) total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'];
  return total;
}

const stages = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1)!;
const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const stageNamed = (name: string): Stage | undefined => stages.find((s) => s.name === name);

describe('Dockerfile', () => {
  it('is multi-stage on a slim official Node LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const major = /^node:(\d+)-slim$/.exec(stage.from)?.[1];
      expect(major, stage.from).toBeDefined();
      // 24 and later are LTS lines; the engines field sets the floor for the code.
      expect(Number(major)).toBeGreaterThanOrEqual(24);
    }
  });

  it('compiles in a build stage and ships only production dependencies', () => {
    const copies = all(final, 'COPY').map((i) => i.args);
    const fromStage = (dir: string): Stage | undefined => {
      const copy = copies.find((c) => new RegExp(`--from=(\\S+) .*\\S*/${dir}\\s`).test(`${c} `));
      const name = copy ? /--from=(\S+)/.exec(copy)?.[1] : undefined;
      return name ? stageNamed(name) : undefined;
    };
    const deps = fromStage('node_modules');
    const build = fromStage('dist');
    expect(deps, 'node_modules comes from a stage').toBeDefined();
    expect(build, 'dist comes from a stage').toBeDefined();
    const depsInstall = all(deps!, 'RUN').map((i) => i.args).join('\n');
    expect(depsInstall).toMatch(/npm (install|ci)\b.*--omit=dev|npm prune\b.*--omit=dev/);
    expect(all(build!, 'RUN').map((i) => i.args)).toContain('npm run build');
    // The final stage installs nothing itself, so no dev dependency can slip in.
    expect(all(final, 'RUN')).toEqual([]);
    expect(copies.some((c) => /^package\.json\s/.test(c)), 'package.json ("type": "module")').toBe(true);
  });

  it('runs as the unprivileged node user, serves on 0.0.0.0:8080 and checks /healthz', () => {
    const users = all(final, 'USER').map((i) => i.args.trim());
    expect(users.at(-1)).toBe('node');
    expect(all(final, 'EXPOSE').map((i) => i.args.trim())).toContain('8080');
    expect(all(final, 'ENV').map((i) => i.args).join(' ')).toMatch(/(^|\s)HOST=0\.0\.0\.0(\s|$)/);
    const [healthcheck] = all(final, 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/\bCMD\b/);
    expect(healthcheck?.args).toContain('/healthz');
    // slim has no curl or wget: the check must run on node alone.
    expect(healthcheck?.args).toMatch(/CMD \["node", "-e"/);
  });

  it('starts dist/src/main.js, which is where `npm run build` writes src/main.ts, with the service\'s Node flags', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const buildProject = /tsc -p (\S+)/.exec(pkg.scripts.build ?? '')?.[1];
    expect(buildProject).toBe('tsconfig.build.json');
    const buildConfig = JSON.parse(read(buildProject!)) as { extends?: string; include?: string[]; compilerOptions?: { outDir?: string; rootDir?: string } };
    const baseConfig = JSON.parse(read(buildConfig.extends ?? 'tsconfig.json')) as { compilerOptions: { outDir?: string; rootDir?: string } };
    const outDir = buildConfig.compilerOptions?.outDir ?? baseConfig.compilerOptions.outDir!;
    const rootDir = buildConfig.compilerOptions?.rootDir ?? baseConfig.compilerOptions.rootDir!;
    expect(buildConfig.include).toContain('src');
    const built = path.posix.join(outDir, path.posix.relative(rootDir, 'src/main.ts').replace(/\.ts$/, '.js'));

    const entrypoint = execForm(all(final, 'ENTRYPOINT')[0]!.args);
    const cmd = execForm(all(final, 'CMD')[0]!.args);
    const argv = [...entrypoint, ...cmd];
    // node, the service's flags (as `npm start` gives them), the built entry, the role.
    const flags = (JSON.parse(read('scripts/node-flags.json')) as { service: string[] }).service;
    expect(argv).toEqual(['node', ...flags, built, '--role', 'all']);
    // The stage that builds copies in what the build reads.
    const buildCopies = all(stages.find((s) => all(s, 'RUN').some((r) => r.args === 'npm run build'))!, 'COPY').map((i) => i.args);
    for (const needed of ['tsconfig.json', buildProject!, 'src', 'adapters']) {
      expect(buildCopies.some((c) => c.split(/\s+/).slice(0, -1).includes(needed)), needed).toBe(true);
    }
  });

  it('leaves local state, secrets and dependencies out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const pattern of ['**/node_modules', 'data', '.git', '.env', 'dist', 'test-results']) expect(ignored, pattern).toContain(pattern);
    for (const needed of ['src', 'adapters', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored, needed).not.toContain(needed);
      expect(existsSync(path.join(ROOT, needed)), needed).toBe(true);
    }
  });
});

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[] | string;
  ports?: unknown[];
  container_name?: string;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  environment?: Record<string, string>;
  stop_grace_period?: string;
}

const compose = parseYaml(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const words = (command: ComposeService['command']): string => (Array.isArray(command) ? command.join(' ') : (command ?? ''));

describe('compose.yaml', () => {
  it('runs Redis with persistence and no eviction, on a volume, with a healthcheck', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:\d/);
    expect(words(redis.command)).toMatch(/--appendonly yes/);
    expect(words(redis.command)).toMatch(/--maxmemory-policy noeviction/);
    const [volume] = redis.volumes ?? [];
    expect(volume).toMatch(/^[\w-]+:\/data$/);
    expect(Object.keys(compose.volumes ?? {})).toContain(volume!.split(':')[0]);
    expect(redis.healthcheck?.test?.join(' ')).toMatch(/redis-cli ping/);
  });

  it('runs one gateway on port 8080 and workers that `--scale worker=N` can multiply, from this image', () => {
    const { gateway, worker } = compose.services;
    expect(words(gateway?.command)).toBe('--role gateway');
    expect(words(worker?.command)).toBe('--role worker');
    expect(gateway?.ports?.map(String)).toEqual(['127.0.0.1:8080:8080']);
    // A fixed name or a published port would make the second replica fail to start.
    expect(worker?.container_name).toBeUndefined();
    expect(worker?.ports).toBeUndefined();
    const shutdownS = parseConfig({}).shutdownTimeoutMs / 1000;
    for (const service of [gateway!, worker!]) {
      expect(service.build).toBe('.');
      expect(service.image).toBe(gateway!.image);
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service.depends_on?.redis?.condition).toBe('service_healthy');
      // Docker's default 10 s would kill answers in progress before SHUTDOWN_TIMEOUT_MS.
      expect(seconds(service.stop_grace_period ?? '10s')).toBeGreaterThan(shutdownS);
    }
  });

  it('publishes the gateway on this machine only, and keeps the playground and /metrics off until tokens are set (issue #17)', () => {
    // Published on the host's loopback address only: nothing else reaches it by default.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of (service.ports ?? []).map(String)) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    // Inside, the image binds every address, so the service itself treats the bind as
    // exposed: without tokens in .env, the playground and /metrics are off.
    const env = Object.fromEntries(
      all(final, 'ENV')
        .flatMap((i) => i.args.split(/\s+/))
        .map((pair) => pair.split('=') as [string, string]),
    );
    const { gateway } = compose.services;
    const config = parseConfig({ ...env, ...gateway?.environment });
    expect(config.http).toMatchObject({ host: '0.0.0.0', exposed: true, playgroundToken: undefined, metricsToken: undefined });
    // The file says how to expose it, with which tokens, and behind what.
    const text = read('compose.yaml');
    for (const needed of ['PLAYGROUND_TOKEN', 'METRICS_TOKEN', 'proxy']) expect(text, needed).toContain(needed);
    // Compose passes no token itself: a token in the file would be one everybody knows.
    for (const service of Object.values(compose.services)) {
      for (const name of ['PLAYGROUND_TOKEN', 'METRICS_TOKEN', 'ADMIN_TOKEN']) expect(service.environment?.[name], name).toBeUndefined();
    }
  });
});
