/** Markdown → Telegram HTML: what each construct becomes, and that the output always parses. */
import { describe, expect, it } from 'vitest';
import { markdownToTelegramHtml } from '../../adapters/telegram/index.js';
import { parseTelegramHtml } from '../fakes/telegram-html.js';
import { prng } from '../support/prng.js';

const html = markdownToTelegramHtml;

describe('markdownToTelegramHtml', () => {
  it('escapes the three characters Telegram HTML reserves', () => {
    expect(html('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(html('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('turns fenced code into pre/code with the language, escaped and untouched inside', () => {
    expect(html('Look:\n```ts\nconst a = x < 1 && **y**;\n```\ndone')).toBe(
      'Look:\n<pre><code class="language-ts">const a = x &lt; 1 &amp;&amp; **y**;</code></pre>\ndone',
    );
    expect(html('```\nplain\n```')).toBe('<pre>plain</pre>');
    // A block cut off by the end of the answer still renders as code.
    expect(html('```py\nprint(1)')).toBe('<pre><code class="language-py">print(1)</code></pre>');
    // An info string that could break the attribute is dropped.
    expect(html('```"><b>\nx\n```')).toBe('<pre>x</pre>');
  });

  it('converts inline code, bold, italic, strikethrough and links', () => {
    expect(html('use `a<b` now')).toBe('use <code>a&lt;b</code> now');
    expect(html('**bold** and __also__')).toBe('<b>bold</b> and <b>also</b>');
    expect(html('*it* and _it_')).toBe('<i>it</i> and <i>it</i>');
    expect(html('~~gone~~')).toBe('<s>gone</s>');
    expect(html('[docs](https://example.com/a?b=1&c="2")')).toBe('<a href="https://example.com/a?b=1&amp;c=&quot;2&quot;">docs</a>');
    expect(html('**bold with `code` inside**')).toBe('<b>bold with <code>code</code> inside</b>');
  });

  it('leaves what is not markup alone', () => {
    expect(html('snake_case_name and 2*3*4')).toBe('snake_case_name and 2*3*4');
    expect(html('a ** b ** c')).toBe('a ** b ** c');
    expect(html('[x](javascript:alert(1))')).toBe('[x](javascript:alert(1))');
    expect(html('unclosed **bold')).toBe('unclosed **bold');
    expect(html('`code` inside no `closing')).toBe('<code>code</code> inside no `closing');
  });

  it('renders headings bold, bullets as dots and quotes as blockquote', () => {
    expect(html('## Title\n- one\n* two')).toBe('<b>Title</b>\n• one\n• two');
    expect(html('> quoted\n> more\nafter')).toBe('<blockquote>quoted\nmore</blockquote>\nafter');
  });

  it('never lengthens the visible text', () => {
    const source = '# H\n**b** _i_ `c` [l](https://x.y) ~~s~~ <&>\n```js\nx\n```';
    const parsed = parseTelegramHtml(html(source));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.text.length).toBeLessThanOrEqual(source.length);
  });

  it('always produces HTML Telegram parses, whatever the input (seeded fuzz)', () => {
    const pieces = ['*', '**', '_', '__', '`', '```', '```js', '~~', '[', ']', '(', ')', 'https://a.b', '<', '>', '&', '"', '\n', ' ', 'word', '#', '- ', '> ', '😀'];
    for (let seed = 1; seed <= 300; seed += 1) {
      const random = prng(seed);
      let text = '';
      const length = 1 + Math.floor(random() * 40);
      for (let i = 0; i < length; i += 1) text += pieces[Math.floor(random() * pieces.length)];
      const parsed = parseTelegramHtml(html(text));
      expect(parsed, `seed ${seed}: ${JSON.stringify(text)}`).toMatchObject({ ok: true });
      if (parsed.ok) expect(parsed.text.length, `seed ${seed}`).toBeLessThanOrEqual(text.length);
    }
  });
});

describe('the fake Bot API HTML parser', () => {
  it('refuses what Telegram refuses', () => {
    expect(parseTelegramHtml('<b>open')).toEqual({ ok: false, error: 'Can\'t find end tag corresponding to start tag "b"' });
    expect(parseTelegramHtml('<foo>x</foo>')).toMatchObject({ ok: false, error: expect.stringContaining('Unsupported start tag "foo"') });
    expect(parseTelegramHtml('<b><i>x</b></i>')).toMatchObject({ ok: false, error: expect.stringContaining('Unmatched end tag') });
    expect(parseTelegramHtml('a &nbsp; b')).toMatchObject({ ok: false });
    expect(parseTelegramHtml('<b>a &lt; b</b>')).toEqual({ ok: true, text: 'a < b', entities: [] });
  });
});
