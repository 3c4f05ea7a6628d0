'use strict';

// Sandbox mode (HOOKGATE_SANDBOX=1): GET /api/v1/sandbox returns the
// fixtures and the known credentials, and POST /api/v1/sandbox/reset
// restores exactly the known state after any change.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, Harness, REPO_ROOT, redisCli, setupHarness, tailFile, waitFor } = require('./lib/harness');

const harness = setupHarness('partner-sandbox');
let api;
// A gateway on the same Redis with sandbox mode off.
let plainApi;
let sandbox;

// No worker runs in this file, so sandbox deliveries stay pending and
// nothing is sent to this URL.
const SINK_URL = 'https://sink.example.com/sandbox';
const FIXTURES_FILE = path.join(REPO_ROOT, 'catalog', 'sandbox-fixtures.json');
const STATE_PATHS = [
  '/api/v1/integrations/sandbox',
  '/api/v1/integrations/sandbox/endpoints',
  '/api/v1/integrations/sandbox/keys',
  '/api/v1/sandbox',
];

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_SANDBOX: '1', HOOKGATE_SANDBOX_SINK_URL: SINK_URL });
  const plain = await harness.startGateway();
  api = harness.closeLater(new CheckedApi(gateway.port));
  plainApi = harness.closeLater(new CheckedApi(plain.port));
  const res = await waitFor(
    async () => {
      const read = await api.request('GET', '/api/v1/sandbox', { key: ADMIN_KEY });
      return read.status === 200 ? read : null;
    },
    { timeoutMs: 5000, description: 'the sandbox fixtures' },
  );
  sandbox = res.json();
});

function reset(key = sandbox.api_key, client = api) {
  return client.request('POST', '/api/v1/sandbox/reset', { key });
}

/** Returns the body text of every route that shows the sandbox state. */
async function stateTexts() {
  const texts = {};
  for (const urlPath of STATE_PATHS) {
    const res = await api.request('GET', urlPath, { key: sandbox.api_key });
    assert.equal(res.status, 200, `${urlPath}: ${res.describe()}`);
    texts[urlPath] = res.text;
  }
  return texts;
}

/** Changes the sandbox through the API in every way the tests reset. */
async function changeEverything() {
  const key = sandbox.api_key;
  const base = '/api/v1/integrations/sandbox';
  const steps = [
    ['POST', `${base}/keys`, { name: 'extra', scopes: ['read'] }, 201],
    ['POST', `${base}/oauth-clients`, { scopes: ['read'] }, 201],
    ['POST', `${base}/endpoints`, { url: 'https://hooks.example.com/extra', event_types: ['*'] }, 201],
    ['PATCH', base, { name: 'Renamed sandbox', validate_payloads: true }, 200],
    ['PATCH', `${base}/endpoints/ep_sandbox`, { description: 'changed', event_types: ['booking.*'] }, 200],
    ['POST', `${base}/endpoints/ep_sandbox/rotate-secret`, { grace_period_s: 60 }, 200],
  ];
  const created = {};
  for (const [method, urlPath, json, status] of steps) {
    const res = await api.request(method, urlPath, { key, json });
    assert.equal(res.status, status, `${method} ${urlPath}: ${res.describe()}`);
    created[urlPath] = res.json();
  }
  const example = (await api.request('GET', '/api/v1/event-types/booking.created')).json().example;
  const eventIds = [];
  for (let i = 0; i < 3; i++) {
    const res = await api.publish('sandbox', key, example, { 'Idempotency-Key': `sandbox-${i}` });
    assert.equal(res.status, 202, `publish ${i}: ${res.describe()}`);
    eventIds.push(res.json().id);
  }
  return {
    extraKey: created[`${base}/keys`].key,
    client: created[`${base}/oauth-clients`],
    endpointId: created[`${base}/endpoints`].id,
    eventIds,
  };
}

test('sandbox returns fixtures and credentials', async () => {
  const res = await api.request('GET', '/api/v1/sandbox', { key: sandbox.api_key });
  assert.equal(res.status, 200, `read: ${res.describe()}`);
  const body = res.json();
  assert.equal(body.enabled, true, 'enabled');
  assert.equal(body.integration_id, 'sandbox', 'integration_id');
  assert.match(body.api_key, /^\S{16,}$/, 'api_key');
  assert.equal(body.endpoint_id, 'ep_sandbox', 'endpoint_id');
  assert.match(body.endpoint_secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'endpoint_secret');
  assert.equal(body.sink_url, SINK_URL, 'sink_url');
  const fixtures = JSON.parse(fs.readFileSync(FIXTURES_FILE, 'utf8'));
  assert.deepEqual(body.fixtures, fixtures, 'fixtures equal catalog/sandbox-fixtures.json');

  const integration = await api.request('GET', '/api/v1/integrations/sandbox', { key: body.api_key });
  assert.equal(integration.status, 200, `the sandbox key reads the integration: ${integration.describe()}`);
  const endpoint = await api.request('GET', '/api/v1/integrations/sandbox/endpoints/ep_sandbox', {
    key: body.api_key,
  });
  assert.equal(endpoint.json().url, SINK_URL, 'ep_sandbox delivers to the sink URL');
  assert.deepEqual(endpoint.json().event_types, ['*'], 'ep_sandbox receives every type');

  const other = await api.createIntegration(uniqueId('sbx-other'));
  assertProblem(await api.request('GET', '/api/v1/sandbox'), 401, 'UNAUTHORIZED', 'no credentials');
  const foreign = await api.request('GET', '/api/v1/sandbox', { key: other.api_key });
  assertProblem(foreign, 403, 'FORBIDDEN', 'key of another integration');
  assert.equal(foreign.json().detail, 'the API key belongs to another integration', 'detail');
});

test('sandbox reset restores known state', async () => {
  const first = await reset();
  assert.equal(first.status, 200, `first reset: ${first.describe()}`);
  const known = await stateTexts();

  const changes = await changeEverything();
  const changed = await stateTexts();
  for (const urlPath of STATE_PATHS.slice(0, 3)) {
    assert.notEqual(changed[urlPath], known[urlPath], `${urlPath} shows the changes before the reset`);
  }

  const res = await reset();
  assert.equal(res.status, 200, `second reset: ${res.describe()}`);
  const body = res.json();
  assert.equal(body.integration_id, 'sandbox', 'reset response integration_id');
  assert.equal(body.api_key, sandbox.api_key, 'reset response api_key');
  assert.equal(body.removed.events, changes.eventIds.length, 'reset removed the events');
  assert.equal(body.removed.deliveries, changes.eventIds.length * 2, 'reset removed the deliveries');
  assert.equal(body.removed.api_keys, 2, 'reset removed both keys');
  assert.equal(body.removed.oauth_clients, 1, 'reset removed the OAuth client');
  assert.equal(body.removed.endpoints, 2, 'reset removed both endpoints');

  const restored = await stateTexts();
  for (const urlPath of STATE_PATHS) {
    assert.equal(restored[urlPath], known[urlPath], `${urlPath} is byte-identical after the reset`);
  }

  const base = '/api/v1/integrations/sandbox';
  assertProblem(await api.request('GET', `${base}/events`, { key: changes.extraKey }), 401, 'UNAUTHORIZED', 'new key');
  assertProblem(
    await api.request('GET', `${base}/endpoints/${changes.endpointId}`, { key: sandbox.api_key }),
    404,
    'NOT_FOUND',
    'new endpoint',
  );
  assertProblem(
    await api.request('GET', `${base}/events/${changes.eventIds[0]}`, { key: sandbox.api_key }),
    404,
    'NOT_FOUND',
    'published event',
  );
  const events = await api.request('GET', `${base}/events`, { key: sandbox.api_key });
  assert.deepEqual(events.json().data, [], 'no event is left');
  const token = await api.request('POST', '/oauth/token', {
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: changes.client.client_id,
      client_secret: changes.client.client_secret,
    }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assertProblem(token, 401, 'UNAUTHORIZED', 'token for a removed OAuth client');
});

test('sandbox reset restores publish settings', async () => {
  const key = sandbox.api_key;
  const example = (await api.request('GET', '/api/v1/event-types/booking.created')).json().example;
  const first = await api.publish('sandbox', key, example, { 'Idempotency-Key': 'sandbox-settings' });
  assert.equal(first.status, 202, `publish before the change: ${first.describe()}`);
  const on = await api.request('PATCH', '/api/v1/integrations/sandbox', { key, json: { validate_payloads: true } });
  assert.equal(on.status, 200, `turning validation on: ${on.describe()}`);
  const invalid = { type: 'booking.created' };
  assertProblem(await api.publish('sandbox', key, invalid), 422, 'VALIDATION_ERROR', 'validation on before the reset');

  const res = await reset();
  assert.equal(res.status, 200, `reset: ${res.describe()}`);
  const read = await api.request('GET', '/api/v1/integrations/sandbox', { key });
  assert.equal(read.json().validate_payloads, false, 'the reset turns validation off');

  // The first publish after the reset is one that only validation rejects.
  const unchecked = await api.publish('sandbox', key, invalid);
  assert.equal(unchecked.status, 202, `publish without validation after the reset: ${unchecked.describe()}`);
  const repeat = await api.publish('sandbox', key, example, { 'Idempotency-Key': 'sandbox-settings' });
  assert.equal(repeat.status, 202, `the same Idempotency-Key after the reset: ${repeat.describe()}`);
  assert.equal(repeat.headers['idempotent-replayed'], undefined, 'idempotency keys are reset too');
  assert.notEqual(repeat.json().id, first.json().id, 'a new event after the reset');
});

test('sandbox state at start equals reset', async () => {
  // A fresh Redis and gateway show the sandbox as created at start.
  const fresh = new Harness('partner-sandbox-fresh');
  try {
    await fresh.startRedis();
    const gateway = await fresh.startGateway({ HOOKGATE_SANDBOX: '1', HOOKGATE_SANDBOX_SINK_URL: SINK_URL });
    const freshApi = new CheckedApi(gateway.port);
    try {
      const atStart = {};
      for (const urlPath of STATE_PATHS) {
        const res = await waitFor(
          async () => {
            const read = await freshApi.request('GET', urlPath, { key: sandbox.api_key });
            return read.status === 200 ? read : null;
          },
          { timeoutMs: 5000, description: `${urlPath} on a fresh sandbox` },
        );
        atStart[urlPath] = res.text;
      }
      const afterReset = await stateTexts();
      for (const urlPath of STATE_PATHS) {
        assert.equal(atStart[urlPath], afterReset[urlPath], `${urlPath} at start equals the state after a reset`);
      }
    } finally {
      freshApi.close();
    }
  } finally {
    await fresh.cleanup();
  }
});

test('start clears a reset cut short', async () => {
  // What a reset leaves when its gateway dies during the purge: the marker,
  // which drops the sandbox's metric flushes, and the lease, which a
  // restart may come back within. A gateway that starts in sandbox mode
  // keeps the marker while the lease lasts, then removes it.
  const marker = 'hg:{sandbox}:purging';
  const lease = 'hg:{sandbox}:purge_lease';
  await redisCli(harness.redisPort, ['SET', marker, 'running']);
  await redisCli(harness.redisPort, ['SET', lease, 'prg_crashed', 'PX', '1500']);
  const gateway = await harness.startGateway({ HOOKGATE_SANDBOX: '1', HOOKGATE_SANDBOX_SINK_URL: SINK_URL });
  try {
    await waitFor(() => /checking its purge marker again/.test(tailFile(gateway.logFile, 50)), {
      timeoutMs: 5000,
      description: 'the start to find the live lease',
    });
    assert.equal((await redisCli(harness.redisPort, ['GET', marker])).trim(), 'running', 'the marker stays while the lease lasts');
    await waitFor(async () => (await redisCli(harness.redisPort, ['EXISTS', marker])).trim() === '0', {
      timeoutMs: 8000,
      description: 'the marker to go after the lease',
    });
  } finally {
    await harness.stop(gateway);
  }
  assert.equal((await reset()).status, 200, 'a reset works afterwards');
});

test('sandbox reset restores a revoked key', async () => {
  const revoke = await api.request('DELETE', '/api/v1/integrations/sandbox/keys/key_sandbox', { key: sandbox.api_key });
  assert.equal(revoke.status, 204, `revoke the sandbox key: ${revoke.describe()}`);
  assertProblem(
    await api.request('GET', '/api/v1/integrations/sandbox', { key: sandbox.api_key }),
    401,
    'UNAUTHORIZED',
    'revoked sandbox key',
  );
  assertProblem(await reset(), 401, 'UNAUTHORIZED', 'reset with the revoked key');

  const res = await reset(ADMIN_KEY);
  assert.equal(res.status, 200, `reset with the admin key: ${res.describe()}`);
  const read = await api.request('GET', '/api/v1/integrations/sandbox', { key: sandbox.api_key });
  assert.equal(read.status, 200, `the sandbox key works after the reset: ${read.describe()}`);
});

test('sandbox reset needs manage scope', async () => {
  const reader = await api.request('POST', '/api/v1/integrations/sandbox/keys', {
    key: sandbox.api_key,
    json: { scopes: ['read'] },
  });
  assert.equal(reader.status, 201, `read-only key: ${reader.describe()}`);
  assertProblem(await reset(reader.json().key), 403, 'FORBIDDEN', 'read-only key');
  const other = await api.createIntegration(uniqueId('sbx-reset'));
  assertProblem(await reset(other.api_key), 403, 'FORBIDDEN', 'key of another integration');
  assertProblem(await reset(null), 401, 'UNAUTHORIZED', 'no credentials');
  const byReader = await api.request('GET', '/api/v1/sandbox', { key: reader.json().key });
  assert.equal(byReader.status, 200, `a read-only key reads the sandbox: ${byReader.describe()}`);
});

test('sandbox reset is audited', async () => {
  const requestId = `it-reset-${crypto.randomBytes(6).toString('hex')}`;
  const res = await api.request('POST', '/api/v1/sandbox/reset', {
    key: sandbox.api_key,
    headers: { 'X-Request-Id': requestId },
  });
  assert.equal(res.status, 200, `reset: ${res.describe()}`);
  const record = await waitFor(
    async () => {
      const list = await api.request('GET', '/api/v1/audit?action=sandbox.reset', { key: ADMIN_KEY });
      return list.json().data.find((r) => r.request_id === requestId);
    },
    { timeoutMs: 5000, description: 'the sandbox.reset audit record' },
  );
  assert.equal(record.target, 'sandbox', 'target');
  assert.equal(record.actor, 'key:key_sandbox', 'actor');
});

test('sandbox reset drops cached endpoint list', async () => {
  const first = await reset();
  assert.equal(first.status, 200, `reset: ${first.describe()}`);
  const key = sandbox.api_key;
  const endpoints = '/api/v1/integrations/sandbox/endpoints';
  // The catalog example passes validation whatever the integration's
  // validate_payloads setting is.
  const example = (await api.request('GET', '/api/v1/event-types/booking.created')).json().example;
  const before = await api.request('POST', endpoints, {
    key,
    json: { url: 'https://hooks.example.com/before', event_types: ['*'] },
  });
  assert.equal(before.status, 201, `endpoint before the reset: ${before.describe()}`);
  // Parallel publishes use several connections, so every gateway thread
  // caches the endpoint list.
  await Promise.all(Array.from({ length: 8 }, () => api.publishAccepted('sandbox', key, example)));

  const second = await reset();
  assert.equal(second.status, 200, `second reset: ${second.describe()}`);
  const after = await api.request('POST', endpoints, {
    key,
    json: { url: 'https://hooks.example.com/after', event_types: ['*'] },
  });
  assert.equal(after.status, 201, `endpoint after the reset: ${after.describe()}`);
  const eventIds = await Promise.all(
    Array.from({ length: 8 }, () => api.publishAccepted('sandbox', key, example)),
  );
  for (const eventId of eventIds) {
    const event = await api.getEvent('sandbox', key, eventId);
    assert.deepEqual(
      event.deliveries.map((d) => d.endpoint_id).sort(),
      ['ep_sandbox', after.json().id].sort(),
      `event ${eventId} goes to the endpoints that exist after the reset`,
    );
  }
});

test('sandbox routes need sandbox mode', async () => {
  // Without sandbox mode the routes do not exist for an authenticated
  // caller; an unauthenticated one learns nothing.
  assertProblem(await reset(ADMIN_KEY, plainApi), 404, 'NOT_FOUND', 'reset with sandbox mode off');
  assertProblem(await reset(sandbox.api_key, plainApi), 404, 'NOT_FOUND', 'reset with the sandbox key');
  assertProblem(
    await plainApi.request('GET', '/api/v1/sandbox', { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'read with sandbox mode off',
  );
  assertProblem(await plainApi.request('GET', '/api/v1/sandbox'), 401, 'UNAUTHORIZED', 'read without a key');
});
