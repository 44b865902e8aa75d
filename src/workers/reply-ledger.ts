/**
 * No doubled answers after a crash or a retry: every message a job sends is written down
 * in a ledger (Redis, keyed by job id) as the job's n-th send. When the job runs again,
 * its n-th send edits the message the earlier attempt sent instead of posting a new one,
 * an image (or album) already delivered is not sent again, and messages the earlier
 * attempt sent that this one did not need (a "Retrying…" notice) are removed at the end.
 *
 * `createReplyLedger` is made once per process (src/app/workers.stage.ts). For each run of a job it
 * builds that run's own ledgered Outboxes and hands them to the handler in its context
 * (`JobContext.outboxes`): no state outside the run but the process's copy below. Every
 * entry is also kept in the process until its job has finished, so when Redis goes away
 * between a send and its ledger write (an outage), the job's next attempt in this process
 * still finds it. Only a process that dies in that same moment can double one message.
 */
import { JobLostError } from '../domain/errors.js';
import type { JobKind } from '../domain/jobs.js';
import type { JobContext, JobHandler, LedgerEntry, OutgoingFile, Outbox, Outboxes, ReplyLedger, ReplyTarget } from '../ports/index.js';

/** A bound on the memory of jobs that never finish here (another process took them over). */
const MAX_UNFINISHED_JOBS = 10_000;

/** What one run of a job has sent, by sequence number. */
interface JobRun {
  /** The ledger's key: job ids are unique per kind only (a message's chat and moderate jobs share one). */
  readonly key: string;
  /** Sends of earlier attempts: sequence → message id (loaded on first use). */
  earlier: Map<number, LedgerEntry> | undefined;
  next: number;
  /** False once the run lost its lock (JobContext.owned). */
  readonly owned: () => boolean;
}

/** Wraps a job handler so that each run sends through its own ledgered Outboxes (`context.outboxes`). */
export type LedgeredHandler = <K extends JobKind>(kind: K, handler: JobHandler<K>) => JobHandler<K>;

/** The process's reply ledger over `ledger` (the store) and the platforms' `outboxes`. */
export function createReplyLedger(ledger: ReplyLedger, outboxes: Outboxes): LedgeredHandler {
  /** Entries of unfinished jobs in this process, by ledger key: the ledger's copy in memory. */
  const unfinished = new Map<string, Map<number, LedgerEntry>>();

  /** The job's entries: Redis's, plus any this process wrote that Redis may have missed. */
  const loadEntries = async (key: string): Promise<Map<number, LedgerEntry>> => {
    const local = unfinished.get(key);
    let stored: Map<number, LedgerEntry>;
    try {
      stored = await ledger.load(key);
    } catch (error) {
      if (local === undefined) throw error;
      stored = new Map();
    }
    return local === undefined ? stored : new Map([...local, ...stored]);
  };

  /** Writes an entry to memory at once and to Redis; a failed Redis write leaves the memory copy. */
  const recordEntry = async (key: string, sequence: number, entry: LedgerEntry): Promise<void> => {
    let local = unfinished.get(key);
    if (local === undefined) {
      if (unfinished.size >= MAX_UNFINISHED_JOBS) unfinished.clear();
      local = new Map();
      unfinished.set(key, local);
    }
    local.set(sequence, entry);
    await ledger.record(key, sequence, entry).catch(() => undefined);
  };

  /** The run's next send: its sequence number, and what an earlier attempt sent under it. */
  const slot = async (run: JobRun): Promise<{ sequence: number; earlier?: { messageId: string } }> => {
    // A run that lost its lock sends nothing more: the worker that took the job over answers.
    if (!run.owned()) throw new JobLostError(`${run.key} lost its lock; it runs elsewhere`);
    run.earlier ??= await loadEntries(run.key);
    const sequence = run.next++;
    const earlier = run.earlier.get(sequence);
    return earlier ? { sequence, earlier } : { sequence };
  };

  const ledgered = (run: JobRun): Outboxes => {
    const byPlatform: Partial<Record<keyof Outboxes, Outbox>> = {};
    for (const [platform, outbox] of Object.entries(outboxes) as [keyof Outboxes, Outbox | undefined][]) {
      if (outbox) byPlatform[platform] = ledgeredOutbox(outbox, run, slot, (sequence, chatId, messageId) =>
        recordEntry(run.key, sequence, { platform: outbox.platform, chatId, messageId }));
    }
    return byPlatform;
  };

  return <K extends JobKind>(kind: K, handler: JobHandler<K>): JobHandler<K> =>
    async (payload, context) => {
      // A first run has nothing to find: no read of the ledger then.
      const run: JobRun = { key: `${kind}/${context.jobId}`, earlier: context.firstRun ? new Map() : undefined, next: 0, owned: context.owned ?? (() => true) };
      const result = await handler(payload, { ...context, outboxes: ledgered(run) } satisfies JobContext);
      unfinished.delete(run.key);
      // Messages an earlier attempt sent that this one did not reuse: a stale notice, or
      // the tail of a longer answer. Best effort.
      const earlier = run.earlier ?? (await loadEntries(run.key));
      for (const [sequence, sent] of earlier) {
        if (sequence < run.next) continue;
        const outbox = outboxes[sent.platform as keyof Outboxes];
        const chat = { platform: sent.platform as Outbox['platform'], id: sent.chatId, kind: 'group' as const };
        await (outbox?.deleteMessage?.(chat, sent.messageId) ?? outbox?.edit({ chat }, { id: sent.messageId }, '…', { final: true }))?.catch(() => undefined);
      }
      return result;
    };
}

/**
 * One run's Outbox on one platform: each send takes the run's next sequence number and
 * edits (or, for pictures, skips) what an earlier attempt sent under it; the rest passes
 * straight to the platform's Outbox.
 */
function ledgeredOutbox(
  outbox: Outbox,
  run: JobRun,
  slot: (run: JobRun) => Promise<{ sequence: number; earlier?: { messageId: string } }>,
  record: (sequence: number, chatId: string, messageId: string) => Promise<void>,
): Outbox {
  const { sendFile, deleteMessage, timeoutMember, permissionsOf, messageLink } = outbox;
  return {
    get platform() {
      return outbox.platform;
    },
    get maxMessageLength() {
      return outbox.maxMessageLength;
    },
    get editIntervalMs() {
      return outbox.editIntervalMs;
    },
    get maxFileBytes() {
      return outbox.maxFileBytes;
    },
    get drafts() {
      return outbox.drafts;
    },
    showTyping: (target, activity) => outbox.showTyping(target, activity),
    fetchFile: (attachment, options) => outbox.fetchFile(attachment, options),
    async edit(target, message, text, options) {
      if (!run.owned()) throw new JobLostError(`${run.key} lost its lock; it runs elsewhere`);
      await outbox.edit(target, message, text, options);
    },
    async send(target, text, options) {
      const at = await slot(run);
      if (at.earlier) {
        const message = { id: at.earlier.messageId };
        await outbox.edit(target, message, text, options);
        return message;
      }
      const sent = await outbox.send(target, text, options);
      await record(at.sequence, target.chat.id, sent.id);
      return sent;
    },
    async sendImage(target, image, caption) {
      const at = await slot(run);
      if (at.earlier) return { id: at.earlier.messageId };
      const sent = await outbox.sendImage(target, image, caption);
      await record(at.sequence, target.chat.id, sent.id);
      return sent;
    },
    // An album is one send: delivered once, it is not sent again (its first message stands for it).
    async sendImages(target, images, caption) {
      const at = await slot(run);
      if (at.earlier) return [{ id: at.earlier.messageId }];
      const sent = await outbox.sendImages(target, images, caption);
      const first = sent[0];
      if (first) await record(at.sequence, target.chat.id, first.id);
      return sent;
    },
    ...(sendFile === undefined
      ? {}
      : {
          async sendFile(target: ReplyTarget, file: OutgoingFile, caption?: string) {
            const at = await slot(run);
            if (at.earlier) return { id: at.earlier.messageId };
            const sent = await sendFile.call(outbox, target, file, caption);
            await record(at.sequence, target.chat.id, sent.id);
            return sent;
          },
        }),
    ...(deleteMessage === undefined ? {} : { deleteMessage: deleteMessage.bind(outbox) }),
    ...(timeoutMember === undefined ? {} : { timeoutMember: timeoutMember.bind(outbox) }),
    ...(permissionsOf === undefined ? {} : { permissionsOf: permissionsOf.bind(outbox) }),
    ...(messageLink === undefined ? {} : { messageLink: messageLink.bind(outbox) }),
  };
}
