/**
 * Whether an address the HTTP server binds is reachable only from this machine. Anything
 * else (0.0.0.0, ::, a LAN address, a host name) counts as exposed: the playground then
 * needs PLAYGROUND_TOKEN and /metrics METRICS_TOKEN (issue #17).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Host names that resolve to the loopback interface on every system we run on. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', 'localhost.']);
/** IPv6 loopback, and 127.0.0.0/8 as an IPv4-mapped IPv6 address, in the WHATWG URL's canonical form. */
const IPV6_LOOPBACK = /^\[(?:::1|::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4})\]$/;

/** True for 127.0.0.0/8, ::1 and `localhost`; false for every other address or name, and for an empty one. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (LOOPBACK_NAMES.has(bare)) return true;
  if (isIPv4(bare)) return bare.startsWith('127.');
  // The URL parser writes every spelling of an IPv6 address one way (`0:0:0:0:0:0:0:1` → `[::1]`).
  if (isIPv6(bare)) return IPV6_LOOPBACK.test(new URL(`http://[${bare}]/`).hostname);
  return false;
}
