/**
 * `/persona`, `/model`, `/scope` and `/settings` (with `/settings reasoning`): anyone may
 * look; only people who may manage the channel may change (in a DM and the playground,
 * that is the user).
 */
import { MAX_PERSONA_CHARS, parseScope } from '../../domain/channel-settings.js';
import { errorCodeOf } from '../../domain/errors.js';
import type { ParsedCommand } from '../../domain/inbound-message.js';
import { channelAddressOf, moderationOf } from '../../domain/moderation.js';
import { parseReasoningEffort, REASONING_EFFORTS, reasoningSupport, type ReasoningEffort } from '../../domain/reasoning.js';
import { FAILURE_NOTICES, REPLIES } from '../../domain/replies.js';
import type { ChannelSettingsStore, JobContext } from '../../ports/index.js';
import type { CommandDeps, CommandInput } from './run-command.js';
import { permissionsOf } from './permissions.js';

/** The text that answers a settings command; changes the channel's settings when allowed. */
export async function settingsCommand(deps: CommandDeps, input: CommandInput, command: ParsedCommand, context: JobContext): Promise<string> {
  const { conversation, message, outbox } = input;
  const store = deps.channelSettings;
  if (!store) return REPLIES.unknownCommand(command.name);
  const current = await store.get(conversation);
  const args = command.args.trim();
  const defaultModel = deps.model.info.model;
  const may = async (): Promise<boolean> => message.chat.kind === 'dm' || (await permissionsOf(outbox, message)).manageChannel;

  switch (command.name) {
    case 'settings': {
      const model = current.model ?? defaultModel;
      const [field = '', ...value] = args.split(/\s+/);
      if (field.toLowerCase() === 'reasoning') return reasoningCommand(store, conversation, value.join(' '), { model, fallback: deps.reasoningEffort, may });
      if (args !== '') return REPLIES.reasoningUsage(REASONING_EFFORTS);
      // Read only for the overview it shows.
      const channel = channelAddressOf(message.chat);
      const moderation = deps.moderation && message.chat.kind === 'group'
        ? moderationOf(await deps.moderation.settings.get(channel), deps.moderation.configured.includes(channel)).on
        : undefined;
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
