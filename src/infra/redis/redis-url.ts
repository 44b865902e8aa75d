/**
 * REDIS_URL forms and how ioredis connects to each:
 * - `redis://[user:password@]host:port[/db]` and `rediss://…` (TLS): one server;
 * - `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master name>[/<db>]`:
 *   ioredis asks the Sentinels (port 26379 by default) where the master is and follows
 *   failovers; user and password are the master's;
 * - `redis+cluster://[[user]:password@]host[:port][,host[:port]…]`: a Redis Cluster,
 *   discovered from these seed nodes. BullMQ then needs a hash-tagged QUEUE_PREFIX such
 *   as `{sb}` (config checks it), which puts every key of a deployment in one slot.
 * https://github.com/redis/ioredis#sentinel  https://github.com/redis/ioredis#cluster
 * https://docs.bullmq.io/bull/patterns/redis-cluster
 */
import type { RedisOptions } from 'ioredis';

const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;

/** A parsed REDIS_URL. */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly options: RedisOptions }
  | { readonly kind: 'cluster'; readonly nodes: ReadonlyArray<{ host: string; port: number }>; readonly options: RedisOptions };

/* scheme://[user[:password]@]hosts[/path] — WHATWG URL rejects `h1:1,h2:2` as a host, so these forms are split by hand. */
const MULTI_HOST = /^redis\+(sentinel|cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/]+?)(?:\/([^/?]*)(?:\/(\d+))?)?\/?$/;

/** Parses REDIS_URL; throws a TypeError naming the expected form. */
export function parseRedisUrl(url: string): RedisTarget {
  if (!url.startsWith('redis+sentinel://') && !url.startsWith('redis+cluster://')) return { kind: 'url', url };
  const match = MULTI_HOST.exec(url);
  if (!match) throw new TypeError('REDIS_URL: expected redis+sentinel://[:password@]host[:port][,host[:port]…]/<master name> or redis+cluster://host[:port][,host[:port]…]');
  const [, scheme, username, password, hosts = '', name, db] = match;
  const auth: RedisOptions = {
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(username ? { username: decodeURIComponent(username) } : {}),
  };
  const nodes = hosts.split(',').map((hostPort) => {
    const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort.trim());
    if (!hp) throw new TypeError(`REDIS_URL: bad address ${JSON.stringify(hostPort)}`);
    return { host: (hp[1] ?? '').replace(/^\[|\]$/g, ''), port: hp[2] ? Number(hp[2]) : scheme === 'sentinel' ? SENTINEL_PORT : REDIS_PORT };
  });
  if (scheme === 'cluster') return { kind: 'cluster', nodes, options: auth };
  if (!name) throw new TypeError('REDIS_URL: a Sentinel URL ends with /<master name>');
  return { kind: 'sentinel', options: { sentinels: nodes, name: decodeURIComponent(name), ...(db === undefined ? {} : { db: Number(db) }), ...auth } };
}

/** The password in a REDIS_URL of any form, for scrubbing logs. */
export function redisPasswordOf(url: string): string | undefined {
  try {
    const target = parseRedisUrl(url);
    if (target.kind !== 'url') return target.options.password;
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
