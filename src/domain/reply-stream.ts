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
/** A first piece worth showing: this many characters, or a whole sentence or line. */
const FIRST_PIECE_MIN_CHARS = 30;
const SENTENCE_END = /[.!?…。！？:](?:\s|$)|\n/;
/** After the hold, a first piece that is still not worth showing is shown anyway this many holds after the first word. */
const FIRST_PIECE_MAX_HOLDS = 2;

/** How a reply streams on one platform. */
export interface ReplyStreamOptions {
  /** The platform's limit on one message (Outbox.maxMessageLength), in UTF-16 code units. */
  readonly maxLength: number;
  /** The least time between two updates of the growing message (Outbox.editIntervalMs). */
  readonly editIntervalMs: number;
  /**
   * How long after the first word nothing is shown (0, the default: show the first word at
   * once). An answer that ends within the hold goes out as one message, never edited; after
   * it, the first message waits for a piece worth showing (a sentence, a line, or
   * FIRST_PIECE_MIN_CHARS), at most FIRST_PIECE_MAX_HOLDS holds after the first word.
   */
  readonly firstHoldMs?: number;
  /**
   * 'draft' (Telegram's sendMessageDraft): the growing tail is shown as a draft, and each
   * message is sent once, final. 'edit' (the default): sent, then edited.
   */
  readonly preview?: 'edit' | 'draft';
  /** Milliseconds clock; `Date.now` by default. */
  readonly now?: () => number;
}

/**
 * What the platform should show: post message #index, or replace its text, or (in draft
 * preview) show the growing message #index as a draft. A message's `send` always comes
 * before its edits, and each message gets exactly one action with `final: true`, its last;
 * in draft preview a message's only send is final, after its drafts.
 */
export type ReplyAction =
  | { readonly type: 'send'; readonly index: number; readonly text: string; readonly final: boolean }
  | { readonly type: 'edit'; readonly index: number; readonly text: string; readonly final: boolean }
  | { readonly type: 'draft'; readonly index: number; readonly text: string; readonly final: false };

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
  readonly #firstHoldMs: number;
  #preview: 'edit' | 'draft';
  /** When the first non-whitespace text arrived. */
  #firstTextAt: number | undefined;
  /** The text of the last draft, so the same draft is never sent twice. */
  #drafted: { readonly index: number; readonly text: string } | undefined;

  /** Throws a RangeError on a limit below MIN_MESSAGE_LENGTH or a negative interval. */
  constructor(options: ReplyStreamOptions) {
    assertMessageLength(options.maxLength);
    if (!Number.isFinite(options.editIntervalMs) || options.editIntervalMs < 0) {
      throw new RangeError(`editIntervalMs must be a finite number >= 0, got ${options.editIntervalMs}`);
    }
    if (options.firstHoldMs !== undefined && !(options.firstHoldMs >= 0)) {
      throw new RangeError(`firstHoldMs must be a number >= 0, got ${options.firstHoldMs}`);
    }
    this.#maxLength = options.maxLength;
    this.#editIntervalMs = options.editIntervalMs;
    this.#now = options.now ?? Date.now;
    this.#firstHoldMs = options.firstHoldMs ?? 0;
    this.#preview = options.preview ?? 'edit';
  }

  /** The growing message is shown as a draft, not a message. */
  get preview(): 'edit' | 'draft' {
    return this.#preview;
  }

  /**
   * Drafts were refused: from now on the growing message is sent and edited, and its text
   * is due at once (what the draft showed must not vanish for an interval).
   */
  useEdits(): void {
    if (this.#preview === 'edit') return;
    this.#preview = 'edit';
    this.#drafted = undefined;
    this.#lastUpdate = undefined;
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
    if (this.#firstTextAt === undefined && (this.#tail !== '' || rolledOver)) this.#firstTextAt = now;
    // After a roll-over the tail is due at once: text cut off the frozen message must not vanish for an interval.
    const due =
      final ||
      rolledOver ||
      (this.#lastUpdate === undefined ? this.#firstPieceDue(now) : now - this.#lastUpdate >= this.#editIntervalMs);
    if (this.#tail !== '' && due) {
      const index = this.#frozen.length;
      if (this.#preview === 'draft' && !final) this.#draft(actions, index, this.#tail);
      else this.#emit(actions, index, this.#tail, final);
    }
    if (actions.length > 0) this.#lastUpdate = now;
    return actions;
  }

  /** Whether the first message may show now: after the hold, once it is a piece worth showing. */
  #firstPieceDue(now: number): boolean {
    if (this.#firstHoldMs === 0) return true;
    const held = now - (this.#firstTextAt ?? now);
    if (held < this.#firstHoldMs) return false;
    const piece = this.#tail.trim();
    return piece.length >= FIRST_PIECE_MIN_CHARS || SENTENCE_END.test(piece) || held >= this.#firstHoldMs * FIRST_PIECE_MAX_HOLDS;
  }

  /** A draft of message #index, unless the last draft showed the same. */
  #draft(actions: ReplyAction[], index: number, text: string): void {
    if (this.#drafted?.index === index && this.#drafted.text === text) return;
    actions.push({ type: 'draft', index, text, final: false });
    this.#drafted = { index, text };
  }

  /** Identical text is never re-sent, except once to mark a message final. */
  #emit(actions: ReplyAction[], index: number, text: string, final: boolean): void {
    const shown = this.#shown[index];
    if (shown !== undefined && shown.text === text && (shown.final || !final)) return;
    actions.push({ type: shown === undefined ? 'send' : 'edit', index, text, final });
    this.#shown[index] = { text, final };
  }
}

/**
 * The draft id of an answer: non-zero, within 31 bits, the same for every run of one job,
 * so a retried answer's drafts replace the ones its first run left (FNV-1a of the key).
 */
export function draftIdOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash & 0x7fffffff) || 1;
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
