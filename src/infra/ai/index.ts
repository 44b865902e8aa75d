/**
 * The AI area: the one OpenAI-compatible HTTP client, the ChatModel and the media ports
 * (transcription, translation, images, picture edits and variations, moderation) on top
 * of it, and the built-in offline demo stand-ins.
 * See https://platform.openai.com/docs/api-reference/introduction
 */
export { createOpenAIClient, DEFAULT_TIMEOUT_MS } from './client.js';
export type { OpenAIClient, OpenAIClientOptions, RequestOptions } from './client.js';
export { createOpenAIChatModel, hashEndUser, sanitizeName } from './chat-model.js';
export type { OpenAIChatModelOptions } from './chat-model.js';
export { createDemoChatModel, DEMO_MODEL_NAME, DEMO_NOTICE } from './demo-model.js';
export type { DemoChatModelOptions } from './demo-model.js';
export { DEFAULT_MAX_RETRIES } from './retry.js';
export { createUpstreamGate } from './upstream-gate.js';
export type { GatePass, UpstreamGate, UpstreamGateOptions } from './upstream-gate.js';
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionParams,
  ChatFinishReason,
  CompletionUsage,
} from './chat-types.js';
export type {
  GeneratedImage,
  ImageEditParams,
  ImageParams,
  ImagesResponse,
  ImageUpload,
  ImageVariationParams,
  ModelInfo,
  ModelList,
  ModerationCategory,
  ModerationParams,
  ModerationResponse,
  ModerationResult,
  Transcription,
  TranscriptionParams,
  TranscriptionResponseFormat,
  TranslationParams,
} from './api-types.js';
export {
  createDemoImageGenerator,
  createDemoTranscriber,
  createOpenAIImageGenerator,
  createOpenAITranscriber,
  DEMO_TRANSCRIPT,
} from './media-models.js';
export type { OpenAIImageGeneratorOptions } from './media-models.js';
export { createDemoModerator, createOpenAIModerator } from './moderator.js';
export { createDemoModelCatalog, createOpenAIModelCatalog } from './model-catalog.js';
export { createDemoTranslator, createOpenAITranslator, DEMO_TRANSLATION } from './translator.js';
export { createDemoPictureEditor, createOpenAIPictureEditor } from './picture-editor.js';
export type { OpenAIPictureEditorOptions } from './picture-editor.js';
export { PICTURE_UPLOAD_MAX_BYTES, toEndpointPicture } from './picture-convert.js';
