/**
 * Reads a V8 CPU profile (BENCH_CPU_PROF=<dir> npm run bench writes one per child process)
 * and prints where the time went: by package or project folder, and the hottest functions
 * by self time. `npx tsx test/bench/profile-top.ts <file.cpuprofile> [count]`
 */
import { readFileSync } from 'node:fs';

const DEFAULT_COUNT = 25;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The package (node_modules/<name>) or project folder a script belongs to; V8's own entries as they are. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node (built-in)';
  const project = /\/(src\/[^/]+|adapters\/[^/]+|test\/[^/]+)\//.exec(url)?.[1];
  return project ?? url;
}

const [file, countArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx test/bench/profile-top.ts <file.cpuprofile> [count]\n');
  process.exit(2);
}
const count = Number(countArg ?? DEFAULT_COUNT);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const busy = total - idle;
const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, time] of self) {
  const frame = byId.get(id)?.callFrame;
  if (!frame || frame.functionName === '(idle)') continue;
  const area = areaOf(frame.url, frame.functionName);
  areas.set(area, (areas.get(area) ?? 0) + time);
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|adapters|test)\//, '$1/')}:${frame.lineNumber + 1}`;
  const name = `${frame.functionName || '(anonymous)'}${where}`;
  functions.set(name, (functions.get(name) ?? 0) + time);
}

const pct = (t: number): string => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
const top = (map: Map<string, number>): Array<[string, number]> => [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)}%); shares of the busy time`);
console.log('\nby package or folder (self time):');
for (const [area, time] of top(areas)) console.log(`  ${pct(time)}  ${area}`);
console.log('\nfunctions by self time:');
for (const [name, time] of top(functions)) console.log(`  ${pct(time)}  ${name}`);

// Inclusive of what they call outside the project: each sample goes to the nearest
// function of ours on its stack (src/, adapters/), so a socket write or a library's work
// counts for the code of ours that asked for it; samples with none of ours, to the leaf's area.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const ours = new Map<string, number>();
for (const [id, time] of self) {
  const leaf = byId.get(id)?.callFrame;
  if (!leaf || leaf.functionName === '(idle)') continue;
  let key: string | undefined;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (frame && /\/(src|adapters)\//.test(frame.url) && !frame.url.includes('node_modules')) {
      key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*?\/(src|adapters)\//, '$1/')}:${frame.lineNumber + 1}`;
      break;
    }
  }
  key ??= `(no code of ours) ${areaOf(leaf.url, leaf.functionName)}`;
  ours.set(key, (ours.get(key) ?? 0) + time);
}
console.log('\nour functions, with what they call outside the project:');
for (const [name, time] of top(ours)) console.log(`  ${pct(time)}  ${name}`);
