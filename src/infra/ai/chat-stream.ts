/**
 * Streamed chat completions over SSE: opens the request (retried like any other until
 * the answer's headers arrive), then decodes chunks until `[DONE]`. A started stream is
 * never retried: a cut becomes AiStreamError, silence longer than the timeout between
 * two chunks AiTimeoutError. Stopping the iteration aborts the request.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
import { AiApiError, AiStreamError, AiTimeoutError } from '../../domain/errors.js';
import { startChatSpan, tracedChunks } from './chat-trace.js';
import type { ChatCompletionChunk, ChatCompletionParams } from './chat-types.js';
import { scrubAiError, streamError } from './http-errors.js';
import { send, type HttpSettings, type OpenResponse } from './http.js';
import { createSseDecoder } from './sse.js';

const PATH = '/chat/completions';
const WHAT = `POST ${PATH}`;
/** How long to wait for the body to end after `[DONE]` before dropping the connection. */
const DRAIN_TIMEOUT_MS = 1_000;

/**
 * Streams `POST /chat/completions` with `stream: true` and usage in the last chunk; with
 * tracing on, as one span (chat-trace.ts).
 * See https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream
 */
export function streamChatChunks(
  settings: HttpSettings,
  params: ChatCompletionParams,
  signal: AbortSignal | undefined,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const span = startChatSpan(params);
  const chunks = readChatChunks(settings, params, signal);
  return span === undefined ? chunks : tracedChunks(span, chunks);
}

async function* readChatChunks(
  settings: HttpSettings,
  params: ChatCompletionParams,
  signal: AbortSignal | undefined,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const body = { ...params, stream: true, stream_options: { include_usage: true } };
  const call = { method: 'POST', path: PATH, json: body, accept: 'text/event-stream', signal, lane: params.model } as const;
  const response = await send<OpenResponse>(settings, call, async (open) => open);
  const { exchange } = response;
  const decoder = createSseDecoder();
  let completed = false;
  try {
    for await (const bytes of response.body as AsyncIterable<Buffer>) {
      if (decoder.done) continue;
      exchange.touch();
      for (const payload of decoder.push(bytes)) yield payload as ChatCompletionChunk;
      // Reading on to the end of the body after [DONE] keeps the connection reusable.
      if (decoder.done) exchange.touch(DRAIN_TIMEOUT_MS);
    }
    for (const payload of decoder.end()) yield payload as ChatCompletionChunk;
    if (!decoder.done) throw new AiStreamError(`${WHAT} stream ended before [DONE]`);
    completed = true;
  } catch (caught) {
    if (exchange.callerAborted) throw exchange.callerReason;
    // Every chunk was delivered; a failure while draining the rest changes nothing.
    if (decoder.done) return;
    throw failureOf(caught, response, settings);
  } finally {
    exchange.close(completed);
  }
}

function failureOf(caught: unknown, response: OpenResponse, settings: HttpSettings): Error {
  if (response.exchange.timedOut) {
    return new AiTimeoutError(`${WHAT} stream was silent for ${response.exchange.timeoutMs} ms`);
  }
  // These were built from the server's words, which may echo the key.
  if (caught instanceof AiApiError || caught instanceof AiStreamError) return scrubAiError(caught, settings.redact);
  return streamError(caught, WHAT, settings.redact);
}
