/**
 * Request and response shapes of the non-chat endpoints the client calls: audio
 * transcription and translation, image generation, edits and variations, moderation and
 * the model list, after the OpenAI spec (CreateTranscriptionRequest,
 * CreateTranslationRequest, CreateImageRequest, CreateImageEditRequest,
 * CreateImageVariationRequest, CreateModerationRequest/Response, ListModelsResponse).
 * Params use camelCase where the client builds the wire body.
 * See https://platform.openai.com/docs/api-reference
 */

/**
 * Formats `POST /audio/transcriptions` can answer in (`AudioResponseFormat`).
 * See https://platform.openai.com/docs/api-reference/audio/createTranscription#audio-createtranscription-response_format
 */
export type TranscriptionResponseFormat = 'json' | 'text' | 'srt' | 'verbose_json' | 'vtt';

/**
 * Params of `POST /audio/transcriptions`, sent as multipart/form-data.
 * See https://platform.openai.com/docs/api-reference/audio/createTranscription
 */
export interface TranscriptionParams {
  /** The audio bytes. */
  readonly file: Blob | Uint8Array;
  /** A name with an extension (`voice.ogg`): the server tells the format by it. */
  readonly filename: string;
  /** The audio's MIME type, if known (`audio/ogg`). */
  readonly mimeType?: string;
  readonly model: string;
  /** ISO-639-1 code of the spoken language. */
  readonly language?: string;
  readonly prompt?: string;
  readonly responseFormat?: TranscriptionResponseFormat;
}

/**
 * A transcription; for `text`, `srt` and `vtt` the body itself is the text.
 * See https://platform.openai.com/docs/api-reference/audio/json-object
 */
export interface Transcription {
  readonly text: string;
  /** Present with `verbose_json`. */
  readonly language?: string;
  /** Seconds; present with `verbose_json`. */
  readonly duration?: number;
}

/**
 * Params of `POST /audio/translations` (speech in any language to English text), sent as
 * multipart/form-data; the file rules are transcription's.
 * See https://platform.openai.com/docs/api-reference/audio/createTranslation
 */
export interface TranslationParams {
  readonly file: Blob | Uint8Array;
  /** A name with an extension the endpoint accepts (`voice.ogg`). */
  readonly filename: string;
  readonly mimeType?: string;
  readonly model: string;
  /** English text to guide the style. */
  readonly prompt?: string;
  readonly responseFormat?: TranscriptionResponseFormat;
}

/**
 * A picture sent to the picture endpoints: its bytes, a name with the extension of its
 * type, and the type (`image/png`).
 * See https://platform.openai.com/docs/api-reference/images/createEdit
 */
export interface ImageUpload {
  readonly bytes: Uint8Array;
  readonly filename: string;
  readonly mimeType: string;
}

/**
 * Params of `POST /images/edits`, sent as multipart/form-data (the JSON form, with image
 * URLs or file ids, is not used).
 * See https://platform.openai.com/docs/api-reference/images/createEdit
 */
export interface ImageEditParams {
  readonly image: ImageUpload;
  readonly prompt: string;
  readonly model: string;
  readonly n?: number;
  readonly size?: string;
  /** dall-e-2 only; the GPT image models always answer with `b64_json`. */
  readonly responseFormat?: 'url' | 'b64_json';
  /** Stable end-user identifier; send a hash (see hashEndUser). */
  readonly user?: string;
}

/**
 * Params of `POST /images/variations` (dall-e-2 only, at OpenAI), multipart/form-data.
 * See https://platform.openai.com/docs/api-reference/images/createVariation
 */
export interface ImageVariationParams {
  readonly image: ImageUpload;
  readonly model: string;
  readonly n?: number;
  readonly size?: '256x256' | '512x512' | '1024x1024';
  readonly responseFormat?: 'url' | 'b64_json';
  readonly user?: string;
}

/**
 * Params of `POST /images/generations`.
 * See https://platform.openai.com/docs/api-reference/images/create
 */
export interface ImageParams {
  readonly prompt: string;
  readonly model: string;
  /** `1024x1024`, `1536x1024`, `auto`, … as the model supports. */
  readonly size?: string;
  readonly n?: number;
  /** dall-e-2/3 only; the GPT image models always answer with `b64_json`. */
  readonly responseFormat?: 'url' | 'b64_json';
  /** Stable end-user identifier; send a hash (see hashEndUser). */
  readonly user?: string;
}

/**
 * One generated image (`Image`).
 * See https://platform.openai.com/docs/api-reference/images/object
 */
export interface GeneratedImage {
  readonly b64_json?: string;
  readonly url?: string;
  readonly revised_prompt?: string;
}

/**
 * The answer of `POST /images/generations` (`ImagesResponse`).
 * See https://platform.openai.com/docs/api-reference/images/object
 */
export interface ImagesResponse {
  readonly created: number;
  readonly data: readonly GeneratedImage[];
}

/**
 * Params of `POST /moderations`.
 * See https://platform.openai.com/docs/api-reference/moderations/create
 */
export interface ModerationParams {
  readonly input: string | readonly string[];
  /** `omni-moderation-latest` when omitted (the server's default). */
  readonly model?: string;
}

/**
 * Moderation categories (keys of `categories` and `category_scores`).
 * See https://platform.openai.com/docs/api-reference/moderations/object
 */
export type ModerationCategory =
  | 'hate'
  | 'hate/threatening'
  | 'harassment'
  | 'harassment/threatening'
  | 'illicit'
  | 'illicit/violent'
  | 'self-harm'
  | 'self-harm/intent'
  | 'self-harm/instructions'
  | 'sexual'
  | 'sexual/minors'
  | 'violence'
  | 'violence/graphic';

/**
 * The verdict on one input.
 * See https://platform.openai.com/docs/api-reference/moderations/object
 */
export interface ModerationResult {
  readonly flagged: boolean;
  /** `illicit` and `illicit/violent` are null from the legacy text models. */
  readonly categories: Readonly<Record<ModerationCategory, boolean | null>>;
  readonly category_scores: Readonly<Record<ModerationCategory, number>>;
  readonly category_applied_input_types?: Readonly<Record<ModerationCategory, readonly ('text' | 'image')[]>>;
}

/**
 * The answer of `POST /moderations` (`CreateModerationResponse`).
 * See https://platform.openai.com/docs/api-reference/moderations/object
 */
export interface ModerationResponse {
  readonly id: string;
  readonly model: string;
  readonly results: readonly ModerationResult[];
}

/**
 * A model the endpoint offers (`Model`).
 * See https://platform.openai.com/docs/api-reference/models/object
 */
export interface ModelInfo {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
}

/**
 * The answer of `GET /models` (`ListModelsResponse`).
 * See https://platform.openai.com/docs/api-reference/models/list
 */
export interface ModelList {
  readonly object: 'list';
  readonly data: readonly ModelInfo[];
}
