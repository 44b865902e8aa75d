/**
 * The file a media command works on (issue #14): `/translate` on a voice note or audio
 * file, `/image <prompt>` and `/vary` on a picture. The message's own file comes first (a
 * command in a caption, a slash command's attachment option, the message a context-menu
 * command was used on), else the file of the message it replies to. Pure.
 */
import type { Attachment, InboundMessage } from './inbound-message.js';

/** The voice note or audio file a command is about, if any. */
export function commandAudio(message: Pick<InboundMessage, 'attachments' | 'replyTo'>): Attachment | undefined {
  return firstOf(message, (a) => a.kind === 'voice' || a.kind === 'audio');
}

/** The picture a command is about, if any. */
export function commandPicture(message: Pick<InboundMessage, 'attachments' | 'replyTo'>): Attachment | undefined {
  return firstOf(message, (a) => a.kind === 'image');
}

function firstOf(message: Pick<InboundMessage, 'attachments' | 'replyTo'>, wanted: (a: Attachment) => boolean): Attachment | undefined {
  return message.attachments.find(wanted) ?? message.replyTo?.attachments?.find(wanted);
}
