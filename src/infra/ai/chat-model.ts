/**
 * The ChatModel port on an OpenAI-compatible endpoint: maps a ChatRequest to a streamed
 * chat completion and its chunks to delta and finish events.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
import { hash } from 'node:crypto';
import type { ChatPromptMessage, ChatRequest, ChatStreamEvent, ChatUsage } from '../../domain/chat.js';
import type { ChatModel } from '../../ports/index.js';
import type { ChatCompletionMessageParam, ChatCompletionParams, CompletionUsage } from './chat-types.js';
import type { OpenAIClient } from './client.js';

/** Salt of the end-user hash, so our hashes do not match other services' hashes of the same ids. */
const END_USER_SALT = 'switchboard:';
/** Hex characters kept of the sha256: 128 bits, well within the 64-character limit. */
const END_USER_HASH_LENGTH = 32;
/** OpenAI's limit on a message `name`. */
const MAX_NAME_LENGTH = 64;

/**
 * Options of createOpenAIChatModel.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
export interface OpenAIChatModelOptions {
  readonly client: Pick<OpenAIClient, 'streamChatCompletion'>;
  /** The model to ask, e.g. `gpt-4o-mini`; a request's own `model` overrides it. */
  readonly model: string;
  /** Told the usage of every completion that reported one, with the model asked: the metrics hook. */
  readonly onUsage?: (model: string, usage: ChatUsage) => void;
}

/**
 * A ChatModel that streams from the endpoint behind `client`.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export function createOpenAIChatModel(options: OpenAIChatModelOptions): ChatModel {
  if (!options.model) throw new TypeError('createOpenAIChatModel: model is required');
  const { client, model, onUsage } = options;
  return {
    info: { model, demo: false },
    async *streamChat(request, signal) {
      const params = toCompletionParams(request, model);
      const chunks = client.streamChatCompletion(params, { signal });
      let reason: string | null = null;
      let usage: ChatUsage | undefined;
      for await (const chunk of chunks) {
        if (chunk.usage) usage = toUsage(chunk.usage);
        for (const choice of chunk.choices ?? []) {
          if (choice.index !== 0) continue;
          // A refusal is the model's answer too; the user should read it.
          const text = choice.delta?.content ?? choice.delta?.refusal;
          if (text) yield { type: 'delta', text } satisfies ChatStreamEvent;
          if (choice.finish_reason) reason = choice.finish_reason;
        }
      }
      if (usage) reportUsage(onUsage, params.model, usage);
      yield usage ? { type: 'finish', reason, usage } : { type: 'finish', reason };
    },
  };
}

/**
 * The request body for a ChatRequest: sanitized names, `max_completion_tokens`, and a
 * hashed `user`.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
export function toCompletionParams(request: ChatRequest, defaultModel: string): ChatCompletionParams {
  return {
    model: request.model || defaultModel,
    messages: request.messages.map(toMessageParam),
    ...(request.maxTokens === undefined ? {} : { max_completion_tokens: request.maxTokens }),
    ...(request.endUser ? { user: hashEndUser(request.endUser) } : {}),
  };
}

/**
 * A stable, opaque stand-in for an end-user id: the first 32 hex characters of
 * sha256(`switchboard:` + id). Raw platform ids never leave the service.
 * See https://platform.openai.com/docs/guides/safety-best-practices#safety-identifiers
 */
export function hashEndUser(endUser: string): string {
  // The one-shot hash: no Hash object per request (on Node 20 those live until a full GC).
  return hash('sha256', `${END_USER_SALT}${endUser}`, 'hex').slice(0, END_USER_HASH_LENGTH);
}

/**
 * Makes a display name fit `^[a-zA-Z0-9_-]{1,64}$`: accents are dropped, other runs of
 * characters become `_`; undefined when nothing is left.
 * See https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 */
export function sanitizeName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const cleaned = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_NAME_LENGTH);
  return cleaned === '' ? undefined : cleaned;
}

function toMessageParam(message: ChatPromptMessage): ChatCompletionMessageParam {
  const name = sanitizeName(message.name);
  return name === undefined
    ? { role: message.role, content: message.content }
    : { role: message.role, content: message.content, name };
}

function reportUsage(onUsage: OpenAIChatModelOptions['onUsage'], model: string, usage: ChatUsage): void {
  try {
    onUsage?.(model, usage);
  } catch {
    // Metrics never fail an answer.
  }
}

function toUsage(usage: CompletionUsage): ChatUsage {
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
  };
}
