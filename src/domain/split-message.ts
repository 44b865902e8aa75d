/**
 * Splits a Markdown reply into messages that fit a platform's length limit, counted in
 * UTF-16 code units as the platforms count them: Discord 2000
 * (https://discord.com/developers/docs/resources/message#create-message), Telegram 4096
 * (https://core.telegram.org/bots/api#sendmessage). A fenced code block
 * (https://spec.commonmark.org/0.31.2/#fenced-code-blocks) cut in two is closed at the
 * end of one message and reopened, with its info string, at the start of the next.
 */

/** The smallest limit accepted: below it a reopened code fence crowds out the text. */
export const MIN_MESSAGE_LENGTH = 100;
/** A fence is closed and reopened across a cut only if its two lines take at most this share of the limit. */
const FENCE_REPAIR_MAX_SHARE = 0.25;
/** Paragraph, line and space breaks are taken only in this latter share of the window; else a hard cut. */
const SOFT_BREAK_MIN_SHARE = 0.5;
const SOFT_BREAKS = ['\n\n', '\n', ' '] as const;
// Any indentation, not CommonMark's three spaces: models indent fences inside list items.
const FENCE_LINE = /^([ \t]*)(`{3,}|~{3,})([^\n]*)$/;
const FENCE_START = /^(?:`{3}|~{3})/;
const SPACE = /\s/;

/** A fenced code block that is open where a chunk ends. */
export interface CodeFence {
  /** The opening line as written (indent, marker, info string), used to reopen the block. */
  readonly openLine: string;
  /** Indent and marker, used to close the block at the end of a chunk. */
  readonly closeLine: string;
  readonly marker: string;
  /** False for absurdly long fence lines: those are cut like plain text. */
  readonly repair: boolean;
}

/** One message cut from the text by `nextChunk`. */
export interface MessageChunk {
  /** The message text, at most `maxLength` code units. */
  readonly text: string;
  /** The fence line added at the start to reopen a block cut in the previous chunk, if any. */
  readonly reopened: string | undefined;
  /** The fence line added at the end to close a block that continues in the next chunk, if any. */
  readonly closed: string | undefined;
  /** Where the next chunk's source starts; `text.length` when this chunk took the rest. */
  readonly end: number;
  /** The code fence open at `end`, to pass to the next call. */
  readonly fence: CodeFence | undefined;
}

/**
 * A fenced block: cuts in `[from, to]` fall inside it. A cut at or after `contentEnd` (the
 * end of its last non-space content) would leave the next chunk an empty reopened block.
 */
interface Region { readonly fence: CodeFence; readonly from: number; readonly to: number; readonly contentEnd: number }

/** Fails fast on a limit that cannot hold a reopened code block. */
export function assertMessageLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < MIN_MESSAGE_LENGTH) {
    throw new RangeError(`maxLength must be an integer >= ${MIN_MESSAGE_LENGTH}, got ${maxLength}`);
  }
}

/**
 * Splits `text` into chunks of at most `maxLength` UTF-16 code units. CRLF becomes LF;
 * whitespace is trimmed at chunk boundaries only. Empty or whitespace-only text gives `[]`.
 */
export function splitMessage(text: string, maxLength: number): string[] {
  assertMessageLength(maxLength);
  const source = text.replace(/\r\n/g, '\n');
  const chunks: string[] = [];
  let start = 0;
  let fence: CodeFence | undefined;
  for (;;) {
    const chunk = nextChunk(source, start, fence, maxLength);
    if (chunk === undefined) return chunks;
    chunks.push(chunk.text);
    if (chunk.end >= source.length) return chunks;
    ({ end: start, fence } = chunk);
  }
}

/**
 * Cuts the next chunk of `text` from `start`, inside `carry` (the fence a previous chunk
 * left open). Takes the rest whole when it fits, else cuts at the last paragraph break,
 * line break or space in the latter half of the window, else hard (never inside a
 * surrogate pair or a fence line). Returns undefined when only whitespace is left.
 * The text must have LF line ends.
 */
export function nextChunk(text: string, start: number, carry: CodeFence | undefined, maxLength: number): MessageChunk | undefined {
  const first = firstNonSpace(text, start);
  if (first === -1) return undefined;
  const reopened = carry?.repair ? carry.openLine : undefined;
  const prefix = reopened === undefined ? '' : `${reopened}\n`;
  // Inside a code block indentation is content: keep the first line whole.
  const bodyStart = carry ? Math.max(start, text.lastIndexOf('\n', first) + 1) : first;
  const budget = maxLength - prefix.length;
  const last = trimEndIndex(text, text.length, bodyStart);
  if (last - bodyStart <= budget) {
    const { regions } = parseFences(text, start, carry, Infinity, maxLength);
    const fence = regions.find((r) => r.from <= text.length && text.length <= r.to)?.fence;
    return { text: prefix + text.slice(bodyStart, last), reopened, closed: undefined, end: text.length, fence };
  }

  const limit = bodyStart + budget;
  const { regions, lines } = parseFences(text, start, carry, limit, maxLength);
  const tryCut = (c: number): MessageChunk | undefined => {
    if (c <= bodyStart || c > limit || splitsPair(text, c)) return undefined;
    if (lines.some(([lo, hi]) => lo <= c && c <= hi)) return undefined;
    const region = regions.find((r) => r.from <= c && c <= r.to);
    if (region !== undefined && c >= region.contentEnd) return undefined;
    if (startsFenceMidLine(text, firstNonSpace(text, c))) return undefined;
    const bodyEnd = trimEndIndex(text, c, bodyStart);
    const closed = region?.fence.repair ? region.fence.closeLine : undefined;
    if (bodyEnd - bodyStart + (closed === undefined ? 0 : closed.length + 1) > budget) return undefined;
    const body = text.slice(bodyStart, bodyEnd) + (closed === undefined ? '' : `\n${closed}`);
    return { text: prefix + body, reopened, closed, end: c, fence: region?.fence };
  };

  const half = bodyStart + Math.floor(budget * SOFT_BREAK_MIN_SHARE);
  for (const separator of SOFT_BREAKS) {
    // The whole separator lies within the window, so the cut never depends on text past it.
    for (let c = text.lastIndexOf(separator, limit - separator.length + 1); c > half; c = text.lastIndexOf(separator, c - 1)) {
      const chunk = tryCut(c);
      if (chunk !== undefined) return chunk;
    }
  }
  for (let c = limit; c > bodyStart; c -= 1) {
    const chunk = tryCut(c);
    if (chunk !== undefined) return chunk;
  }
  // Reached only when a fence line fills the whole window: cut it like plain text.
  const c = splitsPair(text, limit) ? limit - 1 : limit;
  return { text: prefix + text.slice(bodyStart, trimEndIndex(text, c, bodyStart)), reopened, closed: undefined, end: c, fence: undefined };
}

/**
 * Finds the fenced blocks from `start` (inside `carry` if set). Lines starting after
 * `limit` are read only to find where a block open at `limit` closes after blank lines.
 * `lines` are the cut positions forbidden by fence lines: inside one, or just after an
 * opening one (which would leave an empty block).
 */
function parseFences(text: string, start: number, carry: CodeFence | undefined, limit: number, maxLength: number) {
  const regions: Region[] = [];
  const lines: Array<readonly [number, number]> = [];
  let open = carry;
  let from = start;
  // A chunk may start mid-line: never at ``` or ~~~ though (startsFenceMidLine), so that is no fence line.
  let at = start;
  while (at <= text.length) {
    const newline = text.indexOf('\n', at);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(at, end);
    const match = FENCE_LINE.exec(line);
    const [, indent = '', marker = '', info = ''] = match ?? [];
    if (open) {
      if (match && marker[0] === open.marker[0] && marker.length >= open.marker.length && info.trim() === '') {
        regions.push({ fence: open, from, to: at, contentEnd: trimEndIndex(text, at, from) });
        lines.push([at + 1, end - 1]);
        open = undefined;
      } else if (at > limit && line.trim() !== '') {
        break;
      }
    } else if (at > limit) {
      break;
    } else if (match && !(marker[0] === '`' && info.includes('`'))) {
      const openLine = line.trimEnd();
      const closeLine = indent + marker;
      const repair = openLine.length + closeLine.length + 2 <= maxLength * FENCE_REPAIR_MAX_SHARE;
      open = { openLine, closeLine, marker, repair };
      from = end + 1;
      lines.push([at + 1, end]);
    }
    if (newline === -1) break;
    at = newline + 1;
  }
  if (open) regions.push({ fence: open, from, to: Infinity, contentEnd: Infinity });
  return { regions, lines };
}

/** A cut that leaves ``` or ~~~ at the start of the next chunk, but mid-line in the text, would invent a fence. */
function startsFenceMidLine(text: string, next: number): boolean {
  if (next === -1 || !FENCE_START.test(text.slice(next, next + 3))) return false;
  return text.slice(text.lastIndexOf('\n', next - 1) + 1, next).trim() !== '';
}

function splitsPair(text: string, at: number): boolean {
  const high = text.charCodeAt(at - 1);
  const low = text.charCodeAt(at);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

function firstNonSpace(text: string, from: number): number {
  for (let i = from; i < text.length; i += 1) if (!SPACE.test(text[i] ?? '')) return i;
  return -1;
}

function trimEndIndex(text: string, end: number, floor: number): number {
  let i = end;
  while (i > floor && SPACE.test(text[i - 1] ?? '')) i -= 1;
  return i;
}
