/**
 * The workers stage (processes that run workers): each platform's Outbox, traced and
 * written in the job's reply ledger; every job kind's handler wrapped in the abuse limits
 * and the ledger; and the BullMQ workers that run them. Stops by draining the jobs in
 * progress, for at most the grace it is given.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createRateBudget } from '../domain/rate-budget.js';
import { countTokens } from '../infra/history/index.js';
import { createRedisReplyLedger } from '../infra/ledger/redis-reply-ledger.js';
import type { Metrics } from '../infra/metrics/index.js';
import { createJobWorkers, type JobWorkers } from '../infra/queue/index.js';
import { createRedisDailyCounter, createRedisDailyQuota } from '../infra/quota/redis-daily-quota.js';
import type { RedisKeys } from '../infra/redis/keys.js';
import { createRedisChannelSettings } from '../infra/settings/redis-channel-settings.js';
import { tracedHistory, tracedOutbox, type Tracing } from '../infra/tracing/index.js';
import type { PlatformContext, PlatformModule } from '../platforms/index.js';
import type { HistoryStore, Logger, Outbox, Outboxes, RateLimiter, ReadinessCheck } from '../ports/index.js';
import {
  createChatWorker,
  createImageWorker,
  createModerateWorker,
  createPictureWorker,
  createTranscribeWorker,
  createTranslateWorker,
  createReplyLedger,
  tellGaveUp,
  tokenRecorder,
  withLimits,
  withModerationAdmission,
} from '../workers/index.js';
import type { AiModels } from './models.stage.js';
import type { Moderation } from './moderation.js';
import type { Started } from './stages.js';

/**
 * Streaming updates (edits of a growing answer, drafts) one worker process makes a second,
 * over all its answers; the rest are skipped, and the next update or the final text
 * carries theirs. An update is a preview: with thousands of answers streaming at once, one
 * a second each would be thousands of platform calls a second, costing the worker more
 * CPU than the answers (at 2,000 answers of 11 s: 12.8 drafts and 11.7 ms of CPU an
 * answer). Past it, previews update less often; first messages and final texts never wait.
 */
const PREVIEWS_PER_SECOND = 250;

/** What the workers stage uses. */
export interface WorkersDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly tracing: Tracing;
  /** The process's command connection (ledger, quotas, channel settings). */
  readonly command: Redis;
  /** BullMQ's blocking connection for the workers. */
  readonly worker: Redis;
  readonly keys: RedisKeys;
  readonly metrics: Metrics;
  readonly models: AiModels;
  readonly history: HistoryStore;
  readonly rateLimiter: RateLimiter;
  readonly moderation: Moderation;
  readonly platforms: readonly PlatformModule[];
  readonly context: PlatformContext;
  /** The name the bot uses for itself in history and help. */
  readonly botName: string;
  /** The readiness checks of /readyz; the stage adds its own. */
  readonly checks: ReadinessCheck[];
}

/** Starts the workers stage. */
export async function startWorkers(deps: WorkersDeps): Promise<Started<JobWorkers>> {
  const { config, log, tracing, command, worker, keys, metrics, models, history, rateLimiter, platforms, context } = deps;
  const { settings: moderationSettings, configured: configuredModeration, switches: moderationSwitches } = deps.moderation;
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
    botName: deps.botName,
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
  const workers = createJobWorkers({
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
  deps.checks.push({ name: 'workers', check: async () => workers.running() });
  return { value: workers, stop: (graceMs) => workers.close(graceMs) };
}
