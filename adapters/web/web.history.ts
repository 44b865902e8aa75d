/**
 * `GET /api/channels/:channel/history`: the conversation so far, read from the same
 * HistoryStore the workers write, so a reload (or a new tab) shows what the model
 * will remember. History entries carry no platform id, so ids here are positional.
 */
import type { ServerResponse } from 'node:http';
import { conversationKey } from '../../src/domain/inbound-message.js';
import type { HistoryStore, Logger } from '../../src/ports/index.js';
import type { WebMessage } from './web.events.js';
import { sendJson } from '../../src/infra/http/json.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';

/** What the history route needs. */
export interface HistoryRouteDeps {
  readonly history: HistoryStore;
  readonly log: Logger;
}

/** Answers `{ channel, messages }` for an already checked `channel`. */
export async function getHistory(deps: HistoryRouteDeps, channel: string, res: ServerResponse): Promise<void> {
  const conversation = conversationKey({ platform: 'web', id: channel });
  let entries;
  try {
    entries = await deps.history.read(conversation);
  } catch (error) {
    deps.log.error({ err: error, conversation }, 'could not read playground history');
    sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.');
    return;
  }
  const messages: WebMessage[] = entries.map((entry, index) => ({
    id: `h-${entry.at}-${index}`,
    role: entry.role,
    author: entry.name,
    text: entry.text,
    at: entry.at,
    final: true,
  }));
  sendJson(res, 200, { channel, messages });
}
