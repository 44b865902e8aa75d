/**
 * The playground's event protocol. Gateway and workers meet on one pub/sub topic per
 * channel: the adapter publishes the user's messages there, the web Outbox (in any
 * worker process) publishes the bot's messages, images and typing, and every open
 * event stream of the channel forwards what it hears to its browser tab.
 */
import type { ChatActivity } from '../../src/ports/index.js';

/** A file shown with a message: the user's voice note or photo, or an image the bot made. */
export interface WebAttachment {
  readonly kind: 'voice' | 'audio' | 'image';
  /**
   * Where the page loads it (`/api/files/<id>`); images only. Audio is not served back:
   * the tab that recorded or attached it plays its own copy.
   */
  readonly url?: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
  readonly fileName?: string;
}

/** A message as the browser renders it; upserted by `id`, so edits replace the text. */
export interface WebMessage {
  /** The client's id for user messages; `b-<random>` for the bot's. */
  readonly id: string;
  readonly role: 'user' | 'assistant';
  readonly author: string;
  /** May be empty when the message is only an attachment. */
  readonly text: string;
  /** False while a reply is still streaming; history messages are always final. */
  readonly final: boolean;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The user message this reply answers, if known. */
  readonly replyTo?: string;
  readonly attachment?: WebAttachment;
}

/** What the bot is busy with, as the page words it ("typing…", "listening…", "drawing…"). */
export type WebActivity = ChatActivity;

/**
 * One event on a channel's topic (JSON). `image` is a bot message with an image
 * attachment and the caption as its text; `typing` says what the bot is doing.
 */
export type WebEvent =
  | { readonly type: 'message'; readonly message: WebMessage }
  | { readonly type: 'image'; readonly message: WebMessage }
  | { readonly type: 'typing'; readonly activity?: WebActivity }
  /** A bot message taken back (a withheld answer's continuation, a retried job's stale notice). */
  | { readonly type: 'delete'; readonly id: string };

const TOPIC_PREFIX = 'web:channel:';
const ACTIVITIES: ReadonlySet<string> = new Set<WebActivity>(['typing', 'record_voice', 'upload_photo']);
const ATTACHMENT_KINDS: ReadonlySet<string> = new Set(['voice', 'audio', 'image']);

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
  if (value['type'] === 'typing') {
    const activity = value['activity'];
    if (typeof activity === 'string' && ACTIVITIES.has(activity)) return { type: 'typing', activity: activity as WebActivity };
    return { type: 'typing' };
  }
  if (value['type'] === 'delete') {
    return typeof value['id'] === 'string' && value['id'].startsWith('b-') ? { type: 'delete', id: value['id'] } : undefined;
  }
  if ((value['type'] !== 'message' && value['type'] !== 'image') || !isWebMessage(value['message'])) return undefined;
  return { type: value['type'], message: value['message'] };
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
    (value['replyTo'] === undefined || typeof value['replyTo'] === 'string') &&
    (value['attachment'] === undefined || isWebAttachment(value['attachment']))
  );
}

function isWebAttachment(value: unknown): value is WebAttachment {
  return (
    isRecord(value) &&
    typeof value['kind'] === 'string' &&
    ATTACHMENT_KINDS.has(value['kind']) &&
    typeof value['mimeType'] === 'string' &&
    typeof value['sizeBytes'] === 'number' &&
    (value['url'] === undefined || (typeof value['url'] === 'string' && value['url'].startsWith('/api/files/'))) &&
    (value['fileName'] === undefined || typeof value['fileName'] === 'string')
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
