/**
 * `GET /api/channels/:channel/events`: one Server-Sent Events stream per open tab.
 * Each stream subscribes to its channel's topic and forwards every event, so a
 * reply streamed by a worker in any process reaches every tab of the channel.
 * Event types: `message` (upserted by id), `image` (a bot message with a picture),
 * `typing` (`{ activity? }`: `record_voice` while transcribing, `upload_photo` while drawing).
 * See https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, PubSub } from '../../src/ports/index.js';
import { decodeWebEvent, webTopic, type WebEvent } from './web.events.js';
import { sendError, WEB_ERROR_CODES } from './web.http.js';

/** A comment this often keeps proxies and the browser from closing an idle stream. */
const KEEPALIVE_INTERVAL_MS = 15_000;
/** How long the browser waits before reconnecting a dropped stream. */
const RECONNECT_DELAY_MS = 2_000;
/** A client this far behind is not reading; drop it rather than buffer without end. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The open event streams of one adapter. */
export interface EventStreams {
  /** Serves one stream for an already checked `channel`; resolves once it is open (or refused). */
  open(channel: string, req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends every open stream and refuses new ones. */
  closeAll(): Promise<void>;
}

/** What the event streams need. */
export interface EventStreamsDeps {
  readonly pubsub: PubSub;
  readonly log: Logger;
}

/** Formats one event as an SSE frame (JSON never holds a raw newline). */
export function formatSseEvent(event: WebEvent): string {
  if (event.type === 'typing') {
    return `event: typing\ndata: ${JSON.stringify(event.activity === undefined ? {} : { activity: event.activity })}\n\n`;
  }
  if (event.type === 'delete') return `event: delete\ndata: ${JSON.stringify({ id: event.id })}\n\n`;
  return `event: ${event.type}\ndata: ${JSON.stringify(event.message)}\n\n`;
}

/** Creates the registry of event streams. */
export function createEventStreams(deps: EventStreamsDeps): EventStreams {
  const open = new Set<() => Promise<void>>();
  let closing = false;

  return {
    async open(channel, req, res) {
      if (closing) {
        sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The server is shutting down. Try again in a moment.');
        return;
      }
      const log = deps.log.child({ channel });
      let ended = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      let keepalive: NodeJS.Timeout | undefined;

      const end = async (): Promise<void> => {
        if (ended) return;
        ended = true;
        open.delete(end);
        clearInterval(keepalive);
        if (!res.headersSent) {
          sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The server is shutting down. Try again in a moment.');
        } else if (!res.writableEnded) {
          res.end();
        }
        await unsubscribe?.().catch((error: unknown) => log.warn({ err: error }, 'could not unsubscribe an event stream'));
      };
      open.add(end);
      res.on('close', () => void end());

      // Events heard between subscribing and sending the headers wait here.
      let early: string[] | undefined = [];
      const write = (frame: string): void => {
        if (ended) return;
        if (early !== undefined) {
          early.push(frame);
          return;
        }
        res.write(frame);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          log.warn({ buffered: res.writableLength }, 'dropping an event stream that does not read');
          void end();
        }
      };

      try {
        unsubscribe = await deps.pubsub.subscribe(webTopic(channel), (raw) => {
          const event = decodeWebEvent(raw);
          if (event === undefined) log.warn({ raw: raw.slice(0, 200) }, 'ignoring a malformed playground event');
          else write(formatSseEvent(event));
        });
      } catch (error) {
        log.error({ err: error }, 'could not subscribe an event stream');
        open.delete(end);
        ended = true;
        if (!res.headersSent) {
          sendError(res, 503, WEB_ERROR_CODES.UNAVAILABLE, 'The bot is temporarily unavailable. Try again in a moment.');
        }
        return;
      }
      if (ended) {
        // The client left (or close() ran) while we were subscribing.
        await unsubscribe().catch((error: unknown) => log.warn({ err: error }, 'could not unsubscribe an event stream'));
        return;
      }

      // Headers go out only once subscribed: a client that sees them misses nothing after.
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      res.flushHeaders();
      const pending = early;
      early = undefined;
      write(`retry: ${RECONNECT_DELAY_MS}\n: connected\n\n`);
      for (const frame of pending) write(frame);
      keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_INTERVAL_MS);
      keepalive.unref();
      req.socket.setKeepAlive(true);
      req.socket.setNoDelay(true);
    },

    async closeAll() {
      closing = true;
      await Promise.all([...open].map((end) => end()));
    },
  };
}
