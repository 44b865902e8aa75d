/**
 * The Moderator port on `POST /moderations`, and the demo stand-in that flags nothing.
 * See https://platform.openai.com/docs/api-reference/moderations/create
 */
import type { ModerationScores } from '../../domain/moderation.js';
import type { Moderator } from '../../ports/index.js';
import type { OpenAIClient } from './client.js';

export function createOpenAIModerator(options: { readonly client: Pick<OpenAIClient, 'createModeration'>; readonly model: string }): Moderator {
  const { client, model } = options;
  return {
    model,
    async check(text, signal) {
      const response = await client.createModeration({ input: text, model }, { signal });
      const result = response.results[0];
      if (!result) return { flagged: false, categories: [], scores: {} };
      const scores: Record<string, number> = {};
      for (const [category, score] of Object.entries(result.category_scores)) if (typeof score === 'number') scores[category] = score;
      const categories = Object.entries(result.categories).filter(([, on]) => on === true).map(([category]) => category);
      return { flagged: result.flagged, categories, scores } satisfies ModerationScores;
    },
  };
}

/** The offline demo has no moderation endpoint: nothing is flagged. */
export function createDemoModerator(): Moderator {
  return {
    model: 'switchboard-demo',
    async check(_text, signal) {
      signal.throwIfAborted();
      return { flagged: false, categories: [], scores: {} };
    },
  };
}
