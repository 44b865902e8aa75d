/**
 * The composition root's wiring: builds every part from a Config for one role and
 * returns a handle that stops them in order. src/main.ts calls it for the CLI; the
 * end-to-end tests call it directly, so they run the same wiring as production.
 */
import path from 'node:path';
import type { Config, Role } from './config.js';
import {
  createDemoChatModel,
  createDemoImageGenerator,
  createDemoModelCatalog,
  createDemoModerator,
  createDemoPictureEditor,
  createDemoTranscriber,
  createDemoTranslator,
  createOpenAIChatModel,
  createOpenAIClient,
  createOpenAIImageGenerator,
  createOpenAIModelCatalog,
  createOpenAIModerator,
  createOpenAIPictureEditor,
  createOpenAITranscriber,
  createOpenAITranslator,
  createUpstreamGate,
  DEMO_MODEL_NAME,
  type UpstreamGate,
} from './infra/ai/index.js';
import { countTokens, createRedisHistoryStore } from './infra/history/index.js';
import { createBearerCheck } from './infra/http/bearer.js';
import { startHttpServer, type RouteHandler, type RunningHttpServer } from './infra/http/server.js';
import { createLogger } from './infra/log/logger.js';
import { createActiveConversations, createMetrics, type AiMetrics } from './infra/metrics/index.js';
import { createJobQueue, createJobWorkers, createQueueOperations, type JobWorkers, type ManagedJobQueue } from './infra/queue/index.js';
import { closeRedis, createRedisConnection, waitForReady } from './infra/redis/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './infra/redis/embedded-redis.js';
import { createRedisKeys } from './infra/redis/keys.js';
import { createRedisPubSub } from './infra/redis/pubsub.js';
import { createRedisRateLimiter } from './infra/ratelimit/index.js';
import { createRedisUploadStore } from './infra/files/redis-upload-store.js';
import { createRedisChannelSettings } from './infra/settings/redis-channel-settings.js';
import { createRedisReplyLedger } from './infra/ledger/redis-reply-ledger.js';
import { tracedHistory, tracedOutbox, TRACING_OFF, type Tracing } from './infra/tracing/index.js';
import { createRedisDailyCounter, createRedisDailyQuota } from './infra/quota/redis-daily-quota.js';
import { createModeratedChannels, createRedisModerationSettings } from './infra/moderation/redis-moderation-settings.js';
import { channelAddressOf } from './domain/moderation.js';
import { createRateBudget } from './domain/rate-budget.js';
import { createGuardedDownloader, type GuardedDownloader } from './infra/net/guarded-download.js';
import { PLATFORMS, playgroundAccess, type PlatformContext, type PlatformGateway } from './platforms/index.js';
import type {
  BearerCheck,
  ChatModel,
  Downloader,
  ImageGenerator,
  Logger,
  ModelCatalog,
  Moderator,
  Outbox,
  Outboxes,
  PictureEditor,
  ReadinessCheck,
  Transcriber,
  Translator,
} from './ports/index.js';
import {
  createChatWorker,
  createImageWorker,
  createModerateWorker,
  createPictureWorker,
  createTranscribeWorker,
  createTranslateWorker,
  tellGaveUp,
  createReplyLedger,
  tokenRecorder,
  withLimits,
  withModerationAdmission,
} from './workers/index.js';

/** The name the bot uses for itself in history and help. */
const BOT_NAME = 'Switchboard';
/**
 * Streaming updates (edits of a growing answer, drafts) one worker process makes a second,
 * over all its answers; the rest are skipped, and the next update or the final text
 * carries theirs. An update is a preview: with thousands of answers streaming at once, one
 * a second each would be thousands of platform calls a second, costing the worker more
 * CPU than the answers (at 2,000 answers of 11 s: 12.8 drafts and 11.7 ms of CPU an
 * answer). Past it, previews update less often; first messages and final texts never wait.
 */
const PREVIEWS_PER_SECOND = 250;
/** How long start-up waits for Redis before giving up with a clear message. */
const REDIS_READY_TIMEOUT_MS = 15_000;

export interface AppOptions {
  readonly role?: Role;
  readonly log?: Logger;
  /** Replaces the model chosen from config (benchmarks use a zero-latency one). */
  readonly chatModel?: ChatModel;
  /** The process's tracing, started by src/main.ts when configured; off by default. */
  readonly tracing?: Tracing;
}

export interface RunningApp {
  /** The HTTP server's base URL on this machine (playground, /healthz, /readyz, /metrics). */
  readonly url: string;
  /** With METRICS_PORT: the base URL of the listener that alone serves /metrics. */
  readonly metricsUrl: string | undefined;
  readonly redisUrl: string;
  readonly role: Role;
  readonly chatModel: ChatModel['info'] | undefined;
  /** Stops intake, drains in-flight jobs (bounded by SHUTDOWN_TIMEOUT_MS), closes connections. */
  stop(): Promise<void>;
}

/** Starts the service for `role` ('all' by default) and resolves once it is serving. */
export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
  const role = options.role ?? 'all';
  const tracing = options.tracing ?? TRACING_OFF;
  const log = options.log ?? createLogger({ level: config.log.level, secrets: config.secrets, traceIds: tracing.enabled });
  const runsWorkers = role !== 'gateway';
  const runsGateway = role !== 'worker';

  let embedded: EmbeddedRedis | undefined;
  let redisUrl = config.redis.url;
  if (redisUrl === undefined) {
    const dataDir = path.resolve(config.redis.dataDir, 'redis');
    embedded = await startEmbeddedRedis({ dataDir, persistence: true });
    redisUrl = embedded.url;
    log.info({ dataDir, port: embedded.port }, 'started an embedded redis-server (set REDIS_URL to use your own)');
  }

  const command = createRedisConnection(redisUrl, 'command');
  // Only gateways listen (the playground's event streams); workers just publish.
  const subscriber = runsGateway ? createRedisConnection(redisUrl, 'subscriber') : undefined;
  const worker = runsWorkers ? createRedisConnection(redisUrl, 'worker') : undefined;
  const producer = runsGateway ? createRedisConnection(redisUrl, 'producer') : undefined;
  const connections = [command, subscriber, worker, producer].filter((c) => c !== undefined);
  for (const connection of connections) connection.on('error', () => undefined); // reconnects; readiness reports it
  try {
    // All of them: a fail-fast producer that is still connecting would refuse the first
    // messages as if Redis were down.
    await Promise.all(connections.map((connection) => waitForReady(connection, REDIS_READY_TIMEOUT_MS)));
  } catch (error) {
    await Promise.all(connections.map(closeRedis));
    await embedded?.stop();
    throw new Error(`Cannot reach Redis at ${describeRedis(redisUrl)}: is it running, and is REDIS_URL right?`, { cause: error });
  }

  const keys = createRedisKeys(config.queue.prefix);
  const metrics = createMetrics();
  metrics.watchConversations(createActiveConversations({ redis: command, key: keys.activeConversations() }));
  const history = createRedisHistoryStore({
    redis: command,
    keys,
    maxTokens: config.chat.historyMaxTokens,
    idleTtlSeconds: config.chat.historyTtlSeconds,
  });
  const pubsub = createRedisPubSub({ publisher: command, subscriber, prefix: config.queue.prefix });
  const rateLimiter = createRedisRateLimiter({ redis: command, keys });
  const checks: ReadinessCheck[] = [{ name: 'redis', check: async () => (await command.ping()) === 'PONG' }];
  const platforms = PLATFORMS.filter((platform) => platform.enabled(config));

  const downloaders: GuardedDownloader[] = [];
  const downloader = (hosts: { readonly allowed: readonly string[]; readonly trusted?: readonly string[] }): Downloader => {
    const created = createGuardedDownloader({ allowed: hosts.allowed, trusted: hosts.trusted ?? [] });
    downloaders.push(created);
    return created;
  };
  const closeDownloaders = async (): Promise<void> => {
    await Promise.all(downloaders.map((d) => d.close()));
  };

  let models: AiModels | undefined;
  if (worker) {
    const gate = createUpstreamGate({
      redis: command,
      keys,
      requestsPerMinute: config.openai.requestsPerMinute,
      tokensPerMinute: config.openai.tokensPerMinute,
      observe: (lane, waitedMs) => metrics.aiWaited(lane, waitedMs),
    });
    models = aiModelsFromConfig(config, log, downloader, metrics, gate);
    if (options.chatModel) models = { ...models, chat: options.chatModel };
  }
  const chatModel = models?.chat;
  const moderationSettings = createRedisModerationSettings({ redis: command, keys });
  const configuredModeration = config.moderation.channels.map((channel) => channelAddressOf(channel));
  const isModerated = createModeratedChannels({ settings: moderationSettings, configured: configuredModeration });
  const moderationSwitches = {
    ...moderationSettings,
    async set(channel: string, state: 'on' | 'off') {
      await moderationSettings.set(channel, state);
      isModerated.forget(channel);
    },
  };
  // The fail-fast producer where there is one (gateways serve /admin): a refresh must not wait out a Redis outage.
  const operations = createQueueOperations({ connection: producer ?? command, keys, secrets: config.secrets });
  const context: PlatformContext = {
    config,
    log,
    history,
    pubsub,
    rateLimiter,
    botName: BOT_NAME,
    modelInfo: (options.chatModel ?? chatModel)?.info ?? describeModel(config),
    downloader,
    uploads: createRedisUploadStore({ redis: command, keys }),
    isModerated,
    metrics,
    operations,
    tracer: tracing.tracer,
  };
  const closeModel = async (): Promise<void> => models?.close();

  let workers: JobWorkers | undefined;
  let queue: ManagedJobQueue | undefined;
  const gateways: PlatformGateway[] = [];
  const closeAdapters = async (): Promise<void> => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
  };
  let http: RunningHttpServer | undefined;
  let metricsHttp: RunningHttpServer | undefined;
  const metricsPlace = metricsPlacement(config.http);
  /** After intake has stopped: drain the workers (up to graceMs), then close everything they used, Redis last. */
  const closeTheRest = async (graceMs: number): Promise<void> => {
    await workers?.close(graceMs);
    await closeModel();
    await closeDownloaders();
    await queue?.close();
    await operations.close();
    await Promise.all(connections.map(closeRedis));
    await embedded?.stop();
  };
  try {
    if (worker && models) {
      // Traced inside the ledger: a span is the platform's call, not our bookkeeping of it.
      const traced = (outbox: Outbox): Outbox => (tracing.enabled ? tracedOutbox(outbox) : outbox);
      const outboxes: Outboxes = Object.fromEntries(
        await Promise.all(platforms.map(async (p) => [p.platform, traced(await p.createOutbox(context))] as const)),
      );
      // Every send of a job is written in its reply ledger, so a retried job edits what it sent
      // before: each run replies through its own ledgered Outboxes (JobContext.outboxes).
      const ledgered = createReplyLedger(createRedisReplyLedger({ redis: command, keys }), outboxes);
      const tokens = createRedisDailyCounter({ redis: command, keys, name: 'tokens' });
      const limited = {
        limits: config.limits,
        outboxes,
        rateLimiter,
        tokens,
        once: (key: string, seconds: number) => moderationSettings.once(key, seconds),
      };
      const { moderation } = config;
      const imageQuota = createRedisDailyQuota({ redis: command, keys, name: 'image', limit: config.image.dailyLimit });
      const answering = {
        model: models.chat,
        history: tracing.enabled ? tracedHistory(history) : history,
        systemPrompt: config.chat.systemPrompt,
        botName: BOT_NAME,
        maxCompletionTokens: config.chat.maxCompletionTokens,
        safety: { moderator: models.moderator, input: moderation.input, output: moderation.output },
        channelSettings: createRedisChannelSettings({ redis: command, keys }),
        onUsage: tokenRecorder({ tokens, limits: config.limits }),
        previews: createRateBudget(PREVIEWS_PER_SECOND),
        ...(config.chat.reasoningEffort === undefined ? {} : { reasoningEffort: config.chat.reasoningEffort }),
        showReasoning: config.chat.showReasoning,
        // What a question points at (a message replied to, text files), bounded like history.
        vision: config.chat.vision,
        transcriber: models.transcriber,
        textFileMaxBytes: config.chat.textFileMaxBytes,
        historyMaxTokens: config.chat.historyMaxTokens,
        countTokens,
      };
      workers = createJobWorkers({
        connection: worker,
        keys,
        onGaveUp: (kind, payload) => tellGaveUp(outboxes, kind, payload),
        handlers: {
          chat: ledgered('chat', withLimits(limited, 'chat', createChatWorker({
            ...answering,
            outboxes,
            models: models.catalog,
            moderation: { settings: moderationSwitches, configured: configuredModeration, action: moderation.action },
          }))),
          transcribe: ledgered('transcribe', withLimits(limited, 'transcribe', createTranscribeWorker({ ...answering, outboxes, transcriber: models.transcriber }))),
          image: ledgered('image', withLimits(limited, 'image', createImageWorker({
            outboxes,
            images: models.images,
            quota: imageQuota,
            ...(moderation.input ? { moderator: models.moderator } : {}),
          }))),
          translate: ledgered('translate', withLimits(limited, 'translate', createTranslateWorker({
            ...answering,
            outboxes,
            translator: models.translator,
            thenAnswer: config.translate.thenAnswer,
          }))),
          // Edits and variations share `/image`'s daily quota: every picture drawn counts.
          picture: ledgered('picture', withLimits(limited, 'picture', createPictureWorker({
            outboxes,
            editor: models.pictures,
            quota: imageQuota,
            variations: config.image.variations,
            ...(moderation.input ? { moderator: models.moderator } : {}),
          }))),
          moderate: ledgered('moderate', withModerationAdmission(config.limits, createModerateWorker({
            outboxes,
            moderator: models.moderator,
            settings: moderationSettings,
            thresholds: moderation.thresholds,
            action: moderation.action,
            timeoutSeconds: moderation.timeoutSeconds,
            logChannel: moderation.logChannel,
          }))),
        },
        concurrency: {
          chat: config.chat.concurrency,
          transcribe: config.transcribe.concurrency,
          image: config.image.concurrency,
          moderate: moderation.concurrency,
          // Translation is transcription's sibling and picture jobs are image jobs: the same limits.
          translate: config.transcribe.concurrency,
          picture: config.image.concurrency,
        },
        log,
        metrics,
        telemetry: tracing.queueTelemetry,
      });
      const running = workers;
      checks.push({ name: 'workers', check: async () => running.running() });
    }
    if (producer) {
      const jobs = createJobQueue({ connection: producer, keys, attempts: config.queue.attempts, metrics, telemetry: tracing.queueTelemetry });
      queue = jobs;
      for (const platform of platforms) {
        gateways.push(await platform.startGateway({ ...context, queue: jobs }));
        log.info({ platform: platform.platform }, 'platform started');
      }
    }
    // The producer's fail-fast connection, where there is one: a scrape must not wait out a Redis outage.
    const depthSource = queue ?? workers;
    if (depthSource) metrics.watchQueues(() => depthSource.depth());
    const routes: RouteHandler[] = gateways.flatMap((gateway) => gateway.routes);
    const metricsAccess = metricsPlace.access === undefined ? {} : { metricsAccess: metricsPlace.access };
    http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      checks,
      routes,
      log,
      ...(metricsPlace.onMain ? { metrics, ...metricsAccess } : {}),
    });
    if (metricsPlace.listener) {
      metricsHttp = await startHttpServer({ ...metricsPlace.listener, checks, routes: [], log, metrics, ...metricsAccess });
    }
  } catch (error) {
    // Whatever started before the failure is stopped, so a failed start leaves nothing running.
    await http?.close();
    await closeAdapters();
    await closeTheRest(0);
    throw error;
  }
  const listening = { role, url: http.url, bound: http.bound };
  if (runsGateway) log.info(listening, startSentence(config, http.bound));
  else log.info(listening, 'worker ready');
  if (metricsHttp) {
    log.info({ bound: metricsHttp.bound }, `/metrics is served on ${metricsHttp.bound} only${metricsPlace.access ? ', for METRICS_TOKEN' : ''}`);
  } else if (!metricsPlace.onMain) {
    log.warn({ bound: http.bound }, `/metrics is off on ${http.bound}: HOST is not a loopback address, and neither METRICS_TOKEN nor METRICS_PORT is set`);
  }
  const running = http;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ role }, 'stopping: no new messages; finishing the ones in progress');
      await closeAdapters();
      await running.close();
      await metricsHttp?.close();
      await closeTheRest(config.shutdownTimeoutMs);
      log.info({ role }, 'stopped');
    })());

  return { url: http.url, metricsUrl: metricsHttp?.url, redisUrl, role, chatModel: chatModel?.info, stop };
}

/**
 * Where /metrics is served and who may read it (issue #17): on METRICS_PORT's listener
 * alone when that is set; else on PORT, where METRICS_TOKEN, when set, is required, and
 * required at all on an exposed HOST (without it /metrics is not found there).
 */
function metricsPlacement(http: Config['http']): {
  readonly onMain: boolean;
  readonly listener: { readonly host: string; readonly port: number } | undefined;
  readonly access: BearerCheck | undefined;
} {
  const access = http.metricsToken === undefined ? undefined : createBearerCheck(http.metricsToken);
  const listener = http.metricsListener;
  return { onMain: listener === undefined && (access !== undefined || !http.exposed), listener, access };
}

/** The gateway's ready line: where it is bound, and whether and how the playground is there. */
function startSentence(config: Config, bound: string): string {
  const where = /\/\/(0\.0\.0\.0|\[::\]):/.test(bound) ? `${bound} (every address of this machine)` : bound;
  const access = playgroundAccess(config);
  // `playground at <url>` is the ready line scripts wait for (test/support/worker-process.ts).
  if (access.mode === 'open') return `playground at ${bound}`;
  if (access.mode === 'token') return `listening on ${where}; the playground asks for PLAYGROUND_TOKEN`;
  return `listening on ${where}; the playground is off because HOST is not a loopback address and PLAYGROUND_TOKEN is not set`;
}

/** The AI models workers use. */
interface AiModels {
  readonly chat: ChatModel;
  readonly transcriber: Transcriber;
  readonly images: ImageGenerator;
  readonly translator: Translator;
  readonly pictures: PictureEditor;
  readonly moderator: Moderator;
  readonly catalog: ModelCatalog;
  close(): Promise<void>;
}

function aiModelsFromConfig(
  config: Config,
  log: Logger,
  downloader: (hosts: { allowed: readonly string[]; trusted?: readonly string[] }) => Downloader,
  metrics: AiMetrics,
  gate: UpstreamGate,
): AiModels {
  if (config.openai.demo) {
    log.warn({}, 'OFFLINE DEMO MODEL: neither OPENAI_API_KEY nor OPENAI_BASE_URL is set, so answers are canned. Set them for real answers.');
    return {
      chat: createDemoChatModel(),
      transcriber: createDemoTranscriber(),
      images: createDemoImageGenerator(),
      translator: createDemoTranslator(),
      pictures: createDemoPictureEditor(),
      moderator: createDemoModerator(),
      catalog: createDemoModelCatalog(DEMO_MODEL_NAME),
      close: async () => undefined,
    };
  }
  const client = createOpenAIClient({
    baseUrl: config.openai.baseUrl,
    apiKey: config.openai.apiKey,
    organization: config.openai.organization,
    timeoutMs: config.openai.timeoutMs,
    maxRetries: config.openai.maxRetries,
    observe: (observation) => metrics.aiRequest(observation),
    gate,
  });
  const { image } = config;
  log.info(
    {
      baseUrl: config.openai.baseUrl,
      model: config.chat.model,
      transcribe: config.transcribe.model,
      translate: config.translate.model,
      image: image.model,
      imageEdit: image.editModel,
      imageVariation: image.variationModel,
    },
    'AI models',
  );
  // A `url` image answer is fetched only from the provider's own host or the hosts listed in IMAGE_URL_HOSTS.
  const provider = new URL(config.openai.baseUrl).host;
  const imageAnswers = downloader({ allowed: image.urlHosts, trusted: [provider] });
  return {
    chat: createOpenAIChatModel({ client, model: config.chat.model, onUsage: (model, usage) => metrics.tokensUsed(model, usage) }),
    transcriber: createOpenAITranscriber({ client, model: config.transcribe.model }),
    images: createOpenAIImageGenerator({ client, model: image.model, size: image.size, downloader: imageAnswers }),
    translator: createOpenAITranslator({ client, model: config.translate.model }),
    pictures: createOpenAIPictureEditor({ client, editModel: image.editModel, variationModel: image.variationModel, downloader: imageAnswers }),
    moderator: createOpenAIModerator({ client, model: config.moderation.model }),
    catalog: createOpenAIModelCatalog({ client }),
    close: () => client.close(),
  };
}

/** What a gateway-only process tells the playground about the model the workers use. */
function describeModel(config: Config): ChatModel['info'] {
  return config.openai.demo ? { model: DEMO_MODEL_NAME, demo: true } : { model: config.chat.model, demo: false };
}

/** host:port of a Redis URL, without credentials. */
function describeRedis(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}
