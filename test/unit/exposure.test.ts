/**
 * The pure parts of issue #17: which bind addresses count as this machine only, the
 * Bearer check shared by the playground, /metrics and the operator view, and which
 * requests a browser sent from a page of another origin.
 */
import { describe, expect, it } from 'vitest';
import { isCrossOrigin } from '../../adapters/web/index.js';
import { createBearerCheck } from '../../src/infra/http/bearer.js';
import { isLoopbackHost } from '../../src/infra/http/loopback.js';

describe('isLoopbackHost', () => {
  it('is true for 127.0.0.0/8, ::1 in any spelling and localhost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });

  it('is false for every address, every other name, and nothing at all', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.2', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'fe80::1', 'example.com', 'localhost.example.com', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('createBearerCheck', () => {
  const token = 'tok-0123456789abcdef';
  const check = createBearerCheck(token);

  it('accepts the token as a Bearer token, the scheme in any case', () => {
    expect(check(`Bearer ${token}`)).toBe('ok');
    expect(check(`bearer  ${token} `)).toBe('ok');
  });

  it('tells a missing header from a wrong one', () => {
    expect(check(undefined)).toBe('missing');
    expect(check('')).toBe('missing');
    for (const header of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, token, 'Bearer ', `Bearer ${token.toUpperCase()}`]) {
      expect(check(header), header).toBe('wrong');
    }
  });
});

describe('isCrossOrigin', () => {
  it('lets a page of the same origin through, also behind a proxy that forwards the host', () => {
    expect(isCrossOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })).toBe(false);
    expect(isCrossOrigin({ host: 'Bot.Example.com', origin: 'https://bot.example.com' })).toBe(false);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', 'x-forwarded-host': 'bot.example.com', origin: 'https://bot.example.com' })).toBe(false);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin' })).toBe(false);
  });

  it('lets a request that no browser page sent through (curl, a script: no Origin, no Sec-Fetch-Site)', () => {
    expect(isCrossOrigin({ host: '127.0.0.1:8080' })).toBe(false);
    expect(isCrossOrigin({})).toBe(false);
  });

  it('refuses another origin, an opaque one and a cross-site fetch', () => {
    expect(isCrossOrigin({ host: '127.0.0.1:8080', origin: 'https://evil.example' })).toBe(true);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:9090' })).toBe(true);
    expect(isCrossOrigin({ host: 'bot.example.com', origin: 'https://bot.example.com.evil.example' })).toBe(true);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', origin: 'null' })).toBe(true);
    expect(isCrossOrigin({ origin: 'http://127.0.0.1:8080' })).toBe(true);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', 'sec-fetch-site': 'cross-site' })).toBe(true);
    expect(isCrossOrigin({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-site' })).toBe(true);
  });
});
