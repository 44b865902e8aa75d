/** Access to the suite's throwaway Redis, with a unique prefix per test. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** The URL of the redis-server started by test/support/global-setup.ts. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A prefix no other test uses, for keys and BullMQ queue prefixes. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}
