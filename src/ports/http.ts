/**
 * The service's HTTP side: readiness probes and Bearer checks.
 * One area of src/ports; index.ts re-exports every port.
 */
/** A readiness probe part, e.g. "redis" or "workers". */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

/** What a request's `Authorization` header was, against one configured Bearer token. */
export type BearerVerdict = 'ok' | 'missing' | 'wrong';

/**
 * Checks an `Authorization: Bearer <token>` header against one secret, in constant time;
 * the token is only ever read from that header, never from a URL.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export type BearerCheck = (authorization: string | undefined) => BearerVerdict;
