// Switchboard operator view: plain browser JavaScript, no build step.
// Asks once for the admin token (kept in sessionStorage: this tab only), then reads
// GET /api/admin/snapshot with `Authorization: Bearer <token>` every few seconds. The
// token only ever travels in that header, never in a URL. Everything shown is set as
// text, never as HTML: failure reasons come from error messages.
'use strict';

const TOKEN_KEY = 'switchboard.adminToken';
const SNAPSHOT_URL = '/api/admin/snapshot';
const REFRESH_MS = 5000;
const KINDS = ['chat', 'transcribe', 'image', 'moderate', 'translate', 'picture'];
const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'workers'];

const $ = (id) => document.getElementById(id);
const els = {
  signIn: $('sign-in'),
  token: $('token'),
  tokenError: $('token-error'),
  dashboard: $('dashboard'),
  status: $('status'),
  problem: $('problem'),
  signOut: $('sign-out'),
  workers: $('workers'),
  queues: $('queues').tBodies[0],
  failures: $('failures'),
  noFailures: $('no-failures'),
};

/**
 * The page's mutable state, in one place. It stays a classic script (one file, loaded
 * with `defer`): small enough to read in one go, unlike the playground's modules.
 */
const state = {
  /** The admin token; never in the DOM or a URL. */
  token: readToken(),
  /** The next refresh. */
  timer: 0,
  /** Bumped on sign-in and sign-out, so an answer to an older request is dropped. */
  generation: 0,
};

// ---- token (private windows may refuse storage: then it lives in this page only) ----

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

// ---- screens ---------------------------------------------------------------------

function showSignIn(message) {
  clearTimeout(state.timer);
  els.dashboard.hidden = true;
  els.signIn.hidden = false;
  els.tokenError.textContent = message || '';
  els.tokenError.hidden = !message;
  els.token.setAttribute('aria-invalid', message ? 'true' : 'false');
  els.token.value = '';
  els.token.focus();
}

function showDashboard() {
  els.signIn.hidden = true;
  els.dashboard.hidden = false;
}

els.signIn.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = els.token.value.trim();
  if (!value) {
    showSignIn('Enter the admin token.');
    return;
  }
  state.token = value;
  state.generation += 1;
  void refresh(true);
});

els.signOut.addEventListener('click', () => {
  state.token = '';
  state.generation += 1;
  keepToken('');
  setProblem('');
  els.queues.replaceChildren();
  els.failures.tBodies[0].replaceChildren();
  showSignIn('');
});

// ---- refreshing ------------------------------------------------------------------

/** Reads a snapshot; `signingIn`: the token was just typed and is kept only if it works. */
async function refresh(signingIn) {
  clearTimeout(state.timer);
  const mine = state.generation;
  let response;
  try {
    response = await fetch(SNAPSHOT_URL, { headers: { authorization: `Bearer ${state.token}` }, cache: 'no-store' });
  } catch {
    if (mine !== state.generation) return;
    if (signingIn) showSignIn('Cannot reach the service. Is it running?');
    else {
      setProblem('Cannot reach the service; trying again…');
      schedule();
    }
    return;
  }
  if (mine !== state.generation) return;
  if (response.status === 401) {
    state.token = '';
    keepToken('');
    showSignIn(signingIn ? 'That token was not accepted.' : 'The token is no longer accepted. Enter it again.');
    return;
  }
  if (response.status === 404) {
    showSignIn('The operator view is off: the service has no ADMIN_TOKEN.');
    return;
  }
  if (!response.ok) {
    const message = await errorMessage(response);
    if (signingIn) showSignIn(message);
    else {
      setProblem(`${message} Showing the last snapshot.`);
      schedule();
    }
    return;
  }
  const snapshot = await response.json();
  if (mine !== state.generation) return;
  if (signingIn) keepToken(state.token);
  render(snapshot);
  showDashboard();
  schedule();
}

function schedule() {
  clearTimeout(state.timer);
  if (document.hidden) return;
  state.timer = setTimeout(() => void refresh(false), REFRESH_MS);
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === 'string') return body.error.message;
  } catch {
    // Not our JSON: say what we know.
  }
  return `The service answered ${response.status}.`;
}

/** When the shown snapshot was taken; not a live region, so a screen reader is not told every refresh. */
function setStatus(text) {
  els.status.textContent = text;
}

/** A refresh that failed; announced once, cleared by the next good one. */
function setProblem(text) {
  if (els.problem.textContent === text && !els.problem.hidden) return;
  els.problem.textContent = text;
  els.problem.hidden = !text;
}

// ---- rendering -------------------------------------------------------------------

function render(snapshot) {
  setProblem('');
  setStatus(`Updated ${formatClock(snapshot.takenAt)}`);
  renderWorkers(snapshot.processes);
  renderQueues(snapshot.queues);
  renderFailures(snapshot.failures);
}

function renderWorkers(processes) {
  els.workers.textContent =
    processes === 0
      ? 'No worker process is connected: jobs wait until one starts.'
      : `${processes} worker ${processes === 1 ? 'process' : 'processes'} connected.`;
  els.workers.classList.toggle('none', processes === 0);
}

function renderQueues(queues) {
  const rows = KINDS.map((kind) => {
    const counts = queues[kind] || {};
    const row = document.createElement('tr');
    row.dataset.kind = kind;
    const head = document.createElement('th');
    head.scope = 'row';
    head.textContent = kind;
    row.append(head);
    for (const state of STATES) {
      const value = Number(counts[state] || 0);
      const cell = document.createElement('td');
      cell.className = 'num';
      cell.dataset.state = state;
      cell.textContent = value.toLocaleString('en');
      if (state === 'failed' && value > 0) cell.classList.add('bad');
      else if (state === 'workers' && value === 0) cell.classList.add('bad');
      else if (value > 0) cell.classList.add('nonzero');
      row.append(cell);
    }
    return row;
  });
  els.queues.replaceChildren(...rows);
}

function renderFailures(failures) {
  const rows = failures.map((failure) => {
    const row = document.createElement('tr');
    row.append(
      cell(timeOf(failure.failedAt)),
      cell(failure.kind),
      cell(failure.platform ? `${failure.platform} ${failure.channel ?? ''}`.trim() : '—', 'mono'),
      cell(failure.id, 'mono'),
      cell(String(failure.attemptsMade), 'num'),
      cell(failure.reason, 'reason'),
      cell(failure.traceId ?? '—', 'mono'),
    );
    return row;
  });
  els.failures.tBodies[0].replaceChildren(...rows);
  els.failures.hidden = rows.length === 0;
  els.noFailures.hidden = rows.length > 0;
}

function cell(content, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (typeof content === 'string') td.textContent = content;
  else td.append(content);
  return td;
}

function timeOf(ms) {
  const time = document.createElement('time');
  const date = new Date(ms);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = formatClock(ms);
  return time;
}

/** Today's times as a clock; older ones with their date. */
function formatClock(ms) {
  const date = new Date(ms);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

// ---- start -----------------------------------------------------------------------

document.addEventListener('visibilitychange', () => {
  // A hidden tab stops asking; it catches up at once when shown again.
  if (document.hidden) clearTimeout(state.timer);
  else if (state.token && !els.dashboard.hidden) void refresh(false);
});

if (state.token) {
  setStatus('Loading…');
  showDashboard();
  void refresh(false);
} else {
  showSignIn('');
}
