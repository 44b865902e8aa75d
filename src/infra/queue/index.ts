export { createJobQueue, queueNameOf, type JobEnvelope, type JobQueueOptions, type ManagedJobQueue } from './job-queue.js';
export { createJobWorkers, type JobHandlers, type JobWorkers, type JobWorkersOptions } from './workers.js';
export { createOrdering, DEDUPE_TTL_MS, GAP_GRACE_MS, type Ordering } from './ordering.js';
export { readDepth, type DepthState, type JobDepth } from './depth.js';
export { createQueueOperations, MAX_REASON_CHARS, RECENT_FAILURES, type QueueOperations, type QueueOperationsOptions } from './operations.js';
