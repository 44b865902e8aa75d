/**
 * Moderation, as rules on the scores of `POST /moderations`: which categories a verdict
 * names, the thresholds community moderation acts on, which channels are moderated, and
 * what a moderator reads in the mod log. Pure.
 * See https://platform.openai.com/docs/guides/moderation
 */
import type { ChatRef, Platform } from './inbound-message.js';

/** The categories of omni-moderation, in the API's spelling. */
export const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type ModerationCategoryName = (typeof MODERATION_CATEGORIES)[number];

/**
 * Scores at or above which community moderation acts, per category. Higher than the
 * API's own `flagged` line for categories where ordinary banter scores high (harassment,
 * violence), lower where a miss is worst (sexual content involving minors).
 * Overridden per category by MODERATION_THRESHOLDS.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<ModerationCategoryName, number>> = {
  harassment: 0.8,
  'harassment/threatening': 0.6,
  hate: 0.7,
  'hate/threatening': 0.5,
  illicit: 0.8,
  'illicit/violent': 0.6,
  'self-harm': 0.7,
  'self-harm/intent': 0.6,
  'self-harm/instructions': 0.5,
  sexual: 0.8,
  'sexual/minors': 0.2,
  violence: 0.85,
  'violence/graphic': 0.7,
};

/** The scores of one input, as a Moderator returns them. */
export interface ModerationScores {
  /** The provider's own verdict. */
  readonly flagged: boolean;
  /** Categories the provider flagged. */
  readonly categories: readonly string[];
  /** Every category's score, 0..1. */
  readonly scores: Readonly<Record<string, number>>;
}

/** A category over its line, with its score. */
export interface CategoryHit {
  readonly category: string;
  readonly score: number;
}

/** Categories at or over their thresholds, highest score first. */
export function overThresholds(scores: ModerationScores, thresholds: Readonly<Record<string, number>>): CategoryHit[] {
  return Object.entries(scores.scores)
    .filter(([category, score]) => score >= (thresholds[category] ?? Number.POSITIVE_INFINITY))
    .map(([category, score]) => ({ category, score }))
    .sort((a, b) => b.score - a.score);
}

/** Categories the provider flagged, highest score first (the safe-answers check). */
export function flaggedCategories(scores: ModerationScores): CategoryHit[] {
  if (!scores.flagged) return [];
  const named = scores.categories.length > 0 ? scores.categories : Object.keys(scores.scores);
  return named
    .map((category) => ({ category, score: scores.scores[category] ?? 0 }))
    .sort((a, b) => b.score - a.score);
}

/** `self-harm/intent` → "self-harm (intent)"; what users and moderators read. */
export function describeCategory(category: string): string {
  const [head, tail] = category.split('/');
  return tail === undefined ? (head ?? category) : `${head} (${tail})`;
}

/** What community moderation does with a flagged message. */
export type ModerationAction = 'log' | 'warn' | 'delete' | 'timeout';
export const MODERATION_ACTIONS: readonly ModerationAction[] = ['log', 'warn', 'delete', 'timeout'];

/** A channel as written in MODERATED_CHANNELS and MOD_LOG_CHANNEL: `discord:<id>`, `telegram:<id>`. */
export interface ChannelAddress {
  readonly platform: Platform;
  readonly id: string;
}

/** `discord:123` → { platform, id }; undefined when malformed. */
export function parseChannelAddress(text: string): ChannelAddress | undefined {
  const match = /^(discord|telegram|web):(-?[A-Za-z0-9_-]{1,64})$/.exec(text.trim());
  if (!match) return undefined;
  return { platform: match[1] as Platform, id: match[2] ?? '' };
}

/**
 * Whether a channel is under community moderation: its `/moderation` switch when someone
 * set it, else whether MODERATED_CHANNELS lists it; and which of the two decided.
 */
export function moderationOf(switched: 'on' | 'off' | undefined, listed: boolean): { readonly on: boolean; readonly source: 'channel' | 'config' } {
  return switched === undefined ? { on: listed, source: 'config' } : { on: switched === 'on', source: 'channel' };
}

/** The channel a message was posted in, as MODERATED_CHANNELS names it (threads and topics belong to their chat). */
export function channelAddressOf(chat: Pick<ChatRef, 'platform' | 'id'>): string {
  return `${chat.platform}:${chat.id}`;
}

/** One mod-log entry: who, where, which categories with scores, what was done, a link. */
export function modLogEntry(entry: {
  readonly author: string;
  readonly authorId: string;
  readonly channel: string;
  readonly hits: readonly CategoryHit[];
  readonly done: string;
  readonly link?: string;
  readonly excerpt: string;
}): string {
  const categories = entry.hits.map((hit) => `${describeCategory(hit.category)} ${hit.score.toFixed(2)}`).join(', ');
  const excerpt = entry.excerpt.length > 200 ? `${entry.excerpt.slice(0, 200)}…` : entry.excerpt;
  return [
    `🛡️ Moderation: ${entry.done}`,
    `Who: ${entry.author} (${entry.authorId})`,
    `Where: ${entry.channel}`,
    `Why: ${categories}`,
    ...(entry.link === undefined ? [] : [`Message: ${entry.link}`]),
    `Text: “${excerpt}”`,
  ].join('\n');
}
