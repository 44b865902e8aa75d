/**
 * The playground page's files and the operator page's (/admin), read once from
 * `public/` next to this module and served from memory. They are small, and `no-cache`
 * makes a reload pick up a changed file after a restart. The playground's script is
 * native ES modules (no build step): `/app.js` imports the ones under `/app/`, each
 * listed here (a test keeps the list and the folder in step).
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Where the page lives, relative to this module. */
const PUBLIC_DIR = new URL('./public/', import.meta.url);

/** The pages keep to their own origin: no inline script, no foreign hosts; `blob:` is the user's own recording or photo before upload. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; media-src blob:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A browser runs a module script only when it is served with a JavaScript MIME type. */
const JAVASCRIPT = 'text/javascript; charset=utf-8';

/** The modules `app.js` imports, in `public/app/`. */
const PLAYGROUND_MODULES: readonly string[] = [
  'channel-list.js',
  'channel-view.js',
  'composer.js',
  'dom.js',
  'format.js',
  'markdown.js',
  'messages.js',
  'recorder.js',
  'session.js',
  'sse.js',
  'state.js',
  'status.js',
  'storage.js',
  'transport.js',
];

/** The playground page's own paths (its stylesheet aside, which /admin shares): off with the playground. */
export const PLAYGROUND_FILES: ReadonlySet<string> = new Set(['/', '/app.js', ...PLAYGROUND_MODULES.map((name) => `/app/${name}`)]);

const ASSETS: ReadonlyMap<string, { readonly file: string; readonly type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/app.js', { file: 'app.js', type: JAVASCRIPT }],
  ...PLAYGROUND_MODULES.map((name) => [`/app/${name}`, { file: `app/${name}`, type: JAVASCRIPT }] as const),
  ['/style.css', { file: 'style.css', type: 'text/css; charset=utf-8' }],
  ['/admin', { file: 'admin.html', type: 'text/html; charset=utf-8' }],
  ['/admin.js', { file: 'admin.js', type: JAVASCRIPT }],
  ['/admin.css', { file: 'admin.css', type: 'text/css; charset=utf-8' }],
]);

/** Serves the page's static files. */
export interface StaticAssets {
  /** True when `pathname` is one of the files (and it was served). */
  serve(pathname: string, res: ServerResponse, headOnly: boolean): Promise<boolean>;
}

/** Creates the in-memory file server; files are read on first request. */
export function createStaticAssets(): StaticAssets {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (file: string): Promise<Buffer> => {
    let content = cache.get(file);
    if (content === undefined) {
      content = readFile(new URL(file, PUBLIC_DIR));
      // A failed read (file missing) is retried on the next request, not cached.
      content.catch(() => cache.delete(file));
      cache.set(file, content);
    }
    return content;
  };

  return {
    async serve(pathname, res, headOnly) {
      const asset = ASSETS.get(pathname);
      if (asset === undefined) return false;
      const body = await load(asset.file);
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': body.length,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        ...(asset.file.endsWith('.html') ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
      });
      res.end(headOnly ? undefined : body);
      return true;
    },
  };
}
