/**
 * Error classes shared across layers. Each says which side failed (STYLE.md): the
 * upstream API refused, the network failed, the call timed out, or our own code threw.
 * Workers branch on these classes; infrastructure throws them.
 */

/** Stable codes for the failures users and operators see; documented in docs/architecture.md. */
export const ERROR_CODES = {
  UPSTREAM_RATE_LIMITED: 'upstream_rate_limited',
  UPSTREAM_UNAVAILABLE: 'upstream_unavailable',
  UPSTREAM_REFUSED: 'upstream_refused',
  UPSTREAM_TIMEOUT: 'upstream_timeout',
  UPSTREAM_NETWORK: 'upstream_network',
  STREAM_INTERRUPTED: 'stream_interrupted',
  INTERNAL: 'internal',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** The AI endpoint answered with an error status. */
export class AiApiError extends Error {
  override readonly name = 'AiApiError';
  constructor(
    message: string,
    readonly status: number,
    /** The `error.code` from the body, e.g. `rate_limit_exceeded`, if any. */
    readonly apiCode: string | undefined,
    /** The `error.type` from the body, e.g. `invalid_request_error`, if any. */
    readonly apiType: string | undefined,
    /** Milliseconds the server asked us to wait (retry-after-ms / retry-after), if any. */
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown; param?: string },
  ) {
    super(message, options);
    this.apiParam = options?.param;
  }

  /** The `error.param` from the body, e.g. `model` or `image`: which parameter the API refused, if it said. */
  readonly apiParam: string | undefined;

  /** 408, 409, 429 and 5xx are worth another try (openai-node's policy), but not a spent quota. */
  get retryable(): boolean {
    if (this.quotaExhausted) return false;
    return this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }

  /** A 429 that no wait cures: the account is out of credit (`insufficient_quota`). */
  get quotaExhausted(): boolean {
    return this.status === 429 && this.apiCode === 'insufficient_quota';
  }
}

/** The connection to the AI endpoint failed (DNS, refused, reset) before an answer. */
export class AiNetworkError extends Error {
  override readonly name = 'AiNetworkError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The AI endpoint did not answer (or stream) within the configured time. */
export class AiTimeoutError extends Error {
  override readonly name = 'AiTimeoutError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A stream that had started was cut before `[DONE]`; never retried inside the client. */
export class AiStreamError extends Error {
  override readonly name = 'AiStreamError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Any of the AI client's errors. */
export type AiError = AiApiError | AiNetworkError | AiTimeoutError | AiStreamError;

/** True for errors a later attempt may cure. */
export function isRetryable(error: unknown): boolean {
  return (
    (error instanceof AiApiError && error.retryable) ||
    error instanceof AiNetworkError ||
    error instanceof AiTimeoutError ||
    error instanceof AiStreamError
  );
}

/** Maps an error to the stable code users and metrics see. */
export function errorCodeOf(error: unknown): ErrorCode {
  if (error instanceof AiApiError) {
    // Out of credit is the operator's to fix, not a matter of waiting a minute.
    if (error.quotaExhausted) return ERROR_CODES.UPSTREAM_UNAVAILABLE;
    if (error.status === 429) return ERROR_CODES.UPSTREAM_RATE_LIMITED;
    if (error.status >= 500 || error.status === 408 || error.status === 409) return ERROR_CODES.UPSTREAM_UNAVAILABLE;
    return ERROR_CODES.UPSTREAM_REFUSED;
  }
  if (error instanceof AiTimeoutError) return ERROR_CODES.UPSTREAM_TIMEOUT;
  if (error instanceof AiNetworkError) return ERROR_CODES.UPSTREAM_NETWORK;
  if (error instanceof AiStreamError) return ERROR_CODES.STREAM_INTERRUPTED;
  return ERROR_CODES.INTERNAL;
}

/** The platform refused an action for lack of the bot's permissions (Discord 403, Telegram "not enough rights"). Not retried. */
export class PermissionError extends Error {
  override readonly name = 'PermissionError';
}

/** A job's run lost its lock (another worker may be running the job): it stops, sending nothing more. */
export class JobLostError extends Error {
  override readonly name = 'JobLostError';
}
