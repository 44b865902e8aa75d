/**
 * The HTTP core of the AI client: builds headers, sends with undici through one keep-alive
 * dispatcher, applies the timeout, retries with the service's one loop (`retry()` of
 * src/infra/retry.ts) under the AI policy of retry.ts, and maps every failure to the
 * domain's error classes. Endpoint methods live in client.ts.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { request, type Dispatcher, type FormData } from 'undici';
import { AiTimeoutError } from '../../domain/errors.js';
import { retry, type RetryPolicy } from '../retry.js';
import { failSpan, startSpan, tracingOn } from '../tracing/index.js';
import { Exchange } from './exchange.js';
import { apiErrorFromResponse, isAiError, scrubAiError, transportError, type Redact } from './http-errors.js';
import { estimateTokens } from './rate-headers.js';
import { FailedAttempt, responseFailure, transportFailure, type ResponseHeaders } from './retry.js';
import type { GatePass, UpstreamGate } from './upstream-gate.js';

/**
 * How long one call keeps asking an endpoint that answers 429 while the gate holds its
 * lane (counted from the call's first 429, across its retries), before the 429 is the
 * caller's (the user then hears the AI service is busy).
 */
export const RATE_LIMITED_MAX_MS = 120_000;

/**
 * A response whose body is still to be read; `exchange` must be closed by the reader.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export interface OpenResponse {
  readonly statusCode: number;
  readonly headers: ResponseHeaders;
  readonly body: Dispatcher.ResponseData['body'];
  readonly exchange: Exchange;
}

/**
 * One call to an endpoint.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export interface HttpCall {
  readonly method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`. */
  readonly path: string;
  /** A JSON body. */
  readonly json?: unknown;
  /** A multipart body, rebuilt for each attempt. */
  readonly form?: () => FormData;
  readonly accept: string;
  readonly signal: AbortSignal | undefined;
  /** The rate-limit lane: the model asked (limits are per model), else the path. */
  readonly lane?: string;
}

/**
 * One attempt of one request, as an observer (metrics) sees it: the endpoint (path without
 * the leading `/`), the HTTP status or `timeout` / `network` / `aborted` when none arrived,
 * and the seconds until the response headers arrived or the attempt failed.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export interface RequestObservation {
  readonly endpoint: string;
  readonly status: string;
  readonly seconds: number;
}

/** Told of every attempt; what it throws is ignored. */
export type RequestObserver = (observation: RequestObservation) => void;

/**
 * What the core needs, already validated by createOpenAIClient.
 * See https://platform.openai.com/docs/api-reference/authentication
 */
export interface HttpSettings {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly organization: string | undefined;
  readonly userAgent: string;
  readonly timeoutMs: number;
  /** How requests are retried: aiRequestPolicy(maxRetries) of retry.ts, built once with the client. */
  readonly retryPolicy: RetryPolicy;
  readonly dispatcher: Dispatcher;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly redact: Redact;
  readonly observe: RequestObserver | undefined;
  /** Where requests wait for the endpoint's limits (shared by every process); none: they go at once. */
  readonly gate: UpstreamGate | undefined;
}

/**
 * The default sleep: a timer that an abort cuts short.
 * See https://platform.openai.com/docs/guides/rate-limits/retrying-with-exponential-backoff
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

/**
 * Sends a call until a 2xx answer's headers arrive, retried by `retry()` of
 * src/infra/retry.ts under the client's policy (aiRequestPolicy of retry.ts), and hands
 * that answer to `read` with its body unread. `read` runs inside the attempt: what it throws is mapped like a
 * transport failure and may be retried, unless it is one of our errors. An abort rejects
 * with the signal's reason.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export async function send<T>(
  settings: HttpSettings,
  call: HttpCall,
  read: (response: OpenResponse) => Promise<T>,
): Promise<T> {
  const sending: Sending = {
    settings,
    call,
    what: `${call.method} ${call.path}`,
    lane: call.lane ?? call.path,
    tokens: call.json === undefined ? 0 : estimateTokens(call.json),
    limitedSince: undefined,
  };
  try {
    return await retry(settings.retryPolicy, (attempt) => attemptPastTheGate(sending, attempt, read), {
      // No `signal`: an abort ends the attempts with the caller's reason, not the last failure.
      sleep: (ms) => sleepOrAbort(settings, ms, call.signal),
    });
  } catch (error) {
    throw error instanceof FailedAttempt ? error.error : error;
  }
}

/** One call being sent, across its attempts. */
interface Sending {
  readonly settings: HttpSettings;
  readonly call: HttpCall;
  /** `METHOD /path`, for spans and error messages. */
  readonly what: string;
  readonly lane: string;
  readonly tokens: number;
  /** When the gate first held the lane after a 429 answer to this call. */
  limitedSince: number | undefined;
}

/** What attemptOnce returns after a 429 the gate now holds the lane for: ask again through it. */
const ASK_AGAIN: unique symbol = Symbol('ask again');

/**
 * Attempt number `attempt` (0 for the first try) of a call: asks again, without it counting
 * as a retry, while the gate holds the lane after a 429 (up to RATE_LIMITED_MAX_MS since
 * the call's first one). Throws a FailedAttempt, or the caller's abort reason.
 */
async function attemptPastTheGate<T>(sending: Sending, attempt: number, read: (response: OpenResponse) => Promise<T>): Promise<T> {
  for (;;) {
    const answer = await attemptOnce(sending, attempt, read);
    if (answer !== ASK_AGAIN) return answer;
  }
}

/** One request, after waiting at the gate: its answer as `read` gives it, or ASK_AGAIN. */
async function attemptOnce<T>(sending: Sending, attempt: number, read: (response: OpenResponse) => Promise<T>): Promise<T | typeof ASK_AGAIN> {
  const { settings, call, what } = sending;
  if (call.signal?.aborted) throw call.signal.reason;
  const pass = settings.gate ? await enterGate(settings.gate, sending) : undefined;
  let failure: FailedAttempt;
  const exchange = new Exchange(call.signal, settings.timeoutMs, what);
  const report = observeAttempt(settings.observe, call.path);
  // Traced, each attempt is a span, from its start until its answer's headers (a JSON body: until read).
  const span = tracingOn() ? startSpan(what, { 'http.request.method': call.method, 'url.path': call.path, 'switchboard.ai.retry': attempt }) : undefined;
  try {
    const response = await requestOnce(settings, call, exchange);
    const { statusCode, headers } = response;
    span?.setAttribute('http.response.status_code', statusCode);
    const held = pass?.done(statusCode, headers) ?? 0;
    exchange.attach(response.body);
    report(String(statusCode));
    if (statusCode >= 200 && statusCode < 300) {
      return await read({ statusCode, headers, body: response.body, exchange });
    }
    const bodyText = await response.body.text();
    exchange.close(true);
    const error = apiErrorFromResponse({ statusCode, statusText: response.statusText, headers, bodyText }, what, settings.redact);
    failure = responseFailure(error, statusCode, headers);
    if (span) failSpan(span, error);
    // The gate holds the lane as the endpoint asked and then lets one request probe: ask
    // again through it. (The wait here too: a gate that lost Redis holds nothing.)
    if (statusCode === 429 && pass && !error.quotaExhausted && stillAskingAgain(sending)) {
      await sleepOrAbort(settings, held, call.signal);
      return ASK_AGAIN;
    }
  } catch (caught) {
    pass?.done(undefined);
    exchange.failed(caught);
    exchange.close(false);
    report(exchange.callerAborted ? 'aborted' : exchange.timedOut ? 'timeout' : 'network');
    if (exchange.callerAborted) throw exchange.callerReason;
    const error = failureOf(caught, exchange, what, settings.redact);
    failure = transportFailure(error);
    if (span) failSpan(span, error);
  } finally {
    span?.end();
  }
  throw failure;
}

/** Sends the call once, on the exchange's signal; resolves when the answer's headers arrive. */
function requestOnce(settings: HttpSettings, call: HttpCall, exchange: Exchange): Promise<Dispatcher.ResponseData> {
  return request(`${settings.baseUrl}${call.path}`, {
    method: call.method,
    headers: headersFor(settings, call),
    body: call.form ? call.form() : call.json === undefined ? undefined : JSON.stringify(call.json),
    dispatcher: settings.dispatcher,
    signal: exchange.signal,
    // undici times the wait for the headers; the Exchange times the body (idle, for a stream).
    headersTimeout: settings.timeoutMs,
    bodyTimeout: 0,
  });
}

/** Whether a 429 the gate holds the lane for is asked again: for RATE_LIMITED_MAX_MS since the call's first. */
function stillAskingAgain(sending: Sending): boolean {
  sending.limitedSince ??= Date.now();
  return Date.now() - sending.limitedSince < RATE_LIMITED_MAX_MS;
}

/** Waits at the gate for the call's lane. */
function enterGate(gate: UpstreamGate, { call, lane, tokens }: Sending): Promise<GatePass> {
  return tracingOn() ? tracedEnter(gate, lane, tokens, call.signal) : gate.enter(lane, tokens, call.signal);
}

/** Waits at the gate as an `ai gate` span (tracing on): how long the endpoint's limits held the request. */
async function tracedEnter(gate: UpstreamGate, lane: string, tokens: number, signal: AbortSignal | undefined): Promise<GatePass> {
  const span = startSpan('ai gate', { 'switchboard.ai.lane': lane, 'switchboard.ai.tokens_estimate': tokens });
  try {
    return await gate.enter(lane, tokens, signal);
  } finally {
    span?.end();
  }
}

/** Sleeps; an abort rejects with the caller's reason. */
async function sleepOrAbort(settings: HttpSettings, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return;
  try {
    await settings.sleep(ms, signal);
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  }
}

/**
 * Starts timing one attempt; the returned function reports it once, with the first
 * status it is given (a failure while reading a 2xx body does not count twice).
 */
function observeAttempt(observe: RequestObserver | undefined, path: string): (status: string) => void {
  if (!observe) return () => undefined;
  const started = performance.now();
  let reported = false;
  return (status) => {
    if (reported) return;
    reported = true;
    try {
      observe({ endpoint: path.replace(/^\//, ''), status, seconds: (performance.now() - started) / 1000 });
    } catch {
      // An observer's failure must not fail the request it observes.
    }
  };
}

/**
 * Maps whatever ended an attempt (after a caller abort is ruled out) to a domain error.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
function failureOf(caught: unknown, exchange: Exchange, what: string, redact: Redact): Error {
  if (exchange.timedOut) {
    return new AiTimeoutError(`${what} got no answer within ${exchange.timeoutMs} ms`);
  }
  if (isAiError(caught)) return scrubAiError(caught, redact);
  return transportError(caught, what, redact);
}

/**
 * Reads a whole JSON (or text) body inside the attempt, then closes it.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export async function readText(response: OpenResponse): Promise<string> {
  const text = await response.body.text();
  response.exchange.close(true);
  return text;
}

function headersFor(settings: HttpSettings, call: HttpCall): Record<string, string> {
  const headers: Record<string, string> = { accept: call.accept, 'user-agent': settings.userAgent };
  if (call.json !== undefined) headers['content-type'] = 'application/json';
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  if (settings.organization) headers['openai-organization'] = settings.organization;
  return headers;
}
