/**
 * The chat worker: one message in, one streamed answer out. Read top to bottom: the
 * commands, what the message points at (its photos and text files, the message it replies
 * to: question-context.ts), then the answer (answer.ts: prompt from history, streamed
 * completion, history, failure notices).
 */
import type { HistoryEntry } from '../domain/chat.js';
import type { ChatJob, ChatResult } from '../domain/jobs.js';
import { parseReasoningEffort, REASONING_EFFORTS, reasoningSupport, type ReasoningEffort } from '../domain/reasoning.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { channelAddressOf } from '../domain/moderation.js';
import type { InboundMessage, MemberPermissions } from '../domain/inbound-message.js';
import { historyKeyOf, MAX_PERSONA_CHARS, parseScope } from '../domain/channel-settings.js';
import { errorCodeOf } from '../domain/errors.js';
import type { ChannelSettingsStore, JobContext, JobHandler, ModelCatalog, ModerationSettings, Outbox, Outboxes, ReplyTarget } from '../ports/index.js';
import { answer, replyTargetOf, say, type AnswerDeps } from './answer.js';
import { gatherQuestion, type QuestionDeps } from './question-context.js';

/** What the chat worker needs; each a port, so it runs the same in a test and in a worker. */
export interface ChatWorkerDeps extends AnswerDeps, QuestionDeps {
  readonly outboxes: Outboxes;
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

/** Creates the `chat` job handler. */
export function createChatWorker(deps: ChatWorkerDeps): JobHandler<'chat'> {
  return async function handleChat({ conversation, message }: ChatJob, context: JobContext): Promise<ChatResult> {
    const outbox = deps.outboxes[message.chat.platform];
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; message dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);

    // 1. Commands.
    const command = message.command;
    if (command) {
      switch (command.name) {
        case 'reset': {
          const scope = (await deps.channelSettings?.get(conversation))?.scope;
          await deps.history.clear(historyKeyOf(conversation, scope, message.author.id));
          return say(outbox, target, REPLIES.historyCleared);
        }
        case 'redo':
          return redo(deps, { conversation, message, outbox, target }, context);
        case 'persona':
        case 'model':
        case 'scope':
        case 'settings':
          return say(outbox, target, await settingsCommand(deps, outbox, message, conversation, command, context));
        case 'start':
        case 'help':
          return say(outbox, target, REPLIES.help(deps.botName));
        case 'image':
          // Image requests are `image` jobs; this one only lacks its prompt.
          return say(outbox, target, REPLIES.imageUsage);
        case 'moderation':
          return say(outbox, target, await moderationCommand(deps, outbox, message, command.args));
        default:
          return say(outbox, target, REPLIES.unknownCommand(command.name));
      }
    }

    // 2. What the message points at: its photos (for a model that sees them) and text files,
    //    and the message it replies to (question-context.ts); then the answer (answer.ts).
    const gathered = await gatherQuestion(deps, { conversation, message, outbox, target, said: message.text.trim() }, context);
    if ('reply' in gathered) return gathered.reply;
    return answer(deps, gathered.question, context);
  };
}

/**
 * `/persona`, `/model`, `/scope` and `/settings`: anyone may look; only people who may
 * manage the channel may change (in a DM and the playground, that is the user).
 */
async function settingsCommand(
  deps: ChatWorkerDeps,
  outbox: Outbox,
  message: InboundMessage,
  conversation: string,
  command: { readonly name: string; readonly args: string },
  context: JobContext,
): Promise<string> {
  const store = deps.channelSettings;
  if (!store) return REPLIES.unknownCommand(command.name);
  const current = await store.get(conversation);
  const args = command.args.trim();
  const defaultModel = deps.model.info.model;
  const may = async (): Promise<boolean> => message.chat.kind === 'dm' || (await permissionsOf(outbox, message)).manageChannel;

  switch (command.name) {
    case 'settings': {
      const channel = channelAddressOf(message.chat);
      const moderation = deps.moderation && message.chat.kind === 'group'
        ? ((await deps.moderation.settings.get(channel)) ?? (deps.moderation.configured.includes(channel) ? 'on' : 'off')) === 'on'
        : undefined;
      const model = current.model ?? defaultModel;
      const [field = '', ...value] = args.split(/\s+/);
      if (field.toLowerCase() === 'reasoning') return reasoningCommand(store, conversation, value.join(' '), { model, fallback: deps.reasoningEffort, may });
      if (args !== '') return REPLIES.reasoningUsage(REASONING_EFFORTS);
      const effort = current.reasoning ?? deps.reasoningEffort;
      return REPLIES.settings({
        persona: current.persona,
        model,
        modelIsDefault: current.model === undefined,
        scope: current.scope ?? 'channel',
        ...(moderation === undefined ? {} : { moderation }),
        reasoning: { effort, isDefault: current.reasoning === undefined, takes: reasoningSupport(model) !== 'no' },
      });
    }
    case 'persona': {
      const [verb = '', ...rest] = args.split(/\s+/);
      const text = args.slice(verb.length).trim();
      if (verb === '') return REPLIES.personaShow(current.persona);
      if (verb.toLowerCase() === 'reset' && rest.length === 0) {
        if (!(await may())) return REPLIES.settingsNotAllowed;
        await store.update(conversation, { persona: null });
        return REPLIES.personaReset;
      }
      if (verb.toLowerCase() !== 'set' || text === '') return REPLIES.personaUsage;
      if (!(await may())) return REPLIES.settingsNotAllowed;
      if (text.length > MAX_PERSONA_CHARS) return REPLIES.personaTooLong(MAX_PERSONA_CHARS);
      await store.update(conversation, { persona: text });
      return REPLIES.personaSet;
    }
    case 'model': {
      if (args === '') return REPLIES.modelShow(current.model ?? defaultModel, current.model === undefined);
      if (!(await may())) return REPLIES.settingsNotAllowed;
      if (args.toLowerCase() === 'default' || args.toLowerCase() === 'reset') {
        await store.update(conversation, { model: null });
        return REPLIES.modelDefault(defaultModel);
      }
      let available: readonly string[] = [];
      try {
        available = (await deps.models?.list(context.signal)) ?? [defaultModel];
      } catch (error) {
        context.log.warn({ err: error }, 'could not list the models');
        return FAILURE_NOTICES[errorCodeOf(error)];
      }
      if (!available.includes(args)) return REPLIES.modelUnknown(args, available);
      await store.update(conversation, { model: args });
      return REPLIES.modelSet(args);
    }
    default: {
      const scope = parseScope(args);
      if (scope === undefined) return REPLIES.scopeUsage;
      if (!(await may())) return REPLIES.settingsNotAllowed;
      await store.update(conversation, { scope });
      return REPLIES.scopeSet(scope);
    }
  }
}

/**
 * `/settings reasoning <effort>` (or `default`): how hard reasoning models think in this
 * channel (`reasoning_effort`); only people who may manage the channel change it.
 */
async function reasoningCommand(
  store: ChannelSettingsStore,
  conversation: string,
  args: string,
  s: { readonly model: string; readonly fallback: ReasoningEffort | undefined; readonly may: () => Promise<boolean> },
): Promise<string> {
  const word = args.trim().toLowerCase();
  if (word === 'default' || word === 'reset') {
    if (!(await s.may())) return REPLIES.settingsNotAllowed;
    await store.update(conversation, { reasoning: null });
    return REPLIES.reasoningDefault(s.fallback);
  }
  const effort = parseReasoningEffort(word);
  if (effort === undefined) return REPLIES.reasoningUsage(REASONING_EFFORTS);
  if (!(await s.may())) return REPLIES.settingsNotAllowed;
  await store.update(conversation, { reasoning: effort });
  return REPLIES.reasoningSet(effort, reasoningSupport(s.model) !== 'no');
}

/**
 * `/redo`: the last exchange of the conversation answered again. The user's turn is asked
 * as history has it (text only: a photo is its caption and "[photo]"), and the new answer
 * takes the old one's place in history.
 */
async function redo(deps: ChatWorkerDeps, s: { conversation: string; message: InboundMessage; outbox: Outbox; target: ReplyTarget }, context: JobContext): Promise<ChatResult> {
  const scope = (await deps.channelSettings?.get(s.conversation))?.scope;
  const history = await deps.history.read(historyKeyOf(s.conversation, scope, s.message.author.id));
  const last = lastExchange(history);
  if (last === undefined) return say(s.outbox, s.target, REPLIES.redoNothing);
  return answer(deps, { ...s, text: last.asked.text, redo: last }, context);
}

/** The last user turn and how many entries from it to the end (its answer), if history has one. */
function lastExchange(history: readonly HistoryEntry[]): { readonly entries: number; readonly asked: HistoryEntry } | undefined {
  for (let i = history.length - 1; i >= 0; i -= 1) {
    const entry = history[i];
    if (entry?.role === 'user') return { entries: history.length - i, asked: entry };
  }
  return undefined;
}

/** `/moderation on|off|status`: status for anyone; switching only for people who may manage messages. */
async function moderationCommand(deps: ChatWorkerDeps, outbox: Outbox, message: InboundMessage, args: string): Promise<string> {
  const moderation = deps.moderation;
  if (!moderation) return REPLIES.unknownCommand('moderation');
  if (message.chat.kind === 'dm') return REPLIES.moderationNotInDm;
  const channel = channelAddressOf(message.chat);
  const verb = args.trim().toLowerCase();
  if (verb === 'status' || verb === '') {
    const state = await moderation.settings.get(channel);
    const on = state === undefined ? moderation.configured.includes(channel) : state === 'on';
    return REPLIES.moderationStatus(on, state === undefined ? 'config' : 'channel', moderation.action);
  }
  if (verb !== 'on' && verb !== 'off') return REPLIES.moderationUsage;
  const allowed = (await permissionsOf(outbox, message)).manageMessages;
  if (!allowed) return REPLIES.moderationNotAllowed;
  await moderation.settings.set(channel, verb);
  return REPLIES.moderationSwitched(verb === 'on');
}

/** What the author may do in the message's chat: known at intake, else asked of the platform; nothing when neither knows. */
export async function permissionsOf(outbox: Outbox, message: InboundMessage): Promise<MemberPermissions> {
  return message.author.permissions ?? (await outbox.permissionsOf?.(message.chat, message.author.id)) ?? NO_PERMISSIONS;
}
const NO_PERMISSIONS: MemberPermissions = { manageMessages: false, manageChannel: false };
