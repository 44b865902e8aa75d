#!/usr/bin/env node
// Makes `npm start`, `npm test`, `npm run bench` and `npm run soak` work on a fresh
// machine with only Node and npm: installs npm dependencies (`npm ci`) when missing or stale,
// installs redis-server (and Chromium for tests) with apt-get when running as root, or
// says in one sentence what to install. Then runs the command, forwarding signals.
// Plain Node, no dependencies: it runs before they exist.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Node flags of the service's processes (see the file's "why"). */
const SERVICE_NODE_FLAGS = JSON.parse(readFileSync(path.join(ROOT, 'scripts', 'node-flags.json'), 'utf8')).service;
const MIN_NODE = [20, 19];
const [command = 'start', ...args] = process.argv.slice(2);

function fail(sentence) {
  process.stderr.write(`switchboard: ${sentence}\n`);
  process.exit(1);
}

function say(sentence) {
  process.stderr.write(`switchboard: ${sentence}\n`);
}

function which(binary) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function run(cmd, cmdArgs, options = {}) {
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: ROOT, ...options });
  return result.status === 0;
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    fail(`Node ${MIN_NODE.join('.')} or newer is required (this is ${process.versions.node}); install a current LTS from nodejs.org.`);
  }
}

function ensureNpmDependencies() {
  const lock = path.join(ROOT, 'package-lock.json');
  const stamp = path.join(ROOT, 'node_modules', '.package-lock.json');
  const fresh = existsSync(stamp) && (!existsSync(lock) || statSync(stamp).mtimeMs >= statSync(lock).mtimeMs);
  if (fresh) return;
  const modules = path.join(ROOT, 'node_modules');
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) {
    // A worktree sharing another checkout's install: `npm ci` would empty that one first.
    say(`node_modules links to ${realpathSync(modules)}; using it as it is (install there, or replace the link with a folder).`);
    return;
  }
  say('installing npm dependencies…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // `npm ci` installs exactly what package-lock.json records and never rewrites it, so a
  // fresh clone stays clean. The lock file records every platform's optional builds
  // (esbuild, sharp, msgpackr-extract…); npm installs the ones for this machine. Install
  // scripts follow package.json's allowScripts: none is needed, none runs.
  const ok = run(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  if (!ok) fail('npm could not install the dependencies; see the npm output above (is package-lock.json in step with package.json?).');
}

/** Installs Debian packages when we are root and have apt-get; otherwise explains. */
function ensureBinary(names, debianPackage, why) {
  const found = names.map(which).find(Boolean);
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get')) {
    say(`${names[0]} is missing (${why}); installing the Debian package ${debianPackage}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const ok =
      run('apt-get', ['update', '-qq'], { env }) &&
      run('apt-get', ['install', '-y', '-qq', debianPackage], { env });
    const installed = names.map(which).find(Boolean);
    if (ok && installed) return installed;
  }
  fail(`${names[0]} is not installed and is needed ${why}: install it (Debian/Ubuntu: sudo apt-get install ${debianPackage}; macOS: brew install ${debianPackage === 'chromium' ? '--cask chromium' : 'redis'}) and run the command again.`);
}

function redisUrlConfigured() {
  if ((process.env.REDIS_URL ?? '').trim() !== '') return true;
  const envFile = path.join(ROOT, '.env');
  if (!existsSync(envFile)) return false;
  return /^\s*REDIS_URL\s*=\s*\S+/m.test(readFileSync(envFile, 'utf8'));
}

/** Runs a child with our stdio, forwards SIGINT/SIGTERM, exits with its status. */
function runForwarding(cmd, cmdArgs, env = process.env, after) {
  const child = spawn(cmd, cmdArgs, { stdio: 'inherit', cwd: ROOT, env });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => {
    const status = code ?? 128 + (constants.signals[signal] ?? 0);
    const final = after ? after(status) : status;
    process.exit(final);
  });
}

const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

checkNode();
ensureNpmDependencies();

switch (command) {
  case 'start': {
    if (!redisUrlConfigured()) ensureBinary(['redis-server'], 'redis-server', 'to run the embedded Redis (or set REDIS_URL)');
    runForwarding(process.execPath, [...SERVICE_NODE_FLAGS, '--import', tsx, 'src/main.ts', ...args]);
    break;
  }
  case 'test': {
    ensureBinary(['redis-server'], 'redis-server', 'for the test suite (it starts a throwaway Redis)');
    const chromium = ensureBinary(['chromium', 'chromium-browser'], 'chromium', 'for the browser test of the playground');
    const outDir = mkdtempSync(path.join(tmpdir(), 'switchboard-vitest-'));
    const report = path.join(outDir, 'report.json');
    runForwarding(
      process.execPath,
      [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
      { ...process.env, CHROMIUM_PATH: process.env.CHROMIUM_PATH ?? chromium },
      (status) => {
        // One plain closing line, the form CI tools read in any language.
        try {
          const result = JSON.parse(readFileSync(report, 'utf8'));
          const skipped = result.numPendingTests + result.numTodoTests;
          process.stdout.write(`\n${result.numPassedTests} passed, ${result.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
        } catch {
          // No report: vitest failed before running; its own output says why.
        }
        rmSync(outDir, { recursive: true, force: true });
        return status;
      },
    );
    break;
  }
  case 'bench': {
    ensureBinary(['redis-server'], 'redis-server', 'for the benchmark (it starts a throwaway Redis)');
    // The load generator (and the fakes in it) with the service's GC flags, so its own pauses stay small.
    runForwarding(process.execPath, [...SERVICE_NODE_FLAGS, '--import', tsx, 'test/bench/run.ts', ...args]);
    break;
  }
  case 'soak': {
    ensureBinary(['redis-server'], 'redis-server', 'for the soak (it starts a throwaway Redis it can stop and restart)');
    runForwarding(process.execPath, ['--import', tsx, 'test/soak/run.ts', ...args]);
    break;
  }
  default:
    fail(`unknown command ${JSON.stringify(command)}: use start, test, bench or soak.`);
}
