// The lines under the conversation: the connection, the last error, and "typing…".

import { BOT_NAME, els } from './dom.js';
import { state } from './state.js';

/** What the indicator says for each activity the bot reports. */
const ACTIVITY_WORDS = { typing: 'is typing…', record_voice: 'is listening…', upload_photo: 'is drawing…' };

/** Shows "<bot> is typing…" (or what `activity` says) for `ms`, unless shown again. */
export function showTyping(ms, activity = 'typing') {
  els.typingText.textContent = `${BOT_NAME} ${ACTIVITY_WORDS[activity] || ACTIVITY_WORDS.typing}`;
  els.typing.hidden = false;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, ms);
}

/** Hides "typing…" (a reply is here, or the channel changed). */
export function hideTyping() {
  clearTimeout(state.typingTimer);
  els.typing.hidden = true;
}

/** The event stream's state: '' when connected. */
export function setConnection(text) {
  els.connection.textContent = text;
}

/** Shows an error under the conversation; '' clears it. */
export function showError(text) {
  els.error.textContent = text;
  els.error.hidden = !text;
}
