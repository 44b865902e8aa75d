import { describe, expect, it } from 'vitest';
import { admits, isUnmetered, type AbuseLimits } from '../../src/domain/limits.js';
import type { InboundMessage } from '../../src/domain/inbound-message.js';

const none: AbuseLimits = {
  userPerMinute: 0,
  channelPerMinute: 0,
  userDailyTokens: 0,
  channelDailyTokens: 0,
  allowedDiscordGuilds: [],
  allowedTelegramChats: [],
  allowedUsers: [],
};
const msg = (chat: InboundMessage['chat'], userId = '1'): InboundMessage => ({
  chat,
  author: { id: userId, displayName: 'A', isBot: false },
  messageId: '1',
  text: 'hi',
  attachments: [],
  addressed: true,
  receivedAt: 0,
});
const guildChannel = (guildId: string) => msg({ platform: 'discord', id: 'c1', kind: 'group', guildId });
const discordDm = msg({ platform: 'discord', id: 'd1', kind: 'dm' });

describe('allowlists', () => {
  it('lets everyone in when no list is set', () => {
    expect(admits(guildChannel('1'), none)).toBe(true);
    expect(admits(discordDm, none)).toBe(true);
  });
  it('restricts Discord to the listed guilds; DMs then only for listed users', () => {
    const limits = { ...none, allowedDiscordGuilds: ['111111111111111111'] };
    expect(admits(guildChannel('111111111111111111'), limits)).toBe(true);
    expect(admits(guildChannel('222222222222222222'), limits)).toBe(false);
    expect(admits(discordDm, limits)).toBe(false);
    expect(admits(discordDm, { ...limits, allowedUsers: ['discord:1'] })).toBe(true);
    // Telegram is not restricted by a Discord list.
    expect(admits(msg({ platform: 'telegram', id: '-5', kind: 'group' }), limits)).toBe(true);
  });
  it('restricts Telegram to the listed chats (a private chat id is the user id)', () => {
    const limits = { ...none, allowedTelegramChats: ['-100', '42'] };
    expect(admits(msg({ platform: 'telegram', id: '-100', kind: 'group' }), limits)).toBe(true);
    expect(admits(msg({ platform: 'telegram', id: '-200', kind: 'group' }), limits)).toBe(false);
    expect(admits(msg({ platform: 'telegram', id: '42', kind: 'dm' }, '42'), limits)).toBe(true);
    expect(admits(msg({ platform: 'telegram', id: '43', kind: 'dm' }, '43'), limits)).toBe(false);
  });
  it('with ALLOWED_USERS serves only them, but moderation still checks everyone in an allowed chat', () => {
    const limits = { ...none, allowedUsers: ['telegram:7'] };
    const group = { platform: 'telegram', id: '-1', kind: 'group' } as const;
    expect(admits(msg(group, '7'), limits)).toBe(true);
    expect(admits(msg(group, '8'), limits)).toBe(false);
    expect(admits(msg(group, '8'), limits, { forModeration: true })).toBe(true);
    expect(admits(msg({ platform: 'web', id: 'general', kind: 'dm' }, 'x'), limits)).toBe(true);
  });
});

describe('the playground and the limits (issue #17)', () => {
  const web = msg({ platform: 'web', id: 'general', kind: 'dm' }, 'web-token-holder');
  it('leaves only the operator\'s own loopback playground unmetered', () => {
    expect(isUnmetered({ ...web, unmetered: true })).toBe(true);
    expect(isUnmetered(web)).toBe(false);
    // Only the web adapter sets it: on another platform it means nothing.
    expect(isUnmetered({ ...msg({ platform: 'telegram', id: '5', kind: 'dm' }), unmetered: true })).toBe(false);
  });
});
