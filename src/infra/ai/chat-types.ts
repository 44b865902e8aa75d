/**
 * Chat completion request and response shapes: the subset of the OpenAI spec
 * (CreateChatCompletionRequest, CreateChatCompletionResponse,
 * CreateChatCompletionStreamResponse) that Switchboard sends and reads.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */

import type { ChatContentPart } from '../../domain/chat.js';
import type { ReasoningEffort } from '../../domain/reasoning.js';

/**
 * A message of a chat completion request (`ChatCompletionRequestMessage`): text, or for
 * user messages text and image parts (`ChatCompletionRequestMessageContentPart`).
 * See https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 */
export interface ChatCompletionMessageParam {
  readonly role: 'developer' | 'system' | 'user' | 'assistant';
  readonly content: string | readonly ChatContentPart[];
  /** Must match `^[a-zA-Z0-9_-]{1,64}$`. */
  readonly name?: string;
}

/**
 * Body of `POST /chat/completions`; `stream` and `stream_options` are set by the client.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
export interface ChatCompletionParams {
  readonly model: string;
  readonly messages: readonly ChatCompletionMessageParam[];
  readonly max_completion_tokens?: number;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly n?: number;
  readonly stop?: string | readonly string[];
  readonly seed?: number;
  readonly presence_penalty?: number;
  readonly frequency_penalty?: number;
  /** Stable end-user identifier; send a hash, never a raw id (see hashEndUser). */
  readonly user?: string;
  readonly safety_identifier?: string;
  readonly prompt_cache_key?: string;
  /** Reasoning models only; others answer 400 (`unsupported_parameter`). */
  readonly reasoning_effort?: ReasoningEffort;
}

/**
 * Token usage of one completion (`CompletionUsage`).
 * See https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
export interface CompletionUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number; readonly audio_tokens?: number };
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number; readonly audio_tokens?: number };
}

/**
 * Why the model stopped.
 * See https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
export type ChatFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/**
 * The chat completion object returned by `POST /chat/completions`.
 * See https://platform.openai.com/docs/api-reference/chat/object
 */
export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly finish_reason: ChatFinishReason;
    readonly message: {
      readonly role: 'assistant';
      readonly content: string | null;
      readonly refusal?: string | null;
    };
  }[];
  readonly usage?: CompletionUsage;
  readonly system_fingerprint?: string;
}

/**
 * One streamed chunk (`CreateChatCompletionStreamResponse`). The last chunk of a stream
 * with `include_usage` has no choices and carries `usage`.
 * See https://platform.openai.com/docs/api-reference/chat-streaming/streaming
 */
export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly delta: {
      readonly role?: 'assistant';
      readonly content?: string | null;
      readonly refusal?: string | null;
      /**
       * A reasoning model's thinking, where the server streams it apart from the answer:
       * `reasoning_content` (DeepSeek, vLLM's reasoning parsers) or `reasoning` (Ollama,
       * OpenRouter). Not in OpenAI's spec: OpenAI does not stream its models' reasoning.
       */
      readonly reasoning_content?: string | null;
      readonly reasoning?: string | null;
    };
    readonly finish_reason: ChatFinishReason | null;
  }[];
  readonly usage?: CompletionUsage | null;
}
