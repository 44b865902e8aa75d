/** The fake Bot API, driven by telegraf's own client: it must answer the way Telegram does. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Input, Telegram, TelegramError } from 'telegraf';
import { COMMAND_REGISTRATIONS } from '../../adapters/telegram/index.js';
import { createFakeTelegram, MAX_DOWNLOAD_BYTES, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';
import { createPng } from '../fakes/png.js';

const TOKEN = '42:fake-test-token';
const ann: FakeUser = { id: 5, is_bot: false, first_name: 'Ann' };
const dm: FakeChat = { id: 5, type: 'private', first_name: 'Ann' };
const group: FakeChat = { id: -300, type: 'supergroup', title: 'G', is_forum: false };

let fake: FakeTelegram;
let telegram: Telegram;
/** Calls a method with raw params, as telegraf sends them. */
const call = (method: string, params: Record<string, unknown>) =>
  (telegram.callApi as unknown as (m: string, p: object) => Promise<unknown>)(method, params);
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => (error instanceof TelegramError ? { code: error.code, description: error.description, parameters: error.parameters } : error),
  );

beforeEach(async () => {
  fake = await createFakeTelegram({ token: TOKEN });
  telegram = new Telegram(TOKEN, { apiRoot: fake.url, webhookReply: false });
});

afterEach(async () => {
  await fake.stop();
});

describe('the fake Bot API', () => {
  it('answers getMe, and refuses a wrong token like Telegram', async () => {
    expect(await telegram.getMe()).toMatchObject({ id: fake.bot.id, is_bot: true, username: fake.bot.username });
    const stranger = new Telegram('1:wrong', { apiRoot: fake.url });
    expect(await failure(stranger.getMe())).toMatchObject({ code: 401, description: 'Unauthorized' });
  });

  it('hands out updates with entities, honours the offset, and holds an empty poll open', async () => {
    fake.message({ chat: dm, from: ann, text: '/start@someone hi @another_user' });
    const [first] = (await call('getUpdates', { timeout: 1 })) as Array<{ update_id: number; message: { entities: unknown[] } }>;
    expect(first?.message.entities).toEqual([
      { type: 'bot_command', offset: 0, length: 14 },
      { type: 'mention', offset: 18, length: 13 },
    ]);
    const pending = call('getUpdates', { offset: first!.update_id + 1, timeout: 1 });
    fake.message({ chat: dm, from: ann, text: 'second' });
    const next = (await pending) as Array<{ message: { text: string } }>;
    expect(next.map((u) => u.message.text)).toEqual(['second']);
    // Kinds the bot did not ask for are not handed out.
    fake.pushUpdate({ edited_message: { message_id: 1, date: 1, chat: dm, text: 'edited' } });
    fake.message({ chat: dm, from: ann, text: 'third' });
    const last = (await call('getUpdates', { offset: 0, timeout: 1, allowed_updates: ['message'] })) as Array<{ message?: { text: string } }>;
    expect(last.map((u) => u.message?.text)).toEqual(['second', 'third']);
    expect(fake.violations).toEqual([]);
  });

  it('ends a held poll with 409 when another poll comes in, as Telegram does', async () => {
    const first = failure(call('getUpdates', { timeout: 5 }));
    await expect.poll(() => fake.polling).toBe(true);
    await call('getUpdates', { timeout: 0 });
    expect(await first).toMatchObject({ code: 409, description: expect.stringContaining('terminated by other getUpdates request') });
  });

  it('refuses over-long text, malformed HTML and unknown chats with Telegram’s errors', async () => {
    fake.message({ chat: dm, from: ann, text: 'hi' });
    expect(await failure(call('sendMessage', { chat_id: dm.id, text: 'x'.repeat(4097) }))).toMatchObject({ code: 400, description: 'Bad Request: message is too long' });
    // Entities do not count: 4096 visible characters in tags are fine.
    await call('sendMessage', { chat_id: dm.id, text: `<b>${'x'.repeat(4096)}</b>`, parse_mode: 'HTML' });
    expect(await failure(call('sendMessage', { chat_id: dm.id, text: '<b>open', parse_mode: 'HTML' }))).toMatchObject({
      code: 400,
      description: 'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    });
    expect(await failure(call('sendMessage', { chat_id: 999, text: 'x' }))).toMatchObject({ code: 400, description: 'Bad Request: chat not found' });
    const sent = (await call('sendMessage', { chat_id: dm.id, text: 'same' })) as { message_id: number };
    expect(await failure(call('editMessageText', { chat_id: dm.id, message_id: sent.message_id, text: 'same' }))).toMatchObject({
      description: expect.stringContaining('message is not modified'),
    });
    expect(fake.violations).toEqual([]);
  });

  it('records calls that break the spec', async () => {
    await failure(call('sendMessage', { chat_id: dm.id, txt: 'typo' }));
    expect(fake.violations).toEqual(['sendMessage.text: required', 'sendMessage.txt: not a documented parameter']);
    fake.violations.length = 0;
  });

  it('takes the bot’s command menus per scope, and refuses a scope of the wrong type or a bad command', async () => {
    for (const { commands, scope } of COMMAND_REGISTRATIONS) expect(await call('setMyCommands', { commands, scope })).toBe(true);
    expect(fake.callsTo('setMyCommands').map((c) => (c.params['scope'] as { type: string }).type)).toEqual(['default', 'all_chat_administrators']);
    expect(fake.violations).toEqual([]);

    expect(await failure(call('setMyCommands', { commands: [{ command: 'Bad-Name', description: 'x' }] }))).toMatchObject({ description: 'Bad Request: BOT_COMMAND_INVALID' });
    expect(fake.violations).toEqual([]);
    await failure(call('setMyCommands', { commands: [], scope: { type: 'all_admins' } }));
    expect(fake.violations).toEqual([expect.stringContaining('setMyCommands.scope: matches none of BotCommandScopeDefault')]);
    fake.violations.length = 0;
  });

  it('deletes and restricts as the bot’s rights allow, and answers getChatMember with the statuses set', async () => {
    const mod: FakeUser = { id: 6, is_bot: false, first_name: 'Mo' };
    const owner: FakeUser = { id: 7, is_bot: false, first_name: 'Olga' };
    const first = fake.message({ chat: group, from: ann, text: 'one' })['message'] as { message_id: number };
    const second = fake.message({ chat: group, from: ann, text: 'two' })['message'] as { message_id: number };
    fake.setMember(group, mod, { status: 'administrator', can_delete_messages: true });
    fake.setMember(group, owner, { status: 'creator' });

    expect(await telegram.getChatMember(group.id, mod.id)).toMatchObject({ status: 'administrator', can_delete_messages: true, can_change_info: false });
    expect(await telegram.getChatMember(group.id, owner.id)).toMatchObject({ status: 'creator' });
    expect(await telegram.getChatMember(group.id, ann.id)).toMatchObject({ status: 'member' });
    expect(await telegram.getChatMember(group.id, fake.bot.id)).toMatchObject({ status: 'administrator', can_delete_messages: true, can_restrict_members: true });

    fake.setBotRights(group.id, { canDeleteMessages: false, canRestrictMembers: false });
    expect(await failure(telegram.deleteMessage(group.id, first.message_id))).toMatchObject({ code: 400, description: "Bad Request: message can't be deleted" });
    expect(await failure(telegram.restrictChatMember(group.id, ann.id, { permissions: { can_send_messages: false } }))).toMatchObject({
      code: 400,
      description: 'Bad Request: not enough rights to restrict/unrestrict chat member',
    });
    expect(await telegram.getChatMember(group.id, fake.bot.id)).toMatchObject({ can_delete_messages: false, can_restrict_members: false });
    // The bot's own messages it may always delete.
    const own = await telegram.sendMessage(group.id, 'mine');
    expect(await telegram.deleteMessage(group.id, own.message_id)).toBe(true);

    fake.setBotRights(group.id, { canDeleteMessages: true, canRestrictMembers: true });
    expect(await telegram.deleteMessage(group.id, second.message_id)).toBe(true);
    expect(await telegram.restrictChatMember(group.id, ann.id, { permissions: { can_send_messages: false }, until_date: 2_000_000_000 })).toBe(true);
    expect(await failure(telegram.restrictChatMember(group.id, mod.id, { permissions: { can_send_messages: false } }))).toMatchObject({
      description: 'Bad Request: user is an administrator of the chat',
    });
    expect(fake.deletions).toEqual([
      { chatId: group.id, messageId: own.message_id },
      { chatId: group.id, messageId: second.message_id },
    ]);
    expect(fake.restrictions).toEqual([{ chatId: group.id, userId: ann.id, permissions: { can_send_messages: false }, untilDate: 2_000_000_000 }]);
    expect(fake.violations).toEqual([]);
  });

  it('delivers an edit as edited_message, with the new text, its entities and an edit date', async () => {
    const sent = fake.message({ chat: group, from: ann, text: 'before' })['message'] as { message_id: number };
    fake.edit({ chat: group, messageId: sent.message_id, text: 'after @someone_else' });
    const updates = (await call('getUpdates', { timeout: 0, allowed_updates: ['message', 'edited_message'] })) as Array<Record<string, { text: string; edit_date?: number; entities?: unknown[] }>>;
    expect(updates.map((u) => Object.keys(u).filter((k) => k !== 'update_id')[0])).toEqual(['message', 'edited_message']);
    expect(updates[1]?.['edited_message']).toMatchObject({ message_id: sent.message_id, text: 'after @someone_else', edit_date: expect.any(Number), entities: [{ type: 'mention', offset: 6, length: 13 }] });
  });

  it('enforces the per-chat and per-group limits with 429 and retry_after when asked', async () => {
    fake.rateLimits = true;
    fake.message({ chat: group, from: ann, text: 'hi' });
    await call('sendMessage', { chat_id: group.id, text: 'one' });
    expect(await failure(call('sendMessage', { chat_id: group.id, text: 'two' }))).toEqual({
      code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
  });

  it('uploads and downloads files, deletes messages, and answers member calls', async () => {
    fake.message({ chat: group, from: ann, text: 'hi' });
    const png = createPng(3, 2);
    const photo = (await telegram.sendPhoto(group.id, Input.fromBuffer(png, 'p.png'), { caption: 'pic' })) as unknown as {
      message_id: number;
      photo: Array<{ file_id: string; width: number; height: number }>;
    };
    expect(photo.photo[0]).toMatchObject({ width: 3, height: 2 });
    expect(fake.uploads).toEqual([expect.objectContaining({ method: 'sendPhoto', chatId: group.id, fileName: 'p.png', caption: 'pic', bytes: png })]);
    const file = await telegram.getFile(photo.photo[0]!.file_id);
    const download = await fetch(`${fake.url}/file/bot${TOKEN}/${file.file_path}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
    await telegram.sendDocument(group.id, Input.fromBuffer(Buffer.from('doc'), 'd.txt'));
    expect(await telegram.deleteMessage(group.id, photo.message_id)).toBe(true);
    expect(await failure(telegram.deleteMessage(group.id, photo.message_id))).toMatchObject({ description: 'Bad Request: message to delete not found' });
    expect(await telegram.getChatMember(group.id, ann.id)).toMatchObject({ status: 'member' });
    expect(await telegram.restrictChatMember(group.id, ann.id, { permissions: { can_send_messages: false } })).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('refuses a photo upload that is not an image, as Telegram does', async () => {
    fake.message({ chat: dm, from: ann, text: 'hi' });
    expect(await failure(telegram.sendPhoto(dm.id, Input.fromBuffer(Buffer.from('PNGDATA'), 'p.png')))).toMatchObject({
      code: 400,
      description: 'Bad Request: IMAGE_PROCESS_FAILED',
    });
    expect(fake.uploads).toEqual([]);
  });

  it('refuses getFile over 20 MB, and serves downloads only with the right token', async () => {
    const small = fake.addFile(Buffer.from('OggS voice'), 'voice/file_1.oga');
    const exactly = fake.addFile(Buffer.from('x'), 'voice/file_2.oga', { size: MAX_DOWNLOAD_BYTES });
    const over = fake.addFile(Buffer.from('x'), 'voice/file_3.oga', { size: MAX_DOWNLOAD_BYTES + 1 });
    expect(await telegram.getFile(exactly)).toMatchObject({ file_size: 20 * 1024 * 1024 });
    expect(await failure(telegram.getFile(over))).toMatchObject({ code: 400, description: 'Bad Request: file is too big' });
    expect(await failure(telegram.getFile('nope'))).toMatchObject({ code: 400, description: 'Bad Request: invalid file_id' });
    const file = await telegram.getFile(small);
    expect(file).toMatchObject({ file_path: 'voice/file_1.oga', file_size: 10 });
    expect((await fetch(`${fake.url}/file/bot${TOKEN}/${file.file_path}`)).status).toBe(200);
    expect((await fetch(`${fake.url}/file/bot1:wrong/${file.file_path}`)).status).toBe(401);
    expect((await fetch(`${fake.url}/file/bot${TOKEN}/voice/unknown.oga`)).status).toBe(404);
    expect(fake.downloads.map((d) => [d.path, d.tokenOk, d.status])).toEqual([
      ['voice/file_1.oga', true, 200],
      ['voice/file_1.oga', false, 401],
      ['voice/unknown.oga', true, 404],
    ]);
  });

  it('builds media messages with caption entities, and records chat actions', async () => {
    fake.message({ chat: group, from: ann, caption: '@switchboard_test_bot look', media: { photo: [{ file_id: 'p', file_unique_id: 'u', width: 1, height: 1 }] } });
    const [update] = (await call('getUpdates', { timeout: 0 })) as Array<{ message: Record<string, unknown> }>;
    expect(update?.message).toMatchObject({ caption: '@switchboard_test_bot look', caption_entities: [{ type: 'mention', offset: 0, length: 21 }], photo: [{ file_id: 'p' }] });
    expect(update?.message['text']).toBeUndefined();
    await call('sendChatAction', { chat_id: group.id, action: 'record_voice' });
    expect(fake.callsTo('sendChatAction').map((c) => c.params['action'])).toEqual(['record_voice']);
    expect(fake.violations).toEqual([]);
  });
});
