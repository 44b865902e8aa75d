/**
 * What the soak counts for every message it sends: when the first text of its answer
 * showed, when the complete answer showed, and how many answer messages the user ended
 * with. Lost: no complete answer by the end. Doubled: more than one answer message left
 * showing (a partial one included).
 */
import { Redis } from 'ioredis';

/** One message the soak sent and what became of its answer. */
export interface Tracked {
  readonly id: string;
  readonly expected: string;
  readonly postedAt: number;
  /** Edits and sends of its answer seen so far (streaming included). */
  events: number;
  firstTextAt?: number;
  finalAt?: number;
  /** Answer messages showing (not taken back), by message id: text and whether final. */
  readonly messages: Map<string, { text: string; final: boolean }>;
}

/** The outcome counts over a set of tracked messages. */
export interface Tally {
  readonly sent: number;
  readonly lost: number;
  readonly doubled: number;
}

export function tally(tracked: readonly Tracked[]): Tally {
  return {
    sent: tracked.length,
    lost: tracked.filter((t) => t.finalAt === undefined).length,
    doubled: tracked.filter((t) => t.messages.size > 1).length,
  };
}

/** Nearest-rank percentile of `values` (ms); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `p50 … ms, p99 … ms` of first text and of the complete answer. */
export function latencyLine(tracked: readonly Tracked[]): string {
  const first = tracked.flatMap((t) => (t.firstTextAt === undefined ? [] : [t.firstTextAt - t.postedAt]));
  const final = tracked.flatMap((t) => (t.finalAt === undefined ? [] : [t.finalAt - t.postedAt]));
  const ms = (v: number): string => (Number.isNaN(v) ? '–' : `${Math.round(v)} ms`);
  return `first text p50 ${ms(percentile(first, 50))}, p99 ${ms(percentile(first, 99))}; complete answer p50 ${ms(percentile(final, 50))}, p99 ${ms(percentile(final, 99))} (${final.length} answers)`;
}

/** Polls `predicate` every `intervalMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function until(predicate: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return predicate();
}

/** Reconnects quickly after a Redis restart, so the watcher does not add its own delay to the recovery time. */
const WATCH_RECONNECT_MS = 100;

/** Follows every playground channel of a service (the pub/sub the gateway forwards to pages). */
export interface PlaygroundWatch {
  /** Starts tracking the answer to message `id` (call before posting it). */
  track(id: string, expected: string): Tracked;
  /** Time of the first answer event (of any message) after `time`. */
  firstEventAfter(time: number): number | undefined;
  close(): void;
}

export async function watchPlayground(redisUrl: string, prefix: string): Promise<PlaygroundWatch> {
  const subscriber = new Redis(redisUrl, { retryStrategy: () => WATCH_RECONNECT_MS, maxRetriesPerRequest: null });
  subscriber.on('error', () => undefined);
  const byId = new Map<string, Tracked>();
  /** Bot message id → the user message it answers (delete events name only the former). */
  const answerOf = new Map<string, string>();
  const eventTimes: number[] = [];
  await subscriber.psubscribe(`${prefix}:pubsub:web:channel:*`);
  subscriber.on('pmessage', (_pattern, _channel, raw: string) => {
    const now = Date.now();
    const event = JSON.parse(raw) as { type: string; id?: string; message?: { id: string; role: string; text: string; final: boolean; replyTo?: string } };
    if (event.type === 'delete' && event.id !== undefined) {
      const owner = answerOf.get(event.id);
      if (owner !== undefined) byId.get(owner)?.messages.delete(event.id);
      return;
    }
    const m = event.message;
    if (!m || m.role !== 'assistant' || m.replyTo === undefined) return;
    const tracked = byId.get(m.replyTo);
    if (!tracked) return;
    eventTimes.push(now);
    answerOf.set(m.id, m.replyTo);
    tracked.events += 1;
    tracked.messages.set(m.id, { text: m.text, final: m.final });
    if (tracked.firstTextAt === undefined && m.text !== '') tracked.firstTextAt = now;
    if (tracked.finalAt === undefined && m.final && m.text === tracked.expected) tracked.finalAt = now;
  });
  return {
    track(id, expected) {
      const tracked: Tracked = { id, expected, postedAt: Date.now(), events: 0, messages: new Map() };
      byId.set(id, tracked);
      return tracked;
    },
    firstEventAfter: (time) => eventTimes.find((t) => t > time),
    close: () => subscriber.disconnect(),
  };
}
