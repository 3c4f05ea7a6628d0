// Entry point of the inspector page: sign-in, the live event list with its
// filters (in the query string), the event detail (at
// #event/<integration>/<event>), the sinks view (at #sinks/<sink>) and the
// dashboard (at #dashboard/<integration>/<endpoint>).

import { api, setUnauthorizedHandler, unreachableText } from './api.js';
import { DashboardView } from './dashboard-view.js';
import { DetailView } from './detail-view.js';
import { announce, confirmAction } from './dialog.js';
import { code, byId, h, refreshTimes, replaceChildren, timeElement } from './dom.js';
import { EventsView, eventHash } from './events-view.js';
import { Feed, FeedState } from './feed.js';
import { FILTER_NAMES, filtersFromSearch, localInputValue, searchFromFilters, timeFromLocalInput } from './filters.js';
import { SinkView } from './sink-view.js';
import { ActivityStore, eventKey } from './store.js';

const ACTIVITY_LIMIT = 200;
const HISTORY_PAGE = 50;
const TIME_REFRESH_MS = 1000;
// Rows not in the loaded list that are completed from the event API at once.
const FILL_CONCURRENCY = 4;

const STATE_TEXT = {
  [FeedState.CONNECTING]: 'Connecting…',
  [FeedState.LIVE]: 'Live',
  [FeedState.STALLED]: 'Waiting for Redis…',
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
  sinksView: byId('sinks-view'),
  dashboardView: byId('dashboard-view'),
  viewsNav: byId('views-nav'),
  navEvents: byId('nav-events'),
  navSinks: byId('nav-sinks'),
  navDashboard: byId('nav-dashboard'),
  filters: byId('filters'),
  filtersClear: byId('filters-clear'),
  filtersNote: byId('filters-note'),
  integrationOptions: byId('integration-options'),
  endpointOptions: byId('endpoint-options'),
  typeOptions: byId('type-options'),
  searchForm: byId('search-form'),
  searchInput: byId('search-input'),
  searchResults: byId('search-results'),
  loadOlder: byId('load-older'),
  olderStatus: byId('older-status'),
};

const store = new ActivityStore();
const eventsView = new EventsView({
  store,
  table: byId('events-table'),
  body: byId('events-body'),
  empty: byId('events-empty'),
  noMatch: byId('events-no-match'),
  count: byId('events-count'),
});
const detailView = new DetailView({ root: elements.detailView });
const sinkView = new SinkView({
  list: byId('sinks-list'),
  count: byId('sinks-count'),
  detail: byId('sink-detail'),
  openForm: byId('sink-open-form'),
  openInput: byId('sink-open-input'),
});
const dashboardView = new DashboardView({
  root: elements.dashboardView,
  integrationSelect: byId('dashboard-integration'),
  endpointSelect: byId('dashboard-endpoint'),
  periodSelect: byId('dashboard-period'),
  updated: byId('dashboard-updated'),
  message: byId('dashboard-message'),
  alerts: byId('dashboard-alerts'),
  health: byId('dashboard-health'),
  charts: byId('dashboard-charts'),
});
const feed = new Feed({
  onRecord: handleRecord,
  onReset: () => reload(),
  onState: showConnection,
  onUnauthorized: () => sessionEnded(),
});

let session = null;
let filters = filtersFromSearch(location.search);
// Cursor of the next history page per "integration|filters" query, or null
// when the history is exhausted.
let olderPages = { query: null, cursor: undefined };
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
  dashboardView.hide();
  fillQueue = [];
  olderPages = { query: null, cursor: undefined };
  elements.appView.hidden = true;
  elements.sessionBar.hidden = true;
  elements.viewsNav.hidden = true;
  elements.searchResults.hidden = true;
  document.body.dataset.canAct = 'false';
  elements.signInView.hidden = false;
  elements.signInError.textContent = message;
  if (!keepKey) {
    elements.keyInput.value = '';
  }
  elements.keyInput.focus();
  elements.keyInput.select();
}

function sessionEnded() {
  rememberSession(false);
  if (session) {
    showSignIn('Your session has ended. Sign in again.');
  }
}

// Whether this browser may have a session cookie, which the page cannot
// read (HttpOnly). A "#key=" link requests the session only then, so a
// first visit through a link makes no request that fails with 401.
const SESSION_HINT = 'hookgate.signedIn';

function rememberSession(signedIn) {
  try {
    if (signedIn) {
      localStorage.setItem(SESSION_HINT, '1');
    } else {
      localStorage.removeItem(SESSION_HINT);
    }
  } catch {
    // Storage may be off; then the server is asked every time.
  }
}

function mayHaveSession() {
  try {
    return localStorage.getItem(SESSION_HINT) === '1';
  } catch {
    return true;
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
      message = 'The key was not accepted. Check that it is the admin key, an API key of an existing integration or a support token that has not expired.';
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

/** Describes a signed-in identity in words, for the switch question. */
function identityWords(identity) {
  const role = identity.role || (identity.integration_id ? 'integration' : 'admin');
  const scope = identity.integration_id ? ` of ${identity.integration_id}` : '';
  return identity.name ? `${identity.name} (${role}${scope})` : `${role}${scope}`;
}

/**
 * Signs in with the key of a "#key=" link. A link can come from any site,
 * so it does not replace an existing session without the user's consent:
 * otherwise a page could switch a signed-in admin to the attacker's own
 * integration, where what the admin then does lands.
 */
async function signInFromLink(key) {
  let current = session;
  if (!current && mayHaveSession()) {
    try {
      current = await api.session();
    } catch {
      current = null;
    }
    if (!current) {
      rememberSession(false);
    }
  }
  if (current) {
    const switchSession = await confirmAction({
      heading: 'Switch to the key in the link?',
      text: `You are signed in as ${identityWords(current)}. The link you opened signs in with another key. Sign in with it instead?`,
      confirmLabel: 'Sign in with the link',
    });
    if (!switchSession) {
      if (!session) {
        await start(current);
      }
      return;
    }
  }
  await signIn(key);
}

// ---- signed in ----------------------------------------------------------

async function start(identity) {
  session = identity;
  rememberSession(true);
  elements.signInView.hidden = true;
  elements.signInError.textContent = '';
  elements.appView.hidden = false;
  elements.sessionBar.hidden = false;
  elements.viewsNav.hidden = false;
  showIdentity(identity);
  // An inspector without support tokens sends no can_act, and there the
  // admin and integration keys may act.
  const canAct = identity.can_act ?? (identity.role === 'admin' || identity.role === 'integration');
  document.body.dataset.canAct = String(Boolean(canAct));
  detailView.setCanAct(Boolean(canAct), Boolean(identity.can_send_test ?? canAct));
  eventsView.setShowIntegration(!identity.integration_id);
  sinkView.setSession(identity);
  dashboardView.setSession(identity);
  showFilters();
  loadOptions();
  await reload();
  route();
}

function showIdentity(identity) {
  const role = identity.role || (identity.integration_id ? 'integration' : 'admin');
  let scope;
  if (identity.integration_id) {
    scope = h('code', { class: 'mono identity-scope', id: 'identity-integration' }, identity.integration_id);
  } else {
    scope = h('span', { class: 'identity-scope' }, 'all integrations');
  }
  replaceChildren(
    elements.identity,
    identity.name ? h('span', { class: 'identity-name', id: 'identity-name' }, identity.name) : null,
    h('span', { class: `role role-${role}`, id: 'identity-role' }, role),
    scope,
  );
}

// ---- filters, search and history ----------------------------------------

/** Writes the current filters into the filter form. */
function showFilters() {
  const form = elements.filters.elements;
  for (const name of FILTER_NAMES) {
    const value = filters[name] || '';
    form[name].value = name === 'since' || name === 'until' ? localInputValue(value) : value;
  }
  // An integration key can read only its own integration.
  if (session?.integration_id) {
    form.integration.value = session.integration_id;
    form.integration.disabled = true;
  } else {
    form.integration.disabled = false;
  }
  eventsView.setFilters(filters);
  updateOlderButton();
}

/** Reads the filter form into the URL (a new history entry) and the list. */
function filtersChanged() {
  const form = elements.filters.elements;
  const next = {};
  for (const name of FILTER_NAMES) {
    let value = form[name].value.trim();
    if (name === 'since' || name === 'until') {
      value = timeFromLocalInput(value);
    }
    if (value !== '' && !(name === 'integration' && session?.integration_id)) {
      next[name] = value;
    }
  }
  if (searchFromFilters(next) === searchFromFilters(filters)) {
    return;
  }
  const endpointsChanged = next.integration !== filters.integration;
  filters = next;
  history.pushState(null, '', `${location.pathname}${searchFromFilters(filters)}${location.hash}`);
  loadEndpointsIfChanged(endpointsChanged);
  eventsView.setFilters(filters);
  updateOlderButton();
}

function loadEndpointsIfChanged(changed) {
  if (changed) {
    loadEndpointOptions();
  }
}

function fillDatalist(datalist, values) {
  replaceChildren(datalist, [...new Set(values)].sort().map((value) => h('option', { value })));
}

/**
 * Shows under the filters why their suggestions are missing when the
 * gateway or the inspector did not respond. Other failures, such as 403,
 * only leave a suggestion list empty.
 */
function showOptionsFailure(err) {
  const text = unreachableText(err);
  if (text === null) {
    return;
  }
  elements.filtersNote.textContent = `${text} The filters offer no suggestions; reload the page once it responds again.`;
  elements.filtersNote.hidden = false;
}

/** Loads the integrations and event types offered by the filter inputs. */
async function loadOptions() {
  elements.filtersNote.hidden = true;
  elements.filtersNote.textContent = '';
  if (!session?.integration_id) {
    try {
      const body = await api.integrations();
      fillDatalist(elements.integrationOptions, (body?.data || body?.integrations || []).map((i) => i.id));
    } catch (err) {
      console.info(`integration list not available: ${err.message}`);
      showOptionsFailure(err);
    }
  }
  try {
    const body = await api.eventTypes();
    const types = (body?.data || body?.event_types || []).map((t) => (typeof t === 'string' ? t : t.type || t.name));
    fillDatalist(elements.typeOptions, types.filter(Boolean));
  } catch (err) {
    console.info(`event type list not available: ${err.message}`);
    showOptionsFailure(err);
  }
  loadEndpointOptions();
}

async function loadEndpointOptions() {
  const integrationId = historyIntegration();
  replaceChildren(elements.endpointOptions);
  if (!integrationId) {
    return;
  }
  try {
    const body = await api.endpoints(integrationId);
    fillDatalist(elements.endpointOptions, (body?.data || body?.endpoints || []).map((e) => e.id));
  } catch (err) {
    console.info(`endpoint list not available: ${err.message}`);
    showOptionsFailure(err);
  }
}

/** Returns the integration whose history the "Load older" button pages through. */
function historyIntegration() {
  return session?.integration_id || filters.integration || null;
}

function historyQuery() {
  return `${historyIntegration()}|${searchFromFilters(filters)}`;
}

function updateOlderButton() {
  const integrationId = historyIntegration();
  if (olderPages.query !== historyQuery()) {
    olderPages = { query: historyQuery(), cursor: undefined };
  }
  elements.loadOlder.hidden = !integrationId || olderPages.cursor === null;
  if (!integrationId) {
    elements.olderStatus.textContent = session ? 'Choose an integration to load its older events.' : '';
  } else if (olderPages.cursor === null) {
    elements.olderStatus.textContent = 'All matching events are loaded.';
  } else {
    elements.olderStatus.textContent = '';
  }
}

/**
 * Loads one history page of the chosen integration through the partner API:
 * deliveries when an endpoint or outcome is filtered, events otherwise.
 * NOTE: the partner API lists one integration at a time, so an admin without
 * an integration filter has no older pages.
 */
async function loadOlder() {
  const integrationId = historyIntegration();
  if (!integrationId) {
    return;
  }
  const query = historyQuery();
  const byDelivery = Boolean(filters.endpoint || filters.outcome);
  const params = { limit: HISTORY_PAGE, since: filters.since, until: filters.until, cursor: olderPages.cursor };
  if (byDelivery) {
    params.endpoint_id = filters.endpoint;
    params.status = filters.outcome;
  } else {
    params.type = filters.type;
  }
  elements.loadOlder.disabled = true;
  elements.olderStatus.textContent = 'Loading…';
  try {
    const page = byDelivery ? await api.listDeliveries(integrationId, params) : await api.listEvents(integrationId, params);
    if (query !== historyQuery()) {
      return;
    }
    const items = page?.data || [];
    const added = store.addHistory(integrationId, items, byDelivery ? 'deliveries' : 'events');
    queueFills(added);
    olderPages.cursor = page?.next_cursor ?? null;
    updateOlderButton();
    if (olderPages.cursor !== null) {
      elements.olderStatus.textContent = `${added.length} older ${added.length === 1 ? 'event' : 'events'} loaded.`;
    }
  } catch (err) {
    elements.olderStatus.textContent =
      err.status === 404 && !err.code ? 'Older events are not available: this inspector does not forward the partner API.' : `Loading older events failed: ${err.message}`;
  } finally {
    elements.loadOlder.disabled = false;
  }
}

const MATCHED_TEXT = {
  event_id: 'event id',
  delivery_id: 'delivery id',
  webhook_id: 'webhook-id',
  correlation_id: 'correlation id',
  payload: 'payload text',
};

async function search(text) {
  const box = elements.searchResults;
  box.hidden = false;
  replaceChildren(box, h('p', { class: 'loading', role: 'status' }, 'Searching…'));
  let body;
  try {
    body = await api.search(text, filters.integration);
  } catch (err) {
    const message = err.status === 404 && !err.code ? 'Search is not available on this inspector.' : `Search failed: ${err.message}`;
    replaceChildren(box, h('div', { class: 'notice notice-error', role: 'alert' }, message), closeSearchButton());
    return;
  }
  const results = body?.results || [];
  if (results.length === 1) {
    location.hash = eventHash(results[0].integration_id, results[0].event_id);
  }
  replaceChildren(
    box,
    h(
      'div',
      { class: 'search-header' },
      h('h2', null, results.length === 1 ? '1 result' : `${results.length} results`, ' for ', code(text)),
      closeSearchButton(),
    ),
    results.length === 0
      ? h('p', { class: 'muted note' }, noResultText(body, text))
      : h(
          'ul',
          { class: 'search-list' },
          results.map((result) =>
            h(
              'li',
              { class: 'search-result', dataset: { eventId: result.event_id } },
              h('a', { href: eventHash(result.integration_id, result.event_id), class: 'event-link' }, code(result.event_id, 'event-id')),
              h('span', { class: 'event-type' }, result.type || ''),
              code(result.integration_id, 'muted'),
              timeElement(result.created_at),
              h('span', { class: 'tag' }, `matched ${MATCHED_TEXT[result.matched] || result.matched}`),
            ),
          ),
        ),
  );
}

/** Explains an empty search result, and why payloads were not searched when they were not. */
function noResultText(body, text) {
  if (body?.payloads_searched !== false || text.length < 3) {
    return 'No visible event matches.';
  }
  // The server searches payloads of at most 20 integrations, and never for
  // an event id or delivery id, so with one integration chosen the text
  // was read as an id.
  const integrationId = session?.integration_id || filters.integration;
  if (integrationId) {
    return `No event of ${integrationId} has this id. Event ids and delivery ids are not searched in payloads.`;
  }
  return 'No visible event has this id. Payloads were not searched: choose an integration in the filters to search its payloads.';
}

function closeSearchButton() {
  return h(
    'button',
    {
      type: 'button',
      class: 'button-ghost button-small',
      onclick: () => {
        elements.searchResults.hidden = true;
        elements.searchResults.replaceChildren();
      },
    },
    'Close results',
  );
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
  olderPages = { query: null, cursor: undefined };
  updateOlderButton();
  queueFills([...store.events.values()]);
  feed.open(activity.last_id);
}

function handleRecord(record) {
  if (record.kind === 'capture') {
    sinkView.onCapture(record);
    return;
  }
  dashboardView.onRecord(record);
  const deleted = record.kind === 'integration_deleted';
  const hadRows = deleted && [...store.events.values()].some((event) => event.integrationId === record.integration_id);
  if (!store.apply(record)) {
    return;
  }
  // When the integration was deleted or its sandbox reset, its rows are
  // gone and an open event of it no longer exists.
  const detailGone = deleted && detailView.key?.startsWith(`${record.integration_id}/`);
  if (hadRows || detailGone) {
    announce(`Integration ${record.integration_id} was deleted or reset, so its events are no longer listed.`, 'info');
  }
  if (detailGone) {
    location.hash = '';
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

function showView(name) {
  elements.listView.hidden = name !== 'list';
  elements.detailView.hidden = name !== 'detail';
  elements.sinksView.hidden = name !== 'sinks';
  elements.dashboardView.hidden = name !== 'dashboard';
  if (name !== 'dashboard') {
    dashboardView.hide();
  }
  const navLinks = { sinks: elements.navSinks, dashboard: elements.navDashboard };
  const current = navLinks[name] || elements.navEvents;
  for (const link of [elements.navEvents, elements.navSinks, elements.navDashboard]) {
    if (link === current) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

/**
 * Decodes one percent-encoded part of the fragment; a malformed escape
 * (a hand-edited address) gives null instead of an exception.
 */
function fragmentPart(text) {
  if (text === undefined) {
    return null;
  }
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * Shows the list, the event, the dashboard or the sinks view named by the
 * fragment; a fragment that does not decode shows the list.
 */
function route() {
  if (!session) {
    return;
  }
  const match = /^#event\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (match && fragmentPart(match[1]) !== null && fragmentPart(match[2]) !== null) {
    const integrationId = fragmentPart(match[1]);
    const eventId = fragmentPart(match[2]);
    lastOpenedKey = eventKey(integrationId, eventId);
    showView('detail');
    window.scrollTo(0, 0);
    detailView.show(integrationId, eventId);
    return;
  }

  const dashboard = /^#dashboard(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(location.hash);
  if (dashboard && (dashboard[1] === undefined || fragmentPart(dashboard[1]) !== null) &&
      (dashboard[2] === undefined || fragmentPart(dashboard[2]) !== null)) {
    detailView.hide();
    sinkView.hide();
    showView('dashboard');
    dashboardView.show(fragmentPart(dashboard[1]), fragmentPart(dashboard[2]));
    return;
  }

  const sinks = /^#sinks(?:\/(.+))?$/.exec(location.hash);
  if (sinks && (sinks[1] === undefined || fragmentPart(sinks[1]) !== null)) {
    detailView.hide();
    showView('sinks');
    sinkView.show(fragmentPart(sinks[1]));
    return;
  }

  const wasDetail = !elements.detailView.hidden;
  detailView.hide();
  showView('list');
  if (wasDetail && lastOpenedKey) {
    const [integrationId, eventId] = lastOpenedKey.split('/');
    const link = elements.listView.querySelector(`a[href="${CSS.escape(eventHash(integrationId, eventId))}"]`);
    link?.focus();
  }
}

window.addEventListener('popstate', () => {
  const next = filtersFromSearch(location.search);
  if (searchFromFilters(next) !== searchFromFilters(filters)) {
    const endpointsChanged = next.integration !== filters.integration;
    filters = next;
    showFilters();
    loadEndpointsIfChanged(endpointsChanged);
  }
});

window.addEventListener('hashchange', () => {
  const key = keyFromFragment();
  if (key !== null) {
    forgetFragment();
    signInFromLink(key);
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

elements.filters.addEventListener('change', () => filtersChanged());
elements.filters.addEventListener('submit', (submit) => {
  submit.preventDefault();
  filtersChanged();
});
elements.filtersClear.addEventListener('click', () => {
  elements.filters.reset();
  if (session?.integration_id) {
    elements.filters.elements.integration.value = session.integration_id;
  }
  filtersChanged();
});
elements.loadOlder.addEventListener('click', () => loadOlder());
elements.searchForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const text = elements.searchInput.value.trim();
  if (text !== '') {
    search(text);
  }
});

// "/" focuses the search box, j and k enter the list, outside text fields.
document.addEventListener('keydown', (key) => {
  if (key.altKey || key.ctrlKey || key.metaKey || !session) {
    return;
  }
  if (key.target.closest('input, select, textarea, dialog, [contenteditable]')) {
    return;
  }
  if (key.key === '/' && !elements.listView.hidden) {
    key.preventDefault();
    elements.searchInput.focus();
  } else if ((key.key === 'j' || key.key === 'ArrowDown') && !elements.listView.hidden && !key.target.closest('#events-body')) {
    if (key.key === 'j' || key.target === document.body || key.target === elements.listView) {
      key.preventDefault();
      eventsView.focusFirst();
    }
  }
});

elements.signOut.addEventListener('click', async () => {
  try {
    await api.signOut();
  } catch (err) {
    console.warn(`signing out failed: ${err.message}`);
  }
  rememberSession(false);
  showSignIn();
});

setUnauthorizedHandler(() => sessionEnded());
setInterval(() => refreshTimes(), TIME_REFRESH_MS);

// Session checks at load while the inspector or its Redis is unavailable
// are repeated with these delays, doubling, so the page recovers by itself.
const BOOT_RETRY_MIN_MS = 2000;
const BOOT_RETRY_MAX_MS = 30000;

async function checkSessionAtLoad(retryDelay) {
  let identity;
  try {
    identity = await api.session();
  } catch (err) {
    // A sign-in from the form meanwhile ends the retries.
    if (session) {
      return;
    }
    showSignIn(`The inspector is not reachable: ${err.message}. Trying again in ${Math.round(retryDelay / 1000)} s.`, { keepKey: true });
    setTimeout(() => {
      if (!session) {
        checkSessionAtLoad(Math.min(retryDelay * 2, BOOT_RETRY_MAX_MS));
      }
    }, retryDelay);
    return;
  }
  if (session) {
    return;
  }
  if (identity) {
    await start(identity);
  } else {
    rememberSession(false);
    showSignIn();
  }
}

async function boot() {
  const key = keyFromFragment();
  if (key !== null) {
    // The key must not stay in the address bar or the history.
    forgetFragment();
    await signInFromLink(key);
    return;
  }
  await checkSessionAtLoad(BOOT_RETRY_MIN_MS);
}

boot();
