/**
 * The ModelCatalog port on `GET /models`, cached for a few minutes (it changes rarely and
 * `/model` should not cost a request each time).
 * See https://platform.openai.com/docs/api-reference/models/list
 */
import type { ModelCatalog } from '../../ports/index.js';
import type { OpenAIClient } from './client.js';

const CACHE_MS = 5 * 60_000;

export function createOpenAIModelCatalog(options: { readonly client: Pick<OpenAIClient, 'listModels'>; readonly now?: () => number }): ModelCatalog {
  const now = options.now ?? Date.now;
  let cached: { ids: readonly string[]; until: number } | undefined;
  return {
    async list(signal) {
      if (cached && cached.until > now()) return cached.ids;
      const response = await options.client.listModels({ signal });
      const ids = response.data.map((model) => model.id).sort();
      cached = { ids, until: now() + CACHE_MS };
      return ids;
    },
  };
}

/** The demo offers one model: itself. */
export function createDemoModelCatalog(name: string): ModelCatalog {
  return { list: async () => [name] };
}
