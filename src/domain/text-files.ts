/**
 * Text files as context (issue #18): which attachments the chat model reads as text (by
 * name, else by type), and how their bytes become text. A file named like text whose bytes
 * are not UTF-8 text is refused rather than guessed at. Pure.
 */
import type { Attachment } from './inbound-message.js';

/** Extensions read as text: prose, data and source code. */
const TEXT_EXTENSIONS: ReadonlySet<string> = new Set([
  'txt', 'text', 'md', 'markdown', 'rst', 'csv', 'tsv', 'json', 'jsonl', 'ndjson', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf',
  'xml', 'html', 'htm', 'css', 'scss', 'sql', 'log', 'env', 'properties', 'tex', 'srt', 'vtt',
  'js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'py', 'rb', 'go', 'rs', 'java', 'kt', 'kts', 'scala', 'swift', 'c', 'h',
  'cc', 'cpp', 'cxx', 'hpp', 'cs', 'fs', 'php', 'pl', 'lua', 'r', 'dart', 'ex', 'exs', 'erl', 'hs', 'clj', 'ml', 'nim', 'zig',
  'vue', 'svelte', 'sh', 'bash', 'zsh', 'fish', 'ps1', 'bat', 'gradle', 'cmake', 'mk', 'dockerfile', 'tf', 'proto', 'graphql',
]);
/** Names without an extension that are text. */
const TEXT_NAMES: ReadonlySet<string> = new Set(['dockerfile', 'makefile', 'readme', 'license', 'gemfile', 'procfile']);
/** Types read as text when the name says nothing. */
const TEXT_TYPES = /^(?:text\/|application\/(?:json|x-ndjson|xml|yaml|x-yaml|toml|javascript|typescript|x-sh|sql|csv)\b)/i;

/** Stateless with `fatal`: one decoder serves every call. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** A text file has no NUL bytes; a binary file nearly always has some early on. */
const NUL = 0;

/** Whether the model reads this attachment as text. */
export function isTextFile(attachment: Pick<Attachment, 'kind' | 'fileName' | 'mimeType'>): boolean {
  if (attachment.kind !== 'file') return false;
  const name = (attachment.fileName ?? '').toLowerCase();
  const extension = /\.([a-z0-9]{1,12})$/.exec(name)?.[1];
  if (extension !== undefined) return TEXT_EXTENSIONS.has(extension);
  if (TEXT_NAMES.has(name)) return true;
  return TEXT_TYPES.test(attachment.mimeType ?? '');
}

/** The bytes as text (a byte-order mark dropped, line ends made `\n`), or undefined when they are not UTF-8 text. */
export function decodeText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(NUL)) return undefined;
  try {
    return UTF8.decode(bytes).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  } catch {
    return undefined;
  }
}

/** A name to show for a file: its own, else "the file". */
export function fileLabel(attachment: Pick<Attachment, 'fileName'>): string {
  return attachment.fileName?.trim() || 'the file';
}
