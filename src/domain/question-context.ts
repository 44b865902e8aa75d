/**
 * What the user points at, as text the model reads (issue #18): the message they replied
 * to (or the part of it they quoted), attributed to its author, and the text files they
 * sent. The user's own words come first and the context after them, so a history entry
 * cut to its share of the budget keeps the question. The message replied to is bounded by
 * the history token budget, and its words are not repeated when history already holds
 * them. Pure: the worker fetches, transcribes and reads; this decides what is said.
 */
import type { HistoryEntry } from './chat.js';
import { entryTokenLimit, messageTokens, truncateText, type TokenCounter } from './history-budget.js';
import type { RepliedTo } from './inbound-message.js';

/** The message replied to gets at least this many tokens, however long the question. */
const MIN_CONTEXT_TOKENS = 64;
/** Tokens the framing of the context takes besides its words ("(In reply to …:)", quote marks). */
const CONTEXT_FRAMING_TOKENS = 24;
/** A bot message is recognized in history by this much of its words (letters and digits). */
const RECOGNIZED_CHARS = 300;

/** A text file as read. */
export interface FileText {
  readonly name: string;
  readonly text: string;
}

/** What the message replied to brings, as the worker found it. */
export interface ReplyContext {
  readonly replyTo: RepliedTo;
  /**
   * Where history already holds its words, which are then not repeated: in the last
   * exchange (`latest`: the question needs no pointer to it, as when a group replies to
   * the bot's last answer), or `earlier`; false when it does not.
   */
  readonly inHistory: HistoryPlace | false;
  /** Its voice note: what it says, or `unheard` when it could not be transcribed. */
  readonly voice?: { readonly transcript: string } | 'unheard';
  /** Its photos sent to the model as image parts (after the message's own). */
  readonly photosShown: number;
  /** Its photos the model cannot see (no vision, or the download failed). */
  readonly photosUnseen: number;
  /** Its text files, read. */
  readonly files: readonly FileText[];
  /** Its files that were not read (too large, not text). */
  readonly filesUnread: readonly string[];
}

/** Where in history a message is: in its last exchange, or before. */
export type HistoryPlace = 'latest' | 'earlier';

/** The last exchange: the user's turn and the answer. */
const LATEST_ENTRIES = 2;

/** The budget the context must keep to. */
export interface ContextBudget {
  /** HISTORY_MAX_TOKENS. */
  readonly historyMaxTokens: number;
  readonly count: TokenCounter;
}

/**
 * The text the model reads (and history keeps) for a question: what the user said, the
 * message replied to, then their text files. `name` is the asker's display name (it costs
 * tokens in the entry too).
 */
export function composeQuestion(
  asked: { readonly name: string; readonly said: string },
  context: { readonly reply?: ReplyContext; readonly files: readonly FileText[] },
  budget: ContextBudget,
): string {
  const parts: string[] = [];
  if (asked.said !== '') parts.push(asked.said);
  if (context.reply) {
    const room = Math.max(MIN_CONTEXT_TOKENS, entryTokenLimit(budget.historyMaxTokens) - messageTokens({ name: asked.name, text: asked.said }, budget.count));
    const described = describeReply(context.reply, room - CONTEXT_FRAMING_TOKENS, budget.count);
    if (described !== '') parts.push(described);
    parts.push(...context.reply.files.map(fileBlock));
  }
  parts.push(...context.files.map(fileBlock));
  return parts.join('\n\n');
}

/**
 * Where history already holds the words of the message replied to: a turn that was that
 * message (its id) or carried it whole (its refs), or, for one of the bot's messages, a
 * turn that contains its words (what a platform shows of the bot's Markdown differs in
 * markup only). False when it holds them nowhere.
 */
export function placeInHistory(replyTo: RepliedTo, history: readonly HistoryEntry[]): HistoryPlace | false {
  const id = replyTo.messageId;
  const words = replyTo.authorIsBot ? plainWords(replyTo.text ?? '').slice(0, RECOGNIZED_CHARS) : '';
  const holds = (entry: HistoryEntry): boolean =>
    entry.id === id || entry.refs?.includes(id) === true || (words !== '' && plainWords(withoutLinkTargets(entry.text)).includes(words));
  const at = history.findLastIndex(holds);
  if (at === -1) return false;
  return at >= history.length - LATEST_ENTRIES ? 'latest' : 'earlier';
}

/** Whether the whole message replied to goes into the question (not a part of it, nor a pointer): history then records its id. */
export function carriesWhole(reply: ReplyContext): boolean {
  return reply.inHistory === false && reply.replyTo.quote === undefined;
}

function describeReply(reply: ReplyContext, room: number, count: TokenCounter): string {
  const { replyTo } = reply;
  const whose = replyTo.authorIsBot ? 'your earlier message' : replyTo.authorName ? `${replyTo.authorName}'s message` : 'a message';
  const notes: string[] = [];
  if (reply.photosShown > 0) notes.push(reply.photosShown === 1 ? '[photo: the last image]' : `[${reply.photosShown} photos: the last images]`);
  if (reply.photosUnseen > 0) notes.push(reply.photosUnseen === 1 ? "[a photo I can't see]" : `[${reply.photosUnseen} photos I can't see]`);
  if (reply.voice === 'unheard') notes.push("[a voice note I couldn't transcribe]");
  for (const name of reply.filesUnread) notes.push(`[file ${name}, not read]`);
  for (const file of reply.files) notes.push(`[file ${file.name}, below]`);

  if (replyTo.quote !== undefined) {
    return [`(In reply to this part of ${whose}:)`, quoted(truncateText(replyTo.quote, room, count))].join('\n');
  }
  // The last exchange is what a reply points at anyway: no pointer, unless something (a photo) comes with it.
  if (reply.inHistory === 'latest' && notes.length === 0) return '';
  if (reply.inHistory !== false) return [`(In reply to ${whose} above.)`, ...notes.map((note) => `> ${note}`)].join('\n');
  const words = [replyTo.text ?? '', reply.voice !== undefined && reply.voice !== 'unheard' ? `[voice note] ${reply.voice.transcript}` : '']
    .filter((part) => part.trim() !== '')
    .join('\n');
  const lines = [`(In reply to ${whose}:)`, ...notes.map((note) => `> ${note}`)];
  if (words !== '') lines.push(quoted(truncateText(words, room, count)));
  return lines.join('\n');
}

/** Text as a Markdown quote, line by line. */
function quoted(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => (line === '' ? '>' : `> ${line}`))
    .join('\n');
}

/** A file's text in a fence longer than any run of backticks inside it. */
function fileBlock(file: FileText): string {
  const longest = Math.max(0, ...[...file.text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `(File ${file.name}:)\n${fence}\n${file.text.replace(/\n+$/, '')}\n${fence}`;
}

/** Letters and digits only, lower-cased: what two renderings of one Markdown text share. */
function plainWords(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** A Markdown link shows its text, not its target; a fence line's language is not shown either. */
function withoutLinkTargets(text: string): string {
  return text.replace(/\]\([^()\s]*\)/g, ']').replace(/^([ \t]*(?:`{3,}|~{3,}))[^\n]*$/gm, '$1');
}
