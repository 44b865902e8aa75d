/**
 * Turns a streamed model answer into platform messages: which message to send or edit,
 * with what text, and when. Pure: the worker executes the actions through its Outbox.
 * Messages are cut by the rules of splitMessage; a message cut off the growing tail is
 * frozen, and the tail is shown at most once per edit interval.
 */
import { assertMessageLength, nextChunk, type CodeFence, type MessageChunk } from './split-message.js';

// A last line that may still turn into a fence line, or a fence line still being written,
// changes how everything after it splits: it waits for its line break.
const PENDING_FENCE_LINE = /^[ \t]*(?:`{0,2}|~{0,2}|`{3,}[^\n]*|~{3,}[^\n]*)$/;

/** How a reply streams on one platform. */
export interface ReplyStreamOptions {
  /** The platform's limit on one message (Outbox.maxMessageLength), in UTF-16 code units. */
  readonly maxLength: number;
  /** The least time between two updates of the growing message (Outbox.editIntervalMs). */
  readonly editIntervalMs: number;
  /** Milliseconds clock; `Date.now` by default. */
  readonly now?: () => number;
}

/**
 * What the platform should show: post message #index, or replace its text. A message's
 * `send` always comes before its edits, and each message gets exactly one action with
 * `final: true`, its last.
 */
export type ReplyAction =
  | { readonly type: 'send'; readonly index: number; readonly text: string; readonly final: boolean }
  | { readonly type: 'edit'; readonly index: number; readonly text: string; readonly final: boolean };

/**
 * The reply to one model answer. Feed it deltas with `push`, call `flush` on a timer so
 * the tail catches up when the model pauses, and `finish` at the end of the answer.
 */
export class ReplyStream {
  readonly #maxLength: number;
  readonly #editIntervalMs: number;
  readonly #now: () => number;
  #raw = '';
  /** Normalized text not yet frozen into a message. */
  #pending = '';
  #fence: CodeFence | undefined;
  /** A CR at the end of a delta may be the first half of a CRLF. */
  #heldCr = false;
  readonly #frozen: string[] = [];
  #tail = '';
  readonly #shown: Array<{ readonly text: string; readonly final: boolean } | undefined> = [];
  #lastUpdate: number | undefined;
  #finished = false;

  /** Throws a RangeError on a limit below MIN_MESSAGE_LENGTH or a negative interval. */
  constructor(options: ReplyStreamOptions) {
    assertMessageLength(options.maxLength);
    if (!Number.isFinite(options.editIntervalMs) || options.editIntervalMs < 0) {
      throw new RangeError(`editIntervalMs must be a finite number >= 0, got ${options.editIntervalMs}`);
    }
    this.#maxLength = options.maxLength;
    this.#editIntervalMs = options.editIntervalMs;
    this.#now = options.now ?? Date.now;
  }

  /** Adds model text; returns the actions due now. Throws after `finish`. */
  push(delta: string): ReplyAction[] {
    if (this.#finished) throw new Error('ReplyStream.push() called after finish()');
    this.#raw += delta;
    let next = (this.#heldCr ? '\r' : '') + delta;
    this.#heldCr = next.endsWith('\r');
    if (this.#heldCr) next = next.slice(0, -1);
    this.#pending += next.replace(/\r\n/g, '\n');
    return this.#update(false);
  }

  /** The actions due now without new text, respecting the edit interval. */
  flush(): ReplyAction[] {
    return this.#finished ? [] : this.#update(false);
  }

  /**
   * Ends the answer: the final text of every message not yet shown final, all with
   * `final: true`. `[]` for an empty or whitespace-only answer, and on a second call.
   */
  finish(): ReplyAction[] {
    if (this.#finished) return [];
    this.#finished = true;
    if (this.#heldCr) this.#pending += '\r';
    this.#heldCr = false;
    return this.#update(true);
  }

  /** The whole raw answer so far, as pushed. */
  get text(): string {
    return this.#raw;
  }

  /** The current text of each message: frozen ones, then the tail as it would be shown now. */
  get messages(): readonly string[] {
    return this.#tail === '' ? [...this.#frozen] : [...this.#frozen, this.#tail];
  }

  #update(final: boolean): ReplyAction[] {
    const actions: ReplyAction[] = [];
    const now = this.#now();
    const source = final ? this.#pending : this.#pending.slice(0, stableLength(this.#pending));
    let start = 0;
    let fence = this.#fence;
    let tail: MessageChunk | undefined;
    for (;;) {
      tail = nextChunk(source, start, fence, this.#maxLength);
      if (tail === undefined || tail.end >= source.length) break;
      this.#frozen.push(tail.text);
      this.#emit(actions, this.#frozen.length - 1, tail.text, true);
      ({ end: start, fence } = tail);
    }
    const rolledOver = start > 0;
    if (rolledOver) {
      this.#pending = this.#pending.slice(start);
      this.#fence = fence;
    }
    this.#tail = tail === undefined ? '' : final ? tail.text : withTemporaryClose(tail, this.#maxLength);
    // After a roll-over the tail is due at once: text cut off the frozen message must not vanish for an interval.
    const due =
      final || rolledOver || this.#lastUpdate === undefined || now - this.#lastUpdate >= this.#editIntervalMs;
    if (this.#tail !== '' && due) this.#emit(actions, this.#frozen.length, this.#tail, final);
    if (actions.length > 0) this.#lastUpdate = now;
    return actions;
  }

  /** Identical text is never re-sent, except once to mark a message final. */
  #emit(actions: ReplyAction[], index: number, text: string, final: boolean): void {
    const shown = this.#shown[index];
    if (shown !== undefined && shown.text === text && (shown.final || !final)) return;
    actions.push({ type: shown === undefined ? 'send' : 'edit', index, text, final });
    this.#shown[index] = { text, final };
  }
}

/** While streaming, an open code block is shown closed so platforms render it. */
function withTemporaryClose(tail: MessageChunk, maxLength: number): string {
  if (!tail.fence?.repair) return tail.text;
  const closed = `${tail.text}\n${tail.fence.closeLine}`;
  return closed.length <= maxLength ? closed : tail.text;
}

/** How much of the pending text is settled enough to split and show. */
function stableLength(text: string): number {
  let end = text.length;
  const lineStart = text.lastIndexOf('\n') + 1;
  if (PENDING_FENCE_LINE.test(text.slice(lineStart))) end = lineStart;
  // One or two backticks may yet be ```, which decides whether a cut just before them is allowed.
  const run = /(`+|~+)$/.exec(text.slice(lineStart, end))?.[0].length ?? 0;
  if (run < 3) end -= run;
  // Half a surrogate pair is not a character yet.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return end;
}
