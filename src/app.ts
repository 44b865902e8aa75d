/**
 * The composition root's wiring: builds every part from a Config for one role and
 * returns a handle that stops them in order. The parts that start and stop are stages
 * (src/app/*.stage.ts), started here in order and stopped in reverse (src/app/stages.ts).
 * src/main.ts calls it for the CLI; the end-to-end tests call it directly, so they run the
 * same wiring as production.
 */
import type { Config, Role } from './config.js';
import { createRedisHistoryStore } from './infra/history/index.js';
import { createLogger } from './infra/log/logger.js';
import { createActiveConversations, createMetrics } from './infra/metrics/index.js';
import { createJobQueue, createQueueOperations } from './infra/queue/index.js';
import { createRedisKeys } from './infra/redis/keys.js';
import { createRedisPubSub } from './infra/redis/pubsub.js';
import { createRedisRateLimiter } from './infra/ratelimit/index.js';
import { createRedisUploadStore } from './infra/files/redis-upload-store.js';
import { TRACING_OFF, type Tracing } from './infra/tracing/index.js';
import { PLATFORMS, type PlatformContext } from './platforms/index.js';
import type { ChatModel, Logger, ReadinessCheck } from './ports/index.js';
import { startDownloads } from './app/downloads.stage.js';
import { startIntake } from './app/intake.stage.js';
import { describeModel, startModels } from './app/models.stage.js';
import { createModeration } from './app/moderation.js';
import { startRedis } from './app/redis.stage.js';
import { createStages } from './app/stages.js';
import { startWorkers } from './app/workers.stage.js';

/** The name the bot uses for itself in history and help. */
const BOT_NAME = 'Switchboard';

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

/**
 * Starts the service for `role` ('all' by default) and resolves once it is serving.
 * Stages start in this order and stop in the reverse one: Redis, queue operations (/admin),
 * the job queue (gateways), downloads, AI models (workers), workers, intake (gateways and
 * the HTTP listeners). So a stop takes no new messages first, then drains the jobs in
 * progress, then closes what they used, Redis last.
 */
export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
  const role = options.role ?? 'all';
  const tracing = options.tracing ?? TRACING_OFF;
  const log = options.log ?? createLogger({ level: config.log.level, secrets: config.secrets, traceIds: tracing.enabled });
  const runsWorkers = role !== 'gateway';
  const runsGateway = role !== 'worker';
  const stages = createStages(log);

  const redis = await stages.start('redis', () => startRedis(config, { runsGateway, runsWorkers }, log));
  const { command, subscriber, worker, producer } = redis;
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

  // The fail-fast producer where there is one (gateways serve /admin): a refresh must not wait out a Redis outage.
  const operations = await stages.start('operations', () => {
    const created = createQueueOperations({ connection: producer ?? command, keys, secrets: config.secrets });
    return { value: created, stop: () => created.close() };
  });
  const queue = producer
    ? await stages.start('queue', () => {
        const jobs = createJobQueue({ connection: producer, keys, attempts: config.queue.attempts, metrics, telemetry: tracing.queueTelemetry });
        return { value: jobs, stop: () => jobs.close() };
      })
    : undefined;
  const downloader = await stages.start('downloads', startDownloads);
  const models = worker
    ? await stages.start('models', () => startModels({ config, log, redis: command, keys, metrics, downloader, chatModel: options.chatModel }))
    : undefined;
  const chatModel = models?.chat;
  const moderation = createModeration(config, command, keys);
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
    isModerated: moderation.isModerated,
    metrics,
    operations,
    tracer: tracing.tracer,
  };

  const workers =
    worker && models
      ? await stages.start('workers', () =>
          startWorkers({
            config,
            log,
            tracing,
            command,
            worker,
            keys,
            metrics,
            models,
            history,
            rateLimiter,
            moderation,
            platforms,
            context,
            botName: BOT_NAME,
            checks,
          }),
        )
      : undefined;
  // The producer's fail-fast connection, where there is one: a scrape must not wait out a Redis outage.
  const depthSource = queue ?? workers;
  if (depthSource) metrics.watchQueues(() => depthSource.depth());
  const { http, metricsHttp } = await stages.start('intake', () => startIntake({ config, role, log, metrics, platforms, context, queue, checks }));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ role }, 'stopping: no new messages; finishing the ones in progress');
      await stages.stop(config.shutdownTimeoutMs);
      log.info({ role }, 'stopped');
    })());

  return { url: http.url, metricsUrl: metricsHttp?.url, redisUrl: redis.url, role, chatModel: chatModel?.info, stop };
}
