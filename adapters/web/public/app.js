// Switchboard playground: native ES modules, no build step. This entry module wires the
// page's controls to the modules under app/, which split it by concern:
//   state.js         the page's mutable state, in one object (nothing else is reassigned)
//   dom.js           the page's elements
//   transport.js     the HTTP API with the token; sse.js reads the event stream
//   session.js       the token prompt (issue #17)
//   channel-view.js  the open channel: history, then live events
//   channel-list.js  channel names, the address (#name), the recent list
//   messages.js      rendering messages (markdown.js, format.js), pictures and audio
//   composer.js      the text box, attachments and sending; recorder.js records voice
//   status.js        connection, error and "typing…" lines; storage.js remembers names
// Protocol (see adapters/web/web.events.ts): history over JSON, then live events over
// Server-Sent Events (`message` upserted by id, `image`, `typing` with an activity,
// `delete` for a message taken back), messages posted as JSON; a file is first uploaded
// raw to /api/uploads and the message names it by id. The token travels only as `Authorization: Bearer`, never in a
// URL: the event stream is read with fetch (EventSource cannot send a header) and
// pictures are fetched into blob: URLs.

import { CHANNEL_PATTERN, channelFromHash, normalizeChannel } from './app/channel-list.js';
import { openChannel } from './app/channel-view.js';
import { attachFile, fitTextarea, keepAuthor, kindOf, restoreAuthor, send, setDraft } from './app/composer.js';
import { els } from './app/dom.js';
import { startRecording, stopRecording } from './app/recorder.js';
import { connect, readToken, signIn, signOut } from './app/session.js';
import { state } from './app/state.js';
import { UNAUTHORIZED_EVENT } from './app/transport.js';

function start() {
  state.token = readToken();
  // Once: requests still in flight when the token was refused (pictures, a send) are
  // refused too, and must not wipe the sign-in form's message or what is being typed there.
  window.addEventListener(UNAUTHORIZED_EVENT, () => {
    if (state.signedIn) signOut();
  });
  els.signIn.addEventListener('submit', (e) => {
    e.preventDefault();
    signIn();
  });
  restoreAuthor();
  els.author.addEventListener('change', keepAuthor);
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
  els.record.addEventListener('click', () => (state.recording ? stopRecording(false) : startRecording()));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.recording) {
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
    if (state.signedIn && (!state.view || state.view.channel !== channel)) openChannel(channel);
  });
  connect(false);
}

start();
