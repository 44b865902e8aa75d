/** The fake Bot API, driven by telegraf's own client: it must answer the way Telegram does. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Input, Telegram, TelegramError } from 'telegraf';
import { createFakeTelegram, type FakeChat, type FakeTelegram, type FakeUser } from '../fakes/telegram.js';

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
    const photo = (await telegram.sendPhoto(group.id, Input.fromBuffer(Buffer.from('PNGDATA'), 'p.png'), { caption: 'pic' })) as unknown as {
      message_id: number;
      photo: Array<{ file_id: string }>;
    };
    const file = await telegram.getFile(photo.photo[0]!.file_id);
    const download = await fetch(`${fake.url}/file/bot${TOKEN}/${file.file_path}`);
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('PNGDATA');
    await telegram.sendDocument(group.id, Input.fromBuffer(Buffer.from('doc'), 'd.txt'));
    expect(await telegram.deleteMessage(group.id, photo.message_id)).toBe(true);
    expect(await failure(telegram.deleteMessage(group.id, photo.message_id))).toMatchObject({ description: 'Bad Request: message to delete not found' });
    expect(await telegram.getChatMember(group.id, ann.id)).toMatchObject({ status: 'member' });
    expect(await telegram.restrictChatMember(group.id, ann.id, { permissions: { can_send_messages: false } })).toBe(true);
    expect(fake.violations).toEqual([]);
  });
});
