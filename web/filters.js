// Filters of the event list, kept in the query string of the page URL so a
// pasted link opens the same view: ?integration=&endpoint=&type=&outcome=
// &since=&until= (times in RFC 3339, UTC).

export const FILTER_NAMES = ['integration', 'endpoint', 'type', 'outcome', 'since', 'until'];
export const OUTCOMES = ['succeeded', 'failed', 'dead', 'pending'];

/** Reads the filters from a query string; unknown outcomes and bad times are dropped. */
export function filtersFromSearch(search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const name of FILTER_NAMES) {
    const value = (params.get(name) || '').trim();
    if (value !== '') {
      filters[name] = value;
    }
  }
  if (filters.outcome && !OUTCOMES.includes(filters.outcome)) {
    delete filters.outcome;
  }
  for (const name of ['since', 'until']) {
    if (filters[name] && Number.isNaN(Date.parse(filters[name]))) {
      delete filters[name];
    }
  }
  return filters;
}

/** Returns the query string ("" or "?...") of the filters, in a fixed order. */
export function searchFromFilters(filters) {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    if (filters[name]) {
      params.set(name, filters[name]);
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Returns the value of a datetime-local input for an RFC 3339 time, in the viewer's time zone. */
export function localInputValue(time) {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) {
    return '';
  }
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Returns the RFC 3339 UTC time of a datetime-local input value, or "". */
export function timeFromLocalInput(value) {
  if (!value) {
    return '';
  }
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/** True when an event of the store passes the filters. */
export function eventMatches(event, filters) {
  if (filters.integration && event.integrationId !== filters.integration) {
    return false;
  }
  if (filters.type && !typeMatches(event.type, filters.type)) {
    return false;
  }
  const deliveries = [...event.deliveries.values()];
  const relevant = filters.endpoint ? deliveries.filter((d) => d.endpointId === filters.endpoint) : deliveries;
  if (filters.endpoint && relevant.length === 0) {
    return false;
  }
  if (filters.outcome && !relevant.some((d) => d.status === filters.outcome)) {
    return false;
  }
  if (filters.since || filters.until) {
    const received = Date.parse(event.receivedAt);
    if (Number.isNaN(received)) {
      // Not known yet: rows completed from the event API are checked again.
      return false;
    }
    if (filters.since && received < Date.parse(filters.since)) {
      return false;
    }
    if (filters.until && received > Date.parse(filters.until)) {
      return false;
    }
  }
  return true;
}

/** Matches an event type against "a.b" or a "prefix.*" filter, as the gateway does. */
function typeMatches(type, filter) {
  if (!type) {
    return false;
  }
  if (filter === '*') {
    return true;
  }
  if (filter.endsWith('.*')) {
    return type.startsWith(filter.slice(0, -1));
  }
  return type === filter;
}
