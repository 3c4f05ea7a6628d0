// Client of the inspector API (same origin, session cookie).

const API = '/inspector/api';
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
  }
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
async function request(method, path, { json, signIn = false } = {}) {
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
    response = await fetch(`${API}${path}`, init);
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

  captures(sinkId, limit) {
    return getJson(`/sinks/${encodeURIComponent(sinkId)}/captures?limit=${limit}`);
  },

  async clearCaptures(sinkId) {
    await request('DELETE', `/sinks/${encodeURIComponent(sinkId)}/captures`);
  },

  feedUrl(since) {
    return `${API}/feed?since=${encodeURIComponent(since)}`;
  },
};
