/**
 * No doubled answers (issue #7): a job that runs again finds what it already sent in its
 * reply ledger and edits it, instead of posting a second answer.
 */
import { describe, expect, it } from 'vitest';
import { finalAnswers, followChannel, postMessage } from '../support/playground-client.js';
import { usePlaygroundApp } from '../support/playground-app.js';

const API_KEY = 'sk-test-ledger-0123456789abcdef';
const h = usePlaygroundApp({ apiKey: API_KEY, label: 'ledger', env: { MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' } });

describe('reply ledger', () => {
  it('edits the partly streamed answer of a failed attempt into the full one, and removes the retry notice', async () => {
    const answer = 'A long and careful answer, streamed in many small pieces. '.repeat(8).trim();
    h.fake.chatReply = () => answer;
    h.fake.streamChunkSize = 6;
    h.fake.streamDelayMs = 20;
    // The first attempt's stream breaks after some text has shown.
    h.fake.enqueueFault({ kind: 'cut-stream', path: '/chat/completions', afterChunks: 30 });
    const app = await h.start();
    const page = await followChannel(app.url, 'ledger');
    await postMessage(app.url, 'ledger', 'tell me');
    const messages = await page.waitFor((m) => finalAnswers(m).includes(answer) && !m.some((x) => x.role === 'assistant' && x.text.includes('Retrying')), 20_000);
    expect(h.fake.requestsTo('/chat/completions')).toHaveLength(2);
    // The user saw the retry notice while it mattered…
    expect(page.events.some((e) => e.role === 'assistant' && e.text.includes('Retrying'))).toBe(true);
    // …and ends with exactly one answer: the same message the first attempt started.
    expect(messages.filter((m) => m.role === 'assistant').map((m) => m.text)).toEqual([answer]);
    const firstAssistant = page.events.find((e) => e.role === 'assistant')!;
    expect(messages.find((m) => m.role === 'assistant')?.id).toBe(firstAssistant.id);
    page.close();
  });
});
