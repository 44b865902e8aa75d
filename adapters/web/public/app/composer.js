// The composer: the text box, the author's name, the file waiting to go (attached,
// pasted, or a recording that failed to send), and sending all of it: the file is
// uploaded first, then the message names it by id.

import { els } from './dom.js';
import { describeFile, formatBytes } from './format.js';
import { paint, scrollToEnd, upsert } from './messages.js';
import { state } from './state.js';
import { showError, showTyping } from './status.js';
import { load, save } from './storage.js';
import { newMessageId, post, upload } from './transport.js';

const DEFAULT_AUTHOR = 'you';
const AUTHOR_KEY = 'switchboard.displayName';
/** How long "typing…" shows after a send with no sign of the bot at all. */
const WAIT_TIMEOUT_MS = 60000;
const MAX_TEXTAREA_PX = 200;
/** The server refuses larger uploads (413); saying so here saves sending them. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
/** A recording sent while the box holds this goes with it: `/translate` then translates the recording. */
const TRANSLATE_COMMAND = /^\/translate(?:\s|$)/i;

/** Shows the name this browser used last. */
export function restoreAuthor() {
  els.author.value = load(AUTHOR_KEY, DEFAULT_AUTHOR);
}

/** Keeps the name as typed (the default when blank) for the next visit. */
export function keepAuthor() {
  els.author.value = els.author.value.trim() || DEFAULT_AUTHOR;
  save(AUTHOR_KEY, els.author.value);
}

/**
 * Sends what the composer holds, or `voice` (a recording, sent as soon as it stops; with
 * `/translate` typed in the box, the recording goes with it and is translated).
 */
export async function send(voice) {
  const typed = els.text.value.trim();
  const text = voice ? (TRANSLATE_COMMAND.test(typed) ? typed : '') : typed;
  const file = voice || state.draft;
  if ((!text && !file) || !state.view) return;
  const current = state.view;
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
  if (state.view !== current) return;
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
    if (file && !state.draft) setDraft({ ...file, url: URL.createObjectURL(file.blob) });
    fitTextarea();
  }
}

/** The kind of a chosen file, or undefined when the playground cannot take it. */
export function kindOf(type) {
  const base = type.split(';')[0].trim().toLowerCase();
  if (IMAGE_TYPES.has(base)) return 'image';
  if (base.startsWith('audio/') || base === 'video/webm' || base === 'video/mp4') return 'audio';
  return undefined;
}

/** Checks a file before it waits in the composer; shows why when it cannot go. */
export function attachFile(file) {
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
export function setDraft(draft, { keepUrl = false } = {}) {
  if (state.draft && !keepUrl) URL.revokeObjectURL(state.draft.url);
  state.draft = draft;
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

/** Grows the text box with its text, up to a limit. */
export function fitTextarea() {
  els.text.style.height = 'auto';
  els.text.style.height = `${Math.min(els.text.scrollHeight, MAX_TEXTAREA_PX)}px`;
}
