import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { DEFAULT_THRESHOLDS, flaggedCategories, moderationOf, modLogEntry, overThresholds, parseChannelAddress } from '../../src/domain/moderation.js';
import { moderationLane, moderationRoute } from '../../src/domain/routing.js';

const scores = { flagged: true, categories: ['harassment'], scores: { harassment: 0.75, violence: 0.9, hate: 0.1 } };

describe('moderation rules', () => {
  it('acts on categories at or over their thresholds, highest first', () => {
    expect(overThresholds(scores, DEFAULT_THRESHOLDS)).toEqual([{ category: 'violence', score: 0.9 }]);
    expect(overThresholds(scores, { ...DEFAULT_THRESHOLDS, harassment: 0.7 })).toEqual([
      { category: 'violence', score: 0.9 },
      { category: 'harassment', score: 0.75 },
    ]);
    expect(overThresholds({ ...scores, scores: { hate: 0.69 } }, DEFAULT_THRESHOLDS)).toEqual([]);
  });
  it("names what the provider flagged for safe answers", () => {
    expect(flaggedCategories(scores)).toEqual([{ category: 'harassment', score: 0.75 }]);
    expect(flaggedCategories({ ...scores, flagged: false })).toEqual([]);
  });
  it('reads channel addresses', () => {
    expect(parseChannelAddress('telegram:-1001234')).toEqual({ platform: 'telegram', id: '-1001234' });
    expect(parseChannelAddress('discord:123')).toEqual({ platform: 'discord', id: '123' });
    expect(parseChannelAddress('slack:1')).toBeUndefined();
    expect(parseChannelAddress('discord:')).toBeUndefined();
  });
  it('writes a mod-log entry a moderator can act on', () => {
    const entry = modLogEntry({
      author: 'Ann',
      authorId: '42',
      channel: 'discord:99',
      hits: [{ category: 'self-harm/intent', score: 0.912 }],
      done: 'deleted the message',
      link: 'https://discord.com/channels/1/99/5',
      excerpt: 'x'.repeat(300),
    });
    expect(entry).toContain('deleted the message');
    expect(entry).toContain('Ann (42)');
    expect(entry).toContain('self-harm (intent) 0.91');
    expect(entry).toContain('https://discord.com/channels/1/99/5');
    expect(entry).toContain(`“${'x'.repeat(200)}…”`);
  });
  it('moderates group messages with text, in their own lane', () => {
    const message = {
      chat: { platform: 'discord', id: '9', kind: 'group' },
      author: { id: '1', displayName: 'A', isBot: false },
      messageId: '5',
      text: 'hello',
      attachments: [],
      addressed: false,
      receivedAt: 0,
    } as const;
    expect(moderationRoute(message)).toEqual({ kind: 'moderate', jobId: 'discord:9:5', payload: { conversation: moderationLane('discord:9'), message } });
    expect(moderationRoute({ ...message, text: ' ' })).toBeUndefined();
    expect(moderationRoute({ ...message, chat: { ...message.chat, kind: 'dm' } })).toBeUndefined();
    expect(moderationRoute({ ...message, author: { ...message.author, isBot: true } })).toBeUndefined();
  });
});

describe('whether a channel is moderated', () => {
  it('is its /moderation switch when set, else whether MODERATED_CHANNELS lists it', () => {
    expect(moderationOf('on', false)).toEqual({ on: true, source: 'channel' });
    expect(moderationOf('off', true)).toEqual({ on: false, source: 'channel' });
    expect(moderationOf(undefined, true)).toEqual({ on: true, source: 'config' });
    expect(moderationOf(undefined, false)).toEqual({ on: false, source: 'config' });
  });
});

describe('moderation config', () => {
  it('parses channels, action, thresholds and the mod log', () => {
    const config = parseConfig({
      MODERATED_CHANNELS: 'discord:123, telegram:-100555',
      MODERATION_ACTION: 'Timeout',
      MODERATION_THRESHOLDS: 'harassment=0.6, violence=0.95',
      MOD_LOG_CHANNEL: 'discord:777',
    });
    expect(config.moderation.channels).toEqual([{ platform: 'discord', id: '123' }, { platform: 'telegram', id: '-100555' }]);
    expect(config.moderation.action).toBe('timeout');
    expect(config.moderation.thresholds).toMatchObject({ harassment: 0.6, violence: 0.95, hate: DEFAULT_THRESHOLDS.hate });
    expect(config.moderation.logChannel).toEqual({ platform: 'discord', id: '777' });
    expect(config.moderation.input).toBe(true);
  });
  it('reports every bad moderation setting by name', () => {
    let error: unknown;
    try {
      parseConfig({ MODERATED_CHANNELS: 'slack:1', MODERATION_ACTION: 'ban', MODERATION_THRESHOLDS: 'rudeness=0.5,hate=2', MOD_LOG_CHANNEL: '#mods' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['MODERATED_CHANNELS', 'MODERATION_ACTION', 'MODERATION_THRESHOLDS', 'MOD_LOG_CHANNEL']) expect(problems).toContain(name);
    expect(problems).toContain('rudeness');
    expect(problems).toContain('hate: expected a score from 0 to 1');
  });
});
