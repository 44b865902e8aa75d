/**
 * The ChatModel port on an OpenAI-compatible endpoint: maps a ChatRequest to a streamed
 * chat completion and its chunks to delta and finish events.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
import { hash } from 'node:crypto';
import type { ChatPromptMessage, ChatRequest, ChatStreamEvent, ChatUsage } from '../../domain/chat.js';
import { AiApiError } from '../../domain/errors.js';
import { reasoningSupport } from '../../domain/reasoning.js';
import { ThinkFilter, type SplitText } from '../../domain/think-filter.js';
import type { ChatModel } from '../../ports/index.js';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionParams, CompletionUsage } from './chat-types.js';
import type { OpenAIClient } from './client.js';

/** Salt of the end-user hash, so our hashes do not match other services' hashes of the same ids. */
const END_USER_SALT = 'switchboard:';
/** Hex characters kept of the sha256: 128 bits, well within the 64-character limit. */
const END_USER_HASH_LENGTH = 32;
/** OpenAI's limit on a message `name`. */
const MAX_NAME_LENGTH = 64;
/** Models remembered as refusing `reasoning_effort`; a bound on a list that only a misconfiguration grows. */
const MAX_REMEMBERED_MODELS = 100;

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
  // Models of unknown names that refused `reasoning_effort`: asked without it from then on.
  const refusedEffort = new Set<string>();
  return {
    info: { model, demo: false },
    async *streamChat(request, signal) {
      const params = toCompletionParams(request, model, refusedEffort);
      const chunks = withoutEffortIfRefused(client, params, signal, refusedEffort);
      let reason: string | null = null;
      let usage: ChatUsage | undefined;
      // A model that writes its thinking into the answer (`<think>…</think>`) has it taken out here.
      const thinking = new ThinkFilter();
      for await (const chunk of chunks) {
        if (chunk.usage) usage = toUsage(chunk.usage);
        for (const choice of chunk.choices ?? []) {
          if (choice.index !== 0) continue;
          const thought = choice.delta?.reasoning_content ?? choice.delta?.reasoning;
          if (thought) yield { type: 'reasoning', text: thought } satisfies ChatStreamEvent;
          // A refusal is the model's answer too; the user should read it.
          const text = choice.delta?.content ?? choice.delta?.refusal;
          if (text) yield* events(thinking.push(text));
          if (choice.finish_reason) reason = choice.finish_reason;
        }
      }
      yield* events(thinking.finish());
      if (usage) reportUsage(onUsage, params.model, usage);
      yield usage ? { type: 'finish', reason, usage } : { type: 'finish', reason };
    },
  };
}

/** The events of one split delta: thinking first, then answer. */
function* events(split: SplitText): Generator<ChatStreamEvent> {
  if (split.reasoning !== '') yield { type: 'reasoning', text: split.reasoning };
  if (split.answer !== '') yield { type: 'delta', text: split.answer };
}

/**
 * The stream of `params`; when the endpoint refuses its `reasoning_effort` (a 400 naming
 * it, before anything streamed), the same request again without it, and the model is
 * remembered as one that does not take it.
 */
async function* withoutEffortIfRefused(
  client: Pick<OpenAIClient, 'streamChatCompletion'>,
  params: ChatCompletionParams,
  signal: AbortSignal,
  refused: Set<string>,
): AsyncGenerator<ChatCompletionChunk> {
  const iterator = client.streamChatCompletion(params, { signal })[Symbol.asyncIterator]();
  let first: IteratorResult<ChatCompletionChunk>;
  try {
    first = await iterator.next();
  } catch (error) {
    if (params.reasoning_effort === undefined || !refusesEffort(error)) throw error;
    if (refused.size >= MAX_REMEMBERED_MODELS) refused.clear();
    refused.add(params.model);
    const { reasoning_effort: _refused, ...without } = params;
    yield* client.streamChatCompletion(without, { signal });
    return;
  }
  try {
    for (let next = first; !next.done; next = await iterator.next()) yield next.value;
  } finally {
    await iterator.return?.();
  }
}

function refusesEffort(error: unknown): boolean {
  return error instanceof AiApiError && error.status === 400 && (error.apiParam === 'reasoning_effort' || error.message.includes('reasoning_effort'));
}

/**
 * The request body for a ChatRequest: sanitized names, `max_completion_tokens`, a hashed
 * `user`, and `reasoning_effort` for a model that takes it (by its name, unless it
 * refused it before).
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
export function toCompletionParams(request: ChatRequest, defaultModel: string, refusedEffort: ReadonlySet<string> = new Set()): ChatCompletionParams {
  const model = request.model || defaultModel;
  const effort = request.reasoningEffort !== undefined && reasoningSupport(model) !== 'no' && !refusedEffort.has(model) ? request.reasoningEffort : undefined;
  return {
    model,
    messages: request.messages.map(toMessageParam),
    ...(request.maxTokens === undefined ? {} : { max_completion_tokens: request.maxTokens }),
    ...(request.endUser ? { user: hashEndUser(request.endUser) } : {}),
    ...(effort === undefined ? {} : { reasoning_effort: effort }),
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
