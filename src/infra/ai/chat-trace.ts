/**
 * A streamed chat completion as one span (issue #16), named and attributed after the
 * OpenTelemetry GenAI conventions: the model asked and the model that answered, the
 * tokens in and out, why it finished, and the time to its first token (also an event at
 * that moment). Never the prompt or the answer. The request's attempts (http.ts) and its
 * wait at the AI gate are its children. Made only when tracing is on: without it the
 * chunks go straight from the stream to the caller, with nothing in between.
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */
import { performance } from 'node:perf_hooks';
import { context, trace, type Span } from '@opentelemetry/api';
import { failSpan, startSpan, tracingOn } from '../tracing/index.js';
import type { ChatCompletionChunk, ChatCompletionParams } from './chat-types.js';

/** The provider name the conventions give OpenAI's API (and compatible ones speak it). */
const PROVIDER = 'openai';

/** The completion's span, or undefined when tracing is off. */
export function startChatSpan(params: ChatCompletionParams): Span | undefined {
  if (!tracingOn()) return undefined;
  return startSpan(`chat ${params.model}`, {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': PROVIDER,
    'gen_ai.request.model': params.model,
    ...(params.max_completion_tokens === undefined ? {} : { 'gen_ai.request.max_tokens': params.max_completion_tokens }),
  });
}

/**
 * Passes the stream's chunks through, reading what the span needs from them; the request
 * starts with the span current, so its HTTP attempts are the span's children. Ends the span
 * when the stream ends, fails or is left early (which stops the stream, as without it).
 */
export async function* tracedChunks(span: Span, chunks: AsyncGenerator<ChatCompletionChunk, void, undefined>): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const current = trace.setSpan(context.active(), span);
  const started = performance.now();
  let firstToken = true;
  let model = true;
  try {
    // The request goes out on the first step (its spans are this one's children); the
    // later steps only read its body, so they need no context.
    for (let next = await context.with(current, () => chunks.next()); ; next = await chunks.next()) {
      if (next.done) return;
      const chunk = next.value;
      if (model && chunk.model) {
        model = false;
        span.setAttribute('gen_ai.response.model', chunk.model);
      }
      for (const choice of chunk.choices ?? []) {
        if (firstToken && (choice.delta?.content || choice.delta?.refusal)) {
          firstToken = false;
          span.setAttribute('switchboard.ai.first_token_ms', Math.round(performance.now() - started));
          span.addEvent('first token');
        }
        if (choice.finish_reason) span.setAttribute('gen_ai.response.finish_reasons', [choice.finish_reason]);
      }
      if (chunk.usage) {
        span.setAttribute('gen_ai.usage.input_tokens', chunk.usage.prompt_tokens);
        span.setAttribute('gen_ai.usage.output_tokens', chunk.usage.completion_tokens);
      }
      yield chunk;
    }
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    await chunks.return(undefined);
    span.end();
  }
}
