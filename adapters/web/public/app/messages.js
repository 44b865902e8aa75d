// The conversation's messages: each one an <li> built once and repainted as its text
// streams in, matched by id; pictures and audio; history merged with live messages.

import { els } from './dom.js';
import { describeFile, formatTime } from './format.js';
import { renderMarkdown } from './markdown.js';
import { state } from './state.js';
import { api } from './transport.js';

/** History and live copies of one message are matched by text within this window. */
const SAME_MESSAGE_WINDOW_MS = 5 * 60 * 1000;
/** Closer than this to the end, a new message scrolls the page along. */
const NEAR_BOTTOM_PX = 120;

function isNearBottom() {
  const el = document.scrollingElement;
  return el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
}

/** Scrolls to the newest message. */
export function scrollToEnd() {
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
  if (!state.token || !src.startsWith('/api/files/')) {
    img.src = src;
    link.href = src;
    return;
  }
  const current = state.view;
  // Stored files never change (the server says so): the browser may keep them.
  api(src, { cache: 'default' })
    .then((res) => (res.ok ? res.blob() : Promise.reject(new Error(`HTTP ${res.status}`))))
    .then((blob) => {
      if (state.view !== current) return;
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

/** Shows an entry's message as it is now: author, time, media, text, and whether it is sent. */
export function paint(entry) {
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
export function upsert(message, flags = {}) {
  const { view } = state;
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
export function showHistory(history) {
  const { view } = state;
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

