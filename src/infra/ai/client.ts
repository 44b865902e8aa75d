/**
 * The one OpenAI-compatible HTTP client: chat (JSON and SSE stream), audio transcription
 * and translation (multipart), image generation, edits and variations (multipart),
 * moderation and the model list, on undici with one keep-alive Agent, the retry policy
 * of retry.ts and the error classes of src/domain.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
import { Agent, FormData, type Dispatcher } from 'undici';
import type {
  ImageEditParams,
  ImageParams,
  ImagesResponse,
  ImageVariationParams,
  ModelList,
  ModerationParams,
  ModerationResponse,
  Transcription,
  TranscriptionParams,
  TranslationParams,
} from './api-types.js';
import { streamChatChunks } from './chat-stream.js';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionParams } from './chat-types.js';
import { createRedactor, malformedBodyError } from './http-errors.js';
import { imageEditForm, imageVariationForm, translationForm } from './media-forms.js';
import { abortableSleep, readText, send, type HttpCall, type HttpSettings, type RequestObserver } from './http.js';
import { aiRequestPolicy, DEFAULT_MAX_RETRIES } from './retry.js';
import type { UpstreamGate } from './upstream-gate.js';

/** Total time for a JSON call; the longest silence between two chunks of a stream. */
export const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_USER_AGENT = 'switchboard/0.1 (undici)';
/** Transcription formats whose body is the text itself rather than JSON. */
const PLAIN_TEXT_FORMATS = new Set(['text', 'srt', 'vtt']);
/** A header value we can send: visible ASCII, no spaces (keys and org ids are such). */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Options of createOpenAIClient.
 * See https://platform.openai.com/docs/api-reference/authentication
 */
export interface OpenAIClientOptions {
  /** Base URL including the version, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set; never appears in errors. */
  readonly apiKey?: string;
  /** Sent as `OpenAI-Organization` when set. */
  readonly organization?: string;
  /** Total for a JSON call, idle between chunks for a stream. Default 60 s. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 2. */
  readonly maxRetries?: number;
  /** Connection pool; by default the client owns a keep-alive Agent (closed by close()). */
  readonly dispatcher?: Dispatcher;
  readonly userAgent?: string;
  /** Waits between retries; injectable so tests record delays instead of sleeping. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told of every attempt of every request (endpoint, status, seconds to headers): the metrics hook. */
  readonly observe?: RequestObserver;
  /** Where requests wait for the endpoint's rate limits, shared by every process (upstream-gate.ts); none: they go at once. */
  readonly gate?: UpstreamGate;
}

/**
 * Per-call options: aborting `signal` aborts the request and rejects with its reason.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/**
 * An OpenAI-compatible API client. Methods reject with AiApiError, AiNetworkError,
 * AiTimeoutError or AiStreamError (src/domain/errors.ts), or the signal's abort reason.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export interface OpenAIClient {
  /** See https://platform.openai.com/docs/api-reference/chat/create */
  createChatCompletion(params: ChatCompletionParams, options?: RequestOptions): Promise<ChatCompletion>;
  /**
   * Breaking out of the iteration (or aborting) aborts the request.
   * See https://platform.openai.com/docs/api-reference/chat-streaming
   */
  streamChatCompletion(params: ChatCompletionParams, options?: RequestOptions): AsyncIterable<ChatCompletionChunk>;
  /** See https://platform.openai.com/docs/api-reference/audio/createTranscription */
  createTranscription(params: TranscriptionParams, options?: RequestOptions): Promise<Transcription>;
  /** See https://platform.openai.com/docs/api-reference/audio/createTranslation */
  createTranslation(params: TranslationParams, options?: RequestOptions): Promise<Transcription>;
  /** See https://platform.openai.com/docs/api-reference/images/create */
  createImage(params: ImageParams, options?: RequestOptions): Promise<ImagesResponse>;
  /** See https://platform.openai.com/docs/api-reference/images/createEdit */
  editImage(params: ImageEditParams, options?: RequestOptions): Promise<ImagesResponse>;
  /** See https://platform.openai.com/docs/api-reference/images/createVariation */
  createImageVariation(params: ImageVariationParams, options?: RequestOptions): Promise<ImagesResponse>;
  /** See https://platform.openai.com/docs/api-reference/moderations/create */
  createModeration(params: ModerationParams, options?: RequestOptions): Promise<ModerationResponse>;
  /** See https://platform.openai.com/docs/api-reference/models/list */
  listModels(options?: RequestOptions): Promise<ModelList>;
  /** Closes the connection pool if the client created it. */
  close(): Promise<void>;
}

/**
 * Creates a client; throws at once on an invalid option.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAIClient {
  const settings = settingsFrom(options);
  const ownAgent = options.dispatcher === undefined ? (settings.dispatcher as Agent) : undefined;

  const json = <T>(call: Omit<HttpCall, 'accept'>): Promise<T> =>
    send(settings, { ...call, accept: 'application/json' }, async (response) => {
      const text = await readText(response);
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw malformedBodyError(response.statusCode, `${call.method} ${call.path}`, cause, settings.redact);
      }
    });

  return {
    createChatCompletion: (params, { signal } = {}) =>
      json({ method: 'POST', path: '/chat/completions', json: { ...params, stream: false }, signal, lane: params.model }),

    streamChatCompletion: (params, { signal } = {}) => streamChatChunks(settings, params, signal),

    async createTranscription(params, { signal } = {}) {
      const format = params.responseFormat;
      const call = { method: 'POST', path: '/audio/transcriptions', form: () => transcriptionForm(params), signal, lane: params.model } as const;
      if (format !== undefined && PLAIN_TEXT_FORMATS.has(format)) {
        return { text: await send(settings, { ...call, accept: 'text/plain' }, readText) };
      }
      const body = await json<Transcription>(call);
      return {
        text: body.text,
        ...(body.language === undefined ? {} : { language: body.language }),
        ...(body.duration === undefined ? {} : { duration: body.duration }),
      };
    },

    async createTranslation(params, { signal } = {}) {
      const call = { method: 'POST', path: '/audio/translations', form: () => translationForm(params), signal, lane: params.model } as const;
      if (params.responseFormat !== undefined && PLAIN_TEXT_FORMATS.has(params.responseFormat)) {
        return { text: await send(settings, { ...call, accept: 'text/plain' }, readText) };
      }
      const body = await json<Transcription>(call);
      return { text: body.text };
    },

    editImage: (params, { signal } = {}) =>
      json({ method: 'POST', path: '/images/edits', form: () => imageEditForm(params), signal, lane: params.model }),

    createImageVariation: (params, { signal } = {}) =>
      json({ method: 'POST', path: '/images/variations', form: () => imageVariationForm(params), signal, lane: params.model }),

    createImage: (params, { signal } = {}) =>
      json({
        method: 'POST',
        path: '/images/generations',
        json: {
          prompt: params.prompt,
          model: params.model,
          ...(params.size === undefined ? {} : { size: params.size }),
          ...(params.n === undefined ? {} : { n: params.n }),
          ...(params.responseFormat === undefined ? {} : { response_format: params.responseFormat }),
          ...(params.user === undefined ? {} : { user: params.user }),
        },
        signal,
        lane: params.model,
      }),

    createModeration: (params, { signal } = {}) =>
      json({
        method: 'POST',
        path: '/moderations',
        json: { input: params.input, ...(params.model === undefined ? {} : { model: params.model }) },
        signal,
        ...(params.model === undefined ? {} : { lane: params.model }),
      }),

    listModels: ({ signal } = {}) => json({ method: 'GET', path: '/models', signal }),

    async close() {
      await ownAgent?.close();
    },
  };
}

function transcriptionForm(params: TranscriptionParams): FormData {
  const form = new FormData();
  const file =
    params.file instanceof Blob
      ? params.file
      : // A copy: Blob wants an ArrayBuffer-backed view, a Buffer may sit on a shared pool.
        new Blob([new Uint8Array(params.file)], params.mimeType === undefined ? {} : { type: params.mimeType });
  form.append('file', file, params.filename);
  form.append('model', params.model);
  if (params.language !== undefined) form.append('language', params.language);
  if (params.prompt !== undefined) form.append('prompt', params.prompt);
  if (params.responseFormat !== undefined) form.append('response_format', params.responseFormat);
  return form;
}

function settingsFrom(options: OpenAIClientOptions): HttpSettings {
  const problems: string[] = [];
  let baseUrl = '';
  try {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('baseUrl must be http(s)');
    baseUrl = url.href.replace(/\/+$/, '');
  } catch {
    problems.push('baseUrl is not a valid URL');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) problems.push('timeoutMs must be a positive number');
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) problems.push('maxRetries must be a non-negative integer');
  // The key itself is never quoted, even in this message.
  if (options.apiKey && !TOKEN_PATTERN.test(options.apiKey)) problems.push('apiKey contains spaces or control characters');
  if (options.organization && !TOKEN_PATTERN.test(options.organization)) problems.push('organization is not a valid header value');
  if (problems.length > 0) throw new TypeError(`Invalid OpenAI client options: ${problems.join('; ')}`);
  return {
    baseUrl,
    apiKey: options.apiKey || undefined,
    organization: options.organization || undefined,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    timeoutMs,
    retryPolicy: aiRequestPolicy(maxRetries),
    dispatcher: options.dispatcher ?? new Agent(),
    sleep: options.sleep ?? abortableSleep,
    redact: createRedactor(options.apiKey),
    observe: options.observe,
    gate: options.gate,
  };
}
