/**
 * The conversation history's reads and writes as spans (issue #16: the history append of
 * an answer, beside its final delivery). Attributes: how many entries, never their text.
 * Wrapped only in a process that traces (src/app/workers.stage.ts).
 */
import type { HistoryStore } from '../../ports/index.js';
import { inSpan } from './spans.js';

/** The HistoryStore with a span around each Redis call. */
export function tracedHistory(history: HistoryStore): HistoryStore {
  return {
    read: (conversation) =>
      inSpan('history read', undefined, async (span) => {
        const entries = await history.read(conversation);
        span?.setAttribute('switchboard.history.entries', entries.length);
        return entries;
      }),
    append: (conversation, entries, options) =>
      inSpan('history append', { 'switchboard.history.entries': entries.length }, () => history.append(conversation, entries, options)),
    clear: (conversation) => inSpan('history clear', undefined, () => history.clear(conversation)),
  };
}
