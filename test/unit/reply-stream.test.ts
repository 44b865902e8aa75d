import { describe, expect, it } from 'vitest';
import { draftIdOf, ReplyStream, type ReplyAction } from '../../src/domain/reply-stream.js';
import { splitMessage } from '../../src/domain/split-message.js';
import { prng } from '../support/prng.js';

const RANDOM_CASES = 300;

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}


const PIECES = ['word ', 'reply ', '😀 ', '\n', '\n\n', '\r\n', '```python\n', '```\n', '~~~\n', '  indented()\n', 'x'.repeat(90), '`code` '];

function randomAnswer(random: () => number): string {
  let text = '';
  const length = Math.floor(random() * 3000);
  while (text.length < length) text += PIECES[Math.floor(random() * PIECES.length)];
  return text;
}

/** Cuts text into deltas of 1 to `max` code units, splitting surrogate pairs and CRLFs on purpose. */
function deltas(text: string, random: () => number, max = 40): string[] {
  const result: string[] = [];
  for (let i = 0; i < text.length; ) {
    const size = 1 + Math.floor(random() * max);
    result.push(text.slice(i, i + size));
    i += size;
  }
  return result;
}

const prose = (length: number): string => {
  let text = '';
  for (let i = 0; text.length < length; i += 1) text += i % 40 === 39 ? 'end.\n\n' : `word${i % 7} `;
  return text.slice(0, length);
};

/** Streams `text` in deltas `stepMs` apart, flushing on every step as a worker's timer would. */
function stream(
  text: string,
  options: { maxLength: number; editIntervalMs: number; random?: () => number; stepMs?: number; firstHoldMs?: number; preview?: 'edit' | 'draft' },
) {
  const clock = fakeClock();
  const reply = new ReplyStream({ ...options, now: clock.now });
  const log: Array<{ at: number; action: ReplyAction; messages: readonly string[] }> = [];
  const record = (actions: ReplyAction[]): void => {
    for (const action of actions) log.push({ at: clock.now(), action, messages: reply.messages });
  };
  for (const delta of deltas(text, options.random ?? prng(7))) {
    clock.advance(options.stepMs ?? 10);
    record(reply.push(delta));
    record(reply.flush());
  }
  const finished = reply.finish();
  record(finished);
  return { reply, log, finished, actions: log.map((entry) => entry.action) };
}

describe('ReplyStream', () => {
  it('fails fast on bad options', () => {
    expect(() => new ReplyStream({ maxLength: 50, editIntervalMs: 1000 })).toThrow(RangeError);
    expect(() => new ReplyStream({ maxLength: 2000, editIntervalMs: -1 })).toThrow(RangeError);
  });

  it('sends on the first non-whitespace text, never whitespace, never the same text twice', () => {
    const clock = fakeClock();
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 1000, now: clock.now });
    expect(reply.push('  \n')).toEqual([]);
    expect(reply.push('Hi')).toEqual([{ type: 'send', index: 0, text: 'Hi', final: false }]);
    clock.advance(1500);
    expect(reply.push('  ')).toEqual([]);
    expect(reply.flush()).toEqual([]);
    expect(reply.push(' there')).toEqual([{ type: 'edit', index: 0, text: 'Hi   there', final: false }]);
    expect(reply.push('!')).toEqual([]);
    clock.advance(999);
    expect(reply.flush()).toEqual([]);
    clock.advance(1);
    expect(reply.flush()).toEqual([{ type: 'edit', index: 0, text: 'Hi   there!', final: false }]);
    expect(reply.finish()).toEqual([{ type: 'edit', index: 0, text: 'Hi   there!', final: true }]);
    expect(reply.finish()).toEqual([]);
    expect(() => reply.push('more')).toThrow(Error);
  });

  it('returns nothing at the end of an empty or whitespace-only answer', () => {
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 1000 });
    reply.push(' \r\n\t');
    expect(reply.finish()).toEqual([]);
    expect(reply.messages).toEqual([]);
  });

  it('updates the growing message at most once per interval (deltas every 10 ms for 5 s)', () => {
    const { actions, log, finished } = stream(prose(2500), { maxLength: 4096, editIntervalMs: 1000, random: () => 0.1 });
    expect(log.at(-1)?.at).toBe(1_000_000 + 5_000);
    const updates = log.filter((entry) => !entry.action.final);
    expect(updates.length).toBeGreaterThanOrEqual(5);
    expect(updates.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < updates.length; i += 1) {
      expect((updates[i]?.at ?? 0) - (updates[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    }
    expect(actions.every((action) => action.index === 0)).toBe(true);
    expect(finished).toEqual([{ type: 'edit', index: 0, text: prose(2500).trim(), final: true }]);
  });

  it('makes 2 messages of a 6,000-character answer at 4096 and 3 of a 5,000-character one at 2000', () => {
    expect(stream(prose(6000), { maxLength: 4096, editIntervalMs: 1000 }).reply.messages).toHaveLength(2);
    expect(stream(prose(5000), { maxLength: 2000, editIntervalMs: 1000 }).reply.messages).toHaveLength(3);
  });

  it('turns a single 10,000-character delta into several messages at once', () => {
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 1000, now: fakeClock().now });
    const actions = reply.push(prose(10_000));
    expect(actions.length).toBeGreaterThanOrEqual(5);
    expect(actions.map((a) => [a.type, a.index])).toEqual(actions.map((_, i) => ['send', i]));
    expect(actions.slice(0, -1).every((a) => a.final)).toBe(true);
    expect(actions.at(-1)?.final).toBe(false);
    for (const action of actions) expect(action.text.length).toBeLessThanOrEqual(2000);
    expect(reply.finish()).toEqual([{ type: 'edit', index: actions.length - 1, text: actions.at(-1)?.text, final: true }]);
    expect(reply.messages).toEqual(splitMessage(prose(10_000), 2000));
  });

  it('waits for a fence line to complete and closes an open block for display only', () => {
    const clock = fakeClock();
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 1000, now: clock.now });
    expect(reply.push('Look:\n``')).toEqual([{ type: 'send', index: 0, text: 'Look:', final: false }]);
    clock.advance(1000);
    expect(reply.push('`pyth')).toEqual([]);
    expect(reply.push('on\nprint(1)\n')).toEqual([{ type: 'edit', index: 0, text: 'Look:\n```python\nprint(1)\n```', final: false }]);
    clock.advance(1000);
    expect(reply.push('``')).toEqual([]);
    expect(reply.push('`\nDone.')).toEqual([{ type: 'edit', index: 0, text: 'Look:\n```python\nprint(1)\n```\nDone.', final: false }]);
    expect(reply.finish()).toEqual([{ type: 'edit', index: 0, text: 'Look:\n```python\nprint(1)\n```\nDone.', final: true }]);
  });

  it('carries a code block longer than the limit across messages, reopened with its language', () => {
    const code = Array.from({ length: 200 }, (_, i) => `    total += ${i}  # add ${i}`).join('\n');
    const text = `Sum:\n\n\`\`\`python\n${code}\n\`\`\`\nDone.`;
    const { reply, actions } = stream(text, { maxLength: 1000, editIntervalMs: 1000 });
    const messages = reply.messages;
    expect(messages.length).toBeGreaterThan(4);
    for (const action of actions) expect(action.text.length).toBeLessThanOrEqual(1000);
    for (const [i, message] of messages.entries()) {
      if (i > 0) expect(message.startsWith('```python\n    total')).toBe(true);
      if (i < messages.length - 1) expect(message.endsWith('\n```')).toBe(true);
    }
    // While streaming, the growing message shows its open block closed.
    const growing = actions.filter((a) => !a.final && a.text.includes('total') && !a.text.includes('Done.'));
    expect(growing.length).toBeGreaterThan(4);
    for (const action of growing) expect(action.text).toMatch(/\n```$/);
  });

  it('never shows half a surrogate pair split across deltas', () => {
    const clock = fakeClock();
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 1000, now: clock.now });
    expect(reply.push('Hi \uD83D')).toEqual([{ type: 'send', index: 0, text: 'Hi', final: false }]);
    clock.advance(1000);
    expect(reply.push('\uDE00')).toEqual([{ type: 'edit', index: 0, text: 'Hi 😀', final: false }]);
  });

  it('cuts a stream exactly where splitMessage cuts the whole text, even with ``` split across deltas', () => {
    const text = `${'x'.repeat(100)}\`\`\`${' tail'.repeat(10)}`;
    const reply = new ReplyStream({ maxLength: 100, editIntervalMs: 0, now: fakeClock().now });
    reply.push(text.slice(0, 101));
    reply.push(text.slice(101));
    reply.finish();
    expect(reply.messages).toEqual(splitMessage(text, 100));
    expect(reply.messages[1]).toMatch(/^x```/);
  });

  it('normalizes CRLF even when a delta ends between CR and LF', () => {
    const reply = new ReplyStream({ maxLength: 2000, editIntervalMs: 0, now: fakeClock().now });
    reply.push('line one\r');
    reply.push('\nline two\r\n');
    expect(reply.finish()).toEqual([{ type: 'edit', index: 0, text: 'line one\nline two', final: true }]);
    expect(reply.text).toBe('line one\r\nline two\r\n');
  });

  it(`freezes messages, ends each with one final action and matches splitMessage (${RANDOM_CASES} random answers)`, () => {
    for (let seed = 1; seed <= RANDOM_CASES; seed += 1) {
      const random = prng(seed);
      const text = randomAnswer(random);
      const maxLength = 100 + Math.floor(random() * 300);
      const context = `seed ${seed}, maxLength ${maxLength}`;
      const { reply, log, finished } = stream(text, { maxLength, editIntervalMs: 200, random, stepMs: 1 + Math.floor(random() * 50) });
      const expected = splitMessage(text, maxLength);
      expect(reply.messages, context).toEqual(expected);
      expect(finished.every((action) => action.final), context).toBe(true);
      const finalAt = new Map<number, number>();
      for (const [i, { action, messages }] of log.entries()) {
        expect(action.text.length, context).toBeLessThanOrEqual(maxLength);
        expect(action.text.trim(), context).not.toBe('');
        expect(action.type, context).toBe(log.slice(0, i).some((e) => e.action.index === action.index) ? 'edit' : 'send');
        expect(finalAt.has(action.index), `${context}: action after final for #${action.index}`).toBe(false);
        if (action.final) finalAt.set(action.index, i);
        // A message is frozen (final) before the next one shows, and never changes afterwards.
        for (let index = 0; index < action.index; index += 1) expect(finalAt.has(index), context).toBe(true);
        for (const [index] of finalAt) expect(messages[index], context).toBe(expected[index]);
      }
      expect([...finalAt.keys()].sort((a, b) => a - b), context).toEqual(expected.map((_, i) => i));
    }
  });

  describe('the first message', () => {
    it('shows nothing during the hold: an answer done by then is one message, never edited', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      expect(reply.push('Sure')).toEqual([]);
      clock.advance(400);
      expect(reply.push(', here it is. ')).toEqual([]);
      clock.advance(500);
      expect(reply.flush()).toEqual([]);
      expect(reply.push('Done.')).toEqual([]);
      expect(reply.finish()).toEqual([{ type: 'send', index: 0, text: 'Sure, here it is. Done.', final: true }]);
    });

    it('after the hold, waits for a sentence or a few dozen characters, but not beyond two holds', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      reply.push('Well');
      clock.advance(1000);
      expect(reply.flush()).toEqual([]);
      expect(reply.push(', the answer')).toEqual([]);
      expect(reply.push(' is this.')).toEqual([{ type: 'send', index: 0, text: 'Well, the answer is this.', final: false }]);

      const slow = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      slow.push('Hmm');
      clock.advance(1999);
      expect(slow.flush()).toEqual([]);
      clock.advance(1);
      expect(slow.flush()).toEqual([{ type: 'send', index: 0, text: 'Hmm', final: false }]);

      const long = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      long.push('a'.repeat(29));
      clock.advance(1000);
      expect(long.flush()).toEqual([]);
      expect(long.push('b')).toEqual([{ type: 'send', index: 0, text: `${'a'.repeat(29)}b`, final: false }]);
    });

    it('counts the hold from the first word, not from whitespace the model sent first', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      reply.push('\n\n');
      clock.advance(5000);
      expect(reply.push('Hello there.')).toEqual([]);
      clock.advance(1000);
      expect(reply.flush()).toEqual([{ type: 'send', index: 0, text: 'Hello there.', final: false }]);
    });

    it('sends a message that fills up during the hold at once', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 100, editIntervalMs: 1000, firstHoldMs: 1000, now: clock.now });
      const actions = reply.push(`${'word '.repeat(30)}`);
      // The full message goes at once, and so does what was cut off it (it must not vanish).
      expect(actions.map((a) => [a.type, a.index, a.final])).toEqual([['send', 0, true], ['send', 1, false]]);
    });
  });

  describe('draft preview', () => {
    it('shows the growing message as drafts, then sends it once, final; never edits', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, preview: 'draft', now: clock.now });
      expect(reply.preview).toBe('draft');
      reply.push('The first sentence. ');
      clock.advance(1000);
      expect(reply.flush()).toEqual([{ type: 'draft', index: 0, text: 'The first sentence.', final: false }]);
      reply.push('And a second.');
      expect(reply.flush()).toEqual([]);
      clock.advance(1000);
      expect(reply.flush()).toEqual([{ type: 'draft', index: 0, text: 'The first sentence. And a second.', final: false }]);
      clock.advance(1000);
      expect(reply.flush()).toEqual([]);
      expect(reply.finish()).toEqual([{ type: 'send', index: 0, text: 'The first sentence. And a second.', final: true }]);
    });

    it('sends each message of a long answer once, final, and drafts only the growing one', () => {
      const text = prose(9000);
      const { actions, reply } = stream(text, { maxLength: 4096, editIntervalMs: 200, firstHoldMs: 200, preview: 'draft', stepMs: 5 });
      expect(actions.some((a) => a.type === 'edit')).toBe(false);
      const sends = actions.filter((a) => a.type === 'send');
      expect(sends.every((a) => a.final)).toBe(true);
      expect(sends.map((a) => a.text)).toEqual(splitMessage(text, 4096));
      expect(reply.messages).toEqual(splitMessage(text, 4096));
      // A draft of message #n comes only while #n is the growing one: after #n-1 was sent, before #n is.
      for (const [i, action] of actions.entries()) {
        if (action.type !== 'draft') continue;
        expect(actions.slice(0, i).filter((a) => a.type === 'send').length).toBe(action.index);
      }
      expect(actions.filter((a) => a.type === 'draft').length).toBeGreaterThan(3);
    });

    it('switches to sending and editing when drafts are refused, showing the text at once', () => {
      const clock = fakeClock();
      const reply = new ReplyStream({ maxLength: 4096, editIntervalMs: 1000, firstHoldMs: 1000, preview: 'draft', now: clock.now });
      reply.push('A first sentence.');
      clock.advance(1000);
      expect(reply.flush()).toEqual([{ type: 'draft', index: 0, text: 'A first sentence.', final: false }]);
      reply.useEdits();
      expect(reply.preview).toBe('edit');
      expect(reply.flush()).toEqual([{ type: 'send', index: 0, text: 'A first sentence.', final: false }]);
      reply.push(' More.');
      clock.advance(1000);
      expect(reply.flush()).toEqual([{ type: 'edit', index: 0, text: 'A first sentence. More.', final: false }]);
      expect(reply.finish()).toEqual([{ type: 'edit', index: 0, text: 'A first sentence. More.', final: true }]);
    });
  });

  it('gives each answer a draft id: non-zero, 31 bits, the same for the same job', () => {
    const ids = ['telegram:1:2', 'telegram:1:3', 'chat/telegram:5:9', ''].map(draftIdOf);
    for (const id of ids) {
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThan(0);
      expect(id).toBeLessThan(2 ** 31);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(draftIdOf('telegram:1:2')).toBe(ids[0]);
  });
});
