/**
 * A job given up by the queue itself (it stalled more often than it may: its workers kept
 * dying or starving while running it) never finished a run of its handler, so the user
 * was told nothing. They are now, in one plain sentence, replying to their message.
 */
import type { JobKind, JobPayload } from '../domain/jobs.js';
import { FAILURE_NOTICES } from '../domain/replies.js';
import type { Outboxes } from '../ports/index.js';
import { replyTargetOf } from './answer.js';

/** Tells the author of a given-up job's message; moderation jobs (nobody asked) are left alone. */
export async function tellGaveUp(outboxes: Outboxes, kind: JobKind, payload: JobPayload<JobKind>): Promise<void> {
  if (kind === 'moderate') return;
  const message = payload.message;
  const outbox = outboxes[message.chat.platform];
  await outbox?.send(replyTargetOf(message), FAILURE_NOTICES.internal, { final: true });
}
