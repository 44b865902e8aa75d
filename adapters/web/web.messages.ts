/**
 * `POST /api/channels/:channel/messages`: the playground's inbound side. Turns the
 * browser's message into one InboundMessage, enqueues a `chat` job under a
 * deterministic id (a retried POST never makes a second job), echoes the message to
 * the channel's other tabs, and answers 202 at once: the reply arrives on the
 * channel's event stream, never on this request.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { conversationKey, jobIdFor, parseCommand, type ChatRef, type InboundMessage } from '../../src/domain/inbound-message.js';
import type { JobQueue, Logger, PubSub } from '../../src/ports/index.js';
import { encodeWebEvent, webTopic } from './web.events.js';
import { readBody, sendError, sendJson, WEB_ERROR_CODES } from './web.http.js';
import { checkMessageInput, type MessageInput } from './web.input.js';

/** Hex digits of the name hash in an author id. */
const AUTHOR_ID_HEX = 16;

/** What the message route needs. */
export interface PostMessageDeps {
  readonly queue: JobQueue;
  readonly pubsub: PubSub;
  readonly log: Logger;
  readonly now: () => number;
}

/** Handles one POST for an already checked `channel`. */
export async function postMessage(deps: PostMessageDeps, channel: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    // Also keeps other sites from posting here with a form or a "simple" fetch.
    sendError(res, 415, WEB_ERROR_CODES.UNSUPPORTED_MEDIA_TYPE, 'Send the message as JSON (content-type: application/json).');
    return;
  }
  const body = await readBody(req);
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

  const message = toInboundMessage(channel, input.value, deps.now());
  const conversation = conversationKey(message.chat);
  const log = deps.log.child({ conversation, messageId: message.messageId });
  let outcome: { readonly jobId: string; readonly duplicate: boolean };
  try {
    outcome = await deps.queue.enqueue('chat', { conversation, message }, { jobId: jobIdFor(message.chat, message.messageId) });
  } catch (error) {
    log.error({ err: error }, 'could not enqueue a playground message');
    sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.', {
      'retry-after': '2',
    });
    return;
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
      },
    });
    // The job is safe in the queue; a lost echo only means other tabs see it on reload.
    await deps.pubsub.publish(webTopic(channel), event).catch((error: unknown) => {
      log.warn({ err: error }, 'could not echo a playground message to other tabs');
    });
  }
  sendJson(res, 202, { jobId: outcome.jobId, duplicate: outcome.duplicate });
}

/** The playground always addresses the bot: every channel is a DM with it. */
function toInboundMessage(channel: string, input: MessageInput, receivedAt: number): InboundMessage {
  const chat: ChatRef = { platform: 'web', id: channel, kind: 'dm' };
  const command = parseCommand(input.text);
  return {
    chat,
    author: { id: authorIdOf(input.author), displayName: input.author, isBot: false },
    messageId: input.id,
    text: input.text,
    attachments: [],
    addressed: true,
    ...(command === undefined ? {} : { command }),
    receivedAt,
  };
}

/** The playground has no accounts: one display name is one person. */
function authorIdOf(name: string): string {
  const hash = createHash('sha256').update(name.toLowerCase()).digest('hex').slice(0, AUTHOR_ID_HEX);
  return `web-${hash}`;
}
