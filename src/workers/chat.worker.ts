/**
 * The chat worker: one message in, one streamed answer out. Read top to bottom, it is
 * the whole pipeline of a message after the queue: commands, the prompt from history,
 * the streamed completion through a ReplyStream into the platform's Outbox, the
 * exchange written to history, and a plain-words notice when the AI service fails.
 */
import { ERROR_CODES, errorCodeOf, isRetryable, type ErrorCode } from '../domain/errors.js';
import type { ChatPromptMessage, HistoryEntry } from '../domain/chat.js';
import type { ChatJob, ChatResult } from '../domain/jobs.js';
import { FAILURE_NOTICES, REPLIES } from '../domain/replies.js';
import { ReplyStream, type ReplyAction } from '../domain/reply-stream.js';
import type {
  ChatModel,
  HistoryStore,
  JobContext,
  JobHandler,
  Outbox,
  Outboxes,
  ReplyTarget,
  SentMessage,
} from '../ports/index.js';

/** Typing indicators expire (Telegram after 5 s); refresh them until the first text shows. */
const TYPING_REFRESH_MS = 4_000;

/** What the chat worker needs; each a port, so it runs the same in a test and in a worker. */
export interface ChatWorkerDeps {
  readonly model: ChatModel;
  readonly history: HistoryStore;
  readonly outboxes: Outboxes;
  readonly systemPrompt: string;
  readonly botName: string;
  readonly maxCompletionTokens: number;
  readonly now?: () => number;
}

/** An outbox call failed: the platform, not the AI service. Retried by the queue. */
class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

/** Creates the `chat` job handler. */
export function createChatWorker(deps: ChatWorkerDeps): JobHandler<'chat'> {
  const now = deps.now ?? Date.now;

  return async function handleChat({ conversation, message }: ChatJob, context: JobContext): Promise<ChatResult> {
    const outbox = deps.outboxes[message.chat.platform];
    if (!outbox) {
      context.log.error({ platform: message.chat.platform }, 'no outbox for platform; message dropped');
      return { replied: false, messagesSent: 0, outcome: 'ignored' };
    }
    const target: ReplyTarget = { chat: message.chat, replyToMessageId: message.messageId, replyHandle: message.replyHandle };
    const say = async (text: string): Promise<ChatResult> => {
      await outbox.send(target, text, { final: true });
      return { replied: true, messagesSent: 1, outcome: 'command' };
    };

    // 1. Commands and messages we cannot answer with the model.
    const command = message.command;
    if (command) {
      switch (command.name) {
        case 'reset':
          await deps.history.clear(conversation);
          return say(REPLIES.historyCleared);
        case 'start':
        case 'help':
          return say(REPLIES.help(deps.botName));
        case 'image':
          return say(REPLIES.imageUsage);
        default:
          return say(REPLIES.unknownCommand(command.name));
      }
    }
    if (message.text.trim() === '') {
      return say(message.attachments.length > 0 ? REPLIES.unsupportedFile : REPLIES.emptyMessage);
    }

    // 2. The prompt: system prompt, the conversation so far, the new message.
    const earlier = await deps.history.read(conversation);
    const prompt: ChatPromptMessage[] = [
      { role: 'system', content: deps.systemPrompt },
      ...earlier.map(toPromptMessage),
      { role: 'user', content: message.text, name: message.author.displayName },
    ];

    // 3. Stream the completion into the platform, throttled and split by the ReplyStream.
    const stream = new ReplyStream({ maxLength: outbox.maxMessageLength, editIntervalMs: outbox.editIntervalMs, now });
    const sent: SentMessage[] = [];
    // Deliveries run one after another, in the order the stream decided them.
    let delivered = Promise.resolve();
    const deliver = (actions: ReplyAction[]): Promise<void> =>
      actions.length === 0 ? delivered : (delivered = delivered.then(() => deliverActions(outbox, target, sent, actions)));
    // When the model pauses, text it already sent still shows within one edit interval.
    const flusher = setInterval(() => void deliver(stream.flush()).catch(() => undefined), outbox.editIntervalMs);
    const typing = keepTyping(outbox, target, () => sent.length > 0);
    let answer = '';
    try {
      const request = {
        model: deps.model.info.model,
        messages: prompt,
        endUser: `${message.chat.platform}:${message.author.id}`,
        maxTokens: deps.maxCompletionTokens,
      };
      for await (const event of deps.model.streamChat(request, context.signal)) {
        if (event.type === 'delta') {
          answer += event.text;
          await deliver(stream.push(event.text));
        } else if (event.reason === 'length' && answer.trim() !== '') {
          await deliver(stream.push(REPLIES.cutAtLength));
        }
      }
      if (answer.trim() === '') {
        await deliver(stream.finish());
        await outbox.send(target, REPLIES.emptyAnswer, { final: true });
        return { replied: true, messagesSent: 1, outcome: 'failed' };
      }
      // 4. Remember the exchange before showing the final version, so whatever the user
      //    sees as finished is already in the history the next message will read.
      await deps.history.append(conversation, [
        { role: 'user', name: message.author.displayName, text: message.text, at: message.receivedAt },
        { role: 'assistant', name: deps.botName, text: answer, at: now() },
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
  };
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
  // AI failures retry when the API says they may; anything else (Redis blinked, a bug)
  // gets the queue's next attempt too, and the user hears of it only after the last.
  const worthRetrying = isRetryable(error) || code === ERROR_CODES.INTERNAL;
  const willRetry = worthRetrying && s.context.attempt < s.context.maxAttempts;
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

/** Shows the typing indicator now and every few seconds until `done()` is true. */
function keepTyping(outbox: Outbox, target: ReplyTarget, done: () => boolean): { stop(): void } {
  const show = (): void => {
    if (!done()) void outbox.showTyping(target).catch(() => undefined);
  };
  show();
  const timer = setInterval(show, TYPING_REFRESH_MS);
  return { stop: () => clearInterval(timer) };
}
