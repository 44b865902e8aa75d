/**
 * The moderate worker: community moderation for channels that ask for it. Every message
 * in such a channel is scored by the moderation endpoint; categories at or over their
 * thresholds lead to MODERATION_ACTION (log, warn the author, delete the message, or
 * delete and time the author out), and one entry in the mod log saying who, where, why,
 * what was done and a link. A missing permission is reported, once per channel per hour,
 * and never fails the job. Runs in its own lane, so it never delays the chat.
 */
import { PermissionError } from '../domain/errors.js';
import { channelAddressOf, modLogEntry, overThresholds, type ChannelAddress, type ModerationAction } from '../domain/moderation.js';
import type { ModerateJob } from '../domain/jobs.js';
import { REPLIES } from '../domain/replies.js';
import type { JobContext, JobHandler, Logger, ModerationSettings, Moderator, Outbox, Outboxes } from '../ports/index.js';
import { outboxOf, replyTargetOf } from './answer.js';

/** A missing permission is reported at most this often per channel. */
const PERMISSION_REPORT_PERIOD_SECONDS = 3600;

export interface ModerateWorkerDeps {
  readonly outboxes: Outboxes;
  readonly moderator: Moderator;
  readonly settings: ModerationSettings;
  readonly thresholds: Readonly<Record<string, number>>;
  readonly action: ModerationAction;
  readonly timeoutSeconds: number;
  readonly logChannel: ChannelAddress | undefined;
}

/** Creates the `moderate` job handler. */
export function createModerateWorker(deps: ModerateWorkerDeps): JobHandler<'moderate'> {
  return async function handleModerate({ message }: ModerateJob, context: JobContext): Promise<{ flagged: boolean }> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    if (!outbox || message.text.trim() === '') return { flagged: false };
    const channel = channelAddressOf(message.chat);

    const scores = await deps.moderator.check(message.text, context.signal);
    const hits = overThresholds(scores, deps.thresholds);
    if (hits.length === 0) return { flagged: false };

    const done: string[] = [];
    const missing: string[] = [];
    const attempt = async (what: string, failed: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
        done.push(what);
      } catch (error) {
        if (!(error instanceof PermissionError)) throw error;
        missing.push(failed);
      }
    };
    const chat = message.chat;
    switch (deps.action) {
      case 'log':
        done.push('logged');
        break;
      case 'warn':
        await attempt('warned the author', 'could not warn the author', () =>
          outbox.send(replyTargetOf(message), REPLIES.moderationWarning(message.author.displayName, hits.map((h) => h.category)), { final: true }),
        );
        break;
      case 'delete':
        await attempt('deleted the message', 'could not delete the message', () => unsupported(outbox.deleteMessage?.(chat, message.messageId)));
        break;
      case 'timeout':
        await attempt('deleted the message', 'could not delete the message', () => unsupported(outbox.deleteMessage?.(chat, message.messageId)));
        await attempt(`timed the author out for ${formatSeconds(deps.timeoutSeconds)}`, 'could not time the author out', () =>
          unsupported(outbox.timeoutMember?.(chat, message.author.id, deps.timeoutSeconds)),
        );
        break;
    }
    context.log.info({ channel, categories: hits.map((h) => h.category), done, missing }, 'moderation acted on a message');

    const entry = (what: string): string =>
      modLogEntry({
        author: message.author.displayName,
        authorId: message.author.id,
        channel,
        hits,
        done: what,
        link: outbox.messageLink?.(chat, message.messageId),
        excerpt: message.text,
      });
    if (missing.length > 0) {
      // Said once per channel per hour in both logs; the action's other parts still happened.
      if (await deps.settings.once(`modperm:${channel}:${deps.action}`, PERMISSION_REPORT_PERIOD_SECONDS)) {
        context.log.warn({ channel, missing }, 'moderation lacks permissions in this channel; give the bot the rights it needs');
        await writeModLog(deps, context, entry(`${[...done, ...missing].join('; ')} (the bot lacks the permission; reported once an hour)`), context.log);
      }
    } else {
      await writeModLog(deps, context, entry(done.join('; ')), context.log);
    }
    return { flagged: true };
  };
}

/** Posts to MOD_LOG_CHANNEL, if set; a failure there is logged, never fatal. */
async function writeModLog(deps: ModerateWorkerDeps, context: Pick<JobContext, 'outboxes'>, text: string, log: Logger): Promise<void> {
  const address = deps.logChannel;
  if (!address) return;
  const outbox: Outbox | undefined = outboxOf(deps.outboxes, context, address.platform);
  if (!outbox) {
    log.warn({ platform: address.platform }, 'MOD_LOG_CHANNEL is on a platform that is not running');
    return;
  }
  await outbox.send({ chat: { platform: address.platform, id: address.id, kind: 'group' } }, text, { final: true }).catch((error: unknown) => {
    log.warn({ err: error, modLog: `${address.platform}:${address.id}` }, 'could not write to the mod log');
  });
}

/** An action the platform's Outbox does not offer counts as a missing permission. */
function unsupported(call: Promise<void> | undefined): Promise<void> {
  return call ?? Promise.reject(new PermissionError('the platform does not support this action'));
}

function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
