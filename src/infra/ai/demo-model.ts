/**
 * The built-in offline demo model: used when no AI endpoint is configured, so the
 * service works out of the box. It says plainly that it is the demo, then answers
 * deterministically about the user's last message and how much history it received
 * (proving history works), streamed word by word like a real model.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ChatRequest, ChatStreamEvent } from '../../domain/chat.js';
import type { ChatModel } from '../../ports/index.js';

/** The model name the demo reports. */
export const DEMO_MODEL_NAME = 'switchboard-demo';
/** Pause between two streamed words, so replies visibly stream. */
export const DEFAULT_DEMO_DELAY_MS = 25;
/** The demo's first line, on every answer. */
export const DEMO_NOTICE = '(Offline demo model — set OPENAI_API_KEY or OPENAI_BASE_URL for real answers.)';
/** Longest quote of the user's message, so a pasted essay does not come back whole. */
const MAX_ECHO_CHARS = 300;

/**
 * Options of createDemoChatModel.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export interface DemoChatModelOptions {
  /** Pause between words; 0 streams without waiting. Default 25 ms. */
  readonly delayMs?: number;
}

/**
 * A ChatModel that needs no network.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
export function createDemoChatModel(options: DemoChatModelOptions = {}): ChatModel {
  const delayMs = options.delayMs ?? DEFAULT_DEMO_DELAY_MS;
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError('createDemoChatModel: delayMs must be >= 0');
  return {
    info: { model: DEMO_MODEL_NAME, demo: true },
    async *streamChat(request, signal) {
      const pieces = demoAnswer(request).match(/\S+\s*|\s+/g) ?? [];
      for (const [index, piece] of pieces.entries()) {
        signal.throwIfAborted();
        if (index > 0 && delayMs > 0) await delay(delayMs, undefined, { signal }).catch(rethrowReason(signal));
        yield { type: 'delta', text: piece } satisfies ChatStreamEvent;
      }
      signal.throwIfAborted();
      yield { type: 'finish', reason: 'stop' } satisfies ChatStreamEvent;
    },
  };
}

/**
 * The full demo answer for a request: the notice, an echo of the last user message with
 * its word count, and the number of earlier turns received.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */
export function demoAnswer(request: ChatRequest): string {
  const turns = request.messages.filter((message) => message.role !== 'system');
  const lastUser = turns.findLastIndex((message) => message.role === 'user');
  const earlier = lastUser === -1 ? turns.length : lastUser;
  const memory = `I remember ${earlier} earlier ${earlier === 1 ? 'turn' : 'turns'} of this conversation.`;
  const content = lastUser === -1 ? '' : (turns[lastUser]?.content ?? '');
  const text = (typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? part.text : '')).join(' ')).trim();
  const images = typeof content === 'string' ? 0 : content.filter((part) => part.type === 'image_url').length;
  const seen = images === 0 ? '' : ` I received ${images === 1 ? 'an image' : `${images} images`}, but the demo cannot look at pictures.`;
  if (text === '') return `${DEMO_NOTICE}\nYou sent no text I can read.${seen} ${memory}`;
  const words = text.split(/\s+/).length;
  const echo = text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text;
  return `${DEMO_NOTICE}\nYou said: “${echo}” (${words} ${words === 1 ? 'word' : 'words'}).${seen} ${memory}`;
}

function rethrowReason(signal: AbortSignal): (error: unknown) => never {
  return (error) => {
    throw signal.aborted ? signal.reason : error;
  };
}
