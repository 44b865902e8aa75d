/**
 * The Translator port on `POST /audio/translations` (speech in any language to English
 * text), and its offline demo stand-in.
 * See https://platform.openai.com/docs/api-reference/audio/createTranslation
 */
import type { Translator } from '../../ports/index.js';
import type { OpenAIClient } from './client.js';
import { DEMO_MODEL_NAME } from './demo-model.js';

/** What the demo translator "hears". */
export const DEMO_TRANSLATION = '(Offline demo: without an AI service I cannot translate; this line stands in for what was said, in English.)';

/** The Translator on an OpenAI-compatible endpoint, with TRANSLATE_MODEL. */
export function createOpenAITranslator(options: { readonly client: Pick<OpenAIClient, 'createTranslation'>; readonly model: string }): Translator {
  const { client, model } = options;
  return {
    model,
    async translate(file, signal) {
      const result = await client.createTranslation(
        { file: file.bytes, filename: file.fileName, model, ...(file.mimeType ? { mimeType: file.mimeType } : {}) },
        { signal },
      );
      return result.text;
    },
  };
}

/** A demo translator: no network, one fixed sentence. */
export function createDemoTranslator(): Translator {
  return {
    model: DEMO_MODEL_NAME,
    async translate(_file, signal) {
      signal.throwIfAborted();
      return DEMO_TRANSLATION;
    },
  };
}
