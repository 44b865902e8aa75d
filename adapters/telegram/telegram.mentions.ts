/**
 * Mentions that notify nobody (issue #18). Telegram turns an `@username` in any message
 * into a mention, and a `tg://user?id=` link into a text mention; in a group both notify
 * that member. The model's words must not ping people, as Discord's `allowed_mentions`
 * already guarantees there, so in group chats the bot's text is sent with a WORD JOINER
 * (U+2060, invisible) after each `@` that would start a mention, and `tg://user` links as
 * their text alone. Code and pre blocks are left as they are: Telegram finds no mentions
 * in them, and code must copy exactly. A joiner adds a character; where that could take a
 * message past Telegram's limit, a FULLWIDTH COMMERCIAL AT (U+FF20, `＠`) replaces the `@`
 * instead, which keeps the length.
 * https://core.telegram.org/bots/api#messageentity  https://core.telegram.org/bots/api#formatting-options
 */

/** Shown as nothing; it only keeps Telegram from reading the name after `@` as a mention. */
const WORD_JOINER = '\u2060';
/** Looks like `@`, is not one. */
const FULLWIDTH_AT = '\uFF20';
/** An `@` that starts a name, where Telegram would look for a mention: not inside a word (an e-mail address) or a URL. */
const MENTION_AT = /(?<![\p{L}\p{N}_@/.])@(?=[A-Za-z0-9_]{3})/gu;
/** HTML tags in the converter's output (telegram.format.ts): always well formed, attributes quoted. */
const TAG = /<(\/?)([a-z-]+)([^>]*)>/g;
const USER_LINK = /href="tg:\/\/user\?/i;

/** How the `@` of a would-be mention is written: followed by a joiner, or as `＠` (same length). */
export type MentionStyle = 'joiner' | 'fullwidth';

/** The style for a text: joiners, unless they could take it past `maxLength` (`text` is the source, never shorter than what shows). */
export function mentionStyleFor(text: string, maxLength: number): MentionStyle {
  const count = text.match(MENTION_AT)?.length ?? 0;
  return text.length + count <= maxLength ? 'joiner' : 'fullwidth';
}

/** Plain text without mentions. */
export function withoutMentionsPlain(text: string, style: MentionStyle): string {
  return text.replace(MENTION_AT, style === 'joiner' ? `@${WORD_JOINER}` : FULLWIDTH_AT);
}

/** Telegram HTML without mentions: text outside code and pre is changed; `tg://user` links keep only their text. */
export function withoutMentionsHtml(html: string, style: MentionStyle): string {
  let out = '';
  let from = 0;
  let code = 0;
  const userLinks: boolean[] = [];
  for (const tag of html.matchAll(TAG)) {
    const text = html.slice(from, tag.index);
    out += code > 0 ? text : withoutMentionsPlain(text, style);
    from = tag.index + tag[0].length;
    const [, closing, name = ''] = tag;
    if (name === 'code' || name === 'pre') code += closing ? -1 : 1;
    if (name === 'a') {
      // A link to a user by id is a mention: its text stays, the link goes.
      const userLink = closing ? userLinks.pop() === true : USER_LINK.test(tag[3] ?? '');
      if (!closing) userLinks.push(userLink);
      if (userLink) continue;
    }
    out += tag[0];
  }
  const rest = html.slice(from);
  return out + (code > 0 ? rest : withoutMentionsPlain(rest, style));
}
