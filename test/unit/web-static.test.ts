/**
 * The playground's script is native ES modules without a build step (issue #15): every
 * module in adapters/web/public/app/ is listed and served as JavaScript (a browser runs a
 * module script only with a JavaScript MIME type), every import resolves to a served
 * path, and the page's mutable state lives in state.js alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticAssets, PLAYGROUND_FILES } from '../../adapters/web/web.static.js';

const PUBLIC_DIR = new URL('../../adapters/web/public/', import.meta.url);
const MODULE_DIR = 'app';
/** The entry module, loaded by index.html with `<script type="module">`. */
const ENTRY = '/app.js';

const read = (path: string): string => readFileSync(new URL(path.slice(1), PUBLIC_DIR), 'utf8');
const modulePaths = (): string[] =>
  readdirSync(new URL(`${MODULE_DIR}/`, PUBLIC_DIR))
    .filter((name) => name.endsWith('.js'))
    .map((name) => `/${MODULE_DIR}/${name}`);
/** The paths a module imports, resolved against its own. */
const importsOf = (path: string): string[] =>
  Array.from(read(path).matchAll(/^\s*import\s[^;]*?from\s+'([^']+)';/gm), (m) => posix.resolve(posix.dirname(path), m[1] ?? ''));

describe('the playground page’s modules', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const assets = createStaticAssets();
    server = createServer((req, res) => {
      void assets.serve(req.url ?? '/', res, req.method === 'HEAD').then((served) => {
        if (!served) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists every module of the folder, and no other', () => {
    const listed = [...PLAYGROUND_FILES].filter((path) => path.startsWith(`/${MODULE_DIR}/`)).sort();
    expect(listed).toEqual(modulePaths().sort());
    expect(PLAYGROUND_FILES.has('/')).toBe(true);
    expect(PLAYGROUND_FILES.has(ENTRY)).toBe(true);
  });

  it('loads the entry as a module script and imports only served modules', () => {
    expect(read('/index.html')).toContain(`<script type="module" src="${ENTRY}"></script>`);
    for (const path of [ENTRY, ...modulePaths()]) {
      for (const imported of importsOf(path)) expect(PLAYGROUND_FILES.has(imported), `${path} imports ${imported}`).toBe(true);
    }
    // Every module is reached from the entry: none is served but unused.
    const reached = new Set<string>();
    const walk = (path: string): void => {
      if (reached.has(path)) return;
      reached.add(path);
      for (const imported of importsOf(path)) walk(imported);
    };
    walk(ENTRY);
    expect([...reached].sort()).toEqual([ENTRY, ...modulePaths()].sort());
  });

  it('serves each module as JavaScript, not sniffed, revalidated on reload', async () => {
    for (const path of [ENTRY, ...modulePaths()]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(await res.text(), path).toBe(read(path));
    }
    expect((await fetch(`${base}/${MODULE_DIR}/no-such-module.js`)).status).toBe(404);
    expect((await fetch(`${base}/${MODULE_DIR}/`)).status).toBe(404);
  });

  it('keeps the mutable state in state.js: no other module declares a top-level let or var', () => {
    for (const path of [ENTRY, ...modulePaths()].filter((p) => p !== `/${MODULE_DIR}/state.js`)) {
      expect(read(path), path).not.toMatch(/^(?:let|var)\s/m);
    }
  });
});
