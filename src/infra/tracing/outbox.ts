/**
 * Every platform write as a span (issue #16): a reply sent, an edit of a streaming answer,
 * a draft, "typing…", a picture, a deletion. The span covers the call's rate-limit waits
 * (the shared limiter's spans nest under it) and its retries after a 429. Attributes: the
 * platform, the chat's id, whether the text is final and how long it is; never the text.
 * Wrapped only in a process that traces (src/app/workers.stage.ts).
 */
import type { Attributes } from '@opentelemetry/api';
import type { ChatRef } from '../../domain/inbound-message.js';
import type { Outbox } from '../../ports/index.js';
import { inSpan } from './spans.js';

/** The Outbox with a span around each platform call. */
export function tracedOutbox(outbox: Outbox): Outbox {
  const { platform } = outbox;
  const traced = <T>(verb: string, chat: ChatRef, call: () => Promise<T>, more?: Attributes): Promise<T> =>
    inSpan(`${platform} ${verb}`, { 'switchboard.platform': platform, 'switchboard.chat.id': chat.id, ...more }, call);
  const text = (value: string, final: boolean): Attributes => ({ 'switchboard.final': final, 'switchboard.text.length': value.length });

  const wrapped: { -readonly [K in keyof Outbox]?: Outbox[K] } = {
    send: (target, value, options) => traced('send', target.chat, () => outbox.send(target, value, options), text(value, options.final)),
    edit: (target, message, value, options) => traced('edit', target.chat, () => outbox.edit(target, message, value, options), text(value, options.final)),
    showTyping: (target, activity) => traced('typing', target.chat, () => outbox.showTyping(target, activity)),
    fetchFile: (attachment, options) => inSpan(`${platform} file`, { 'switchboard.platform': platform, 'switchboard.file.kind': attachment.kind }, () => outbox.fetchFile(attachment, options)),
    sendImage: (target, image, caption) => traced('image', target.chat, () => outbox.sendImage(target, image, caption), { 'switchboard.images': 1 }),
    sendImages: (target, images, caption) => traced('images', target.chat, () => outbox.sendImages(target, images, caption), { 'switchboard.images': images.length }),
  };
  const { deleteMessage, timeoutMember, permissionsOf, drafts } = outbox;
  if (deleteMessage) wrapped.deleteMessage = (chat, messageId) => traced('delete', chat, () => deleteMessage.call(outbox, chat, messageId));
  if (timeoutMember) wrapped.timeoutMember = (chat, userId, seconds) => traced('timeout', chat, () => timeoutMember.call(outbox, chat, userId, seconds));
  if (permissionsOf) wrapped.permissionsOf = (chat, userId) => traced('permissions', chat, () => permissionsOf.call(outbox, chat, userId));
  if (drafts) {
    wrapped.drafts = {
      available: (chat) => drafts.available(chat),
      show: (target, draftId, value) => traced('draft', target.chat, () => drafts.show(target, draftId, value), text(value, false)),
    };
  }
  return Object.assign(Object.create(outbox) as Outbox, wrapped);
}
