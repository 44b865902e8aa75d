/**
 * The picture worker (issue #14): a picture the user sent, redrawn. `/image <prompt>` on a
 * photo edits it (`POST /images/edits`, IMAGE_EDIT_MODEL): one picture back, captioned with
 * the revised prompt. `/vary` draws IMAGE_VARIATIONS variations of it
 * (`POST /images/variations`, IMAGE_VARIATION_MODEL), sent as one album.
 *
 * Read top to bottom: which picture (the message's own, or the one it replies to), what
 * is refused before anything is downloaded (type, size, an empty prompt), the prompt's
 * safety check, the daily quota (each picture to be drawn takes one use), the download and
 * the endpoint (the PictureEditor converts the picture to what the endpoint takes), the
 * upload, and a plain sentence for each way it can fail. Uses not delivered are given back.
 * See https://platform.openai.com/docs/api-reference/images/createEdit
 */
import { commandPicture } from '../domain/command-files.js';
import { AiApiError, errorCodeOf } from '../domain/errors.js';
import type { ChatResult, PictureJob } from '../domain/jobs.js';
import { FileFetchError, FileTooLargeError, PICTURE_MAX_BYTES, UnreadablePictureError, VISION_MIME_TYPES } from '../domain/media.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import type { DailyQuota, JobContext, JobHandler, Moderator, Outbox, Outboxes, PictureEditor, ReplyTarget } from '../ports/index.js';
import { DeliveryError, flaggedCategory, keepShowing, outboxOf, replyTargetOf, say, worthRetrying } from './answer.js';
import { isContentPolicyRefusal } from './image.worker.js';

/** What the picture worker needs; each a port. */
export interface PictureWorkerDeps {
  readonly outboxes: Outboxes;
  readonly editor: PictureEditor;
  /** Images per user per day (IMAGE_DAILY_LIMIT, shared with `/image`); a limit of 0 turns pictures off. */
  readonly quota: DailyQuota;
  /** IMAGE_VARIATIONS: pictures one `/vary` draws. */
  readonly variations: number;
  /** MODERATE_INPUT: edit prompts are checked before the image endpoint sees them. */
  readonly moderator?: Moderator;
  readonly now?: () => number;
}

/** Creates the `picture` job handler. */
export function createPictureWorker(deps: PictureWorkerDeps): JobHandler<'picture'> {
  const now = deps.now ?? Date.now;
  return async function handlePicture({ message, mode, prompt }: PictureJob, context: JobContext): Promise<ChatResult> {
    const outbox = outboxOf(deps.outboxes, context, message.chat.platform);
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; picture request dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target = replyTargetOf(message);
    if (deps.quota.limit === 0) return say(outbox, target, REPLIES.imageOff);

    // 1. The picture, and what is refused before a byte of it is downloaded.
    const picture = commandPicture(message);
    if (!picture) return say(outbox, target, mode === 'vary' ? REPLIES.varyUsage : REPLIES.editUsage);
    const wording = prompt.trim();
    if (mode === 'edit' && wording === '') return say(outbox, target, REPLIES.editUsage);
    const type = picture.mimeType?.split(';')[0]?.trim().toLowerCase();
    if (type !== undefined && !VISION_MIME_TYPES.has(type)) return say(outbox, target, REPLIES.unsupportedImage);
    const maxBytes = Math.min(PICTURE_MAX_BYTES, outbox.maxFileBytes);
    if (picture.sizeBytes !== undefined && picture.sizeBytes > maxBytes) {
      return say(outbox, target, REPLIES.fileTooLarge('picture', picture.sizeBytes, maxBytes));
    }

    // 2. The prompt's safety check, then one use of the quota per picture to draw.
    const user = `${message.chat.platform}:${message.author.id}`;
    if (mode === 'edit' && deps.moderator) {
      const category = await flaggedCategory(deps.moderator, wording, context.signal).catch((error: unknown) => {
        if (!worthRetrying(error) || context.attempt >= context.maxAttempts) return { failed: error };
        throw error;
      });
      if (typeof category === 'object') return say(outbox, target, FAILURE_NOTICES[errorCodeOf(category.failed)], 'failed');
      if (category !== undefined) return say(outbox, target, REPLIES.imagePromptRefused(category), 'refused');
    }
    const wanted = mode === 'edit' ? 1 : deps.variations;
    const taken = await takeUses(deps.quota, user, wanted);
    if (taken.count === 0) return say(outbox, target, REPLIES.imageQuota(deps.quota.limit, taken.resetsAt, now()));

    // 3. Download, redraw and upload, showing "sending a photo…" meanwhile.
    const busy = keepShowing(outbox, target, 'upload_photo');
    let delivered = 0;
    try {
      const file = await outbox.fetchFile(picture, { maxBytes, signal: context.signal });
      let messagesSent: number;
      if (mode === 'edit') {
        const { image, revisedPrompt } = await deps.editor.edit({ picture: file, prompt: wording, endUser: user }, context.signal);
        messagesSent = await deliver(outbox, async () => [await outbox.sendImage(target, image, revisedPrompt ?? wording)]);
        delivered = 1;
      } else {
        const images = await deps.editor.vary({ picture: file, count: taken.count, endUser: user }, context.signal);
        if (images.length === 0) throw new AiApiError('the variations endpoint answered without a picture', 502, undefined, undefined, undefined);
        messagesSent = await deliver(outbox, () => outbox.sendImages(target, images));
        delivered = images.length;
      }
      return { replied: true, messagesSent, outcome: 'answered' };
    } catch (error) {
      if (error instanceof DeliveryError) throw error.cause ?? error;
      if (context.signal.aborted) throw error;
      return explainFailure(error, { outbox, target, context, mode, model: mode === 'edit' ? deps.editor.editModel : deps.editor.variationModel, maxBytes });
    } finally {
      busy.stop();
      for (let unused = taken.count - delivered; unused > 0; unused -= 1) await deps.quota.giveBack(user).catch(() => undefined);
    }
  };
}

/** Takes up to `wanted` uses, one at a time (each a Redis script that counts only what fits). */
async function takeUses(quota: DailyQuota, user: string, wanted: number): Promise<{ count: number; resetsAt: number }> {
  let count = 0;
  let resetsAt = 0;
  while (count < wanted) {
    const taken = await quota.take(user);
    resetsAt = taken.resetsAt;
    if (!taken.allowed) break;
    count += 1;
  }
  return { count, resetsAt };
}

/** An upload, and how many messages it made; its failure is the platform's, retried by the queue. */
async function deliver(outbox: Outbox, upload: () => Promise<readonly unknown[]>): Promise<number> {
  try {
    return (await upload()).length;
  } catch (error) {
    throw new DeliveryError(`could not deliver pictures to ${outbox.platform}`, { cause: error });
  }
}

/** Tells the user in one sentence why no picture came, or rethrows for another attempt. */
async function explainFailure(
  error: unknown,
  s: { outbox: Outbox; target: ReplyTarget; context: JobContext; mode: PictureJob['mode']; model: string; maxBytes: number },
): Promise<ChatResult> {
  const tell = (text: string): Promise<ChatResult> => say(s.outbox, s.target, text, 'failed');
  if (error instanceof FileTooLargeError) return tell(REPLIES.fileTooLarge('picture', error.sizeBytes, s.maxBytes));
  if (error instanceof UnreadablePictureError) return tell(REPLIES.pictureNotTaken);
  if (isContentPolicyRefusal(error)) return tell(REPLIES.pictureRefused);
  if (isModelRefusal(error)) return tell(REPLIES.pictureModelUnsupported(s.model, s.mode));
  if (isPictureRefusal(error)) return tell(REPLIES.pictureNotTaken);
  const retryable = error instanceof FileFetchError ? error.retryable : worthRetrying(error);
  const willRetry = retryable && s.context.attempt < s.context.maxAttempts;
  s.context.log.warn({ err: error, willRetry, mode: s.mode }, 'picture edit or variation failed');
  if (willRetry) throw error;
  return tell(error instanceof FileFetchError ? REPLIES.fileUnavailable('picture') : FAILURE_NOTICES[errorCodeOf(error)]);
}

/** The endpoint does not take this model (400 on `model`, or the model is unknown). */
function isModelRefusal(error: unknown): boolean {
  return error instanceof AiApiError && (error.apiCode === 'model_not_found' || (error.status === 400 && error.apiParam === 'model'));
}

/** The endpoint cannot take the picture itself (400 on `image`, or an `invalid_image…` code). */
function isPictureRefusal(error: unknown): boolean {
  return error instanceof AiApiError && error.status === 400 && (error.apiParam === 'image' || /image/i.test(error.apiCode ?? ''));
}

