/**
 * The image worker: `/image <prompt>` in, a picture in the chat out. It checks the
 * prompt and the user's daily quota, shows "sending a photo…" while the image endpoint
 * works, uploads the image with the revised prompt as its caption, and explains a refusal
 * in plain words. A use of the quota is given back when no image was delivered.
 * See https://platform.openai.com/docs/api-reference/images/create
 */
import { AiApiError, errorCodeOf } from '../domain/errors.js';
import type { ChatResult, ImageJob } from '../domain/jobs.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import type { DailyQuota, ImageGenerator, JobContext, JobHandler, Moderator, Outboxes } from '../ports/index.js';
import { DeliveryError, flaggedCategory, keepShowing, outboxOf, replyTargetOf, say, worthRetrying } from './answer.js';

export interface ImageWorkerDeps {
  readonly outboxes: Outboxes;
  readonly images: ImageGenerator;
  /** Images per user per day; a limit of 0 turns image generation off. */
  readonly quota: DailyQuota;
  /** MODERATE_INPUT: prompts are checked before the image endpoint sees them. */
  readonly moderator?: Moderator;
  readonly now?: () => number;
}

/** Creates the `image` job handler. */
export function createImageWorker(deps: ImageWorkerDeps): JobHandler<'image'> {
  const now = deps.now ?? Date.now;
  return async function handleImage({ message, prompt }: ImageJob, context: JobContext): Promise<ChatResult> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; image request dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);
    if (deps.quota.limit === 0) return say(outbox, target, REPLIES.imageOff);
    if (prompt.trim() === '') return say(outbox, target, REPLIES.imageUsage);

    const user = `${message.chat.platform}:${message.author.id}`;
    if (deps.moderator) {
      const category = await flaggedCategory(deps.moderator, prompt, context.signal).catch((error: unknown) => {
        if (!worthRetrying(error) || context.attempt >= context.maxAttempts) return { failed: error };
        throw error;
      });
      if (typeof category === 'object') return say(outbox, target, FAILURE_NOTICES[errorCodeOf(category.failed)], 'failed');
      if (category !== undefined) return say(outbox, target, REPLIES.imagePromptRefused(category), 'refused');
    }
    const taken = await deps.quota.take(user);
    if (!taken.allowed) return say(outbox, target, REPLIES.imageQuota(deps.quota.limit, taken.resetsAt, now()));

    const busy = keepShowing(outbox, target, 'upload_photo');
    let delivered = false;
    try {
      const { image, revisedPrompt } = await deps.images.generate({ prompt: prompt.trim(), endUser: user }, context.signal);
      try {
        await outbox.sendImage(target, image, revisedPrompt ?? prompt.trim());
      } catch (error) {
        throw new DeliveryError(`could not deliver an image to ${outbox.platform}`, { cause: error });
      }
      delivered = true;
      return { replied: true, messagesSent: 1, outcome: 'answered' };
    } catch (error) {
      if (error instanceof DeliveryError) throw error.cause ?? error;
      if (context.signal.aborted) throw error;
      if (isContentPolicyRefusal(error)) return say(outbox, target, REPLIES.imageRefused, 'failed');
      const willRetry = worthRetrying(error) && context.attempt < context.maxAttempts;
      context.log.warn({ err: error, willRetry }, 'image generation failed');
      if (willRetry) throw error;
      return say(outbox, target, FAILURE_NOTICES[errorCodeOf(error)], 'failed');
    } finally {
      busy.stop();
      if (!delivered) await deps.quota.giveBack(user).catch(() => undefined);
    }
  };
}

/** The image endpoint's safety system refused the prompt (400 `content_policy_violation`); edits too. */
export function isContentPolicyRefusal(error: unknown): boolean {
  return (
    error instanceof AiApiError &&
    error.status === 400 &&
    (error.apiCode === 'content_policy_violation' || error.apiCode === 'moderation_blocked' || /safety system/i.test(error.message))
  );
}
