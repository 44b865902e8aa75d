import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFetchError, FileTooLargeError } from '../../src/domain/media.js';
import { createGuardedDownloader, isPrivateAddress } from '../../src/infra/net/guarded-download.js';

/** A tiny file server on 127.0.0.1 with the routes the tests need. */
let server: Server;
let origin: string;
let hostPort: string;
let hits: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/file.ogg') {
      res.writeHead(200, { 'content-type': 'audio/ogg', 'content-length': 5 });
      return res.end('OggS!');
    }
    if (url.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'audio/ogg', 'content-length': 5000 });
      return res.end(Buffer.alloc(5000));
    }
    if (url.pathname === '/lying') {
      // No content-length: the cap has to hold while reading.
      res.writeHead(200, { 'content-type': 'audio/ogg' });
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
      return res.end();
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/file.ogg' });
      return res.end();
    }
    if (url.pathname === '/hang') return; // never answers
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  hostPort = `127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Resolves every name to the given address, like a DNS record would. */
function resolvingTo(address: string) {
  return ((_host: string, _options: unknown, callback: (e: null, a: { address: string; family: number }[]) => void) =>
    callback(null, [{ address, family: 4 }])) as never;
}

describe('guarded download', () => {
  it('downloads from a listed host and reports the type', async () => {
    const downloader = createGuardedDownloader({ allowed: [hostPort] });
    const file = await downloader.download(`${origin}/file.ogg?sig=1`, { maxBytes: 100 });
    expect(Buffer.from(file.bytes).toString()).toBe('OggS!');
    expect(file.mimeType).toBe('audio/ogg');
    expect(file.fileName).toBe('file.ogg');
    await downloader.close();
  });

  it('refuses a host that is not listed, without a request', async () => {
    hits = [];
    const downloader = createGuardedDownloader({ allowed: ['cdn.discordapp.com'] });
    const error = await downloader.download(`${origin}/file.ogg`, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as FileFetchError).retryable).toBe(false);
    expect(hits).toEqual([]);
    await downloader.close();
  });

  it('refuses a listed name that resolves to a private address (DNS rebinding)', async () => {
    hits = [];
    const port = hostPort.split(':')[1];
    const downloader = createGuardedDownloader({ allowed: ['files.example.com'], lookup: resolvingTo('127.0.0.1') });
    const error = await downloader.download(`http://files.example.com:${port}/file.ogg`, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as Error).message).toMatch(/private address/);
    expect(hits).toEqual([]);
    await downloader.close();
  });

  it('lets a trusted name reach a private address (an API root the operator configured)', async () => {
    const port = hostPort.split(':')[1];
    const downloader = createGuardedDownloader({ allowed: [], trusted: [`files.internal:${port}`], lookup: resolvingTo('127.0.0.1') });
    const file = await downloader.download(`http://files.internal:${port}/file.ogg`, { maxBytes: 100 });
    expect(Buffer.from(file.bytes).toString()).toBe('OggS!');
    await downloader.close();
  });

  it('checks every redirect against the list', async () => {
    const downloader = createGuardedDownloader({ allowed: [hostPort] });
    const followed = await downloader.download(`${origin}/redirect?to=/file.ogg`, { maxBytes: 100 });
    expect(Buffer.from(followed.bytes).toString()).toBe('OggS!');
    const error = await downloader
      .download(`${origin}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data')}`, { maxBytes: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as Error).message).toContain('169.254.169.254');
    await downloader.close();
  });

  it('refuses an IP literal in a private range unless it is listed', async () => {
    const downloader = createGuardedDownloader({ allowed: ['*.example.com', '10.0.0.1'] });
    for (const url of ['http://127.0.0.1/x', 'http://[::1]/x', 'http://192.168.1.1/x', 'file:///etc/passwd', 'http://user:pw@a.example.com/x']) {
      await expect(downloader.download(url, { maxBytes: 10 })).rejects.toBeInstanceOf(FileFetchError);
    }
    await downloader.close();
  });

  it('refuses a file over the cap before reading it, and while reading when the size is not declared', async () => {
    const downloader = createGuardedDownloader({ allowed: [hostPort] });
    await expect(downloader.download(`${origin}/big`, { maxBytes: 1000 })).rejects.toBeInstanceOf(FileTooLargeError);
    await expect(downloader.download(`${origin}/lying`, { maxBytes: 1000 })).rejects.toBeInstanceOf(FileTooLargeError);
    await downloader.close();
  });

  it('gives up after its time limit, retryable, and names the host but not the path', async () => {
    const downloader = createGuardedDownloader({ allowed: [hostPort], timeoutMs: 200 });
    const error = await downloader.download(`${origin}/hang?token=SECRET123`, { maxBytes: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileFetchError);
    expect((error as FileFetchError).retryable).toBe(true);
    expect((error as Error).message).not.toMatch(/SECRET123|hang/);
    const missing = await downloader.download(`${origin}/bot123:SECRET/missing`, { maxBytes: 100 }).catch((e: unknown) => e);
    expect((missing as Error).message).toBe(`download from 127.0.0.1 failed: HTTP 404`);
    await downloader.close();
  });

  it('knows private addresses', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['162.159.128.233', '2606:4700::6810:84e5', '8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });
});
