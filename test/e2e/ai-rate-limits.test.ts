/**
 * End to end: the AI endpoint's limits bound what the service asks of it, in every
 * process together. A 429 storm is met with one request per hold, not a retry from every
 * waiting job; the users waiting keep seeing "typing…" and are answered when it passes,
 * never told the service failed.
 */
import { describe, expect, it } from 'vitest';
import { ann, useTelegramHarness } from '../fakes/telegram-harness.js';
import type { FakeChat, FakeUser } from '../fakes/telegram.js';

const h = useTelegramHarness();

const STORM_MS = 6_000;
const RETRY_AFTER_MS = 1_000;
const PEOPLE = 6;

describe('AI endpoint rate limits', () => {
  it('meets a 429 storm with one probe per hold, keeps typing on, and answers everyone after it', async () => {
    await h.start({ MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' });
    const stormEnds = Date.now() + STORM_MS;
    h.openai.enqueueFault({ path: '/chat/completions', kind: 'status', status: 429, retryAfterMs: String(RETRY_AFTER_MS), until: stormEnds });
    const people = Array.from({ length: PEOPLE }, (_, i) => {
      const user: FakeUser = { ...ann, id: 5_000 + i, first_name: `Person ${i}` };
      const chat: FakeChat = { id: user.id, type: 'private', first_name: user.first_name };
      return { user, chat, question: `question from person ${i}` };
    });
    for (const { chat, user, question } of people) h.telegram.message({ chat, from: user, text: question });
    for (const { chat, question } of people) await h.botTexts(chat, (t) => t.includes(`Echo: ${question}`));

    const requests = h.openai.requestsTo('/chat/completions');
    const duringStorm = requests.filter((r) => r.at < stormEnds);
    // Everyone's first request, then one probe a hold (plus one for a hold straddling the start).
    expect(duringStorm.length).toBeLessThanOrEqual(PEOPLE + STORM_MS / RETRY_AFTER_MS + 1);
    // Each person was answered once, by one successful request, and told nothing of the storm.
    expect(requests.filter((r) => r.at >= stormEnds)).toHaveLength(PEOPLE);
    for (const { chat, question } of people) {
      expect(h.telegram.botMessages(chat.id).map((m) => m.text)).toEqual([`Echo: ${question}`]);
      // "typing…" lasts 5 s on Telegram: a wait this long shows it again.
      expect(h.telegram.callsTo('sendChatAction').filter((c) => Number(c.params['chat_id']) === chat.id).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('gives up on a spent quota at once, with a plain notice', async () => {
    await h.start({ MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' });
    h.openai.enqueueFault({
      path: '/chat/completions',
      kind: 'status',
      status: 429,
      code: 'insufficient_quota',
      type: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
      times: 10,
    });
    const chat: FakeChat = { id: 6_001, type: 'private', first_name: 'Quota' };
    h.telegram.message({ chat, from: { ...ann, id: 6_001 }, text: 'anyone there?' });
    const [notice] = await h.botTexts(chat, (t) => t.length > 0);
    expect(notice).toBe('The AI service is having trouble right now. Please try again shortly.');
    // Asked once per attempt of the job, never retried inside one.
    expect(h.openai.requestsTo('/chat/completions').length).toBeLessThanOrEqual(3);
  });
});
