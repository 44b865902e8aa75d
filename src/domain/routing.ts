/**
 * Which job an incoming message needs, decided the same way on every platform: an image
 * request goes to `image`, `/image <prompt>` on a picture and `/vary` to `picture`,
 * `/translate` to `translate`, a voice note or audio file to `transcribe`, anything else
 * the bot is addressed by to `chat`. Adapters normalize, call `routeInbound`, and enqueue
 * what it returns under the message's deterministic job id. Pure.
 */
import { commandPicture } from './command-files.js';
import { conversationKey, editJobId, jobIdFor, type InboundMessage } from './inbound-message.js';
import type { JobKind, JobPayload } from './jobs.js';

/** Routing switches from config. */
export interface RoutingOptions {
  /** TRANSCRIBE_ALL_VOICE: transcribe every voice note in groups, addressed or not. */
  readonly transcribeAllVoice: boolean;
}

/** A job to enqueue for a message. */
export type Route = { [K in JobKind]: { readonly kind: K; readonly payload: JobPayload<K>; readonly jobId: string } }[JobKind];

/**
 * Image generation is slow (tens of seconds): image and picture jobs run in their own
 * lane of the conversation, so a picture being drawn does not hold up the chat behind it.
 */
export function imageLane(conversation: string): string {
  return `${conversation}/image`;
}

/** The job a message needs, or undefined when the bot should not act on it. */
export function routeInbound(message: InboundMessage, options: RoutingOptions): Route | undefined {
  const conversation = conversationKey(message.chat);
  const jobId = jobIdFor(message.chat, message.messageId);
  const command = message.command;
  if (command?.name === 'image' || command?.name === 'vary' || command?.name === 'translate') {
    if (!message.addressed) return undefined;
    if (command.name === 'translate') return { kind: 'translate', payload: { conversation, message }, jobId };
    const lane = imageLane(conversation);
    // `/image` on a picture changes that picture; without one it draws from the prompt alone.
    if (command.name === 'vary' || commandPicture(message) !== undefined) {
      const mode = command.name === 'vary' ? 'vary' : 'edit';
      return { kind: 'picture', payload: { conversation: lane, message, mode, prompt: mode === 'edit' ? command.args : '' }, jobId };
    }
    return { kind: 'image', payload: { conversation: lane, message, prompt: command.args }, jobId };
  }
  const hasAudio = message.attachments.some((a) => a.kind === 'voice' || a.kind === 'audio');
  const voiceForAll = options.transcribeAllVoice && message.chat.kind === 'group' && message.attachments.some((a) => a.kind === 'voice');
  if (hasAudio && message.command === undefined && (message.addressed || voiceForAll)) {
    return { kind: 'transcribe', payload: { conversation, message }, jobId };
  }
  return message.addressed ? { kind: 'chat', payload: { conversation, message }, jobId } : undefined;
}

/** Moderation checks run in their own lane, so they never delay the chat. */
export function moderationLane(conversation: string): string {
  return `${conversation}/mod`;
}

/**
 * The `moderate` job for a message in a moderated channel (MODERATED_CHANNELS, or
 * `/moderation on`), addressed to the bot or not; undefined when there is nothing to
 * check. Its job id is the message's (job ids are unique per kind); for an edit, `edit` is
 * the platform's mark of it and the id is editJobId's, so each version is checked once.
 */
export function moderationRoute(message: InboundMessage, edit?: number | string): Route | undefined {
  if (message.chat.kind !== 'group' || message.author.isBot || message.text.trim() === '') return undefined;
  const conversation = moderationLane(conversationKey(message.chat));
  const jobId = jobIdFor(message.chat, message.messageId);
  return { kind: 'moderate', payload: { conversation, message }, jobId: edit === undefined ? jobId : editJobId(jobId, edit) };
}
