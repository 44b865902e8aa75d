/**
 * Our typed door to the Bot API (https://core.telegram.org/bots/api#making-requests), for
 * the Outbox and the gateway: `call(method, params)` takes the method's parameters and
 * returns its result, both typed from telegraf's Bot API types (typegram), plus the
 * methods those types predate (sendMessageDraft, Bot API 9.3), typed here from the spec.
 * Requests go through telegraf's `Telegram` HTTP client on our own kept-alive agents, each
 * under a deadline; a call whose kept-alive connection was reset under it goes again.
 *
 * Its errors say which side failed: `TelegramApiError` (Telegram answered `ok: false`,
 * with its code, description and `retry_after`) or `TelegramNetworkError` (no answer). The
 * token is part of every API URL, so it is scrubbed from every message these errors
 * carry, and the library's own error (which may quote the URL) is never kept as a cause.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Input, Telegram, TelegramError } from 'telegraf';
import type { InputFile, MessageEntity, Opts, ParseMode, Telegram as BotApiMethods } from 'telegraf/types';
import { deadlineIn } from '../../src/infra/deadline.js';
import { retry, type RetryPolicy } from '../../src/infra/retry.js';

/** When Telegram gives no retry_after with a 429. */
const DEFAULT_RETRY_AFTER_SECONDS = 1;
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
/**
 * A call whose kept-alive connection the server had just closed never reached it (the
 * server closes only idle connections), so it goes again, at once. A busy worker may hold
 * several such connections (the server closed them together): three retries; each fails at once.
 */
const BOT_API_RESET: RetryPolicy = {
  retries: 3,
  delayMs: () => 0,
  retryIf: (error) => error instanceof TelegramNetworkError && error.code === 'ECONNRESET',
};

/**
 * sendMessageDraft's parameters (Bot API 9.3; telegraf's types predate it):
 * https://core.telegram.org/bots/api#sendmessagedraft
 */
export type SendMessageDraftParams = {
  /** A private chat: drafts go to users only. */
  chat_id: number;
  message_thread_id?: number;
  /** Non-zero; changes to drafts with the same id are animated. */
  draft_id: number;
  /** 0-4096 characters after entities parsing; empty shows a "Thinking..." placeholder. */
  text?: string;
  parse_mode?: ParseMode;
  entities?: MessageEntity[];
};

/** Bot API methods telegraf's types lack, with their params and result. */
interface NewerMethods {
  sendMessageDraft: { params: SendMessageDraftParams; result: true };
}

/**
 * Methods we call with an upload (multipart/form-data). telegraf sends a multipart call's
 * strings, numbers, booleans and files only: other object params (reply_parameters) go
 * as JSON text (https://core.telegram.org/bots/api#sending-files), which their types allow.
 */
type UploadMethod = 'sendPhoto' | 'sendDocument' | 'sendMediaGroup';
type WithJsonText<P> = { [K in keyof P]: K extends 'reply_parameters' ? P[K] | string : P[K] };

/** The name of a Bot API method we can call. */
export type TelegramMethod = keyof BotApiMethods | keyof NewerMethods;
/** The parameters of `M` (an empty object for a method without any). */
export type TelegramParams<M extends TelegramMethod> = M extends keyof NewerMethods
  ? NewerMethods[M]['params']
  : M extends UploadMethod
    ? WithJsonText<Opts<M>>
    : M extends keyof BotApiMethods
      ? Opts<M>
      : never;
/** What `M` returns (the answer's `result`). */
export type TelegramResult<M extends TelegramMethod> = M extends keyof NewerMethods
  ? NewerMethods[M]['result']
  : M extends keyof BotApiMethods
    ? ReturnType<BotApiMethods[M]>
    : never;

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

  /** How long flood control (a 429) asks us to wait, in ms: its `retry_after`, else 1 s. */
  get retryAfterMs(): number {
    return (this.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) * 1000;
  }
}

/** Telegram's flood control: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this */
export function isFlood(error: unknown): error is TelegramApiError {
  return error instanceof TelegramApiError && error.status === 429;
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

/** Calls Bot API methods with their typed parameters; resolves with their `result`. */
export interface TelegramApi {
  /** One call of `method`; a long poll (getUpdates) may take its `timeout`, any other call the client's limit. */
  call<M extends TelegramMethod>(method: M, params: TelegramParams<M>, signal?: AbortSignal): Promise<TelegramResult<M>>;
}

export interface TelegramApiOptions {
  readonly token: string;
  /** https://api.telegram.org, or a self-hosted Bot API server. */
  readonly apiRoot: string;
  /** The longest one call (other than a long poll) may take; 30 s by default. */
  readonly callTimeoutMs?: number;
}

/**
 * telegraf's `callApi` as we call it: any method, ours included, with Node's AbortSignal
 * (telegraf declares the `abort-controller` package's, which Node's does not match).
 */
type CallApi = (method: TelegramMethod, payload: object, extra: { signal?: AbortSignal }) => Promise<unknown>;

/** Creates a Bot API caller. */
export function createTelegramApi(options: TelegramApiOptions): TelegramApi {
  const client = new Telegram(options.token, { apiRoot: options.apiRoot, webhookReply: false });
  // telegraf keeps connections alive for https roots only, with Node's 256 idle ones: a
  // self-hosted Bot API server on http://, or more calls at once than that, would cost a
  // TCP connection (and its teardown) per call, thousands a second while answers stream.
  const agentOptions = { keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, maxFreeSockets: MAX_IDLE_SOCKETS };
  client.options.agent = options.apiRoot.startsWith('http://') ? new HttpAgent(agentOptions) : new HttpsAgent(agentOptions);
  const callApi = client.callApi.bind(client) as CallApi;
  return {
    async call<M extends TelegramMethod>(method: M, params: TelegramParams<M>, signal?: AbortSignal): Promise<TelegramResult<M>> {
      const limitMs =
        method === 'getUpdates' ? Number((params as Opts<'getUpdates'>).timeout ?? 0) * 1000 + LONG_POLL_GRACE_MS : (options.callTimeoutMs ?? CALL_TIMEOUT_MS);
      const deadline = deadlineIn(limitMs, signal);
      const once = async (): Promise<TelegramResult<M>> => {
        try {
          return (await callApi(method, params, { signal: deadline.signal })) as TelegramResult<M>;
        } catch (error) {
          if (deadline.expired) throw new TelegramNetworkError(method, `no answer within ${limitMs} ms`, 'ETIMEDOUT');
          throw toTelegramError(method, error, options.token);
        }
      };
      return retry(BOT_API_RESET, once, { signal: deadline.signal });
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
 * A file to upload with a call (sendPhoto, sendDocument, an album's media): a call whose
 * params hold one goes as multipart/form-data (https://core.telegram.org/bots/api#sending-files).
 * In a multipart call telegraf sends only strings, numbers, booleans and files: other
 * object params (reply_parameters) must be given as JSON text.
 */
export function uploadFile(bytes: Uint8Array, fileName: string): InputFile {
  return Input.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), fileName);
}
