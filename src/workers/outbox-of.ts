/** Which Outbox a job's run replies through. */
import type { Platform } from '../domain/inbound-message.js';
import type { JobContext, Outbox, Outboxes } from '../ports/index.js';

/**
 * The Outbox on `platform` for this run: the run's own (ledgered, reply-ledger.ts) when
 * its context carries them, else the worker's.
 */
export function outboxOf(outboxes: Outboxes, context: Pick<JobContext, 'outboxes'>, platform: Platform): Outbox | undefined {
  return (context.outboxes ?? outboxes)[platform];
}
