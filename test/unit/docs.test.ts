/**
 * The docs stay true to the code and to each other: docs/configuration.md lists exactly
 * the variables the config schema reads, every relative link in README.md and docs/
 * reaches a file (and a heading, when it names one), every page of docs/ can be reached
 * from the README, every file of ours a page names exists, the architecture page's walk of
 * one message is about a dozen steps of one file each, and the README still states the
 * commands CI and newcomers run.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** README.md and every Markdown file under docs/, as paths from the repository root. */
function markdownFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(path.join(ROOT, dir)).sort()) {
      const file = path.posix.join(dir, name);
      if (statSync(path.join(ROOT, file)).isDirectory()) walk(file);
      else if (name.endsWith('.md')) files.push(file);
    }
  };
  walk('docs');
  return files;
}

/** The text outside fenced code blocks, with inline code spans blanked (a link or `#` in code is not one). */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, (span) => (span.includes('](') ? '' : 'code'));
}

/** The anchors GitHub gives a file's headings (lowercased, punctuation dropped, spaces as `-`, repeats numbered). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const headings = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, title = ''] of headings.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = title
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Relative link targets of a file (`[text](target)`), without web and mail links. */
function relativeLinks(markdown: string): string[] {
  const targets = [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** The file (from the root) and heading a relative link from `from` points at. */
function resolve(from: string, target: string): { file: string; anchor: string | undefined } {
  const [file = '', anchor] = target.split('#', 2);
  return { file: file === '' ? from : path.posix.normalize(path.posix.join(path.posix.dirname(from), decodeURI(file))), anchor };
}

/** Every variable parseConfig asks the environment for (the zod schema reads each of its keys). */
function variablesRead(): Set<string> {
  const asked = new Set<string>();
  const note = (key: string | symbol): void => {
    if (typeof key === 'string') asked.add(key);
  };
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, key) => (note(key), undefined),
    has: (_target, key) => (note(key), false),
  });
  parseConfig(env);
  return new Set([...asked].filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name)));
}

/** The variables docs/configuration.md documents: the first cell of its table rows. */
function variablesDocumented(): string[] {
  return [...read('docs/configuration.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1] ?? '');
}

describe('docs/configuration.md', () => {
  it('documents, once each, exactly the variables the config schema reads', () => {
    const schema = variablesRead();
    const documented = variablesDocumented();
    expect(schema.size).toBeGreaterThan(15);
    expect(documented.filter((name, i) => documented.indexOf(name) !== i), 'documented twice').toEqual([]);
    expect([...schema].filter((name) => !documented.includes(name)).sort(), 'read by src/config.ts, missing from docs/configuration.md').toEqual([]);
    expect(documented.filter((name) => !schema.has(name)).sort(), 'in docs/configuration.md, not read by src/config.ts').toEqual([]);
  });
});

describe('links in README.md and docs/', () => {
  const files = markdownFiles();

  it('reach a file, and a heading of it when they name one', () => {
    const broken: string[] = [];
    for (const from of files) {
      for (const target of relativeLinks(read(from))) {
        const { file, anchor } = resolve(from, target);
        if (!existsSync(path.join(ROOT, file))) broken.push(`${from}: ${target} (no ${file})`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) {
          broken.push(`${from}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('reach every page of docs/ from README.md', () => {
    const reached = new Set(['README.md']);
    const queue = ['README.md'];
    for (let from = queue.shift(); from !== undefined; from = queue.shift()) {
      for (const target of relativeLinks(read(from))) {
        const { file } = resolve(from, target);
        if (file.endsWith('.md') && !reached.has(file) && existsSync(path.join(ROOT, file))) {
          reached.add(file);
          queue.push(file);
        }
      }
    }
    expect(files.filter((file) => !reached.has(file))).toEqual([]);
  });

  it('know the anchors GitHub makes', () => {
    expect([...anchorsOf('# A\n## Redis: one server, Sentinel or Cluster\n## The AI endpoint\'s limits\n## `HOST` and `PORT`\n## A\n```\n# not a heading\n```')]).toEqual([
      'a',
      'redis-one-server-sentinel-or-cluster',
      'the-ai-endpoints-limits',
      'host-and-port',
      'a-1',
    ]);
  });
});

describe('files named in docs/', () => {
  it('exist: a renamed or removed file leaves no page pointing at it', () => {
    const missing: string[] = [];
    for (const from of markdownFiles()) {
      for (const [, named = ''] of read(from).matchAll(/`((?:src|adapters|test|scripts)\/[\w./-]+)`/g)) {
        const file = named.replace(/[.:]+$/, '');
        if (/[<*{]/.test(file)) continue;
        if (!existsSync(path.join(ROOT, file))) missing.push(`${from}: ${file}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('the walk of one message (docs/architecture.md)', () => {
  const walk = read('docs/architecture.md').split('## The walk of one message')[1] ?? '';
  const steps = [...walk.matchAll(/^\d+\. \*\*[^*]*?: `([^`]+)`\.\*\*/gm)].map((m) => m[1] ?? '');

  it('is about a dozen steps, each naming the one file it runs in, each file once', () => {
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(steps.length).toBeLessThanOrEqual(14);
    expect([...walk.matchAll(/^\d+\. /gm)].length, 'every numbered step names its file').toBe(steps.length);
    expect(new Set(steps).size).toBe(steps.length);
    for (const file of steps) expect(existsSync(path.join(ROOT, file)), file).toBe(true);
  });
});

describe('README.md', () => {
  it('states the two commands: npm start, and npm test (CI runs it)', () => {
    const commands = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1]?.split('\n');
    expect(commands).toContain('npm start');
    expect(commands).toContain('npm test');
  });
});
