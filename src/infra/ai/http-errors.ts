/**
 * Turns what undici and the endpoint give us into the domain's error classes, with the
 * API key scrubbed: error messages, properties and causes are logged and shown to
 * operators, and a server or proxy may echo the key back.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import { AiApiError, AiNetworkError, AiStreamError, AiTimeoutError } from '../../domain/errors.js';
import { parseRetryAfterMs, type ResponseHeaders } from './retry.js';

/** What replaces the API key wherever it shows up. */
const REDACTED = '[redacted]';
/** Longest server message we carry, so one huge HTML page does not flood the logs. */
const MAX_MESSAGE_LENGTH = 1_000;
/** How deep a chain of causes is copied. */
const MAX_CAUSE_DEPTH = 4;
/** undici error codes that mean "no answer in time" rather than "no connection". */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Removes a secret from text.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export type Redact = (text: string) => string;

/**
 * A Redact that removes `secret` (and does nothing when there is none).
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function createRedactor(secret: string | undefined): Redact {
  if (!secret) return (text) => text;
  return (text) => text.split(secret).join(REDACTED);
}

/**
 * The AiApiError for a non-2xx answer: message, `error.code`, `error.type` and
 * `error.param` from an OpenAI error body, else the status text.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function apiErrorFromResponse(
  response: { statusCode: number; statusText: string; headers: ResponseHeaders; bodyText: string },
  what: string,
  redact: Redact,
): AiApiError {
  const body = errorObject(response.bodyText);
  const detail = str(body?.message) ?? (response.statusText || 'error');
  const retryAfter = parseRetryAfterMs(response.headers);
  const param = mapOptional(str(body?.param), redact);
  return new AiApiError(
    redact(clip(`${what} failed with ${response.statusCode}: ${detail}`)),
    response.statusCode,
    mapOptional(str(body?.code), redact),
    mapOptional(str(body?.type), redact),
    retryAfter === undefined ? undefined : Math.max(0, retryAfter),
    param === undefined ? undefined : { param },
  );
}

/**
 * The AiApiError for a 2xx answer whose body is not the JSON we asked for.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function malformedBodyError(statusCode: number, what: string, cause: unknown, redact: Redact): AiApiError {
  return new AiApiError(`${what} answered ${statusCode} with a body that is not valid JSON`, statusCode, undefined, undefined, undefined, {
    cause: safeCause(cause, redact),
  });
}

/**
 * Maps a failure with no usable answer: undici timeouts to AiTimeoutError, the rest to AiNetworkError.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function transportError(error: unknown, what: string, redact: Redact): AiNetworkError | AiTimeoutError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = redact(clip(error instanceof Error ? error.message : String(error)));
  const options = { cause: safeCause(error, redact) };
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new AiTimeoutError(`${what} timed out (${reason})`, options);
  }
  return new AiNetworkError(`${what} failed: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`, options);
}

/**
 * Maps a failure after a stream had started.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function streamError(error: unknown, what: string, redact: Redact): AiStreamError {
  const reason = redact(clip(error instanceof Error ? error.message : String(error)));
  return new AiStreamError(`${what} stream was cut: ${reason}`, { cause: safeCause(error, redact) });
}

/**
 * A copy of one of our errors with the secret scrubbed from every text it carries; for
 * errors built from what the server sent, such as an error event inside a stream.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function scrubAiError<E extends Error>(error: E, redact: Redact): E {
  const cause = safeCause(error.cause, redact);
  const options = cause ? { cause } : undefined;
  let copy: Error;
  if (error instanceof AiApiError) {
    const { status, apiCode, apiType, retryAfterMs } = error;
    const param = mapOptional(error.apiParam, redact);
    copy = new AiApiError(redact(error.message), status, mapOptional(apiCode, redact), mapOptional(apiType, redact), retryAfterMs, {
      ...options,
      ...(param === undefined ? {} : { param }),
    });
  } else if (error instanceof AiStreamError) copy = new AiStreamError(redact(error.message), options);
  else if (error instanceof AiTimeoutError) copy = new AiTimeoutError(redact(error.message), options);
  else if (error instanceof AiNetworkError) copy = new AiNetworkError(redact(error.message), options);
  else return error;
  copy.stack = redact(error.stack ?? '');
  return copy as E;
}

/**
 * Our own errors pass through a catch untouched.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function isAiError(error: unknown): error is AiApiError | AiNetworkError | AiTimeoutError | AiStreamError {
  return (
    error instanceof AiApiError ||
    error instanceof AiNetworkError ||
    error instanceof AiTimeoutError ||
    error instanceof AiStreamError
  );
}

/**
 * A plain copy of an error (name, message, code, errno, syscall, and its causes), with
 * the secret scrubbed. Library errors carry sockets and request state we do not want
 * in logs; the copy keeps what explains the failure.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export function safeCause(error: unknown, redact: Redact, depth = 0): Error | undefined {
  if (error === undefined || error === null) return undefined;
  if (!(error instanceof Error)) return new Error(redact(clip(String(error))));
  const fields = error as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
  const nested = depth < MAX_CAUSE_DEPTH ? safeCause(error.cause, redact, depth + 1) : undefined;
  const copy = new Error(redact(clip(error.message)), nested ? { cause: nested } : undefined);
  copy.name = error.name;
  if (typeof fields.code === 'string' || typeof fields.code === 'number') Object.assign(copy, { code: fields.code });
  if (typeof fields.errno === 'number') Object.assign(copy, { errno: fields.errno });
  if (typeof fields.syscall === 'string') Object.assign(copy, { syscall: fields.syscall });
  copy.stack = redact(`${copy.name}: ${copy.message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`);
  return copy;
}

function errorObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const inner = (parsed as { error?: unknown }).error;
    // Some compatible servers put the error fields at the top level.
    if (typeof inner === 'object' && inner !== null) return inner as Record<string, unknown>;
    if (typeof inner === 'string') return { message: inner };
    return parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function mapOptional(value: string | undefined, redact: Redact): string | undefined {
  return value === undefined ? undefined : redact(value);
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}
