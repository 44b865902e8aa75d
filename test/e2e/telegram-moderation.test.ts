/**
 * Community moderation on Telegram (issue #6), end to end through src/app.ts's wiring:
 * the fake Bot API hands out group messages, the gateway sends those of moderated groups
 * to `moderate` jobs, the worker scores them with the fake OpenAI's moderation rules and
 * acts through the Telegram Outbox (deleteMessage, restrictChatMember, a warning reply),
 * and the mod log is a Telegram chat. Also the admin command `/moderation` and the safe
 * answers to a flagged message addressed to the bot.
 */
import { describe, expect, it } from 'vitest';
import { REPLIES } from '../../src/domain/replies.js';
import type { FakeChat, FakeUser } from '../fakes/telegram.js';
import { ann, bob, dm, MENTION, useTelegramHarness, WAIT_MS } from '../fakes/telegram-harness.js';

const h = useTelegramHarness();

const community: FakeChat = { id: -1_009_876_543_210, type: 'supergroup', title: 'Community' };
const bookClub: FakeChat = { id: -1_005_555_555_555, type: 'supergroup', title: 'Book club' };
const modLog: FakeChat = { id: -1_001_111_111_111, type: 'supergroup', title: 'Mod log' };
const mo: FakeUser = { id: 1003, is_bot: false, first_name: 'Mo' };

const FLAGGED = 'you are all idiots';
const RULES = [{ match: 'idiots', category: 'harassment' as const, score: 0.95 }];
/**
 * The gateway keeps whether a chat is moderated for 5 s (createModeratedChannels in src/infra/moderation/redis-moderation-settings.ts);
 * a switch made with /moderation is seen by intake once that has passed.
 */

/** Starts the service with `community` moderated and `modLog` as the mod log. */
async function start(env: Record<string, string> = {}): Promise<void> {
  h.openai.moderationRules = RULES;
  h.telegram.addChat(modLog);
  await h.start({ MODERATED_CHANNELS: `telegram:${community.id}`, MOD_LOG_CHANNEL: `telegram:${modLog.id}`, ...env });
}

function post(chat: FakeChat, from: FakeUser, text: string): number {
  return (h.telegram.message({ chat, from, text })['message'] as { message_id: number }).message_id;
}

/** The text of every moderation request, in order (safe answers' checks included). */
function moderated(): string[] {
  return h.openai.requestsTo('/moderations').map((r) => String((r.body as { input: unknown }).input));
}

function sendsTo(chat: FakeChat): number {
  return h.telegram.callsTo('sendMessage').filter((c) => String(c.params['chat_id']) === String(chat.id)).length;
}

describe('telegram: community moderation', () => {
  it('deletes a flagged message nobody addressed to the bot, and writes who, why, what and a link to the mod log', async () => {
    await start();
    const id = post(community, ann, FLAGGED);

    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    expect(h.telegram.deletions).toEqual([{ chatId: community.id, messageId: id }]);
    expect(entry).toContain('deleted the message');
    expect(entry).toContain(`Ann (${ann.id})`);
    expect(entry).toContain('harassment 0.95');
    expect(entry).toContain(`https://t.me/c/9876543210/${id}`);
    expect(entry).toContain(FLAGGED);
    // Nothing was said in the group, and the chat endpoint never heard of it.
    expect(sendsTo(community)).toBe(0);
    expect(h.openai.requestsTo('/chat/completions')).toHaveLength(0);
    expect(h.telegram.callsTo('getUpdates')[0]?.params['allowed_updates']).toEqual(['message', 'edited_message']);
  });

  it('leaves a clean message alone: not deleted, not answered, no chat call', async () => {
    await start();
    const clean = post(community, ann, 'lovely weather today');
    const flagged = post(community, bob, `bob thinks ${FLAGGED}`);

    // The lane is ordered: once the second is deleted, the first has been checked.
    await expect.poll(() => h.telegram.deletions.length, { timeout: WAIT_MS }).toBe(1);
    expect(h.telegram.deletions).toEqual([{ chatId: community.id, messageId: flagged }]);
    expect(h.telegram.deletions.map((d) => d.messageId)).not.toContain(clean);
    expect(moderated()).toEqual(['lovely weather today', `bob thinks ${FLAGGED}`]);
    expect(sendsTo(community)).toBe(0);
    expect(h.openai.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('with MODERATION_ACTION=timeout deletes the message and restricts the author until now + the timeout', async () => {
    await start({ MODERATION_ACTION: 'timeout', MODERATION_TIMEOUT_SECONDS: '120' });
    const before = Math.floor(Date.now() / 1000);
    const id = post(community, ann, FLAGGED);

    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    const after = Math.floor(Date.now() / 1000);
    expect(h.telegram.deletions).toEqual([{ chatId: community.id, messageId: id }]);
    expect(h.telegram.restrictions).toHaveLength(1);
    const [restriction] = h.telegram.restrictions;
    expect(restriction).toMatchObject({ chatId: community.id, userId: ann.id });
    expect(restriction?.untilDate).toBeGreaterThanOrEqual(before + 120);
    expect(restriction?.untilDate).toBeLessThanOrEqual(after + 120);
    expect(Object.values(restriction?.permissions ?? {}).every((allowed) => allowed === false)).toBe(true);
    expect(entry).toContain('deleted the message');
    expect(entry).toContain('timed the author out for 2 min');
  });

  it('with MODERATION_ACTION=warn replies to the author with a warning and deletes nothing', async () => {
    await start({ MODERATION_ACTION: 'warn' });
    const id = post(community, bob, FLAGGED);

    const texts = await h.botTexts(community, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.moderationWarning('Bob', ['harassment'])]);
    const warning = h.telegram.callsTo('sendMessage').find((c) => String(c.params['chat_id']) === String(community.id));
    expect(warning?.params['reply_parameters']).toMatchObject({ message_id: id });
    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    expect(entry).toContain('warned the author');
    expect(h.telegram.deletions).toEqual([]);
  });

  it('reports a missing right once in the mod log, not on every message, and keeps running', async () => {
    await start();
    h.telegram.setBotRights(community.id, { canDeleteMessages: false });
    post(community, ann, FLAGGED);

    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    expect(entry).toContain('could not delete the message');
    expect(entry).toContain('lacks the permission');
    expect(h.telegram.deletions).toEqual([]);

    // A second flagged message within the hour: tried, not reported again. The clean one
    // after it is checked only once the second's job is done (one lane per chat).
    post(community, bob, `and ${FLAGGED}`);
    post(community, ann, 'sorry, all');
    await expect.poll(() => moderated().includes('sorry, all'), { timeout: WAIT_MS }).toBe(true);
    await expect.poll(() => h.telegram.callsTo('deleteMessage').length, { timeout: WAIT_MS }).toBe(2);
    expect(h.telegram.botMessages(modLog.id)).toHaveLength(1);
    expect(h.logLines.filter((line) => line.includes('moderation lacks permissions'))).toHaveLength(1);

    // The service is fine.
    h.telegram.message({ chat: dm, from: ann, text: 'still there?' });
    await h.botTexts(dm, (t) => t.includes('Echo: still there?'));
  });

  it('moderates an edit, and never answers one', async () => {
    await start();
    const id = post(community, ann, `${MENTION} hello`);
    await h.botTexts(community, (t) => t.length === 1 && t[0] === 'Echo: hello');

    h.telegram.edit({ chat: community, messageId: id, text: `${MENTION} hello there` });
    h.telegram.edit({ chat: community, messageId: id, text: `${MENTION} ${FLAGGED}` });
    await expect.poll(() => h.telegram.deletions, { timeout: WAIT_MS }).toEqual([{ chatId: community.id, messageId: id }]);
    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    expect(entry).toContain('deleted the message');

    // The chat lane is ordered too: once this is answered, an answer to an edit would have shown.
    post(community, bob, `${MENTION} last one`);
    await h.botTexts(community, (t) => t.includes('Echo: last one'));
    expect(h.askedAbout()).toEqual(['hello', 'last one']);
    expect(h.telegram.botMessages(community.id).map((m) => m.text)).toEqual(['Echo: hello', 'Echo: last one']);
  });

  it('refuses a flagged message addressed to the bot without calling the chat endpoint', async () => {
    await start();
    const id = post(community, bob, `${MENTION} ${FLAGGED}`);

    const texts = await h.botTexts(community, (t) => t.length === 1);
    expect(texts).toEqual([REPLIES.inputRefused('harassment')]);
    expect(h.openai.requestsTo('/chat/completions')).toHaveLength(0);
    // In a moderated group it is deleted as well, the refusal stays, and the mod log says so.
    const [entry] = await h.botTexts(modLog, (t) => t.length === 1);
    expect(entry).toContain('deleted the message');
    expect(h.telegram.deletions).toEqual([{ chatId: community.id, messageId: id }]);
    expect(h.telegram.botMessages(community.id).map((m) => m.text)).toEqual([REPLIES.inputRefused('harassment')]);
  });
});

describe('telegram: /moderation', () => {
  it('refuses a member’s /moderation off, and moderation stays on', async () => {
    await start();
    post(community, ann, '/moderation off');
    expect(await h.botTexts(community, (t) => t.length === 1)).toEqual([REPLIES.moderationNotAllowed]);
    expect(h.telegram.callsTo('getChatMember').map((c) => c.params)).toEqual([{ chat_id: String(community.id), user_id: ann.id }]);

    const id = post(community, ann, FLAGGED);
    await expect.poll(() => h.telegram.deletions, { timeout: WAIT_MS }).toEqual([{ chatId: community.id, messageId: id }]);
    post(community, ann, '/moderation status');
    const texts = await h.botTexts(community, (t) => t.length === 2);
    expect(texts[1]).toBe(REPLIES.moderationStatus(true, 'config', 'delete'));
  });

  it('lets an administrator turn moderation on in a group not in MODERATED_CHANNELS', async () => {
    await start();
    h.telegram.setMember(bookClub, mo, { status: 'administrator', can_delete_messages: true });
    post(bookClub, ann, FLAGGED);
    // A bare /moderation (no @botname) in a group is the bot's.
    post(bookClub, mo, '/moderation on');
    expect(await h.botTexts(bookClub, (t) => t.length === 1)).toEqual([REPLIES.moderationSwitched(true)]);
    // Before the switch nothing was checked.
    expect(moderated()).toEqual([]);
    expect(h.telegram.deletions).toEqual([]);

    post(bookClub, ann, '/moderation status');
    const texts = await h.botTexts(bookClub, (t) => t.length === 2);
    expect(texts[1]).toBe(REPLIES.moderationStatus(true, 'channel', 'delete'));

    // The switch made here shows at once in this process (role all).
    const id = post(bookClub, bob, FLAGGED);
    await expect.poll(() => h.telegram.deletions, { timeout: WAIT_MS }).toEqual([{ chatId: bookClub.id, messageId: id }]);
  });

  it('registers the admin commands for chat administrators', async () => {
    await start();
    await expect.poll(() => h.telegram.callsTo('setMyCommands').length, { timeout: WAIT_MS }).toBe(2);
    const menus = Object.fromEntries(
      h.telegram.callsTo('setMyCommands').map((c) => [
        (c.params['scope'] as { type: string }).type,
        (c.params['commands'] as Array<{ command: string }>).map((command) => command.command),
      ]),
    );
    expect(menus).toEqual({
      default: ['start', 'help', 'reset', 'redo', 'image', 'vary', 'translate'],
      all_chat_administrators: ['start', 'help', 'reset', 'redo', 'image', 'vary', 'translate', 'moderation', 'persona', 'model', 'scope', 'settings'],
    });
  });
});
