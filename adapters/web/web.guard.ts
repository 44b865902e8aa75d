/**
 * Who may use the playground (issue #17). On a loopback HOST without PLAYGROUND_TOKEN it
 * is the operator's own console: open, as before. With PLAYGROUND_TOKEN every API route
 * needs `Authorization: Bearer <token>` (the page itself loads without it and asks for
 * the token); the event stream too, which the page reads with fetch rather than
 * EventSource so the token travels in that header and never in a URL. On an exposed HOST
 * without the token the playground is off. Whatever the mode, a state-changing request
 * sent by a page of another origin is refused. The token-free console answers only to a
 * loopback name in `Host`: a hostile page whose own name an attacker re-points at
 * 127.0.0.1 (DNS rebinding) is same-origin with it, so the `Origin` check alone would let
 * it spend the operator's API key; its `Host` still names the attacker's domain.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1 · https://fetch.spec.whatwg.org/#origin-header
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { BearerCheck, Logger } from '../../src/ports/index.js';
import { isLoopbackHost } from '../../src/infra/http/loopback.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';

/** The realm in `WWW-Authenticate`, so a client knows which token is asked for. */
const REALM = 'switchboard-playground';
/** `Sec-Fetch-Site` values of a request that no other site made. */
const OWN_SITE: ReadonlySet<string> = new Set(['same-origin', 'none']);

/** How the playground is reached, decided once at start from HOST and PLAYGROUND_TOKEN. */
export type PlaygroundAccess =
  /** Loopback without a token: the operator's own, token-free and without limits. */
  | { readonly mode: 'open' }
  /** PLAYGROUND_TOKEN set: every API call carries it; limits count its holder. */
  | { readonly mode: 'token'; readonly check: BearerCheck }
  /** Exposed without a token: every playground route is not found. */
  | { readonly mode: 'off' };

/** Guards one adapter's playground routes. */
export interface PlaygroundGuard {
  /**
   * Refuses a request that may not reach a playground API route: from another origin
   * when it changes something, or without the token when one is required. True when it
   * answered (refused); false to go on.
   */
  refuse(req: IncomingMessage, res: ServerResponse, changes: boolean): boolean;
}

/** Creates the guard of `access` (not used when the playground is off). */
export function createPlaygroundGuard(access: PlaygroundAccess, log: Logger): PlaygroundGuard {
  return {
    refuse(req, res, changes) {
      // What a refused change sent is not read: it must not be parsed as a next request.
      const close: Record<string, string> = changes ? { connection: 'close' } : {};
      if (access.mode === 'open' && !isLoopbackName(req.headers.host)) {
        log.warn({ host: req.headers.host, remoteAddress: req.socket.remoteAddress }, 'playground: refused a request for a host name that is not loopback');
        sendError(res, 403, WEB_ERROR_CODES.HOST_NOT_ALLOWED, 'Without PLAYGROUND_TOKEN the playground answers only at localhost or 127.0.0.1.', close);
        return true;
      }
      if (changes && isCrossOrigin(req.headers)) {
        log.warn({ origin: req.headers.origin, remoteAddress: req.socket.remoteAddress }, 'playground: refused a request from another origin');
        sendError(res, 403, WEB_ERROR_CODES.CROSS_ORIGIN, 'The playground takes messages and files only from its own page, not from another site.', close);
        return true;
      }
      if (access.mode !== 'token') return false;
      const verdict = access.check(req.headers.authorization);
      if (verdict === 'ok') return false;
      // Never the header itself: a wrong token may be the right one mistyped.
      if (verdict === 'wrong') log.warn({ remoteAddress: req.socket.remoteAddress }, 'playground: refused a wrong token');
      sendError(res, 401, WEB_ERROR_CODES.UNAUTHORIZED, 'This playground needs its token (PLAYGROUND_TOKEN) as "Authorization: Bearer <token>".', {
        'www-authenticate': verdict === 'wrong' ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`,
        ...close,
      });
      return true;
    },
  };
}

/**
 * Whether a browser sent this request from a page of another origin. Browsers send
 * `Origin` with every POST; it must name the host the request was sent to (`Host`, or
 * `X-Forwarded-Host` behind a proxy: a page cannot set either on a cross-site request
 * without a CORS preflight, which the playground never grants). Without `Origin`,
 * `Sec-Fetch-Site` decides; a request with neither is not a browser's (curl, a script)
 * and carries its own credentials.
 */
export function isCrossOrigin(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      host = new URL(origin).host.toLowerCase();
    } catch {
      // `null` (a sandboxed frame, a file) or garbage: no origin of ours.
      return true;
    }
    if (host === '') return true;
    return !hostsOf(headers).includes(host);
  }
  const site = headers['sec-fetch-site'];
  return typeof site === 'string' && !OWN_SITE.has(site.toLowerCase());
}

/** The hosts a request says it was sent to, lower-cased. */
function hostsOf(headers: IncomingHttpHeaders): string[] {
  const forwarded = headers['x-forwarded-host'];
  const listed = (Array.isArray(forwarded) ? forwarded : [forwarded ?? '']).flatMap((value) => value.split(','));
  return [headers.host ?? '', ...listed].map((host) => host.trim().toLowerCase()).filter((host) => host !== '');
}

/**
 * Whether a `Host` header names this machine's loopback: what `isLoopbackHost` (the bind
 * address's rule) accepts, or a name under `localhost`, with any port. A request without
 * `Host` (HTTP/1.0, no browser sends one) is let through.
 */
function isLoopbackName(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  const name = host.trim().toLowerCase().replace(/:\d+$/, '');
  return name.endsWith('.localhost') || isLoopbackHost(name);
}
