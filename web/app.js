// Entry point of the inspector page: sign-in, the live event list, the
// event detail (at #event/<integration>/<event>) and the sink panel.

import { api, setUnauthorizedHandler } from './api.js';
import { DetailView } from './detail-view.js';
import { byId, h, refreshTimes, replaceChildren } from './dom.js';
import { EventsView, eventHash } from './events-view.js';
import { Feed, FeedState } from './feed.js';
import { SinkView } from './sink-view.js';
import { ActivityStore, eventKey } from './store.js';

const ACTIVITY_LIMIT = 200;
const SANDBOX_SINK = 'sandbox';
const TIME_REFRESH_MS = 1000;
// Rows not in the loaded list that are completed from the event API at once.
const FILL_CONCURRENCY = 4;

const STATE_TEXT = {
  [FeedState.CONNECTING]: 'Connecting…',
  [FeedState.LIVE]: 'Live',
  [FeedState.RECONNECTING]: 'Reconnecting…',
  [FeedState.OFFLINE]: 'Offline',
};

const elements = {
  signInView: byId('sign-in-view'),
  signInForm: byId('sign-in-form'),
  keyInput: byId('key-input'),
  signInError: byId('sign-in-error'),
  signInButton: byId('sign-in-button'),
  appView: byId('app-view'),
  sessionBar: byId('session-bar'),
  connection: byId('connection'),
  connectionText: byId('connection-text'),
  identity: byId('identity'),
  signOut: byId('sign-out'),
  listView: byId('list-view'),
  listError: byId('list-error'),
  detailView: byId('detail-view'),
};

const store = new ActivityStore();
const eventsView = new EventsView({
  store,
  table: byId('events-table'),
  body: byId('events-body'),
  empty: byId('events-empty'),
  noMatch: byId('events-no-match'),
  count: byId('events-count'),
  filterInput: byId('filter'),
  statusSelect: byId('status-filter'),
});
const detailView = new DetailView({ root: elements.detailView });
const sinkView = new SinkView({
  list: byId('sink-list'),
  status: byId('sink-status'),
  title: byId('sink-heading'),
  clearButton: byId('sink-clear'),
  reloadButton: byId('sink-reload'),
});
const feed = new Feed({
  onRecord: handleRecord,
  onReset: () => reload(),
  onState: showConnection,
  onUnauthorized: () => sessionEnded(),
});

let session = null;
let fillQueue = [];
let fillRunning = 0;
// Event whose row gets the focus back when the detail closes.
let lastOpenedKey = null;

// ---- sign-in -----------------------------------------------------------

/** Shows the sign-in form. With keepKey, a mistyped key stays in the field to fix. */
function showSignIn(message = '', { keepKey = false } = {}) {
  session = null;
  feed.close();
  store.clear();
  detailView.hide();
  sinkView.hide();
  fillQueue = [];
  elements.appView.hidden = true;
  elements.sessionBar.hidden = true;
  elements.signInView.hidden = false;
  elements.signInError.textContent = message;
  if (!keepKey) {
    elements.keyInput.value = '';
  }
  elements.keyInput.focus();
  elements.keyInput.select();
}

function sessionEnded() {
  if (session) {
    showSignIn('Your session has ended. Sign in again.');
  }
}

async function signIn(key) {
  elements.signInButton.disabled = true;
  elements.signInError.textContent = '';
  try {
    const identity = await api.signIn(key);
    await start(identity);
  } catch (err) {
    let message = `Signing in failed: ${err.message}`;
    if (err.status === 401) {
      message = 'The key was not accepted. Check that it is the admin key or an API key of an existing integration.';
    } else if (err.status === 400 || err.status === 422) {
      message = 'Enter a key without spaces.';
    }
    showSignIn(message, { keepKey: true });
  } finally {
    elements.signInButton.disabled = false;
  }
}

/** Returns the key of a "#key=<key>" fragment, or null. */
function keyFromFragment() {
  const match = /^#key=(.+)$/.exec(location.hash);
  if (!match) {
    return null;
  }
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function forgetFragment() {
  history.replaceState(null, '', `${location.pathname}${location.search}`);
}

// ---- signed in ----------------------------------------------------------

async function start(identity) {
  session = identity;
  elements.signInView.hidden = true;
  elements.signInError.textContent = '';
  elements.appView.hidden = false;
  elements.sessionBar.hidden = false;
  showIdentity(identity);
  eventsView.setShowIntegration(identity.role === 'admin');

  // An integration may read the sinks named after it, and the sandbox
  // integration has the same id as the sandbox sink.
  sinkView.show(identity.role === 'admin' ? SANDBOX_SINK : identity.integration_id);
  await reload();
  route();
}

function showIdentity(identity) {
  if (identity.role === 'admin') {
    replaceChildren(
      elements.identity,
      h('span', { class: 'role role-admin' }, 'admin'),
      h('span', { class: 'identity-scope' }, 'all integrations'),
    );
  } else {
    replaceChildren(
      elements.identity,
      h('span', { class: 'role' }, 'integration'),
      h('code', { class: 'mono identity-scope', id: 'identity-integration' }, identity.integration_id),
    );
  }
}

/** Loads the list from /activity and opens the feed where the list ends. */
async function reload() {
  feed.close();
  replaceChildren(elements.listError);
  let activity;
  try {
    activity = await api.activity(ACTIVITY_LIMIT);
  } catch (err) {
    if (err.status === 401) {
      return;
    }
    replaceChildren(
      elements.listError,
      h(
        'div',
        { class: 'notice notice-error', role: 'alert' },
        `Loading recent activity failed: ${err.message}`,
        ' ',
        h('button', { type: 'button', class: 'button-ghost button-small', onclick: () => reload() }, 'Retry'),
      ),
    );
    return;
  }
  if (!session) {
    return;
  }
  store.load(activity.entries || []);
  queueFills([...store.events.values()]);
  feed.open(activity.last_id);
}

function handleRecord(record) {
  if (record.kind === 'capture') {
    sinkView.onCapture(record);
    return;
  }
  if (!store.apply(record)) {
    return;
  }
  const key = record.integration_id && record.event_id ? eventKey(record.integration_id, record.event_id) : null;
  if (key && key === detailView.key) {
    detailView.scheduleRefresh();
  }
  if (key && store.events.get(key)?.incomplete) {
    queueFills([store.events.get(key)]);
  }
}

function showConnection(state) {
  elements.connection.dataset.state = state;
  elements.connectionText.textContent = STATE_TEXT[state] || state;
}

// Rows created by attempts of events older than the loaded list have no
// type yet, so the event API completes them.
function queueFills(events) {
  for (const event of events) {
    if (event.incomplete && !fillQueue.includes(event.key)) {
      fillQueue.push(event.key);
    }
  }
  while (fillRunning < FILL_CONCURRENCY && fillQueue.length > 0) {
    fillNext(fillQueue.shift());
  }
}

async function fillNext(key) {
  const event = store.events.get(key);
  if (!event) {
    return;
  }
  fillRunning++;
  try {
    store.fillFromDetail(key, await api.event(event.integrationId, event.eventId));
  } catch (err) {
    console.warn(`completing event ${event.eventId} failed: ${err.message}`);
  } finally {
    fillRunning--;
    queueFills([]);
  }
}

// ---- routing -----------------------------------------------------------

/** Shows the list or the event named by the fragment. */
function route() {
  if (!session) {
    return;
  }
  const match = /^#event\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (match) {
    const integrationId = decodeURIComponent(match[1]);
    const eventId = decodeURIComponent(match[2]);
    lastOpenedKey = eventKey(integrationId, eventId);
    elements.listView.hidden = true;
    elements.detailView.hidden = false;
    window.scrollTo(0, 0);
    detailView.show(integrationId, eventId);
    return;
  }

  const wasDetail = !elements.detailView.hidden;
  detailView.hide();
  elements.detailView.hidden = true;
  elements.listView.hidden = false;
  if (wasDetail && lastOpenedKey) {
    const [integrationId, eventId] = lastOpenedKey.split('/');
    const link = elements.listView.querySelector(`a[href="${CSS.escape(eventHash(integrationId, eventId))}"]`);
    link?.focus();
  }
}

window.addEventListener('hashchange', () => {
  const key = keyFromFragment();
  if (key !== null) {
    forgetFragment();
    signIn(key);
    return;
  }
  route();
});

// ---- start ---------------------------------------------------------------

elements.signInForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const key = elements.keyInput.value.trim();
  if (key === '') {
    elements.signInError.textContent = 'Enter the admin key or an integration API key.';
    elements.keyInput.focus();
    return;
  }
  signIn(key);
});

elements.signOut.addEventListener('click', async () => {
  try {
    await api.signOut();
  } catch (err) {
    console.warn(`signing out failed: ${err.message}`);
  }
  showSignIn();
});

setUnauthorizedHandler(() => sessionEnded());
setInterval(() => refreshTimes(), TIME_REFRESH_MS);

async function boot() {
  const key = keyFromFragment();
  if (key !== null) {
    // The key must not stay in the address bar or the history.
    forgetFragment();
    await signIn(key);
    return;
  }

  let identity;
  try {
    identity = await api.session();
  } catch (err) {
    showSignIn(`The inspector is not reachable: ${err.message}`);
    return;
  }
  if (identity) {
    await start(identity);
  } else {
    showSignIn();
  }
}

boot();
