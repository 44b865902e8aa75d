/**
 * The operator view's API: `GET /api/admin/snapshot` answers the queues' state (jobs by
 * kind and state, workers, recent failures) to a request that carries ADMIN_TOKEN as
 * `Authorization: Bearer <token>`. The token is only ever read from that header, never
 * from a URL, and is compared in constant time (the BearerCheck's doing). Without
 * ADMIN_TOKEN the adapter does not route here at all, so /admin is simply not found.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BearerCheck, Logger, Operations } from '../../src/ports/index.js';
import { sendJson } from '../../src/infra/http/json.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';

/** The realm in `WWW-Authenticate`, so a client knows which token is asked for. */
const REALM = 'switchboard-admin';

/** What the operator API needs. */
export interface AdminDeps {
  /** Checks ADMIN_TOKEN. */
  readonly check: BearerCheck;
  readonly operations: Operations;
  readonly log: Logger;
}

/** Answers the snapshot route. */
export interface AdminApi {
  snapshot(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** Creates the operator API. */
export function createAdminApi(deps: AdminDeps): AdminApi {
  const log = deps.log.child({ route: 'admin' });

  return {
    async snapshot(req, res) {
      const verdict = deps.check(req.headers.authorization);
      if (verdict !== 'ok') {
        // Never the header itself: a wrong token may be the right one mistyped.
        if (verdict === 'wrong') log.warn({ remoteAddress: req.socket.remoteAddress }, 'operator view: refused a wrong token');
        const challenge = verdict === 'wrong' ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
        sendError(res, 401, WEB_ERROR_CODES.UNAUTHORIZED, 'This needs the admin token (ADMIN_TOKEN) as "Authorization: Bearer <token>".', {
          'www-authenticate': challenge,
        });
        return;
      }
      let snapshot;
      try {
        snapshot = await deps.operations.snapshot();
      } catch (error) {
        log.error({ err: error }, 'operator view: could not read the queues');
        sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'Could not read the queues from Redis. The page tries again by itself.', {
          'retry-after': '5',
        });
        return;
      }
      sendJson(res, 200, snapshot);
    },
  };
}
