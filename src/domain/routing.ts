/**
 * Which job an incoming message needs, decided the same way on every platform: an image
 * request goes to `image`, a voice note or audio file to `transcribe`, anything else the
 * bot is addressed by to `chat`. Adapters normalize, call `routeInbound`, and enqueue
 * what it returns under the message's deterministic job id. Pure.
 */
import { conversationKey, jobIdFor, type InboundMessage } from './inbound-message.js';
import type { JobKind, JobPayload } from './jobs.js';

/** Routing switches from config. */
export interface RoutingOptions {
  /** TRANSCRIBE_ALL_VOICE: transcribe every voice note in groups, addressed or not. */
  readonly transcribeAllVoice: boolean;
}

/** A job to enqueue for a message. */
export type Route = { [K in JobKind]: { readonly kind: K; readonly payload: JobPayload<K>; readonly jobId: string } }[JobKind];

/**
 * Image generation is slow (tens of seconds): image jobs run in their own lane of the
 * conversation, so a picture being drawn does not hold up the chat behind it.
 */
export function imageLane(conversation: string): string {
  return `${conversation}/image`;
}

/** The job a message needs, or undefined when the bot should not act on it. */
export function routeInbound(message: InboundMessage, options: RoutingOptions): Route | undefined {
  const conversation = conversationKey(message.chat);
  const jobId = jobIdFor(message.chat, message.messageId);
  if (message.command?.name === 'image') {
    return message.addressed
      ? { kind: 'image', payload: { conversation: imageLane(conversation), message, prompt: message.command.args }, jobId }
      : undefined;
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
 * check. Its job id is the message's: job ids are unique per kind.
 */
export function moderationRoute(message: InboundMessage): Route | undefined {
  if (message.chat.kind !== 'group' || message.author.isBot || message.text.trim() === '') return undefined;
  const conversation = moderationLane(conversationKey(message.chat));
  return { kind: 'moderate', payload: { conversation, message }, jobId: jobIdFor(message.chat, message.messageId) };
}
