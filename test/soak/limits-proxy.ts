/**
 * A reverse proxy on 127.0.0.1 that enforces rate limits in front of a platform fake, for
 * the limits the fake does not enforce itself: Telegram's global 30 messages a second
 * (test/fakes/telegram.ts enforces the per-chat and per-group ones) and Discord's global
 * 50 requests a second and per-channel message buckets (test/fakes/discord.ts answers 429
 * only on demand). A request over a limit gets the platform's own 429, is not forwarded
 * and is counted; every other request, long polls included, is passed through as is.
 * https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
 * https://discord.com/developers/docs/topics/rate-limits
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const HOST = '127.0.0.1';
/**
 * Requests reach the proxy a few ms after the service's limiter counted them, unevenly,
 * so a window is this much shorter than the limit's (as FLOOD_TOLERANCE_MS in the
 * Telegram fake): only a real excess is refused.
 */
export const PROXY_TOLERANCE_MS = 100;

/** At most `max` requests under `key` in any `perMs`. */
export interface ProxyLimit {
  readonly key: string;
  readonly max: number;
  readonly perMs: number;
}

export interface LimitsProxyOptions {
  /** The fake's origin, e.g. http://127.0.0.1:1234. */
  readonly target: string;
  /** The limits a request counts against (none: passed through uncounted). */
  readonly limitsOf: (method: string, path: string) => readonly ProxyLimit[];
  /** Writes the platform's 429 for a request that must wait `retryAfterMs`. */
  readonly refuse: (res: ServerResponse, retryAfterMs: number, limit: ProxyLimit) => void;
}

export interface LimitsProxy {
  readonly url: string;
  /** 429s answered, by limit key prefix (the part before the first `:`). */
  readonly refused: Map<string, number>;
  /** Every request refused, for the report. */
  readonly refusals: Array<{ readonly at: number; readonly method: string; readonly path: string; readonly key: string }>;
  /** When each request counted against some limit was passed on. */
  readonly forwarded: number[];
  /** The same requests: method and path, in order. */
  readonly forwardedRequests: string[];
  stop(): Promise<void>;
}

/** Starts the proxy on a free port. */
export async function startLimitsProxy(options: LimitsProxyOptions): Promise<LimitsProxy> {
  const target = new URL(options.target);
  const logs = new Map<string, number[]>();
  const proxy: LimitsProxy = { url: '', refused: new Map(), refusals: [], forwarded: [], forwardedRequests: [], stop: async () => undefined };

  const overLimit = (limits: readonly ProxyLimit[], now: number): { limit: ProxyLimit; waitMs: number } | undefined => {
    for (const limit of limits) {
      const window = limit.perMs - PROXY_TOLERANCE_MS;
      const times = (logs.get(limit.key) ?? []).filter((t) => t > now - window);
      logs.set(limit.key, times);
      if (times.length >= limit.max) return { limit, waitMs: times[0]! + window - now };
    }
    return undefined;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const limits = options.limitsOf(req.method ?? 'GET', path);
    if (limits.length > 0) {
      const now = Date.now();
      const over = overLimit(limits, now);
      if (over) {
        const kind = over.limit.key.split(':')[0] ?? over.limit.key;
        proxy.refused.set(kind, (proxy.refused.get(kind) ?? 0) + 1);
        proxy.refusals.push({ at: now, method: req.method ?? '', path, key: over.limit.key });
        req.resume();
        options.refuse(res, Math.max(1, over.waitMs), over.limit);
        return;
      }
      proxy.forwarded.push(now);
      proxy.forwardedRequests.push(`${req.method} ${path}`);
      for (const limit of limits) logs.get(limit.key)!.push(now);
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // A client that gives up (a long poll closed on stop) ends the upstream request too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://${HOST}:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Methods that post or change a message: what Telegram's flood limits count (as the Telegram fake does). */
const TELEGRAM_COUNTED = new Set(['sendMessage', 'editMessageText', 'sendPhoto', 'sendDocument']);

/** Telegram's global limit: about 30 messages a second across all chats. */
export function telegramGlobalLimits(method: string, path: string): ProxyLimit[] {
  const name = /^\/bot[^/]+\/([A-Za-z]+)$/.exec(path)?.[1];
  return method === 'POST' && name !== undefined && TELEGRAM_COUNTED.has(name) ? [{ key: 'global:telegram', max: 30, perMs: 1_000 }] : [];
}

/** Telegram's 429: https://core.telegram.org/api/errors#420-flood */
export function telegramRefusal(res: ServerResponse, retryAfterMs: number): void {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const body = JSON.stringify({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } });
  res.writeHead(429, { 'content-type': 'application/json' }).end(body);
}

/**
 * Discord's global 50 requests a second per bot (interaction endpoints are exempt), and
 * each channel's message-create and message-edit buckets (about five per five seconds).
 */
export function discordLimits(method: string, path: string): ProxyLimit[] {
  const rest = /^\/api\/v\d+(\/.*)$/.exec(path)?.[1];
  if (rest === undefined || rest.startsWith('/interactions/') || rest.startsWith('/webhooks/')) return [];
  const limits: ProxyLimit[] = [{ key: 'global:discord', max: 50, perMs: 1_000 }];
  const channel = /^\/channels\/(\d+)\/messages(\/\d+)?$/.exec(rest);
  if (channel && method === 'POST' && channel[2] === undefined) limits.push({ key: `channel:${channel[1]}:send`, max: 5, perMs: 5_000 });
  if (channel && method === 'PATCH' && channel[2] !== undefined) limits.push({ key: `channel:${channel[1]}:edit`, max: 5, perMs: 5_000 });
  return limits;
}

/** Discord's 429: https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit */
export function discordRefusal(res: ServerResponse, retryAfterMs: number, limit: ProxyLimit): void {
  const global = limit.key.startsWith('global:');
  const seconds = retryAfterMs / 1000;
  res
    .writeHead(429, {
      'content-type': 'application/json',
      'retry-after': String(Math.ceil(seconds)),
      'x-ratelimit-scope': global ? 'global' : 'user',
      ...(global ? { 'x-ratelimit-global': 'true' } : { 'x-ratelimit-bucket': limit.key, 'x-ratelimit-limit': String(limit.max), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': seconds.toFixed(3) }),
    })
    .end(JSON.stringify({ message: 'You are being rate limited.', retry_after: seconds, global }));
}

/** What a proxy saw since `since` (ms since the epoch): for one wave's report. */
export interface ProxyStats {
  /** 429s answered, by limit kind (global, channel). */
  readonly refused: Record<string, number>;
  /** The first few refusals: when (ms after `since`), what, which limit, and how many went through in the second before. */
  readonly refusals: ReadonlyArray<{ readonly atMs: number; readonly request: string; readonly key: string; readonly inLastSecond: number }>;
  /** Most counted requests passed on within any window the proxy judges by (a second less its tolerance). */
  readonly busiest: number;
  /** The proxy process's longest event-loop stall (its arrival times are this exact). */
  readonly maxLoopDelayMs: number;
}

/** Most of `times` (ms, ascending) within any window of `windowMs`. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (times[i]! - times[j]! >= windowMs) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

const shortIds = (text: string): string => text.replace(/\d{12,}/g, (id) => `…${id.slice(-3)}`);

/** The stats of `proxy` since `since`. */
export function proxyStats(proxy: LimitsProxy, since: number, maxLoopDelayMs: number): ProxyStats {
  const refusals = proxy.refusals.filter((r) => r.at >= since);
  const refused: Record<string, number> = {};
  for (const r of refusals) {
    const kind = r.key.split(':')[0] ?? r.key;
    refused[kind] = (refused[kind] ?? 0) + 1;
  }
  return {
    refused,
    refusals: refusals.slice(0, 5).map((r) => ({
      atMs: r.at - since,
      request: `${r.method} ${shortIds(r.path)}`,
      key: shortIds(r.key),
      inLastSecond: proxy.forwarded.filter((t) => t > r.at - 1_000 && t <= r.at).length,
    })),
    busiest: busiestWindow(proxy.forwarded.filter((t) => t >= since), 1_000 - PROXY_TOLERANCE_MS),
    maxLoopDelayMs,
  };
}
