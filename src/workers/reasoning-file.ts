/**
 * SHOW_REASONING=file (issue #18): a reasoning model's thinking never shows in the chat
 * or goes into history; with this setting it is kept while the answer streams and sent
 * after the answer as a text file, on platforms that take files (Telegram, Discord).
 * Best effort: the answer is what the user asked for, so a file that cannot be sent is
 * logged, never retried.
 */
import { MAX_REASONING_CHARS, REASONING_FILE_NAME } from '../domain/reasoning.js';
import { REPLIES } from '../domain/replies.js';
import type { JobContext, Outbox, ReplyTarget } from '../ports/index.js';

/** A model's thinking as it streams, kept up to MAX_REASONING_CHARS. */
export class ReasoningNotes {
  #text = '';
  #cut = false;

  add(text: string): void {
    if (this.#cut) return;
    const room = MAX_REASONING_CHARS - this.#text.length;
    if (text.length > room) {
      this.#text += text.slice(0, room);
      this.#cut = true;
      return;
    }
    this.#text += text;
  }

  /** The thinking, trimmed, marked when it was cut. */
  get text(): string {
    const text = this.#text.trim();
    return this.#cut ? `${text}\n[…cut at ${MAX_REASONING_CHARS.toLocaleString('en')} characters]` : text;
  }
}

/** Sends `reasoning` as a text file replying to the target, when there is any and the platform takes files. */
export async function attachReasoning(outbox: Outbox, target: ReplyTarget, reasoning: string, context: JobContext): Promise<void> {
  if (reasoning === '') return;
  if (!outbox.sendFile) {
    context.log.debug({ platform: outbox.platform }, 'reasoning not attached: this platform takes no files');
    return;
  }
  const file = { bytes: Buffer.from(reasoning, 'utf8'), mimeType: 'text/plain', fileName: REASONING_FILE_NAME };
  try {
    await outbox.sendFile(target, file, REPLIES.reasoningCaption);
  } catch (error) {
    context.log.warn({ err: error }, 'could not attach the model’s reasoning');
  }
}
