/** Who may change a channel's settings or its moderation: the platform's own permissions. */
import type { InboundMessage, MemberPermissions } from '../../domain/inbound-message.js';
import type { Outbox } from '../../ports/index.js';

const NO_PERMISSIONS: MemberPermissions = { manageMessages: false, manageChannel: false };

/** What the author may do in the message's chat: known at intake, else asked of the platform; nothing when neither knows. */
export async function permissionsOf(outbox: Outbox, message: InboundMessage): Promise<MemberPermissions> {
  return message.author.permissions ?? (await outbox.permissionsOf?.(message.chat, message.author.id)) ?? NO_PERMISSIONS;
}
