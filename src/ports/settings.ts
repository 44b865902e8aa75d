/**
 * Per-channel settings and moderation switches, kept until changed.
 * One area of src/ports; index.ts re-exports every port.
 */
import type { ChannelSettings } from '../domain/channel-settings.js';

/** Channel settings (`/persona`, `/model`, `/scope`), by conversation, kept until changed. */
export interface ChannelSettingsStore {
  /** The settings set in the conversation; empty when none. */
  get(conversation: string): Promise<ChannelSettings>;
  /** Sets the given fields; `null` clears one. */
  update(conversation: string, patch: { readonly [K in keyof ChannelSettings]?: ChannelSettings[K] | null }): Promise<void>;
}

/**
 * Per-channel moderation switches set with `/moderation on|off` (they override
 * MODERATED_CHANNELS), and "once per period" marks for reports that must not repeat.
 */
export interface ModerationSettings {
  /** `on` / `off` as set in the channel; undefined when nobody set it (config decides). */
  get(channel: string): Promise<'on' | 'off' | undefined>;
  set(channel: string, state: 'on' | 'off'): Promise<void>;
  /** True the first time for `key` within `periodSeconds`, false after (across processes). */
  once(key: string, periodSeconds: number): Promise<boolean>;
}
