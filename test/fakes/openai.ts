/**
 * A protocol-level fake of an OpenAI-compatible server for tests: chat completions (JSON
 * and SSE), audio transcriptions and translations (multipart), image generation, image
 * edits and variations (multipart, openai-media.ts), moderations and the model list, on
 * 127.0.0.1. It records every request, checks bodies against the official
 * OpenAPI spec (test/fakes/openapi-validator.ts), answers errors in OpenAI's shape and
 * misbehaves on demand (status codes with retry headers, cut, slow, hung or malformed
 * answers). API: https://platform.openai.com/docs/api-reference
 *
 * Order of checks for each request: body size, route (404/405), API key, body parse and
 * spec validation (400, recorded in `violations`), then the next matching fault, then
 * the normal answer. A request refused before the fault step does not consume a fault.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  validateJsonRequest,
  validateMultipartRequest,
  type MultipartFile,
  type RequestViolation,
} from './openapi-validator.js';
import { createPng, type Rgb } from '../../src/infra/ai/png.js';
import { parseMultipart } from './multipart.js';
import { imageEdit, imageVariation, translation, type MediaRequest } from './openai-media.js';
import { createUpstreamLimits, estimatedTokens, type FakeUpstreamLimits, type UpstreamLimits } from './openai-rate-limits.js';

export type { MultipartFile } from './openapi-validator.js';

/** Listen address: tests never expose the fake beyond the loopback interface. */
const HOST = '127.0.0.1';
/** The API's path prefix; image downloads live outside it, like OpenAI's blob URLs. */
const API_PREFIX = '/v1';
/** OpenAI's request content limit (it answers 413 past it). */
const MAX_CONTENT_BYTES = 26_214_400;
/** Extensions the transcription endpoint accepts, as documented in the spec. */
export const TRANSCRIPTION_EXTENSIONS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'ogg', 'wav', 'webm'] as const;
/** Marker at the start of an uploaded file that makes the fake call it corrupted. */
const CORRUPT_AUDIO_MARKER = 'NOT AUDIO';
/** A prompt containing this is refused by the fake's "safety system". */
const FORBIDDEN_PROMPT_MARKER = 'FORBIDDEN';
/** Defaults of the settable behaviour. */
const DEFAULT_STREAM_CHUNK_SIZE = 8;
const DEFAULT_TRANSCRIPT = 'hello from the fake transcription';
const DEFAULT_TRANSLATION = 'hello from the fake translation';
/** Score of a moderation category no rule hit. */
const BASELINE_MODERATION_SCORE = 0.0001;
/** Score at or above which a category (and the result) is flagged. */
const MODERATION_FLAG_THRESHOLD = 0.5;
/** Token accounting is rough on purpose: words, plus a fixed cost per message. */
const TOKENS_PER_MESSAGE = 4;
/** Model ids the fake lists. */
const MODEL_IDS = [
  'gpt-4o-mini',
  'gpt-4o',
  'whisper-1',
  'gpt-4o-mini-transcribe',
  'gpt-image-1',
  'dall-e-2',
  'dall-e-3',
  'omni-moderation-latest',
  'o4-mini',
  'gpt-5-mini',
] as const;
/**
 * Models that take `reasoning_effort`, as OpenAI names them; any other model answers 400
 * `unsupported_parameter` to it, like the live API.
 * https://platform.openai.com/docs/guides/reasoning
 */
const REASONING_MODEL = /^(?:o[1-9](?![0-9])|gpt-5(?!(?:\.\d+)?-chat))/;
/** A fixed `created` for listed models (2024-07-18), so answers are deterministic. */
const MODEL_CREATED = 1_721_260_800;

/** The 13 moderation categories of `CreateModerationResponse`. */
export const MODERATION_CATEGORIES = [
  'hate',
  'hate/threatening',
  'harassment',
  'harassment/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

/** One moderation category name. */
export type ModerationCategory = (typeof MODERATION_CATEGORIES)[number];

/** Categories the live API also scores on images (the rest say only `text`). */
const IMAGE_MODERATION_CATEGORIES: ReadonlySet<ModerationCategory> = new Set([
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'violence',
  'violence/graphic',
]);

/** Sets a category's score when `match` is found in an input (a string is a substring). */
export interface ModerationRule {
  match: string | RegExp;
  category: ModerationCategory;
  score: number;
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** The URL path as received, without the query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Header names lowercased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Parsed JSON; for multipart, the fields (files as `MultipartFile`); else the raw text. */
  body: unknown;
  /** `Date.now()` when the body had been read. */
  at: number;
}

/** A chat completion request body as the fake sees it (validated against the spec first). */
export interface ChatRequestBody {
  model: string;
  messages: Array<{ role: string; content?: unknown; name?: string }>;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  [key: string]: unknown;
}

/** A misbehaviour for the next matching request(s). */
export type Fault = {
  /** Path the fault applies to, with or without `/v1` (default: any). */
  path?: string;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Instead of a count: every matching request until this time (ms since the epoch), e.g. a 429 storm. */
  until?: number;
} & (
  | {
      kind: 'status';
      status: number;
      retryAfter?: string;
      retryAfterMs?: string;
      code?: string | null;
      type?: string;
      message?: string;
    }
  /** SSE: send N content chunks then destroy the socket (no `[DONE]`); JSON: half a body. */
  | { kind: 'cut-stream'; afterChunks: number }
  /** Wait before answering headers, then answer normally. */
  | { kind: 'slow'; delayMs: number }
  /** Never answer; the socket is destroyed by `stop()`. */
  | { kind: 'hang' }
  /** 200 with a body that is not JSON (or SSE lines that are not JSON). */
  | { kind: 'malformed' }
);

/** Options of `createFakeOpenAI`; the settable ones are also fields of the fake. */
export interface FakeOpenAIOptions {
  /** When set, every `/v1` request must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Text every transcription returns (unless `transcriptReply` is replaced). */
  transcript?: string;
  chatReply?: (body: ChatRequestBody) => string;
  streamChunkSize?: number;
  streamDelayMs?: number;
  /** Stream one word (with its following space) per chunk instead of `streamChunkSize` code points. */
  streamByWord?: boolean;
  /** Wait this long after the role chunk before the first content chunk (a model's time to first token). */
  firstTokenDelayMs?: number;
  /** Requests and tokens per minute, kept and reported like the live API (unlimited by default). */
  rateLimits?: UpstreamLimits;
  /** Told how long each chat stream took from its first byte to its end (the benchmark reports the model's real timing). */
  onStreamEnd?: (ms: number) => void;
  moderationRules?: ModerationRule[];
  imageFormat?: 'b64_json' | 'url';
  /** Check request bodies against the OpenAPI spec (default true). */
  validate?: boolean;
  /** What a reasoning model thinks before its answer (default: nothing); see `reasoningStyle`. */
  chatReasoning?: (body: ChatRequestBody) => string | undefined;
  /** How the thinking streams (default `think-tags`). */
  reasoningStyle?: ReasoningStyle;
}

/**
 * How a reasoning model's thinking reaches the client: `think-tags` inside the content,
 * before the answer, as open models served without a reasoning parser write it
 * (DeepSeek-R1, QwQ: `<think>…</think>`); `reasoning_content` in deltas of its own, as
 * DeepSeek's API and vLLM's reasoning parsers stream it (not in OpenAI's spec, which
 * streams no reasoning).
 */
export type ReasoningStyle = 'think-tags' | 'reasoning_content';

/** The running fake; see the module comment for the order of checks. */
export interface FakeOpenAI {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:1234/v1`. */
  readonly url: string;
  /** Every request, in order of arrival. */
  readonly requests: RecordedRequest[];
  /** Spec and protocol violations seen, one line each; each was also answered 400 (404/405 for bad routes). */
  readonly violations: string[];
  /** Reply text of a chat completion; default `Echo: <last user message text>`. */
  chatReply: (body: ChatRequestBody) => string;
  /** Thinking streamed before the reply (FakeOpenAIOptions.chatReasoning). */
  chatReasoning: (body: ChatRequestBody) => string | undefined;
  reasoningStyle: ReasoningStyle;
  /** Text of a transcription; default `options.transcript` or a fixed sentence. */
  transcriptReply: (file: MultipartFile, fields: Record<string, unknown>) => string;
  /** English text of a translation; default a fixed sentence. */
  translationReply: (file: MultipartFile, fields: Record<string, unknown>) => string;
  /** Characters (code points) per SSE content chunk. */
  streamChunkSize: number;
  /** Delay between SSE chunks. */
  streamDelayMs: number;
  streamByWord: boolean;
  firstTokenDelayMs: number;
  /** The rate limits: `limits.set({ requestsPerMinute })` changes them (a 429 storm, or its end). */
  readonly limits: FakeUpstreamLimits;
  moderationRules: ModerationRule[];
  /** Image format when the request does not say. */
  imageFormat: 'b64_json' | 'url';
  /** Queues a fault (FIFO); each applies to the next `times` matching requests. */
  enqueueFault(fault: Fault): void;
  /** Requests to a path, given with or without `/v1` (e.g. `/chat/completions`). */
  requestsTo(path: string): RecordedRequest[];
  /** Clears requests, violations, faults and stored images; restores settable fields to their initial values. */
  reset(): void;
  /** Closes the server and every open socket, hung requests included. */
  stop(): Promise<void>;
}

/** The body of every error answer, as in the spec's `ErrorResponse`. */
interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  readonly path: RegExp;
  readonly method: 'GET' | 'POST';
  readonly handler: Handler;
  /** Path template in the spec (without `/v1`) whose request body is validated. */
  readonly specPath?: string;
  readonly multipart?: boolean;
  readonly auth: boolean;
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: unknown;
  readonly match: RegExpMatchArray;
  /** A `cut-stream` fault for this request, if one matched. */
  readonly cutAfter: number | undefined;
  readonly malformed: boolean;
}

type QueuedFault = Fault & { remaining: number };

/** Starts the fake on a free port of 127.0.0.1. */
export async function createFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const validate = options.validate ?? true;
  const defaults = {
    chatReply: options.chatReply ?? defaultChatReply,
    chatReasoning: options.chatReasoning ?? ((): string | undefined => undefined),
    reasoningStyle: options.reasoningStyle ?? ('think-tags' as ReasoningStyle),
    transcriptReply: () => options.transcript ?? DEFAULT_TRANSCRIPT,
    translationReply: () => DEFAULT_TRANSLATION,
    streamChunkSize: options.streamChunkSize ?? DEFAULT_STREAM_CHUNK_SIZE,
    streamDelayMs: options.streamDelayMs ?? 0,
    streamByWord: options.streamByWord ?? false,
    firstTokenDelayMs: options.firstTokenDelayMs ?? 0,
    moderationRules: () => [...(options.moderationRules ?? [])],
    imageFormat: options.imageFormat ?? 'b64_json',
  };
  if (!Number.isInteger(defaults.streamChunkSize) || defaults.streamChunkSize < 1) {
    throw new Error(`createFakeOpenAI: streamChunkSize must be a positive integer, got ${defaults.streamChunkSize}`);
  }
  const faults: QueuedFault[] = [];
  const images = new Map<string, Buffer>();
  const stopping = new AbortController();
  let origin = '';

  const fake: FakeOpenAI = {
    get url() {
      return `${origin}${API_PREFIX}`;
    },
    requests: [],
    violations: [],
    chatReply: defaults.chatReply,
    chatReasoning: defaults.chatReasoning,
    reasoningStyle: defaults.reasoningStyle,
    transcriptReply: defaults.transcriptReply,
    translationReply: defaults.translationReply,
    streamChunkSize: defaults.streamChunkSize,
    streamDelayMs: defaults.streamDelayMs,
    streamByWord: defaults.streamByWord,
    firstTokenDelayMs: defaults.firstTokenDelayMs,
    limits: createUpstreamLimits(options.rateLimits),
    moderationRules: defaults.moderationRules(),
    imageFormat: defaults.imageFormat,
    enqueueFault(fault) {
      const times = fault.times ?? 1;
      if (!Number.isInteger(times) || times < 1) throw new Error(`enqueueFault: times must be a positive integer, got ${times}`);
      faults.push({ ...fault, remaining: times });
    },
    requestsTo(path) {
      return fake.requests.filter((r) => samePath(r.path, path));
    },
    reset() {
      fake.requests.length = 0;
      fake.violations.length = 0;
      faults.length = 0;
      images.clear();
      fake.chatReply = defaults.chatReply;
      fake.chatReasoning = defaults.chatReasoning;
      fake.reasoningStyle = defaults.reasoningStyle;
      fake.transcriptReply = defaults.transcriptReply;
      fake.translationReply = defaults.translationReply;
      fake.streamChunkSize = defaults.streamChunkSize;
      fake.streamDelayMs = defaults.streamDelayMs;
      fake.streamByWord = defaults.streamByWord;
      fake.firstTokenDelayMs = defaults.firstTokenDelayMs;
      fake.limits.set(options.rateLimits ?? {});
      fake.moderationRules = defaults.moderationRules();
      fake.imageFormat = defaults.imageFormat;
    },
    stop: () => stopServer(server, stopping),
  };

  // Paused streams are woken by the stop through one listener, not one each: an
  // EventTarget's listeners are a list it walks on every add, so thousands of streams
  // pausing on one signal cost more than the streams themselves.
  const paused = new Set<() => void>();
  stopping.signal.addEventListener('abort', () => {
    for (const wake of paused) wake();
  });
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopping.signal.aborted || ms <= 0) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        paused.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      paused.add(wake);
    });

  const routes: Route[] = [
    { method: 'POST', path: /^\/v1\/chat\/completions$/, specPath: '/chat/completions', auth: true, handler: (ctx) => chat(ctx) },
    {
      method: 'POST',
      path: /^\/v1\/audio\/transcriptions$/,
      specPath: '/audio/transcriptions',
      multipart: true,
      auth: true,
      handler: (ctx) => transcription(ctx),
    },
    {
      method: 'POST',
      path: /^\/v1\/images\/generations$/,
      specPath: '/images/generations',
      auth: true,
      handler: (ctx) => image(ctx),
    },
    { method: 'POST', path: /^\/v1\/moderations$/, specPath: '/moderations', auth: true, handler: (ctx) => moderation(ctx) },
    {
      method: 'POST',
      path: /^\/v1\/audio\/translations$/,
      specPath: '/audio/translations',
      multipart: true,
      auth: true,
      handler: (ctx) => translation(media(ctx), fake.translationReply),
    },
    { method: 'POST', path: /^\/v1\/images\/edits$/, specPath: '/images/edits', multipart: true, auth: true, handler: (ctx) => imageEdit(media(ctx)) },
    {
      method: 'POST',
      path: /^\/v1\/images\/variations$/,
      specPath: '/images/variations',
      multipart: true,
      auth: true,
      handler: (ctx) => imageVariation(media(ctx)),
    },
    {
      method: 'GET',
      path: /^\/v1\/models$/,
      auth: true,
      handler: (ctx) => sendJson(ctx.res, 200, { object: 'list', data: MODEL_IDS.map(modelObject) }),
    },
    { method: 'GET', path: /^\/v1\/models\/([^/]+)$/, auth: true, handler: (ctx) => retrieveModel(ctx) },
    { method: 'GET', path: /^\/files\/([A-Za-z0-9_-]+)\.png$/, auth: false, handler: (ctx) => downloadImage(ctx) },
  ];

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendError(res, 500, { message: `The fake failed: ${String(error)}`, type: 'server_error', param: null, code: null });
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://fake.invalid').pathname;
    const method = req.method ?? 'GET';
    const headers = flattenHeaders(req);
    const raw = await readBody(req, MAX_CONTENT_BYTES);
    const record: RecordedRequest = { method, path: pathname, headers, body: undefined, at: Date.now() };
    fake.requests.push(record);
    if (raw.exceeded) {
      sendError(res, 413, {
        message: `Maximum content size limit (${MAX_CONTENT_BYTES}) exceeded (${raw.bytesRead} bytes read)`,
        type: 'server_error',
        param: null,
        code: null,
      });
      return;
    }
    const parsed = await parseBody(headers['content-type'] ?? '', raw.data);
    record.body = parsed.body;

    const candidates = routes.filter((r) => r.path.test(pathname));
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      const methodOk = candidates.length > 0;
      const message = `${methodOk ? 'Invalid method for URL' : 'Invalid URL'} (${method} ${pathname})`;
      fake.violations.push(message);
      if (methodOk) res.setHeader('allow', candidates.map((r) => r.method).join(', '));
      sendError(res, methodOk ? 405 : 404, { message, type: 'invalid_request_error', param: null, code: null });
      return;
    }
    const api = pathname.startsWith(`${API_PREFIX}/`);
    if (api) setApiHeaders(res);
    if (route.auth && options.apiKey !== undefined) {
      const refusal = checkApiKey(headers['authorization'], options.apiKey);
      if (refusal) return sendError(res, 401, refusal);
    }
    if (route.specPath) {
      const refusal = checkBody(route, method, parsed);
      if (refusal) {
        fake.violations.push(refusal.line);
        return sendError(res, 400, refusal.error);
      }
    }

    if (api && method === 'POST') {
      const body = parsed.body as { model?: unknown } | undefined;
      const decision = fake.limits.decide(estimatedTokens(parsed.body), typeof body?.model === 'string' ? body.model : 'the model');
      for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
      if (decision.refusal) {
        return sendError(res, 429, { message: decision.refusal.message, type: decision.refusal.type, param: null, code: 'rate_limit_exceeded' });
      }
    } else if (api) {
      for (const [name, value] of Object.entries(fake.limits.headers())) res.setHeader(name, value);
    }

    const fault = takeFault(pathname);
    if (fault?.kind === 'status') return sendFault(res, fault);
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'slow') await pause(fault.delayMs);
    if (stopping.signal.aborted) return;
    await route.handler({
      req,
      res,
      body: parsed.body,
      match: pathname.match(route.path) as RegExpMatchArray,
      cutAfter: fault?.kind === 'cut-stream' ? fault.afterChunks : undefined,
      malformed: fault?.kind === 'malformed',
    });
  }

  function checkBody(route: Route, method: string, parsed: ParsedBody): { line: string; error: ApiError } | null {
    const where = `${method} ${API_PREFIX}${route.specPath ?? ''}`;
    if (route.multipart && parsed.kind !== 'multipart') {
      const detail = parsed.kind === 'invalid' ? parsed.error : undefined;
      return protocolRefusal(where, `expected multipart/form-data, got ${parsed.kind}`, detail);
    }
    if (!route.multipart && parsed.kind !== 'json') {
      return protocolRefusal(
        where,
        `expected a JSON body, got ${parsed.kind}`,
        'We could not parse the JSON body of your request. (HINT: This likely means you ' +
          "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, " +
          'but what was sent was not valid JSON.)',
      );
    }
    if (!validate) return null;
    const violation: RequestViolation | null = route.multipart
      ? validateMultipartRequest(method, route.specPath ?? '', parsed.body as Record<string, unknown>)
      : validateJsonRequest(method, route.specPath ?? '', parsed.body);
    if (violation) {
      return {
        line: `${where} ${violation.summary}`,
        error: { message: violation.message, type: 'invalid_request_error', param: violation.param, code: violation.code },
      };
    }
    const body = parsed.body as ChatRequestBody;
    if (route.specPath === '/chat/completions' && body.reasoning_effort != null && !REASONING_MODEL.test(body.model)) {
      // What the live API answers a chat model asked to reason.
      const message = "Unsupported parameter: 'reasoning_effort' is not supported with this model.";
      return {
        line: `${where} createChatCompletion: ${message} (${body.model})`,
        error: { message, type: 'invalid_request_error', param: 'reasoning_effort', code: 'unsupported_parameter' },
      };
    }
    if (route.specPath === '/chat/completions' && body.stream_options != null && body.stream !== true) {
      // An API rule the schema cannot express.
      const message = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
      return {
        line: `${where} createChatCompletion: ${message}`,
        error: { message, type: 'invalid_request_error', param: 'stream_options', code: 'invalid_value' },
      };
    }
    return null;
  }

  function takeFault(pathname: string): QueuedFault | undefined {
    const index = faults.findIndex((f) => f.path === undefined || samePath(pathname, f.path));
    const fault = faults[index];
    if (!fault) return undefined;
    if (fault.until !== undefined) {
      if (Date.now() < fault.until) return fault;
      faults.splice(index, 1);
      return takeFault(pathname);
    }
    fault.remaining -= 1;
    if (fault.remaining === 0) faults.splice(index, 1);
    return fault;
  }

  async function chat(ctx: RequestContext): Promise<void> {
    const body = ctx.body as ChatRequestBody;
    const limit = body.max_completion_tokens ?? body.max_tokens ?? undefined;
    const full = fake.chatReply(body);
    const reply = limit === undefined ? full : truncateToWords(full, limit);
    const finishReason = reply.length < full.length ? 'length' : 'stop';
    const thinking = fake.chatReasoning(body);
    const inTags = thinking !== undefined && fake.reasoningStyle === 'think-tags';
    const content = inTags ? `<think>\n${thinking}\n</think>\n\n${reply}` : reply;
    const usage = usageOf(body, reply, thinking);
    const base = {
      id: `chatcmpl-${randomId()}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
    };
    if (body.stream !== true) {
      if (ctx.malformed) {
        return sendRaw(ctx.res, 200, 'application/json', `{"id":"${base.id}","object":"chat.completion","choices":[{`);
      }
      const completion = {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content,
              refusal: null,
              annotations: [],
              ...(thinking !== undefined && !inTags ? { reasoning_content: thinking } : {}),
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
      };
      return ctx.cutAfter === undefined ? sendJson(ctx.res, 200, completion) : sendHalfAndCut(ctx.res, completion);
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: object, finish: string | null): object => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      // With include_usage the live API sends `usage: null` on every chunk but the last.
      ...(includeUsage ? { usage: null } : {}),
    });
    const split = (text: string): string[] => (fake.streamByWord ? splitWords(text) : splitCodePoints(text, fake.streamChunkSize));
    const events: string[] = [JSON.stringify(chunk({ role: 'assistant', content: '', refusal: null }, null))];
    if (thinking !== undefined && !inTags) {
      for (const piece of split(thinking)) events.push(JSON.stringify(chunk({ content: null, reasoning_content: piece }, null)));
    }
    for (const piece of split(content)) events.push(JSON.stringify(chunk({ content: piece }, null)));
    events.push(JSON.stringify(chunk({}, finishReason)));
    if (includeUsage) events.push(JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage }));
    events.push('[DONE]');

    const { res } = ctx;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    if (ctx.malformed) {
      await write(res, `data: ${events[0]?.slice(0, 40) ?? '{'}\n\ndata: this is not json\n\ndata: [DONE]\n\n`);
      return void res.end();
    }
    // Event 0 is the role chunk, then one per content piece; a cut never lets [DONE] out.
    const cutAt = ctx.cutAfter === undefined ? undefined : Math.min(1 + ctx.cutAfter, events.length - 1);
    const streamStart = performance.now();
    let elapsed = 0;
    for (const [i, event] of events.entries()) {
      if (cutAt !== undefined && i === cutAt) return void res.socket?.destroy();
      if (isGone(res) || stopping.signal.aborted) return;
      // Chunks are small: written without waiting for each to flush (one stream never fills
      // a socket's buffer), so thousands of streams cost the fake little; a stream about to
      // be cut waits, so what it sent arrives before the cut.
      if (cutAt === undefined) res.write(`data: ${event}\n\n`);
      else await write(res, `data: ${event}\n\n`);
      // Each chunk is due at its time from the stream's start, as a model generates them: a
      // late timer on a busy machine makes the next chunk sooner, not the whole answer longer.
      const between = i < events.length - 1 ? fake.streamDelayMs : 0;
      const due = i === 0 && fake.firstTokenDelayMs > 0 ? fake.firstTokenDelayMs : between;
      if (due > 0) {
        elapsed += due;
        await pause(streamStart + elapsed - performance.now());
      }
    }
    res.end();
    options.onStreamEnd?.(performance.now() - streamStart);
  }

  function transcription(ctx: RequestContext): void {
    const fields = ctx.body as Record<string, unknown>;
    const file = fields['file'] as MultipartFile;
    const extension = /\.([^.]+)$/.exec(file.filename)?.[1]?.toLowerCase() ?? '';
    if (!(TRANSCRIPTION_EXTENSIONS as readonly string[]).includes(extension)) {
      const list = TRANSCRIPTION_EXTENSIONS.map((e) => `'${e}'`).join(', ');
      return sendError(ctx.res, 400, {
        message: `Invalid file format. Supported formats: [${list}]`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
    }
    if (file.bytes.subarray(0, CORRUPT_AUDIO_MARKER.length).toString('latin1') === CORRUPT_AUDIO_MARKER) {
      return sendError(ctx.res, 400, {
        message: 'Audio file might be corrupted or unsupported',
        type: 'invalid_request_error',
        param: 'file',
        code: 'invalid_value',
      });
    }
    const text = fake.transcriptReply(file, fields);
    if (ctx.malformed) return sendRaw(ctx.res, 200, 'application/json', `{"text": "${text}`);
    const format = typeof fields['response_format'] === 'string' ? fields['response_format'] : 'json';
    const duration = Math.max(1, wordCount(text) * 0.4);
    const end = (separator: ',' | '.'): string => `00:00:00${separator}000 --> ${timestamp(duration, separator)}`;
    switch (format) {
      case 'text':
        return sendRaw(ctx.res, 200, 'text/plain; charset=utf-8', `${text}\n`);
      case 'srt':
        return sendRaw(ctx.res, 200, 'text/plain; charset=utf-8', `1\n${end(',')}\n${text}\n\n`);
      case 'vtt':
        return sendRaw(ctx.res, 200, 'text/plain; charset=utf-8', `WEBVTT\n\n${end('.')}\n${text}\n\n`);
      case 'verbose_json':
        return sendJson(ctx.res, 200, { task: 'transcribe', language: 'english', duration, text, segments: [] });
      default:
        return sendJson(ctx.res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(duration) } });
    }
  }

  function image(ctx: RequestContext): void {
    const body = ctx.body as { prompt: string; n?: number | null; response_format?: 'url' | 'b64_json' | null };
    if (body.prompt.includes(FORBIDDEN_PROMPT_MARKER)) {
      return sendError(ctx.res, 400, {
        message:
          'Your request was rejected as a result of our safety system. ' +
          'Your prompt may contain text that is not allowed by our safety system.',
        type: 'image_generation_user_error',
        param: null,
        code: 'content_policy_violation',
      });
    }
    if (ctx.malformed) return sendRaw(ctx.res, 200, 'application/json', '{"created": 1, "data": [{"b64_json": "iVBOR');
    const format = body.response_format ?? fake.imageFormat;
    const png = createPng(undefined, undefined, colourOf(body.prompt));
    const data = Array.from({ length: body.n ?? 1 }, () => {
      if (format === 'b64_json') return { b64_json: png.toString('base64'), revised_prompt: body.prompt };
      const id = `img-${randomId()}`;
      images.set(id, png);
      return { url: `${origin}/files/${id}.png`, revised_prompt: body.prompt };
    });
    sendJson(ctx.res, 200, { created: Math.floor(Date.now() / 1000), data });
  }

  /** A request for the media handlers (openai-media.ts); their `url` answers are served like generated images. */
  function media(ctx: RequestContext): MediaRequest {
    return {
      res: ctx.res,
      fields: ctx.body as Record<string, unknown>,
      malformed: ctx.malformed,
      keep(png) {
        const id = `img-${randomId()}`;
        images.set(id, png);
        return `${origin}/files/${id}.png`;
      },
    };
  }

  function downloadImage(ctx: RequestContext): void {
    const png = images.get(ctx.match[1] ?? '');
    if (!png) return sendRaw(ctx.res, 404, 'application/xml', '<Error><Code>BlobNotFound</Code></Error>');
    ctx.res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
    ctx.res.end(png);
  }

  function moderation(ctx: RequestContext): void {
    const body = ctx.body as { input: unknown; model?: string };
    if (ctx.malformed) return sendRaw(ctx.res, 200, 'application/json', '{"id": "modr-');
    const results = moderationInputs(body.input).map((input) => moderate(input, fake.moderationRules));
    sendJson(ctx.res, 200, { id: `modr-${randomId()}`, model: body.model ?? 'omni-moderation-latest', results });
  }

  function retrieveModel(ctx: RequestContext): void {
    const id = decodeURIComponent(ctx.match[1] ?? '');
    if ((MODEL_IDS as readonly string[]).includes(id)) return sendJson(ctx.res, 200, modelObject(id));
    sendError(ctx.res, 404, {
      message: `The model '${id}' does not exist`,
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${HOST}:${port}`;
  return fake;
}

/** `Echo: <text of the last user message>`. */
function defaultChatReply(body: ChatRequestBody): string {
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  return `Echo: ${textOf(lastUser?.content)}`;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (part as { type?: string; text?: unknown }))
    .filter((part) => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join(' ');
}

function wordCount(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}

function truncateToWords(text: string, maxWords: number): string {
  const words = [...text.matchAll(/\S+/g)];
  const last = words[maxWords - 1];
  if (words.length <= maxWords) return text;
  return last === undefined ? '' : text.slice(0, (last.index ?? 0) + last[0].length);
}

function usageOf(body: ChatRequestBody, reply: string, thinking: string | undefined): object {
  const prompt = body.messages.reduce((sum, m) => sum + TOKENS_PER_MESSAGE + wordCount(textOf(m.content)), 0);
  const reasoning = wordCount(thinking ?? '');
  const completion = wordCount(reply) + reasoning;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** One word and the spaces after it per piece, as a model streams tokens. */
function splitWords(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [text];
}

/** Splits by code points so a chunk boundary never falls inside a surrogate pair. */
function splitCodePoints(text: string, size: number): string[] {
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; i += size) pieces.push(points.slice(i, i + size).join(''));
  return pieces;
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const [hours, minutes, secs] = [Math.floor(ms / 3_600_000), Math.floor(ms / 60_000) % 60, Math.floor(ms / 1000) % 60];
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${separator}${pad(ms % 1000, 3)}`;
}

function colourOf(prompt: string): Rgb {
  const digest = createHash('sha256').update(prompt).digest();
  return [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0];
}

function modelObject(id: string): object {
  const ownedBy = id.startsWith('whisper') || id.startsWith('dall-e') ? 'openai-internal' : 'system';
  return { id, object: 'model', created: MODEL_CREATED, owned_by: ownedBy };
}

interface ModerationInput {
  readonly text: string;
  readonly hasImage: boolean;
}

/** One result per string; a multi-modal array is one input, as with the live API. */
function moderationInputs(input: unknown): ModerationInput[] {
  if (typeof input === 'string') return [{ text: input, hasImage: false }];
  if (!Array.isArray(input)) return [];
  if (input.every((item) => typeof item === 'string')) return input.map((text: string) => ({ text, hasImage: false }));
  const parts = input as Array<{ type?: string; text?: string }>;
  return [{ text: textOf(parts), hasImage: parts.some((p) => p.type === 'image_url') }];
}

function moderate(input: ModerationInput, rules: readonly ModerationRule[]): object {
  const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, BASELINE_MODERATION_SCORE])) as Record<
    ModerationCategory,
    number
  >;
  for (const rule of rules) {
    // A fresh RegExp without `g`/`y`, so a shared rule carries no lastIndex between calls.
    const hit =
      typeof rule.match === 'string'
        ? input.text.includes(rule.match)
        : new RegExp(rule.match.source, rule.match.flags.replace(/[gy]/g, '')).test(input.text);
    if (hit) scores[rule.category] = Math.max(scores[rule.category], rule.score);
  }
  const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, scores[c] >= MODERATION_FLAG_THRESHOLD]));
  const applied = Object.fromEntries(
    MODERATION_CATEGORIES.map((c) => [c, input.hasImage && IMAGE_MODERATION_CATEGORIES.has(c) ? ['text', 'image'] : ['text']]),
  );
  return {
    flagged: Object.values(categories).some(Boolean),
    categories,
    category_scores: scores,
    category_applied_input_types: applied,
  };
}

function samePath(actual: string, wanted: string): boolean {
  return actual === wanted || actual === `${API_PREFIX}${wanted}`;
}

function randomId(): string {
  return randomBytes(12).toString('hex');
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Reads the whole body, keeping at most `limit` bytes. Past the limit it keeps reading
 * and discarding, so the client finishes its upload and can read the 413.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<{ data: Buffer<ArrayBuffer>; exceeded: boolean; bytesRead: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytesRead = 0;
    req.on('data', (chunk: Buffer) => {
      bytesRead += chunk.length;
      if (bytesRead <= limit) chunks.push(chunk);
    });
    req.once('end', () => {
      const exceeded = bytesRead > limit;
      resolve({ data: exceeded ? Buffer.alloc(0) : Buffer.concat(chunks), exceeded, bytesRead });
    });
    req.once('error', reject);
  });
}

type ParsedBody =
  | { kind: 'json' | 'multipart'; body: unknown }
  | { kind: 'empty' | 'text'; body: unknown }
  | { kind: 'invalid'; body: unknown; error: string };

async function parseBody(contentType: string, data: Buffer<ArrayBuffer>): Promise<ParsedBody> {
  if (data.length === 0) return { kind: 'empty', body: undefined };
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === 'multipart/form-data') {
    try {
      return { kind: 'multipart', body: await fieldsOf(data, contentType) };
    } catch (error) {
      return { kind: 'invalid', body: data.toString('latin1'), error: `Could not parse multipart form: ${String(error)}` };
    }
  }
  const text = data.toString('utf8');
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      return { kind: 'json', body: JSON.parse(text) as unknown };
    } catch {
      return { kind: 'invalid', body: text, error: 'invalid JSON' };
    }
  }
  return { kind: 'text', body: text };
}

async function fieldsOf(data: Buffer, contentType: string): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  for (const part of await parseMultipart(data, contentType)) {
    const entry: unknown =
      part.filename === undefined
        ? part.data.toString('utf8')
        : ({ filename: part.filename, contentType: part.contentType ?? '', size: part.data.length, bytes: part.data } satisfies MultipartFile);
    const previous = fields[part.name];
    if (previous === undefined) fields[part.name] = entry;
    else fields[part.name] = Array.isArray(previous) ? [...(previous as unknown[]), entry] : [previous, entry];
  }
  return fields;
}

function protocolRefusal(where: string, problem: string, message?: string): { line: string; error: ApiError } {
  return {
    line: `${where}: ${problem}`,
    error: { message: message ?? `Invalid request: ${problem}.`, type: 'invalid_request_error', param: null, code: null },
  };
}

function checkApiKey(authorization: string | undefined, apiKey: string): ApiError | null {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization " +
        'header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).',
      type: 'invalid_request_error',
      param: null,
      code: null,
    };
  }
  const sent = match[1] ?? '';
  if (sent === apiKey) return null;
  const masked = sent.length > 8 ? `${sent.slice(0, 3)}${'*'.repeat(sent.length - 7)}${sent.slice(-4)}` : '*'.repeat(sent.length);
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  };
}

function setApiHeaders(res: ServerResponse): void {
  res.setHeader('x-request-id', `req_${randomId()}`);
  res.setHeader('openai-version', '2020-10-01');
  res.setHeader('openai-processing-ms', '1');
}

/** Type, code and message of the live API's answers for a bare status. */
function statusDefaults(status: number): ApiError {
  if (status === 429) {
    return {
      message: 'Rate limit reached for requests per min (RPM). Please try again in 1s.',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    };
  }
  const error = (message: string, type: string, code: string | null = null): ApiError => ({ message, type, param: null, code });
  if (status === 503) return error('The engine is currently overloaded, please try again later.', 'server_error');
  if (status >= 500) return error('The server had an error while processing your request. Sorry about that!', 'server_error');
  if (status === 401) return error('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
  return error(`The fake was told to answer ${status}.`, 'invalid_request_error');
}

function sendFault(res: ServerResponse, fault: Extract<Fault, { kind: 'status' }>): void {
  const defaults = statusDefaults(fault.status);
  if (fault.retryAfter !== undefined) res.setHeader('retry-after', fault.retryAfter);
  if (fault.retryAfterMs !== undefined) res.setHeader('retry-after-ms', fault.retryAfterMs);
  if (fault.status === 429) {
    res.setHeader('x-ratelimit-remaining-requests', '0');
    res.setHeader('x-ratelimit-reset-requests', fault.retryAfter !== undefined ? `${fault.retryAfter}s` : '1s');
  }
  sendError(res, fault.status, {
    message: fault.message ?? defaults.message,
    type: fault.type ?? defaults.type,
    param: null,
    code: fault.code !== undefined ? fault.code : defaults.code,
  });
}

function sendError(res: ServerResponse, status: number, error: ApiError): void {
  sendJson(res, status, { error });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRaw(res, status, 'application/json', JSON.stringify(body));
}

function sendRaw(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends headers and the first half of a JSON body, then destroys the socket. */
async function sendHalfAndCut(res: ServerResponse, body: unknown): Promise<void> {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  await write(res, text.slice(0, Math.floor(text.length / 2)));
  res.socket?.destroy();
}

/** Resolves once the chunk is flushed or the connection is gone. */
function write(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (isGone(res)) return resolve();
    res.once('close', resolve);
    res.write(text, () => {
      res.off('close', resolve);
      resolve();
    });
  });
}

/** True once the client disconnected (or the fake cut the socket). */
function isGone(res: ServerResponse): boolean {
  return res.destroyed || res.socket === null || res.socket.destroyed;
}

async function stopServer(server: Server, stopping: AbortController): Promise<void> {
  stopping.abort();
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
