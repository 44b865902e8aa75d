/**
 * The webhook route's request handling (https://core.telegram.org/bots/api#setwebhook):
 * a request without the right `X-Telegram-Bot-Api-Secret-Token` gets 403 and enqueues
 * nothing; a good one is answered 200 as soon as its update is on the queue, or 500 (so
 * Telegram delivers it again) when it could not be enqueued. No AI work happens here.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';
import { readBody } from '../../src/infra/http/body.js';
import type { Logger } from '../../src/ports/index.js';

/** A Telegram update is a few KB; anything near this is not one. */
const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** One webhook request: 403 without the secret, 200 once the update is safely enqueued, 500 so Telegram retries otherwise. */
export async function handleWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  secret: string,
  intake: (update: Update) => Promise<unknown>,
  log: Logger,
): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  if (!secretMatches(req.headers['x-telegram-bot-api-secret-token'], secret)) {
    log.warn({ remote: req.socket.remoteAddress }, 'telegram webhook call without the right secret token refused');
    res.writeHead(403).end();
    return;
  }
  const body = await readBody(req, MAX_WEBHOOK_BODY_BYTES);
  let update: Update;
  try {
    if (!body.ok) throw new Error('too large');
    update = JSON.parse(body.text) as Update;
    if (typeof update !== 'object' || update === null || typeof update.update_id !== 'number') throw new Error('not an update');
  } catch {
    const status = body.ok ? 400 : 413;
    // Telegram sends only updates: this is a proxy or a client gone wrong, and nothing is enqueued.
    log.warn({ status }, 'telegram webhook body is not an update; refused');
    res.writeHead(status, { connection: 'close' }).end();
    return;
  }
  try {
    await intake(update);
    res.writeHead(200).end();
  } catch (error) {
    log.error({ err: error, updateId: update.update_id }, 'could not enqueue a telegram update; Telegram will redeliver it');
    res.writeHead(500).end();
  }
}

function secretMatches(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
