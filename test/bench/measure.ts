/**
 * The benchmark's two ways of loading a path, the same for every platform: a closed loop
 * (a fixed number of messages kept in flight, for the most messages a second) and an open
 * loop (messages offered at a fixed rate, for the added latency). A path is a Driver: it
 * sends one user message in a conversation and resolves when the bot's final text for it
 * is on the platform.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What the fake upstream answers to every chat completion, and so what every final reply reads. */
export const BENCH_REPLY = 'ok, noted.';
/** What every user says. */
export const BENCH_PROMPT = 'How are you today?';

/** Words of the timed reply's sentences, used in turn. */
const REPLY_WORDS = 'the quick answer takes its time while every word arrives one after another from a model that thinks before it writes'.split(' ');
const WORDS_PER_SENTENCE = 12;

/** The timed fake model's answer: `words` words in sentences of twelve, the same for every message. */
export function timedReply(words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    let word = REPLY_WORDS[i % REPLY_WORDS.length]!;
    if (i % WORDS_PER_SENTENCE === 0) word = word[0]!.toUpperCase() + word.slice(1);
    if (i % WORDS_PER_SENTENCE === WORDS_PER_SENTENCE - 1 || i === words - 1) word += '.';
    out.push(word);
  }
  return out.join(' ');
}

/** The bot's platform calls by kind (sendMessage, sendMessageDraft, edit…), counted by the fake platform. */
export type WriteCounts = Record<string, number>;

/** One way into the service: a platform fake (or the playground) with a user on it. */
export interface Driver {
  readonly name: string;
  /**
   * Sends one user message in conversation `conversation` and resolves with the ms from
   * the moment the platform made it available to the bot until the platform recorded the
   * bot's final text for it.
   */
  send(conversation: number): Promise<number>;
  /** The bot's platform calls since the last call of this, by kind (platforms only). */
  writes?(): WriteCounts;
}

export interface ThroughputOptions {
  readonly messages: number;
  /** Messages in flight at once: sent, not yet answered. */
  readonly window: number;
  /** Conversations used in turn, numbered from `base`. */
  readonly conversations: number;
  readonly base: number;
  /** The phase stops here even if messages are still unanswered. */
  readonly limitMs: number;
}

export interface ThroughputResult {
  readonly answered: number;
  readonly seconds: number;
  /** Answered messages a second, from the first send to the last answer. */
  readonly rate: number;
  /** False when the time limit ended the phase first, or messages were refused. */
  readonly complete: boolean;
}

/** Keeps `window` messages in flight until `messages` have been answered (or the time limit). */
export async function throughput(driver: Driver, options: ThroughputOptions): Promise<ThroughputResult> {
  const stop = new AbortController();
  const expired = sleep(options.limitMs, false, { signal: stop.signal }).catch(() => false);
  const start = performance.now();
  let last = start;
  let next = 0;
  let answered = 0;
  let timedOut = false;
  await Promise.all(
    Array.from({ length: options.window }, async () => {
      while (next < options.messages && !timedOut) {
        const i = next++;
        // A refused message (the playground's POST) is not answered; the loop goes on.
        const answer = driver.send(options.base + (i % options.conversations)).then(
          () => 'answered' as const,
          () => 'refused' as const,
        );
        const outcome = await Promise.race([answer, expired]);
        if (outcome === false) {
          timedOut = true;
          return;
        }
        if (outcome === 'answered') {
          answered += 1;
          last = performance.now();
        }
      }
    }),
  );
  stop.abort();
  const seconds = (last - start) / 1000;
  return { answered, seconds, rate: seconds > 0 ? answered / seconds : 0, complete: answered === options.messages };
}

/** BENCH_SLOW_MS=<ms>: list (on stderr) when each measured message slower than this was sent, to find stalls. */
const SLOW_MS = Number(process.env['BENCH_SLOW_MS'] ?? Number.POSITIVE_INFINITY);

export interface LatencyOptions {
  /** Messages offered a second, whatever the service does with them. */
  readonly rate: number;
  /** Offered first and not measured, so the service is in its steady state at this rate (no leftovers of an earlier phase: garbage, queued jobs). */
  readonly settleSeconds: number;
  /** Offered and measured after the settling. */
  readonly seconds: number;
  readonly conversations: number;
  readonly base: number;
  /** How long to wait for the last answers once everything is offered. */
  readonly drainMs: number;
}

export interface LatencyResult {
  /** Added latency of each answered message, sorted, in ms. */
  readonly samples: number[];
  readonly offered: number;
  /** The rate the load generator actually achieved. */
  readonly offeredRate: number;
}

/** Offers `rate` messages a second for `settleSeconds` + `seconds` and collects the added latency of each message of the last `seconds`. */
export async function latencyAt(driver: Driver, options: LatencyOptions): Promise<LatencyResult> {
  const settling = Math.round(options.rate * options.settleSeconds);
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const answers: Array<Promise<number | undefined>> = [];
  const stop = new AbortController();
  const begin = performance.now();
  const slow: string[] = [];
  let start = begin;
  for (let i = 0; i < settling + total; i++) {
    const wait = begin + i * interval - performance.now();
    // A late timer sends what is due in one go, as a burst would arrive.
    if (wait > 0) await sleep(wait);
    if (i === settling) start = performance.now();
    const sentAt = performance.now();
    const answer = driver.send(options.base + (i % options.conversations)).then(
      (ms) => {
        if (ms > SLOW_MS && i >= settling) slow.push(`${((sentAt - start) / 1000).toFixed(2)}s:${Math.round(ms)}ms`);
        return ms;
      },
      () => undefined,
    );
    if (i >= settling) answers.push(answer);
  }
  const offeredRate = total / ((performance.now() - start) / 1000);
  const expired = sleep(options.drainMs, undefined, { signal: stop.signal }).catch(() => undefined);
  const values = await Promise.all(answers.map((answer) => Promise.race([answer, expired])));
  stop.abort();
  const samples = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (slow.length > 0) console.error(`   [${driver.name} at ${options.rate}/s, measuring from ${(start / 1000).toFixed(2)} s] slower than ${SLOW_MS} ms: ${slow.join(' ')}`);
  return { samples, offered: total, offeredRate };
}

/** The p-th percentile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface PeopleOptions {
  /** People writing at once: each sends a message, waits for the final answer, and sends the next at once. */
  readonly users: number;
  /** Run first and not measured: everyone has started, and the service is in its steady state. */
  readonly settleSeconds: number;
  /** Measured: messages sent in this window count. */
  readonly seconds: number;
  /** Conversation numbers from here, one per person. */
  readonly base: number;
  /** How long to wait for the last answers after the window. */
  readonly drainMs: number;
  /** Over how long everyone's first message is spread (1 s by default). */
  readonly spreadMs?: number;
  /** Which messages' times count: those sent in the window (the default), or those answered in it and after (a storm's). */
  readonly sample?: 'sent' | 'answered';
  /** Started when the measured window begins; its result is called when the window ends, with the answers that arrived in it. */
  readonly during?: () => (answers: number) => Promise<void>;
}

export interface PeopleResult {
  /** Delivery to final text of each message sent in the window and answered, sorted, in ms. */
  readonly samples: number[];
  /** Messages sent in the window. */
  readonly sent: number;
  /** Of those, not answered by the end of the drain. */
  readonly unanswered: number;
  /** Answers that arrived within the window, a second. */
  readonly answersPerSecond: number;
}

/**
 * `users` people write at once, each in a conversation of their own: each sends a message,
 * waits for its final answer, and writes again at once, for `settleSeconds` + `seconds`.
 * This is how a crowd loads a bot whose answers take seconds: the number of answers in
 * flight is the number of people, and answers a second is what the bot keeps up with.
 */
export async function peopleAtOnce(driver: Driver, options: PeopleOptions): Promise<PeopleResult> {
  const begin = performance.now();
  const windowStart = begin + options.settleSeconds * 1000;
  const windowEnd = windowStart + options.seconds * 1000;
  const deadline = windowEnd + options.drainMs;
  const samples: number[] = [];
  let sent = 0;
  let answered = 0;
  let inWindow = 0;
  let stopped: Promise<void> | undefined;
  const startDuring = setTimeout(() => {
    const stopDuring = options.during?.();
    endDuring = setTimeout(() => {
      stopped = stopDuring?.(inWindow);
    }, windowEnd - performance.now());
  }, options.settleSeconds * 1000);
  let endDuring: ReturnType<typeof setTimeout> | undefined;
  const stop = new AbortController();
  const expired = sleep(deadline - performance.now(), 'expired' as const, { signal: stop.signal }).catch(() => 'expired' as const);
  await Promise.all(
    Array.from({ length: options.users }, async (_, person) => {
      // People start spread over `spreadMs` (one answer's time, best), not in one wave.
      await sleep((person / options.users) * (options.spreadMs ?? 1_000));
      while (performance.now() < windowEnd) {
        const sentAt = performance.now();
        const measured = sentAt >= windowStart;
        if (measured) sent += 1;
        const outcome = await Promise.race([driver.send(options.base + person).catch(() => 'refused' as const), expired]);
        if (outcome === 'expired') return;
        if (outcome === 'refused') continue;
        const now = performance.now();
        if (now >= windowStart && now < windowEnd) inWindow += 1;
        if (measured) answered += 1;
        if (options.sample === 'answered' ? now >= windowStart : measured) samples.push(outcome);
      }
    }),
  );
  stop.abort();
  clearTimeout(startDuring);
  clearTimeout(endDuring);
  await stopped;
  samples.sort((a, b) => a - b);
  return { samples, sent, unanswered: sent - answered, answersPerSecond: inWindow / options.seconds };
}
