/**
 * Separates a reasoning model's thinking from its answer in streamed text (issue #18).
 * Open models (DeepSeek-R1, QwQ, Qwen3 and the servers that run them without a reasoning
 * parser) write their thinking into the answer itself, between `<think>` and `</think>`,
 * before any answer text. This filter takes the streamed deltas and says which part of
 * each is answer and which is thinking, with tags split across deltas anywhere. Only a
 * tag at the very start (after whitespace) opens thinking: `<think>` written later, in an
 * answer about HTML for instance, is answer text. Pure.
 */

/** The opening tags models use, and the closing tag of each. */
const TAGS: ReadonlyArray<readonly [open: string, close: string]> = [
  ['<think>', '</think>'],
  ['<thinking>', '</thinking>'],
];
const LONGEST_OPEN = Math.max(...TAGS.map(([open]) => open.length));

/** One delta, split. Either part may be empty. */
export interface SplitText {
  readonly answer: string;
  readonly reasoning: string;
}

const NOTHING: SplitText = { answer: '', reasoning: '' };

/** The filter of one streamed answer. */
export class ThinkFilter {
  /** `start`: only whitespace so far; `thinking`: inside the tags; `after`: just closed, leading whitespace dropped; `answer`: the rest. */
  #state: 'start' | 'thinking' | 'after' | 'answer' = 'start';
  /** Text held back: the start (it may yet open a tag), or the end of the thinking (it may be half a closing tag). */
  #held = '';
  #close = '';

  /** Splits one delta; text that may be half a tag is held until the next. */
  push(delta: string): SplitText {
    if (delta === '') return NOTHING;
    switch (this.#state) {
      case 'answer':
        return { answer: delta, reasoning: '' };
      case 'start':
        return this.#start(this.#held + delta);
      case 'thinking':
        return this.#thinking(this.#held + delta);
      case 'after':
        return this.#after(delta);
    }
  }

  /** The end of the stream: whatever was held. Thinking that never closed stays thinking. */
  finish(): SplitText {
    const held = this.#held;
    this.#held = '';
    if (this.#state === 'start') {
      this.#state = 'answer';
      return { answer: held, reasoning: '' };
    }
    return this.#state === 'thinking' ? { answer: '', reasoning: held } : NOTHING;
  }

  #start(text: string): SplitText {
    const trimmed = text.trimStart();
    for (const [open, close] of TAGS) {
      if (trimmed.startsWith(open)) {
        this.#state = 'thinking';
        this.#close = close;
        this.#held = '';
        return this.#thinking(trimmed.slice(open.length));
      }
    }
    // Whitespace, or the start of a tag still arriving: wait for more.
    if (trimmed === '' || (trimmed.length < LONGEST_OPEN && TAGS.some(([open]) => open.startsWith(trimmed)))) {
      this.#held = text;
      return NOTHING;
    }
    this.#state = 'answer';
    this.#held = '';
    return { answer: text, reasoning: '' };
  }

  #thinking(text: string): SplitText {
    const end = text.indexOf(this.#close);
    if (end !== -1) {
      this.#state = 'after';
      this.#held = '';
      const rest = this.#after(text.slice(end + this.#close.length));
      return { answer: rest.answer, reasoning: text.slice(0, end) };
    }
    // Hold back what may be the start of the closing tag.
    const keep = partialSuffix(text, this.#close);
    this.#held = text.slice(text.length - keep);
    return { answer: '', reasoning: text.slice(0, text.length - keep) };
  }

  #after(text: string): SplitText {
    const answer = text.trimStart();
    if (answer === '') return NOTHING;
    this.#state = 'answer';
    return { answer, reasoning: '' };
  }
}

/** The length of the longest end of `text` that is a proper start of `tag`. */
function partialSuffix(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length -= 1) {
    if (tag.startsWith(text.slice(text.length - length))) return length;
  }
  return 0;
}
