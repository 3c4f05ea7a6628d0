'use strict';

// A small client of the hookgate HTTP API over node:http, which keeps the
// raw response bytes and sends bodies exactly as given (string or Buffer).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');

const { ADMIN_KEY, scaled, waitFor } = require('./harness');

const REQUEST_TIMEOUT_MS = scaled(10000);
const TERMINAL_STATUSES = new Set(['succeeded', 'dead']);

class Response {
  constructor(res, body) {
    this.status = res.statusCode;
    this.headers = res.headers;
    this.body = body;
  }

  get text() {
    return this.body.toString('utf8');
  }

  /** Parses the body as JSON, and throws with the body text when it is not JSON. */
  json() {
    try {
      return JSON.parse(this.text);
    } catch (err) {
      throw new Error(`response ${this.status} is not JSON: ${this.text.slice(0, 300)}`);
    }
  }

  describe() {
    return `${this.status} ${this.text.slice(0, 500)}`;
  }
}

class Api {
  constructor(port) {
    this.port = port;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /**
   * Sends one request. `json` is serialized with JSON.stringify and sent as
   * application/json. `body` is sent as given, with the caller's headers.
   */
  request(method, urlPath, { key, json, body, headers = {}, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const allHeaders = { ...headers };
    let payload = body;
    if (json !== undefined) {
      payload = JSON.stringify(json);
      allHeaders['Content-Type'] = allHeaders['Content-Type'] || 'application/json';
    }
    if (key) {
      allHeaders.Authorization = `Bearer ${key}`;
    }
    if (payload !== undefined) {
      allHeaders['Content-Length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: urlPath,
          headers: allHeaders,
          agent: this.agent,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => resolve(new Response(res, Buffer.concat(chunks))));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async createIntegration(id, name = id) {
    const res = await this.request('POST', '/api/v1/integrations', {
      key: ADMIN_KEY,
      json: { id, name },
    });
    if (res.status !== 201) {
      throw new Error(`creating integration ${id} failed: ${res.describe()}`);
    }
    return res.json();
  }

  async createEndpoint(integrationId, apiKey, spec) {
    const res = await this.request('POST', `/api/v1/integrations/${integrationId}/endpoints`, {
      key: apiKey,
      json: spec,
    });
    if (res.status !== 201) {
      throw new Error(`creating an endpoint for ${integrationId} failed: ${res.describe()}`);
    }
    return res.json();
  }

  /** Publishes body (string, Buffer or object) as application/json. */
  publish(integrationId, apiKey, body, headers = {}) {
    const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return this.request('POST', `/api/v1/integrations/${integrationId}/events`, {
      key: apiKey,
      body: raw,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  }

  /** Publishes and returns the event id. Throws unless the response status is 202. */
  async publishAccepted(integrationId, apiKey, body, headers = {}) {
    const res = await this.publish(integrationId, apiKey, body, headers);
    if (res.status !== 202) {
      throw new Error(`publish to ${integrationId} was not accepted: ${res.describe()}`);
    }
    return res.json().id;
  }

  async getEvent(integrationId, apiKey, eventId) {
    const res = await this.request('GET', `/api/v1/integrations/${integrationId}/events/${eventId}`, {
      key: apiKey,
    });
    if (res.status !== 200) {
      throw new Error(`reading event ${eventId} failed: ${res.describe()}`);
    }
    return res.json();
  }

  getPayload(integrationId, apiKey, eventId) {
    return this.request('GET', `/api/v1/integrations/${integrationId}/events/${eventId}/payload`, {
      key: apiKey,
    });
  }

  async getDelivery(integrationId, apiKey, deliveryId) {
    const res = await this.request(
      'GET',
      `/api/v1/integrations/${integrationId}/deliveries/${deliveryId}`,
      { key: apiKey },
    );
    if (res.status !== 200) {
      throw new Error(`reading delivery ${deliveryId} failed: ${res.describe()}`);
    }
    return res.json();
  }

  redeliver(integrationId, apiKey, deliveryId) {
    return this.request(
      'POST',
      `/api/v1/integrations/${integrationId}/deliveries/${deliveryId}/redeliver`,
      { key: apiKey },
    );
  }

  /**
   * Polls the event until it has at least one delivery and every delivery
   * is succeeded or dead, then returns the event.
   */
  waitForSettled(integrationId, apiKey, eventId, { timeoutMs }) {
    return waitFor(
      async () => {
        const event = await this.getEvent(integrationId, apiKey, eventId);
        const done =
          event.deliveries.length > 0 &&
          event.deliveries.every((d) => TERMINAL_STATUSES.has(d.status));
        return done ? event : null;
      },
      { timeoutMs, intervalMs: 200, description: `every delivery of ${eventId} to end succeeded or dead` },
    );
  }

  close() {
    this.agent.destroy();
  }
}

/**
 * Asserts what every gateway response carries: the header API-Version: v1
 * and an X-Request-Id. A response with a status of 400 or more must also be
 * an application/problem+json document whose `status` member repeats the
 * HTTP status, with a `code`, and a `request_id` equal to X-Request-Id.
 */
function assertEnvelope(res, label) {
  const requestId = res.headers['x-request-id'];
  assert.equal(res.headers['api-version'], 'v1', `${label}: API-Version header`);
  assert.ok(requestId, `${label}: X-Request-Id header is present`);
  if (res.status < 400) {
    return;
  }
  assert.match(
    res.headers['content-type'] || '',
    /^application\/problem\+json/,
    `${label}: content type of a ${res.status} response`,
  );
  const problem = res.json();
  assert.equal(problem.status, res.status, `${label}: problem status member`);
  assert.match(String(problem.code), /^[A-Z_]+$/, `${label}: problem code`);
  assert.equal(problem.request_id, requestId, `${label}: problem request_id equals X-Request-Id`);
}

/** Asserts that res is a problem response with the given status and code. */
function assertProblem(res, status, code, label) {
  assert.equal(res.status, status, `${label}: status (${res.describe()})`);
  assertEnvelope(res, label);
  assert.equal(res.json().code, code, `${label}: problem code`);
}

/** An Api that checks every response with assertEnvelope. */
class CheckedApi extends Api {
  async request(method, urlPath, options) {
    const res = await super.request(method, urlPath, options);
    assertEnvelope(res, `${method} ${urlPath}`);
    return res;
  }
}

/** Returns the value of an HTTP Basic Authorization header. */
function basicAuth(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Requests an OAuth access token with the client credentials grant. The
 * client authenticates with HTTP Basic unless `basic` is false, in which
 * case client_id and client_secret go in the form body. `form` adds or
 * replaces form parameters. Returns the response.
 */
function requestToken(api, { clientId, clientSecret, scope, basic = true, form = {} }) {
  const params = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (basic) {
    headers.Authorization = basicAuth(clientId, clientSecret);
  } else {
    params.set('client_id', clientId);
    params.set('client_secret', clientSecret);
  }
  if (scope !== undefined) {
    params.set('scope', scope);
  }
  for (const [name, value] of Object.entries(form)) {
    params.set(name, value);
  }
  return api.request('POST', '/oauth/token', { body: params.toString(), headers });
}

/** Returns a fresh integration id for one test, such as "it-retry-3f9a1c". */
function uniqueId(label) {
  return `it-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/**
 * Creates an integration and one endpoint subscribed to eventTypes at url.
 * Returns { id, apiKey, endpoint }.
 */
async function createIntegrationWithEndpoint(api, label, url, eventTypes = ['*']) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id, `Integration ${label}`);
  const endpoint = await api.createEndpoint(id, integration.api_key, { url, event_types: eventTypes });
  return { id, apiKey: integration.api_key, endpoint };
}

module.exports = {
  Api,
  CheckedApi,
  Response,
  assertEnvelope,
  assertProblem,
  basicAuth,
  createIntegrationWithEndpoint,
  requestToken,
  uniqueId,
};
