/**
 * Daily counters and quotas, shared by every process.
 * One area of src/ports; index.ts re-exports every port.
 */
/** Adds up amounts per key per UTC day, across processes (e.g. tokens per user). */
export interface DailyCounter {
  /** Today's total for the key, and when today ends (ms since the epoch). */
  get(key: string): Promise<{ readonly total: number; readonly resetsAt: number }>;
  add(key: string, amount: number): Promise<void>;
}

/** Counts uses per key per UTC day, across processes (e.g. images per user). */
export interface DailyQuota {
  readonly limit: number;
  /** Counts one use if it fits today's limit. `resetsAt`: ms since the epoch of the next UTC midnight. */
  take(key: string): Promise<{ readonly allowed: boolean; readonly used: number; readonly resetsAt: number }>;
  /** Gives back a use that did not happen (the generation failed). */
  giveBack(key: string): Promise<void>;
}
