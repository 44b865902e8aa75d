/**
 * The reply ledger: what each job sent, so a retried job edits instead of sending again.
 * One area of src/ports; index.ts re-exports every port.
 */
import type { Platform } from '../domain/inbound-message.js';

/** A message a job sent: where, and the platform's id for it. */
export interface LedgerEntry {
  readonly platform: Platform;
  readonly chatId: string;
  readonly messageId: string;
}

/** What each job has sent, by sequence number, so a retried job edits instead of sending again (issue #7). */
export interface ReplyLedger {
  load(jobId: string): Promise<Map<number, LedgerEntry>>;
  record(jobId: string, sequence: number, entry: LedgerEntry): Promise<void>;
}
