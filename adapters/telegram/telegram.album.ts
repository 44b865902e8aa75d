/**
 * Several images as one album: sendMediaGroup with 2-10 photos, each an upload of its own
 * that the `media` array names as `attach://<name>`, the caption on the first (Telegram
 * shows it under the album), the whole album a reply to the user's message.
 * https://core.telegram.org/bots/api#sendmediagroup
 * https://core.telegram.org/bots/api#inputmediaphoto
 */
import type { OutgoingImage, ReplyTarget, SentMessage } from '../../src/ports/index.js';
import { uploadFile, type TelegramParams, type TelegramResult } from './telegram.api.js';

/** An album holds 2-10 items. */
const MIN_ALBUM = 2;
const MAX_ALBUM = 10;
/** sendMediaGroup's photos follow sendPhoto's rule: at most 10 MB each. */
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;

/** What sending an album needs from the Outbox: its rate-limited call, and its single upload. */
export interface AlbumSender {
  /** sendMediaGroup, under the chat's limits; undefined if it returned nothing. */
  call(params: TelegramParams<'sendMediaGroup'>): Promise<TelegramResult<'sendMediaGroup'> | undefined>;
  /** Counts `messages` more messages against the limits (an album is as many messages as photos). */
  countExtra(messages: number): Promise<void>;
  /** One image on its own (sendPhoto, or sendDocument when it is over the photo limit). */
  sendOne(target: ReplyTarget, image: OutgoingImage, caption?: string): Promise<SentMessage>;
}

/**
 * Sends `images` as one album replying to `target`, `caption` (already within Telegram's
 * 1024 characters) under it; what cannot be an album goes one by one, the caption on the first.
 */
export async function sendAlbum(sender: AlbumSender, target: ReplyTarget, images: readonly OutgoingImage[], caption?: string): Promise<readonly SentMessage[]> {
  if (images.length < MIN_ALBUM || images.length > MAX_ALBUM || images.some((image) => image.bytes.byteLength > PHOTO_MAX_BYTES)) {
    const sent: SentMessage[] = [];
    for (const [index, image] of images.entries()) {
      // Only the first is a reply; the rest follow it.
      sent.push(await sender.sendOne(index === 0 ? target : { chat: target.chat }, image, index === 0 ? caption : undefined));
    }
    return sent;
  }
  const text = caption?.trim() ?? '';
  // Plain text, like sendPhoto's caption: a revised prompt is not Markdown.
  const media = images.map((image, index) => ({ type: 'photo' as const, media: uploadFile(image.bytes, image.fileName), ...(index === 0 && text !== '' ? { caption: text } : {}) }));
  const params = {
    chat_id: target.chat.id,
    media,
    ...(target.chat.threadId === undefined ? {} : { message_thread_id: Number(target.chat.threadId) }),
    // A multipart call: object params go as JSON text (see uploadFile).
    ...(target.replyToMessageId === undefined ? {} : { reply_parameters: JSON.stringify({ message_id: Number(target.replyToMessageId), allow_sending_without_reply: true }) }),
  };
  await sender.countExtra(images.length - 1);
  const sent = await sender.call(params);
  if (sent === undefined || sent.length === 0) throw new Error('sendMediaGroup returned no messages');
  return sent.map((message) => ({ id: String(message.message_id) }));
}
