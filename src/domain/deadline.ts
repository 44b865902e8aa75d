/**
 * A deadline for one call (no I/O of its own: a timer and a signal). Runs `work` with a signal that aborts at a deadline or when the caller's signal aborts,
 * and lets go of both the moment the work settles. AbortSignal.timeout does the first
 * part but keeps its timer (and the signal) alive until the timer fires: at hundreds of
 * calls a second with a 30 s deadline that is thousands of live timers at any time, all
 * surviving into the old generation and paid for in long GC pauses.
 */
export interface Deadline {
  /** True once the deadline, not the caller, aborted the signal. */
  readonly expired: boolean;
}

export async function withDeadline<T>(ms: number, caller: AbortSignal | undefined, work: (signal: AbortSignal, deadline: Deadline) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const deadline = { expired: false };
  const onAbort = (): void => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    deadline.expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  try {
    return await work(controller.signal, deadline);
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onAbort);
  }
}
