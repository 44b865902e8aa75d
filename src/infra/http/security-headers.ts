/**
 * Browser hardening on every answer of the HTTP server (issue #17). The default policy
 * forbids everything, which suits JSON, event streams and metrics; the pages replace it
 * with their own, which still allows no inline script and no framing.
 * https://developer.mozilla.org/docs/Web/HTTP/CSP
 */
import type { ServerResponse } from 'node:http';

/** Nothing may load, run or frame an answer that is not a page. */
export const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Set before any route answers; a route's own `content-security-policy` (a page's) takes precedence. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DEFAULT_CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
};

/** Puts the hardening headers on a response before its route writes it. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}
