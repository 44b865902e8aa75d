/**
 * Answering in a conversation, shared by the chat and transcribe workers: the prompt
 * from history, the streamed completion through a ReplyStream into the platform's
 * Outbox, the exchange written to history, and a plain-words notice when the AI service
 * fails.
 */
import { ERROR_CODES, errorCodeOf, isRetryable, type ErrorCode } from '../domain/errors.js';
import type { ChatContentPart, ChatPromptMessage, HistoryEntry } from '../domain/chat.js';
import type { InboundMessage } from '../domain/inbound-message.js';
import type { ChatResult } from '../domain/jobs.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { ReplyStream, type ReplyAction } from '../domain/reply-stream.js';
import type { ChatActivity, ChatModel, HistoryStore, JobContext, Outbox, ReplyTarget, SentMessage } from '../ports/index.js';

/** Typing indicators expire (Telegram after 5 s); refresh them until the first text shows. */
const TYPING_REFRESH_MS = 4_000;

/** What answering needs; each a port. */
export interface AnswerDeps {
  readonly model: ChatModel;
  readonly history: HistoryStore;
  readonly systemPrompt: string;
  readonly botName: string;
  readonly maxCompletionTokens: number;
  readonly now?: () => number;
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
}

/** An outbox call failed: the platform, not the AI service. Retried by the queue. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
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
  const now = deps.now ?? Date.now;
  const { conversation, message, outbox, target } = question;

  // The prompt: system prompt, the conversation so far, the new message.
  const earlier = await deps.history.read(conversation);
  const prompt: ChatPromptMessage[] = [
    { role: 'system', content: deps.systemPrompt },
    ...earlier.map(toPromptMessage),
    { role: 'user', content: question.content ?? question.text, name: message.author.displayName },
  ];

  // Stream the completion into the platform, throttled and split by the ReplyStream.
  const stream = new ReplyStream({ maxLength: outbox.maxMessageLength, editIntervalMs: outbox.editIntervalMs, now });
  const sent: SentMessage[] = [];
  // Deliveries run one after another, in the order the stream decided them.
  let delivered = Promise.resolve();
  const deliver = (actions: ReplyAction[]): Promise<void> =>
    actions.length === 0 ? delivered : (delivered = delivered.then(() => deliverActions(outbox, target, sent, actions)));
  // When the model pauses, text it already sent still shows within one edit interval.
  const flusher = setInterval(() => void deliver(stream.flush()).catch(() => undefined), outbox.editIntervalMs);
  const typing = keepShowing(outbox, target, 'typing', () => sent.length > 0);
  let text = '';
  try {
    const request = {
      model: deps.model.info.model,
      messages: prompt,
      endUser: `${message.chat.platform}:${message.author.id}`,
      maxTokens: deps.maxCompletionTokens,
    };
    for await (const event of deps.model.streamChat(request, context.signal)) {
      if (event.type === 'delta') {
        text += event.text;
        await deliver(stream.push(event.text));
      } else if (event.reason === 'length' && text.trim() !== '') {
        await deliver(stream.push(REPLIES.cutAtLength));
      }
    }
    if (text.trim() === '') {
      await deliver(stream.finish());
      return await say(outbox, target, REPLIES.emptyAnswer, 'failed');
    }
    // Remember the exchange before showing the final version, so whatever the user sees
    // as finished is already in the history the next message will read.
    await deps.history.append(conversation, [
      { role: 'user', name: message.author.displayName, text: question.text, at: message.receivedAt },
      { role: 'assistant', name: deps.botName, text, at: now() },
    ]);
    await deliver(stream.finish());
  } catch (error) {
    if (error instanceof DeliveryError) throw error.cause ?? error;
    // Shutting down past the grace period: not the user's problem; the queue runs it again.
    if (context.signal.aborted) throw error;
    return reportFailure(error, { stream, sent, outbox, target, context, deliver });
  } finally {
    clearInterval(flusher);
    typing.stop();
  }
  return { replied: true, messagesSent: sent.length, outcome: 'answered' };
}

function toPromptMessage(entry: HistoryEntry): ChatPromptMessage {
  return entry.role === 'user' ? { role: 'user', content: entry.text, name: entry.name } : { role: 'assistant', content: entry.text };
}

async function deliverActions(outbox: Outbox, target: ReplyTarget, sent: SentMessage[], actions: ReplyAction[]): Promise<void> {
  for (const action of actions) {
    try {
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
    stream: ReplyStream;
    sent: SentMessage[];
    outbox: Outbox;
    target: ReplyTarget;
    context: JobContext;
    deliver: (actions: ReplyAction[]) => Promise<void>;
  },
): Promise<ChatResult> {
  const code: ErrorCode = errorCodeOf(error);
  const willRetry = worthRetrying(error) && s.context.attempt < s.context.maxAttempts;
  s.context.log.warn({ err: error, code, willRetry }, 'chat completion failed');
  const partial = s.sent.length > 0;
  if (partial) await s.deliver(s.stream.finish()).catch(() => undefined);
  if (willRetry) {
    if (partial) await s.outbox.send(s.target, `⚠️ ${FAILURE_NOTICES[code]} Retrying…`, { final: true });
    throw error;
  }
  await s.outbox.send(s.target, FAILURE_NOTICES[code], { final: true });
  return { replied: true, messagesSent: s.sent.length + 1, outcome: 'failed' };
}

/**
 * AI failures retry when the API says they may; anything else (Redis blinked, a bug)
 * gets the queue's next attempt too, and the user hears of it only after the last.
 */
export function worthRetrying(error: unknown): boolean {
  return isRetryable(error) || errorCodeOf(error) === ERROR_CODES.INTERNAL;
}

/** Shows the activity (typing, recording, uploading) now and every few seconds until `done()` is true. */
export function keepShowing(outbox: Outbox, target: ReplyTarget, activity: ChatActivity, done: () => boolean = () => false): { stop(): void } {
  const show = (): void => {
    if (!done()) void outbox.showTyping(target, activity).catch(() => undefined);
  };
  show();
  const timer = setInterval(show, TYPING_REFRESH_MS);
  return { stop: () => clearInterval(timer) };
}
