// The live table of recent events, one row per event with the status of
// each delivery and the outcome of the latest attempt.

import {
  code,
  formatDuration,
  h,
  httpStatusClass,
  replaceChildren,
  statusBadge,
  STATUSES,
  timeElement,
} from './dom.js';
import { eventMatches } from './filters.js';
import { latestAttempt, summaryStatus } from './store.js';

// Deliveries shown per row before the rest collapse into "+n".
const DELIVERIES_SHOWN = 3;

export function eventHash(integrationId, eventId) {
  return `#event/${encodeURIComponent(integrationId)}/${encodeURIComponent(eventId)}`;
}

export class EventsView {
  constructor({ store, table, body, empty, noMatch, count }) {
    this.store = store;
    this.table = table;
    this.body = body;
    this.empty = empty;
    this.noMatch = noMatch;
    this.count = count;
    this.rows = new Map();
    this.showIntegration = true;
    this.filters = {};

    store.subscribe((keys, { initial }) => this.update(keys, initial));
    body.addEventListener('click', (click) => this.openFromRow(click));
    body.addEventListener('keydown', (key) => this.onKey(key));
  }

  /** Sets the filters of the list (see filters.js) and applies them. */
  setFilters(filters) {
    this.filters = filters;
    this.applyFilter();
  }

  /** Returns the visible rows in list order. */
  visibleRows() {
    return [...this.body.querySelectorAll('tr.event-row:not([hidden])')];
  }

  /** Moves the focus to the first visible row, for the "j" key outside the list. */
  focusFirst() {
    this.visibleRows()[0]?.querySelector('a.event-link')?.focus();
  }

  /** Moves the focus between rows with the arrow keys or j and k. */
  onKey(key) {
    if (key.altKey || key.ctrlKey || key.metaKey) {
      return;
    }
    let step = 0;
    if (key.key === 'ArrowDown' || key.key === 'j') {
      step = 1;
    } else if (key.key === 'ArrowUp' || key.key === 'k') {
      step = -1;
    } else if (key.key === 'Enter' && key.target.matches('tr.event-row')) {
      this.open(key.target);
      return;
    } else {
      return;
    }
    const rows = this.visibleRows();
    const current = key.target.closest('tr.event-row');
    const index = rows.indexOf(current);
    const next = rows[Math.max(0, Math.min(rows.length - 1, index + step))];
    if (next) {
      key.preventDefault();
      next.querySelector('a.event-link')?.focus();
    }
  }

  /** Shows or hides the integration column (hidden for one integration). */
  setShowIntegration(show) {
    this.showIntegration = show;
    this.table.classList.toggle('hide-integration', !show);
  }

  update(keys, initial) {
    if (initial) {
      this.rows.clear();
      this.body.replaceChildren();
    }
    for (const key of keys) {
      const event = this.store.events.get(key);
      const old = this.rows.get(key);
      if (!event) {
        old?.remove();
        this.rows.delete(key);
        continue;
      }
      const row = this.renderRow(event);
      if (!initial) {
        row.classList.add('row-changed');
      }
      if (old) {
        old.replaceWith(row);
      }
      this.rows.set(key, row);
    }
    this.placeRows();
    this.applyFilter();
  }

  /** Puts the rows in the order of the store (newest first). */
  placeRows() {
    let previous = null;
    for (const event of this.store.sorted()) {
      const row = this.rows.get(event.key);
      const expected = previous ? previous.nextSibling : this.body.firstChild;
      if (row !== expected) {
        if (previous) {
          previous.after(row);
        } else {
          this.body.prepend(row);
        }
      }
      previous = row;
    }
  }

  renderRow(event) {
    const status = summaryStatus(event);
    const link = h(
      'a',
      { href: eventHash(event.integrationId, event.eventId), class: 'event-link', title: `Open event ${event.eventId}` },
      code(event.eventId, 'event-id'),
    );

    return h(
      'tr',
      {
        class: 'event-row',
        dataset: {
          key: event.key,
          eventId: event.eventId,
          integrationId: event.integrationId,
          status: status || '',
        },
      },
      h('td', { class: 'col-time' }, timeElement(event.receivedAt)),
      h(
        'td',
        { class: 'col-type' },
        event.type ? h('span', { class: 'event-type' }, event.type) : h('span', { class: 'muted' }, 'loading…'),
        event.test ? h('span', { class: 'tag test-tag', title: 'Sent with "Send test event"' }, 'test') : null,
        // Narrow screens hide the time column and show this line instead.
        h('span', { class: 'type-time', 'aria-hidden': 'true' }, timeElement(event.receivedAt)),
      ),
      h('td', { class: 'col-id' }, link),
      h('td', { class: 'col-integration' }, code(event.integrationId)),
      h('td', { class: 'col-deliveries' }, this.renderDeliveries(event)),
      h('td', { class: 'col-attempt' }, renderLatestAttempt(latestAttempt(event))),
    );
  }

  renderDeliveries(event) {
    const deliveries = [...event.deliveries.values()];
    if (deliveries.length === 0) {
      return h('span', { class: 'muted', title: 'No endpoint subscribes to this event type' }, 'no endpoint');
    }

    const list = h('ul', { class: 'delivery-chips' });
    for (const delivery of deliveries.slice(0, DELIVERIES_SHOWN)) {
      const attempts = delivery.attempts === 1 ? '1 attempt' : `${delivery.attempts} attempts`;
      list.append(
        h(
          'li',
          {
            class: 'delivery-chip',
            dataset: { deliveryId: delivery.id },
            title: `${delivery.endpointId}: ${delivery.status}, ${attempts}${delivery.reason ? `, ${delivery.reason}` : ''}`,
          },
          statusBadge(delivery.status, delivery.attempts > 1 ? `×${delivery.attempts}` : null),
          deliveries.length > 1 ? h('span', { class: 'chip-endpoint mono' }, delivery.endpointId) : null,
        ),
      );
    }
    if (deliveries.length > DELIVERIES_SHOWN) {
      list.append(h('li', { class: 'muted' }, `+${deliveries.length - DELIVERIES_SHOWN}`));
    }
    return list;
  }

  applyFilter() {
    let visibleCount = 0;

    for (const [key, row] of this.rows) {
      const event = this.store.events.get(key);
      const visible = Boolean(event) && eventMatches(event, this.filters);
      row.hidden = !visible;
      if (visible) {
        visibleCount++;
      }
    }
    this.updateCount(visibleCount);
    this.empty.hidden = this.rows.size > 0;
    this.noMatch.hidden = this.rows.size === 0 || visibleCount > 0;
  }

  updateCount(visibleCount) {
    const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    for (const row of this.rows.values()) {
      if (row.dataset.status in counts) {
        counts[row.dataset.status]++;
      }
    }
    // The list contains what the page loaded (recent activity, live
    // events and older pages), not every event, so the count says
    // "loaded".
    const total = this.rows.size;
    const noun = total === 1 ? 'event' : 'events';
    const parts = [visibleCount === total ? `${total} ${noun} loaded` : `${visibleCount} of ${total} loaded ${noun}`];
    if (counts.failed > 0) {
      parts.push(`${counts.failed} retrying`);
    }
    if (counts.dead > 0) {
      parts.push(`${counts.dead} dead`);
    }
    replaceChildren(this.count, parts.join(' · '));
  }

  /** Opens the event of a clicked row, unless a link or button got the click. */
  openFromRow(click) {
    if (click.target.closest('a, button') || window.getSelection()?.toString()) {
      return;
    }
    const row = click.target.closest('tr.event-row');
    if (row) {
      this.open(row);
    }
  }

  open(row) {
    location.hash = eventHash(row.dataset.integrationId, row.dataset.eventId);
  }
}

function renderLatestAttempt(attempt) {
  if (!attempt) {
    return h('span', { class: 'muted' }, '—');
  }

  const outcome =
    typeof attempt.http_status === 'number'
      ? h('span', { class: `http-status ${httpStatusClass(attempt.http_status)}` }, `HTTP ${attempt.http_status}`)
      : h('span', { class: 'http-status http-none' }, 'no response');
  const parts = [outcome];
  if (attempt.error_class) {
    parts.push(h('span', { class: 'error-class mono' }, attempt.error_class));
  }
  parts.push(h('span', { class: 'muted' }, formatDuration(attempt.duration_ms)));
  if (attempt.next_attempt_at && attempt.status === 'failed') {
    parts.push(h('span', { class: 'next-attempt' }, 'next ', timeElement(attempt.next_attempt_at, '—', { upcoming: true })));
  }
  return h('div', { class: 'attempt-summary' }, parts);
}
