/**
 * The <think> filter (src/domain/think-filter.ts) over string fixtures: thinking at the
 * start is taken out of the answer wherever the stream cuts its tags; anything else is
 * answer text.
 */
import { describe, expect, it } from 'vitest';
import { ThinkFilter } from '../../src/domain/think-filter.js';

/** Runs `deltas` through a fresh filter; the answer and the thinking, each joined. */
function run(deltas: readonly string[]): { answer: string; reasoning: string } {
  const filter = new ThinkFilter();
  const parts = [...deltas.map((delta) => filter.push(delta)), filter.finish()];
  return { answer: parts.map((p) => p.answer).join(''), reasoning: parts.map((p) => p.reasoning).join('') };
}

/** Every way of cutting `text` into two or three pieces. */
function cuts(text: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= text.length; i += 1) {
    out.push([text.slice(0, i), text.slice(i)]);
    for (let j = i; j <= text.length; j += 3) out.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
  }
  return out;
}

describe('ThinkFilter', () => {
  it('takes the thinking out of the answer however the stream cuts it', () => {
    const text = '\n<think>\nStep 1: 2 < 3, so </thin is not the end.\n</think>\n\nThe answer is 3.';
    for (const deltas of cuts(text)) {
      expect(run(deltas), JSON.stringify(deltas)).toEqual({ answer: 'The answer is 3.', reasoning: '\nStep 1: 2 < 3, so </thin is not the end.\n' });
    }
  });

  it('knows <thinking> too', () => {
    expect(run(['<thinking>hmm</thinking>', ' Yes.'])).toEqual({ answer: 'Yes.', reasoning: 'hmm' });
  });

  it('leaves an answer without thinking as it is, a tag later in it included', () => {
    expect(run(['Use ', '<think>', ' as a tag name'])).toEqual({ answer: 'Use <think> as a tag name', reasoning: '' });
    expect(run(['<', 'b>bold</b>'])).toEqual({ answer: '<b>bold</b>', reasoning: '' });
    expect(run(['<th'])).toEqual({ answer: '<th', reasoning: '' });
    expect(run(['  ', '\n', 'Hi'])).toEqual({ answer: '  \nHi', reasoning: '' });
  });

  it('keeps thinking that never closes out of the answer (a cut stream)', () => {
    expect(run(['<think>still thinking', ' when the tokens ran out</'])).toEqual({ answer: '', reasoning: 'still thinking when the tokens ran out</' });
  });
});
