// Channel names, the one in the address (#name), and the list of recent ones.

import { els } from './dom.js';
import { load, save } from './storage.js';

/** What the server takes as a channel name. */
export const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const DEFAULT_CHANNEL = 'general';
const RECENT_KEY = 'switchboard.recentChannels';
const MAX_RECENT = 8;

/** A typed name as a channel name: "#My Ideas" is "my-ideas". */
export function normalizeChannel(raw) {
  return raw
    .trim()
    .replace(/^#/, '')
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/^-+/, '')
    .slice(0, 40);
}

/** Puts `channel` first in the recent list, and shows the list. */
export function remember(channel) {
  const recent = [channel, ...load(RECENT_KEY, []).filter((c) => c !== channel && CHANNEL_PATTERN.test(c))];
  save(RECENT_KEY, recent.slice(0, MAX_RECENT));
  renderRecent(channel);
}

function renderRecent(current) {
  const items = load(RECENT_KEY, [DEFAULT_CHANNEL]).map((channel) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `#${channel}`;
    a.textContent = `#${channel}`;
    if (channel === current) a.setAttribute('aria-current', 'page');
    li.append(a);
    return li;
  });
  els.recent.replaceChildren(...items);
}

/** The channel the address names (the default when it names none), written back normalized. */
export function channelFromHash() {
  let raw = location.hash.slice(1);
  try {
    raw = decodeURIComponent(raw);
  } catch {
    // A stray % is just part of a name that normalizing drops.
  }
  const normalized = normalizeChannel(raw);
  const channel = CHANNEL_PATTERN.test(normalized) ? normalized : DEFAULT_CHANNEL;
  if (location.hash !== `#${channel}`) history.replaceState(null, '', `#${channel}`);
  return channel;
}
