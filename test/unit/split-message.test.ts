import { describe, expect, it } from 'vitest';
import { nextChunk, splitMessage, type CodeFence, type MessageChunk } from '../../src/domain/split-message.js';
import { prng } from '../support/prng.js';

const RANDOM_CASES = 400;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;


const WORDS = ['the', 'reply', 'splits', 'Markdown', 'naïve', '😀', '👍🏽', 'x', 'supercalifragilistic', '`inline`', '**bold**'];
const FENCES = [
  ['```python', '```'],
  ['```', '```'],
  ['~~~ts', '~~~'],
  ['````md', '````'],
  ['  ```js', '  ```'],
] as const;

/** Random Markdown: prose, lists, long tokens, fenced blocks (some unclosed), CRLF. */
function randomMarkdown(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const words = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(pick([' ', ' ', ' ', '  ']));
  const blocks: string[] = [];
  const count = 1 + Math.floor(random() * 12);
  for (let i = 0; i < count; i += 1) {
    const kind = random();
    if (kind < 0.4) blocks.push(words(1 + Math.floor(random() * 120)));
    else if (kind < 0.55) blocks.push(Array.from({ length: 1 + Math.floor(random() * 8) }, () => `- ${words(8)}`).join('\n'));
    else if (kind < 0.65) blocks.push('z'.repeat(Math.floor(random() * 700)));
    else {
      const [open, close] = pick(FENCES);
      const body = Array.from({ length: Math.floor(random() * 40) }, () => `${' '.repeat(Math.floor(random() * 6))}${words(1 + Math.floor(random() * 10))}`);
      if (open.startsWith('````')) body.push('```js', 'nested()', '```');
      const closed = i < count - 1 || random() < 0.5;
      blocks.push([open, ...body, ...(closed ? [close] : [])].join('\n'));
    }
  }
  const text = blocks.join(pick(['\n\n', '\n', '\n\n\n']));
  return random() < 0.2 ? text.replace(/\n/g, '\r\n') : text;
}

function parts(text: string, maxLength: number): MessageChunk[] {
  const source = text.replace(/\r\n/g, '\n');
  const result: MessageChunk[] = [];
  let start = 0;
  let fence: CodeFence | undefined;
  for (let chunk = nextChunk(source, start, fence, maxLength); chunk; chunk = nextChunk(source, start, fence, maxLength)) {
    result.push(chunk);
    if (chunk.end >= source.length) break;
    ({ end: start, fence } = chunk);
  }
  return result;
}

/** Independent of the implementation: is a fence still open at the end of this text? */
function openFenceAtEnd(text: string): string | undefined {
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const match = /^[ \t]*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    const [, marker = '', info = ''] = match;
    if (open === undefined) {
      if (!(marker.startsWith('`') && info.includes('`'))) open = marker;
    } else if (marker[0] === open[0] && marker.length >= open.length && info.trim() === '') {
      open = undefined;
    }
  }
  return open;
}

const nonSpace = (text: string): string => text.replace(/\s+/g, '');
const prose = (length: number): string => {
  let text = '';
  for (let i = 0; text.length < length; i += 1) text += i % 40 === 39 ? 'end.\n\n' : `word${i % 7} `;
  return text.slice(0, length);
};

describe('splitMessage', () => {
  it('fails fast on a limit below the minimum', () => {
    expect(() => splitMessage('hello', 99)).toThrow(RangeError);
    expect(() => splitMessage('hello', Number.NaN)).toThrow(RangeError);
    expect(() => splitMessage('hello', 150.5)).toThrow(RangeError);
  });

  it('returns nothing for empty or whitespace-only text, and trims a short one', () => {
    expect(splitMessage('', 2000)).toEqual([]);
    expect(splitMessage(' \r\n\t\n ', 2000)).toEqual([]);
    expect(splitMessage('\n  Hello, world!  \n\n', 2000)).toEqual(['Hello, world!']);
  });

  it('makes 2 messages of a 6,000-character answer at 4096 and 3 of a 5,000-character one at 2000', () => {
    const telegram = splitMessage(prose(6000), 4096);
    const discord = splitMessage(prose(5000), 2000);
    expect(telegram).toHaveLength(2);
    expect(discord).toHaveLength(3);
    for (const chunk of telegram) expect(chunk.length).toBeLessThanOrEqual(4096);
    for (const chunk of discord) expect(chunk.length).toBeLessThanOrEqual(2000);
  });

  it('cuts at a paragraph break in the latter half, then a line break, then a space', () => {
    const a = 'a '.repeat(600).trim();
    const c = 'c '.repeat(200).trim();
    const d = 'd '.repeat(300).trim();
    expect(splitMessage(`${a}\n\n${c}\n${d}`, 2000)).toEqual([a, `${c}\n${d}`]);
    expect(splitMessage(`${a}\n${c} ${d}`, 2000)).toEqual([a, `${c} ${d}`]);
    expect(splitMessage(`${a} ${c} ${d}`, 2000).map((chunk) => chunk.length)).toEqual([1999, 199]);
    // A paragraph break in the first half makes a short message: a later space wins.
    const [first] = splitMessage(`short\n\n${'c '.repeat(1500)}`, 2000);
    expect(first?.length).toBeGreaterThan(1900);
  });

  it('cuts a word longer than the limit hard, and never inside a surrogate pair', () => {
    expect(splitMessage('x'.repeat(5000), 2000).map((c) => c.length)).toEqual([2000, 2000, 1000]);
    const emoji = splitMessage('😀'.repeat(1500), 2001);
    expect(emoji.map((c) => c.length)).toEqual([2000, 1000]);
    for (const chunk of emoji) expect(chunk).not.toMatch(LONE_SURROGATE);
  });

  it('closes a code block at a cut and reopens it with its info string', () => {
    const code = Array.from({ length: 120 }, (_, i) => `    print(${i})  # step ${i}`).join('\n');
    const chunks = splitMessage(`Here is the script:\n\n\`\`\`python\n${code}\n\`\`\`\n\nThat is all.`, 1000);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0]).toMatch(/^Here is the script:\n\n```python\n {4}print\(0\)/);
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.length).toBeLessThanOrEqual(1000);
      expect(openFenceAtEnd(chunk), chunk).toBeUndefined();
      if (i > 0) expect(chunk).toMatch(/^```python\n {4}print/);
      if (i < chunks.length - 1) expect(chunk.endsWith('\n```')).toBe(true);
    }
    expect(chunks.at(-1)).toMatch(/\n```\n\nThat is all\.$/);
  });

  it('treats a longer fence as one block with the ``` lines inside it as code', () => {
    const inner = Array.from({ length: 30 }, (_, i) => (i % 5 === 0 ? '```' : `line ${i} of the example`)).join('\n');
    const chunks = splitMessage(`\`\`\`\`markdown\n${inner}\n\`\`\`\``, 300);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks.slice(1)) expect(chunk.startsWith('````markdown\n')).toBe(true);
    for (const chunk of chunks) expect(openFenceAtEnd(chunk), chunk).toBeUndefined();
  });

  it('never cuts inside a fence line', () => {
    const fenceLine = `\`\`\`${'info-'.repeat(4)}`;
    const text = `${'y'.repeat(70)}\n${fenceLine}\n${'code '.repeat(30)}\n\`\`\``;
    const chunks = splitMessage(text, 100);
    expect(chunks[0]).toBe('y'.repeat(70));
    expect(chunks[1]?.startsWith(`${fenceLine}\n`)).toBe(true);
  });

  it('never leaves the next message an empty reopened block', () => {
    // The closing fence straddles the window end after blank lines: cutting in those blank lines would
    // leave the next message just the reopened and the original fence.
    const text = `\`\`\`py\n${'a = 1\n'.repeat(14)}${'\n'.repeat(8)}\`\`\`\n${'after '.repeat(30)}`;
    const chunks = splitMessage(text, 100);
    expect(chunks.some((chunk) => /^```py\n```/.test(chunk))).toBe(false);
    expect(chunks[1]).toMatch(/^```py\na = 1\n/);
  });

  it('never makes a fence out of ``` or ~~~ in the middle of a line', () => {
    const chunks = splitMessage(`${'word '.repeat(17)}${'~'.repeat(30)}${' tail'.repeat(20)}`, 100);
    expect(chunks[1]).toMatch(/^word ~~~/);
    for (const chunk of chunks) expect(openFenceAtEnd(chunk), chunk).toBeUndefined();
  });

  it('does not take a ``` line whose info string has a backtick for a fence', () => {
    const chunks = splitMessage(`\`\`\` not \`a\` fence\n${prose(3000)}`, 1000);
    expect(chunks).toHaveLength(4);
    for (const chunk of chunks.slice(1)) expect(chunk).toMatch(/^word/);
    for (const chunk of chunks) expect(chunk).not.toMatch(/\n```$/);
  });

  it('normalizes CRLF line ends', () => {
    const chunks = splitMessage(`${'one two\r\n'.repeat(300)}`, 1000);
    expect(chunks.length).toBe(3);
    for (const chunk of chunks) expect(chunk).not.toContain('\r');
  });

  it(`loses nothing and keeps every invariant on ${RANDOM_CASES} random texts`, () => {
    for (let seed = 1; seed <= RANDOM_CASES; seed += 1) {
      const random = prng(seed);
      const text = randomMarkdown(random);
      const maxLength = 100 + Math.floor(random() * 400);
      const context = `seed ${seed}, maxLength ${maxLength}`;
      const chunks = splitMessage(text, maxLength);
      const detail = parts(text, maxLength);
      expect(detail.map((p) => p.text), context).toEqual(chunks);
      for (const [i, chunk] of chunks.entries()) {
        expect(chunk.length, context).toBeLessThanOrEqual(maxLength);
        expect(chunk, context).toBe(chunk.trimEnd());
        expect(chunk, context).not.toMatch(LONE_SURROGATE);
        if (detail[i]?.reopened === undefined) expect(chunk, context).toBe(chunk.trimStart());
        if (i < chunks.length - 1) expect(openFenceAtEnd(chunk), `${context}, chunk ${i}`).toBeUndefined();
        expect(detail[i + 1]?.reopened, context).toBe(i + 1 < chunks.length && detail[i]?.closed !== undefined ? detail[i]?.fence?.openLine : undefined);
      }
      const restored = detail.map((p) => {
        let body = p.text;
        if (p.reopened !== undefined) body = body.slice(p.reopened.length + 1);
        if (p.closed !== undefined) body = body.slice(0, -(p.closed.length + 1));
        return body;
      });
      expect(nonSpace(restored.join('')), context).toBe(nonSpace(text));
    }
  });
});
