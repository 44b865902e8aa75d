// Switchboard playground: plain browser JavaScript, no build step.
// Protocol (see adapters/web/web.events.ts): history over JSON, then live events over
// Server-Sent Events (`message` upserted by id, `typing`), messages posted as JSON.
'use strict';

const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const DEFAULT_CHANNEL = 'general';
const DEFAULT_AUTHOR = 'you';
const RECENT_KEY = 'switchboard.recentChannels';
const AUTHOR_KEY = 'switchboard.displayName';
const MAX_RECENT = 8;
/** The Outbox repeats typing while it works; without a repeat the indicator goes. */
const TYPING_TIMEOUT_MS = 8000;
/** How long "typing…" shows after a send with no sign of the bot at all. */
const WAIT_TIMEOUT_MS = 60000;
/** Retries of a POST that failed on the network or with 503; the id makes them safe. */
const SEND_ATTEMPTS = 3;
const SEND_RETRY_MS = 1500;
/** A closed event stream (the server refused it) is reopened after this long. */
const REOPEN_DELAY_MS = 3000;
/** History and live copies of one message are matched by text within this window. */
const SAME_MESSAGE_WINDOW_MS = 5 * 60 * 1000;
const MAX_TEXTAREA_PX = 200;

const $ = (id) => document.getElementById(id);
const els = {
  model: $('model'),
  recent: $('recent'),
  newChannel: $('new-channel'),
  newChannelName: $('new-channel-name'),
  channelTitle: $('channel-title'),
  connection: $('connection'),
  banner: $('demo-banner'),
  messages: $('messages'),
  empty: $('empty'),
  typing: $('typing'),
  error: $('error'),
  composer: $('composer'),
  author: $('author'),
  text: $('composer-text'),
};

/** State of the open channel; replaced wholesale on a switch. */
let view = null;
let typingTimer = 0;

// ---- storage (private windows may refuse it) --------------------------------------

function load(key, fallback) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? fallback : JSON.parse(value);
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Not remembering is fine.
  }
}

// ---- Markdown: escape everything, then add only the tags we make ------------------

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Inline Markdown of already escaped text: code, links (http/https only), bold, italic. */
function renderInline(escaped) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let out = escaped.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${code}</code>`));
  out = out.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) =>
    hold(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`),
  );
  out = out.replace(/(^|[\s(])(https?:\/\/[^\s<\u0000]+?)(?=[.,;:!?)]*(?:\s|$))/g, (_, pre, url) =>
    pre + hold(`<a href="${url}" target="_blank" rel="noopener noreferrer nofollow">${url}</a>`),
  );
  out = out.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
  out = out.replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?![*\w])/g, '$1<em>$2</em>');
  out = out.replace(/(^|[^\w])_([^_\s][^_\n]*?)_(?!\w)/g, '$1<em>$2</em>');
  out = out.replace(/^(#{1,6}) (.+)$/gm, '<strong>$2</strong>');
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)]);
}

/** Renders a message's Markdown to safe HTML; an unclosed fence (mid-stream) is code to the end. */
function renderMarkdown(text) {
  const parts = [];
  const fence = /```([\w+-]*)[^\n]*\n?([\s\S]*?)(?:```|$)/g;
  let last = 0;
  // pre-wrap keeps line breaks, so drop the one that only separates prose from a fence.
  const prose = (from, to = text.length) => {
    let part = text.slice(from, to);
    if (from > 0) part = part.replace(/^\n/, '');
    if (to < text.length) part = part.replace(/\n$/, '');
    return `<span class="md">${renderInline(escapeHtml(part))}</span>`;
  };
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    parts.push(prose(last, m.index));
    const lang = m[1] ? ` data-lang="${escapeHtml(m[1])}"` : '';
    parts.push(`<pre${lang}><code>${escapeHtml(m[2].replace(/\n$/, ''))}</code></pre>`);
    last = fence.lastIndex;
  }
  parts.push(prose(last));
  return parts.join('').replace(/<span class="md">\s*<\/span>/g, '');
}

// ---- messages -----------------------------------------------------------------------

function formatTime(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function isNearBottom() {
  const el = document.scrollingElement;
  return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
}

function scrollToEnd() {
  window.scrollTo(0, document.scrollingElement.scrollHeight);
}

function createItem(message) {
  const li = document.createElement('li');
  li.className = `msg ${message.role}`;
  li.dataset.id = message.id;
  const head = document.createElement('div');
  head.className = 'meta';
  const author = document.createElement('span');
  author.className = 'author';
  const time = document.createElement('time');
  head.append(author, ' ', time);
  const body = document.createElement('div');
  body.className = 'body';
  const note = document.createElement('p');
  note.className = 'note';
  li.append(head, body, note);
  return li;
}

function paint(entry) {
  const { message, el } = entry;
  el.querySelector('.author').textContent = message.author;
  const time = el.querySelector('time');
  time.dateTime = new Date(message.at).toISOString();
  time.textContent = formatTime(message.at);
  el.querySelector('.body').innerHTML = renderMarkdown(message.text);
  el.setAttribute('aria-busy', String(!message.final));
  el.classList.toggle('streaming', !message.final);
  el.classList.toggle('pending', Boolean(entry.pending));
  el.classList.toggle('failed', Boolean(entry.failed));
  el.querySelector('.note').textContent = entry.failed ? entry.failed : entry.pending ? 'Sending…' : '';
}

/** Adds a message, or replaces the text of the one with the same id (streamed edits). */
function upsert(message, flags = {}) {
  if (!view) return;
  const stick = isNearBottom();
  let entry = view.messages.get(message.id);
  if (entry) {
    // The first time seen is the message's time; edits keep it.
    entry.message = { ...message, at: entry.message.at };
  } else {
    entry = { message, el: createItem(message) };
    view.messages.set(message.id, entry);
    els.messages.append(entry.el);
  }
  Object.assign(entry, flags);
  paint(entry);
  els.empty.hidden = true;
  if (stick) scrollToEnd();
}

/** True when a history entry is this live message, or the finished form of a reply cut off mid-stream. */
function sameMessage(entry, live) {
  if (entry.role !== live.role || Math.abs(entry.at - live.at) > SAME_MESSAGE_WINDOW_MS) return false;
  return entry.text === live.text || (!live.final && entry.text.startsWith(live.text));
}

/** Shows history, keeping live messages that history does not hold yet (in flight, streaming). */
function showHistory(history) {
  const live = [...view.messages.values()].filter(
    (e) => !e.message.id.startsWith('h-') && !history.some((h) => sameMessage(h, e.message)),
  );
  view.streaming = new Set(live.filter((e) => !e.message.final).map((e) => e.message.id));
  view.messages.clear();
  els.messages.replaceChildren();
  for (const message of history) upsert(message);
  for (const entry of live) {
    view.messages.set(entry.message.id, entry);
    els.messages.append(entry.el);
  }
  els.empty.hidden = view.messages.size > 0;
  scrollToEnd();
}

// ---- typing ---------------------------------------------------------------------------

function showTyping(ms) {
  els.typing.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, ms);
}

function hideTyping() {
  clearTimeout(typingTimer);
  els.typing.hidden = true;
}

// ---- the channel: history, then live events ----------------------------------------------

function setConnection(text) {
  els.connection.textContent = text;
}

function showError(text) {
  els.error.textContent = text;
  els.error.hidden = !text;
}

async function loadHistory(current) {
  try {
    const res = await fetch(`/api/channels/${current.channel}/history`);
    const body = await res.json();
    if (view !== current) return;
    if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    showHistory(body.messages);
  } catch (error) {
    if (view === current) showError(`Could not load the conversation: ${error.message}`);
  } finally {
    if (view === current) {
      current.ready = true;
      for (const event of current.buffer.splice(0)) onEvent(event);
    }
  }
}

function onEvent(event) {
  if (event.type === 'typing') {
    // The streaming text already shows the bot at work.
    if (view.streaming.size === 0) showTyping(TYPING_TIMEOUT_MS);
    return;
  }
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

function openEvents(current) {
  const source = new EventSource(`/api/channels/${current.channel}/events`);
  current.source = source;
  const receive = (type) => (e) => {
    if (view !== current) return;
    const event = type === 'typing' ? { type } : { type, message: JSON.parse(e.data) };
    if (current.ready) onEvent(event);
    else current.buffer.push(event);
  };
  source.addEventListener('message', receive('message'));
  source.addEventListener('typing', receive('typing'));
  source.addEventListener('open', () => {
    if (view !== current) return;
    setConnection('');
    // Subscribed now, so history read from here on misses nothing; on a reconnect it
    // fills in whatever happened while we were away.
    current.ready = false;
    loadHistory(current);
  });
  source.addEventListener('error', () => {
    if (view !== current) return;
    setConnection('Reconnecting…');
    if (source.readyState === EventSource.CLOSED) {
      current.reopen = setTimeout(() => view === current && openEvents(current), REOPEN_DELAY_MS);
    }
  });
}

function closeView() {
  if (!view) return;
  view.source?.close();
  clearTimeout(view.reopen);
  view = null;
}

function openChannel(channel) {
  closeView();
  hideTyping();
  showError('');
  setConnection('Connecting…');
  view = {
    channel,
    messages: new Map(),
    streaming: new Set(),
    assistantEvents: 0,
    buffer: [],
    ready: false,
    source: null,
    reopen: 0,
  };
  els.messages.replaceChildren();
  els.empty.hidden = true;
  els.channelTitle.textContent = `#${channel}`;
  document.title = `#${channel} · Switchboard playground`;
  remember(channel);
  openEvents(view);
}

// ---- channels list --------------------------------------------------------------------

function normalizeChannel(raw) {
  return raw
    .trim()
    .replace(/^#/, '')
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/^-+/, '')
    .slice(0, 40);
}

function remember(channel) {
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

function channelFromHash() {
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

// ---- sending ------------------------------------------------------------------------------

function newMessageId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; a LAN address over http is not one.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function post(channel, payload) {
  let failure = 'The bot is temporarily unavailable. Try again in a moment.';
  for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt += 1) {
    try {
      const res = await fetch(`/api/channels/${channel}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      if (res.ok) return { ok: true };
      const body = await res.json().catch(() => ({}));
      failure = body.error?.message ?? `The server answered ${res.status}.`;
      if (res.status !== 503) return { ok: false, failure };
    } catch {
      failure = 'Could not reach the server. Check that Switchboard is running.';
    }
    if (attempt < SEND_ATTEMPTS) await new Promise((r) => setTimeout(r, SEND_RETRY_MS * attempt));
  }
  return { ok: false, failure };
}

async function send() {
  const text = els.text.value.trim();
  if (!text || !view) return;
  const current = view;
  const author = els.author.value.trim() || DEFAULT_AUTHOR;
  const id = newMessageId();
  showError('');
  els.text.value = '';
  fitTextarea();
  upsert({ id, role: 'user', author, text, final: true, at: Date.now() }, { pending: true });
  scrollToEnd();
  const seen = current.assistantEvents;
  const result = await post(current.channel, { id, text, author });
  if (view !== current) return;
  const entry = current.messages.get(id);
  if (entry) {
    Object.assign(entry, { pending: false, failed: result.ok ? '' : `Not sent: ${result.failure}` });
    paint(entry);
  }
  if (result.ok) {
    // Unless the reply beat the POST's answer here, wait for it visibly.
    if (current.assistantEvents === seen) showTyping(WAIT_TIMEOUT_MS);
  } else {
    showError(result.failure);
    // Give the text back so nothing typed is lost.
    if (!els.text.value) els.text.value = text;
    fitTextarea();
  }
}

function fitTextarea() {
  els.text.style.height = 'auto';
  els.text.style.height = `${Math.min(els.text.scrollHeight, MAX_TEXTAREA_PX)}px`;
}

// ---- start ------------------------------------------------------------------------------

async function loadInfo() {
  try {
    const info = await (await fetch('/api/info')).json();
    els.model.textContent = `Model: ${info.model}`;
    els.banner.hidden = !info.demo;
  } catch {
    els.model.textContent = '';
  }
}

function start() {
  els.author.value = load(AUTHOR_KEY, DEFAULT_AUTHOR);
  els.author.addEventListener('change', () => {
    els.author.value = els.author.value.trim() || DEFAULT_AUTHOR;
    save(AUTHOR_KEY, els.author.value);
  });
  els.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
    els.text.focus();
  });
  els.text.addEventListener('keydown', (e) => {
    // isComposing: Enter that confirms an IME candidate must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      els.composer.requestSubmit();
    }
  });
  els.text.addEventListener('input', fitTextarea);
  els.newChannel.addEventListener('submit', (e) => {
    e.preventDefault();
    const channel = normalizeChannel(els.newChannelName.value);
    if (!CHANNEL_PATTERN.test(channel)) {
      els.newChannelName.setAttribute('aria-invalid', 'true');
      els.newChannelName.focus();
      return;
    }
    els.newChannelName.removeAttribute('aria-invalid');
    els.newChannelName.value = '';
    location.hash = channel;
    els.text.focus();
  });
  window.addEventListener('hashchange', () => {
    const channel = channelFromHash();
    if (!view || view.channel !== channel) openChannel(channel);
  });
  loadInfo();
  openChannel(channelFromHash());
  els.text.focus();
}

start();
