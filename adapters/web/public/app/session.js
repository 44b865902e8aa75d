// The token prompt (issue #17). When the server asks for its token (PLAYGROUND_TOKEN: it
// is reachable from other machines), the page asks for it once and keeps it in
// sessionStorage (this tab only) and in `state.token`; never in the DOM or in a URL.

import { channelFromHash } from './channel-list.js';
import { closeView, openChannel } from './channel-view.js';
import { els } from './dom.js';
import { stopRecording } from './recorder.js';
import { state } from './state.js';
import { hideTyping } from './status.js';
import { authorized } from './transport.js';

const TOKEN_KEY = 'switchboard.playgroundToken';

/** The token this tab was given before (a reload keeps it), or ''. Private windows may refuse storage. */
export function readToken() {
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

/** Closes the playground and asks for the token, saying `message` when there is one. */
function showSignIn(message) {
  state.signedIn = false;
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

/**
 * Forgets a token the server refused (transport.js's UNAUTHORIZED_EVENT, or /api/info) and
 * asks again, saying `message`: by default, that a token it had is no longer accepted.
 */
export function signOut(message = state.token ? 'The token is no longer accepted. Enter it again.' : '') {
  state.token = '';
  keepToken('');
  showSignIn(message);
}

/** Tries the token typed in the sign-in form. */
export function signIn() {
  const value = els.token.value.trim();
  // Out of the page at once: the token lives in `state` and sessionStorage only.
  els.token.value = '';
  if (!value) {
    showSignIn('Enter the playground token.');
    return;
  }
  state.token = value;
  connect(true);
}

/** Asks the server who we are (GET /api/info); opens the playground, or asks for the token. */
export async function connect(signingIn) {
  let res;
  try {
    res = await fetch('/api/info', { cache: 'no-store', headers: authorized() });
  } catch {
    if (signingIn) showSignIn('Could not reach the server. Check that Switchboard is running.');
    else openPlayground(null);
    return;
  }
  if (res.status === 401) {
    signOut(signingIn ? 'That token was not accepted.' : undefined);
    return;
  }
  if (signingIn) keepToken(state.token);
  openPlayground(res.ok ? await res.json().catch(() => null) : null);
}

function openPlayground(info) {
  state.signedIn = true;
  els.model.textContent = info ? `Model: ${info.model}` : '';
  els.banner.hidden = !info?.demo;
  els.signIn.hidden = true;
  els.layout.hidden = false;
  if (!state.view) openChannel(channelFromHash());
  els.text.focus();
}
