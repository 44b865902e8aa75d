/**
 * The service's configuration: the environment parsed once, at start, into a frozen,
 * typed object. Every invalid variable is reported at once, by name (STYLE.md).
 * The variable names are a contract (ARCHITECTURE.md); each is documented in
 * .env.example and docs/configuration.md.
 */
import { z } from 'zod';
import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, DEMO_MODEL_NAME } from './infra/ai/index.js';
import { redisPasswordOf } from './infra/redis/redis-url.js';
import { isLoopbackHost } from './infra/http/loopback.js';
import type { AbuseLimits } from './domain/limits.js';
import { REASONING_EFFORTS, SHOW_REASONING_MODES, type ReasoningEffort, type ShowReasoning } from './domain/reasoning.js';
import {
  DEFAULT_THRESHOLDS,
  MODERATION_ACTIONS,
  MODERATION_CATEGORIES,
  parseChannelAddress,
  type ChannelAddress,
  type ModerationAction,
} from './domain/moderation.js';

/** The defaults a user would otherwise have to look up. */
const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_TELEGRAM_API_ROOT = 'https://api.telegram.org';
const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';
/** PORT when unset: the HTTP server (playground, /healthz, /readyz, /metrics). */
const DEFAULT_PORT = 8080;
/** Where METRICS_PORT listens unless METRICS_HOST says otherwise: this machine only. */
const DEFAULT_METRICS_HOST = '127.0.0.1';
const PORT_ERROR = 'expected a port from 0 to 65535';
const DEFAULT_SYSTEM_PROMPT =
  'You are Switchboard, a helpful assistant in a group chat. Answer concisely. ' +
  'Messages from users may be prefixed by their names; several people may talk to you.';

/** What one process does (ARCHITECTURE.md, roles). */
export type Role = 'all' | 'gateway' | 'worker';
export const ROLES: readonly Role[] = ['all', 'gateway', 'worker'];

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** An http(s) URL with a default; trailing slashes removed. */
const urlWithDefault = (fallback: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? fallback : value))
    .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }))
    .transform((value) => value.replace(/\/+$/, ''));

/** An optional http(s) URL; trailing slashes removed. */
const optionalUrl = () =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional())
    .transform((value) => value?.replace(/\/+$/, ''));

/** A Bearer token of an HTTP route (ADMIN_TOKEN, PLAYGROUND_TOKEN, METRICS_TOKEN): optional, at least 16 characters. */
const routeToken = () =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.string().min(16, 'use at least 16 characters').optional());

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? String(fallback) : value))
    .pipe(z.coerce.number<string>({ error: `expected a whole number from ${min} to ${max}` }).int({ error: `expected a whole number from ${min} to ${max}` }).min(min).max(max));

const boolean = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === undefined || value === '' ? String(fallback) : value))
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' }))
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A comma-separated list of host names (or host:port), lower-cased. */
const hostList = (fallback: readonly string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? [...fallback] : value.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '')))
    .pipe(z.array(z.string().regex(/^(\*\.)?[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$/, 'expected comma-separated host names, e.g. cdn.example.com or 127.0.0.1:8080')));

/** A comma-separated list of ids, each matching `pattern`. */
const idList = (pattern: RegExp, message: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ?? '').split(',').map((id) => id.trim()).filter((id) => id !== ''))
    .pipe(z.array(z.string().regex(pattern, message)));

/** A comma-separated list of `platform:id` channel addresses. */
const channelList = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx) => {
    const out: ChannelAddress[] = [];
    for (const item of (value ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      const address = parseChannelAddress(item);
      if (address) out.push(address);
      else ctx.addIssue({ code: 'custom', message: `expected discord:<channelId> or telegram:<chatId>, got ${JSON.stringify(item)}` });
    }
    return out;
  });

/** `category=score,...` over the defaults. */
const thresholds = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx) => {
    const out: Record<string, number> = { ...DEFAULT_THRESHOLDS };
    for (const item of (value ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      const [category = '', score = ''] = item.split('=').map((x) => x.trim());
      const number = Number(score);
      if (!(MODERATION_CATEGORIES as readonly string[]).includes(category)) {
        ctx.addIssue({ code: 'custom', message: `unknown category ${JSON.stringify(category)}; known: ${MODERATION_CATEGORIES.join(', ')}` });
      } else if (score === '' || !Number.isFinite(number) || number < 0 || number > 1) {
        ctx.addIssue({ code: 'custom', message: `${category}: expected a score from 0 to 1` });
      } else {
        out[category] = number;
      }
    }
    return out;
  });

/** OTEL_TRACES_EXPORTER: `none`, or a comma-separated list of the exporters the SDK has. */
const TRACE_EXPORTERS = ['otlp', 'console', 'zipkin'] as const;
const traceExporters = z
  .string()
  .trim()
  .toLowerCase()
  .optional()
  .transform((value) => (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''))
  .pipe(
    z.array(z.string()).refine(
      (names) => (names.length === 1 && names[0] === 'none') || names.every((name) => (TRACE_EXPORTERS as readonly string[]).includes(name)),
      { error: `expected none, or a comma-separated list of ${TRACE_EXPORTERS.join(', ')}` },
    ),
  );

/** OTEL_EXPORTER_OTLP_PROTOCOL and its traces-only twin. */
const otlpProtocol = z
  .string()
  .trim()
  .toLowerCase()
  .optional()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.enum(['http/protobuf', 'http/json', 'grpc'], { error: 'expected http/protobuf, http/json or grpc' }).optional());

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value,…`, values URL-encoded (they are often a collector's API key). */
const otlpHeaders = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx) => {
    const values: string[] = [];
    for (const pair of (value ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const at = pair.indexOf('=');
      if (at <= 0) {
        ctx.addIssue({ code: 'custom', message: 'expected key=value pairs separated by commas' });
        continue;
      }
      try {
        values.push(decodeURIComponent(pair.slice(at + 1).trim()));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'a header value is not valid URL encoding' });
      }
    }
    return values;
  });

const envSchema = z.object({
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' || value === undefined ? undefined : value))
    .pipe(
      z
        .union([
          z.url({ protocol: /^(redis|rediss)$/ }),
          z.string().regex(/^redis\+(sentinel|cluster):\/\/(?:[^@/]*@)?[^/@]+(?:\/.*)?$/),
        ], { error: 'expected redis://, rediss://, redis+sentinel://host:port[,…]/<master> or redis+cluster://host:port[,…]' })
        .optional(),
    ),
  DATA_DIR: z.string().trim().default('./data'),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl(),
  OPENAI_ORGANIZATION: optionalText,
  // The AI client's own defaults (src/infra/ai), so the two cannot drift apart.
  OPENAI_TIMEOUT_MS: integer(DEFAULT_TIMEOUT_MS, 1_000, 600_000),
  OPENAI_MAX_RETRIES: integer(DEFAULT_MAX_RETRIES, 0, 10),
  // 0: no budget of our own; the endpoint's x-ratelimit-* headers still pace each model.
  OPENAI_REQUESTS_PER_MINUTE: integer(0, 0, 100_000_000),
  OPENAI_TOKENS_PER_MINUTE: integer(0, 0, 100_000_000_000),
  CHAT_MODEL: z.string().trim().default('gpt-4o-mini'),
  SYSTEM_PROMPT: z.string().trim().default(DEFAULT_SYSTEM_PROMPT),
  MAX_COMPLETION_TOKENS: integer(1024, 16, 100_000),
  HISTORY_MAX_TOKENS: integer(4000, 100, 1_000_000),
  HISTORY_TTL_SECONDS: integer(7 * 24 * 3600, 60, 365 * 24 * 3600),
  CHAT_CONCURRENCY: integer(2_000, 1, 100_000),
  CHAT_VISION: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'auto' : value))
    .pipe(z.enum(['auto', 'true', 'false'], { error: 'expected auto, true or false' })),
  REASONING_EFFORT: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.enum(REASONING_EFFORTS, { error: `expected one of ${REASONING_EFFORTS.join(', ')}` }).optional()),
  SHOW_REASONING: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'off' : value))
    .pipe(z.enum(SHOW_REASONING_MODES, { error: `expected ${SHOW_REASONING_MODES.join(' or ')}` })),
  // Text files go to the model whole; this bounds what one message may put in the prompt.
  TEXT_FILE_MAX_BYTES: integer(100 * 1024, 1, 10 * 1024 * 1024),
  TRANSCRIBE_MODEL: z.string().trim().default('whisper-1'),
  TRANSCRIBE_ALL_VOICE: boolean(false),
  TRANSCRIBE_CONCURRENCY: integer(64, 1, 10_000),
  IMAGE_MODEL: z.string().trim().default('gpt-image-1'),
  IMAGE_SIZE: z.string().trim().regex(/^(auto|[0-9]{2,5}x[0-9]{2,5})$/, 'expected WIDTHxHEIGHT, e.g. 1024x1024, or auto').default('1024x1024'),
  IMAGE_DAILY_LIMIT: integer(10, 0, 100_000),
  IMAGE_CONCURRENCY: integer(16, 1, 10_000),
  IMAGE_URL_HOSTS: hostList(['oaidalleapiprodscus.blob.core.windows.net']),
  TRANSLATE_MODEL: z.string().trim().default('whisper-1'),
  TRANSLATE_THEN_ANSWER: boolean(false),
  IMAGE_EDIT_MODEL: z.string().trim().default('gpt-image-1'),
  // The variations endpoint takes dall-e-2 only (at OpenAI); compatible servers may offer others.
  IMAGE_VARIATION_MODEL: z.string().trim().default('dall-e-2'),
  IMAGE_VARIATIONS: integer(2, 1, 10),
  MODERATION_MODEL: z.string().trim().default('omni-moderation-latest'),
  MODERATE_INPUT: boolean(true),
  MODERATE_OUTPUT: boolean(true),
  MODERATED_CHANNELS: channelList,
  MODERATION_ACTION: z
    .string()
    .trim()
    .toLowerCase()
    .default('delete')
    .pipe(z.enum(MODERATION_ACTIONS as unknown as [ModerationAction, ...ModerationAction[]], { error: `expected one of ${MODERATION_ACTIONS.join(', ')}` })),
  MODERATION_TIMEOUT_SECONDS: integer(600, 60, 28 * 24 * 3600),
  MODERATION_THRESHOLDS: thresholds,
  MOD_LOG_CHANNEL: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? undefined : value))
    .pipe(z.string().regex(/^(discord|telegram|web):-?[A-Za-z0-9_-]{1,64}$/, 'expected discord:<channelId> or telegram:<chatId>').optional())
    .transform((value) => (value === undefined ? undefined : parseChannelAddress(value))),
  MODERATE_CONCURRENCY: integer(64, 1, 10_000),
  USER_RATE_LIMIT: integer(20, 0, 100_000),
  CHANNEL_RATE_LIMIT: integer(60, 0, 100_000),
  USER_DAILY_TOKENS: integer(0, 0, 1_000_000_000),
  CHANNEL_DAILY_TOKENS: integer(0, 0, 1_000_000_000),
  ALLOWED_DISCORD_GUILDS: idList(/^[0-9]{17,20}$/, 'expected comma-separated Discord guild ids'),
  ALLOWED_TELEGRAM_CHATS: idList(/^-?[0-9]{1,20}$/, 'expected comma-separated Telegram chat ids'),
  ALLOWED_USERS: idList(/^(discord|telegram|web):[A-Za-z0-9_-]{1,64}$/, 'expected comma-separated discord:<userId> / telegram:<userId>'),
  JOB_ATTEMPTS: integer(3, 1, 20),
  QUEUE_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_.{}-]{1,64}$/, 'letters, digits, _ . - { } only').default('sb'),
  TELEGRAM_BOT_TOKEN: optionalText,
  TELEGRAM_API_ROOT: urlWithDefault(DEFAULT_TELEGRAM_API_ROOT),
  TELEGRAM_WEBHOOK_URL: optionalUrl(),
  // Telegram's broadcast limit: 30 messages a second per bot, up to 1000 with Paid Broadcasts.
  TELEGRAM_MESSAGES_PER_SECOND: integer(30, 1, 1_000_000),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 characters A-Z a-z 0-9 _ -').optional()),
  DISCORD_BOT_TOKEN: optionalText,
  DISCORD_API_URL: urlWithDefault(DEFAULT_DISCORD_API_URL),
  DISCORD_CDN_HOSTS: hostList(['cdn.discordapp.com', 'media.discordapp.net']),
  // Discord's global limit: 50 requests a second per bot token, unless Discord raised the bot's.
  DISCORD_REQUESTS_PER_SECOND: integer(50, 1, 1_000_000),
  DISCORD_SHARDS: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'auto' : value))
    .pipe(z.union([z.literal('auto'), z.coerce.number<string>().int().min(1).max(10_000)], { error: 'expected auto or a whole number of shards' })),
  DISCORD_SHARD_IDS: idList(/^[0-9]{1,5}$/, 'expected comma-separated shard ids, e.g. 0,1'),
  ADMIN_TOKEN: routeToken(),
  PLAYGROUND_TOKEN: routeToken(),
  METRICS_TOKEN: routeToken(),
  DISCORD_GUILD_IDS: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ?? '').split(',').map((id) => id.trim()).filter((id) => id !== ''))
    .pipe(z.array(z.string().regex(/^[0-9]{17,20}$/, 'expected comma-separated guild ids (17-20 digits each)'))),
  HOST: z.string().trim().default('127.0.0.1'),
  PORT: integer(DEFAULT_PORT, 0, 65_535),
  METRICS_HOST: optionalText,
  METRICS_PORT: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .pipe(z.coerce.number<string>({ error: PORT_ERROR }).int({ error: PORT_ERROR }).min(0, { error: PORT_ERROR }).max(65_535, { error: PORT_ERROR }).optional()),
  LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .default('info')
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  SHUTDOWN_TIMEOUT_MS: integer(30_000, 0, 600_000),
  // Tracing (issue #16): on when an endpoint or an exporter is set. The SDK reads every
  // standard OTEL_* variable itself; these are the ones the service decides by or checks.
  OTEL_SDK_DISABLED: boolean(false),
  OTEL_TRACES_EXPORTER: traceExporters,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders,
  OTEL_SERVICE_NAME: optionalText,
  OTEL_RESOURCE_ATTRIBUTES: optionalText,
  OTEL_LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'warn' : value))
    .pipe(z.enum(['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'], { error: 'expected none, error, warn, info, debug, verbose or all' })),
});

/** The parsed configuration. Frozen: nothing changes it after start. */
export interface Config {
  readonly redis: { readonly url: string | undefined; readonly dataDir: string };
  readonly openai: {
    /** True when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set: the offline demo model answers. */
    readonly demo: boolean;
    readonly apiKey: string | undefined;
    readonly baseUrl: string;
    readonly organization: string | undefined;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    /** Budgets over every request to the endpoint, shared by every process; 0: none. */
    readonly requestsPerMinute: number;
    readonly tokensPerMinute: number;
  };
  readonly chat: {
    readonly model: string;
    readonly systemPrompt: string;
    readonly maxCompletionTokens: number;
    readonly historyMaxTokens: number;
    readonly historyTtlSeconds: number;
    readonly concurrency: number;
    /** Whether photos go to the chat model as image parts (CHAT_VISION; `auto` decides by model name). */
    readonly vision: boolean;
    /** REASONING_EFFORT: `reasoning_effort` where a channel set none; unset: not sent. */
    readonly reasoningEffort: ReasoningEffort | undefined;
    /** SHOW_REASONING: `file` attaches a reasoning model's thinking to its answer. */
    readonly showReasoning: ShowReasoning;
    /** TEXT_FILE_MAX_BYTES: the largest text file the model reads. */
    readonly textFileMaxBytes: number;
  };
  readonly transcribe: {
    readonly model: string;
    /** Transcribe every voice note in groups, not only those addressed to the bot. */
    readonly allVoice: boolean;
    readonly concurrency: number;
  };
  readonly translate: {
    readonly model: string;
    /** After the translation, answer it like a chat message. */
    readonly thenAnswer: boolean;
  };
  readonly image: {
    readonly model: string;
    /** The model of `/image <prompt>` on a picture (POST /images/edits). */
    readonly editModel: string;
    /** The model of `/vary` (POST /images/variations). */
    readonly variationModel: string;
    /** Pictures one `/vary` draws, sent as one album. */
    readonly variations: number;
    readonly size: string;
    /** Images per user per UTC day; 0 turns image generation off. */
    readonly dailyLimit: number;
    readonly concurrency: number;
    /** Hosts besides the provider's that a `url` answer may be fetched from. */
    readonly urlHosts: readonly string[];
  };
  readonly moderation: {
    readonly model: string;
    /** Check users' texts, transcripts and image prompts before the AI sees them. */
    readonly input: boolean;
    /** Check the bot's answers before their final version shows. */
    readonly output: boolean;
    /** Channels where every message is checked (community moderation). */
    readonly channels: readonly ChannelAddress[];
    readonly action: ModerationAction;
    readonly timeoutSeconds: number;
    /** Score per category at or above which community moderation acts. */
    readonly thresholds: Readonly<Record<string, number>>;
    /** Where each action is reported. */
    readonly logChannel: ChannelAddress | undefined;
    readonly concurrency: number;
  };
  /** Abuse limits (issue #7); 0 turns one off, an empty allowlist allows everyone. */
  readonly limits: AbuseLimits;
  readonly queue: { readonly prefix: string; readonly attempts: number };
  readonly telegram:
    | {
        readonly token: string;
        readonly apiRoot: string;
        readonly webhookUrl: string | undefined;
        readonly webhookSecret: string | undefined;
        /** Messages a second the bot may send in all (TELEGRAM_MESSAGES_PER_SECOND). */
        readonly messagesPerSecond: number;
      }
    | undefined;
  readonly discord:
    | {
        readonly token: string;
        readonly apiUrl: string;
        /** Guilds to register slash commands in (instant); empty: globally. */
        readonly guildIds: readonly string[];
        /** Hosts attachments may be downloaded from (Discord's CDN). */
        readonly cdnHosts: readonly string[];
        /** Total shards: `auto` (Discord's recommendation from /gateway/bot) or a count. */
        readonly shards: 'auto' | number;
        /** The shards this process holds; empty: all of them. */
        readonly shardIds: readonly number[];
        /** REST requests a second the bot token may make in all (DISCORD_REQUESTS_PER_SECOND). */
        readonly requestsPerSecond: number;
      }
    | undefined;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** HOST is not a loopback address: the playground needs PLAYGROUND_TOKEN, /metrics METRICS_TOKEN or METRICS_PORT. */
    readonly exposed: boolean;
    /** Bearer token of the operator view at /admin; unset: /admin is off. */
    readonly adminToken: string | undefined;
    /** Bearer token of the playground, required whenever set; unset on an exposed HOST: the playground is off. */
    readonly playgroundToken: string | undefined;
    /** Bearer token of /metrics, required whenever set. */
    readonly metricsToken: string | undefined;
    /** METRICS_HOST (default 127.0.0.1) and METRICS_PORT: /metrics on a listener of its own, not on PORT; unset: on PORT. */
    readonly metricsListener: { readonly host: string; readonly port: number } | undefined;
  };
  readonly log: { readonly level: string };
  /** OpenTelemetry traces (issue #16); the SDK reads the other standard OTEL_* variables itself. */
  readonly tracing: {
    /** An OTLP endpoint or OTEL_TRACES_EXPORTER is set (not `none`), and OTEL_SDK_DISABLED is not. */
    readonly enabled: boolean;
    /** OTEL_SERVICE_NAME, or `service.name` in OTEL_RESOURCE_ATTRIBUTES; unset: `switchboard-<role>`. */
    readonly serviceName: string | undefined;
    /** OTEL_LOG_LEVEL: the SDK's own diagnostics, written as log lines. */
    readonly diagnostics: 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
  };
  readonly shutdownTimeoutMs: number;
  /** Every secret value, for scrubbing log lines and error messages. */
  readonly secrets: readonly string[];
}

/** Thrown by parseConfig with every problem found, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Parses the environment into a frozen Config, or throws ConfigError listing every problem. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems = crossFieldProblems(env);
  const result = envSchema.safeParse(env);
  if (!result.success) {
    problems.unshift(
      ...result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const e = result.data;

  const demo = e.OPENAI_API_KEY === undefined && e.OPENAI_BASE_URL === undefined;
  const redisPassword = e.REDIS_URL === undefined ? undefined : redisPasswordOf(e.REDIS_URL);
  // A collector's API key travels in OTLP headers, or in its endpoint's user info.
  const otlpSecrets = [
    ...e.OTEL_EXPORTER_OTLP_HEADERS,
    ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    passwordOf(e.OTEL_EXPORTER_OTLP_ENDPOINT),
    passwordOf(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
  ];
  const secrets = [e.OPENAI_API_KEY, e.TELEGRAM_BOT_TOKEN, e.TELEGRAM_WEBHOOK_SECRET, e.DISCORD_BOT_TOKEN, redisPassword, e.ADMIN_TOKEN, e.PLAYGROUND_TOKEN, e.METRICS_TOKEN, ...otlpSecrets].filter(
    (value): value is string => value !== undefined && value.length >= 6,
  );
  const exporters = e.OTEL_TRACES_EXPORTER;
  return deepFreeze({
    redis: { url: e.REDIS_URL, dataDir: e.DATA_DIR },
    openai: {
      demo,
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL,
      organization: e.OPENAI_ORGANIZATION,
      timeoutMs: e.OPENAI_TIMEOUT_MS,
      maxRetries: e.OPENAI_MAX_RETRIES,
      requestsPerMinute: e.OPENAI_REQUESTS_PER_MINUTE,
      tokensPerMinute: e.OPENAI_TOKENS_PER_MINUTE,
    },
    chat: {
      model: e.CHAT_MODEL,
      systemPrompt: e.SYSTEM_PROMPT,
      maxCompletionTokens: e.MAX_COMPLETION_TOKENS,
      historyMaxTokens: e.HISTORY_MAX_TOKENS,
      historyTtlSeconds: e.HISTORY_TTL_SECONDS,
      concurrency: e.CHAT_CONCURRENCY,
      vision: e.CHAT_VISION === 'auto' ? acceptsImages(demo ? DEMO_MODEL_NAME : e.CHAT_MODEL) : e.CHAT_VISION === 'true',
      reasoningEffort: e.REASONING_EFFORT,
      showReasoning: e.SHOW_REASONING,
      textFileMaxBytes: e.TEXT_FILE_MAX_BYTES,
    },
    transcribe: { model: e.TRANSCRIBE_MODEL, allVoice: e.TRANSCRIBE_ALL_VOICE, concurrency: e.TRANSCRIBE_CONCURRENCY },
    translate: { model: e.TRANSLATE_MODEL, thenAnswer: e.TRANSLATE_THEN_ANSWER },
    image: {
      model: e.IMAGE_MODEL,
      editModel: e.IMAGE_EDIT_MODEL,
      variationModel: e.IMAGE_VARIATION_MODEL,
      variations: e.IMAGE_VARIATIONS,
      size: e.IMAGE_SIZE,
      dailyLimit: e.IMAGE_DAILY_LIMIT,
      concurrency: e.IMAGE_CONCURRENCY,
      urlHosts: e.IMAGE_URL_HOSTS,
    },
    moderation: {
      model: e.MODERATION_MODEL,
      input: e.MODERATE_INPUT,
      output: e.MODERATE_OUTPUT,
      channels: e.MODERATED_CHANNELS,
      action: e.MODERATION_ACTION,
      timeoutSeconds: e.MODERATION_TIMEOUT_SECONDS,
      thresholds: e.MODERATION_THRESHOLDS,
      logChannel: e.MOD_LOG_CHANNEL,
      concurrency: e.MODERATE_CONCURRENCY,
    },
    limits: {
      userPerMinute: e.USER_RATE_LIMIT,
      channelPerMinute: e.CHANNEL_RATE_LIMIT,
      userDailyTokens: e.USER_DAILY_TOKENS,
      channelDailyTokens: e.CHANNEL_DAILY_TOKENS,
      allowedDiscordGuilds: e.ALLOWED_DISCORD_GUILDS,
      allowedTelegramChats: e.ALLOWED_TELEGRAM_CHATS,
      allowedUsers: e.ALLOWED_USERS,
    },
    queue: { prefix: e.QUEUE_PREFIX, attempts: e.JOB_ATTEMPTS },
    telegram:
      e.TELEGRAM_BOT_TOKEN === undefined
        ? undefined
        : {
            token: e.TELEGRAM_BOT_TOKEN,
            apiRoot: e.TELEGRAM_API_ROOT,
            webhookUrl: e.TELEGRAM_WEBHOOK_URL,
            webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
            messagesPerSecond: e.TELEGRAM_MESSAGES_PER_SECOND,
          },
    discord:
      e.DISCORD_BOT_TOKEN === undefined
        ? undefined
        : {
            token: e.DISCORD_BOT_TOKEN,
            apiUrl: e.DISCORD_API_URL,
            guildIds: e.DISCORD_GUILD_IDS,
            cdnHosts: e.DISCORD_CDN_HOSTS,
            shards: e.DISCORD_SHARDS,
            shardIds: e.DISCORD_SHARD_IDS.map(Number),
            requestsPerSecond: e.DISCORD_REQUESTS_PER_SECOND,
          },
    http: {
      host: e.HOST,
      port: e.PORT,
      exposed: !isLoopbackHost(e.HOST),
      adminToken: e.ADMIN_TOKEN,
      playgroundToken: e.PLAYGROUND_TOKEN,
      metricsToken: e.METRICS_TOKEN,
      metricsListener: e.METRICS_PORT === undefined ? undefined : { host: e.METRICS_HOST ?? DEFAULT_METRICS_HOST, port: e.METRICS_PORT },
    },
    log: { level: e.LOG_LEVEL },
    tracing: {
      enabled:
        !e.OTEL_SDK_DISABLED &&
        !exporters.includes('none') &&
        (exporters.length > 0 || e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
      serviceName: e.OTEL_SERVICE_NAME ?? serviceNameOf(e.OTEL_RESOURCE_ATTRIBUTES),
      diagnostics: e.OTEL_LOG_LEVEL,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    secrets,
  });
}

/** Problems that involve more than one variable, checked on the raw environment so they are reported together with the rest. */
function crossFieldProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';
  const problems: string[] = [];
  if (set('TELEGRAM_WEBHOOK_URL') && !set('TELEGRAM_BOT_TOKEN')) {
    problems.push('TELEGRAM_WEBHOOK_URL: set, but TELEGRAM_BOT_TOKEN is not');
  }
  if ((env['REDIS_URL'] ?? '').trim().startsWith('redis+cluster://') && !/\{[^}]+\}/.test(env['QUEUE_PREFIX'] ?? '')) {
    problems.push('QUEUE_PREFIX: on Redis Cluster it needs a hash tag, e.g. {sb}, so each script and queue works in one slot');
  }
  if (set('DISCORD_SHARD_IDS') && !/^\d+$/.test((env['DISCORD_SHARDS'] ?? '').trim())) {
    problems.push('DISCORD_SHARD_IDS: needs DISCORD_SHARDS set to the total number of shards, so every process splits them the same way');
  }
  const shardCount = (env['DISCORD_SHARDS'] ?? '').trim();
  if (/^\d+$/.test(shardCount)) {
    const outside = (env['DISCORD_SHARD_IDS'] ?? '').split(',').map((id) => id.trim()).filter((id) => /^\d+$/.test(id) && Number(id) >= Number(shardCount));
    if (outside.length > 0) {
      problems.push(`DISCORD_SHARD_IDS: ${outside.join(',')} outside DISCORD_SHARDS=${shardCount}; shard ids run from 0 to ${Number(shardCount) - 1}`);
    }
  }
  if (set('METRICS_HOST') && !set('METRICS_PORT')) {
    problems.push('METRICS_HOST: set, but METRICS_PORT is not; /metrics gets a listener of its own only with a port');
  }
  const metricsPort = (env['METRICS_PORT'] ?? '').trim();
  if (/^[1-9]\d*$/.test(metricsPort) && Number(metricsPort) === Number((env['PORT'] ?? '').trim() || DEFAULT_PORT)) {
    problems.push(`METRICS_PORT: ${metricsPort} is PORT too; give /metrics a port of its own, or unset METRICS_PORT to serve it on PORT`);
  }
  if (set('TELEGRAM_WEBHOOK_URL') && !set('TELEGRAM_WEBHOOK_SECRET')) {
    problems.push('TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL, so forged updates are refused');
  }
  return problems;
}

/**
 * Whether a chat model takes image inputs, by its name: the GPT-4o, 4.1 and 5 families,
 * GPT-4 Turbo, o1/o3/o4 (not their -mini text-only first releases), and the demo.
 * See https://platform.openai.com/docs/guides/images-vision
 */
export function acceptsImages(model: string): boolean {
  const name = model.toLowerCase();
  if (/^(o1-mini|o3-mini)/.test(name)) return false;
  if (name.startsWith(DEMO_MODEL_NAME)) return true;
  return /^(gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-4-vision|gpt-5|o1|o3|o4|chatgpt-4o)|vision|llava/.test(name);
}

/** Parses `--role all|gateway|worker` from argv; all by default. */
export function parseRole(argv: readonly string[]): Role {
  const index = argv.findIndex((arg) => arg === '--role' || arg.startsWith('--role='));
  if (index === -1) return 'all';
  const arg = argv[index] ?? '';
  const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
  if (value === undefined || !(ROLES as readonly string[]).includes(value)) {
    throw new ConfigError([`--role: expected one of ${ROLES.join(', ')}, got ${JSON.stringify(value ?? '')}`]);
  }
  return value as Role;
}

/** The password in a URL's user info, if any (decoded). */
function passwordOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const password = new URL(url).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

/** `service.name` in OTEL_RESOURCE_ATTRIBUTES (`key=value,…`, values URL-encoded). */
function serviceNameOf(resourceAttributes: string | undefined): string | undefined {
  for (const pair of (resourceAttributes ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === 'service.name') {
      try {
        return decodeURIComponent(pair.slice(at + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
