/**
 * A client of the playground's HTTP API, as the page uses it: post messages, follow a
 * channel's event stream. Tests assert on what it received, which is what a user sees.
 */
import { randomUUID } from 'node:crypto';
import type { WebMessage } from '../../adapters/web/index.js';

export interface ChannelStream {
  /** Every message event received, in order (streaming edits included). */
  readonly events: WebMessage[];
  /** The latest version of each message, in order of first appearance. */
  messages(): WebMessage[];
  /** Resolves when some message satisfies `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: (messages: WebMessage[]) => boolean, timeoutMs?: number): Promise<WebMessage[]>;
  close(): void;
}

/** Opens `GET /api/channels/:channel/events` and resolves once the stream is open. */
export async function followChannel(baseUrl: string, channel: string): Promise<ChannelStream> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/api/channels/${channel}/events`, { signal: abort.signal });
  if (!response.ok || !response.body) throw new Error(`events stream refused: ${response.status}`);
  const events: WebMessage[] = [];
  const listeners = new Set<() => void>();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (type === 'message' && data) {
            events.push(JSON.parse(data) as WebMessage);
            for (const listener of listeners) listener();
          }
        }
      }
    } catch {
      // closed
    }
  })();

  const messages = (): WebMessage[] => {
    const latest = new Map<string, WebMessage>();
    for (const event of events) latest.set(event.id, event);
    return [...latest.values()];
  };
  return {
    events,
    messages,
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const current = messages();
          if (predicate(current)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(current);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out; messages so far: ${JSON.stringify(messages().map((m) => [m.role, m.text.slice(0, 80), m.final]))}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}

/** Posts a message as the page does; returns the HTTP status and body. */
export async function postMessage(
  baseUrl: string,
  channel: string,
  text: string,
  options: { id?: string; author?: string } = {},
): Promise<{ status: number; body: { jobId?: string; duplicate?: boolean; error?: { code: string; message: string } } }> {
  const response = await fetch(`${baseUrl}/api/channels/${channel}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: options.id ?? randomUUID(), text, author: options.author ?? 'Ann' }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** The final assistant messages, in order. */
export function finalAnswers(messages: WebMessage[]): string[] {
  return messages.filter((m) => m.role === 'assistant' && m.final).map((m) => m.text);
}
