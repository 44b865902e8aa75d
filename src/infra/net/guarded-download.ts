/**
 * The one way Switchboard downloads a file from a URL (the Downloader port): only from
 * allowed hosts, never from a private, loopback or link-local address unless the
 * operator listed that address, with the size and the time capped.
 *
 * - Hosts are checked on the URL and again on every redirect (followed by hand, at most
 *   MAX_REDIRECTS).
 * - Names are resolved by our own lookup inside the connection, and the address that is
 *   checked is the address connected to, so DNS rebinding cannot slip a private address in.
 * - The size is checked on `content-length` before the body is read, and counted while
 *   reading, so a lying server cannot make us buffer more than the cap.
 * - Errors name the host, never the path or query (a Telegram file URL holds the token).
 * OWASP SSRF prevention: https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, errors as undiciErrors, request } from 'undici';
import { deadlineIn } from '../deadline.js';
import { FileFetchError, FileTooLargeError, type FileContent } from '../../domain/media.js';
import type { Downloader, FetchFileOptions } from '../../ports/index.js';

/** Redirects followed before giving up. */
const MAX_REDIRECTS = 3;
/** Default time for one whole download. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Addresses no download may reach unless the operator listed them. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, CGNAT, multicast and unspecified addresses (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface GuardedDownloaderOptions {
  /** `host`, `host:port`, `*.suffix` or an IP literal (with optional port). */
  readonly allowed: readonly string[];
  /** Hosts the operator configured as API roots: their addresses are not checked. */
  readonly trusted?: readonly string[];
  readonly timeoutMs?: number;
  /** Name resolution (tests); defaults to the system resolver. */
  readonly lookup?: typeof dnsLookup;
}

/** A Downloader, plus closing its connection pool. */
export interface GuardedDownloader extends Downloader {
  close(): Promise<void>;
}

/** Creates a guarded downloader for one set of hosts. */
export function createGuardedDownloader(options: GuardedDownloaderOptions): GuardedDownloader {
  const allowed = options.allowed.map(parseEntry);
  const trusted = (options.trusted ?? []).map(parseEntry);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const resolve = options.lookup ?? dnsLookup;

  const matches = (entries: readonly HostEntry[], url: URL): boolean => entries.some((entry) => entryMatches(entry, url));
  /** Hosts whose addresses are not checked: trusted ones, and IP literals listed explicitly. */
  const unchecked = new Set<string>();
  for (const entry of [...allowed, ...trusted]) if (isIP(entry.host) !== 0 || trusted.includes(entry)) unchecked.add(entry.host);

  // Resolution happens in the connection, so the address checked is the one connected to.
  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
      const usable = unchecked.has(host) ? list : list.filter((a) => !isPrivateAddress(a.address));
      const first = usable[0];
      if (first === undefined) {
        const refused = Object.assign(new Error(`${host} resolves only to private addresses`), { code: 'EPRIVATEADDRESS' });
        return callback(refused, '', 0);
      }
      if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      return callback(null, first.address, first.family);
    });
  };
  const agent = new Agent({ connect: { lookup: guardedLookup }, connections: 16 });

  const checkUrl = (url: URL): void => {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new FileFetchError(`refused a ${url.protocol} download`, false);
    if (url.username !== '' || url.password !== '') throw new FileFetchError(`refused a download with credentials in the URL from ${url.hostname}`, false);
    if (!matches(allowed, url) && !matches(trusted, url)) throw new FileFetchError(`refused a download from ${url.hostname}: not an allowed host`, false);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && !unchecked.has(host.toLowerCase()) && isPrivateAddress(host)) {
      throw new FileFetchError(`refused a download from ${host}: a private address`, false);
    }
  };

  return {
    async download(rawUrl: string, { maxBytes, signal }: FetchFileOptions): Promise<FileContent> {
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        throw new FileFetchError('refused a download: not a URL', false);
      }
      const deadline = deadlineIn(timeoutMs, signal);
      for (let redirects = 0; ; redirects++) {
        checkUrl(url);
        let response;
        try {
          response = await request(url, { method: 'GET', dispatcher: agent, signal: deadline.signal, headers: { accept: '*/*' } });
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          throw describeFailure(error, url, deadline.expired);
        }
        const { statusCode, headers, body } = response;
        if (statusCode >= 300 && statusCode < 400 && typeof headers.location === 'string') {
          await body.dump().catch(() => undefined);
          if (redirects >= MAX_REDIRECTS) throw new FileFetchError(`too many redirects from ${url.hostname}`, false);
          url = new URL(headers.location, url);
          continue;
        }
        if (statusCode < 200 || statusCode >= 300) {
          await body.dump().catch(() => undefined);
          throw new FileFetchError(`download from ${url.hostname} failed: HTTP ${statusCode}`, statusCode >= 500 || statusCode === 429 || statusCode === 408);
        }
        const declared = Number(headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          discard(body);
          throw new FileTooLargeError(declared, maxBytes);
        }
        const chunks: Buffer[] = [];
        let total = 0;
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            total += chunk.length;
            if (total > maxBytes) {
              discard(body);
              throw new FileTooLargeError(undefined, maxBytes);
            }
            chunks.push(chunk);
          }
        } catch (error) {
          if (error instanceof FileTooLargeError) throw error;
          if (signal?.aborted) throw signal.reason;
          throw describeFailure(error, url, deadline.expired);
        }
        const type = headers['content-type'];
        const mimeType = typeof type === 'string' ? type.split(';')[0]?.trim() : undefined;
        const fileName = decodeURIComponent(url.pathname.split('/').at(-1) ?? '') || undefined;
        return {
          bytes: new Uint8Array(Buffer.concat(chunks, total)),
          ...(mimeType ? { mimeType } : {}),
          ...(fileName ? { fileName } : {}),
        };
      }
    },
    close: () => agent.close(),
  };
}

/** Stops reading a body we do not want; the abort it causes is expected, not an error. */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

interface HostEntry {
  readonly host: string;
  readonly port: string | undefined;
  readonly wildcard: boolean;
}

function parseEntry(entry: string): HostEntry {
  const text = entry.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2], wildcard: false };
  if (isIP(text) === 6) return { host: text, port: undefined, wildcard: false };
  const [host = '', port] = text.split(':');
  return host.startsWith('*.') ? { host: host.slice(2), port, wildcard: true } : { host, port, wildcard: false };
}

function entryMatches(entry: HostEntry, url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (entry.port !== undefined && entry.port !== port) return false;
  return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;
}

/** A failure as a FileFetchError that names the host only. */
function describeFailure(error: unknown, url: URL, timedOut: boolean): FileFetchError {
  if (timedOut || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new FileFetchError(`download from ${url.hostname} timed out`, true);
  }
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code === 'EPRIVATEADDRESS') return new FileFetchError(`refused a download from ${url.hostname}: it resolves to a private address`, false);
  return new FileFetchError(`download from ${url.hostname} failed: ${code ?? 'network error'}`, true);
}
