/**
 * How the composition root plugs a platform in. Each platform has a module here that
 * knows its config and builds its two halves from adapters/<platform>: the Outbox,
 * created in every process that runs workers, and the gateway, started in every process
 * that takes platform events. src/app.ts starts the enabled ones for the process's role.
 * Modules import their adapter lazily: discord.js and telegraf cost memory and start-up
 * time in every process, and most deployments enable one platform or none.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { ChatRef, Platform } from '../domain/inbound-message.js';
import type {
  ChatModel,
  Downloader,
  HistoryStore,
  JobQueue,
  Logger,
  Operations,
  Outbox,
  PlatformMetrics,
  PubSub,
  RateLimiter,
  Tracer,
  UploadStore,
} from '../ports/index.js';

/** What every platform module may use. */
export interface PlatformContext {
  readonly config: Config;
  readonly log: Logger;
  readonly history: HistoryStore;
  readonly pubsub: PubSub;
  readonly rateLimiter: RateLimiter;
  /** The name the bot uses for itself (history, help, the playground). */
  readonly botName: string;
  /** The model the workers use, as the playground shows it. */
  readonly modelInfo: ChatModel['info'];
  /**
   * A guarded downloader for these hosts (`host`, `host:port` or `*.suffix`). Private and
   * loopback addresses are refused unless listed as an IP literal or `trusted` (an API
   * root the operator configured, such as TELEGRAM_API_ROOT's host).
   */
  downloader(hosts: { readonly allowed: readonly string[]; readonly trusted?: readonly string[] }): Downloader;
  /** Playground uploads (voice notes, recordings, photos), readable by every worker. */
  readonly uploads: UploadStore;
  /**
   * Whether every message in this chat is checked by community moderation (its
   * `/moderation` switch, else MODERATED_CHANNELS); gateways then also enqueue the
   * domain's `moderationRoute` for messages not addressed to the bot. Cached briefly.
   */
  isModerated(chat: Pick<ChatRef, 'platform' | 'id'>): Promise<boolean>;
  /** Where platform API errors and 429s are counted (/metrics). */
  readonly metrics: PlatformMetrics;
  /** Read-only queue state for the operator view (/admin); reads Redis, so any process can serve it. */
  readonly operations: Operations;
  /** Opens the span of each platform event, where a message's trace starts (a no-op without tracing). */
  readonly tracer: Tracer;
}

/** A running gateway: the HTTP routes it serves on PORT (a webhook, the playground), and how to stop it. */
export interface PlatformGateway {
  readonly routes: ReadonlyArray<(req: IncomingMessage, res: ServerResponse) => Promise<boolean>>;
  /** Stops taking events (intake); in-flight jobs are the workers' business. */
  close(): Promise<void>;
}

/** One platform, as the composition root sees it. */
export interface PlatformModule {
  readonly platform: Platform;
  /** Whether this platform runs with this config (a platform without a token does not). */
  enabled(config: Config): boolean;
  /** Async so a platform's library loads only when the platform is enabled. */
  createOutbox(context: PlatformContext): Promise<Outbox>;
  startGateway(context: PlatformContext & { readonly queue: JobQueue }): Promise<PlatformGateway>;
}
