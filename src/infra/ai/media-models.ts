/**
 * The Transcriber and ImageGenerator ports on an OpenAI-compatible endpoint, and their
 * offline demo stand-ins (used when no endpoint is configured, like the demo chat model).
 * See https://platform.openai.com/docs/api-reference/audio/createTranscription
 * and https://platform.openai.com/docs/api-reference/images/create
 */
import type { Downloader, ImageGenerator, Transcriber } from '../../ports/index.js';
import { hashEndUser } from './chat-model.js';
import type { OpenAIClient } from './client.js';
import { DEMO_MODEL_NAME } from './demo-model.js';
import { imageFromAnswer } from './images-answer.js';
import { createPng, type Rgb } from './png.js';

/** What the demo transcriber "hears". */
export const DEMO_TRANSCRIPT = '(Offline demo: without an AI service I cannot transcribe; this line stands in for what you said.)';

export function createOpenAITranscriber(options: { readonly client: Pick<OpenAIClient, 'createTranscription'>; readonly model: string }): Transcriber {
  const { client, model } = options;
  return {
    model,
    async transcribe(file, { endUser }, signal) {
      void endUser; // The transcription endpoint takes no end-user id.
      const result = await client.createTranscription(
        { file: file.bytes, filename: file.fileName, model, ...(file.mimeType ? { mimeType: file.mimeType } : {}) },
        { signal },
      );
      return result.text;
    },
  };
}

export interface OpenAIImageGeneratorOptions {
  readonly client: Pick<OpenAIClient, 'createImage'>;
  readonly model: string;
  /** `1024x1024`, or `auto` to let the model choose. */
  readonly size: string;
  /** Fetches a `url` answer; allow only the provider's hosts. */
  readonly downloader: Downloader;
}

export function createOpenAIImageGenerator(options: OpenAIImageGeneratorOptions): ImageGenerator {
  const { client, model, size, downloader } = options;
  // DALL·E answers with a URL unless asked for base64; the GPT image models always send base64 and refuse the parameter.
  const askForBase64 = /^dall-e/i.test(model);
  return {
    model,
    async generate({ prompt, endUser }, signal) {
      const response = await client.createImage(
        {
          prompt,
          model,
          n: 1,
          ...(size === 'auto' ? {} : { size }),
          ...(askForBase64 ? { responseFormat: 'b64_json' as const } : {}),
          ...(endUser ? { user: hashEndUser(endUser) } : {}),
        },
        { signal },
      );
      const first = response.data[0];
      const revisedPrompt = first?.revised_prompt || undefined;
      const image = await imageFromAnswer(first, downloader, signal);
      return revisedPrompt === undefined ? { image } : { image, revisedPrompt };
    },
  };
}

/** A demo transcriber: no network, one fixed sentence. */
export function createDemoTranscriber(): Transcriber {
  return {
    model: DEMO_MODEL_NAME,
    async transcribe(_file, _options, signal) {
      signal.throwIfAborted();
      return DEMO_TRANSCRIPT;
    },
  };
}

/** A demo image model: a small square in a colour taken from the prompt. */
export function createDemoImageGenerator(): ImageGenerator {
  return {
    model: DEMO_MODEL_NAME,
    async generate({ prompt }, signal) {
      signal.throwIfAborted();
      let hash = 0;
      for (const char of prompt) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
      const colour: Rgb = [hash & 0xff, (hash >> 8) & 0xff, (hash >> 16) & 0xff];
      const png = createPng(256, 256, colour);
      return {
        image: { bytes: new Uint8Array(png), mimeType: 'image/png', fileName: 'image.png' },
        revisedPrompt: `(Offline demo: a plain colour stands in for “${prompt}”.)`,
      };
    },
  };
}
