/**
 * Bearer tokens of the HTTP routes (the playground, /metrics, the operator view): the
 * header is parsed leniently (any token the configuration allows, not only RFC 6750's
 * b64token characters) and compared to the secret's SHA-256 digest, so every comparison
 * is of equal-length buffers and takes the same time whatever was sent.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { BearerCheck } from '../../ports/index.js';

/** `Bearer <token>`, the scheme case-insensitive (RFC 7235), surrounding blanks ignored. */
const BEARER = /^Bearer[ \t]+(\S(?:.*\S)?)[ \t]*$/i;

/** Creates the check of one configured token. */
export function createBearerCheck(token: string): BearerCheck {
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined || authorization === '') return 'missing';
    const presented = BEARER.exec(authorization)?.[1];
    if (presented === undefined) return 'wrong';
    return timingSafeEqual(digest(presented), expected) ? 'ok' : 'wrong';
  };
}

/** The `WWW-Authenticate` challenge of a refusal: which token is asked for, and whether the one sent was wrong. */
export function bearerChallenge(realm: string, verdict: 'missing' | 'wrong'): string {
  return verdict === 'wrong' ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
