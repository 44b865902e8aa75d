/**
 * Ports: the narrow interfaces workers and adapters depend on. Implementations live in
 * src/infra (Redis, BullMQ, undici) and adapters/<platform> (outboxes); src/app.ts
 * wires them. Tests wire the same implementations against real Redis and protocol fakes.
 * One file per area (outbox, jobs, ai, history, ...); this entry re-exports each by name,
 * so importers need not know the split.
 */
export type { Tracer, TraceSpan, TraceValue } from './tracing.js';
export type { Logger } from './log.js';
export type { ReplyTarget, SentMessage, ChatActivity, OutgoingImage, OutgoingFile, Outbox, Drafts, Outboxes } from './outbox.js';
export type { FetchFileOptions, Downloader, UploadStore } from './files.js';
export type { ChatModel, Transcriber, OutgoingAudio, ImageGenerator, Translator, IncomingPicture, PictureEditor, Moderator, ModelCatalog } from './ai.js';
export type { HistoryStore, AppendOptions } from './history.js';
export type { ChannelSettingsStore, ModerationSettings } from './settings.js';
export type { DailyCounter, DailyQuota } from './quota.js';
export type { LedgerEntry, ReplyLedger } from './ledger.js';
export type { EnqueueOptions, JobQueue, JobContext, JobHandler } from './jobs.js';
export type { PubSub } from './pubsub.js';
export type { RateLimit, RateLimiter } from './rate-limit.js';
export type { PlatformMetrics, QueueSnapshot, FailedJobSummary, OpsSnapshot, Operations } from './operations.js';
export type { ReadinessCheck, BearerVerdict, BearerCheck } from './http.js';
