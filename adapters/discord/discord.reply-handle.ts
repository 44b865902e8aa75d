/**
 * The Discord reply handle: what an InboundMessage from a slash command carries so the
 * Outbox can answer through the interaction's webhook (the deferred response and its
 * follow-ups) instead of a channel message. Opaque to everything but this adapter.
 * https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-callback
 */

/** An interaction to answer: its application and its 15-minute token. */
export interface DiscordReplyHandle {
  readonly applicationId: string;
  readonly interactionToken: string;
}

/** Encodes a handle for InboundMessage.replyHandle. */
export function encodeReplyHandle(handle: DiscordReplyHandle): string {
  return JSON.stringify({ applicationId: handle.applicationId, interactionToken: handle.interactionToken });
}

/** Decodes a handle; undefined for none or for anything that is not one of ours. */
export function parseReplyHandle(value: string | undefined): DiscordReplyHandle | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<DiscordReplyHandle>;
    if (typeof parsed.applicationId === 'string' && typeof parsed.interactionToken === 'string') {
      return { applicationId: parsed.applicationId, interactionToken: parsed.interactionToken };
    }
  } catch {
    // Not JSON: not a handle of ours.
  }
  return undefined;
}
