/**
 * Platform-neutral chat types: what a conversation turn is, and what we ask a chat
 * model for. They mirror the OpenAI chat completions shapes we use, nothing more.
 * See https://platform.openai.com/docs/api-reference/chat/create
 */

import type { ReasoningEffort } from './reasoning.js';

/** One stored turn of a conversation. */
export interface HistoryEntry {
  readonly role: 'user' | 'assistant';
  /** Display name of the author (users) or the bot; shown to the model for group chats. */
  readonly name: string;
  readonly text: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** A user's turn: the platform's id of the message it was. */
  readonly id?: string;
  /** A user's turn: ids of other messages whose content it carries (the message it replied to). */
  readonly refs?: readonly string[];
}

/**
 * One part of a user message with an image: text, or an image as a URL (we send `data:`
 * URLs, so the provider never fetches from a platform).
 * See https://platform.openai.com/docs/guides/images-vision
 */
export type ChatContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string; readonly detail?: 'auto' | 'low' | 'high' } };

/** A message of a chat completion request. */
export interface ChatPromptMessage {
  readonly role: 'system' | 'user' | 'assistant';
  /** Text, or (user messages only) text and image parts. */
  readonly content: string | readonly ChatContentPart[];
  /** Author name (OpenAI allows `[a-zA-Z0-9_-]{1,64}`); sanitized by the client. */
  readonly name?: string;
}

/** Token usage reported by the endpoint (`stream_options.include_usage`). */
export interface ChatUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

/** A request to a chat model. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatPromptMessage[];
  /** Stable, opaque end-user identity; the client sends only a hash of it. */
  readonly endUser?: string;
  readonly maxTokens?: number;
  /** How hard a reasoning model thinks (`reasoning_effort`); sent only to models that take it. */
  readonly reasoningEffort?: ReasoningEffort;
}

/**
 * One event of a streamed completion: `delta` is answer text, `reasoning` what a
 * reasoning model thinks before it (its `reasoning_content`, or its `<think>` text),
 * never part of the answer.
 */
export type ChatStreamEvent =
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'reasoning'; readonly text: string }
  | { readonly type: 'finish'; readonly reason: string | null; readonly usage?: ChatUsage };
