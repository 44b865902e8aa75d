import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { AiApiError, AiNetworkError, AiStreamError, AiTimeoutError, ERROR_CODES, errorCodeOf, isRetryable } from '../../src/domain/errors.js';
import { FAILURE_NOTICES } from '../../src/domain/replies.js';
import { WEB_ERROR_CODES } from '../../adapters/web/index.js';

describe('error codes', () => {
  it('are documented in docs/architecture.md with the exact sentence users read', () => {
    const docs = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    for (const code of Object.values(ERROR_CODES)) {
      expect(docs, code).toContain(`| \`${code}\` | ${FAILURE_NOTICES[code]} |`);
    }
  });

  it('of the playground API are all documented in docs/playground.md', () => {
    const docs = readFileSync(new URL('../../docs/playground.md', import.meta.url), 'utf8');
    for (const code of Object.values(WEB_ERROR_CODES)) expect(docs, code).toMatch(new RegExp(`\\| \`${code}\` \\| \\d{3} \\|`));
  });

  it('map each failure to the side that failed', () => {
    const api = (status: number) => new AiApiError('x', status, undefined, undefined, undefined);
    expect(errorCodeOf(api(429))).toBe('upstream_rate_limited');
    expect(errorCodeOf(api(503))).toBe('upstream_unavailable');
    expect(errorCodeOf(api(400))).toBe('upstream_refused');
    expect(errorCodeOf(new AiTimeoutError('x'))).toBe('upstream_timeout');
    expect(errorCodeOf(new AiNetworkError('x'))).toBe('upstream_network');
    expect(errorCodeOf(new AiStreamError('x'))).toBe('stream_interrupted');
    expect(errorCodeOf(new Error('bug'))).toBe('internal');
    expect([408, 409, 429, 500, 502].map((s) => isRetryable(api(s)))).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 422].map((s) => isRetryable(api(s)))).toEqual([false, false, false, false, false]);
    expect(isRetryable(new Error('bug'))).toBe(false);
  });
});
