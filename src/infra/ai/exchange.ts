/**
 * One HTTP attempt's lifetime: its own AbortController, linked to the caller's signal,
 * and a timer that aborts it when the endpoint is silent for too long. The timer is a
 * deadline for a JSON call and an idle timer for a stream (restarted by touch()).
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import { AiTimeoutError } from '../../domain/errors.js';

/**
 * Lifetime of one attempt of one request.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export class Exchange {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #what: string;
  #timer: NodeJS.Timeout | undefined;
  #timedOut = false;
  #closed = false;

  constructor(caller: AbortSignal | undefined, timeoutMs: number, what: string) {
    this.#caller = caller;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
    caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    if (caller?.aborted) this.#onCallerAbort();
    this.touch();
  }

  /** The signal to give undici. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True when our timer, not the caller, ended the attempt. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The silence after which the attempt is aborted. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** True when the caller aborted. */
  get callerAborted(): boolean {
    return this.#caller?.aborted === true;
  }

  /** The caller's abort reason, rethrown as is so callers can tell their own aborts. */
  get callerReason(): unknown {
    return this.#caller?.reason;
  }

  /** Restarts the timer (data arrived), optionally with a shorter allowance. */
  touch(timeoutMs: number = this.#timeoutMs): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimeout, timeoutMs);
  }

  /** Ends the attempt; aborts the request unless it `completed` on its own. */
  close(completed: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
    // Aborting is what closes the socket of a request the consumer gave up on.
    if (!completed) this.#controller.abort(new Error(`${this.#what} was abandoned`));
  }

  readonly #onCallerAbort = (): void => {
    this.#controller.abort(this.#caller?.reason);
  };

  readonly #onTimeout = (): void => {
    this.#timedOut = true;
    this.#controller.abort(new AiTimeoutError(`${this.#what} timed out after ${this.#timeoutMs} ms`));
  };
}
