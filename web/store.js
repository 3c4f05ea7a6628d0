// State of the event list, built from activity records (the initial
// /activity list and then the live feed), in stream order.

// Max events kept in the list, live and loaded from history together.
// Older ones are dropped as new ones arrive.
export const MAX_EVENTS = 2000;

const STATUS_RANK = { dead: 4, failed: 3, pending: 2, succeeded: 1 };

/** Parses a stream id "ms-seq" into [ms, seq], or returns null when invalid. */
export function parseStreamId(id) {
  const match = typeof id === 'string' ? /^(\d+)(?:-(\d+))?$/.exec(id) : null;
  return match ? [Number(match[1]), Number(match[2] || 0)] : null;
}

/** Compares two stream ids like a sort function. Invalid ids sort first. */
export function compareStreamIds(a, b) {
  const x = parseStreamId(a) || [-1, -1];
  const y = parseStreamId(b) || [-1, -1];
  return x[0] - y[0] || x[1] - y[1];
}

export function eventKey(integrationId, eventId) {
  return `${integrationId}/${eventId}`;
}

/**
 * Returns the status that sums up an event's deliveries: the worst one,
 * so a dead or failing delivery is visible even next to succeeded ones.
 */
export function summaryStatus(event) {
  let worst = null;
  for (const delivery of event.deliveries.values()) {
    if (!worst || (STATUS_RANK[delivery.status] || 0) > (STATUS_RANK[worst] || 0)) {
      worst = delivery.status;
    }
  }
  return worst;
}

/** Returns the most recent attempt over all deliveries of the event, or null. */
export function latestAttempt(event) {
  let latest = null;
  for (const delivery of event.deliveries.values()) {
    const attempt = delivery.lastAttempt;
    if (attempt && (!latest || compareStreamIds(attempt.id, latest.id) > 0)) {
      latest = attempt;
    }
  }
  return latest;
}

export class ActivityStore {
  constructor() {
    this.events = new Map();
    this.lastId = null;
    this.listeners = new Set();
  }

  /** Registers listener(keys, { initial }) for changed event keys. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(keys, initial) {
    for (const listener of this.listeners) {
      listener(keys, { initial });
    }
  }

  clear() {
    this.events.clear();
    this.lastId = null;
    this.notify(new Set(), true);
  }

  /** Replaces the state with /activity entries (newest first). */
  load(entries) {
    this.events.clear();
    this.lastId = null;
    for (let i = entries.length - 1; i >= 0; i--) {
      this.applyRecord(entries[i]);
    }
    this.trim();
    this.notify(new Set(this.events.keys()), true);
  }

  /**
   * Applies one live record. Returns false for a record at or before the
   * last applied id, which a reconnecting feed may send again.
   */
  apply(record) {
    if (this.lastId && record.id && compareStreamIds(record.id, this.lastId) <= 0) {
      return false;
    }
    if (record.kind === 'integration_deleted') {
      this.lastId = record.id || this.lastId;
      this.notify(this.removeIntegration(record.integration_id), false);
      return true;
    }
    const key = this.applyRecord(record);
    const removed = this.trim();
    if (key || removed.size > 0) {
      const keys = new Set(removed);
      if (key) {
        keys.add(key);
      }
      this.notify(keys, false);
    }
    return true;
  }

  /** Applies one record and returns the key of the changed event, or null. */
  applyRecord(record) {
    if (record.id) {
      this.lastId = record.id;
    }
    switch (record.kind) {
      case 'event':
        return this.applyEvent(record);
      case 'attempt':
      case 'delivery':
        return this.applyDeliveryChange(record);
      default:
        return null;
    }
  }

  ensureEvent(integrationId, eventId, streamId) {
    const key = eventKey(integrationId, eventId);
    let event = this.events.get(key);
    if (!event) {
      event = {
        key,
        integrationId,
        eventId,
        type: null,
        receivedAt: null,
        correlationId: null,
        order: streamId,
        // Attempts of an event older than the loaded list create a row
        // that the page completes from the event API.
        incomplete: true,
        deliveries: new Map(),
        changedAt: 0,
      };
      this.events.set(key, event);
    }
    return event;
  }

  ensureDelivery(event, deliveryId, endpointId) {
    let delivery = event.deliveries.get(deliveryId);
    if (!delivery) {
      delivery = { id: deliveryId, endpointId, status: 'pending', attempts: 0, lastAttempt: null, reason: null };
      event.deliveries.set(deliveryId, delivery);
    }
    return delivery;
  }

  applyEvent(record) {
    const event = this.ensureEvent(record.integration_id, record.event_id, record.id);
    event.type = record.type;
    event.receivedAt = record.received_at;
    event.correlationId = record.correlation_id || null;
    event.test = Boolean(record.test);
    event.order = record.id;
    event.incomplete = false;
    for (const d of record.deliveries || []) {
      const delivery = this.ensureDelivery(event, d.id, d.endpoint_id);
      if (delivery.attempts === 0 && d.status) {
        delivery.status = d.status;
      }
    }
    event.changedAt = Date.now();
    return event.key;
  }

  applyDeliveryChange(record) {
    const event = this.ensureEvent(record.integration_id, record.event_id, record.id);
    const delivery = this.ensureDelivery(event, record.delivery_id, record.endpoint_id);

    if (record.kind === 'attempt') {
      if (typeof record.attempt === 'number' && record.attempt < delivery.attempts) {
        return null;
      }
      delivery.attempts = typeof record.attempt === 'number' ? record.attempt : delivery.attempts + 1;
      delivery.lastAttempt = record;
    } else {
      delivery.reason = record.reason || null;
    }
    delivery.status = record.status || delivery.status;
    event.changedAt = Date.now();
    return event.key;
  }

  /** Drops the oldest events beyond MAX_EVENTS and returns their keys. */
  trim() {
    const removed = new Set();
    if (this.events.size <= MAX_EVENTS) {
      return removed;
    }
    const oldest = this.sorted().slice(MAX_EVENTS);
    for (const event of oldest) {
      this.events.delete(event.key);
      removed.add(event.key);
    }
    return removed;
  }

  /** Removes the events of an integration; returns their keys. */
  removeIntegration(integrationId) {
    const removed = new Set();
    for (const [key, event] of this.events) {
      if (event.integrationId === integrationId) {
        this.events.delete(key);
        removed.add(key);
      }
    }
    return removed;
  }

  /** Returns the events, newest first. */
  sorted() {
    return [...this.events.values()].sort((a, b) => compareStreamIds(b.order, a.order));
  }

  /**
   * Adds events of a history page (items of GET .../events or of
   * GET .../deliveries) that the list does not have yet. They sort by
   * their time, and the page completes them from the event API.
   * Returns the added events.
   */
  addHistory(integrationId, items, kind) {
    const added = [];
    const keys = new Set();
    for (const item of items) {
      const eventId = kind === 'deliveries' ? item.event_id : item.id;
      if (!eventId) {
        continue;
      }
      const key = eventKey(integrationId, eventId);
      const time = Date.parse(item.received_at || item.created_at || '');
      const known = this.events.has(key);
      const event = this.ensureEvent(integrationId, eventId, `${Number.isNaN(time) ? 0 : time}-0`);
      if (kind === 'deliveries') {
        const delivery = this.ensureDelivery(event, item.id, item.endpoint_id);
        if ((item.attempt_count || 0) >= delivery.attempts) {
          delivery.status = item.status || delivery.status;
          delivery.attempts = item.attempt_count || 0;
        }
      } else if (!known) {
        event.type = item.type || null;
        event.receivedAt = item.received_at || null;
      }
      if (!known) {
        added.push(event);
      }
      keys.add(key);
    }
    this.notify(keys, false);
    return added;
  }

  /** Completes an incomplete event from the event API's response. */
  fillFromDetail(key, detail) {
    const event = this.events.get(key);
    if (!event) {
      return;
    }
    event.type = detail.type;
    event.receivedAt = detail.received_at;
    event.correlationId = detail.correlation_id || null;
    event.incomplete = false;
    for (const d of detail.deliveries || []) {
      const delivery = this.ensureDelivery(event, d.id, d.endpoint_id);
      if ((d.attempt_count || 0) >= delivery.attempts) {
        delivery.status = d.status;
        delivery.attempts = d.attempt_count || 0;
        delivery.reason = d.reason || null;
      }
    }
    this.notify(new Set([key]), false);
  }
}
