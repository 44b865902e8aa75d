/**
 * The producer's command timeout, counted in time this process could have heard Redis's
 * answer, not in wall-clock time.
 *
 * ioredis's own `commandTimeout` is a plain timer from the write. When this process's
 * event loop is held up for longer than the bound (a starved host, a long GC, a long
 * synchronous task such as the tokenizer's first load in a process that also runs
 * workers), that timer fires in the very turn of the loop that would have read Redis's
 * answer: timers run before I/O in a turn, so the answer sits unread in the socket while
 * the command is failed. A healthy Redis was reported down: the playground answered 503
 * (and Discord "temporarily unavailable") for messages whose jobs were in fact added.
 *
 * Here, per connection, one ticker counts live time while commands are pending: a tick
 * that comes late counts as at most MAX_TICK_COUNTED_MS, so a stalled loop is not time in
 * which Redis failed to answer. A command whose live time is up is failed only after one
 * more look at the sockets (setImmediate runs after the turn's I/O), so an answer that
 * arrived meanwhile is read first.
 *
 * What the bound is for is unchanged: a Redis that holds the connection but never answers
 * (hung, or a network that silently drops packets) fails the command after `ms` of live
 * time. A Redis that is down closes the connection, and the producer's commands fail at
 * once (no offline queue), without waiting for any timeout.
 */
import type { Command, Redis } from 'ioredis';

/** How often pending commands are looked at. */
const TICK_MS = 100;
/** The most one tick counts, however late it comes: the rest was this process, not Redis. */
const MAX_TICK_COUNTED_MS = 2 * TICK_MS;
/** Settled entries at the front of the pending list are dropped in batches of at least this many. */
const COMPACT_AT = 1_024;

interface Pending {
  readonly command: Command;
  /** Live time (see `live`) at which the command is failed if it has not settled. */
  readonly dueAt: number;
  settled: boolean;
}

/**
 * Fails each command sent on `redis` (a Redis or a Cluster client) that has not settled
 * after `ms` of live time, with ioredis's own "Command timed out" message. Use instead of
 * ioredis's `commandTimeout` option, never with it.
 */
export function timeCommands(redis: Redis, ms: number): void {
  // Every command has the same bound and live time only grows, so due times come in the
  // order commands are sent: the list is a FIFO, and only its front can be due.
  const pending: Pending[] = [];
  let head = 0;
  // Counted from the first command; stands still while nothing is pending.
  let live = 0;
  let lastTick = 0;
  let ticker: NodeJS.Timeout | undefined;
  // A command re-sent by the client (a cluster redirection, a flushed offline queue) keeps
  // its first due time, as ioredis's own timer does.
  const timed = new WeakSet<Command>();

  const advance = (): void => {
    const now = performance.now();
    live += Math.min(now - lastTick, MAX_TICK_COUNTED_MS);
    lastTick = now;
  };

  const tick = (): void => {
    advance();
    const due: Pending[] = [];
    while (head < pending.length) {
      const entry = pending[head]!;
      if (!entry.settled && entry.dueAt > live) break;
      if (!entry.settled) due.push(entry);
      head += 1;
    }
    if (head >= COMPACT_AT || head === pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    if (pending.length === 0 && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
    if (due.length === 0) return;
    // After this turn's I/O: an answer already in the socket settles its command first.
    setImmediate(() => {
      for (const entry of due) {
        if (!entry.settled) entry.command.reject(new Error(`Command timed out: Redis did not answer ${entry.command.name} within ${ms} ms`));
      }
    });
  };

  const send = redis.sendCommand as (this: Redis, command: Command, ...rest: unknown[]) => unknown;
  redis.sendCommand = function sendTimed(this: Redis, command: Command, ...rest: unknown[]): unknown {
    if (!timed.has(command)) {
      timed.add(command);
      if (ticker === undefined) {
        lastTick = performance.now();
        // Unref'd: a pending command's socket keeps the process alive, not its timeout.
        ticker = setInterval(tick, TICK_MS).unref();
      } else {
        advance();
      }
      const entry: Pending = { command, dueAt: live + ms, settled: false };
      pending.push(entry);
      const settle = (): void => {
        entry.settled = true;
      };
      command.promise.then(settle, settle);
    }
    return send.call(this, command, ...rest);
  } as Redis['sendCommand'];
}
