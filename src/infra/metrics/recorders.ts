/**
 * What each part of the service reports to the metrics, one narrow interface per reporter,
 * so a reporter depends only on the methods it calls (createMetrics implements them all).
 * https://prometheus.io/docs/practices/instrumentation/
 */

/** How a job attempt ended, as the BullMQ worker reports it. */
export type JobOutcome = 'completed' | 'failed' | 'retried' | 'stalled';

/** Jobs per kind (`chat`, `image`, …) and state (QUEUE_STATES). */
export type QueueDepth = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** What the queue's workers report (src/infra/queue/workers.ts). */
export interface JobMetrics {
  /** A job's first attempt started `ms` after it was enqueued (ordering waits included). */
  jobWaited(kind: string, ms: number): void;
  /** One attempt's handler ran for `ms`, whatever its outcome. */
  jobRan(kind: string, ms: number): void;
  /** An attempt ended; `result` is the handler's result when it completed. */
  jobSettled(kind: string, outcome: JobOutcome, result?: unknown): void;
  /** A job of this conversation started (for `switchboard_active_conversations`). */
  conversationActive(conversation: string): void;
}

/** What the producer reports (src/infra/queue/job-queue.ts). */
export interface IntakeMetrics {
  jobEnqueued(kind: string, duplicate: boolean): void;
}

/** One attempt of one upstream AI request (src/infra/ai/http.ts). */
export interface AiRequestObservation {
  /** Path below the base URL without the leading `/`, e.g. `chat/completions`. */
  readonly endpoint: string;
  /** The HTTP status, or `timeout`, `network` or `aborted` when none arrived. */
  readonly status: string;
  /** Until the response headers arrived, or the attempt failed. */
  readonly seconds: number;
}

/** Token usage of one completion, as the chat model reports it. */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** What the AI client and chat model report. */
export interface AiMetrics {
  aiRequest(observation: AiRequestObservation): void;
  tokensUsed(model: string, usage: TokenUsage): void;
  /** A request waited `ms` for the endpoint's rate limits in `lane` (a model) before it went. */
  aiWaited(lane: string, ms: number): void;
}

/** What platform adapters report: every refused or failed platform API call. */
export interface PlatformMetrics {
  /** `status` is the HTTP status (429 when rate limited), or a word such as `network`. */
  platformError(platform: string, status: number | string): void;
}

/** Counts conversations active recently (see active-conversations.ts). */
export interface ConversationCounter {
  /** The window "recently" means, as a label value, e.g. `1h`. */
  readonly window: string;
  touch(conversation: string): Promise<void>;
  count(): Promise<number>;
}
