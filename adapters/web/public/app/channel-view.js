// The open channel: its history, then its live events (`message` upserted by id,
// `image`, `delete`, `typing` with an activity). Events that arrive while history loads
// wait in a buffer, so nothing is shown twice or out of order. Everything here belongs to
// one `state.view`; a late answer for a channel no longer shown is dropped.

import { remember } from './channel-list.js';
import { els } from './dom.js';
import { showHistory, upsert } from './messages.js';
import { stopRecording } from './recorder.js';
import { readEvents } from './sse.js';
import { state } from './state.js';
import { hideTyping, setConnection, showError, showTyping } from './status.js';
import { api } from './transport.js';

/** The Outbox repeats typing while it works; without a repeat the indicator goes. */
const TYPING_TIMEOUT_MS = 8000;
/** A refused event stream is reopened after this long. */
const REOPEN_DELAY_MS = 3000;
/** A dropped event stream is reopened after this long, unless the server said otherwise (`retry:`). */
const RECONNECT_DELAY_MS = 2000;

async function loadHistory(current) {
  try {
    const res = await api(`/api/channels/${current.channel}/history`);
    if (state.view !== current) return;
    const body = await res.json();
    if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    showHistory(body.messages);
  } catch (error) {
    if (state.view === current) showError(`Could not load the conversation: ${error.message}`);
  } finally {
    if (state.view === current) {
      current.ready = true;
      for (const event of current.buffer.splice(0)) onEvent(event);
    }
  }
}

function onEvent(event) {
  const { view } = state;
  if (event.type === 'delete') {
    const entry = view.messages.get(event.id);
    if (entry) {
      entry.el.remove();
      view.messages.delete(event.id);
      view.streaming.delete(event.id);
    }
    return;
  }
  if (event.type === 'typing') {
    // The streaming text already shows the bot at work.
    if (view.streaming.size === 0) showTyping(TYPING_TIMEOUT_MS, event.activity);
    return;
  }
  // An `image` is a finished bot message with a picture; both are upserted by id.
  const message = event.message;
  if (message.role === 'assistant') {
    view.assistantEvents += 1;
    if (message.final) view.streaming.delete(message.id);
    else view.streaming.add(message.id);
    hideTyping();
  }
  // Our own message comes back as an echo; it is the same id, so this just confirms it.
  upsert(message, { pending: false, failed: '' });
}

function receive(current, type, raw) {
  if (state.view !== current) return;
  let data;
  try {
    data = JSON.parse(raw || '{}');
  } catch {
    return;
  }
  const event = type === 'typing' ? { type, activity: data.activity } : type === 'delete' ? { type, id: data.id } : { type, message: data };
  if (current.ready) onEvent(event);
  else current.buffer.push(event);
}

/** Reads the channel's event stream with fetch, so the token goes in a header; reopens it when it drops. */
async function openEvents(current) {
  const abort = new AbortController();
  current.source = abort;
  let delay = REOPEN_DELAY_MS;
  try {
    const res = await api(`/api/channels/${current.channel}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    if (state.view !== current || res.status === 401) return;
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    setConnection('');
    // Subscribed now, so history read from here on misses nothing; on a reconnect it
    // fills in whatever happened while we were away.
    current.ready = false;
    loadHistory(current);
    delay = RECONNECT_DELAY_MS;
    await readEvents(res.body, (type, data) => receive(current, type, data), (ms) => {
      delay = ms;
    });
  } catch {
    // Refused, unreachable or cut: try again below.
  }
  if (state.view !== current || abort.signal.aborted) return;
  setConnection('Reconnecting…');
  current.reopen = setTimeout(() => state.view === current && openEvents(current), delay);
}

/** Stops the open channel's stream and frees its files. */
export function closeView() {
  const { view } = state;
  if (!view) return;
  view.source?.abort();
  clearTimeout(view.reopen);
  for (const entry of view.messages.values()) if (entry.localUrl) URL.revokeObjectURL(entry.localUrl);
  for (const url of view.blobUrls) URL.revokeObjectURL(url);
  state.view = null;
}

/** Shows `channel`: a new view, its events, then its history. */
export function openChannel(channel) {
  stopRecording(true);
  closeView();
  hideTyping();
  showError('');
  setConnection('Connecting…');
  state.view = {
    channel,
    messages: new Map(),
    streaming: new Set(),
    assistantEvents: 0,
    buffer: [],
    ready: false,
    source: null,
    reopen: 0,
    blobUrls: [],
  };
  els.messages.replaceChildren();
  els.empty.hidden = true;
  els.channelTitle.textContent = `#${channel}`;
  document.title = `#${channel} · Switchboard playground`;
  remember(channel);
  openEvents(state.view);
}
