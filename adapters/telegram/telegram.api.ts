/**
 * A thin caller of the Bot API (https://core.telegram.org/bots/api#making-requests) on
 * telegraf's `Telegram` client, for the Outbox and the gateway. Its errors say which
 * side failed: `TelegramApiError` (Telegram answered `ok: false`, with its code,
 * description and `retry_after`) or `TelegramNetworkError` (no answer). The token is part
 * of every API URL, so it is scrubbed from every message these errors carry, and the
 * library's own error (which may quote the URL) is never kept as a cause.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Input, Telegram, TelegramError } from 'telegraf';
import { deadlineIn } from '../../src/infra/deadline.js';

/** The longest we wait for an answer to one call (telegraf's own limit is over eight minutes). */
const CALL_TIMEOUT_MS = 30_000;
/** A long poll may take its `timeout`; this much more before we call it lost. */
const LONG_POLL_GRACE_MS = 15_000;
/** How long an idle kept-alive connection to the Bot API stays open (telegraf's own figure). */
const KEEP_ALIVE_MS = 10_000;
/**
 * Idle connections kept for reuse. Node's default (256) is below what thousands of
 * answers streaming at once keep busy: past it every call would open a connection.
 */
const MAX_IDLE_SOCKETS = 4_096;
/** Calls sent again after the connection was reset under them (a kept-alive one the server had closed). */
const RESET_RETRIES = 3;

/** Telegram answered `ok: false`. */
export class TelegramApiError extends Error {
  override readonly name = 'TelegramApiError';
  constructor(
    readonly method: string,
    /** `error_code`: 400, 403, 429… */
    readonly status: number,
    readonly description: string,
    /** Seconds Telegram asked us to wait (`parameters.retry_after`), on 429. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`Telegram ${method} failed: ${status} ${description}`);
  }

  /** Telegram refused the HTML entities (https://core.telegram.org/bots/api#formatting-options). */
  get badEntities(): boolean {
    return this.status === 400 && /can't parse entities/i.test(this.description);
  }

  /** An edit with the text the message already has; harmless. */
  get notModified(): boolean {
    return this.status === 400 && /message is not modified/i.test(this.description);
  }
}

/** The Bot API could not be reached, or did not answer. */
export class TelegramNetworkError extends Error {
  override readonly name = 'TelegramNetworkError';
  constructor(
    readonly method: string,
    message: string,
    /** The system error code (ECONNREFUSED…), if any. */
    readonly code: string | undefined,
  ) {
    super(`Telegram ${method} failed: ${message}`);
  }
}

/** Calls Bot API methods with plain parameters; returns `result`. */
export interface TelegramApi {
  call<T = unknown>(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T>;
}

export interface TelegramApiOptions {
  readonly token: string;
  /** https://api.telegram.org, or a self-hosted Bot API server. */
  readonly apiRoot: string;
  /** The longest one call (other than a long poll) may take; 30 s by default. */
  readonly callTimeoutMs?: number;
}

/** Creates a Bot API caller. */
export function createTelegramApi(options: TelegramApiOptions): TelegramApi {
  const client = new Telegram(options.token, { apiRoot: options.apiRoot, webhookReply: false });
  // telegraf keeps connections alive for https roots only, with Node's 256 idle ones: a
  // self-hosted Bot API server on http://, or more calls at once than that, would cost a
  // TCP connection (and its teardown) per call, thousands a second while answers stream.
  const agentOptions = { keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, maxFreeSockets: MAX_IDLE_SOCKETS };
  client.options.agent = options.apiRoot.startsWith('http://') ? new HttpAgent(agentOptions) : new HttpsAgent(agentOptions);
  const callApi = client.callApi.bind(client) as unknown as (method: string, payload: object, extra: { signal?: AbortSignal }) => Promise<unknown>;
  return {
    async call<T>(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
      const limitMs = method === 'getUpdates' ? Number(params['timeout'] ?? 0) * 1000 + LONG_POLL_GRACE_MS : (options.callTimeoutMs ?? CALL_TIMEOUT_MS);
      const deadline = deadlineIn(limitMs, signal);
      for (let attempt = 0; ; attempt += 1) {
        try {
          return (await callApi(method, params, { signal: deadline.signal })) as T;
        } catch (error) {
          if (deadline.expired) throw new TelegramNetworkError(method, `no answer within ${limitMs} ms`, 'ETIMEDOUT');
          const failure = toTelegramError(method, error, options.token);
          // A kept-alive connection the server had just closed: the call never reached it
          // (the server closes only idle connections), so it goes again. A busy worker may
          // hold several such connections at once (the server closed them together), so it
          // tries a few; each fails at once.
          if (attempt < RESET_RETRIES && failure instanceof TelegramNetworkError && failure.code === 'ECONNRESET' && !deadline.signal.aborted) continue;
          throw failure;
        }
      }
    },
  };
}

/** Turns whatever telegraf threw into one of our classes, without the token anywhere. */
export function toTelegramError(method: string, error: unknown, token: string): TelegramApiError | TelegramNetworkError {
  const scrub = (text: string): string => scrubToken(text, token);
  if (error instanceof TelegramError) {
    return new TelegramApiError(method, error.code, scrub(error.description), error.parameters?.retry_after);
  }
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new TelegramNetworkError(method, scrub(message), code);
}

/** Removes the bot token (and its URL-encoded form) from a text. */
export function scrubToken(text: string, token: string): string {
  if (token === '') return text;
  return text.split(token).join('[redacted]').split(encodeURIComponent(token)).join('[redacted]');
}

/**
 * A file to upload with a call (sendPhoto, sendDocument): a call whose params hold one
 * goes as multipart/form-data (https://core.telegram.org/bots/api#sending-files).
 * In a multipart call telegraf sends only strings, numbers, booleans and files: other
 * object params (reply_parameters) must be given as JSON text.
 */
export function uploadFile(bytes: Uint8Array, fileName: string): object {
  return Input.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), fileName);
}
