/**
 * Abuse limits (issue #7) end to end on Telegram: per-user request rates, daily token
 * budgets and allowlists, counted in Redis; a user over a limit is told when they can
 * ask again, once, not on every message.
 */
import { describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import { ann, bob, dm, group, MENTION, useTelegramHarness } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();
const bobDm = { id: bob.id, type: 'private' as const, first_name: 'Bob' };
const otherGroup = { id: -5_151, type: 'group' as const, title: 'Strangers' };
const base = { MODERATE_INPUT: 'false', MODERATE_OUTPUT: 'false' };

describe('abuse limits', () => {
  it('tells a user over USER_RATE_LIMIT when to ask again, once, and answers nothing more', async () => {
    await h.start({ ...base, USER_RATE_LIMIT: '2' });
    for (const text of ['one', 'two', 'three', 'four']) {
      h.telegram.message({ chat: dm, from: ann, text });
      // In order, so which messages fit the limit is certain.
      await h.botTexts(dm, (t) => t.length >= Math.min(['one', 'two', 'three', 'four'].indexOf(text) + 1, 3));
    }
    const texts = await h.botTexts(dm, (t) => t.length === 3);
    expect(texts.slice(0, 2)).toEqual(['Echo: one', 'Echo: two']);
    expect(texts[2]).toMatch(/^You're sending me messages faster than I can take \(2 a minute\)\. You can ask again in \d+ s\.$/);
    // The fourth is dropped silently, and the model was asked twice only.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.telegram.botMessages(dm.id)).toHaveLength(3);
    expect(h.askedAbout()).toEqual(['one', 'two']);
    // Bob has his own allowance.
    h.telegram.message({ chat: bobDm, from: bob, text: 'hi' });
    expect(await h.botTexts(bobDm, (t) => t[0] === 'Echo: hi')).toEqual(['Echo: hi']);
  });

  it('stops a user at USER_DAILY_TOKENS and says when the budget resets', async () => {
    await h.start({ ...base, USER_DAILY_TOKENS: '5' });
    h.telegram.message({ chat: dm, from: ann, text: 'a question that uses more than five tokens' });
    await h.botTexts(dm, (t) => t[0] === 'Echo: a question that uses more than five tokens');
    h.telegram.message({ chat: dm, from: ann, text: 'another' });
    const texts = await h.botTexts(dm, (t) => t.length === 2);
    expect(texts[1]).toMatch(/^You've used today's budget of 5 tokens\. You can ask again in .+ \(at midnight UTC\)\.$/);
    expect(h.askedAbout()).toHaveLength(1);
  });

  it('serves only allowed chats and users', async () => {
    await h.start({ ...base, ALLOWED_TELEGRAM_CHATS: String(group.id), ALLOWED_USERS: `telegram:${ann.id}` });
    // Ann in the allowed group: answered.
    h.telegram.message({ chat: group, from: ann, text: `${MENTION} hello` });
    expect(await h.botTexts(group, (t) => t[0] === 'Echo: hello')).toEqual(['Echo: hello']);
    // Ann in a group that is not allowed: nothing.
    h.telegram.message({ chat: otherGroup, from: ann, text: `${MENTION} hello` });
    // Bob in the allowed group is not an allowed user: nothing.
    h.telegram.message({ chat: group, from: bob, text: `${MENTION} me too` });
    // Ann's DM is allowed (she is listed); Bob's DM is told why, once.
    h.telegram.message({ chat: dm, from: ann, text: 'private question' });
    h.telegram.message({ chat: bobDm, from: bob, text: 'let me in' });
    h.telegram.message({ chat: bobDm, from: bob, text: 'please' });
    expect(await h.botTexts(dm, (t) => t[0] === 'Echo: private question')).toEqual(['Echo: private question']);
    expect(await h.botTexts(bobDm, (t) => t.length === 1)).toEqual([REPLIES.notAllowed]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.telegram.botMessages(otherGroup.id)).toEqual([]);
    expect(h.telegram.botMessages(group.id)).toHaveLength(1);
    expect(h.telegram.botMessages(bobDm.id)).toHaveLength(1);
    expect(h.askedAbout().sort()).toEqual(['hello', 'private question']);
  });
});
