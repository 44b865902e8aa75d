import { describe, expect, it } from 'vitest';
import { estimateTokens, parseDurationMs, pauseAfter, readRateHeaders } from '../../src/infra/ai/rate-headers.js';

describe('rate-limit headers', () => {
  it('reads the durations the API writes', () => {
    expect(parseDurationMs('6m0s')).toBe(360_000);
    expect(parseDurationMs('1.5s')).toBe(1_500);
    expect(parseDurationMs('20ms')).toBe(20);
    expect(parseDurationMs('1h2m3s')).toBe(3_723_000);
    expect(parseDurationMs('2')).toBe(2_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
    expect(parseDurationMs(undefined)).toBeUndefined();
  });

  it('reads both budgets, leaving out what was not sent', () => {
    expect(
      readRateHeaders({
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '59',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': 'lots',
      }),
    ).toEqual({ requests: { limit: 60, remaining: 59, resetMs: 1000 }, tokens: {} });
  });

  it('holds nothing while budgets remain; until one request refills when the requests are spent', () => {
    const budget = { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-reset-requests': '60s' };
    expect(pauseAfter(200, { ...budget, 'x-ratelimit-remaining-requests': '3' }, 100, 0)).toBe(0);
    expect(pauseAfter(200, { ...budget, 'x-ratelimit-remaining-requests': '0' }, 100, 0)).toBe(1_000);
    expect(pauseAfter(200, {}, 100, 0)).toBe(0);
  });

  it('holds until the tokens of the next request have refilled', () => {
    const headers = { 'x-ratelimit-limit-tokens': '10000', 'x-ratelimit-remaining-tokens': '500', 'x-ratelimit-reset-tokens': '57s' };
    // 500 of the 1,500 missing tokens back: 57 s × 1000 / 9500.
    expect(pauseAfter(200, headers, 1_500, 0)).toBeCloseTo(6_000, 0);
    expect(pauseAfter(200, headers, 400, 0)).toBe(0);
  });

  it('on a 429 waits what the server asked, else what the budgets say, else backs off by 429s in a row', () => {
    expect(pauseAfter(429, { 'retry-after-ms': '1500', 'retry-after': '9' }, 0, 1)).toBe(1_500);
    expect(pauseAfter(429, { 'retry-after': '3' }, 0, 1)).toBe(3_000);
    expect(pauseAfter(429, { 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6s' }, 0, 1)).toBe(600);
    expect([1, 2, 3, 10].map((n) => pauseAfter(429, {}, 0, n))).toEqual([1_000, 2_000, 4_000, 30_000]);
    // A server asking for an hour is held to a minute.
    expect(pauseAfter(429, { 'retry-after': '3600' }, 0, 1)).toBe(60_000);
  });

  it('counts a request’s tokens as the endpoint does: the prompt by its characters, plus the completion it may write', () => {
    const chat = { messages: [{ role: 'user', content: 'x'.repeat(400) }, { role: 'user', content: [{ type: 'text', text: 'y'.repeat(40) }] }], max_completion_tokens: 1024 };
    expect(estimateTokens(chat)).toBe(110 + 1024);
    expect(estimateTokens({ input: 'z'.repeat(8) })).toBe(2);
    expect(estimateTokens(undefined)).toBe(0);
  });
});
