/**
 * The Telegram Outbox's moderation calls (issue #6) against the fake Bot API through the
 * real client: deletes, timeouts, members' rights, message links, and Telegram's "not
 * enough rights" as PermissionError.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramApi, createTelegramModeration, createTelegramOutbox, TelegramApiError, telegramMessageLink, type TelegramModeration } from '../../adapters/telegram/index.js';
import { PermissionError } from '../../src/domain/errors.js';
import type { ChatRef } from '../../src/domain/inbound-message.js';
import type { Logger, RateLimiter } from '../../src/ports/index.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';

const TOKEN = '42:moderation-test-token';
const NOW_MS = 1_800_000_000_000;
const ann: FakeUser = { id: 5, is_bot: false, first_name: 'Ann' };
const mod: FakeUser = { id: 6, is_bot: false, first_name: 'Mo' };
const owner: FakeUser = { id: 7, is_bot: false, first_name: 'Olga' };
const community: FakeChat = { id: -1_001_234_567, type: 'supergroup', title: 'Community' };
const basic: FakeChat = { id: -4_242, type: 'group', title: 'Friends' };
const dm: FakeChat = { id: 5, type: 'private', first_name: 'Ann' };
const chatOf = (chat: FakeChat): ChatRef => ({ platform: 'telegram', id: String(chat.id), kind: chat.type === 'private' ? 'dm' : 'group' });

let fake: FakeTelegram;
let moderation: TelegramModeration;

beforeEach(async () => {
  fake = await createFakeTelegram({ token: TOKEN });
  moderation = createTelegramModeration({ api: createTelegramApi({ token: TOKEN, apiRoot: fake.url }), now: () => NOW_MS });
});
afterEach(async () => {
  await fake.stop();
  expect(fake.violations).toEqual([]);
});

/** A user's message in the chat; its id. */
function posted(chat: FakeChat, text = 'hello'): string {
  const update = fake.message({ chat, from: ann, text });
  return String((update['message'] as { message_id: number }).message_id);
}

describe('Telegram moderation calls', () => {
  it('deletes a message, and takes one already gone as deleted', async () => {
    const id = posted(community);
    await moderation.deleteMessage(chatOf(community), id);
    expect(fake.deletions).toEqual([{ chatId: community.id, messageId: Number(id) }]);
    await expect(moderation.deleteMessage(chatOf(community), id)).resolves.toBeUndefined();
    expect(fake.callsTo('deleteMessage')).toHaveLength(2);
  });

  it('turns "message can\'t be deleted" and a 403 into PermissionError, naming the right the bot needs', async () => {
    const id = posted(community);
    fake.setBotRights(community.id, { canDeleteMessages: false });
    const refused = await moderation.deleteMessage(chatOf(community), id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PermissionError);
    expect((refused as Error).message).toMatch(/message can't be deleted.*delete messages/);
    expect((refused as Error).cause).toBeInstanceOf(TelegramApiError);

    fake.failNext({ method: 'deleteMessage', error_code: 403, description: 'Forbidden: bot was kicked from the supergroup chat' });
    await expect(moderation.deleteMessage(chatOf(community), id)).rejects.toBeInstanceOf(PermissionError);
    expect(fake.deletions).toEqual([]);
  });

  it('passes other failures on, and waits out a 429', async () => {
    const id = posted(community);
    fake.failNext({ method: 'deleteMessage', error_code: 500, description: 'Internal Server Error' });
    await expect(moderation.deleteMessage(chatOf(community), id)).rejects.toBeInstanceOf(TelegramApiError);
    fake.failNext({ method: 'deleteMessage', error_code: 429, description: 'Too Many Requests: retry after 0', parameters: { retry_after: 0 } });
    await moderation.deleteMessage(chatOf(community), id);
    expect(fake.deletions).toHaveLength(1);
  });

  it('times a member out with every permission off until now + the seconds', async () => {
    posted(community);
    await moderation.timeoutMember(chatOf(community), String(ann.id), 600);
    expect(fake.restrictions).toHaveLength(1);
    const [restriction] = fake.restrictions;
    expect(restriction).toMatchObject({ chatId: community.id, userId: ann.id, untilDate: NOW_MS / 1000 + 600 });
    expect(Object.values(restriction!.permissions).length).toBeGreaterThan(10);
    expect(Object.values(restriction!.permissions).every((allowed) => allowed === false)).toBe(true);
    expect(fake.callsTo('restrictChatMember')[0]?.params).toMatchObject({ use_independent_chat_permissions: true });
  });

  it('turns "not enough rights", an administrator and a basic group into PermissionError', async () => {
    posted(community);
    posted(basic);
    fake.setBotRights(community.id, { canRestrictMembers: false });
    await expect(moderation.timeoutMember(chatOf(community), String(ann.id), 60)).rejects.toThrow(/not enough rights to restrict/);
    await expect(moderation.timeoutMember(chatOf(community), String(ann.id), 60)).rejects.toBeInstanceOf(PermissionError);
    fake.setBotRights(community.id, { canRestrictMembers: true });
    fake.setMember(community, mod, { status: 'administrator', can_delete_messages: true });
    await expect(moderation.timeoutMember(chatOf(community), String(mod.id), 60)).rejects.toBeInstanceOf(PermissionError);
    await expect(moderation.timeoutMember(chatOf(basic), String(ann.id), 60)).rejects.toBeInstanceOf(PermissionError);
    expect(fake.restrictions).toEqual([]);
  });

  it('reads members’ rights: the creator may do all, an administrator what its rights say, others nothing', async () => {
    posted(community);
    fake.setMember(community, owner, { status: 'creator' });
    fake.setMember(community, mod, { status: 'administrator', can_delete_messages: true, can_change_info: false });
    const chat = chatOf(community);
    expect(await moderation.permissionsOf(chat, String(owner.id))).toEqual({ manageMessages: true, manageChannel: true });
    expect(await moderation.permissionsOf(chat, String(mod.id))).toEqual({ manageMessages: true, manageChannel: false });
    expect(await moderation.permissionsOf(chat, String(ann.id))).toEqual({ manageMessages: false, manageChannel: false });
    // Someone Telegram does not know: nothing.
    expect(await moderation.permissionsOf(chat, '999')).toEqual({ manageMessages: false, manageChannel: false });
    // In a private chat the user may do everything, without a call.
    const calls = fake.callsTo('getChatMember').length;
    expect(await moderation.permissionsOf(chatOf(dm), String(ann.id))).toEqual({ manageMessages: true, manageChannel: true });
    expect(fake.callsTo('getChatMember')).toHaveLength(calls);
  });

  it('links to messages in supergroups (and their topics) only', () => {
    expect(telegramMessageLink({ id: '-1001234567' }, '42')).toBe('https://t.me/c/1234567/42');
    expect(telegramMessageLink({ id: '-1001234567', threadId: '9' }, '42')).toBe('https://t.me/c/1234567/9/42');
    expect(telegramMessageLink({ id: '-4242' }, '42')).toBeUndefined();
    expect(telegramMessageLink({ id: '5' }, '42')).toBeUndefined();
  });

  it('are the Outbox’s', () => {
    const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
    const limiter: RateLimiter = {
      acquire: async () => undefined,
      tryAcquire: async () => 0,
      run: (_limits, call) => call(),
      tryRun: async (_limits, call) => ({ ran: true, value: await call() }),
      pause: async () => undefined,
    };
    const api = createTelegramApi({ token: TOKEN, apiRoot: fake.url });
    const outbox = createTelegramOutbox({ api, rateLimiter: limiter, botId: '42', messagesPerSecond: 30, log: silent, files: { download: async () => ({ bytes: new Uint8Array() }) } });
    expect(typeof outbox.deleteMessage).toBe('function');
    expect(typeof outbox.timeoutMember).toBe('function');
    expect(typeof outbox.permissionsOf).toBe('function');
    expect(outbox.messageLink?.({ platform: 'telegram', id: '-1001234567', kind: 'group' }, '3')).toBe('https://t.me/c/1234567/3');
  });
});
