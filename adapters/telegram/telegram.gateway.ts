/**
 * The Telegram gateway: long polling (default) in a loop of our own, or a webhook; its
 * Bot API calls go through our typed client (telegram.api.ts). It learns the bot's
 * username (getMe), registers the commands (setMyCommands), turns each
 * update into one InboundMessage and enqueues the job routeInbound picks for it (`chat`,
 * `transcribe` for voice notes and audio, `image` for /image) under
 * `telegram:<chatId>:<messageId>`, so an update delivered twice makes one job. In a group
 * under community moderation every message with text, addressed or not, and every edit
 * of one also gets a `moderate` job (an edit's id ends in `-e<update_id>`, so each version
 * is checked once); edits get nothing else. It does no AI work, downloads no file, and
 * never waits for any.
 *
 * Long polling (https://core.telegram.org/bots/api#getupdates) is our own small loop
 * rather than telegraf's, for one guarantee: an update is confirmed (the next offset
 * passes it) only once its job is on the queue, one update after another in Telegram's
 * order. So an update that arrives while Redis is down waits and is answered later, in
 * order, even across a restart. Webhook mode: see telegram.webhook.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Update } from 'telegraf/types';
import type { ChatRef } from '../../src/domain/inbound-message.js';
import type { JobKind } from '../../src/domain/jobs.js';
import { moderationRoute, routeInbound, type Route } from '../../src/domain/routing.js';
import type { JobQueue, Logger, Tracer, TraceSpan } from '../../src/ports/index.js';
import { exponentialDelay, retry, UNTIL_ABORTED, type RetryPolicy } from '../../src/infra/retry.js';
import { createTelegramApi, TelegramApiError } from './telegram.api.js';
import { COMMAND_REGISTRATIONS } from './telegram.commands.js';
import { moderationCandidate, normalizeUpdate, type BotIdentity } from './telegram.inbound.js';
import { handleWebhook } from './telegram.webhook.js';

/** Messages, and edits for community moderation; the rest are not even fetched. */
const ALLOWED_UPDATES = ['message', 'edited_message'] as const;
/** The span of one update: where a message's trace starts. */
const UPDATE_SPAN = 'telegram update';
/** How long one getUpdates call waits for updates, in seconds (telegraf's default too). */
const LONG_POLL_SECONDS = 50;
/** An update is enqueued while the queue (Redis) is unreachable: tries again until stopping, after 250 ms doubling to 5 s. */
const ENQUEUE_UPDATE: RetryPolicy = { retries: UNTIL_ABORTED, delayMs: exponentialDelay(250, 5_000) };
const POLL_BACKOFF = exponentialDelay(1_000, 30_000);
/**
 * A failed poll (network, 5xx, 401, 409 from another poller) goes again until stopping,
 * after Telegram's `retry_after` if it gives one, else after 1 s doubling to 30 s.
 */
const POLL_UPDATES: RetryPolicy = {
  retries: UNTIL_ABORTED,
  delayMs: (n, error) => {
    const asked = error instanceof TelegramApiError ? error.retryAfterSeconds : undefined;
    return asked !== undefined ? asked * 1000 : POLL_BACKOFF(n);
  },
};

export interface TelegramGatewayDeps {
  readonly token: string;
  readonly apiRoot: string;
  /** Webhook mode when set. */
  readonly webhook?: { readonly url: string; readonly secret: string };
  readonly queue: JobQueue;
  readonly log: Logger;
  /** TRANSCRIBE_ALL_VOICE: transcribe every voice note in groups, not only those addressed to the bot. */
  readonly transcribeAllVoice: boolean;
  /**
   * Whether a group chat is under community moderation (its `/moderation` switch, else
   * MODERATED_CHANNELS), the cached lookup of src/infra/moderation as it is; unset: none is.
   */
  readonly isModerated?: (chat: Pick<ChatRef, 'platform' | 'id'>) => Promise<boolean>;
  /** Opens each update's span (a no-op without tracing). */
  readonly tracer: Tracer;
}

/** A running gateway. */
export interface TelegramGateway {
  readonly bot: BotIdentity;
  /** The webhook route (webhook mode), for the service's HTTP server. */
  readonly routes: ReadonlyArray<(req: IncomingMessage, res: ServerResponse) => Promise<boolean>>;
  close(): Promise<void>;
}

/** The chat an update belongs to, for keeping one chat's updates in order; malformed ones share one lane. */
function chatKeyOf(update: Update): string {
  const message = (update as { message?: { chat?: { id?: unknown } }; edited_message?: { chat?: { id?: unknown } } }).message ??
    (update as { edited_message?: { chat?: { id?: unknown } } }).edited_message;
  const id = message?.chat?.id;
  return typeof id === 'number' || typeof id === 'string' ? String(id) : '?';
}

/** What became of one update. */
export type IntakeOutcome = 'enqueued' | 'duplicate' | 'skipped';

/** Starts the gateway; rejects (without the token in the message) if Telegram refuses the token. */
export async function startTelegramGateway(deps: TelegramGatewayDeps): Promise<TelegramGateway> {
  const log = deps.log.child({ platform: 'telegram' });
  const api = createTelegramApi({ token: deps.token, apiRoot: deps.apiRoot });

  const me = await api.call('getMe', {});
  const bot: BotIdentity = { id: me.id, username: me.username };
  if (deps.isModerated !== undefined && !me.can_read_all_group_messages) {
    // https://core.telegram.org/bots/features#privacy-mode: admins see every message anyway.
    log.info({ bot: bot.username }, 'telegram privacy mode is on: community moderation sees every message only in groups where the bot is an admin');
  }
  for (const { commands, scope } of COMMAND_REGISTRATIONS) await api.call('setMyCommands', { commands, scope });

  const intake = (update: Update): Promise<IntakeOutcome> =>
    deps.tracer.inSpan(UPDATE_SPAN, async (span) => {
      span.setAttribute('switchboard.platform', 'telegram');
      span.setAttribute('switchboard.update.id', update.update_id);
      const outcome = await readUpdate(update, span);
      span.setAttribute('switchboard.outcome', outcome);
      return outcome;
    });

  const readUpdate = async (update: Update, span: TraceSpan): Promise<IntakeOutcome> => {
    // An update we cannot read must not hold up every update after it.
    const unreadable = (error: unknown): IntakeOutcome => {
      log.error({ err: error, updateId: update.update_id }, 'could not read a telegram update; skipped');
      return 'skipped';
    };
    let candidate;
    try {
      candidate = deps.isModerated === undefined ? undefined : moderationCandidate(update);
    } catch (error) {
      return unreadable(error);
    }
    // Asked before reading the update, as it decides what to keep; a Redis failure here
    // throws like a failed enqueue, so the update waits.
    const moderated = candidate !== undefined && deps.isModerated !== undefined && (await deps.isModerated({ platform: 'telegram', id: candidate }));
    let normalized;
    try {
      normalized = normalizeUpdate(update, bot, { transcribeAllVoice: deps.transcribeAllVoice, moderated });
    } catch (error) {
      return unreadable(error);
    }
    if ('skip' in normalized) {
      log.debug({ updateId: update.update_id, reason: normalized.skip }, 'telegram update not for the bot');
      return 'skipped';
    }
    const { message, editDate } = normalized;
    span.setAttribute('switchboard.chat.id', message.chat.id);
    span.setAttribute('switchboard.message.id', message.messageId);
    const routes: Route[] = [];
    const answer = editDate === undefined ? routeInbound(message, { transcribeAllVoice: deps.transcribeAllVoice }) : undefined;
    if (answer !== undefined) routes.push(answer);
    // An edit's job id carries the update's id (src/domain editJobId): each version is checked once.
    const moderate = moderated ? moderationRoute(message, editDate === undefined ? undefined : update.update_id) : undefined;
    if (moderate !== undefined) routes.push(moderate);
    if (routes.length === 0) {
      log.debug({ updateId: update.update_id }, 'telegram message needs no job');
      return 'skipped';
    }
    // Each job once: a retry after a failed enqueue finds the ones before it as duplicates.
    let duplicates = 0;
    for (const route of routes) {
      const outcome = await enqueueRoute(deps.queue, route);
      if (outcome.duplicate) duplicates += 1;
      log.debug(
        { updateId: update.update_id, kind: route.kind, conversation: route.payload.conversation, jobId: outcome.jobId, duplicate: outcome.duplicate },
        'telegram message enqueued',
      );
    }
    return duplicates === routes.length ? 'duplicate' : 'enqueued';
  };

  if (deps.webhook) {
    const { url, secret } = deps.webhook;
    const path = new URL(url).pathname;
    // The playground owns `/`; the webhook needs a path of its own.
    if (path === '/') throw new Error('TELEGRAM_WEBHOOK_URL needs a path, e.g. https://bot.example.com/telegram/webhook');
    await api.call('setWebhook', { url, secret_token: secret, allowed_updates: ALLOWED_UPDATES });
    log.info({ bot: bot.username, path }, 'telegram webhook set');
    const route = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
      if (new URL(req.url ?? '/', 'http://webhook.invalid').pathname !== path) return false;
      await handleWebhook(req, res, secret, intake, log);
      return true;
    };
    return { bot, routes: [route], close: async () => undefined };
  }

  // A webhook left over from an earlier deployment would make every getUpdates fail with 409.
  await api.call('deleteWebhook', {});
  const stopping = new AbortController();

  /** Enqueues one update, trying again while the queue is unreachable; false only when stopping first. */
  const intakeUntilQueued = async (update: Update): Promise<boolean> => {
    if (stopping.signal.aborted) return false;
    try {
      await retry(ENQUEUE_UPDATE, () => intake(update), {
        signal: stopping.signal,
        onRetry: (error, _retry, retryInMs) => log.warn({ err: error, updateId: update.update_id, retryInMs }, 'could not enqueue a telegram update; retrying'),
      });
      return true;
    } catch (error) {
      if (stopping.signal.aborted) return false;
      throw error;
    }
  };

  /**
   * Enqueues one getUpdates batch: the updates of one chat one after another, in
   * Telegram's order (their ordering tickets are taken in that order), different chats at
   * once. Returns the offset that confirms exactly the updates queued: up to the first one
   * that was not (stopping), so that one and everything after it come again next time (an
   * update queued twice is recognised by its job id).
   */
  const intakeBatch = async (updates: readonly Update[]): Promise<number | undefined> => {
    const byChat = new Map<string, Update[]>();
    for (const update of updates) {
      const chat = chatKeyOf(update);
      const list = byChat.get(chat);
      if (list) list.push(update);
      else byChat.set(chat, [update]);
    }
    const queued = new Set<number>();
    await Promise.all(
      [...byChat.values()].map(async (chatUpdates) => {
        for (const update of chatUpdates) {
          if (!(await intakeUntilQueued(update))) return;
          queued.add(update.update_id);
        }
      }),
    );
    const firstMissing = updates.find((update) => !queued.has(update.update_id));
    if (firstMissing !== undefined) return updates[0] === firstMissing ? undefined : firstMissing.update_id;
    const last = updates.at(-1);
    return last === undefined ? undefined : last.update_id + 1;
  };

  const poll = async (): Promise<void> => {
    let offset: number | undefined;
    while (!stopping.signal.aborted) {
      let updates: Update[];
      try {
        updates = await retry(POLL_UPDATES, () => api.call('getUpdates', { offset, timeout: LONG_POLL_SECONDS, allowed_updates: ALLOWED_UPDATES }, stopping.signal), {
          signal: stopping.signal,
          onRetry: (error, _retry, retryInMs) => log.error({ err: error, retryInMs }, 'telegram getUpdates failed; polling again shortly'),
        });
      } catch (error) {
        if (stopping.signal.aborted) break;
        throw error;
      }
      offset = (await intakeBatch(updates)) ?? offset;
    }
    // Confirm what was enqueued, so the next start is not handed it again.
    if (offset !== undefined) await api.call('getUpdates', { offset, limit: 1, timeout: 0 }).catch(() => undefined);
  };
  const polling = poll().catch((error: unknown) => log.error({ err: error }, 'telegram long polling stopped'));
  log.info({ bot: bot.username }, 'telegram long polling started');

  return {
    bot,
    routes: [],
    async close() {
      stopping.abort();
      await polling;
    },
  };
}

/** Enqueues a route's job; the kind and its payload stay paired through the call. */
function enqueueRoute(queue: JobQueue, route: Route): ReturnType<JobQueue['enqueue']> {
  const enqueue = <K extends JobKind>(r: Extract<Route, { kind: K }>) => queue.enqueue(r.kind, r.payload, { jobId: r.jobId });
  return enqueue(route);
}
