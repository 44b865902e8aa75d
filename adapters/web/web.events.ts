/**
 * The playground's event protocol. Gateway and workers meet on one pub/sub topic per
 * channel: the adapter publishes the user's messages there, the web Outbox (in any
 * worker process) publishes the bot's messages and typing, and every open event
 * stream of the channel forwards what it hears to its browser tab.
 */

/** A message as the browser renders it; upserted by `id`, so edits replace the text. */
export interface WebMessage {
  /** The client's id for user messages; `b-<random>` for the bot's. */
  readonly id: string;
  readonly role: 'user' | 'assistant';
  readonly author: string;
  readonly text: string;
  /** False while a reply is still streaming; history messages are always final. */
  readonly final: boolean;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The user message this reply answers, if known. */
  readonly replyTo?: string;
}

/** One event on a channel's topic (JSON). */
export type WebEvent = { readonly type: 'message'; readonly message: WebMessage } | { readonly type: 'typing' };

const TOPIC_PREFIX = 'web:channel:';

/** The pub/sub topic of a playground channel, shared by the adapter and the Outbox. */
export function webTopic(channel: string): string {
  return `${TOPIC_PREFIX}${channel}`;
}

/** Serializes an event for the topic. */
export function encodeWebEvent(event: WebEvent): string {
  return JSON.stringify(event);
}

/** Parses an event from the topic; undefined when it is not one (never throws). */
export function decodeWebEvent(raw: string): WebEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (value['type'] === 'typing') return { type: 'typing' };
  if (value['type'] !== 'message' || !isWebMessage(value['message'])) return undefined;
  return { type: 'message', message: value['message'] };
}

function isWebMessage(value: unknown): value is WebMessage {
  return (
    isRecord(value) &&
    typeof value['id'] === 'string' &&
    (value['role'] === 'user' || value['role'] === 'assistant') &&
    typeof value['author'] === 'string' &&
    typeof value['text'] === 'string' &&
    typeof value['final'] === 'boolean' &&
    typeof value['at'] === 'number' &&
    (value['replyTo'] === undefined || typeof value['replyTo'] === 'string')
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
