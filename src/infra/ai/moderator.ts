/**
 * The Moderator port on `POST /moderations`, and the demo stand-in that flags nothing.
 * Traced, each check is a `moderation` span (the model, whether and how many categories
 * it flagged; never the text), its request a child.
 * See https://platform.openai.com/docs/api-reference/moderations/create
 */
import type { ModerationScores } from '../../domain/moderation.js';
import type { Moderator } from '../../ports/index.js';
import { inSpan, tracingOn } from '../tracing/index.js';
import type { OpenAIClient } from './client.js';
import { DEMO_MODEL_NAME } from './demo-model.js';

/** The Moderator on the AI client's moderation endpoint. */
export function createOpenAIModerator(options: { readonly client: Pick<OpenAIClient, 'createModeration'>; readonly model: string }): Moderator {
  const { client, model } = options;
  const check = async (text: string, signal: AbortSignal): Promise<ModerationScores> => {
    const response = await client.createModeration({ input: text, model }, { signal });
    const result = response.results[0];
    if (!result) return { flagged: false, categories: [], scores: {} };
    const scores: Record<string, number> = {};
    for (const [category, score] of Object.entries(result.category_scores)) if (typeof score === 'number') scores[category] = score;
    const categories = Object.entries(result.categories).filter(([, on]) => on === true).map(([category]) => category);
    return { flagged: result.flagged, categories, scores } satisfies ModerationScores;
  };
  return {
    model,
    check: (text, signal) =>
      tracingOn()
        ? inSpan('moderation', { 'gen_ai.request.model': model }, async (span) => {
            const scores = await check(text, signal);
            span?.setAttribute('switchboard.moderation.flagged', scores.flagged);
            span?.setAttribute('switchboard.moderation.categories', scores.categories.length);
            return scores;
          })
        : check(text, signal),
  };
}

/** The offline demo has no moderation endpoint: nothing is flagged. */
export function createDemoModerator(): Moderator {
  return {
    model: DEMO_MODEL_NAME,
    async check(_text, signal) {
      signal.throwIfAborted();
      return { flagged: false, categories: [], scores: {} };
    },
  };
}
