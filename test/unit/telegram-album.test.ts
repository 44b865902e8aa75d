/**
 * Albums on Telegram (issue #14): the Telegram Outbox's sendImages through the real
 * telegraf client against the fake Bot API, which checks sendMediaGroup against the spec
 * (2-10 InputMediaPhoto, each `attach://` naming a part of the same upload) and keeps
 * what a user would see.
 * https://core.telegram.org/bots/api#sendmediagroup
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramApi, createTelegramOutbox, type TelegramFiles } from '../../adapters/telegram/index.js';
import type { Logger, OutgoingImage, RateLimit, RateLimiter, ReplyTarget } from '../../src/ports/index.js';
import { createPng } from '../fakes/png.js';
import { createFakeTelegram, type FakeChat, type FakeTelegram } from '../fakes/telegram.js';

const TOKEN = '777001:album-test-token';
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const forum: FakeChat = { id: -1_009_999, type: 'supergroup', title: 'Team', is_forum: true };
const user = { id: 5, is_bot: false, first_name: 'Ann' };
const noFiles: TelegramFiles = { download: async () => Promise.reject(new Error('no downloads here')) };

let telegram: FakeTelegram;
beforeEach(async () => {
  telegram = await createFakeTelegram({ token: TOKEN });
});
afterEach(async () => {
  await telegram.stop();
});

/** An Outbox on the fake whose limiter records what it was asked to count. */
function outbox() {
  const counted: RateLimit[][] = [];
  const rateLimiter: RateLimiter = {
    acquire: async (limits) => void counted.push([...limits]),
    tryAcquire: async () => 0,
    async run(limits, call) {
      counted.push([...limits]);
      return call();
    },
    tryRun: async (_limits, call) => ({ ran: true, value: await call() }),
    pause: async () => undefined,
  };
  const api = createTelegramApi({ token: TOKEN, apiRoot: telegram.url });
  return { outbox: createTelegramOutbox({ api, files: noFiles, rateLimiter, botId: '777001', messagesPerSecond: 30, log: silent }), counted };
}

const picture = (colour: [number, number, number]): OutgoingImage => ({ bytes: new Uint8Array(createPng(8, 8, colour)), mimeType: 'image/png', fileName: 'image.png' });

describe('telegram albums', () => {
  it('sends two pictures as one album replying in the topic, the caption under it, each photo counted against the group', async () => {
    const asked = telegram.message({ chat: forum, from: user, text: '/vary', threadId: 3 });
    const messageId = (asked['message'] as { message_id: number }).message_id;
    const target: ReplyTarget = { chat: { platform: 'telegram', id: String(forum.id), kind: 'group', threadId: '3' }, replyToMessageId: String(messageId) };
    const { outbox: tg, counted } = outbox();

    const sent = await tg.sendImages(target, [picture([255, 0, 0]), picture([0, 0, 255])], 'two takes');

    expect(telegram.violations).toEqual([]);
    expect(telegram.callsTo('sendMediaGroup')).toHaveLength(1);
    expect(telegram.callsTo('sendPhoto')).toEqual([]);
    const album = telegram.botMessages(forum.id, 3);
    expect(album).toHaveLength(2);
    expect(sent).toEqual(album.map((m) => ({ id: String(m.message_id) })));
    // One album: one media_group_id, both replies to the command, the caption on the first.
    expect(new Set(album.map((m) => m['media_group_id'])).size).toBe(1);
    expect(album.map((m) => (m['reply_to_message'] as { message_id: number }).message_id)).toEqual([messageId, messageId]);
    expect(album.map((m) => m['caption'])).toEqual(['two takes', undefined]);
    expect(telegram.uploads.map((u) => [u.method, u.bytes.equals(Buffer.from(picture([255, 0, 0]).bytes))])).toEqual([
      ['sendMediaGroup', true],
      ['sendMediaGroup', false],
    ]);
    // The call counted once in every limit, and the second photo once more in the group's minute.
    expect(counted.map((limits) => limits.map((l) => l.key.split(':')[2]))).toEqual([['group'], ['chat', 'global', 'group']]);
  });

  it('sends a single picture as a photo, not an album of one', async () => {
    telegram.addChat(forum);
    const { outbox: tg } = outbox();
    await tg.sendImages({ chat: { platform: 'telegram', id: String(forum.id), kind: 'group' } }, [picture([1, 2, 3])], 'just one');
    expect(telegram.callsTo('sendMediaGroup')).toEqual([]);
    expect(telegram.uploads).toMatchObject([{ method: 'sendPhoto', caption: 'just one' }]);
    expect(telegram.violations).toEqual([]);
  });

  it('the fake refuses an album of one, and an attach:// naming no part', async () => {
    telegram.addChat(forum);
    const api = createTelegramApi({ token: TOKEN, apiRoot: telegram.url });
    await expect(api.call('sendMediaGroup', { chat_id: forum.id, media: [{ type: 'photo', media: 'attach://nothing' }, { type: 'photo', media: 'attach://none' }] })).rejects.toMatchObject({
      name: 'TelegramApiError',
      status: 400,
    });
    await expect(api.call('sendMediaGroup', { chat_id: forum.id, media: [{ type: 'photo', media: 'attach://nothing' }] })).rejects.toMatchObject({ status: 400 });
    expect(telegram.botMessages(forum.id)).toEqual([]);
  });
});
