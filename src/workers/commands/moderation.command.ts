/** `/moderation on|off|status`: status for anyone; switching only for people who may manage messages. */
import { channelAddressOf, moderationOf } from '../../domain/moderation.js';
import { REPLIES } from '../../domain/replies.js';
import type { CommandDeps, CommandInput } from './run-command.js';
import { permissionsOf } from './permissions.js';

/** The text that answers `/moderation <args>`; switches the channel's moderation when allowed. */
export async function moderationCommand(deps: Pick<CommandDeps, 'moderation'>, input: Pick<CommandInput, 'message' | 'outbox'>, args: string): Promise<string> {
  const { message, outbox } = input;
  const moderation = deps.moderation;
  if (!moderation) return REPLIES.unknownCommand('moderation');
  if (message.chat.kind === 'dm') return REPLIES.moderationNotInDm;
  const channel = channelAddressOf(message.chat);
  const verb = args.trim().toLowerCase();
  if (verb === 'status' || verb === '') {
    const { on, source } = moderationOf(await moderation.settings.get(channel), moderation.configured.includes(channel));
    return REPLIES.moderationStatus(on, source, moderation.action);
  }
  if (verb !== 'on' && verb !== 'off') return REPLIES.moderationUsage;
  const allowed = (await permissionsOf(outbox, message)).manageMessages;
  if (!allowed) return REPLIES.moderationNotAllowed;
  await moderation.settings.set(channel, verb);
  return REPLIES.moderationSwitched(verb === 'on');
}
