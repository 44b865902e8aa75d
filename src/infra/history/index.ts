/**
 * Per-conversation history in Redis, bounded by a token budget and an idle TTL
 * (ARCHITECTURE.md, src/infra/history), and the token counter it budgets with.
 */
export { createRedisHistoryStore } from './redis-history.js';
export type { RedisHistoryStoreOptions } from './redis-history.js';
export { countTokens } from './token-counter.js';
