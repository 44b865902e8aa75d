/**
 * The AI models stage (processes that run workers): the offline demo models when neither
 * OPENAI_API_KEY nor OPENAI_BASE_URL is set, else one OpenAI-compatible client behind the
 * shared upstream gate, with a model per kind of job. Stops by closing the client.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
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
} from '../infra/ai/index.js';
import type { AiMetrics, Metrics } from '../infra/metrics/index.js';
import type { RedisKeys } from '../infra/redis/keys.js';
import type {
  ChatModel,
  ImageGenerator,
  Logger,
  ModelCatalog,
  Moderator,
  PictureEditor,
  Transcriber,
  Translator,
} from '../ports/index.js';
import type { DownloaderFor } from './downloads.stage.js';
import type { Started } from './stages.js';

/** The AI models workers use. */
export interface AiModels {
  readonly chat: ChatModel;
  readonly transcriber: Transcriber;
  readonly images: ImageGenerator;
  readonly translator: Translator;
  readonly pictures: PictureEditor;
  readonly moderator: Moderator;
  readonly catalog: ModelCatalog;
  close(): Promise<void>;
}

/** What the models stage uses. */
export interface ModelsDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly metrics: Metrics;
  readonly downloader: DownloaderFor;
  /** Replaces the chat model chosen from config (benchmarks use a zero-latency one). */
  readonly chatModel: ChatModel | undefined;
}

/** Starts the models stage. */
export function startModels(deps: ModelsDeps): Started<AiModels> {
  const { config, log, metrics, downloader } = deps;
  const gate = createUpstreamGate({
    redis: deps.redis,
    keys: deps.keys,
    requestsPerMinute: config.openai.requestsPerMinute,
    tokensPerMinute: config.openai.tokensPerMinute,
    observe: (lane, waitedMs) => metrics.aiWaited(lane, waitedMs),
  });
  let models = aiModelsFromConfig(config, log, downloader, metrics, gate);
  if (deps.chatModel) models = { ...models, chat: deps.chatModel };
  return { value: models, stop: () => models.close() };
}

function aiModelsFromConfig(
  config: Config,
  log: Logger,
  downloader: DownloaderFor,
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
export function describeModel(config: Config): ChatModel['info'] {
  return config.openai.demo ? { model: DEMO_MODEL_NAME, demo: true } : { model: config.chat.model, demo: false };
}
