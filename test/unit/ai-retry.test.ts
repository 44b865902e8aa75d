/**
 * The AI client's retry policy, as pure functions with injected time and randomness.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import { describe, expect, it } from 'vitest';
import { AiApiError, AiNetworkError, AiStreamError, AiTimeoutError } from '../../src/domain/errors.js';
import {
  DEFAULT_MAX_RETRIES,
  parseRetryAfterMs,
  retryDelayMs,
  shouldRetryError,
  shouldRetryResponse,
} from '../../src/infra/ai/retry.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('shouldRetryResponse', () => {
  it.each([
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [599, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
  ])('status %i → %s', (status, expected) => {
    expect(shouldRetryResponse(status, {})).toBe(expected);
  });

  it('obeys x-should-retry either way', () => {
    expect(shouldRetryResponse(400, { 'x-should-retry': 'true' })).toBe(true);
    expect(shouldRetryResponse(503, { 'x-should-retry': 'false' })).toBe(false);
    expect(shouldRetryResponse(429, { 'x-should-retry': 'maybe' })).toBe(true);
  });
});

describe('shouldRetryError', () => {
  it('retries network failures and timeouts only', () => {
    expect(shouldRetryError(new AiNetworkError('reset'))).toBe(true);
    expect(shouldRetryError(new AiTimeoutError('slow'))).toBe(true);
    expect(shouldRetryError(new AiStreamError('cut'))).toBe(false);
    expect(shouldRetryError(new AiApiError('bad', 500, undefined, undefined, undefined))).toBe(false);
    expect(shouldRetryError(new TypeError('bug'))).toBe(false);
  });
});

describe('parseRetryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    expect(parseRetryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }, NOW)).toBe(1500);
    expect(parseRetryAfterMs({ 'retry-after': '2' }, NOW)).toBe(2000);
    expect(parseRetryAfterMs({ 'retry-after': '0.5' }, NOW)).toBe(500);
    expect(parseRetryAfterMs({ 'retry-after': new Date(NOW + 3000).toUTCString() }, NOW)).toBe(3000);
    expect(parseRetryAfterMs({ 'retry-after': new Date(NOW - 3000).toUTCString() }, NOW)).toBe(-3000);
  });

  it('falls through unparsable values and reports none when absent', () => {
    expect(parseRetryAfterMs({ 'retry-after-ms': 'soon', 'retry-after': '4' }, NOW)).toBe(4000);
    expect(parseRetryAfterMs({ 'retry-after': 'whenever' }, NOW)).toBeUndefined();
    expect(parseRetryAfterMs({ 'retry-after-ms': '' }, NOW)).toBeUndefined();
    expect(parseRetryAfterMs({}, NOW)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, NOW)).toBeUndefined();
  });

  it('reads the first of repeated headers', () => {
    expect(parseRetryAfterMs({ 'retry-after': ['3', '7'] }, NOW)).toBe(3000);
  });
});

describe('retryDelayMs', () => {
  const noJitter = () => 0;
  const fullJitter = () => 0.999_999;

  it('backs off 0.5 s, 1 s, 2 s, 4 s, then caps at 8 s', () => {
    const delays = [0, 1, 2, 3, 4, 5, 10].map((retry) => retryDelayMs({ retry, random: noJitter, now: NOW }));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('jitters down to 75% of the backoff, never up', () => {
    expect(retryDelayMs({ retry: 0, random: fullJitter, now: NOW })).toBeCloseTo(375, 0);
    expect(retryDelayMs({ retry: 1, random: () => 0.5, now: NOW })).toBe(875);
    for (let i = 0; i < 200; i++) {
      const ms = retryDelayMs({ retry: 2, now: NOW });
      expect(ms).toBeGreaterThan(1500);
      expect(ms).toBeLessThanOrEqual(2000);
    }
  });

  it('uses the server-requested delay when it is within [0, 60 s)', () => {
    expect(retryDelayMs({ retry: 3, headers: { 'retry-after-ms': '250' }, random: noJitter, now: NOW })).toBe(250);
    expect(retryDelayMs({ retry: 0, headers: { 'retry-after': '20' }, random: noJitter, now: NOW })).toBe(20_000);
    expect(retryDelayMs({ retry: 0, headers: { 'retry-after': '0' }, random: noJitter, now: NOW })).toBe(0);
    const date = new Date(NOW + 5000).toUTCString();
    expect(retryDelayMs({ retry: 0, headers: { 'retry-after': date }, random: noJitter, now: NOW })).toBe(5000);
  });

  it('falls back to backoff when the server asks for 60 s or more, or the past', () => {
    expect(retryDelayMs({ retry: 1, headers: { 'retry-after': '60' }, random: noJitter, now: NOW })).toBe(1000);
    expect(retryDelayMs({ retry: 1, headers: { 'retry-after-ms': '600000' }, random: noJitter, now: NOW })).toBe(1000);
    expect(retryDelayMs({ retry: 1, headers: { 'retry-after-ms': '-5' }, random: noJitter, now: NOW })).toBe(1000);
    const past = new Date(NOW - 5000).toUTCString();
    expect(retryDelayMs({ retry: 0, headers: { 'retry-after': past }, random: noJitter, now: NOW })).toBe(500);
  });

  it('defaults to two retries', () => {
    expect(DEFAULT_MAX_RETRIES).toBe(2);
  });
});
