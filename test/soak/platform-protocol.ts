/**
 * What the soak and its platform-fakes process (platform-fakes.ts) share: the bots'
 * tokens, the questions' tags and answers, and the messages they exchange.
 */

/** Issue #7: 100 chats streaming at once. */
export const CHATS = 100;
export const TELEGRAM_TOKEN = '700000001:SOAK-telegram-token';
export const TELEGRAM_BOT = { id: 700_000_001, username: 'switchboard_soak_bot' } as const;
export const DISCORD_TOKEN = 'soak-token.discord.x';

/** A platform question carries its tag in brackets; the fake OpenAI answers by tag. */
export function platformTag(question: string): string | undefined {
  return /\[((?:tg|dc)-\d+)\]/.exec(question)?.[1];
}

/** The answer to a platform question: plain words (no Markdown or HTML to convert), about 240 characters. */
export function platformReply(tag: string): string {
  const filler = 'every chat gets its answer streamed within the limits of the platform ';
  return `Answer for ${tag}: ${filler.repeat(4)}`.slice(0, 240).trimEnd() + '.';
}

/** The fakes process is up: where the fakes listen. */
export interface FakesReady {
  readonly type: 'ready';
  readonly telegramOrigin: string;
  readonly discordOrigin: string;
  readonly discordGuildId: string;
}

/** One chat of a wave, times in ms from the wave's start. */
export interface WaveSample {
  firstTextMs?: number;
  finalMs?: number;
  /** The bot's messages in the chat at the end. */
  messages: number;
}

/** One wave as the fakes process saw it. */
export interface WaveResult {
  readonly platform: 'telegram' | 'discord';
  /** When the wave's messages were sent (ms since the epoch). */
  readonly startedAt: number;
  readonly samples: WaveSample[];
  /** 429s the fake answered itself (Telegram's per-chat and per-group flood control). */
  readonly fake429s: number;
  readonly seconds: number;
}
