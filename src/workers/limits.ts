/**
 * Abuse limits around the job handlers of every platform's messages (issue #7): messages from chats or users that are
 * not allowed are dropped (a private chat is told once a day why); a user or channel
 * over its requests per minute is told, once per minute, when it can ask again; a user or
 * channel over its daily token budget is told when the budget resets. Counted in Redis,
 * so every worker process enforces the same totals. The operator's own loopback
 * playground is exempt; an exposed one is counted per token holder (issue #17).
 */
import { admits, isUnmetered, userKeyOf, type AbuseLimits } from '../domain/limits.js';
import type { InboundMessage } from '../domain/inbound-message.js';
import type { ChatResult, JobPayload } from '../domain/jobs.js';
import { REPLIES } from '../domain/replies.js';
import type { ChatUsage } from '../domain/chat.js';
import type { DailyCounter, JobHandler, Outboxes, RateLimiter } from '../ports/index.js';
import { outboxOf, replyTargetOf } from './answer.js';

const MINUTE_MS = 60_000;
const DAY_SECONDS = 24 * 3600;

export interface LimitsDeps {
  readonly limits: AbuseLimits;
  readonly outboxes: Outboxes;
  readonly rateLimiter: RateLimiter;
  readonly tokens: DailyCounter;
  /** True the first time for a key within the period (across processes). */
  readonly once: (key: string, periodSeconds: number) => Promise<boolean>;
  readonly now?: () => number;
}

type AnsweringKind = 'chat' | 'transcribe' | 'image' | 'translate' | 'picture';
/** Kinds that draw pictures: the image quota counts them, the token budgets do not. */
const DRAWING_KINDS: ReadonlySet<AnsweringKind> = new Set(['image', 'picture']);

/** The kinds whose handlers answer a user, guarded by every limit; token budgets only where the chat model runs. */
export function withLimits<K extends AnsweringKind>(deps: LimitsDeps, kind: K, handler: JobHandler<K>): JobHandler<K> {
  const now = deps.now ?? Date.now;
  const { limits } = deps;
  return async (payload, context) => {
    const message: InboundMessage = (payload as JobPayload<AnsweringKind>).message;
    // The playground on loopback without a token is the operator's own: no limits there.
    if (isUnmetered(message)) return handler(payload, context);
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    const tell = async (text: string, onceKey: string, periodSeconds: number): Promise<ChatResult> => {
      if (outbox && (await deps.once(onceKey, periodSeconds))) {
        await outbox.send(replyTargetOf(message), text, { final: true });
        return { replied: true, messagesSent: 1, outcome: 'refused' };
      }
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    };
    const user = userKeyOf(message);
    const channel = `${message.chat.platform}:${message.chat.id}`;

    if (!admits(message, limits)) {
      context.log.info({ user, channel }, 'not on the allowlists; skipped');
      return message.chat.kind === 'dm' ? tell(REPLIES.notAllowed, `notallowed:${user}`, DAY_SECONDS) : ignored();
    }
    if (limits.userPerMinute > 0) {
      const wait = await deps.rateLimiter.tryAcquire([{ key: `user:${user}`, max: limits.userPerMinute, perMs: MINUTE_MS }]);
      if (wait > 0) return tell(REPLIES.tooFast(limits.userPerMinute, wait), `toofast:${user}`, 60);
    }
    if (limits.channelPerMinute > 0 && message.chat.kind === 'group') {
      const wait = await deps.rateLimiter.tryAcquire([{ key: `chan:${channel}`, max: limits.channelPerMinute, perMs: MINUTE_MS }]);
      if (wait > 0) return tell(REPLIES.channelTooFast(limits.channelPerMinute, wait), `toofast:${channel}`, 60);
    }
    if (!DRAWING_KINDS.has(kind)) {
      if (limits.userDailyTokens > 0) {
        const { total, resetsAt } = await deps.tokens.get(`user:${user}`);
        if (total >= limits.userDailyTokens) return tell(REPLIES.outOfTokens(limits.userDailyTokens, resetsAt, now()), `notokens:${user}`, 60);
      }
      if (limits.channelDailyTokens > 0 && message.chat.kind === 'group') {
        const { total, resetsAt } = await deps.tokens.get(`chan:${channel}`);
        if (total >= limits.channelDailyTokens) {
          return tell(REPLIES.channelOutOfTokens(limits.channelDailyTokens, resetsAt, now()), `notokens:${channel}`, 60);
        }
      }
    }
    return handler(payload, context);
  };
}

/** Moderation checks skip chats that are not allowed; the user allowlist does not apply. */
export function withModerationAdmission(limits: AbuseLimits, handler: JobHandler<'moderate'>): JobHandler<'moderate'> {
  return async (payload, context) => (admits(payload.message, limits, { forModeration: true }) ? handler(payload, context) : { flagged: false });
}

/** Adds a completion's tokens to the author's and the channel's daily totals. */
export function tokenRecorder(deps: Pick<LimitsDeps, 'tokens' | 'limits'>): (message: InboundMessage, usage: ChatUsage) => Promise<void> {
  return async (message, usage) => {
    if (deps.limits.userDailyTokens === 0 && deps.limits.channelDailyTokens === 0) return;
    await Promise.all([
      deps.tokens.add(`user:${userKeyOf(message)}`, usage.totalTokens),
      deps.tokens.add(`chan:${message.chat.platform}:${message.chat.id}`, usage.totalTokens),
    ]);
  };
}

function ignored(): ChatResult {
  return { replied: false, messagesSent: 0, outcome: 'ignored' };
}
