/**
 * No doubled answers after a crash or a retry: every message a job sends is written down
 * in a ledger (Redis, keyed by job id) as the job's n-th send. When the job runs again,
 * its n-th send edits the message the earlier attempt sent instead of posting a new one,
 * an image (or album) already delivered is not sent again, and messages the earlier
 * attempt sent that this one did not need (a "Retrying…" notice) are removed at the end.
 *
 * The job's state travels in an AsyncLocalStorage, so Outboxes are wrapped once and
 * workers stay plain functions of (payload, context). Every entry is also kept in the
 * process until its job has finished, so when Redis goes away between a send and its
 * ledger write (an outage), the job's next attempt in this process still finds it. Only a
 * process that dies in that same moment can double one message.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { JobLostError } from '../domain/errors.js';
import type { JobKind } from '../domain/jobs.js';
import type { JobHandler, LedgerEntry, OutgoingFile, Outbox, Outboxes, ReplyLedger, ReplyTarget } from '../ports/index.js';

/** What one running job has sent, by sequence number. */
interface JobLedger {
  readonly jobId: string;
  /** Sends of earlier attempts: sequence → message id (loaded on first use). */
  earlier: Map<number, LedgerEntry> | undefined;
  next: number;
  /** False once the run lost its lock (JobContext.owned). */
  readonly owned: () => boolean;
}

const current = new AsyncLocalStorage<JobLedger>();

/** Entries of unfinished jobs in this process, by ledger key: the ledger's copy in memory. */
const unfinished = new Map<string, Map<number, LedgerEntry>>();
/** A bound on the memory of jobs that never finish here (another process took them over). */
const MAX_UNFINISHED_JOBS = 10_000;

/** The job's entries: Redis's, plus any this process wrote that Redis may have missed. */
async function loadEntries(ledger: ReplyLedger, key: string): Promise<Map<number, LedgerEntry>> {
  const local = unfinished.get(key);
  let stored: Map<number, LedgerEntry>;
  try {
    stored = await ledger.load(key);
  } catch (error) {
    if (local === undefined) throw error;
    stored = new Map();
  }
  return local === undefined ? stored : new Map([...local, ...stored]);
}

/** Writes an entry to memory at once and to Redis; a failed Redis write leaves the memory copy. */
async function recordEntry(ledger: ReplyLedger, key: string, sequence: number, entry: LedgerEntry): Promise<void> {
  let local = unfinished.get(key);
  if (local === undefined) {
    if (unfinished.size >= MAX_UNFINISHED_JOBS) unfinished.clear();
    local = new Map();
    unfinished.set(key, local);
  }
  local.set(sequence, entry);
  await ledger.record(key, sequence, entry).catch(() => undefined);
}

/** Runs each job of `handler` with a ledger of its sends; without a ledger, the handler as it is. */
export function withReplyLedger<K extends JobKind>(ledger: ReplyLedger | undefined, outboxes: Outboxes, kind: K, handler: JobHandler<K>): JobHandler<K> {
  if (!ledger) return handler;
  return async (payload, context) => {
    // Job ids are unique per kind only: a message's chat and moderate jobs share one.
    // A first run has nothing to find: no read of the ledger then.
    const state: JobLedger = { jobId: `${kind}/${context.jobId}`, earlier: context.firstRun ? new Map() : undefined, next: 0, owned: context.owned ?? (() => true) };
    const result = await current.run(state, () => handler(payload, context));
    unfinished.delete(state.jobId);
    // Messages an earlier attempt sent that this one did not reuse: a stale notice, or
    // the tail of a longer answer. Best effort.
    const earlier = state.earlier ?? (await loadEntries(ledger, state.jobId));
    for (const [sequence, sent] of earlier) {
      if (sequence < state.next) continue;
      const outbox = outboxes[sent.platform as keyof Outboxes];
      const chat = { platform: sent.platform as Outbox['platform'], id: sent.chatId, kind: 'group' as const };
      await (outbox?.deleteMessage?.(chat, sent.messageId) ?? outbox?.edit({ chat }, { id: sent.messageId }, '…', { final: true }))?.catch(() => undefined);
    }
    return result;
  };
}

/** Wraps an Outbox so that, inside a job run by withReplyLedger, sends go through the job's ledger. */
export function ledgeredOutbox(outbox: Outbox, ledger: ReplyLedger | undefined): Outbox {
  if (!ledger) return outbox;
  const slot = async (): Promise<{ state: JobLedger; sequence: number; earlier?: { messageId: string } } | undefined> => {
    const state = current.getStore();
    if (!state) return undefined;
    // A run that lost its lock sends nothing more: the worker that took the job over answers.
    if (!state.owned()) throw new JobLostError(`${state.jobId} lost its lock; it runs elsewhere`);
    state.earlier ??= await loadEntries(ledger, state.jobId);
    const sequence = state.next++;
    const earlier = state.earlier.get(sequence);
    return earlier ? { state, sequence, earlier } : { state, sequence };
  };
  const record = (state: JobLedger, sequence: number, chatId: string, messageId: string): Promise<void> =>
    recordEntry(ledger, state.jobId, sequence, { platform: outbox.platform, chatId, messageId });

  const sendFile = outbox.sendFile?.bind(outbox);
  return Object.assign(Object.create(outbox) as Outbox, {
    async edit(target, message, text, options) {
      const state = current.getStore();
      if (state && !state.owned()) throw new JobLostError(`${state.jobId} lost its lock; it runs elsewhere`);
      await outbox.edit(target, message, text, options);
    },
    async send(target, text, options) {
      const at = await slot();
      if (at?.earlier) {
        const message = { id: at.earlier.messageId };
        await outbox.edit(target, message, text, options);
        return message;
      }
      const sent = await outbox.send(target, text, options);
      if (at) await record(at.state, at.sequence, target.chat.id, sent.id);
      return sent;
    },
    async sendImage(target, image, caption) {
      const at = await slot();
      if (at?.earlier) return { id: at.earlier.messageId };
      const sent = await outbox.sendImage(target, image, caption);
      if (at) await record(at.state, at.sequence, target.chat.id, sent.id);
      return sent;
    },
    // An album is one send: delivered once, it is not sent again (its first message stands for it).
    async sendImages(target, images, caption) {
      const at = await slot();
      if (at?.earlier) return [{ id: at.earlier.messageId }];
      const sent = await outbox.sendImages(target, images, caption);
      const first = sent[0];
      if (at && first) await record(at.state, at.sequence, target.chat.id, first.id);
      return sent;
    },
    ...(sendFile === undefined
      ? {}
      : {
          async sendFile(target: ReplyTarget, file: OutgoingFile, caption?: string) {
            const at = await slot();
            if (at?.earlier) return { id: at.earlier.messageId };
            const sent = await sendFile(target, file, caption);
            if (at) await record(at.state, at.sequence, target.chat.id, sent.id);
            return sent;
          },
        }),
  } satisfies Partial<Outbox>);
}
