/**
 * The metrics area: Prometheus metrics of one app instance and the Redis-backed count of
 * active conversations. See docs/operations.md, "Metrics", for every name and label.
 * https://prometheus.io/docs/concepts/data_model/
 */
export { createMetrics, METRIC_PREFIX, QUEUE_STATES, type Metrics } from './metrics.js';
export type {
  AiMetrics,
  AiRequestObservation,
  ConversationCounter,
  IntakeMetrics,
  JobMetrics,
  JobOutcome,
  PlatformMetrics,
  QueueDepth,
  TokenUsage,
} from './recorders.js';
export { ACTIVE_WINDOW_MS, createActiveConversations } from './active-conversations.js';
export type { ActiveConversationsOptions } from './active-conversations.js';
