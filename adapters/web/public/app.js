// Switchboard playground: plain browser JavaScript, no build step.
// Protocol (see adapters/web/web.events.ts): history over JSON, then live events over
// Server-Sent Events (`message` upserted by id, `image`, `typing` with an activity),
// messages posted as JSON; a file is first uploaded raw to /api/uploads and the
// message names it by id.
// When the server asks for its token (PLAYGROUND_TOKEN: it is reachable from other
// machines), the page asks for it once and keeps it in sessionStorage (this tab only).
// It travels only as `Authorization: Bearer`, never in a URL: the event stream is read
// with fetch (EventSource cannot send a header) and pictures are fetched into blob: URLs.
'use strict';

const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const DEFAULT_CHANNEL = 'general';
const DEFAULT_AUTHOR = 'you';
const RECENT_KEY = 'switchboard.recentChannels';
const AUTHOR_KEY = 'switchboard.displayName';
const TOKEN_KEY = 'switchboard.playgroundToken';
const MAX_RECENT = 8;
/** The Outbox repeats typing while it works; without a repeat the indicator goes. */
const TYPING_TIMEOUT_MS = 8000;
/** How long "typing…" shows after a send with no sign of the bot at all. */
const WAIT_TIMEOUT_MS = 60000;
/** Retries of a POST that failed on the network or with 503; the id makes them safe. */
const SEND_ATTEMPTS = 3;
const SEND_RETRY_MS = 1500;
/** A refused event stream is reopened after this long. */
const REOPEN_DELAY_MS = 3000;
/** A dropped event stream is reopened after this long, unless the server said otherwise (`retry:`). */
const RECONNECT_DELAY_MS = 2000;
/** History and live copies of one message are matched by text within this window. */
const SAME_MESSAGE_WINDOW_MS = 5 * 60 * 1000;
const MAX_TEXTAREA_PX = 200;
/** The server refuses larger uploads (413); saying so here saves sending them. */
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
/** What MediaRecorder should record, best first; the transcription endpoint reads all of them. */
const RECORDING_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/webm'];
/** A forgotten recording stops by itself. */
const MAX_RECORDING_MS = 5 * 60 * 1000;
const RECORDING_TICK_MS = 500;
/** A recording sent while the box holds this goes with it: `/translate` then translates the recording. */
const TRANSLATE_COMMAND = /^\/translate(?:\s|$)/i;
/** What the indicator says for each activity the bot reports. */
const ACTIVITY_WORDS = { typing: 'is typing…', record_voice: 'is listening…', upload_photo: 'is drawing…' };

const $ = (id) => document.getElementById(id);
const els = {
  signIn: $('sign-in'),
  token: $('token'),
  tokenError: $('token-error'),
  layout: $('layout'),
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
  typingText: $('typing-text'),
  error: $('error'),
  composer: $('composer'),
  author: $('author'),
  text: $('composer-text'),
  file: $('file'),
  attach: $('attach'),
  record: $('record'),
  recordLabel: $('record-label'),
  recording: $('recording'),
  attachment: $('attachment'),
  attachmentPreview: $('attachment-preview'),
  attachmentName: $('attachment-name'),
  attachmentRemove: $('attachment-remove'),
};
/** The bot's name, as the page was served with it ("Switchboard is typing…"). */
const BOT_NAME = els.typingText.textContent.replace(/ is typing…$/, '');

/** State of the open channel; replaced wholesale on a switch. */
let view = null;
let typingTimer = 0;
/** The file waiting in the composer: { blob, name, kind, url }. */
let draft = null;
/** The recording in progress: { recorder, stream, chunks, started, timer, cancelled }. */
let recording = null;
/** True while the browser asks for the microphone (a second click must not start another). */
let startingRecording = false;
/** The playground's token, when it asks for one; '' on the open (loopback) playground. */
let token = readToken();
/** True once the server let the page in (with the token, when it asks for one). */
let signedIn = false;

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

// ---- the token (kept for this tab only; private windows may refuse storage) -------

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

function keepToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // The token still works until the page is closed.
  }
}

/** `headers` with the token, when there is one. */
function authorized(headers = {}) {
  return token ? { ...headers, authorization: `Bearer ${token}` } : headers;
}

/** fetch with the token; a 401 means the token is missing or no longer accepted: ask for it. */
async function api(url, init = {}) {
  const res = await fetch(url, { cache: 'no-store', ...init, headers: authorized(init.headers) });
  if (res.status === 401) signOut(token ? 'The token is no longer accepted. Enter it again.' : '');
  return res;
}

function showSignIn(message) {
  signedIn = false;
  stopRecording(true);
  closeView();
  hideTyping();
  els.layout.hidden = true;
  els.signIn.hidden = false;
  els.tokenError.textContent = message || '';
  els.tokenError.hidden = !message;
  els.token.setAttribute('aria-invalid', message ? 'true' : 'false');
  els.token.value = '';
  els.token.focus();
}

function signOut(message) {
  token = '';
  keepToken('');
  showSignIn(message);
}

/** Asks the server who we are (GET /api/info); opens the playground, or asks for the token. */
async function connect(signingIn) {
  let res;
  try {
    res = await fetch('/api/info', { cache: 'no-store', headers: authorized() });
  } catch {
    if (signingIn) showSignIn('Could not reach the server. Check that Switchboard is running.');
    else openPlayground(null);
    return;
  }
  if (res.status === 401) {
    const tried = Boolean(token);
    token = '';
    keepToken('');
    showSignIn(signingIn ? 'That token was not accepted.' : tried ? 'The token is no longer accepted. Enter it again.' : '');
    return;
  }
  if (signingIn) keepToken(token);
  openPlayground(res.ok ? await res.json().catch(() => null) : null);
}

function openPlayground(info) {
  signedIn = true;
  els.model.textContent = info ? `Model: ${info.model}` : '';
  els.banner.hidden = !info?.demo;
  els.signIn.hidden = true;
  els.layout.hidden = false;
  if (!view) openChannel(channelFromHash());
  els.text.focus();
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
  const media = document.createElement('div');
  media.className = 'media';
  const body = document.createElement('div');
  body.className = 'body';
  const note = document.createElement('p');
  note.className = 'note';
  li.append(head, media, body, note);
  return li;
}

/** "3.4 MB", as the server words sizes. */
function formatBytes(bytes) {
  const mb = bytes / (1024 * 1024);
  if (mb >= 10) return `${Math.round(mb)} MB`;
  if (mb >= 0.1) return `${mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** What a file is called on the page: its name, or what it is. */
function describeFile(attachment) {
  const what = attachment.kind === 'voice' ? 'Voice note' : attachment.kind === 'image' ? 'Photo' : 'Audio file';
  const name = attachment.kind === 'voice' ? what : attachment.fileName || what;
  return attachment.sizeBytes ? `${name} (${formatBytes(attachment.sizeBytes)})` : name;
}

/** The media of a message: a picture, a player for the sender's own audio, or a label. */
function renderAttachment(message, attachment, src) {
  if (attachment.kind === 'image' && src) {
    const figure = document.createElement('a');
    figure.className = 'picture';
    figure.target = '_blank';
    figure.rel = 'noopener noreferrer';
    const img = document.createElement('img');
    img.alt = message.role === 'assistant' ? `Image by ${message.author}${message.text ? `: ${message.text}` : ''}` : describeFile(attachment);
    showPicture(img, figure, src);
    img.addEventListener('error', () => {
      // Files are kept for an hour; an old conversation's pictures are gone.
      const gone = document.createElement('span');
      gone.className = 'file';
      gone.textContent = `🖼️ ${describeFile(attachment)}: no longer available`;
      figure.replaceWith(gone);
    });
    figure.append(img);
    return figure;
  }
  if (attachment.kind !== 'image' && src) {
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.preload = 'metadata';
    audio.src = src;
    audio.setAttribute('aria-label', describeFile(attachment));
    return audio;
  }
  const label = document.createElement('span');
  label.className = 'file';
  label.textContent = `${attachment.kind === 'image' ? '🖼️' : attachment.kind === 'voice' ? '🎙️' : '🎵'} ${describeFile(attachment)}`;
  return label;
}

/**
 * Points a picture (and its link) at `src`. With a token, a stored file is fetched with it
 * into a blob: URL: an <img> cannot send a header, and the token never goes in a URL.
 */
function showPicture(img, link, src) {
  if (!token || !src.startsWith('/api/files/')) {
    img.src = src;
    link.href = src;
    return;
  }
  const current = view;
  // Stored files never change (the server says so): the browser may keep them.
  api(src, { cache: 'default' })
    .then((res) => (res.ok ? res.blob() : Promise.reject(new Error(`HTTP ${res.status}`))))
    .then((blob) => {
      if (view !== current) return;
      const url = URL.createObjectURL(blob);
      current.blobUrls.push(url);
      img.src = url;
      link.href = url;
    })
    .catch(() => img.dispatchEvent(new Event('error')));
}

/** Builds the media once per file: repainting a streaming text must not restart a player. */
function paintMedia(entry) {
  const attachment = entry.message.attachment;
  const src = entry.localUrl || attachment?.url || '';
  const key = attachment ? `${attachment.kind} ${src}` : '';
  if (entry.mediaKey === key) return;
  entry.mediaKey = key;
  const media = entry.el.querySelector('.media');
  media.replaceChildren(...(attachment ? [renderAttachment(entry.message, attachment, src)] : []));
  media.hidden = !attachment;
}

function paint(entry) {
  const { message, el } = entry;
  el.querySelector('.author').textContent = message.author;
  const time = el.querySelector('time');
  time.dateTime = new Date(message.at).toISOString();
  time.textContent = formatTime(message.at);
  paintMedia(entry);
  const body = el.querySelector('.body');
  body.innerHTML = renderMarkdown(message.text);
  // A file sent without words has no text to show (a streaming reply keeps its cursor).
  body.hidden = message.text === '' && Boolean(message.attachment) && message.final;
  el.setAttribute('aria-busy', String(!message.final));
  el.classList.toggle('streaming', !message.final);
  el.classList.toggle('pending', Boolean(entry.pending));
  el.classList.toggle('failed', Boolean(entry.failed));
  el.querySelector('.note').textContent = entry.failed ? entry.failed : entry.uploading ? 'Uploading…' : entry.pending ? 'Sending…' : '';
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

function showTyping(ms, activity = 'typing') {
  els.typingText.textContent = `${BOT_NAME} ${ACTIVITY_WORDS[activity] || ACTIVITY_WORDS.typing}`;
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
    const res = await api(`/api/channels/${current.channel}/history`);
    if (view !== current) return;
    const body = await res.json();
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
  if (view !== current) return;
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
    if (view !== current || res.status === 401) return;
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
  if (view !== current || abort.signal.aborted) return;
  setConnection('Reconnecting…');
  current.reopen = setTimeout(() => view === current && openEvents(current), delay);
}

/**
 * Server-Sent Events over a fetch body: calls `onEvent(type, data)` per event and
 * `onRetry(ms)` per `retry:` field, until the stream ends.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
async function readEvents(body, onEvent, onRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r?\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) onEvent(type || 'message', data.join('\n'));
        type = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = text;
      else if (field === 'data') data.push(text);
      else if (field === 'retry' && /^\d+$/.test(text)) onRetry(Number(text));
    }
  }
}

function closeView() {
  if (!view) return;
  view.source?.abort();
  clearTimeout(view.reopen);
  for (const entry of view.messages.values()) if (entry.localUrl) URL.revokeObjectURL(entry.localUrl);
  for (const url of view.blobUrls) URL.revokeObjectURL(url);
  view = null;
}

function openChannel(channel) {
  stopRecording(true);
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
    blobUrls: [],
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

/** A POST, retried on the network and on 503 (message ids and uploads make that safe). */
async function request(url, init) {
  let failure = 'The bot is temporarily unavailable. Try again in a moment.';
  for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt += 1) {
    try {
      const res = await api(url, { method: 'POST', ...init });
      const body = await res.json().catch(() => ({}));
      if (res.ok) return { ok: true, body };
      if (res.status === 401) return { ok: false, failure: 'The playground needs its token again.' };
      failure = body.error?.message ?? `The server answered ${res.status}.`;
      if (res.status !== 503) return { ok: false, failure };
    } catch {
      failure = 'Could not reach the server. Check that Switchboard is running.';
    }
    if (attempt < SEND_ATTEMPTS) await new Promise((r) => setTimeout(r, SEND_RETRY_MS * attempt));
  }
  return { ok: false, failure };
}

function post(channel, payload) {
  return request(`/api/channels/${channel}/messages`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

/** Uploads a file raw; answers { ok, body: { id, kind } } or { ok: false, failure }. */
function upload(file) {
  const query = new URLSearchParams({ name: file.name });
  if (file.kind === 'voice') query.set('voice', '1');
  return request(`/api/uploads?${query}`, {
    headers: { 'content-type': file.blob.type || 'application/octet-stream' },
    body: file.blob,
  });
}

/**
 * Sends what the composer holds, or `voice` (a recording, sent as soon as it stops; with
 * `/translate` typed in the box, the recording goes with it and is translated).
 */
async function send(voice) {
  const typed = els.text.value.trim();
  const text = voice ? (TRANSLATE_COMMAND.test(typed) ? typed : '') : typed;
  const file = voice || draft;
  if ((!text && !file) || !view) return;
  const current = view;
  const author = els.author.value.trim() || DEFAULT_AUTHOR;
  const id = newMessageId();
  showError('');
  if (!voice || text) {
    els.text.value = '';
    fitTextarea();
  }
  if (!voice) setDraft(null, { keepUrl: true });
  const attachment = file && { kind: file.kind, mimeType: file.blob.type, sizeBytes: file.blob.size, fileName: file.name };
  upsert(
    { id, role: 'user', author, text, final: true, at: Date.now(), ...(attachment ? { attachment } : {}) },
    { pending: true, uploading: Boolean(file), localUrl: file?.url },
  );
  scrollToEnd();
  const seen = current.assistantEvents;
  let result = { ok: true };
  let uploaded;
  if (file) {
    result = await upload(file);
    if (result.ok) uploaded = { id: result.body.id, kind: result.body.kind };
  }
  const entry = current.messages.get(id);
  if (entry && entry.uploading) {
    entry.uploading = false;
    paint(entry);
  }
  if (result.ok) result = await post(current.channel, { id, text, author, ...(uploaded ? { attachment: uploaded } : {}) });
  if (view !== current) return;
  if (entry) {
    Object.assign(entry, { pending: false, failed: result.ok ? '' : `Not sent: ${result.failure}` });
    paint(entry);
  }
  if (result.ok) {
    // Unless the reply (or the bot's own activity) beat the POST's answer here, wait for it visibly.
    if (current.assistantEvents === seen && els.typing.hidden) showTyping(WAIT_TIMEOUT_MS);
  } else {
    showError(result.failure);
    // Give the text and the file (a recording too) back, so nothing is lost and Send retries.
    if (!els.text.value) els.text.value = text;
    if (file && !draft) setDraft({ ...file, url: URL.createObjectURL(file.blob) });
    fitTextarea();
  }
}

// ---- files: attach, record ---------------------------------------------------------------

/** The kind of a chosen file, or undefined when the playground cannot take it. */
function kindOf(type) {
  const base = type.split(';')[0].trim().toLowerCase();
  if (IMAGE_TYPES.has(base)) return 'image';
  if (base.startsWith('audio/') || base === 'video/webm' || base === 'video/mp4') return 'audio';
  return undefined;
}

/** Checks a file before it waits in the composer; shows why when it cannot go. */
function attachFile(file) {
  const kind = kindOf(file.type);
  if (!kind) {
    showError('The playground takes voice notes, audio files and PNG, JPEG, WebP or GIF images, not that kind of file.');
    return;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    showError(`The file is ${formatBytes(file.size)}, more than the ${formatBytes(MAX_UPLOAD_BYTES)} the playground takes.`);
    return;
  }
  showError('');
  setDraft({ blob: file, name: file.name || (kind === 'image' ? 'photo' : 'audio'), kind, url: URL.createObjectURL(file) });
  els.text.focus();
}

/** Puts a file in the composer (or takes it out). */
function setDraft(next, { keepUrl = false } = {}) {
  if (draft && !keepUrl) URL.revokeObjectURL(draft.url);
  draft = next;
  els.attachment.hidden = !draft;
  els.file.value = '';
  if (!draft) {
    els.attachmentPreview.replaceChildren();
    els.attachmentName.textContent = '';
    return;
  }
  const preview = document.createElement(draft.kind === 'image' ? 'img' : 'audio');
  preview.src = draft.url;
  if (draft.kind === 'image') {
    preview.alt = '';
  } else {
    // Listen before sending.
    preview.controls = true;
    preview.preload = 'metadata';
    preview.setAttribute('aria-label', 'Attached audio');
  }
  els.attachmentPreview.replaceChildren(preview);
  els.attachmentName.textContent = `Attached: ${describeFile({ kind: draft.kind, fileName: draft.name, sizeBytes: draft.blob.size })}`;
}

function extensionOf(type) {
  if (type.includes('ogg')) return 'ogg';
  if (type.includes('mp4')) return 'm4a';
  return 'webm';
}

function recorderError(error) {
  if (error && (error.name === 'NotAllowedError' || error.name === 'SecurityError')) {
    return 'Recording needs permission to use the microphone. Allow it in the browser and try again.';
  }
  if (error && error.name === 'NotFoundError') return 'No microphone was found. Connect one, or attach an audio file instead.';
  return 'Could not start recording. Attach an audio file instead.';
}

async function startRecording() {
  if (recording || startingRecording) return;
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
    // getUserMedia needs a secure context: https, or this machine's own address.
    showError('This browser cannot record here (it needs https or 127.0.0.1). Attach an audio file instead.');
    return;
  }
  let stream;
  startingRecording = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError(recorderError(error));
    return;
  } finally {
    startingRecording = false;
  }
  const mimeType = RECORDING_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  let recorder;
  try {
    recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    showError(recorderError(error));
    return;
  }
  const rec = { recorder, stream, chunks: [], started: Date.now(), timer: 0, cancelled: false };
  recorder.addEventListener('dataavailable', (e) => {
    if (e.data.size > 0) rec.chunks.push(e.data);
  });
  recorder.addEventListener('stop', () => finishRecording(rec));
  recorder.start(1000);
  recording = rec;
  showError('');
  rec.timer = setInterval(() => {
    if (Date.now() - rec.started >= MAX_RECORDING_MS) stopRecording(false);
    else showRecording(rec);
  }, RECORDING_TICK_MS);
  showRecording(rec);
}

function showRecording(rec) {
  const seconds = Math.floor((Date.now() - rec.started) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  els.recording.hidden = false;
  els.recording.textContent = `Recording ${clock}. Press Stop to send it, Escape to cancel.`;
  els.record.setAttribute('aria-pressed', 'true');
  els.record.classList.add('on');
  els.recordLabel.textContent = 'Stop';
}

/** Ends the recording; it is sent unless `cancel`. */
function stopRecording(cancel) {
  if (!recording) return;
  recording.cancelled = cancel;
  if (recording.recorder.state !== 'inactive') recording.recorder.stop();
  else finishRecording(recording);
}

function finishRecording(rec) {
  clearInterval(rec.timer);
  for (const track of rec.stream.getTracks()) track.stop();
  if (recording !== rec) return;
  recording = null;
  els.recording.hidden = true;
  els.recording.textContent = '';
  els.record.setAttribute('aria-pressed', 'false');
  els.record.classList.remove('on');
  els.recordLabel.textContent = 'Record';
  if (rec.cancelled) return;
  const type = rec.recorder.mimeType || rec.chunks[0]?.type || 'audio/webm';
  const blob = new Blob(rec.chunks, { type });
  if (blob.size === 0) {
    showError('Nothing was recorded. Check the microphone and try again.');
    return;
  }
  if (blob.size > MAX_UPLOAD_BYTES) {
    showError(`The recording is ${formatBytes(blob.size)}, more than the ${formatBytes(MAX_UPLOAD_BYTES)} the playground takes.`);
    return;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  send({ blob, name: `voice-${stamp}.${extensionOf(type)}`, kind: 'voice', url: URL.createObjectURL(blob) });
}

function fitTextarea() {
  els.text.style.height = 'auto';
  els.text.style.height = `${Math.min(els.text.scrollHeight, MAX_TEXTAREA_PX)}px`;
}

// ---- start ------------------------------------------------------------------------------

function start() {
  els.signIn.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = els.token.value.trim();
    // Out of the page at once: the token lives in this script and sessionStorage only.
    els.token.value = '';
    if (!value) {
      showSignIn('Enter the playground token.');
      return;
    }
    token = value;
    connect(true);
  });
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
  els.text.addEventListener('paste', (e) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => kindOf(f.type) === 'image');
    if (file) {
      e.preventDefault();
      attachFile(file);
    }
  });
  els.attach.addEventListener('click', () => els.file.click());
  els.file.addEventListener('change', () => {
    const file = els.file.files?.[0];
    if (file) attachFile(file);
  });
  els.attachmentRemove.addEventListener('click', () => {
    setDraft(null);
    els.text.focus();
  });
  els.record.addEventListener('click', () => (recording ? stopRecording(false) : startRecording()));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && recording) {
      e.preventDefault();
      stopRecording(true);
    }
  });
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
    if (signedIn && (!view || view.channel !== channel)) openChannel(channel);
  });
  connect(false);
}

start();
