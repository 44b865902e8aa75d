/**
 * The playground's Outbox: workers "send" to the browser by publishing on the
 * channel's pub/sub topic (see web.events.ts), so they need no HTTP connection to
 * the gateway and may run in any process that shares the Redis. Files go through the
 * UploadStore, also in Redis: the user's uploads are read from it, and images the bot
 * makes are put in it and served by the gateway at `/api/files/<id>`; an album is its
 * pictures as consecutive messages, the caption under the first.
 */
import { randomBytes } from 'node:crypto';
import { FileFetchError, FileTooLargeError, TRANSCRIPTION_MAX_BYTES, type FileContent } from '../../src/domain/media.js';
import type { OutgoingImage, Outbox, PubSub, ReplyTarget, SentMessage, UploadStore } from '../../src/ports/index.js';
import { encodeWebEvent, webTopic, type WebEvent, type WebMessage } from './web.events.js';
import { isServable } from './web.media.js';

/** Browsers render a long message fine; the limit keeps one event small. */
const MAX_MESSAGE_LENGTH = 4000;
/** Pub/sub is cheap, so streamed replies may update four times a second. */
const EDIT_INTERVAL_MS = 250;
/** Random bytes in a bot message id (`b-<hex>`). */
const MESSAGE_ID_BYTES = 9;
/** The playground takes uploads up to the transcription endpoint's limit (web.media.ts). */
const MAX_FILE_BYTES = TRANSCRIPTION_MAX_BYTES;
/** Captions are shown under the picture; a revised prompt can run long. */
const MAX_CAPTION_LENGTH = 1000;

/** What the web Outbox needs. */
export interface WebOutboxDeps {
  readonly pubsub: PubSub;
  /** Playground uploads, shared with the gateway through Redis. */
  readonly uploads: UploadStore;
  /** The author name shown on the bot's messages. */
  readonly botName: string;
  readonly now?: () => number;
}

/** Creates the Outbox of platform 'web'. */
export function createWebOutbox(deps: WebOutboxDeps): Outbox {
  const { botName, uploads } = deps;
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
  const newId = (): string => `b-${randomBytes(MESSAGE_ID_BYTES).toString('base64url')}`;

  return {
    platform: 'web',
    maxMessageLength: MAX_MESSAGE_LENGTH,
    editIntervalMs: EDIT_INTERVAL_MS,
    maxFileBytes: MAX_FILE_BYTES,
    async send(target, text, options): Promise<SentMessage> {
      const id = newId();
      await publish(target, { type: 'message', message: message(target, id, text, options.final) });
      return { id };
    },
    async edit(target, sent, text, options): Promise<void> {
      await publish(target, { type: 'message', message: message(target, sent.id, text, options.final) });
    },
    async deleteMessage(chat, messageId): Promise<void> {
      // Only the bot's own messages live as events; a user's message is not ours to take back.
      if (messageId.startsWith('b-')) await deps.pubsub.publish(webTopic(chat.id), encodeWebEvent({ type: 'delete', id: messageId }));
    },
    async showTyping(target, activity): Promise<void> {
      await publish(target, activity === undefined || activity === 'typing' ? { type: 'typing' } : { type: 'typing', activity });
    },

    async fetchFile(attachment, options): Promise<FileContent> {
      const limit = Math.min(options.maxBytes, MAX_FILE_BYTES);
      if (attachment.sizeBytes !== undefined && attachment.sizeBytes > limit) throw new FileTooLargeError(attachment.sizeBytes, limit);
      options.signal?.throwIfAborted();
      let file: FileContent | undefined;
      try {
        file = await uploads.get(attachment.fileRef);
      } catch (error) {
        throw new FileFetchError('could not read the playground upload from Redis', true, { cause: error });
      }
      // Uploads live an hour; a job that waited longer (or a made-up id) finds nothing.
      if (file === undefined) throw new FileFetchError('the playground upload has expired or never existed', false);
      if (file.bytes.byteLength > limit) throw new FileTooLargeError(file.bytes.byteLength, limit);
      return file;
    },

    async sendImage(target, image, caption): Promise<SentMessage> {
      return publishPicture(target, await store(image), caption);
    },

    async sendImages(target, images, caption): Promise<readonly SentMessage[]> {
      // Every picture is stored before any shows, so an album is never half there.
      const stored = await Promise.all(images.map(store));
      const sent: SentMessage[] = [];
      // The page shows an album as pictures one after another, the caption under the first.
      for (const [index, picture] of stored.entries()) sent.push(await publishPicture(target, picture, index === 0 ? caption : undefined));
      return sent;
    },
  };

  /** Keeps an image in the UploadStore, where `/api/files/<id>` serves it. */
  async function store(image: OutgoingImage): Promise<{ readonly image: OutgoingImage; readonly fileId: string }> {
    // /api/files serves only these; anything else would be a broken picture on the page.
    if (!isServable(image.mimeType)) throw new Error(`the playground cannot show images of type ${image.mimeType}`);
    return { image, fileId: await uploads.put({ bytes: image.bytes, mimeType: image.mimeType, fileName: image.fileName }) };
  }

  /** Shows a stored image as a bot message with `caption` as its text. */
  async function publishPicture(target: ReplyTarget, { image, fileId }: { image: OutgoingImage; fileId: string }, caption: string | undefined): Promise<SentMessage> {
    const id = newId();
    await publish(target, {
      type: 'image',
      message: {
        ...message(target, id, cutCaption(caption ?? ''), true),
        attachment: {
          kind: 'image',
          url: `/api/files/${fileId}`,
          mimeType: image.mimeType,
          sizeBytes: image.bytes.byteLength,
          fileName: image.fileName,
        },
      },
    });
    return { id };
  }
}

/** Cuts a caption to MAX_CAPTION_LENGTH characters (code points, never half a pair). */
function cutCaption(caption: string): string {
  const chars = [...caption];
  return chars.length <= MAX_CAPTION_LENGTH ? caption : `${chars.slice(0, MAX_CAPTION_LENGTH - 1).join('').trimEnd()}…`;
}
