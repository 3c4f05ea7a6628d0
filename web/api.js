// Client of the inspector API and of the partner API that the inspector
// forwards under /api/v1 (same origin, session cookie).

const API = '/inspector/api';
const V1 = '/api/v1';
const REQUEST_TIMEOUT_MS = 15000;

/** A failed API request, with the fields of its problem+json body. */
export class ApiError extends Error {
  constructor(status, problem, fallback) {
    const title = problem?.title || fallback;
    const detail = problem?.detail;
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail || '';
    this.code = problem?.code || '';
    // The request field that failed validation, when the server names one.
    this.field = problem?.field || '';
  }
}

/**
 * Describes a failed partner API call when the gateway behind the inspector
 * (502, 503 or 504) or the inspector itself (status 0) did not respond, or
 * returns null for any other failure.
 */
export function unreachableText(err) {
  if ([502, 503, 504].includes(err?.status)) {
    return `The gateway is not responding (${err.message}).`;
  }
  if (err?.status === 0) {
    return err.message;
  }
  return null;
}

// Called on every 401 outside the sign-in request, so the page can show
// the sign-in form again.
let onUnauthorized = () => {};

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function readProblem(response) {
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('json')) {
    return null;
  }
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * Sends one request and returns the Response when its status is 2xx.
 * Throws ApiError otherwise, and for network errors and timeouts with
 * status 0.
 */
async function request(method, path, { json, signIn = false, base = API } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }

  let response;
  try {
    response = await fetch(`${base}${path}`, init);
  } catch (err) {
    const reason = err.name === 'TimeoutError' ? 'timed out' : 'failed';
    throw new ApiError(0, null, `The request to the inspector ${reason}. Check that hookgate-inspector is running.`);
  }
  if (response.ok) {
    return response;
  }

  const problem = await readProblem(response);
  const error = new ApiError(response.status, problem, `${method} ${path} failed with HTTP ${response.status}`);
  if (response.status === 401 && !signIn) {
    onUnauthorized(error);
  }
  throw error;
}

async function getJson(path) {
  const response = await request('GET', path);
  return response.json();
}

async function v1Json(method, path, json) {
  const response = await request(method, path, { json, base: V1 });
  if (response.status === 204) {
    return null;
  }
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : null;
}

/** Returns "?a=1&b=2" for the non-empty values of params, or "". */
function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== '') {
      query.set(name, String(value));
    }
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

function integrationPath(integrationId) {
  return `/integrations/${encodeURIComponent(integrationId)}`;
}

export function eventPath(integrationId, eventId) {
  return `/integrations/${encodeURIComponent(integrationId)}/events/${encodeURIComponent(eventId)}`;
}

export const api = {
  async signIn(key) {
    const response = await request('POST', '/session', { json: { key }, signIn: true });
    return response.json();
  },

  /** Returns the session, or null when there is none (HTTP 401). */
  async session() {
    try {
      const response = await request('GET', '/session', { signIn: true });
      return await response.json();
    } catch (err) {
      if (err.status === 401) {
        return null;
      }
      throw err;
    }
  },

  async signOut() {
    await request('DELETE', '/session', { signIn: true });
  },

  activity(limit) {
    return getJson(`/activity?limit=${limit}`);
  },

  event(integrationId, eventId) {
    return getJson(eventPath(integrationId, eventId));
  },

  /**
   * Returns the published bytes and their UTF-8 text, or text null when
   * they are not UTF-8. A leading byte order mark is kept in the text.
   */
  async payload(integrationId, eventId) {
    const response = await request('GET', `${eventPath(integrationId, eventId)}/payload`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    let text = null;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      // shown as bytes instead
    }
    return { bytes, text };
  },

  payloadUrl(integrationId, eventId) {
    return `${API}${eventPath(integrationId, eventId)}/payload`;
  },

  // ---- partner API forwarded by the inspector ------------------------

  integrations() {
    return v1Json('GET', '/integrations');
  },

  endpoints(integrationId) {
    return v1Json('GET', `${integrationPath(integrationId)}/endpoints`);
  },

  endpoint(integrationId, endpointId) {
    return v1Json('GET', `${integrationPath(integrationId)}/endpoints/${encodeURIComponent(endpointId)}`);
  },

  eventTypes() {
    return v1Json('GET', '/event-types');
  },

  /** Returns the metrics series of an integration, or of one endpoint with params.endpoint_id. */
  metricsSeries(integrationId, params) {
    return v1Json('GET', `/metrics/integration/${encodeURIComponent(integrationId)}/series${queryString(params)}`);
  },

  /** Returns the alerts of an integration: { data: [alert] }, newest first. */
  alerts(integrationId, params) {
    return v1Json('GET', `${integrationPath(integrationId)}/alerts${queryString(params)}`);
  },

  /** Returns one page of events: { data: [{ id, type, received_at }], next_cursor }. */
  listEvents(integrationId, params) {
    return v1Json('GET', `${integrationPath(integrationId)}/events${queryString(params)}`);
  },

  /** Returns one page of deliveries: { data: [delivery], next_cursor }. */
  listDeliveries(integrationId, params) {
    return v1Json('GET', `${integrationPath(integrationId)}/deliveries${queryString(params)}`);
  },

  /** Searches ids, correlation ids and payload text, in one integration when given. */
  search(text, integrationId) {
    return v1Json('GET', `/inspector/search${queryString({ q: text, integration: integrationId || undefined })}`);
  },

  redeliver(integrationId, deliveryId) {
    return v1Json('POST', `${integrationPath(integrationId)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`);
  },

  replay(integrationId, eventId) {
    return v1Json('POST', `${integrationPath(integrationId)}/events/${encodeURIComponent(eventId)}/replay`);
  },

  sendTest(integrationId, endpointId, body) {
    return v1Json('POST', `${integrationPath(integrationId)}/endpoints/${encodeURIComponent(endpointId)}/test`, body);
  },

  setEndpointEnabled(integrationId, endpointId, enabled) {
    const action = enabled ? 'enable' : 'disable';
    return v1Json('POST', `${integrationPath(integrationId)}/endpoints/${encodeURIComponent(endpointId)}/${action}`);
  },

  // ---- sinks ------------------------------------------------------------

  sinks() {
    return v1Json('GET', '/sinks');
  },

  sink(sinkId) {
    return v1Json('GET', `/sinks/${encodeURIComponent(sinkId)}`);
  },

  putSink(sinkId, config) {
    return v1Json('PUT', `/sinks/${encodeURIComponent(sinkId)}`, config);
  },

  deleteSink(sinkId) {
    return v1Json('DELETE', `/sinks/${encodeURIComponent(sinkId)}`);
  },

  /**
   * Returns the captures of a sink, newest first, from the sinks API, or
   * with legacy set from the older captures route of inspectors without
   * the sinks API.
   */
  async sinkRequests(sinkId, limit, legacy = false) {
    if (!legacy) {
      return v1Json('GET', `/sinks/${encodeURIComponent(sinkId)}/requests${queryString({ limit })}`);
    }
    const old = await getJson(`/sinks/${encodeURIComponent(sinkId)}/captures?limit=${limit}`);
    return { requests: old.captures || [] };
  },

  async clearSinkRequests(sinkId, legacy = false) {
    if (!legacy) {
      await v1Json('DELETE', `/sinks/${encodeURIComponent(sinkId)}/requests`);
      return;
    }
    await request('DELETE', `/sinks/${encodeURIComponent(sinkId)}/captures`);
  },

  // ---- live feed ----------------------------------------------------------

  /**
   * Returns the URL of the live feed: the stream route, or its older alias
   * when the stream route returns 404.
   */
  async feedBase() {
    const stream = `${V1}/inspector/stream`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      // Only the status matters, so the body of a working stream is dropped
      // at once.
      const response = await fetch(stream, {
        credentials: 'same-origin',
        headers: { Accept: 'text/event-stream' },
        signal: controller.signal,
      });
      controller.abort();
      return response.status === 404 ? `${API}/feed` : stream;
    } catch {
      return stream;
    } finally {
      clearTimeout(timer);
    }
  },
};
