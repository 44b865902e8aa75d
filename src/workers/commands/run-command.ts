/**
 * A command, answered in one message: the dispatch by name, and the commands small enough
 * to say here (`/reset`, `/help`, `/image` without a prompt). The others have a file each.
 */
import { historyKeyOf } from '../../domain/channel-settings.js';
import type { InboundMessage, ParsedCommand } from '../../domain/inbound-message.js';
import type { ChatResult } from '../../domain/jobs.js';
import { REPLIES } from '../../domain/replies.js';
import type { JobContext, ModelCatalog, ModerationSettings, Outbox, ReplyTarget } from '../../ports/index.js';
import { say, type AnswerDeps } from '../answer.js';
import { moderationCommand } from './moderation.command.js';
import { redo } from './redo.command.js';
import { settingsCommand } from './settings.command.js';

/** What the commands need; each a port. `/redo` answers again, so it needs what answering needs. */
export interface CommandDeps extends AnswerDeps {
  /** The AI endpoint's models, for `/model <id>`. */
  readonly models?: ModelCatalog;
  /** Community moderation's switches, for `/moderation on|off|status`. */
  readonly moderation?: {
    readonly settings: ModerationSettings;
    /** MODERATED_CHANNELS, as `platform:id`. */
    readonly configured: readonly string[];
    readonly action: string;
  };
}

/** The command's message, where it came from and where its answer goes. */
export interface CommandInput {
  readonly conversation: string;
  readonly message: InboundMessage;
  readonly outbox: Outbox;
  readonly target: ReplyTarget;
}

/** Runs `command` and answers it in the chat. */
export async function runCommand(deps: CommandDeps, command: ParsedCommand, input: CommandInput, context: JobContext): Promise<ChatResult> {
  const { conversation, message, outbox, target } = input;
  switch (command.name) {
    case 'reset': {
      const scope = (await deps.channelSettings?.get(conversation))?.scope;
      await deps.history.clear(historyKeyOf(conversation, scope, message.author.id));
      return say(outbox, target, REPLIES.historyCleared);
    }
    case 'redo':
      return redo(deps, input, context);
    case 'persona':
    case 'model':
    case 'scope':
    case 'settings':
      return say(outbox, target, await settingsCommand(deps, input, command, context));
    case 'start':
    case 'help':
      return say(outbox, target, REPLIES.help(deps.botName));
    case 'image':
      // Image requests are `image` jobs; this one only lacks its prompt.
      return say(outbox, target, REPLIES.imageUsage);
    case 'moderation':
      return say(outbox, target, await moderationCommand(deps, input, command.args));
    default:
      return say(outbox, target, REPLIES.unknownCommand(command.name));
  }
}
