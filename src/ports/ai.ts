/**
 * The AI endpoint, one port per capability (chat, speech, images, moderation, models).
 * One area of src/ports; index.ts re-exports every port.
 */
import type { ChatRequest, ChatStreamEvent } from '../domain/chat.js';
import type { FileContent } from '../domain/media.js';
import type { ModerationScores } from '../domain/moderation.js';
import type { OutgoingImage } from './outbox.js';

/** A chat model that streams its answer. */
export interface ChatModel {
  /** The model name and whether it is the built-in offline demo. */
  readonly info: { readonly model: string; readonly demo: boolean };
  /**
   * Streams one completion. Breaking out of the iteration, or aborting `signal`,
   * aborts the underlying request. Throws the classes in src/domain/errors.ts.
   */
  streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

/** Speech to text (`POST /audio/transcriptions`). */
export interface Transcriber {
  readonly model: string;
  /** The transcript. Throws the classes in src/domain/errors.ts (a 400 means the audio could not be read). */
  transcribe(file: OutgoingAudio, options: { readonly endUser?: string }, signal: AbortSignal): Promise<string>;
}

/** An audio file for transcription, named with an extension the endpoint accepts. */
export interface OutgoingAudio {
  readonly bytes: Uint8Array;
  readonly fileName: string;
  readonly mimeType?: string;
}

/** Text to image (`POST /images/generations`). */
export interface ImageGenerator {
  readonly model: string;
  /** One image; a `url` answer is fetched (guarded) into bytes. Throws the classes in src/domain/errors.ts. */
  generate(
    request: { readonly prompt: string; readonly endUser?: string },
    signal: AbortSignal,
  ): Promise<{ readonly image: OutgoingImage; readonly revisedPrompt?: string }>;
}

/** Speech in any language to English text (`POST /audio/translations`). */
export interface Translator {
  readonly model: string;
  /** The English text. Throws the classes in src/domain/errors.ts (a 400 means the audio could not be read). */
  translate(file: OutgoingAudio, signal: AbortSignal): Promise<string>;
}

/** A picture the user sent, as downloaded: any type the platform gave. */
export type IncomingPicture = FileContent;

/**
 * Pictures from a picture: `POST /images/edits` (with a prompt) and
 * `POST /images/variations`. The picture is converted to what the endpoint takes first
 * (UnreadablePictureError when it cannot be). Throws the classes in src/domain/errors.ts.
 */
export interface PictureEditor {
  /** The model of edits. */
  readonly editModel: string;
  /** The model of variations. */
  readonly variationModel: string;
  edit(
    request: { readonly picture: IncomingPicture; readonly prompt: string; readonly endUser?: string },
    signal: AbortSignal,
  ): Promise<{ readonly image: OutgoingImage; readonly revisedPrompt?: string }>;
  /** `count` variations (1 to 10). */
  vary(request: { readonly picture: IncomingPicture; readonly count: number; readonly endUser?: string }, signal: AbortSignal): Promise<readonly OutgoingImage[]>;
}

/** Scores text with the moderation endpoint (`POST /moderations`). */
export interface Moderator {
  readonly model: string;
  /** Throws the classes in src/domain/errors.ts. */
  check(text: string, signal: AbortSignal): Promise<ModerationScores>;
}

/** The models the AI endpoint offers (`GET /models`), for `/model`. */
export interface ModelCatalog {
  /** Model ids, sorted; throws the classes in src/domain/errors.ts. */
  list(signal: AbortSignal): Promise<readonly string[]>;
}
