/**
 * Mentions that notify nobody in groups (adapters/telegram/telegram.mentions.ts), checked
 * with the fake Bot API's own entity parsing: what Telegram would make a mention of.
 */
import { describe, expect, it } from 'vitest';
import { markdownToTelegramHtml } from '../../adapters/telegram/telegram.format.js';
import { mentionStyleFor, withoutMentionsHtml, withoutMentionsPlain } from '../../adapters/telegram/telegram.mentions.js';
import { parseTelegramHtml } from '../fakes/telegram-html.js';
import { entitiesOf } from '../fakes/telegram.js';

const MODEL_TEXT = 'Ask @alice_smith, (@bob_jones) or [Carol](tg://user?id=42); mail a@example.com; `@decorator` and\n```py\n@property\n```';

describe('mentions in group messages', () => {
  it('leaves no mention in the HTML Telegram parses, and no change inside code', () => {
    const html = withoutMentionsHtml(markdownToTelegramHtml(MODEL_TEXT), 'joiner');
    const parsed = parseTelegramHtml(html);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.entities.filter((e) => e.type === 'text_mention')).toEqual([]);
    const outsideCode = parsed.text.replace(/@decorator|@property/g, '');
    expect(entitiesOf(outsideCode).filter((e) => e.type === 'mention')).toEqual([]);
    expect(parsed.text).toBe('Ask @\u2060alice_smith, (@\u2060bob_jones) or Carol; mail a@example.com; @decorator and\n@property');
  });

  it('keeps the length where a joiner could pass the limit', () => {
    const text = `${'x'.repeat(4_090)} @alice_smith`;
    expect(mentionStyleFor(text, 4_096)).toBe('fullwidth');
    expect(mentionStyleFor('hi @alice_smith', 4_096)).toBe('joiner');
    const plain = withoutMentionsPlain(text, 'fullwidth');
    expect(plain).toHaveLength(text.length);
    expect(entitiesOf(plain).filter((e) => e.type === 'mention')).toEqual([]);
  });
});
