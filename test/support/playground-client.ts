/**
 * A client of the playground's HTTP API, as the page uses it: upload files, post
 * messages, follow a channel's event stream. Tests assert on what it received, which is
 * what a user sees.
 */
import { randomUUID } from 'node:crypto';
import type { WebMessage } from '../../adapters/web/index.js';

export interface ChannelStream {
  /** Every message and image event received, in order (streaming edits included). */
  readonly events: WebMessage[];
  /** The activity of every typing event, in order (`typing` when none was given). */
  readonly activities: string[];
  /** The latest version of each message, in order of first appearance. */
  messages(): WebMessage[];
  /** Resolves when some message satisfies `predicate`, or rejects after `timeoutMs`. */
  waitFor(predicate: (messages: WebMessage[]) => boolean, timeoutMs?: number): Promise<WebMessage[]>;
  close(): void;
}

/** `Authorization: Bearer <token>`, or nothing for the open playground. */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Opens `GET /api/channels/:channel/events` (with PLAYGROUND_TOKEN if `token`) and resolves once the stream is open. */
export async function followChannel(baseUrl: string, channel: string, token?: string): Promise<ChannelStream> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/api/channels/${channel}/events`, { signal: abort.signal, headers: bearer(token) });
  if (!response.ok || !response.body) throw new Error(`events stream refused: ${response.status}`);
  const events: WebMessage[] = [];
  const activities: string[] = [];
  const listeners = new Set<() => void>();
  const deleted = new Set<string>();
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
          if ((type === 'message' || type === 'image') && data) {
            events.push(JSON.parse(data) as WebMessage);
            for (const listener of listeners) listener();
          } else if (type === 'delete' && data) {
            deleted.add((JSON.parse(data) as { id: string }).id);
            for (const listener of listeners) listener();
          } else if (type === 'typing') {
            activities.push((JSON.parse(data || '{}') as { activity?: string }).activity ?? 'typing');
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
    return [...latest.values()].filter((message) => !deleted.has(message.id));
  };
  return {
    events,
    activities,
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

/** The playground API's error body. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
}

/** Posts a message as the page does (with an uploaded file if `attachment`); returns the HTTP status and body. */
export async function postMessage(
  baseUrl: string,
  channel: string,
  text: string,
  options: { id?: string; author?: string; attachment?: { id: string; kind?: string }; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: { jobId?: string; duplicate?: boolean; error?: ApiError } }> {
  const response = await fetch(`${baseUrl}/api/channels/${channel}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({
      id: options.id ?? randomUUID(),
      text,
      author: options.author ?? 'Ann',
      ...(options.attachment === undefined ? {} : { attachment: options.attachment }),
    }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** What `POST /api/uploads` answers. */
export interface UploadResult {
  readonly status: number;
  readonly body: { id?: string; kind?: string; mimeType?: string; sizeBytes?: number; fileName?: string; error?: ApiError };
}

/** Uploads a file as the page does: the raw bytes, its type, its name in the query (`voice` for a recording). */
export async function uploadFile(
  baseUrl: string,
  file: { bytes: Uint8Array; type: string; name: string; voice?: boolean },
): Promise<UploadResult> {
  const query = new URLSearchParams({ name: file.name, ...(file.voice ? { voice: '1' } : {}) });
  const response = await fetch(`${baseUrl}/api/uploads?${query}`, {
    method: 'POST',
    headers: { 'content-type': file.type },
    body: new Uint8Array(file.bytes),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** Uploads a file, then posts it as a message (with `text`); returns the message's id. */
export async function sendFile(
  baseUrl: string,
  channel: string,
  file: { bytes: Uint8Array; type: string; name: string; voice?: boolean },
  text = '',
): Promise<string> {
  const uploaded = await uploadFile(baseUrl, file);
  if (uploaded.status !== 201 || uploaded.body.id === undefined) throw new Error(`upload refused: ${JSON.stringify(uploaded)}`);
  const id = randomUUID();
  const posted = await postMessage(baseUrl, channel, text, { id, attachment: { id: uploaded.body.id, kind: uploaded.body.kind } });
  if (posted.status !== 202) throw new Error(`message refused: ${JSON.stringify(posted)}`);
  return id;
}

/** The final assistant messages, in order. */
export function finalAnswers(messages: WebMessage[]): string[] {
  return messages.filter((m) => m.role === 'assistant' && m.final).map((m) => m.text);
}
