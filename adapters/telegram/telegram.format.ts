/**
 * The model's Markdown as Telegram HTML (https://core.telegram.org/bots/api#html-style).
 * Telegram rejects a whole message over one unbalanced tag, so the converter only ever
 * emits a tag together with its closing one: every construct is matched whole (opening
 * and closing delimiter on one line) before anything is written, and anything that does
 * not match stays literal text, escaped. Visible text never grows: only markup is
 * dropped, so a chunk within the 4096 limit as Markdown stays within it as HTML.
 */

/** Fenced code block lines (CommonMark: ``` or ~~~, any indent as models write them in lists). */
const FENCE_LINE = /^[ \t]*(`{3,}|~{3,})[ \t]*([^`\s]*)[^\n]*$/;
/** Language names Telegram's `language-x` class can carry safely. */
const LANGUAGE = /^[A-Za-z0-9_+#.-]{1,32}$/;
const HEADING = /^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/;
const BULLET = /^([ \t]*)[-*+][ \t]+(?=\S)/;
const QUOTE = /^[ \t]{0,3}>[ \t]?(.*)$/;
/** Link targets Telegram accepts in `<a href>`. */
const LINK_SCHEME = /^(?:https?:\/\/|tg:\/\/|mailto:)/i;

/** Inline constructs, tried at each position in this order (code first: nothing inside it is markup). */
const INLINE_RULES: ReadonlyArray<{ readonly pattern: RegExp; readonly render: (m: RegExpExecArray) => string }> = [
  { pattern: /(`+)([^`\n](?:[^\n]*?[^`\n])?)\1(?!`)/y, render: (m) => `<code>${escapeHtml(m[2] ?? '')}</code>` },
  {
    pattern: /\[([^\]\n]+)\]\(([^()\s]+)\)/y,
    render: (m) =>
      LINK_SCHEME.test(m[2] ?? '') ? `<a href="${escapeAttribute(m[2] ?? '')}">${inline(m[1] ?? '', false)}</a>` : escapeHtml(m[0]),
  },
  { pattern: /\*\*(?=\S)([^\n]*?\S)\*\*/y, render: (m) => `<b>${inline(m[1] ?? '')}</b>` },
  { pattern: /__(?=\S)([^\n]*?\S)__(?!\w)/y, render: (m) => `<b>${inline(m[1] ?? '')}</b>` },
  { pattern: /~~(?=\S)([^\n]*?\S)~~/y, render: (m) => `<s>${inline(m[1] ?? '')}</s>` },
  { pattern: /\*(?=[^\s*])([^\n*]*?[^\s*])\*(?!\*)/y, render: (m) => `<i>${inline(m[1] ?? '')}</i>` },
  { pattern: /_(?=[^\s_])([^\n_]*?[^\s_])_(?!\w)/y, render: (m) => `<i>${inline(m[1] ?? '')}</i>` },
];

/** Converts Markdown to Telegram HTML. The result is always well-formed for Telegram's parser. */
export function markdownToTelegramHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let quote: string[] = [];
  const flushQuote = (): void => {
    if (quote.length > 0) out.push(`<blockquote>${quote.join('\n')}</blockquote>`);
    quote = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const fence = FENCE_LINE.exec(line);
    if (fence) {
      flushQuote();
      const marker = fence[1] ?? '```';
      const body: string[] = [];
      let j = i + 1;
      // An unclosed block runs to the end, as CommonMark says (a cut answer still renders).
      for (; j < lines.length; j += 1) {
        const close = /^[ \t]*(`{3,}|~{3,})[ \t]*$/.exec(lines[j] ?? '');
        if (close && close[1]?.[0] === marker[0] && (close[1]?.length ?? 0) >= marker.length) break;
        body.push(lines[j] ?? '');
      }
      out.push(codeBlock(body.join('\n'), fence[2] ?? ''));
      i = j;
      continue;
    }
    const quoted = QUOTE.exec(line);
    if (quoted) {
      quote.push(convertLine(quoted[1] ?? ''));
      continue;
    }
    flushQuote();
    out.push(convertLine(line));
  }
  flushQuote();
  return out.join('\n');
}

/** Escapes text for Telegram HTML: the three characters its parser treats specially. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}

function codeBlock(code: string, language: string): string {
  const body = escapeHtml(code);
  return LANGUAGE.test(language) ? `<pre><code class="language-${language}">${body}</code></pre>` : `<pre>${body}</pre>`;
}

function convertLine(line: string): string {
  const heading = HEADING.exec(line);
  if (heading) return `<b>${inline(heading[1] ?? '')}</b>`;
  const bullet = BULLET.exec(line);
  if (bullet) return `${bullet[1] ?? ''}• ${inline(line.slice(bullet[0].length))}`;
  return inline(line);
}

/** Converts one line's inline Markdown; `links` is false inside a link's own text. */
function inline(text: string, links = true): string {
  let out = '';
  let plainFrom = 0;
  let at = 0;
  while (at < text.length) {
    const rendered = ruleAt(text, at, links);
    if (rendered === undefined) {
      at += 1;
      continue;
    }
    out += escapeHtml(text.slice(plainFrom, at)) + rendered.html;
    at += rendered.length;
    plainFrom = at;
  }
  return out + escapeHtml(text.slice(plainFrom));
}

function ruleAt(text: string, at: number, links: boolean): { html: string; length: number } | undefined {
  const previous = text[at - 1] ?? '';
  for (const [index, rule] of INLINE_RULES.entries()) {
    if (!links && index === 1) continue;
    // snake_case and 2*3*4 are not emphasis: an opening delimiter must not follow a word character.
    if ((text[at] === '_' || (text[at] === '*' && index === 5)) && /\w/.test(previous)) continue;
    rule.pattern.lastIndex = at;
    const match = rule.pattern.exec(text);
    if (match) return { html: rule.render(match), length: match[0].length };
  }
  return undefined;
}
