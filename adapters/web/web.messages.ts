/**
 * `POST /api/channels/:channel/messages`: the playground's inbound side. Turns the
 * browser's message (text, an uploaded file, or both) into one InboundMessage, asks
 * routeInbound which job it needs (chat, transcribe for audio, image for `/image`),
 * enqueues it under a deterministic id (a retried POST never makes a second job),
 * echoes the message to the channel's other tabs, and answers 202 at once: the reply
 * arrives on the channel's event stream, never on this request.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { conversationKey, parseCommand, type Attachment, type ChatRef, type InboundMessage } from '../../src/domain/inbound-message.js';
import { routeInbound } from '../../src/domain/routing.js';
import type { JobQueue, Logger, PubSub, UploadStore } from '../../src/ports/index.js';
import { encodeWebEvent, webTopic, type WebAttachment } from './web.events.js';
import { readBody } from '../../src/infra/http/body.js';
import { sendJson } from '../../src/infra/http/json.js';
import { MAX_BODY_BYTES, sendError, WEB_ERROR_CODES } from './web.http.js';
import { checkMessageInput, type InputProblem, type MessageInput } from './web.input.js';
import { classifyUpload, isServable } from './web.media.js';

/** Hex digits of the name hash in an author id. */
const AUTHOR_ID_HEX = 16;
/**
 * The author id of every message sent with PLAYGROUND_TOKEN: whoever holds the token is
 * one user to the limits, whatever display name they type (a name is not an identity).
 */
export const TOKEN_HOLDER_ID = 'web-token-holder';
/** The playground is a DM with the bot, so group-only switches never apply. */
const ROUTING = { transcribeAllVoice: false } as const;

/** What the message route needs. */
export interface PostMessageDeps {
  readonly queue: JobQueue;
  readonly pubsub: PubSub;
  readonly uploads: UploadStore;
  readonly log: Logger;
  readonly now: () => number;
}

/** Who sent a message, as the guard let it in. */
export interface Sender {
  /** The operator's own loopback playground: limits do not count it. Otherwise the token's holder sent it. */
  readonly unmetered: boolean;
}

/** Handles one POST for an already checked `channel`. */
export async function postMessage(deps: PostMessageDeps, channel: string, sender: Sender, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    // Also keeps other sites from posting here with a form or a "simple" fetch.
    sendError(res, 415, WEB_ERROR_CODES.UNSUPPORTED_MEDIA_TYPE, 'Send the message as JSON (content-type: application/json).');
    return;
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (!body.ok) {
    sendError(res, 413, WEB_ERROR_CODES.BODY_TOO_LARGE, 'The request is too large; a message may be at most 64 KB.', {
      connection: 'close',
    });
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch {
    sendError(res, 400, WEB_ERROR_CODES.INVALID_JSON, 'The request body is not valid JSON.');
    return;
  }
  const input = checkMessageInput(parsed);
  if (!input.ok) {
    sendError(res, input.problem.status, input.problem.code, input.problem.message);
    return;
  }

  const log = deps.log.child({ conversation: conversationKey({ platform: 'web', id: channel }), messageId: input.value.id });
  let attachment: Attachment | undefined;
  if (input.value.attachment !== undefined) {
    let found;
    try {
      found = await findUpload(deps.uploads, input.value.attachment);
    } catch (error) {
      log.error({ err: error }, 'could not read a playground upload');
      return unavailable(res);
    }
    if ('problem' in found) {
      sendError(res, found.problem.status, found.problem.code, found.problem.message);
      return;
    }
    attachment = found.attachment;
  }

  const message = toInboundMessage(channel, input.value, sender, attachment, deps.now());
  const route = routeInbound(message, ROUTING);
  // Every playground message addresses the bot, so there is always a job.
  if (route === undefined) throw new Error('routeInbound ignored a playground message, which is always addressed');
  let outcome: { readonly jobId: string; readonly duplicate: boolean };
  try {
    outcome = await deps.queue.enqueue(route.kind, route.payload, { jobId: route.jobId });
  } catch (error) {
    log.error({ err: error }, 'could not enqueue a playground message');
    return unavailable(res);
  }

  if (!outcome.duplicate) {
    const event = encodeWebEvent({
      type: 'message',
      message: {
        id: message.messageId,
        role: 'user',
        author: message.author.displayName,
        text: message.text,
        final: true,
        at: message.receivedAt,
        ...(attachment === undefined ? {} : { attachment: toWebAttachment(attachment) }),
      },
    });
    // The job is safe in the queue; a lost echo only means other tabs see it on reload.
    await deps.pubsub.publish(webTopic(channel), event).catch((error: unknown) => {
      log.warn({ err: error }, 'could not echo a playground message to other tabs');
    });
  }
  sendJson(res, 202, { jobId: outcome.jobId, duplicate: outcome.duplicate });
}

function unavailable(res: ServerResponse): void {
  sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.', {
    'retry-after': '2',
  });
}

/**
 * The attachment of an upload, from what was stored (its real type and size), never
 * from what the page claims; the page's `kind` only tells a recording from an audio file.
 */
async function findUpload(
  uploads: UploadStore,
  wanted: NonNullable<MessageInput['attachment']>,
): Promise<{ attachment: Attachment } | { problem: InputProblem }> {
  // Its type and size only: the message route never needs the bytes (up to 25 MB).
  const file = await uploads.stat(wanted.id);
  if (file === undefined) {
    return {
      problem: {
        status: 410,
        code: WEB_ERROR_CODES.UPLOAD_EXPIRED,
        message: 'The attached file is no longer here (the playground keeps uploads for an hour). Attach it again.',
      },
    };
  }
  const stored = classifyUpload(file.mimeType, wanted.kind === 'voice');
  const kind = stored.ok ? stored.value.kind : undefined;
  if (kind === undefined || (wanted.kind !== undefined && wanted.kind !== kind)) {
    return {
      problem: {
        status: 400,
        code: WEB_ERROR_CODES.INVALID_ATTACHMENT,
        message: `The attachment's kind does not match the uploaded file, which is ${file.mimeType ?? 'of no known type'}.`,
      },
    };
  }
  return {
    attachment: {
      kind,
      fileRef: wanted.id,
      sizeBytes: file.sizeBytes,
      ...(file.mimeType === undefined ? {} : { mimeType: file.mimeType }),
      ...(file.fileName === undefined ? {} : { fileName: file.fileName }),
    },
  };
}

/** How the page shows a user's file: images by URL, audio by its name and size (the sender plays its own copy). */
function toWebAttachment(attachment: Attachment): WebAttachment {
  const kind = attachment.kind === 'file' ? 'audio' : attachment.kind;
  return {
    kind,
    mimeType: attachment.mimeType ?? 'application/octet-stream',
    sizeBytes: attachment.sizeBytes ?? 0,
    ...(attachment.fileName === undefined ? {} : { fileName: attachment.fileName }),
    ...(kind === 'image' && isServable(attachment.mimeType) ? { url: `/api/files/${attachment.fileRef}` } : {}),
  };
}

/** The playground always addresses the bot: every channel is a DM with it. */
function toInboundMessage(channel: string, input: MessageInput, sender: Sender, attachment: Attachment | undefined, receivedAt: number): InboundMessage {
  const chat: ChatRef = { platform: 'web', id: channel, kind: 'dm' };
  const command = parseCommand(input.text);
  return {
    chat,
    author: { id: sender.unmetered ? authorIdOf(input.author) : TOKEN_HOLDER_ID, displayName: input.author, isBot: false },
    messageId: input.id,
    text: input.text,
    attachments: attachment === undefined ? [] : [attachment],
    addressed: true,
    ...(command === undefined ? {} : { command }),
    receivedAt,
    ...(sender.unmetered ? { unmetered: true } : {}),
  };
}

/** The playground has no accounts: one display name is one person. */
function authorIdOf(name: string): string {
  const hash = createHash('sha256').update(name.toLowerCase()).digest('hex').slice(0, AUTHOR_ID_HEX);
  return `web-${hash}`;
}
