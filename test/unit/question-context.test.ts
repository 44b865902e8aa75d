/**
 * What the model reads of the message a user replied to, and of the text files they sent
 * (src/domain/question-context.ts, src/domain/text-files.ts): attributed, only the quoted
 * part of a partial quote, bounded by the history budget, not repeated when history holds
 * it.
 */
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/domain/chat.js';
import { entryTokenLimit, messageTokens, TRUNCATION_MARKER } from '../../src/domain/history-budget.js';
import { composeQuestion, placeInHistory, type ReplyContext } from '../../src/domain/question-context.js';
import { decodeText, isTextFile } from '../../src/domain/text-files.js';
import { countTokens } from '../../src/infra/history/index.js';

const BUDGET = { historyMaxTokens: 4_000, count: countTokens };
const MEETING = 'the meeting moved to friday, room 4B';
const asked = { name: 'Bob', said: 'what does this say?' };

function reply(over: Partial<Omit<ReplyContext, 'replyTo'>> & { replyTo?: Partial<ReplyContext['replyTo']> } = {}): ReplyContext {
  return {
    inHistory: false,
    photosShown: 0,
    photosUnseen: 0,
    files: [],
    filesUnread: [],
    ...over,
    replyTo: { messageId: '41', authorIsBot: false, authorName: 'Ann', text: MEETING, ...over.replyTo },
  };
}

describe('composeQuestion', () => {
  it('puts the question first, then the message replied to, attributed to its author', () => {
    expect(composeQuestion(asked, { reply: reply(), files: [] }, BUDGET)).toBe(`what does this say?\n\n(In reply to Ann's message:)\n> ${MEETING}`);
  });

  it('carries only the quoted part of a partial quote', () => {
    const text = composeQuestion(asked, { reply: reply({ replyTo: { quote: 'room 4B' } }), files: [] }, BUDGET);
    expect(text).toBe("what does this say?\n\n(In reply to this part of Ann's message:)\n> room 4B");
    expect(text).not.toContain('friday');
  });

  it('does not repeat words history holds: points at an earlier message, and at the last exchange not at all', () => {
    expect(composeQuestion(asked, { reply: reply({ inHistory: 'earlier' }), files: [] }, BUDGET)).toBe("what does this say?\n\n(In reply to Ann's message above.)");
    expect(composeQuestion(asked, { reply: reply({ inHistory: 'latest' }), files: [] }, BUDGET)).toBe('what does this say?');
    // A photo still comes along: history keeps no pictures.
    expect(composeQuestion(asked, { reply: reply({ inHistory: 'latest', photosShown: 1 }), files: [] }, BUDGET)).toBe(
      "what does this say?\n\n(In reply to Ann's message above.)\n> [photo: the last image]",
    );
  });

  it('notes photos, voice notes and files, and quotes a transcript', () => {
    const text = composeQuestion(
      asked,
      { reply: reply({ replyTo: { text: undefined }, voice: { transcript: 'call me back' }, photosShown: 1 }), files: [{ name: 'notes.md', text: 'a ``` b' }] },
      BUDGET,
    );
    expect(text).toBe("what does this say?\n\n(In reply to Ann's message:)\n> [photo: the last image]\n> [voice note] call me back\n\n(File notes.md:)\n````\na ``` b\n````");
  });

  it('keeps the message replied to within an entry’s share of the history budget', () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(2_000);
    const budget = { historyMaxTokens: 1_000, count: countTokens };
    const text = composeQuestion(asked, { reply: reply({ replyTo: { text: long } }), files: [] }, budget);
    expect(text).toContain(TRUNCATION_MARKER);
    expect(text.startsWith('what does this say?')).toBe(true);
    expect(messageTokens({ name: 'Bob', text }, countTokens)).toBeLessThanOrEqual(entryTokenLimit(1_000));
  });
});

describe('placeInHistory', () => {
  const turn = (text: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({ role: 'user', name: 'Ann', text, at: 1, ...extra });
  const answer = (text: string): HistoryEntry => ({ role: 'assistant', name: 'Switchboard', text, at: 2 });

  it('knows a message by its id, or by a turn that carried it, in the last exchange or before', () => {
    const replyTo = { messageId: '41', authorIsBot: false, text: MEETING };
    expect(placeInHistory(replyTo, [turn(MEETING, { id: '41' }), answer('ok')])).toBe('latest');
    expect(placeInHistory(replyTo, [turn('what?', { id: '42', refs: ['41'] }), answer('ok'), turn('more', { id: '43' }), answer('sure')])).toBe('earlier');
    expect(placeInHistory(replyTo, [turn(MEETING, { id: '40' })])).toBe(false);
  });

  it('knows the bot’s own message by its words, whatever the platform made of its Markdown', () => {
    const answer = 'See the **docs** at [the site](https://example.com/docs) for more:\n```ts\nconst x = 1;\n```';
    const history = [{ role: 'assistant' as const, name: 'Switchboard', text: answer, at: 2 }];
    expect(placeInHistory({ messageId: '9', authorIsBot: true, text: 'See the docs at the site for more:\nconst x = 1;' }, history)).toBe('latest');
    expect(placeInHistory({ messageId: '9', authorIsBot: true, text: 'Something else entirely' }, history)).toBe(false);
  });
});

describe('text files', () => {
  it('are known by name, else by type', () => {
    expect(isTextFile({ kind: 'file', fileName: 'notes.md' })).toBe(true);
    expect(isTextFile({ kind: 'file', fileName: 'main.py', mimeType: 'application/octet-stream' })).toBe(true);
    expect(isTextFile({ kind: 'file', fileName: 'data', mimeType: 'application/json' })).toBe(true);
    expect(isTextFile({ kind: 'file', fileName: 'report.pdf', mimeType: 'application/pdf' })).toBe(false);
    expect(isTextFile({ kind: 'image', fileName: 'a.txt' })).toBe(false);
  });

  it('decode UTF-8 and refuse anything else', () => {
    expect(decodeText(Buffer.from('\uFEFFa,b\r\n1,2\r\n'))).toBe('a,b\n1,2\n');
    expect(decodeText(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]))).toBeUndefined();
    expect(decodeText(Buffer.from([0xff, 0xfe, 0x41]))).toBeUndefined();
  });
});
