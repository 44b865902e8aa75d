// The playground's HTTP API, with the token when there is one. It travels only as
// `Authorization: Bearer`, never in a URL (issue #17).

import { state } from './state.js';

/** Retries of a POST that failed on the network or with 503; the id makes them safe. */
const SEND_ATTEMPTS = 3;
const SEND_RETRY_MS = 1500;

/**
 * Dispatched on `window` when the server refuses the token (401); session.js asks for it
 * again. An event rather than an import, so that this module stays below the ones it serves.
 */
export const UNAUTHORIZED_EVENT = 'switchboard:unauthorized';

/** `headers` with the token, when there is one. */
export function authorized(headers = {}) {
  return state.token ? { ...headers, authorization: `Bearer ${state.token}` } : headers;
}

/** fetch with the token; a 401 means the token is missing or no longer accepted: ask for it. */
export async function api(url, init = {}) {
  const res = await fetch(url, { cache: 'no-store', ...init, headers: authorized(init.headers) });
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  return res;
}

/** A new message id; the server dedupes on it, so a retried POST is one message. */
export function newMessageId() {
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

/** Posts a message (POST /api/channels/:channel/messages); answers { ok, body } or { ok: false, failure }. */
export function post(channel, payload) {
  return request(`/api/channels/${channel}/messages`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

/** Uploads a file raw; answers { ok, body: { id, kind } } or { ok: false, failure }. */
export function upload(file) {
  const query = new URLSearchParams({ name: file.name });
  if (file.kind === 'voice') query.set('voice', '1');
  return request(`/api/uploads?${query}`, {
    headers: { 'content-type': file.blob.type || 'application/octet-stream' },
    body: file.blob,
  });
}
