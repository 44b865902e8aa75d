/**
 * Deadlines for calls: timers, signals, and the live slices of each caller kept in the
 * process, so infrastructure rather than the (pure) domain.
 *
 * Calls whose deadlines fall due close together share one AbortSignal: one signal (and
 * one timer) per slice of time per caller, not one per call. On Node 20 every AbortSignal
 * outlives the young generation (only a full GC collects it), and so does whatever a
 * request hangs on it; at hundreds of calls a second, a signal per call filled the old
 * generation with dead requests, paid for in long mark-compact pauses. A shared signal
 * fires at most one slice late: a tenth of the deadline, and never more than a second.
 */
import { setMaxListeners } from 'node:events';

export interface Deadline {
  /** Aborts at the deadline (reason: a TimeoutError) or when the caller's signal does (its reason). */
  readonly signal: AbortSignal;
  /** True once the deadline, not the caller, aborted the signal. */
  readonly expired: boolean;
}

const MAX_SLICE_MS = 1_000;

/** The live slices of one caller (or of calls without one), by when they fall due. */
class Slices {
  readonly #byDue = new Map<number, { controller: AbortController; deadline: Deadline }>();
  readonly #caller: AbortSignal | undefined;
  readonly #forget: () => void;
  /** One listener per caller, however many slices it has. */
  readonly #onCallerAbort = (): void => {
    for (const { controller } of [...this.#byDue.values()]) controller.abort(this.#caller?.reason);
  };

  constructor(caller: AbortSignal | undefined, forget: () => void) {
    this.#caller = caller;
    this.#forget = forget;
  }

  deadline(ms: number): Deadline {
    const sliceMs = Math.max(1, Math.min(MAX_SLICE_MS, Math.floor(ms / 10)));
    const due = Math.ceil((Date.now() + ms) / sliceMs) * sliceMs;
    const existing = this.#byDue.get(due);
    if (existing) return existing.deadline;
    if (this.#byDue.size === 0) this.#caller?.addEventListener('abort', this.#onCallerAbort, { once: true });

    const controller = new AbortController();
    // Shared by every call of the slice, each of which may listen for its abort.
    setMaxListeners(0, controller.signal);
    let expired = false;
    // Unref'd: a deadline never keeps a process alive; the call it guards does, while it runs.
    const timer = setTimeout(() => {
      expired = true;
      controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
    }, due - Date.now()).unref();
    const deadline: Deadline = {
      signal: controller.signal,
      get expired() {
        return expired;
      },
    };
    this.#byDue.set(due, { controller, deadline });
    // A slice is forgotten once it has fired, either way; the last one lets go of the caller.
    controller.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        this.#byDue.delete(due);
        if (this.#byDue.size > 0) return;
        this.#caller?.removeEventListener('abort', this.#onCallerAbort);
        this.#forget();
      },
      { once: true },
    );
    return deadline;
  }
}

const uncalled = new Slices(undefined, () => undefined);
const byCaller = new WeakMap<AbortSignal, Slices>();

/** A signal that aborts `ms` from now (up to a slice later), or as soon as `caller` aborts. */
export function deadlineIn(ms: number, caller?: AbortSignal): Deadline {
  if (caller?.aborted) return { signal: AbortSignal.abort(caller.reason), expired: false };
  if (!caller) return uncalled.deadline(ms);
  let slices = byCaller.get(caller);
  if (!slices) byCaller.set(caller, (slices = new Slices(caller, () => byCaller.delete(caller))));
  return slices.deadline(ms);
}
