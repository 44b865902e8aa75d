// The playground's mutable state, in one place: every module that reads or changes it
// imports this object by name (a few functions take `view` or `recording` out of it
// first). Nothing else in the page's modules is reassigned after it loads.

/** What the page holds while the tab is open. */
export const state = {
  /** The playground's token, when it asks for one; '' on the open (loopback) playground. Never in the DOM. */
  token: '',
  /** True once the server let the page in (with the token, when it asks for one). */
  signedIn: false,
  /**
   * The open channel, replaced wholesale on a switch (see channel-view.js): { channel,
   * messages: Map<id, entry>, streaming: Set<id>, assistantEvents, buffer, ready, source,
   * reopen, blobUrls }. A late answer for a channel no longer shown checks `view !== current`.
   */
  view: null,
  /** The file waiting in the composer: { blob, name, kind, url }. */
  draft: null,
  /** The recording in progress: { recorder, stream, chunks, started, timer, cancelled }. */
  recording: null,
  /** True while the browser asks for the microphone (a second click must not start another). */
  startingRecording: false,
  /** Hides "typing…" when the bot stops repeating it. */
  typingTimer: 0,
};
