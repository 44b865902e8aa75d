/**
 * The fake Bot API's HTML entity parser: what Telegram does with `parse_mode: "HTML"`
 * (https://core.telegram.org/bots/api#html-style). It returns the visible text (whose
 * length is what the 4096 limit counts) or the same kind of error Telegram answers with:
 * an unsupported tag, an unbalanced one or a bad entity fails the whole message.
 */

/** Tags Telegram's HTML mode supports, and the attributes each may carry. */
const TAGS: Readonly<Record<string, readonly string[]>> = {
  b: [], strong: [], i: [], em: [], u: [], ins: [], s: [], strike: [], del: [],
  'tg-spoiler': [], span: ['class'], a: ['href'], 'tg-emoji': ['emoji-id'],
  code: ['class'], pre: [], blockquote: ['expandable'],
};
const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** An entity the markup made: code and pre (no mention is found inside them), and a `tg://user?id=` link, which is a mention. */
export interface MarkupEntity {
  readonly type: 'code' | 'pre' | 'text_mention';
  /** In UTF-16 code units of the visible text, as the Bot API counts. */
  readonly offset: number;
  readonly length: number;
  /** A text_mention's user id. */
  readonly userId?: number;
}

/** The visible text of a message and the entities its markup made, or why Telegram would refuse it. */
export type ParsedText =
  | { readonly ok: true; readonly text: string; readonly entities: readonly MarkupEntity[] }
  | { readonly ok: false; readonly error: string };

/** Parses `html` as Telegram does; `error` is the part after "Bad Request: can't parse entities: ". */
export function parseTelegramHtml(html: string): ParsedText {
  const stack: string[] = [];
  const opened: Array<{ readonly start: number; readonly userId?: number }> = [];
  const entities: MarkupEntity[] = [];
  let text = '';
  let i = 0;
  const offset = (at: number): number => Buffer.byteLength(html.slice(0, at));
  while (i < html.length) {
    const c = html[i];
    if (c === '<') {
      const close = html.indexOf('>', i);
      if (close === -1) return { ok: false, error: `Unclosed start tag at byte offset ${offset(i)}` };
      const raw = html.slice(i + 1, close);
      if (raw.startsWith('/')) {
        const name = raw.slice(1).trim().toLowerCase();
        const open = stack.pop();
        const start = opened.pop();
        if (open === undefined || start === undefined) return { ok: false, error: `Unexpected end tag at byte offset ${offset(i)}` };
        if (name !== '' && name !== open) {
          return { ok: false, error: `Unmatched end tag at byte offset ${offset(i)}, expected "</${open}>", found "</${name}>"` };
        }
        const length = text.length - start.start;
        if ((open === 'code' || open === 'pre') && length > 0) entities.push({ type: open, offset: start.start, length });
        if (open === 'a' && start.userId !== undefined && length > 0) entities.push({ type: 'text_mention', offset: start.start, length, userId: start.userId });
      } else {
        const tag = /^([a-z-]+)((?:\s+[a-z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*$/i.exec(raw);
        const name = tag?.[1]?.toLowerCase() ?? raw.split(/\s/)[0] ?? '';
        const allowed = TAGS[name];
        if (!tag || allowed === undefined) return { ok: false, error: `Unsupported start tag "${name}" at byte offset ${offset(i)}` };
        if (name === 'span' && !/class\s*=\s*["']?tg-spoiler/i.test(tag[2] ?? '')) {
          return { ok: false, error: `Tag "span" must have class "tg-spoiler" at byte offset ${offset(i)}` };
        }
        stack.push(name);
        // https://core.telegram.org/bots/api#formatting-options: tg://user?id=<user_id> mentions a user by id.
        const user = name === 'a' ? /href\s*=\s*["']?tg:\/\/user\?id=(\d+)/i.exec(tag[2] ?? '') : null;
        opened.push({ start: text.length, ...(user ? { userId: Number(user[1]) } : {}) });
      }
      i = close + 1;
    } else if (c === '&') {
      const entity = /^&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/i.exec(html.slice(i, i + 12));
      if (entity === null) {
        text += '&'; // a lone & is taken literally
        i += 1;
        continue;
      }
      const body = entity[1] ?? '';
      if (body.startsWith('#')) {
        const code = body[1]?.toLowerCase() === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        text += String.fromCodePoint(Math.min(code, 0x10ffff));
      } else {
        const named = NAMED_ENTITIES[body.toLowerCase()];
        if (named === undefined) return { ok: false, error: `Unsupported HTML entity "&${body};" at byte offset ${offset(i)}` };
        text += named;
      }
      i += entity[0].length;
    } else {
      text += c;
      i += 1;
    }
  }
  const open = stack.pop();
  if (open !== undefined) return { ok: false, error: `Can't find end tag corresponding to start tag "${open}"` };
  return { ok: true, text, entities };
}
