/**
 * One HTTP attempt's lifetime: the caller's signal, undici's headers timeout until the
 * answer's headers arrive, then a timer on the body (a deadline for a JSON answer, an idle
 * timer for a stream, restarted by touch()) that destroys the body when the endpoint is
 * silent for too long, as closing an abandoned attempt does.
 *
 * No AbortController of its own: on Node 20 every AbortSignal outlives the young
 * generation (only a full GC collects it) and keeps the request hung on it alive with it,
 * which at hundreds of calls a second made long mark-compact pauses (src/infra/deadline.ts).
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
import { AiTimeoutError } from '../../domain/errors.js';

/** What of a response body an Exchange needs: a way to drop it. */
interface Body {
  destroy(error?: Error): unknown;
}

/** undici's own timeouts (headersTimeout, bodyTimeout). */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Lifetime of one attempt of one request.
 * See https://platform.openai.com/docs/guides/error-codes/api-errors
 */
export class Exchange {
  readonly #caller: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #what: string;
  #body: Body | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The allowance the timer was last set for, and when the body's allowance runs out (ms since the epoch). */
  #armedFor = 0;
  #deadline = 0;
  #timedOut = false;
  #closed = false;

  constructor(caller: AbortSignal | undefined, timeoutMs: number, what: string) {
    this.#caller = caller;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
  }

  /** The signal to give undici: the caller's. */
  get signal(): AbortSignal | undefined {
    return this.#caller;
  }

  /** True when a timeout, not the caller, ended the attempt. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** The silence after which the attempt is given up. */
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

  /** Notes what ended the attempt before its headers arrived: undici's headers timeout counts as ours. */
  failed(error: unknown): void {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && UNDICI_TIMEOUTS.has(code)) this.#timedOut = true;
  }

  /** The headers arrived: from now on the body's silence is timed. */
  attach(body: Body): void {
    this.#body = body;
    this.touch();
  }

  /**
   * Restarts the body's allowance (data arrived), optionally a shorter one. Called for
   * every chunk of a stream: it only notes the time, and the one timer, when it fires,
   * looks again for what is left of the allowance rather than being replaced per chunk.
   */
  touch(timeoutMs: number = this.#timeoutMs): void {
    if (this.#closed || !this.#body) return;
    this.#deadline = Date.now() + timeoutMs;
    if (this.#timer === undefined || timeoutMs < this.#armedFor) this.#arm(timeoutMs);
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = ms;
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  /** Ends the attempt; drops the body unless it `completed` on its own. */
  close(completed: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    // Destroying the body is what closes the socket of a request the consumer gave up on.
    if (!completed) this.#body?.destroy(new Error(`${this.#what} was abandoned`));
  }

  readonly #onTimer = (): void => {
    const left = this.#deadline - Date.now();
    if (left > 0) return this.#arm(left);
    this.#timer = undefined;
    this.#timedOut = true;
    this.#body?.destroy(new AiTimeoutError(`${this.#what} timed out after ${this.#timeoutMs} ms`));
  };
}
