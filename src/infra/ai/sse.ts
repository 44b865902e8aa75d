/**
 * Server-sent events decoding for streamed completions, as a pure decoder over bytes or
 * text: it frames events with eventsource-parser, stops at `data: [DONE]`, parses each
 * payload as JSON and turns error events into AiApiError. No I/O, so it is tested with
 * string fixtures.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { AiApiError, AiStreamError } from '../../domain/errors.js';

/** The sentinel payload that ends an OpenAI stream. */
export const SSE_DONE = '[DONE]';
/** Status given to an error that arrives inside a 200 stream and names none of its own. */
const STREAM_ERROR_DEFAULT_STATUS = 500;
const RATE_LIMITED_STATUS = 429;
const INVALID_REQUEST_STATUS = 400;
/** Cap on an unparsable payload quoted in an error message. */
const MAX_QUOTED_PAYLOAD = 200;

/**
 * Incremental decoder of one SSE response body into its JSON payloads.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export interface SseDecoder {
  /**
   * Feeds the next piece of the body (bytes may split UTF-8 sequences and lines anywhere).
   * Returns the payloads it completed, in order. Throws AiApiError for an error event and
   * AiStreamError for a payload that is not JSON. Input after `[DONE]` is ignored.
   */
  push(chunk: Uint8Array | string): unknown[];
  /** Flushes the end of the body and returns any payloads it completed. */
  end(): unknown[];
  /** True once `data: [DONE]` has been seen. */
  readonly done: boolean;
}

/**
 * Creates a decoder for one stream.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export function createSseDecoder(): SseDecoder {
  // Node's StringDecoder keeps a character split across chunks for the next one. Not a
  // TextDecoder: on Node 20 each outlives the young generation (only a full GC collects
  // it), with everything the stream hangs on it.
  const text = new StringDecoder('utf8');
  let done = false;
  let pending: unknown[] = [];
  let failure: Error | undefined;
  let started = false;

  const parser = createParser({
    onEvent(event) {
      if (done || failure) return;
      try {
        const payload = decodeEvent(event);
        if (payload === DONE) done = true;
        else pending.push(payload);
      } catch (error) {
        failure = error as Error;
      }
    },
  });

  const drain = (): unknown[] => {
    if (failure) throw failure;
    const out = pending;
    pending = [];
    return out;
  };

  return {
    push(chunk) {
      if (done) return drain();
      let piece = typeof chunk === 'string' ? chunk : text.write(chunk);
      // A byte-order mark at the start of the body is not part of the text.
      if (!started && piece !== '') {
        started = true;
        if (piece.startsWith('\uFEFF')) piece = piece.slice(1);
      }
      parser.feed(piece);
      return drain();
    },
    end() {
      if (!done) {
        // The SSE spec drops an event cut off by the end of the body, but some compatible
        // servers close right after `data: [DONE]\n`; ending the event there loses nothing.
        parser.feed(`${text.end()}\n\n`);
      }
      return drain();
    },
    get done() {
      return done;
    },
  };
}

/**
 * Decodes a whole body given as chunks; convenience for tests and small bodies.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export function decodeSse(chunks: Iterable<Uint8Array | string>): { payloads: unknown[]; done: boolean } {
  const decoder = createSseDecoder();
  const payloads: unknown[] = [];
  for (const chunk of chunks) payloads.push(...decoder.push(chunk));
  payloads.push(...decoder.end());
  return { payloads, done: decoder.done };
}

const DONE = Symbol('done');

function decodeEvent(event: EventSourceMessage): unknown {
  if (event.data === SSE_DONE) return DONE;
  let payload: unknown;
  try {
    payload = JSON.parse(event.data);
  } catch (cause) {
    if (event.event === 'error') throw streamApiError({ message: event.data });
    throw new AiStreamError(`malformed stream payload: ${quote(event.data)}`, { cause });
  }
  if (event.event === 'error') throw streamApiError(errorBody(payload) ?? payload);
  const body = errorBody(payload);
  if (body) throw streamApiError(body);
  // Every OpenAI stream payload is an object; anything else would crash the consumer later.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new AiStreamError(`stream payload is not a JSON object: ${quote(event.data)}`);
  }
  return payload;
}

/** The `error` object of `{"error": {...}}`, or undefined when the payload is not one. */
function errorBody(payload: unknown): Record<string, unknown> | undefined {
  if (typeof payload !== 'object' || payload === null || !('error' in payload)) return undefined;
  const error = payload.error;
  if (typeof error === 'object' && error !== null) return error as Record<string, unknown>;
  if (typeof error === 'string') return { message: error };
  return undefined;
}

function streamApiError(body: unknown): AiApiError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const message = typeof fields.message === 'string' && fields.message ? fields.message : 'error event in stream';
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const type = typeof fields.type === 'string' ? fields.type : undefined;
  return new AiApiError(message, statusOf(fields, code, type), code, type, undefined);
}

/**
 * The HTTP status was 200 when the error arrived, so infer one from the body: some
 * compatible servers (vLLM) send a numeric `code`; OpenAI sends a `type`. The status
 * decides whether the job is retried, so a rate limit must stay a 429.
 */
function statusOf(fields: Record<string, unknown>, code: string | undefined, type: string | undefined): number {
  for (const candidate of [fields.status, fields.code]) {
    const n = typeof candidate === 'string' ? Number(candidate) : candidate;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599) return n;
  }
  if (/rate_limit/.test(`${code ?? ''} ${type ?? ''}`)) return RATE_LIMITED_STATUS;
  if (type === 'invalid_request_error') return INVALID_REQUEST_STATUS;
  return STREAM_ERROR_DEFAULT_STATUS;
}

function quote(data: string): string {
  return JSON.stringify(data.length > MAX_QUOTED_PAYLOAD ? `${data.slice(0, MAX_QUOTED_PAYLOAD)}…` : data);
}
