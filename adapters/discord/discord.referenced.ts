/**
 * The message a Discord reply points at (issue #18). Discord sends it whole with the
 * reply's MESSAGE_CREATE (`referenced_message`), whether or not the bot saw it when it was
 * posted. discord.js would put it in its message cache, which we keep at zero (memory stays
 * flat however many people write), so it is taken from the raw dispatch, which discord.js
 * emits just before it builds the Message, and kept until that Message is read.
 * https://discord.com/developers/docs/resources/message#message-object (referenced_message)
 * https://discord.com/developers/docs/resources/message#message-reference-types
 */
import { MessageFlags, type GatewayDispatchPayload } from 'discord.js';
import type { RepliedTo } from '../../src/domain/inbound-message.js';
import { attachmentOf } from './discord.inbound.js';

/**
 * Referenced messages waiting for their reply's Message. discord.js builds it right after
 * the raw dispatch, or (for a shard still starting) after its guilds have arrived: a
 * short list covers that, and bounds what a dispatch discord.js drops leaves behind.
 */
const MAX_WAITING = 256;
/** message_reference type 0: a reply (1 is a forward, whose content comes as snapshots). */
const REPLY_REFERENCE = 0;

/** A referenced message as Discord sends it (the fields read here). */
interface RawMessage {
  readonly id?: unknown;
  readonly content?: unknown;
  readonly flags?: unknown;
  readonly author?: { readonly id?: unknown; readonly username?: unknown; readonly global_name?: unknown };
  readonly attachments?: ReadonlyArray<{ readonly url?: unknown; readonly filename?: unknown; readonly content_type?: unknown; readonly size?: unknown; readonly duration_secs?: unknown }>;
  readonly mentions?: ReadonlyArray<{ readonly id?: unknown; readonly username?: unknown; readonly global_name?: unknown }>;
}

/** Keeps the referenced message of each reply from its raw dispatch until `take`. */
export interface ReferencedMessages {
  /** Called with every raw gateway dispatch (discord.js's `raw` event). */
  note(packet: GatewayDispatchPayload | { readonly t?: unknown; readonly d?: unknown }): void;
  /** The referenced message of the reply `messageId`, as its RepliedTo, once; undefined when there is none. */
  take(messageId: string, botId: string): Omit<RepliedTo, 'authorIsBot' | 'messageId'> | undefined;
}

/** Creates the store of one gateway. */
export function createReferencedMessages(): ReferencedMessages {
  const waiting = new Map<string, RawMessage>();
  return {
    note(packet) {
      if (packet.t !== 'MESSAGE_CREATE') return;
      const data = packet.d as { id?: unknown; referenced_message?: unknown; message_reference?: { type?: unknown } } | undefined;
      const referenced = data?.referenced_message;
      if (typeof data?.id !== 'string' || typeof referenced !== 'object' || referenced === null) return;
      if ((data.message_reference?.type ?? REPLY_REFERENCE) !== REPLY_REFERENCE) return;
      if (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value ?? '');
      waiting.set(data.id, referenced as RawMessage);
    },
    take(messageId, botId) {
      const raw = waiting.get(messageId);
      if (raw === undefined) return undefined;
      waiting.delete(messageId);
      return repliedToOf(raw, botId);
    },
  };
}

/** What a chat answer reads of the referenced message: its author, its text (mentions as names) and its files. */
function repliedToOf(raw: RawMessage, botId: string): Omit<RepliedTo, 'authorIsBot' | 'messageId'> | undefined {
  if (typeof raw.id !== 'string') return undefined;
  const author = typeof raw.author === 'object' && raw.author !== null ? raw.author : undefined;
  const name = firstText(author?.global_name, author?.username);
  const voice = typeof raw.flags === 'number' && (raw.flags & MessageFlags.IsVoiceMessage) !== 0;
  const attachments = objectsOf(raw.attachments)
    .filter((a) => typeof a.url === 'string')
    .map((a) =>
      attachmentOf(
        {
          url: a.url as string,
          name: typeof a.filename === 'string' ? a.filename : '',
          contentType: typeof a.content_type === 'string' ? a.content_type : null,
          size: typeof a.size === 'number' ? a.size : Number.NaN,
          duration: typeof a.duration_secs === 'number' ? a.duration_secs : null,
        },
        voice,
      ),
    );
  const text = typeof raw.content === 'string' ? namedMentions(raw.content, objectsOf(raw.mentions), botId) : '';
  return {
    ...(name === undefined ? {} : { authorName: name }),
    ...(text === '' ? {} : { text }),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

/** `<@123>` as `@name` for the users the message mentions (the bot's own mention dropped): the model reads names, not ids. */
function namedMentions(content: string, mentions: NonNullable<RawMessage['mentions']>, botId: string): string {
  const names = new Map<string, string>();
  for (const user of mentions) {
    const name = firstText(user.global_name, user.username);
    if (typeof user.id === 'string' && name !== undefined) names.set(user.id, name);
  }
  return content
    .replace(/<@!?(\d{1,20})>/g, (mention, id: string) => (id === botId ? '' : names.has(id) ? `@${names.get(id)}` : mention))
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

/** The objects of what should be an array of objects; anything else Discord would not send is left out. */
function objectsOf<T extends object>(value: readonly T[] | undefined): T[] {
  return Array.isArray(value) ? value.filter((item): item is T => typeof item === 'object' && item !== null) : [];
}

function firstText(...values: unknown[]): string | undefined {
  return values.find((value): value is string => typeof value === 'string' && value.trim() !== '');
}
