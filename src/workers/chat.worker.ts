/**
 * The chat worker: one message in, one streamed answer out. Read top to bottom: the
 * commands, what to do with files the message carries (photos go to the model when it
 * can see them), then the answer (answer.ts: prompt from history, streamed completion,
 * history, failure notices).
 */
import type { ChatContentPart } from '../domain/chat.js';
import type { Attachment } from '../domain/inbound-message.js';
import type { ChatJob, ChatResult } from '../domain/jobs.js';
import { FileFetchError, FileTooLargeError, VISION_MAX_BYTES, VISION_MIME_TYPES } from '../domain/media.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { channelAddressOf } from '../domain/moderation.js';
import type { InboundMessage, MemberPermissions } from '../domain/inbound-message.js';
import { historyKeyOf, MAX_PERSONA_CHARS, parseScope } from '../domain/channel-settings.js';
import { errorCodeOf } from '../domain/errors.js';
import type { JobContext, JobHandler, ModelCatalog, ModerationSettings, Outbox, Outboxes, ReplyTarget } from '../ports/index.js';
import { answer, DeliveryError, replyTargetOf, say, type AnswerDeps } from './answer.js';

/** The most photos of one message the model is shown. */
const MAX_IMAGES = 4;

/** What the chat worker needs; each a port, so it runs the same in a test and in a worker. */
export interface ChatWorkerDeps extends AnswerDeps {
  readonly outboxes: Outboxes;
  /** Whether the model takes image inputs (CHAT_VISION). */
  readonly vision?: boolean;
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

    // 2. What the message carries besides text.
    const text = message.text.trim();
    const images = message.attachments.filter((a) => a.kind === 'image').slice(0, MAX_IMAGES);
    if (images.length === 0) {
      if (text === '') return say(outbox, target, message.attachments.length > 0 ? REPLIES.unsupportedFile : REPLIES.emptyMessage);
      return answer(deps, { conversation, message, text, outbox, target }, context);
    }
    if (!deps.vision) {
      if (text === '') return say(outbox, target, REPLIES.noVision);
      await say(outbox, target, REPLIES.noVision);
      return answer(deps, { conversation, message, text, outbox, target }, context);
    }
    if (images.some((image) => image.mimeType !== undefined && !VISION_MIME_TYPES.has(image.mimeType))) {
      return say(outbox, target, REPLIES.unsupportedImage);
    }

    // 3. Photos go to the model as data: URLs, so the provider never fetches from a platform.
    const parts: ChatContentPart[] = text === '' ? [] : [{ type: 'text', text }];
    for (const image of images) {
      const fetched = await fetchImage(image, deps, outbox, target, context);
      if ('reply' in fetched) return fetched.reply;
      parts.push({ type: 'image_url', image_url: { url: fetched.dataUrl } });
    }
    const photos = images.length === 1 ? '[photo]' : `[${images.length} photos]`;
    return answer(deps, { conversation, message, text: text === '' ? photos : `${text} ${photos}`, content: parts, outbox, target }, context);
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
      return REPLIES.settings({
        persona: current.persona,
        model: current.model ?? defaultModel,
        modelIsDefault: current.model === undefined,
        scope: current.scope ?? 'channel',
        ...(moderation === undefined ? {} : { moderation }),
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

/** Downloads one photo as a data: URL, or the reply that explains why it cannot be read. */
async function fetchImage(
  image: Attachment,
  deps: ChatWorkerDeps,
  outbox: Outbox,
  target: ReplyTarget,
  context: JobContext,
): Promise<{ dataUrl: string } | { reply: ChatResult }> {
  const maxBytes = Math.min(VISION_MAX_BYTES, outbox.maxFileBytes);
  if (image.sizeBytes !== undefined && image.sizeBytes > maxBytes) {
    return { reply: await say(outbox, target, REPLIES.fileTooLarge('image', image.sizeBytes, maxBytes)) };
  }
  try {
    const file = await outbox.fetchFile(image, { maxBytes, signal: context.signal });
    const type = image.mimeType ?? file.mimeType ?? 'image/jpeg';
    if (!VISION_MIME_TYPES.has(type)) return { reply: await say(outbox, target, REPLIES.unsupportedImage) };
    return { dataUrl: `data:${type};base64,${Buffer.from(file.bytes).toString('base64')}` };
  } catch (error) {
    if (error instanceof DeliveryError || context.signal.aborted) throw error;
    if (error instanceof FileTooLargeError) return { reply: await say(outbox, target, REPLIES.fileTooLarge('image', error.sizeBytes, maxBytes)) };
    const retry = error instanceof FileFetchError ? error.retryable : true;
    context.log.warn({ err: error, willRetry: retry && context.attempt < context.maxAttempts }, 'could not download a photo');
    if (retry && context.attempt < context.maxAttempts) throw error;
    return { reply: await say(outbox, target, error instanceof FileFetchError ? REPLIES.fileUnavailable('image') : FAILURE_NOTICES.internal, 'failed') };
  }
}
