/**
 * Answering in a conversation, shared by the chat and transcribe workers: the prompt
 * from history, the streamed completion through a ReplyStream into the platform's
 * Outbox, the exchange written to history, and a plain-words notice when the AI service
 * fails.
 */
import { ERROR_CODES, errorCodeOf, isRetryable, JobLostError, type ErrorCode } from '../domain/errors.js';
import type { ChatContentPart, ChatPromptMessage, ChatUsage, HistoryEntry } from '../domain/chat.js';
import type { InboundMessage, Platform } from '../domain/inbound-message.js';
import type { RateBudget } from '../domain/rate-budget.js';
import type { ChatResult } from '../domain/jobs.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { draftIdOf, ReplyStream, type ReplyAction } from '../domain/reply-stream.js';
import { flaggedCategories } from '../domain/moderation.js';
import { historyKeyOf } from '../domain/channel-settings.js';
import type { ReasoningEffort, ShowReasoning } from '../domain/reasoning.js';
import { attachReasoning, ReasoningNotes } from './reasoning-file.js';
import type { ChannelSettingsStore, ChatActivity, ChatModel, Drafts, HistoryStore, JobContext, Moderator, Outbox, Outboxes, ReplyTarget, SentMessage } from '../ports/index.js';

/** Typing indicators expire (Telegram after 5 s); refresh them until the first text shows. */
const TYPING_REFRESH_MS = 4_000;
/**
 * "typing…" shows only if no text has appeared this soon: an answer that starts at once
 * needs no indicator, and each one is a platform call (on Discord, a slot of the bot's
 * 50 requests a second).
 */
const TYPING_DELAY_MS = 700;

/** What answering needs; each a port. */
export interface AnswerDeps {
  readonly model: ChatModel;
  readonly history: HistoryStore;
  readonly systemPrompt: string;
  readonly botName: string;
  readonly maxCompletionTokens: number;
  readonly now?: () => number;
  /** Safe answers (MODERATE_INPUT, MODERATE_OUTPUT); off when absent. */
  readonly safety?: Safety;
  /** Per-channel persona, model and history scope; the config's when absent. */
  readonly channelSettings?: ChannelSettingsStore;
  /** Told the tokens of every answer (daily token budgets). */
  readonly onUsage?: (message: InboundMessage, usage: ChatUsage) => Promise<void>;
  /**
   * The streaming updates (edits of a growing message, drafts) this process may make a
   * second, over every answer; past it they are skipped: the next update, or the final
   * text, carries theirs. Unbounded when absent.
   */
  readonly previews?: RateBudget;
  /** REASONING_EFFORT: `reasoning_effort` where a channel set none; not sent when absent. */
  readonly reasoningEffort?: ReasoningEffort;
  /** SHOW_REASONING: `file` attaches a reasoning model's thinking to its answer; never shown otherwise. */
  readonly showReasoning?: ShowReasoning;
}

/** The safe-answers checks. */
export interface Safety {
  readonly moderator: Moderator;
  /** Check what the user said before anything of the answer shows. */
  readonly input: boolean;
  /** Check the answer before its final version shows. */
  readonly output: boolean;
}

/** The first category the moderation endpoint flags in `text`, or undefined when it is clean. */
export async function flaggedCategory(moderator: Moderator, text: string, signal: AbortSignal): Promise<string | undefined> {
  return flaggedCategories(await moderator.check(text, signal))[0]?.category;
}

/** One thing to answer: the user's words (and pictures), in a conversation, on a platform. */
export interface Question {
  readonly conversation: string;
  readonly message: InboundMessage;
  /** What the user said, as history keeps it. */
  readonly text: string;
  /** What the model reads, when it is more than the text (image parts). */
  readonly content?: readonly ChatContentPart[];
  readonly outbox: Outbox;
  readonly target: ReplyTarget;
  /** Ids of other messages whose content `text` carries (the message replied to); history records them. */
  readonly refs?: readonly string[];
  /**
   * `/redo`: the last `entries` turns of history are the exchange answered again; the prompt
   * leaves them out, `asked` is the user's turn as history has it, and the new exchange takes
   * their place in history.
   */
  readonly redo?: { readonly entries: number; readonly asked: HistoryEntry };
}

/** An outbox call failed: the platform, not the AI service. Retried by the queue. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

/**
 * The Outbox on `platform` for this run: the run's own (ledgered, reply-ledger.ts) when
 * its context carries them, else the worker's.
 */
export function outboxOf(outboxes: Outboxes, context: Pick<JobContext, 'outboxes'>, platform: Platform): Outbox | undefined {
  return (context.outboxes ?? outboxes)[platform];
}

/** The target of a message's reply. */
export function replyTargetOf(message: InboundMessage): ReplyTarget {
  return { chat: message.chat, replyToMessageId: message.messageId, replyHandle: message.replyHandle };
}

/** Sends one final message, as a reply; an outbox failure is a DeliveryError. */
export async function say(outbox: Outbox, target: ReplyTarget, text: string, outcome: ChatResult['outcome'] = 'command'): Promise<ChatResult> {
  try {
    await outbox.send(target, text, { final: true });
  } catch (error) {
    throw new DeliveryError(`could not deliver to ${outbox.platform}`, { cause: error });
  }
  return { replied: true, messagesSent: 1, outcome };
}

/** Streams the model's answer to `question` into its chat and records the exchange. */
export async function answer(deps: AnswerDeps, question: Question, context: JobContext): Promise<ChatResult> {
  const shown = { any: false };
  // From the start, until the answer shows: the model may be a while yet when the endpoint's
  // rate limits hold its requests (the input check's included).
  const typing = keepShowing(question.outbox, question.target, 'typing', () => shown.any, TYPING_DELAY_MS);
  try {
    return await streamAnswer(deps, question, context, shown);
  } finally {
    typing.stop();
  }
}

async function streamAnswer(deps: AnswerDeps, question: Question, context: JobContext, shown: { any: boolean }): Promise<ChatResult> {
  const now = deps.now ?? Date.now;
  const { conversation, message, outbox, target } = question;

  // The input check runs while the prompt is put together; the chat endpoint is called
  // only once it has passed, so a flagged message never reaches the model.
  const safety = deps.safety;
  const verdict = safety?.input
    ? flaggedCategory(safety.moderator, question.text, context.signal).then((category) => ({ category }), (error: unknown) => ({ error }))
    : undefined;

  // The prompt: the channel's persona, the conversation so far (the channel's, or with
  // `/scope user` the author's own), the new message.
  // The settings and the channel's history are read at once: with the default scope (and
  // most channels have it), the second read costs no round trip of its own.
  const settingsRead = deps.channelSettings?.get(conversation);
  const channelHistory = deps.history.read(conversation);
  channelHistory.catch(() => undefined); // awaited below unless the scope is the user's
  const settings = (await settingsRead) ?? {};
  const historyKey = historyKeyOf(conversation, settings.scope, message.author.id);
  const history = await (historyKey === conversation ? channelHistory : deps.history.read(historyKey));
  const earlier = question.redo ? history.slice(0, Math.max(0, history.length - question.redo.entries)) : history;
  const asked: HistoryEntry = question.redo?.asked ?? {
    role: 'user',
    name: message.author.displayName,
    text: question.text,
    at: message.receivedAt,
    id: message.messageId,
    ...(question.refs && question.refs.length > 0 ? { refs: question.refs } : {}),
  };
  const prompt: ChatPromptMessage[] = [
    { role: 'system', content: settings.persona ?? deps.systemPrompt },
    ...earlier.map(toPromptMessage),
    { role: 'user', content: question.content ?? question.text, name: asked.name },
  ];

  const checked = await verdict;
  if (checked && 'error' in checked) {
    if (context.signal.aborted) throw checked.error;
    return reportFailure(checked.error, { outbox, target, context });
  }
  if (checked?.category !== undefined) {
    context.log.info({ conversation, category: checked.category }, 'message refused: flagged by moderation');
    return say(outbox, target, REPLIES.inputRefused(checked.category), 'refused');
  }

  // Stream the completion into the platform, throttled and split by the ReplyStream. The
  // first message shows when the first edit would have (an answer done by then is one
  // message, never edited); where the platform streams drafts, the growing answer is a
  // draft and each message is sent once, final.
  const drafts = outbox.drafts?.available(target.chat) ? outbox.drafts : undefined;
  const stream = new ReplyStream({
    maxLength: outbox.maxMessageLength,
    editIntervalMs: outbox.editIntervalMs,
    firstHoldMs: outbox.editIntervalMs,
    preview: drafts ? 'draft' : 'edit',
    now,
  });
  const sent: SentMessage[] = [];
  const draftId = draftIdOf(context.jobId);
  const deliverAll = async (actions: ReplyAction[]): Promise<void> => {
    for (const action of actions) {
      // A run that lost its lock sends nothing more (drafts included): another worker answers.
      if (context.owned?.() === false) throw new DeliveryError('the job was taken over', { cause: new JobLostError(context.jobId) });
      // A preview past the process's budget is skipped; a message's first send and its final text never are.
      if ((action.type === 'draft' || (action.type === 'edit' && !action.final)) && deps.previews?.take() === false) continue;
      // From the moment text is on its way, "typing…" would only follow it.
      shown.any = true;
      if (action.type !== 'draft') await deliverActions(outbox, target, sent, [action]);
      else if (!(await showDraft(drafts, target, draftId, action.text))) {
        // Refused here (a group, or a server without drafts): send and edit instead, from now.
        stream.useEdits();
        await deliverActions(outbox, target, sent, stream.flush());
      }
    }
  };
  // Deliveries run one after another, in the order the stream decided them.
  let delivered = Promise.resolve();
  const deliver = (actions: ReplyAction[]): Promise<void> =>
    actions.length === 0 ? delivered : (delivered = delivered.then(() => deliverAll(actions)));
  // When the model pauses, text it already sent still shows within one edit interval.
  const flusher = setInterval(() => void deliver(stream.flush()).catch(() => undefined), outbox.editIntervalMs);
  let text = '';
  // A reasoning model's thinking never reaches the chat or history; with SHOW_REASONING=file it
  // comes after the answer, as a file. While it thinks, the chat shows "typing…".
  const thoughts = deps.showReasoning === 'file' ? new ReasoningNotes() : undefined;
  try {
    const effort = settings.reasoning ?? deps.reasoningEffort;
    const request = {
      model: settings.model ?? deps.model.info.model,
      messages: prompt,
      endUser: `${message.chat.platform}:${message.author.id}`,
      maxTokens: deps.maxCompletionTokens,
      ...(effort === undefined ? {} : { reasoningEffort: effort }),
    };
    for await (const event of deps.model.streamChat(request, context.signal)) {
      if (event.type === 'delta') {
        text += event.text;
        await deliver(stream.push(event.text));
      } else if (event.type === 'reasoning') {
        thoughts?.add(event.text);
      } else {
        if (event.usage) await deps.onUsage?.(message, event.usage).catch((error: unknown) => context.log.warn({ err: error }, 'could not count tokens'));
        if (event.reason === 'length' && text.trim() !== '') await deliver(stream.push(REPLIES.cutAtLength));
      }
    }
    if (text.trim() === '') {
      await deliver(stream.finish());
      return await say(outbox, target, REPLIES.emptyAnswer, 'failed');
    }
    if (safety?.output && (await flaggedCategory(safety.moderator, text, context.signal)) !== undefined) {
      context.log.info({ conversation }, 'answer withheld: flagged by moderation');
      await delivered;
      return await withhold(outbox, target, sent);
    }
    // The exchange goes into history while the final version goes out: the conversation's
    // next message runs only once this job has finished (ordering.ts), so it reads the
    // history with this exchange in it either way, and the user does not wait for the write.
    // Once per job: a rerun whose first run recorded the exchange (then lost the final
    // delivery to an outage) does not record it twice.
    const remembered = deps.history.append(
      historyKey,
      [asked, { role: 'assistant', name: deps.botName, text, at: now() }],
      { once: context.jobId, ...(question.redo ? { replaceLast: question.redo.entries } : {}) },
    );
    const shownFinal = deliver(stream.finish());
    const [written, final] = await Promise.allSettled([remembered, shownFinal]);
    if (final.status === 'rejected') throw final.reason;
    if (written.status === 'rejected') throw written.reason;
    if (thoughts) await attachReasoning(outbox, target, thoughts.text, context);
  } catch (error) {
    if (error instanceof DeliveryError) throw error.cause ?? error;
    // Shutting down past the grace period: not the user's problem; the queue runs it again.
    if (context.signal.aborted) throw error;
    return reportFailure(error, { stream, sent, outbox, target, context, deliver });
  } finally {
    clearInterval(flusher);
  }
  return { replied: true, messagesSent: sent.length, outcome: 'answered' };
}

/** Replaces a flagged answer that may already be partly showing with one short notice. */
async function withhold(outbox: Outbox, target: ReplyTarget, sent: readonly SentMessage[]): Promise<ChatResult> {
  const [first, ...rest] = sent;
  try {
    if (first === undefined) await outbox.send(target, REPLIES.answerWithheld, { final: true });
    else await outbox.edit(target, first, REPLIES.answerWithheld, { final: true });
    for (const message of rest) {
      await (outbox.deleteMessage?.(target.chat, message.id) ?? Promise.reject(new Error('no delete'))).catch(() =>
        outbox.edit(target, message, '…', { final: true }),
      );
    }
  } catch (error) {
    throw new DeliveryError(`could not deliver to ${outbox.platform}`, { cause: error });
  }
  return { replied: true, messagesSent: Math.max(1, sent.length), outcome: 'refused' };
}

function toPromptMessage(entry: HistoryEntry): ChatPromptMessage {
  return entry.role === 'user' ? { role: 'user', content: entry.text, name: entry.name } : { role: 'assistant', content: entry.text };
}

/** Shows a draft; a platform failure is a DeliveryError, a refusal is false. */
async function showDraft(drafts: Drafts | undefined, target: ReplyTarget, draftId: number, text: string): Promise<boolean> {
  if (!drafts) return false;
  try {
    return await drafts.show(target, draftId, text);
  } catch (error) {
    throw new DeliveryError('could not show a draft', { cause: error });
  }
}

async function deliverActions(outbox: Outbox, target: ReplyTarget, sent: SentMessage[], actions: ReplyAction[]): Promise<void> {
  for (const action of actions) {
    try {
      if (action.type === 'draft') continue;
      if (action.type === 'send') {
        // Only the first message of an answer is a reply; continuations follow it.
        const to = action.index === 0 ? target : { chat: target.chat, replyHandle: target.replyHandle };
        sent[action.index] = await outbox.send(to, action.text, { final: action.final });
      } else {
        const message = sent[action.index];
        if (message) await outbox.edit(target, message, action.text, { final: action.final });
      }
    } catch (error) {
      throw new DeliveryError(`could not deliver to ${outbox.platform}`, { cause: error });
    }
  }
}

/**
 * The AI call failed. Retryable failures with attempts left go back to the queue (after
 * saying so if part of an answer is already showing); anything else ends here with a
 * notice, so the user is never left waiting in silence.
 */
async function reportFailure(
  error: unknown,
  s: {
    outbox: Outbox;
    target: ReplyTarget;
    context: JobContext;
    /** What of the answer is already showing, if the stream had started. */
    stream?: ReplyStream;
    sent?: SentMessage[];
    deliver?: (actions: ReplyAction[]) => Promise<void>;
  },
): Promise<ChatResult> {
  const code: ErrorCode = errorCodeOf(error);
  const willRetry = worthRetrying(error) && s.context.attempt < s.context.maxAttempts;
  s.context.log.warn({ err: error, code, willRetry }, 'chat completion failed');
  const sent = s.sent?.length ?? 0;
  const partial = sent > 0;
  if (partial && s.stream && s.deliver) await s.deliver(s.stream.finish()).catch(() => undefined);
  if (willRetry) {
    if (partial) await s.outbox.send(s.target, `⚠️ ${FAILURE_NOTICES[code]} Retrying…`, { final: true });
    throw error;
  }
  await s.outbox.send(s.target, FAILURE_NOTICES[code], { final: true });
  return { replied: true, messagesSent: sent + 1, outcome: 'failed' };
}

/**
 * AI failures retry when the API says they may; anything else (Redis blinked, a bug)
 * gets the queue's next attempt too, and the user hears of it only after the last.
 */
export function worthRetrying(error: unknown): boolean {
  return isRetryable(error) || errorCodeOf(error) === ERROR_CODES.INTERNAL;
}

/**
 * Shows the activity (typing, recording, uploading) after `delayMs` (at once by default)
 * and every few seconds until `done()` is true.
 */
export function keepShowing(
  outbox: Outbox,
  target: ReplyTarget,
  activity: ChatActivity,
  done: () => boolean = () => false,
  delayMs = 0,
): { stop(): void } {
  const show = (): void => {
    if (!done()) void outbox.showTyping(target, activity).catch(() => undefined);
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  const start = (): void => {
    show();
    timer = setInterval(show, TYPING_REFRESH_MS);
  };
  const first = delayMs > 0 ? setTimeout(start, delayMs) : (start(), undefined);
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
