'use strict';

// Endpoint routes of the partner API: create with every setting and the
// validation of each field, the URL policy, list, read, partial update,
// enable and disable, delete, custom headers, secret rotation and test
// events.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('partner-endpoints');
let api;
// Same Redis, default URL policy: private and loopback targets rejected.
let strictApi;
// Same Redis, HOOKGATE_HTTPS_ONLY=1.
let httpsOnlyApi;
let worker;
let receiver;

const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_RETRY_SCHEDULE: '1,1',
};
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
// The gateway's default bounds: HOOKGATE_CONNECT_TIMEOUT_MS and
// HOOKGATE_DELIVERY_TIMEOUT_MS.
const CONNECT_TIMEOUT_MAX_MS = 10000;
const TIMEOUT_MAX_MS = 30000;
// A URL that passes every policy. Endpoints with it are only created in
// integrations that never publish, so nothing is sent there.
const PUBLIC_URL = 'https://hooks.example.com/webhooks';
// Time a delivery that should not happen is given to show up.
const QUIET_MS = 1500;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  const strict = await harness.startGateway();
  const httpsOnly = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_HTTPS_ONLY: '1' });
  worker = await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new CheckedApi(gateway.port));
  strictApi = harness.closeLater(new CheckedApi(strict.port));
  httpsOnlyApi = harness.closeLater(new CheckedApi(httpsOnly.port));
  receiver = harness.closeLater(await startReceiver(always(200)));
});

function endpointsPath(id) {
  return `/api/v1/integrations/${id}/endpoints`;
}

function createEndpointRaw(id, key, json, client = api) {
  return client.request('POST', endpointsPath(id), { key, json });
}

async function createEndpoint(id, key, json) {
  const res = await createEndpointRaw(id, key, json);
  assert.equal(res.status, 201, `creating an endpoint: ${res.describe()}`);
  return res.json();
}

function patchEndpoint(id, key, endpointId, json) {
  return api.request('PATCH', `${endpointsPath(id)}/${endpointId}`, { key, json });
}

async function readEndpoint(id, key, endpointId) {
  const res = await api.request('GET', `${endpointsPath(id)}/${endpointId}`, { key });
  assert.equal(res.status, 200, `reading endpoint ${endpointId}: ${res.describe()}`);
  return res.json();
}

function newSecret(bytes = 32) {
  return `whsec_${crypto.randomBytes(bytes).toString('base64')}`;
}

/** Returns the Standard Webhooks signature of a delivery with secret. */
function sign(secret, request) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return crypto
    .createHmac('sha256', key)
    .update(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.`)
    .update(request.body)
    .digest('base64');
}

/** Returns the base64 signatures of the webhook-signature header. */
function signaturesOf(request) {
  return (request.headers['webhook-signature'] || '').split(' ').map((entry) => {
    assert.match(entry, /^v1,[A-Za-z0-9+/]+=*$/, `signature entry "${entry}"`);
    return entry.slice(3);
  });
}

function waitForPath(urlPath, count = 1) {
  return receiver.waitForRequests(count, { timeoutMs: 15000, filter: (r) => r.path === urlPath });
}

function requestsAt(urlPath) {
  return receiver.requests.filter((r) => r.path === urlPath);
}

async function settledDeliveries(id, key, eventId) {
  const event = await api.waitForSettled(id, key, eventId, { timeoutMs: 15000 });
  return event.deliveries;
}

test('endpoint create with all settings', async () => {
  const owner = await api.createIntegration(uniqueId('epall'));
  const spec = {
    url: PUBLIC_URL,
    event_types: ['booking.*', 'payment.failed', 'booking.*'],
    description: 'Bookings and failed payments',
    headers: { 'X-Partner-Token': 'token-1', 'X-Tenant': 'acme' },
    connect_timeout_ms: 2000,
    timeout_ms: 5000,
    max_concurrency: 3,
    rate_limit: 50,
    ordering_key: '/data/booking_id',
    enabled: true,
  };
  const res = await createEndpointRaw(owner.id, owner.api_key, spec);
  assert.equal(res.status, 201, `create: ${res.describe()}`);
  const created = res.json();
  assert.match(created.id, /^ep_[0-9A-Z]{26}$/, 'id format');
  assert.equal(created.url, spec.url, 'url');
  assert.deepEqual(created.event_types, ['booking.*', 'payment.failed'], 'event_types without duplicates');
  assert.equal(created.description, spec.description, 'description');
  // A value under a credential-like name is sent to the receiver but never shown again.
  assert.deepEqual(created.headers, { 'X-Partner-Token': '[redacted]', 'X-Tenant': 'acme' }, 'headers');
  assert.equal(created.connect_timeout_ms, 2000, 'connect_timeout_ms');
  assert.equal(created.timeout_ms, 5000, 'timeout_ms');
  assert.equal(created.max_concurrency, 3, 'max_concurrency');
  assert.equal(created.rate_limit, 50, 'rate_limit');
  assert.equal(created.ordering_key, '/data/booking_id', 'ordering_key');
  assert.equal(created.enabled, true, 'enabled');
  assert.equal(created.status, 'enabled', 'status');
  assert.equal(created.disabled_reason, null, 'disabled_reason');
  assert.equal(created.previous_secret_expires_at, null, 'no previous secret');
  assert.match(created.secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'generated secret format');
  assert.ok(Buffer.from(created.secret.slice(6), 'base64').length >= 24, 'generated secret has at least 24 bytes');
  assert.match(created.created_at, RFC3339, 'created_at format');

  const read = await readEndpoint(owner.id, owner.api_key, created.id);
  const { secret, ...withoutSecret } = created;
  assert.deepEqual(read, withoutSecret, 'a read returns the created endpoint without its secret');
  assert.ok(secret, 'the create response has the secret');

  const minimal = await createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'] });
  assert.equal(minimal.description, '', 'default description');
  assert.deepEqual(minimal.headers, {}, 'default headers');
  assert.equal(minimal.timeout_ms, null, 'default timeout_ms');
  assert.equal(minimal.connect_timeout_ms, null, 'default connect_timeout_ms');
  assert.equal(minimal.max_concurrency, null, 'default max_concurrency');
  assert.equal(minimal.rate_limit, null, 'default rate_limit');
  assert.equal(minimal.ordering_key, null, 'default ordering_key');

  const chosen = newSecret();
  const own = await createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'], secret: chosen });
  assert.equal(own.secret, chosen, 'a given secret is kept');

  const disabled = await createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'], enabled: false });
  assert.equal(disabled.enabled, false, 'created disabled');
  assert.equal(disabled.status, 'disabled', 'status of an endpoint created disabled');
});

test('endpoint create validates each field', async () => {
  const owner = await api.createIntegration(uniqueId('epval'));
  const valid = { url: PUBLIC_URL, event_types: ['*'] };
  const manyHeaders = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
  assertProblem(
    await createEndpointRaw(owner.id, owner.api_key, { event_types: ['*'] }),
    422,
    'VALIDATION_ERROR',
    'missing url',
  );
  assertProblem(
    await createEndpointRaw(owner.id, owner.api_key, { url: PUBLIC_URL }),
    422,
    'VALIDATION_ERROR',
    'missing event_types',
  );
  const cases = [
    ['url ftp', { url: 'ftp://example.com/x' }],
    ['url without scheme', { url: 'example.com/hook' }],
    ['url without host', { url: 'https:///hook' }],
    ['url with credentials', { url: 'https://user:pw@example.com/hook' }],
    ['url with fragment', { url: 'https://example.com/hook#part' }],
    ['url with space', { url: 'https://exa mple.com/hook' }],
    ['url number', { url: 42 }],
    ['url empty', { url: '' }],
    ['event_types empty', { event_types: [] }],
    ['event_types string', { event_types: 'booking.*' }],
    ['event_types bad character', { event_types: ['booking created'] }],
    ['event_types double star', { event_types: ['booking.**'] }],
    ['event_types number', { event_types: [5] }],
    ['event_types 65 filters', { event_types: Array.from({ length: 65 }, (_, i) => `type.${i}`) }],
    ['description too long', { description: 'd'.repeat(501) }],
    ['description number', { description: 5 }],
    ['header webhook-signature', { headers: { 'webhook-signature': 'v1,x' } }],
    ['header Webhook-Id', { headers: { 'Webhook-Id': 'x' } }],
    ['header Host', { headers: { Host: 'evil.example' } }],
    ['header Content-Length', { headers: { 'Content-Length': '1' } }],
    ['header Transfer-Encoding', { headers: { 'Transfer-Encoding': 'chunked' } }],
    ['header Proxy-Authorization', { headers: { 'Proxy-Authorization': 'Basic x' } }],
    ['header traceparent', { headers: { traceparent: 'x' } }],
    ['header value with CR LF', { headers: { 'X-A': 'a\r\nX-Injected: 1' } }],
    ['header value with LF', { headers: { 'X-A': 'a\nb' } }],
    ['header value number', { headers: { 'X-A': 5 } }],
    ['header value too long', { headers: { 'X-A': 'v'.repeat(1001) } }],
    ['header name with space', { headers: { 'X A': 'v' } }],
    ['header name with colon', { headers: { 'X-A:': 'v' } }],
    ['header name empty', { headers: { '': 'v' } }],
    ['21 headers', { headers: manyHeaders }],
    ['headers array', { headers: ['X-A: v'] }],
    ['connect_timeout_ms below minimum', { connect_timeout_ms: 99 }],
    ['connect_timeout_ms above maximum', { connect_timeout_ms: CONNECT_TIMEOUT_MAX_MS + 1 }],
    ['connect_timeout_ms string', { connect_timeout_ms: '1000' }],
    ['timeout_ms below minimum', { timeout_ms: 999 }],
    ['timeout_ms above maximum', { timeout_ms: TIMEOUT_MAX_MS + 1 }],
    ['timeout_ms fraction', { timeout_ms: 1500.5 }],
    ['max_concurrency zero', { max_concurrency: 0 }],
    ['max_concurrency above maximum', { max_concurrency: 1001 }],
    ['rate_limit zero', { rate_limit: 0 }],
    ['rate_limit above maximum', { rate_limit: 100001 }],
    ['ordering_key without slash', { ordering_key: 'data/booking_id' }],
    ['ordering_key number', { ordering_key: 5 }],
    ['ordering_key too long', { ordering_key: `/${'k'.repeat(200)}` }],
    ['enabled string', { enabled: 'yes' }],
    ['secret without prefix', { secret: 'plain-secret-value-1234567890' }],
    ['secret not base64', { secret: 'whsec_!!!not-base64!!!' }],
    ['secret too short', { secret: newSecret(8) }],
    ['unknown field', { colour: 'red' }],
  ];
  for (const [label, fields] of cases) {
    const res = await createEndpointRaw(owner.id, owner.api_key, { ...valid, ...fields });
    assertProblem(res, 422, 'VALIDATION_ERROR', label);
  }

  const nul = await createEndpointRaw(owner.id, owner.api_key, { ...valid, headers: { 'X-A': 'a\u0000b' } });
  assert.ok([400, 422].includes(nul.status), `header value with NUL is rejected: ${nul.describe()}`);

  const accepted = [
    ['timeouts at their minimum', { connect_timeout_ms: 100, timeout_ms: 1000 }],
    ['timeouts at their maximum', { connect_timeout_ms: CONNECT_TIMEOUT_MAX_MS, timeout_ms: TIMEOUT_MAX_MS }],
    ['limits at their bounds', { max_concurrency: 1, rate_limit: 100000 }],
    ['limits at the other bounds', { max_concurrency: 1000, rate_limit: 1 }],
    ['20 headers', { headers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v'])) }],
    ['null settings', { timeout_ms: null, max_concurrency: null, ordering_key: null }],
    ['64 filters', { event_types: Array.from({ length: 64 }, (_, i) => `type.${i}`) }],
  ];
  for (const [label, fields] of accepted) {
    const res = await createEndpointRaw(owner.id, owner.api_key, { ...valid, ...fields });
    assert.equal(res.status, 201, `${label}: ${res.describe()}`);
  }

  const listed = await api.request('GET', `${endpointsPath(owner.id)}?limit=200`, { key: owner.api_key });
  assert.equal(listed.json().data.length, accepted.length, 'rejected creates store nothing');
});

test('endpoint private target not allowed', async () => {
  const owner = await api.createIntegration(uniqueId('epssrf'));
  const urls = [
    receiver.url('/private'),
    'http://localhost/hook',
    'http://10.1.2.3/hook',
    'http://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://0.0.0.0/hook',
  ];
  for (const url of urls) {
    const res = await createEndpointRaw(owner.id, owner.api_key, { url, event_types: ['*'] }, strictApi);
    assertProblem(res, 422, 'TARGET_NOT_ALLOWED', url);
  }
  const publicUrl = await createEndpointRaw(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'] }, strictApi);
  assert.equal(publicUrl.status, 201, `a public URL is accepted: ${publicUrl.describe()}`);

  const patched = await strictApi.request('PATCH', `${endpointsPath(owner.id)}/${publicUrl.json().id}`, {
    key: owner.api_key,
    json: { url: 'http://127.0.0.1:8080/hook' },
  });
  assertProblem(patched, 422, 'TARGET_NOT_ALLOWED', 'update to a loopback URL');
});

test('endpoint https only refuses http', async () => {
  const owner = await api.createIntegration(uniqueId('ephttps'));
  const res = await createEndpointRaw(owner.id, owner.api_key, { url: receiver.url('/http'), event_types: ['*'] }, httpsOnlyApi);
  assertProblem(res, 422, 'TARGET_NOT_ALLOWED', 'http URL');
  const upper = await createEndpointRaw(owner.id, owner.api_key, { url: 'HTTP://127.0.0.1/x', event_types: ['*'] }, httpsOnlyApi);
  assertProblem(upper, 422, 'TARGET_NOT_ALLOWED', 'upper-case http URL');

  const secure = await createEndpointRaw(
    owner.id,
    owner.api_key,
    { url: `https://127.0.0.1:${receiver.port}/tls`, event_types: ['nothing.published'] },
    httpsOnlyApi,
  );
  assert.equal(secure.status, 201, `https URL: ${secure.describe()}`);
  const patched = await httpsOnlyApi.request('PATCH', `${endpointsPath(owner.id)}/${secure.json().id}`, {
    key: owner.api_key,
    json: { url: receiver.url('/http') },
  });
  assertProblem(patched, 422, 'TARGET_NOT_ALLOWED', 'update to an http URL');
});

test('endpoint list pages with cursor', async () => {
  const owner = await api.createIntegration(uniqueId('eplist'));
  const created = [];
  for (let i = 0; i < 5; i++) {
    created.push(await createEndpoint(owner.id, owner.api_key, { url: `${PUBLIC_URL}/${i}`, event_types: ['*'] }));
  }
  // The list is in id order. Ids start with their millisecond, so two
  // endpoints created in the same one may be listed in either order.
  const ids = created.map((e) => e.id).sort();

  const res = await api.request('GET', endpointsPath(owner.id), { key: owner.api_key });
  assert.equal(res.status, 200, `list: ${res.describe()}`);
  const all = res.json();
  assert.deepEqual(all.data.map((e) => e.id), ids, 'endpoints in id order');
  assert.equal(all.next_cursor, null, 'one page');
  for (const endpoint of all.data) {
    assert.equal(endpoint.secret, undefined, `listed ${endpoint.id} has no secret`);
  }
  for (const endpoint of created) {
    assert.ok(!res.text.includes(endpoint.secret), `the list does not contain the secret of ${endpoint.id}`);
  }

  const paged = [];
  let cursor = null;
  let pages = 0;
  do {
    const query = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
    const page = (await api.request('GET', `${endpointsPath(owner.id)}${query}`, { key: owner.api_key })).json();
    assert.ok(page.data.length <= 2, `page ${pages} has at most 2 endpoints`);
    paged.push(...page.data.map((e) => e.id));
    cursor = page.next_cursor;
    pages += 1;
    assert.ok(pages <= 5, 'paging ends');
  } while (cursor !== null);
  assert.deepEqual(paged, ids, 'the pages together hold every endpoint once');
  assert.equal(pages, 3, 'five endpoints make three pages of two');

  for (const query of ['limit=0', 'limit=201', 'limit=x', 'cursor=bad', 'cursor=ep_%20x']) {
    assertProblem(
      await api.request('GET', `${endpointsPath(owner.id)}?${query}`, { key: owner.api_key }),
      422,
      'VALIDATION_ERROR',
      query,
    );
  }
});

test('endpoint read never has secret', async () => {
  const owner = await api.createIntegration(uniqueId('epread'));
  const other = await api.createIntegration(uniqueId('epread-other'));
  const created = await createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'] });
  await api.request('POST', `${endpointsPath(owner.id)}/${created.id}/rotate-secret`, { key: owner.api_key });

  const res = await api.request('GET', `${endpointsPath(owner.id)}/${created.id}`, { key: owner.api_key });
  assert.equal(res.status, 200, `read: ${res.describe()}`);
  assert.equal(res.json().secret, undefined, 'no secret member');
  assert.equal(res.json().previous_secret, undefined, 'no previous_secret member');
  assert.ok(!res.text.includes(created.secret), 'the response does not contain the secret');
  assert.ok(!res.text.includes('whsec_'), 'the response contains no secret at all');

  const base = `${endpointsPath(owner.id)}/${created.id}`;
  assertProblem(await api.request('GET', base, { key: other.api_key }), 403, 'FORBIDDEN', 'key of another integration');
  assertProblem(
    await api.request('GET', `${endpointsPath(other.id)}/${created.id}`, { key: other.api_key }),
    404,
    'NOT_FOUND',
    'endpoint under another integration',
  );
  assertProblem(
    await api.request('GET', `${endpointsPath(owner.id)}/ep_00000000000000000000000000`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'missing endpoint',
  );
  assertProblem(
    await api.request('GET', `${endpointsPath(owner.id)}/not-an-endpoint`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'malformed endpoint id',
  );
});

test('endpoint patch is a partial update', async () => {
  const owner = await api.createIntegration(uniqueId('eppatch'));
  const reader = await api.request('POST', `/api/v1/integrations/${owner.id}/keys`, {
    key: owner.api_key,
    json: { scopes: ['read'] },
  });
  const created = await createEndpoint(owner.id, owner.api_key, {
    url: PUBLIC_URL,
    event_types: ['booking.*'],
    description: 'before',
    headers: { 'X-Kept': '1' },
    timeout_ms: 4000,
  });

  const res = await patchEndpoint(owner.id, owner.api_key, created.id, { description: 'after' });
  assert.equal(res.status, 200, `patch: ${res.describe()}`);
  const patched = res.json();
  assert.equal(patched.description, 'after', 'description is changed');
  assert.equal(patched.url, created.url, 'url is kept');
  assert.deepEqual(patched.event_types, ['booking.*'], 'event_types are kept');
  assert.deepEqual(patched.headers, { 'X-Kept': '1' }, 'headers are kept');
  assert.equal(patched.timeout_ms, 4000, 'timeout_ms is kept');
  assert.equal(patched.created_at, created.created_at, 'created_at is kept');
  assert.equal(patched.secret, undefined, 'an update does not return the secret');

  const cleared = await patchEndpoint(owner.id, owner.api_key, created.id, {
    timeout_ms: null,
    event_types: ['payment.*'],
    headers: {},
  });
  assert.equal(cleared.status, 200, `second patch: ${cleared.describe()}`);
  assert.equal(cleared.json().timeout_ms, null, 'null clears timeout_ms');
  assert.deepEqual(cleared.json().event_types, ['payment.*'], 'event_types are replaced');
  assert.deepEqual(cleared.json().headers, {}, 'headers are replaced');
  assert.equal(cleared.json().description, 'after', 'description is kept by the second patch');

  const secretPatch = await patchEndpoint(owner.id, owner.api_key, created.id, { secret: newSecret() });
  assertProblem(secretPatch, 422, 'VALIDATION_ERROR', 'secret on PATCH');
  assert.match(secretPatch.json().detail, /rotate-secret/, 'detail points to rotate-secret');
  const unknownField = await patchEndpoint(owner.id, owner.api_key, created.id, { colour: 'red' });
  assertProblem(unknownField, 422, 'VALIDATION_ERROR', 'unknown field');
  assert.equal(unknownField.json().detail, 'unknown field "colour"', 'an unknown field gets no rotation hint');
  assertProblem(
    await patchEndpoint(owner.id, owner.api_key, created.id, { url: 'ftp://example.com' }),
    422,
    'VALIDATION_ERROR',
    'invalid url',
  );
  assertProblem(
    await patchEndpoint(owner.id, owner.api_key, created.id, { headers: { Host: 'x' } }),
    422,
    'VALIDATION_ERROR',
    'reserved header',
  );
  assertProblem(
    await patchEndpoint(owner.id, owner.api_key, 'ep_00000000000000000000000000', { description: 'x' }),
    404,
    'NOT_FOUND',
    'missing endpoint',
  );
  assertProblem(
    await patchEndpoint(owner.id, reader.json().key, created.id, { description: 'x' }),
    403,
    'FORBIDDEN',
    'read-only key',
  );
  const read = await readEndpoint(owner.id, owner.api_key, created.id);
  assert.equal(read.description, 'after', 'rejected updates change nothing');
});

test('endpoint If-Match with a tag is 412', async () => {
  const owner = await api.createIntegration(uniqueId('epifmatch'));
  const created = await createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'], description: 'before' });
  const path = `${endpointsPath(owner.id)}/${created.id}`;
  const json = { description: 'after' };

  for (const value of ['"v1"', 'W/"v1"', '"a", *']) {
    const res = await api.request('PATCH', path, { key: owner.api_key, json, headers: { 'If-Match': value } });
    assertProblem(res, 412, 'PRECONDITION_FAILED', `PATCH with If-Match: ${value}`);
  }
  const deleted = await api.request('DELETE', path, { key: owner.api_key, headers: { 'If-Match': '"v1"' } });
  assertProblem(deleted, 412, 'PRECONDITION_FAILED', 'DELETE with If-Match');
  assert.equal((await readEndpoint(owner.id, owner.api_key, created.id)).description, 'before', 'a failed precondition changes nothing');

  const read = await api.request('GET', path, { key: owner.api_key, headers: { 'If-Match': '"v1"' } });
  assert.equal(read.status, 200, `GET ignores If-Match: ${read.describe()}`);
  const any = await api.request('PATCH', path, { key: owner.api_key, json, headers: { 'If-Match': '*' } });
  assert.equal(any.status, 200, `If-Match: * applies: ${any.describe()}`);
  assert.equal(any.json().description, 'after', 'the change is made');
});

test('custom headers arrive at receiver', { timeout: scaled(20000) }, async () => {
  const owner = await api.createIntegration(uniqueId('ephdr'));
  const endpoint = await createEndpoint(owner.id, owner.api_key, {
    url: receiver.url('/custom-headers'),
    event_types: ['*'],
    headers: { 'X-Partner-Token': 'token-123', 'X-Tenant': 'acme', Authorization: 'Bearer partner-side' },
  });
  const eventId = await api.publishAccepted(owner.id, owner.api_key, { type: 'headers.checked' });
  const [request] = await waitForPath('/custom-headers');
  assert.equal(request.headers['x-partner-token'], 'token-123', 'X-Partner-Token');
  assert.equal(request.headers['x-tenant'], 'acme', 'X-Tenant');
  assert.equal(request.headers.authorization, 'Bearer partner-side', 'Authorization');
  assert.equal(request.headers['webhook-id'], eventId, 'webhook-id is still set');
  assert.deepEqual(signaturesOf(request), [sign(endpoint.secret, request)], 'the signature is still set');
});

test('disabled endpoint receives nothing', { timeout: scaled(20000) }, async () => {
  const owner = await api.createIntegration(uniqueId('epdis'));
  const endpoint = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/disabled'), event_types: ['*'] });
  const base = `${endpointsPath(owner.id)}/${endpoint.id}`;

  const res = await api.request('POST', `${base}/disable`, { key: owner.api_key });
  assert.ok(res.status < 300, `disable succeeds: ${res.describe()}`);
  assert.equal(res.json().enabled, false, 'enabled after disable');
  assert.equal(res.json().status, 'disabled', 'status after disable');
  assert.equal(res.json().disabled_reason, 'manual', 'disabled_reason after disable');

  const eventId = await api.publishAccepted(owner.id, owner.api_key, { type: 'disabled.checked' });
  const event = await api.getEvent(owner.id, owner.api_key, eventId);
  assert.deepEqual(event.deliveries, [], 'an event creates no delivery for a disabled endpoint');
  await sleep(QUIET_MS);
  assert.equal(requestsAt('/disabled').length, 0, 'the disabled endpoint received nothing');

  const enabled = await api.request('POST', `${base}/enable`, { key: owner.api_key });
  assert.ok(enabled.status < 300, `enable succeeds: ${enabled.describe()}`);
  assert.equal(enabled.json().enabled, true, 'enabled after enable');
  assert.equal(enabled.json().disabled_reason, null, 'disabled_reason after enable');
  const later = await api.publishAccepted(owner.id, owner.api_key, { type: 'disabled.checked' });
  await waitForPath('/disabled');
  assert.equal(requestsAt('/disabled')[0].headers['webhook-id'], later, 'the enabled endpoint receives the next event');

  const viaPatch = await patchEndpoint(owner.id, owner.api_key, endpoint.id, { enabled: false });
  assert.equal(viaPatch.status, 200, `disable with PATCH: ${viaPatch.describe()}`);
  assert.equal(viaPatch.json().status, 'disabled', 'status after PATCH enabled false');

  const missing = `${endpointsPath(owner.id)}/ep_00000000000000000000000000`;
  assertProblem(await api.request('POST', `${missing}/disable`, { key: owner.api_key }), 404, 'NOT_FOUND', 'disable missing');
  assertProblem(await api.request('POST', `${missing}/enable`, { key: owner.api_key }), 404, 'NOT_FOUND', 'enable missing');

  // Disabling and enabling change an existing endpoint: 200, and no secret.
  assert.equal(res.status, 200, 'disable status');
  assert.equal(res.json().secret, undefined, 'the disable response has no secret member');
  assert.equal(enabled.status, 200, 'enable status');
  assert.equal(enabled.json().secret, undefined, 'the enable response has no secret member');
});

test('pending deliveries end at disable and delete', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('eppend'));
  const disabled = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/pending-disabled'), event_types: ['*'] });
  const deleted = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/pending-deleted'), event_types: ['*'] });
  const control = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/pending-control'), event_types: ['*'] });

  // With the worker stopped, every delivery stays pending.
  await harness.stop(worker);
  const eventIds = [];
  try {
    for (let i = 0; i < 3; i++) {
      eventIds.push(await api.publishAccepted(owner.id, owner.api_key, { type: 'pending.checked', n: i }));
    }
    const res = await api.request('DELETE', `${endpointsPath(owner.id)}/${deleted.id}`, { key: owner.api_key });
    assert.equal(res.status, 200, `delete: ${res.describe()}`);
    assert.deepEqual(res.json(), { id: deleted.id, deleted: true, deliveries_ended: 3 }, 'delete response');

    const disable = await api.request('POST', `${endpointsPath(owner.id)}/${disabled.id}/disable`, { key: owner.api_key });
    assert.ok(disable.status < 300, `disable succeeds: ${disable.describe()}`);
    for (const eventId of eventIds) {
      const event = await api.getEvent(owner.id, owner.api_key, eventId);
      const byEndpoint = Object.fromEntries(event.deliveries.map((d) => [d.endpoint_id, d]));
      assert.equal(byEndpoint[deleted.id].status, 'dead', `${eventId}: the deleted endpoint's delivery is dead at once`);
      assert.equal(byEndpoint[deleted.id].reason, 'endpoint_deleted', `${eventId}: reason endpoint_deleted`);
      assert.equal(byEndpoint[disabled.id].status, 'pending', `${eventId}: the disabled endpoint's delivery waits`);
    }
  } finally {
    worker = await harness.startWorker(WORKER_ENV);
  }

  for (const eventId of eventIds) {
    const deliveries = await settledDeliveries(owner.id, owner.api_key, eventId);
    const byEndpoint = Object.fromEntries(deliveries.map((d) => [d.endpoint_id, d]));
    assert.equal(byEndpoint[disabled.id].status, 'dead', `${eventId}: disabled endpoint's delivery status`);
    assert.equal(byEndpoint[disabled.id].reason, 'endpoint_disabled', `${eventId}: reason endpoint_disabled`);
    assert.equal(byEndpoint[disabled.id].attempt_count, 0, `${eventId}: no attempt to the disabled endpoint`);
    assert.equal(byEndpoint[deleted.id].reason, 'endpoint_deleted', `${eventId}: the deleted endpoint's reason stays`);
    assert.equal(byEndpoint[control.id].status, 'succeeded', `${eventId}: the control endpoint's delivery`);
  }
  await sleep(QUIET_MS / 2);
  assert.equal(requestsAt('/pending-disabled').length, 0, 'the disabled endpoint received nothing');
  assert.equal(requestsAt('/pending-deleted').length, 0, 'the deleted endpoint received nothing');
  assert.equal(requestsAt('/pending-control').length, 3, 'the control endpoint received every event');

  assertProblem(
    await api.request('GET', `${endpointsPath(owner.id)}/${deleted.id}`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'read after delete',
  );
  assertProblem(
    await api.request('DELETE', `${endpointsPath(owner.id)}/${deleted.id}`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'second delete',
  );
  const list = (await api.request('GET', endpointsPath(owner.id), { key: owner.api_key })).json();
  assert.ok(!list.data.some((e) => e.id === deleted.id), 'the list no longer has the deleted endpoint');
});

test('secret rotation signs with both secrets', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('eprot'));
  const original = newSecret();
  const endpoint = await createEndpoint(owner.id, owner.api_key, {
    url: receiver.url('/rotation'),
    event_types: ['*'],
    secret: original,
  });
  const base = `${endpointsPath(owner.id)}/${endpoint.id}`;

  const before = Date.now();
  const res = await api.request('POST', `${base}/rotate-secret`, { key: owner.api_key });
  assert.equal(res.status, 200, `rotate: ${res.describe()}`);
  const rotated = res.json();
  assert.equal(rotated.id, endpoint.id, 'rotate response id');
  assert.match(rotated.secret, /^whsec_/, 'rotate response secret');
  assert.notEqual(rotated.secret, original, 'the new secret differs');
  const graceEnd = Date.parse(rotated.previous_expires_at);
  const graceText = `previous_expires_at ${rotated.previous_expires_at}`;
  assert.ok(graceEnd >= before + 86400 * 1000 - 2000, `${graceText} is a day ahead`);
  assert.ok(graceEnd <= Date.now() + 86400 * 1000 + 2000, `${graceText} is not more than a day ahead`);
  const read = await readEndpoint(owner.id, owner.api_key, endpoint.id);
  assert.equal(read.previous_secret_expires_at, rotated.previous_expires_at, 'the endpoint shows the grace end');
  assert.equal(rotated.previous_secret_expires_at, rotated.previous_expires_at, 'the rotation names the grace end as the endpoint read does');
  assert.equal(rotated.dropped_secret_expires_at, null, 'the first rotation drops no secret');

  const first = await api.publishAccepted(owner.id, owner.api_key, { type: 'rotation.checked', n: 1 });
  const [during] = await waitForPath('/rotation');
  assert.equal(during.headers['webhook-id'], first, 'first delivery id');
  const signatures = signaturesOf(during);
  assert.equal(signatures.length, 2, `two signatures during the grace period: ${during.headers['webhook-signature']}`);
  assert.ok(signatures.includes(sign(rotated.secret, during)), 'one signature verifies with the new secret');
  assert.ok(signatures.includes(sign(original, during)), 'one signature verifies with the old secret');

  const chosen = newSecret();
  const immediate = await api.request('POST', `${base}/rotate-secret`, {
    key: owner.api_key,
    json: { grace_period_s: 0, secret: chosen },
  });
  assert.equal(immediate.status, 200, `rotate without grace: ${immediate.describe()}`);
  assert.equal(immediate.json().secret, chosen, 'a given secret is used');
  assert.equal(
    immediate.json().dropped_secret_expires_at,
    rotated.previous_expires_at,
    'a rotation within the grace period names the secret it drops',
  );
  const second = await api.publishAccepted(owner.id, owner.api_key, { type: 'rotation.checked', n: 2 });
  const [, after] = await waitForPath('/rotation', 2);
  assert.equal(after.headers['webhook-id'], second, 'second delivery id');
  assert.deepEqual(signaturesOf(after), [sign(chosen, after)], 'only the new signature without grace');

  const minute = await api.request('POST', `${base}/rotate-secret`, { key: owner.api_key, json: { grace_period_s: 60 } });
  assert.equal(minute.status, 200, `rotate with a minute of grace: ${minute.describe()}`);
  assert.equal(minute.json().dropped_secret_expires_at, null, 'a secret whose grace ended is not dropped early');
  const minuteEnd = Date.parse(minute.json().previous_expires_at);
  assert.ok(Math.abs(minuteEnd - Date.now() - 60000) < 3000, 'grace_period_s sets the grace end');

  for (const [label, json] of [
    ['negative grace', { grace_period_s: -1 }],
    ['grace above 30 days', { grace_period_s: 30 * 86400 + 1 }],
    ['grace string', { grace_period_s: '60' }],
    ['invalid secret', { secret: 'not-a-secret' }],
  ]) {
    assertProblem(await api.request('POST', `${base}/rotate-secret`, { key: owner.api_key, json }), 422, 'VALIDATION_ERROR', label);
  }

  // A chosen secret that is already the current one would rotate nothing;
  // the previous secret may come back.
  const chosenA = `whsec_${crypto.randomBytes(32).toString('base64')}`;
  const chosenB = `whsec_${crypto.randomBytes(32).toString('base64')}`;
  const rotate = (secret) => api.request('POST', `${base}/rotate-secret`, { key: owner.api_key, json: { secret } });
  const toA = await rotate(chosenA);
  assert.equal(toA.status, 200, `rotate to a chosen secret: ${toA.describe()}`);
  const same = await rotate(chosenA);
  assertProblem(same, 409, 'CONFLICT', 'rotate to the current secret');
  assert.match(same.json().detail, /is the current secret/, 'the detail names the reason');
  assert.ok(!same.text.includes(chosenA.slice(6)), 'the detail does not repeat the secret');
  const toB = await rotate(chosenB);
  assert.equal(toB.status, 200, `rotate to another secret: ${toB.describe()}`);
  const back = await rotate(chosenA);
  assert.equal(back.status, 200, `rotate back to the previous secret: ${back.describe()}`);
  assert.equal(back.json().secret, chosenA, 'the previous secret is current again');
  // Rotations that read the same current secret: Redis pauses their writes
  // until all have read it, so only one may replace it. The others would
  // get a secret that was replaced at once, so they get 409. The admin key
  // is checked with a read (EXISTS), which the pause lets through, while an
  // API key's check is a script and would wait for the pause too.
  await redisCli(harness.redisPort, ['CLIENT', 'PAUSE', '10000', 'WRITE']);
  let racing;
  try {
    const pending = [0, 1, 2, 3].map(
      (i) => api.request('POST', `${base}/rotate-secret`, { key: ADMIN_KEY, json: i % 2 ? {} : { secret: null } }),
    );
    await sleep(scaled(1500));
    await redisCli(harness.redisPort, ['CLIENT', 'UNPAUSE']);
    racing = await Promise.all(pending);
  } finally {
    await redisCli(harness.redisPort, ['CLIENT', 'UNPAUSE']);
  }
  // Requests on one gateway thread share its Redis connection, so a later
  // one reads only after an earlier one wrote and may win too. Requests on
  // different threads read the same secret, and only one of them wins.
  const won = racing.filter((r) => r.status === 200);
  assert.ok(won.length >= 1, `a racing rotation wins: ${racing.map((r) => r.status)}`);
  assert.ok(won.length < racing.length, `a racing rotation loses: ${racing.map((r) => r.status)}`);
  for (const lost of racing.filter((r) => r.status !== 200)) {
    assertProblem(lost, 409, 'CONFLICT', 'a racing rotation');
    assert.match(lost.json().detail, /changed during this rotation/, 'the detail says why');
  }

  assertProblem(
    await api.request('POST', `${endpointsPath(owner.id)}/ep_00000000000000000000000000/rotate-secret`, {
      key: owner.api_key,
    }),
    404,
    'NOT_FOUND',
    'rotate a missing endpoint',
  );
});

test('test event sends catalog example', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('eptest'));
  const target = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-target'), event_types: ['nothing.*'] });
  const bystander = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-bystander'), event_types: ['*'] });
  const base = `${endpointsPath(owner.id)}/${target.id}/test`;
  // A test event's example carries the event's own id and time, so that
  // receivers do not drop the next test event as a duplicate.
  const example = async (type, accepted) => {
    const doc = (await api.request('GET', `/api/v1/event-types/${type}`)).json().example;
    const event = await api.getEvent(owner.id, owner.api_key, accepted.event_id);
    return { ...doc, id: accepted.event_id, created_at: event.received_at };
  };

  const res = await api.request('POST', base, { key: owner.api_key });
  assert.equal(res.status, 202, `test without body: ${res.describe()}`);
  const accepted = res.json();
  assert.match(accepted.event_id, /^evt_[0-9A-Z]{26}$/, 'event_id');
  assert.equal(accepted.delivery_id, `dlv_${accepted.event_id.slice(4)}_0`, 'delivery_id');
  assert.equal(accepted.endpoint_id, target.id, 'endpoint_id');
  assert.equal(accepted.type, 'booking.created', 'default type');
  assert.equal(accepted.test, true, 'test flag in the response');

  const [request] = await waitForPath('/test-target');
  assert.equal(request.headers['webhook-id'], accepted.event_id, 'webhook-id of the test event');
  assert.deepEqual(JSON.parse(request.body), await example('booking.created', accepted), 'the body is the booking.created example');
  assert.deepEqual(signaturesOf(request), [sign(target.secret, request)], 'the test event is signed');

  const event = await api.getEvent(owner.id, owner.api_key, accepted.event_id);
  assert.equal(event.type, 'booking.created', 'event type');
  assert.deepEqual(event.deliveries.map((d) => d.endpoint_id), [target.id], 'only the target endpoint gets a delivery');
  assert.equal(event.deliveries[0].test, true, 'the delivery is marked test');

  const typed = await api.request('POST', base, { key: owner.api_key, json: { type: 'payment.failed' } });
  assert.equal(typed.status, 202, `test with a type: ${typed.describe()}`);
  assert.equal(typed.json().type, 'payment.failed', 'type of the second test');
  const [, second] = await waitForPath('/test-target', 2);
  assert.deepEqual(JSON.parse(second.body), await example('payment.failed', typed.json()), 'the body is the payment.failed example');
  assert.notEqual(JSON.parse(second.body).id, JSON.parse(request.body).id, 'each test event has its own body id');

  const payload = { type: 'partner.ping', id: 'evt_custom1', data: { hello: 'world' } };
  const custom = await api.request('POST', base, { key: owner.api_key, json: { payload } });
  assert.equal(custom.status, 202, `test with a payload: ${custom.describe()}`);
  assert.equal(custom.json().type, 'partner.ping', 'type from the payload');
  const [, , third] = await waitForPath('/test-target', 3);
  assert.deepEqual(JSON.parse(third.body), payload, 'the body is the given payload');
  assert.deepEqual(signaturesOf(third), [sign(target.secret, third)], 'the payload test is signed');

  await sleep(QUIET_MS / 2);
  assert.equal(requestsAt('/test-bystander').length, 0, 'another endpoint subscribed to every type got nothing');
  const delivery = await api.getDelivery(owner.id, owner.api_key, accepted.delivery_id);
  assert.equal(delivery.test, true, 'the delivery detail is marked test');
  assert.ok(bystander.id, 'bystander endpoint exists');

  const ordinaryId = await api.publishAccepted(owner.id, owner.api_key, { type: 'ordinary.event' });
  const ordinary = await api.getEvent(owner.id, owner.api_key, ordinaryId);
  assert.equal(ordinary.deliveries[0].test, false, 'a published delivery is not marked test');
  assert.equal(event.test, true, 'the test event detail is marked test');
  assert.equal(ordinary.test, false, 'a published event detail is not marked test');
});

test('test event rejects bad requests', async () => {
  const owner = await api.createIntegration(uniqueId('eptestbad'));
  const reader = await api.request('POST', `/api/v1/integrations/${owner.id}/keys`, {
    key: owner.api_key,
    json: { scopes: ['read'] },
  });
  const target = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-bad'), event_types: ['*'] });
  const base = `${endpointsPath(owner.id)}/${target.id}/test`;
  const cases = [
    ['type without example', { type: 'unknown.type' }],
    ['invalid type', { type: 'bad type' }],
    ['payload number', { payload: 5 }],
    ['payload without type', { payload: { data: {} } }],
    ['type differs from payload type', { type: 'a.b', payload: { type: 'c.d' } }, /"type" is a\.b but the payload's "type" is c\.d/],
  ];
  for (const [label, json, detail] of cases) {
    const res = await api.request('POST', base, { key: owner.api_key, json });
    assertProblem(res, 422, 'VALIDATION_ERROR', label);
    if (detail) assert.match(res.json().detail, detail, `detail of ${label}`);
  }
  assertProblem(await api.request('POST', base, { key: reader.json().key }), 403, 'FORBIDDEN', 'read-only key');

  await api.request('POST', `${endpointsPath(owner.id)}/${target.id}/disable`, { key: owner.api_key });
  assertProblem(await api.request('POST', base, { key: owner.api_key }), 404, 'NOT_FOUND', 'disabled endpoint');
  assertProblem(
    await api.request('POST', `${endpointsPath(owner.id)}/ep_00000000000000000000000000/test`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'missing endpoint',
  );
  assertProblem(
    await api.request('POST', `${endpointsPath(owner.id)}/nope/test`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'malformed endpoint id',
  );
  await sleep(QUIET_MS / 2);
  assert.equal(requestsAt('/test-bad').length, 0, 'rejected tests send nothing');
});

test('endpoint changes are audited', async () => {
  const owner = await api.createIntegration(uniqueId('epaudit'));
  const keys = (await api.request('GET', `/api/v1/integrations/${owner.id}/keys`, { key: owner.api_key })).json();
  const actor = `key:${keys.data[0].id}`;
  const endpoint = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/audit'), event_types: ['*'] });
  const base = `${endpointsPath(owner.id)}/${endpoint.id}`;
  const steps = [
    ['PATCH', base, { description: 'audited' }, 'endpoint.update'],
    ['POST', `${base}/disable`, undefined, 'endpoint.disable'],
    ['POST', `${base}/enable`, undefined, 'endpoint.enable'],
    ['POST', `${base}/rotate-secret`, { grace_period_s: 0 }, 'endpoint.rotate_secret'],
    ['POST', `${base}/test`, undefined, 'endpoint.test'],
    ['DELETE', base, undefined, 'endpoint.delete'],
  ];
  const expected = [{ action: 'endpoint.create', request_id: null }];
  for (const [method, urlPath, json, action] of steps) {
    const requestId = `it-${crypto.randomBytes(6).toString('hex')}`;
    const res = await api.request(method, urlPath, { key: owner.api_key, json, headers: { 'X-Request-Id': requestId } });
    assert.ok(res.status < 300, `${method} ${urlPath}: ${res.describe()}`);
    expected.push({ action, request_id: requestId });
  }

  const records = await waitFor(
    async () => {
      const res = await api.request('GET', `/api/v1/integrations/${owner.id}/audit?action=endpoint.`, {
        key: owner.api_key,
      });
      const data = res.json().data;
      return data.length >= expected.length ? data : null;
    },
    { timeoutMs: 5000, description: 'every endpoint audit record' },
  );
  const oldestFirst = [...records].reverse();
  assert.equal(oldestFirst.length, expected.length, 'one record per change');
  for (let i = 0; i < expected.length; i++) {
    const record = oldestFirst[i];
    assert.equal(record.target, endpoint.id, `record ${i} (${record.action}) target`);
    if (expected[i].action !== 'endpoint.test') {
      assert.equal(record.actor, actor, `record ${i} (${record.action}) actor`);
    }
    assert.equal(record.integration_id, owner.id, `record ${i} (${record.action}) integration_id`);
    if (expected[i].request_id) {
      assert.equal(record.request_id, expected[i].request_id, `record ${i} (${record.action}) request_id`);
    }
  }
  const rotateRecords = await api.request('GET', `/api/v1/integrations/${owner.id}/audit?action=endpoint.rotate`, {
    key: owner.api_key,
  });
  assert.deepEqual(
    rotateRecords.json().data.map((r) => r.action),
    ['endpoint.rotate_secret'],
    'the action prefix filter',
  );
  const byAdmin = await api.request('GET', `/api/v1/integrations/${owner.id}/audit`, { key: ADMIN_KEY });
  assert.equal(byAdmin.status, 200, `the admin reads an integration's audit: ${byAdmin.describe()}`);
  assert.deepEqual(
    oldestFirst.map((r) => r.action),
    expected.map((e) => e.action),
    'audit actions in order',
  );
});

test('test event audit names the key', async () => {
  const owner = await api.createIntegration(uniqueId('eptestaudit'));
  const keys = (await api.request('GET', `/api/v1/integrations/${owner.id}/keys`, { key: owner.api_key })).json();
  const endpoint = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-audit'), event_types: ['*'] });
  const res = await api.request('POST', `${endpointsPath(owner.id)}/${endpoint.id}/test`, { key: owner.api_key });
  assert.equal(res.status, 202, `test event: ${res.describe()}`);

  const record = await waitFor(
    async () => {
      const list = await api.request('GET', `/api/v1/integrations/${owner.id}/audit?action=endpoint.test`, {
        key: owner.api_key,
      });
      return list.json().data[0];
    },
    { timeoutMs: 5000, description: 'the endpoint.test audit record' },
  );
  assert.equal(record.target, endpoint.id, 'endpoint.test target');
  assert.equal(record.details.event_id, res.json().event_id, 'endpoint.test details name the event');
  assert.equal(record.actor, `key:${keys.data[0].id}`, 'endpoint.test actor is the key id');
});

test('test event after enable is accepted', { timeout: scaled(20000) }, async () => {
  const owner = await api.createIntegration(uniqueId('eptestagain'));
  const endpoint = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-again'), event_types: ['none.*'] });
  const base = `${endpointsPath(owner.id)}/${endpoint.id}`;

  const disabled = await api.request('POST', `${base}/disable`, { key: owner.api_key });
  assert.ok(disabled.status < 300, `disable: ${disabled.describe()}`);
  assertProblem(await api.request('POST', `${base}/test`, { key: owner.api_key }), 404, 'NOT_FOUND', 'test while disabled');

  const enabled = await api.request('POST', `${base}/enable`, { key: owner.api_key });
  assert.ok(enabled.status < 300, `enable: ${enabled.describe()}`);
  const res = await api.request('POST', `${base}/test`, { key: owner.api_key });
  assert.equal(res.status, 202, `test after enable: ${res.describe()}`);
  const [request] = await waitForPath('/test-again');
  assert.equal(request.headers['webhook-id'], res.json().event_id, 'the enabled endpoint receives the test event');
});

test('test event to new endpoint is accepted', { timeout: scaled(20000) }, async () => {
  const owner = await api.createIntegration(uniqueId('eptestnew'));
  await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-first'), event_types: ['none.*'] });
  // A publish makes the gateway cache the integration's endpoint list.
  await api.publishAccepted(owner.id, owner.api_key, { type: 'cache.filled' });

  const endpoint = await createEndpoint(owner.id, owner.api_key, { url: receiver.url('/test-new'), event_types: ['none.*'] });
  const res = await api.request('POST', `${endpointsPath(owner.id)}/${endpoint.id}/test`, { key: owner.api_key });
  assert.equal(res.status, 202, `test to an endpoint created after the cache was filled: ${res.describe()}`);
  const [request] = await waitForPath('/test-new');
  assert.equal(request.headers['webhook-id'], res.json().event_id, 'the new endpoint receives the test event');
});
