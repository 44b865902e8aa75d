/**
 * The playground's Outbox: workers "send" to the browser by publishing on the
 * channel's pub/sub topic (see web.events.ts), so they need no HTTP connection to
 * the gateway and may run in any process that shares the Redis.
 */
import { randomBytes } from 'node:crypto';
import type { Outbox, PubSub, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { encodeWebEvent, webTopic, type WebEvent, type WebMessage } from './web.events.js';
import { FileFetchError } from '../../src/domain/media.js';

/** Browsers render a long message fine; the limit keeps one event small. */
const MAX_MESSAGE_LENGTH = 4000;
/** Pub/sub is cheap, so streamed replies may update four times a second. */
const EDIT_INTERVAL_MS = 250;
/** Random bytes in a bot message id (`b-<hex>`). */
const MESSAGE_ID_BYTES = 9;

/** What the web Outbox needs. */
export interface WebOutboxDeps {
  readonly pubsub: PubSub;
  /** The author name shown on the bot's messages. */
  readonly botName: string;
  readonly now?: () => number;
}

/** Creates the Outbox of platform 'web'. */
export function createWebOutbox(deps: WebOutboxDeps): Outbox {
  const { botName } = deps;
  const now = deps.now ?? Date.now;

  const publish = (target: ReplyTarget, event: WebEvent): Promise<void> =>
    deps.pubsub.publish(webTopic(target.chat.id), encodeWebEvent(event));

  const message = (target: ReplyTarget, id: string, text: string, final: boolean): WebMessage => ({
    id,
    role: 'assistant',
    author: botName,
    text,
    final,
    at: now(),
    ...(target.replyToMessageId === undefined ? {} : { replyTo: target.replyToMessageId }),
  });

  return {
    platform: 'web',
    maxMessageLength: MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,
    async send(target, text, options): Promise<SentMessage> {
      const id = `b-${randomBytes(MESSAGE_ID_BYTES).toString('base64url')}`;
      await publish(target, { type: 'message', message: message(target, id, text, options.final) });
      return { id };
    },
    async edit(target, sent, text, options): Promise<void> {
      await publish(target, { type: 'message', message: message(target, sent.id, text, options.final) });
    },
    async showTyping(target): Promise<void> {
      await publish(target, { type: 'typing' });
    },
    // Issue #5: replaced by the platform's file download and image upload.
    maxFileBytes: 0,
    async fetchFile() {
      throw new FileFetchError('files are not supported on this platform yet', false);
    },
    async sendImage() {
      throw new FileFetchError('images are not supported on this platform yet', false);
    },
  };
}
