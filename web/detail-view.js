// The detail of one event: its payload (pretty-printed, or the raw bytes),
// and every delivery with every attempt, refreshed while it is open.

import { api } from './api.js';
import {
  code,
  copyButton,
  exactTime,
  formatBytes,
  formatDuration,
  h,
  httpStatusClass,
  parseTime,
  replaceChildren,
  statusBadge,
  timeElement,
  visibleText,
} from './dom.js';
import { actionError, announce, confirmAction } from './dialog.js';
import { prettyElement } from './json.js';

// Delay that merges the refreshes of a burst of feed records into one.
const REFRESH_DELAY_MS = 300;

// Offered by the test event dialog when GET /api/v1/event-types fails.
const FALLBACK_TEST_TYPES = ['booking.created', 'booking.updated', 'booking.cancelled'];

export class DetailView {
  constructor({ root }) {
    this.root = root;
    this.current = null;
    this.refreshTimer = null;
    this.loadToken = 0;
    // Open or closed state of attempts the user toggled, by "delivery#attempt".
    this.attemptOpen = new Map();
    this.deliveriesBox = null;
    this.canAct = false;
    this.canSendTest = false;
    this.event = null;
    // Endpoint state by endpoint id (GET .../endpoints/{id}), for the
    // enable or disable button.
    this.endpoints = new Map();
    // The redelivery whose "queued" status line waits for its new attempt:
    // { deliveryId, attempts } with the attempt count before it.
    this.pendingRedelivery = null;
  }

  /**
   * Shows or hides the action buttons. A test event is a publish, so an
   * integration key needs the publish scope for it besides manage. The
   * server checks both again.
   */
  setCanAct(canAct, canSendTest = canAct) {
    this.canAct = canAct;
    this.canSendTest = canAct && canSendTest;
  }

  get key() {
    return this.current ? `${this.current.integrationId}/${this.current.eventId}` : null;
  }

  async show(integrationId, eventId) {
    const token = ++this.loadToken;
    this.current = { integrationId, eventId };
    this.pendingRedelivery = null;
    this.attemptOpen.clear();
    this.endpoints.clear();
    clearTimeout(this.refreshTimer);
    replaceChildren(this.root, backLink(), h('p', { class: 'loading', role: 'status' }, 'Loading event…'));

    let event;
    let payload;
    try {
      [event, payload] = await Promise.all([
        api.event(integrationId, eventId),
        api.payload(integrationId, eventId).catch((err) => ({ error: err })),
      ]);
    } catch (err) {
      if (token === this.loadToken) {
        this.showError(err, eventId);
      }
      return;
    }
    if (token !== this.loadToken) {
      return;
    }
    this.render(event, payload);
  }

  hide() {
    this.loadToken++;
    this.current = null;
    this.deliveriesBox = null;
    clearTimeout(this.refreshTimer);
    this.root.replaceChildren();
  }

  /** Reloads the deliveries after a short delay, when the feed reports a change. */
  scheduleRefresh() {
    if (!this.current || this.refreshTimer) {
      return;
    }
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.refresh();
    }, REFRESH_DELAY_MS);
  }

  async refresh() {
    if (!this.current || !this.deliveriesBox) {
      return;
    }
    const token = this.loadToken;
    const { integrationId, eventId } = this.current;
    try {
      const event = await api.event(integrationId, eventId);
      if (token === this.loadToken && this.deliveriesBox) {
        this.event = event;
        // Keeps the focus on a button that the new box replaces.
        const focused = this.deliveriesBox.contains(document.activeElement) ? document.activeElement.dataset.action : null;
        const focusedDelivery = document.activeElement?.closest?.('.delivery')?.dataset.deliveryId;
        this.deliveriesBox.replaceWith(this.renderDeliveries(event));
        if (focused && focusedDelivery) {
          this.deliveriesBox
            .querySelector(`.delivery[data-delivery-id="${CSS.escape(focusedDelivery)}"] [data-action="${CSS.escape(focused)}"]`)
            ?.focus();
        }
        this.announceRedelivered(event);
      }
    } catch (err) {
      console.warn(`refreshing event ${eventId} failed: ${err.message}`);
    }
  }

  /** Replaces the "queued" status line of a redelivery once its attempt is listed. */
  announceRedelivered(event) {
    const pending = this.pendingRedelivery;
    const delivery = pending && (event.deliveries || []).find((d) => d.id === pending.deliveryId);
    const attempts = delivery?.attempts || [];
    if (!delivery || attempts.length <= pending.attempts) {
      return;
    }
    this.pendingRedelivery = null;
    const attempt = attempts[attempts.length - 1];
    const outcome = typeof attempt.http_status === 'number' ? `HTTP ${attempt.http_status}` : attempt.error_class || 'no response';
    announce(`Redelivery of ${delivery.id} made attempt ${attempt.attempt}: ${outcome}.`, typeof attempt.http_status === 'number' && attempt.http_status < 300 ? 'ok' : 'error');
  }

  showError(err, eventId) {
    let message = err.message;
    if (err.status === 404) {
      message = `Event ${eventId} does not exist, or it expired.`;
    } else if (err.status === 403) {
      message = `This session cannot see event ${eventId}: ${err.detail || err.title}`;
    }
    replaceChildren(this.root, backLink(), h('div', { class: 'notice notice-error', role: 'alert' }, message));
  }

  render(event, payload) {
    this.event = event;
    const heading = h('h2', { class: 'detail-title', tabindex: '-1' }, event.type || 'Event');
    const meta = h(
      'dl',
      { class: 'meta-grid' },
      wideMetaItem('Event id', h('span', { class: 'with-copy' }, code(event.id, 'detail-event-id'), copyButton(event.id))),
      metaItem('Integration', code(event.integration_id)),
      metaItem('Received', timeElement(event.received_at), exactText(event.received_at)),
      wideMetaItem('Correlation id', event.correlation_id ? code(event.correlation_id) : h('span', { class: 'muted' }, 'none')),
      wideMetaItem('Traceparent', event.traceparent ? code(event.traceparent) : h('span', { class: 'muted' }, 'none')),
    );

    this.deliveriesBox = null;
    replaceChildren(
      this.root,
      backLink(),
      h(
        'header',
        { class: 'detail-header' },
        h('div', { class: 'detail-header-row' }, h('div', null, h('p', { class: 'eyebrow' }, 'Event'), heading), this.renderEventActions(event)),
        meta,
      ),
      this.renderPayload(event, payload),
      this.renderDeliveries(event),
    );
    heading.focus({ preventScroll: false });
  }

  renderEventActions(event) {
    if (!this.canAct || (event.deliveries || []).length === 0) {
      return null;
    }
    return h(
      'div',
      { class: 'card-tools' },
      h('button', { type: 'button', class: 'button-ghost button-small', dataset: { action: 'replay' }, onclick: () => this.replay() }, 'Replay to all endpoints'),
    );
  }

  async replay() {
    const { integrationId, eventId } = this.current;
    const count = (this.event?.deliveries || []).length;
    const confirmed = await confirmAction({
      heading: 'Replay event',
      text: `Send event ${eventId} again to its ${count === 1 ? 'endpoint' : `${count} endpoints`}, with the same webhook-id?`,
      confirmLabel: 'Replay',
    });
    if (!confirmed) {
      return;
    }
    try {
      const result = await api.replay(integrationId, eventId);
      const queued = result?.deliveries?.length ?? count;
      announce(`Replay queued: ${queued} ${queued === 1 ? 'delivery' : 'deliveries'} of ${eventId}.`);
      this.scheduleRefresh();
    } catch (err) {
      announce(actionError('Replaying the event', err), 'error');
    }
  }

  async redeliver(delivery) {
    const confirmed = await confirmAction({
      heading: 'Redeliver now',
      text: `Send delivery ${delivery.id} to endpoint ${delivery.endpoint_id} once more, now?`,
      confirmLabel: 'Redeliver',
    });
    if (!confirmed) {
      return;
    }
    // The count from the newest render, since the delivery object that the
    // button was made with may be older.
    const latest = (this.event?.deliveries || []).find((d) => d.id === delivery.id) || delivery;
    const attemptsBefore = (latest.attempts || []).length;
    try {
      await api.redeliver(this.current.integrationId, delivery.id);
      announce(`Redelivery of ${delivery.id} queued. The new attempt appears below when it is made.`);
      this.pendingRedelivery = { deliveryId: delivery.id, attempts: attemptsBefore };
      this.scheduleRefresh();
    } catch (err) {
      announce(actionError('Redelivering', err), 'error');
    }
  }

  async sendTest(endpointId) {
    const integrationId = this.current.integrationId;
    let types = FALLBACK_TEST_TYPES;
    try {
      const body = await api.eventTypes();
      const listed = (body?.data || []).map((t) => (typeof t === 'string' ? t : t.type)).filter(Boolean);
      if (listed.length > 0) {
        types = listed;
      }
    } catch (err) {
      console.info(`event types not available, using built-in examples: ${err.message}`);
    }
    const select = h('select', { id: 'test-type' }, types.map((type) => h('option', { value: type }, type)));
    if (this.event?.type && types.includes(this.event.type)) {
      select.value = this.event.type;
    }
    const content = h('div', { class: 'field' }, h('label', { for: 'test-type' }, 'Event type'), select);
    const confirmed = await confirmAction({
      heading: 'Send test event',
      text: `Send a test event to endpoint ${endpointId}. It is marked as a test and uses example data.`,
      confirmLabel: 'Send test event',
      content,
    });
    if (!confirmed) {
      return;
    }
    try {
      const result = await api.sendTest(integrationId, endpointId, { type: select.value });
      const eventId = result?.event_id;
      announce(eventId ? `Test event ${eventId} (${select.value}) sent to ${endpointId}.` : `Test event ${select.value} sent to ${endpointId}.`);
    } catch (err) {
      announce(actionError('Sending the test event', err), 'error');
    }
  }

  async setEndpointEnabled(endpointId, enabled) {
    const confirmed = await confirmAction({
      heading: enabled ? 'Enable endpoint' : 'Disable endpoint',
      text: enabled
        ? `Enable endpoint ${endpointId}? Deliveries to it start again.`
        : `Disable endpoint ${endpointId}? No delivery is sent to it until it is enabled again.`,
      confirmLabel: enabled ? 'Enable' : 'Disable',
      danger: !enabled,
    });
    if (!confirmed) {
      return;
    }
    try {
      const result = await api.setEndpointEnabled(this.current.integrationId, endpointId, enabled);
      this.endpoints.set(endpointId, result && typeof result.enabled === 'boolean' ? result : { enabled });
      announce(`Endpoint ${endpointId} ${enabled ? 'enabled' : 'disabled'}.`);
      this.refresh();
    } catch (err) {
      announce(actionError(enabled ? 'Enabling the endpoint' : 'Disabling the endpoint', err), 'error');
    }
  }

  /** Loads the state of an endpoint once, then re-renders the deliveries. */
  async loadEndpoint(endpointId) {
    if (this.endpoints.has(endpointId)) {
      return;
    }
    this.endpoints.set(endpointId, null);
    try {
      const endpoint = await api.endpoint(this.current.integrationId, endpointId);
      this.endpoints.set(endpointId, endpoint);
    } catch (err) {
      this.endpoints.set(endpointId, { error: err });
    }
    if (this.event && this.deliveriesBox) {
      this.deliveriesBox.replaceWith(this.renderDeliveries(this.event));
    }
  }

  renderDeliveryActions(delivery) {
    if (!this.canAct) {
      return null;
    }
    const endpoint = this.endpoints.get(delivery.endpoint_id);
    if (endpoint === undefined) {
      this.loadEndpoint(delivery.endpoint_id);
    }
    let toggle = null;
    if (endpoint && typeof endpoint.enabled === 'boolean') {
      const enable = !endpoint.enabled;
      toggle = h(
        'button',
        {
          type: 'button',
          class: 'button-ghost button-small',
          dataset: { action: enable ? 'enable' : 'disable' },
          'aria-label': `${enable ? 'Enable' : 'Disable'} endpoint ${delivery.endpoint_id}`,
          onclick: () => this.setEndpointEnabled(delivery.endpoint_id, enable),
        },
        enable ? 'Enable endpoint' : 'Disable endpoint',
      );
    }
    return h(
      'div',
      { class: 'card-tools delivery-actions' },
      // Each accessible name starts with the visible label and names the
      // delivery or endpoint, because every delivery has the same buttons.
      h(
        'button',
        {
          type: 'button',
          class: 'button-ghost button-small',
          dataset: { action: 'redeliver' },
          'aria-label': `Redeliver now: delivery ${delivery.id}`,
          onclick: () => this.redeliver(delivery),
        },
        'Redeliver now',
      ),
      this.canSendTest
        ? h(
            'button',
            {
              type: 'button',
              class: 'button-ghost button-small',
              dataset: { action: 'test' },
              'aria-label': `Send test event: endpoint ${delivery.endpoint_id}`,
              onclick: () => this.sendTest(delivery.endpoint_id),
            },
            'Send test event',
          )
        : null,
      toggle,
    );
  }

  renderPayload(event, payload) {
    const body = h('div', { class: 'payload-body' });
    const card = h(
      'section',
      { class: 'card', 'aria-labelledby': 'payload-heading' },
      h('div', { class: 'card-header' }, h('h3', { id: 'payload-heading' }, 'Payload')),
      body,
    );

    if (payload.error) {
      body.append(h('div', { class: 'notice notice-error', role: 'alert' }, `The payload could not be loaded: ${payload.error.message}`));
      return card;
    }

    const raw =
      payload.text !== null
        ? h('pre', { class: 'code-block', id: 'payload-raw', tabindex: '0', 'aria-label': 'Raw payload' }, visibleText(payload.text))
        : h('pre', { class: 'code-block', id: 'payload-raw', tabindex: '0', 'aria-label': 'Raw payload (not UTF-8, shown as hex)' }, hexDump(payload.bytes));
    const pretty = payload.text !== null ? prettyElement(payload.text, { id: 'payload-pretty', tabindex: '0', 'aria-label': 'Pretty-printed payload' }) : null;
    const header = card.querySelector('.card-header');

    header.append(h('span', { class: 'muted size' }, formatBytes(payload.bytes.length)));
    const tools = h('div', { class: 'card-tools' });
    if (pretty) {
      const prettyButton = h('button', { type: 'button', class: 'segment', 'aria-pressed': 'true', 'aria-controls': 'payload-pretty' }, 'Pretty');
      const rawButton = h('button', { type: 'button', class: 'segment', 'aria-pressed': 'false', 'aria-controls': 'payload-raw' }, 'Raw');
      const select = (showRaw) => {
        raw.hidden = !showRaw;
        pretty.hidden = showRaw;
        rawButton.setAttribute('aria-pressed', String(showRaw));
        prettyButton.setAttribute('aria-pressed', String(!showRaw));
      };
      prettyButton.addEventListener('click', () => select(false));
      rawButton.addEventListener('click', () => select(true));
      tools.append(h('div', { class: 'segmented', role: 'group', 'aria-label': 'Payload view' }, prettyButton, rawButton));
      raw.hidden = true;
      body.append(pretty, raw);
    } else {
      body.append(
        h('p', { class: 'muted note' }, payload.text !== null ? 'The payload is not valid JSON; it is shown as published.' : 'The payload is not UTF-8.'),
        raw,
      );
    }
    if (payload.text !== null) {
      tools.append(copyButton(payload.text, 'Copy raw'));
    }
    tools.append(
      h('a', { class: 'button-ghost button-small', href: api.payloadUrl(event.integration_id, event.id), download: `${event.id}.json` }, 'Download'),
    );
    header.append(tools);
    return card;
  }

  renderDeliveries(event) {
    const deliveries = event.deliveries || [];
    const box = h(
      'section',
      { class: 'card', 'aria-labelledby': 'deliveries-heading' },
      h('div', { class: 'card-header' }, h('h3', { id: 'deliveries-heading' }, 'Deliveries'), h('span', { class: 'muted' }, String(deliveries.length))),
    );
    if (deliveries.length === 0) {
      box.append(h('p', { class: 'muted note' }, 'No endpoint was subscribed to this event type when it was published.'));
    }
    for (const delivery of deliveries) {
      box.append(this.renderDelivery(delivery));
    }
    this.deliveriesBox = box;
    return box;
  }

  renderDelivery(delivery) {
    const attempts = delivery.attempts || [];
    const facts = h(
      'dl',
      { class: 'meta-grid meta-compact' },
      wideMetaItem('Delivery id', h('span', { class: 'with-copy' }, code(delivery.id), copyButton(delivery.id, 'Copy', `Copy delivery id ${delivery.id}`))),
      metaItem('Attempts', String(delivery.attempt_count ?? attempts.length)),
      metaItem('Next attempt', delivery.next_attempt_at ? timeElement(delivery.next_attempt_at, '—', { upcoming: true }) : h('span', { class: 'muted' }, 'none')),
      metaItem('Created', timeElement(delivery.created_at)),
      metaItem('Updated', timeElement(delivery.updated_at)),
      delivery.reason ? metaItem('Reason', h('span', { class: 'reason' }, delivery.reason)) : null,
    );
    const list = h('ol', { class: 'attempts', reversed: true });
    // Newest attempt first: it is the one people look for.
    for (let i = attempts.length - 1; i >= 0; i--) {
      list.append(h('li', null, this.renderAttempt(delivery, attempts[i], i === attempts.length - 1)));
    }

    return h(
      'article',
      { class: 'delivery', dataset: { deliveryId: delivery.id, status: delivery.status } },
      h(
        'header',
        { class: 'delivery-header' },
        statusBadge(delivery.status),
        h('span', { class: 'delivery-endpoint' }, 'to ', code(delivery.endpoint_id)),
        endpointStateTag(this.endpoints.get(delivery.endpoint_id)),
        this.renderDeliveryActions(delivery),
      ),
      facts,
      renderTimeline(delivery, attempts),
      attempts.length > 0 ? list : h('p', { class: 'muted note' }, 'No attempt yet.'),
    );
  }

  renderAttempt(delivery, attempt, latest) {
    const key = `${delivery.id}#${attempt.attempt}`;
    const open = this.attemptOpen.has(key) ? this.attemptOpen.get(key) : latest;
    const outcome =
      typeof attempt.http_status === 'number'
        ? h('span', { class: `http-status ${httpStatusClass(attempt.http_status)}` }, `HTTP ${attempt.http_status}`)
        : h('span', { class: 'http-status http-none' }, 'no response');

    const summary = h(
      'summary',
      null,
      h('span', { class: 'attempt-number' }, `Attempt ${attempt.attempt}`),
      outcome,
      attempt.error_class ? h('span', { class: 'error-class mono' }, attempt.error_class) : null,
      h('span', { class: 'muted' }, formatDuration(attempt.duration_ms)),
      attempt.manual ? h('span', { class: 'tag' }, 'manual') : null,
      h('span', { class: 'summary-time' }, timeElement(attempt.started_at)),
    );

    const details = h(
      'details',
      { class: 'attempt', open, dataset: { attempt: String(attempt.attempt) } },
      summary,
      h(
        'div',
        { class: 'attempt-body' },
        h(
          'dl',
          { class: 'meta-grid meta-compact' },
          wideMetaItem('URL', code(attempt.url || '—', 'url')),
          metaItem('Started', exactText(attempt.started_at)),
          metaItem('Duration', formatDuration(attempt.duration_ms)),
          metaItem('Error class', attempt.error_class ? code(attempt.error_class) : h('span', { class: 'muted' }, 'none')),
          attempt.error_message ? fullMetaItem('Error', h('span', { class: 'error-message' }, attempt.error_message)) : null,
        ),
        h(
          'div',
          { class: 'exchange' },
          h('section', { class: 'exchange-part request' }, h('h4', null, 'Request headers'), headersTable(attempt.request_headers, 'Request headers')),
          h(
            'section',
            { class: 'exchange-part response' },
            h('h4', null, 'Response', ' ', typeof attempt.http_status === 'number' ? outcome.cloneNode(true) : h('span', { class: 'muted' }, 'none received')),
            h('h5', null, 'Headers'),
            headersTable(attempt.response_headers, 'Response headers'),
            h('h5', null, 'Body', attempt.response_truncated ? h('span', { class: 'tag tag-warning', title: 'The worker kept only the start of this body' }, 'truncated') : null),
            responseBody(attempt),
          ),
        ),
      ),
    );
    // Only a state that differs from the default is kept, so the attempt
    // that was latest closes when a newer one arrives unless the user
    // opened it. Chromium also fires "toggle" for the initial open state.
    details.addEventListener('toggle', () => {
      if (details.open === latest) {
        this.attemptOpen.delete(key);
      } else {
        this.attemptOpen.set(key, details.open);
      }
    });
    return details;
  }
}

function endpointStateTag(endpoint) {
  if (!endpoint || endpoint.enabled !== false) {
    return null;
  }
  const reason = endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : '';
  return h('span', { class: 'tag tag-warning', dataset: { endpointState: 'disabled' } }, `endpoint disabled${reason}`);
}

/**
 * Creates the timeline of a delivery: each attempt with its outcome, the
 * wait between the end of one attempt and the start of the next (the
 * backoff), and the time of the next attempt when one is scheduled.
 */
function renderTimeline(delivery, attempts) {
  if (attempts.length === 0 && !delivery.next_attempt_at) {
    return null;
  }
  const items = [];
  let previousEnd = null;
  for (const attempt of attempts) {
    const started = parseTime(attempt.started_at);
    if (previousEnd !== null && started !== null) {
      items.push(h('li', { class: 'timeline-gap' }, `waited ${formatDuration(Math.max(0, started - previousEnd))}`));
    }
    const outcome = typeof attempt.http_status === 'number' ? `HTTP ${attempt.http_status}` : attempt.error_class || 'no response';
    items.push(
      h(
        'li',
        { class: `timeline-attempt ${httpStatusClass(attempt.http_status)}`, dataset: { attempt: String(attempt.attempt) } },
        h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'attempt-number' }, `#${attempt.attempt}`),
        ' ',
        outcome,
        ' ',
        timeElement(attempt.started_at),
      ),
    );
    previousEnd = started === null ? null : started + (typeof attempt.duration_ms === 'number' ? attempt.duration_ms : 0);
  }
  if (delivery.next_attempt_at && delivery.status !== 'succeeded' && delivery.status !== 'dead') {
    const next = parseTime(delivery.next_attempt_at);
    if (previousEnd !== null && next !== null) {
      items.push(h('li', { class: 'timeline-gap' }, `backoff ${formatDuration(Math.max(0, next - previousEnd))}`));
    }
    items.push(h('li', { class: 'timeline-next' }, 'next attempt ', timeElement(delivery.next_attempt_at, '—', { upcoming: true })));
  }
  return h('ol', { class: 'timeline', 'aria-label': `Timeline of delivery ${delivery.id}` }, items);
}

function backLink() {
  return h('nav', { class: 'detail-nav', 'aria-label': 'Event navigation' }, h('a', { href: '#', class: 'back-link' }, '← All events'));
}

function metaItem(label, ...values) {
  return h('div', { class: 'meta-item' }, h('dt', null, label), h('dd', null, values));
}

/** Creates a meta item two grid columns wide, for long identifiers. */
function wideMetaItem(label, ...values) {
  const item = metaItem(label, ...values);
  item.classList.add('meta-wide');
  return item;
}

/** Creates a meta item as wide as the grid, for sentences. */
function fullMetaItem(label, ...values) {
  const item = metaItem(label, ...values);
  item.classList.add('meta-full');
  return item;
}

function exactText(time) {
  const ms = parseTime(time);
  return ms === null ? h('span', { class: 'muted' }, '—') : h('span', { class: 'exact-time mono' }, exactTime(ms));
}

function headersTable(headers, label) {
  const entries = headers && typeof headers === 'object' ? Object.entries(headers) : [];
  if (entries.length === 0) {
    return h('p', { class: 'muted note' }, 'none');
  }
  return h(
    'table',
    { class: 'headers-table', 'aria-label': label },
    h(
      'tbody',
      null,
      entries.map(([name, value]) =>
        h('tr', { dataset: { header: name.toLowerCase() } }, h('th', { scope: 'row', class: 'mono' }, name), h('td', { class: 'mono' }, visibleText(String(value)))),
      ),
    ),
  );
}

function responseBody(attempt) {
  const body = attempt.response_body;
  if (body === null || body === undefined || body === '') {
    return h('p', { class: 'muted note' }, 'empty');
  }
  const base64 = attempt.response_body_encoding === 'base64';
  return h(
    'div',
    null,
    base64 ? h('p', { class: 'muted note' }, 'The body is not UTF-8; it is shown as base64.') : null,
    h('pre', { class: 'code-block response-body', tabindex: '0', 'aria-label': 'Response body' }, visibleText(body)),
  );
}

function hexDump(bytes) {
  const lines = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = Array.from(bytes.subarray(offset, offset + 16), (byte) => byte.toString(16).padStart(2, '0'));
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${row.join(' ')}`);
  }
  return lines.join('\n');
}
