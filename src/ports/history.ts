/**
 * A conversation's history.
 * One area of src/ports; index.ts re-exports every port.
 */
import type { HistoryEntry } from '../domain/chat.js';

/** Per-conversation history, bounded by a token budget and an idle TTL. */
export interface HistoryStore {
  /** Oldest first. Empty when the conversation is new, cleared or expired. */
  read(conversation: string): Promise<HistoryEntry[]>;
  /**
   * Appends entries atomically, then trims the oldest to the token budget. With `once` (a
   * job's id), an append whose id this history took lately is skipped: a job that runs
   * again (its first run was cut off after recording) records its exchange once.
   */
  append(conversation: string, entries: readonly HistoryEntry[], options?: AppendOptions): Promise<void>;
  clear(conversation: string): Promise<void>;
}

/** Options of HistoryStore.append. */
export interface AppendOptions {
  /** A job's id: skipped when this history took an append with this id lately. */
  readonly once?: string;
  /** Removes this many entries from the end first, in the same atomic step (`/redo` replaces the last exchange). */
  readonly replaceLast?: number;
}
