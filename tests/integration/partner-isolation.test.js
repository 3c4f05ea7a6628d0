'use strict';

// Isolation between integrations: the API key and the access token of one
// integration never reach the data of another, on any partner route, and
// another integration's ids are not found under one's own path.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, requestToken, uniqueId } = require('./lib/api');
const { ADMIN_KEY, setupHarness } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('partner-isolation');
let api;
// The integration whose data the other one tries to reach, with one of
// everything: endpoint, event, delivery, API key, OAuth client and job.
let victim;
// The integration whose credentials are used.
let intruder;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new CheckedApi(gateway.port));
  const receiver = harness.closeLater(await startReceiver(always(200)));
  victim = await setUpIntegration('victim', receiver.url('/victim'));
  intruder = await setUpIntegration('intruder', receiver.url('/intruder'));
});

/** Returns the body of a response that created something (201 or 202). */
function createdBody(res, what) {
  assert.ok([201, 202].includes(res.status), `${what}: ${res.describe()}`);
  return res.json();
}

async function setUpIntegration(label, url) {
  const integration = await api.createIntegration(uniqueId(label));
  const { id, api_key: key } = integration;
  const base = `/api/v1/integrations/${id}`;
  const endpoint = await api.createEndpoint(id, key, { url, event_types: ['*'] });
  const eventId = await api.publishAccepted(id, key, { type: 'isolation.checked' });
  const event = await api.waitForSettled(id, key, eventId, { timeoutMs: 15000 });

  const extraKey = createdBody(await api.request('POST', `${base}/keys`, { key, json: { scopes: ['read'] } }), 'key');
  const client = createdBody(
    await api.request('POST', `${base}/oauth-clients`, { key, json: { scopes: ['publish', 'read', 'manage'] } }),
    'OAuth client',
  );
  const job = createdBody(
    await api.request('POST', `${base}/endpoints/${endpoint.id}/recover`, {
      key,
      json: { since: new Date(Date.now() - 60000).toISOString() },
    }),
    'job',
  );

  const token = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assert.equal(token.status, 200, `token: ${token.describe()}`);
  return {
    id,
    key,
    token: token.json().access_token,
    endpointId: endpoint.id,
    eventId,
    deliveryId: event.deliveries[0].id,
    keyId: extraKey.id,
    clientId: client.client_id,
    jobId: job.id,
  };
}

/** Returns every integration route with pathId in its path and the ids of `owner`. */
function routes(pathId, owner) {
  const base = `/api/v1/integrations/${pathId}`;
  const endpoint = `${base}/endpoints/${owner.endpointId}`;
  return [
    ['GET', base],
    ['PATCH', base, { name: 'taken over' }],
    ['POST', `${base}/endpoints`, { url: 'https://hooks.example.com/x', event_types: ['*'] }],
    ['GET', `${base}/endpoints`],
    ['GET', endpoint],
    ['PATCH', endpoint, { description: 'taken over' }],
    ['DELETE', endpoint],
    ['POST', `${endpoint}/enable`],
    ['POST', `${endpoint}/disable`],
    ['POST', `${endpoint}/rotate-secret`],
    ['POST', `${endpoint}/recover`, { since: '2020-01-01T00:00:00Z' }],
    ['POST', `${endpoint}/test`],
    ['GET', `${base}/jobs/${owner.jobId}`],
    ['GET', `${base}/audit`],
    ['POST', `${base}/keys`, { scopes: ['read'] }],
    ['GET', `${base}/keys`],
    ['DELETE', `${base}/keys/${owner.keyId}`],
    ['POST', `${base}/oauth-clients`, { scopes: ['read'] }],
    ['GET', `${base}/oauth-clients`],
    ['DELETE', `${base}/oauth-clients/${owner.clientId}`],
    ['POST', `${base}/events`, { type: 'isolation.intruded' }],
    ['GET', `${base}/events`],
    ['GET', `${base}/deliveries`],
    ['GET', `${base}/events/${owner.eventId}`],
    ['GET', `${base}/events/${owner.eventId}/payload`],
    ['GET', `${base}/deliveries/${owner.deliveryId}`],
    ['POST', `${base}/deliveries/${owner.deliveryId}/redeliver`],
  ];
}

function send(method, urlPath, json, credentials) {
  return api.request(method, urlPath, { ...credentials, json });
}

/** Asserts that the victim's data is unchanged and reachable with its own key. */
async function assertVictimIntact() {
  const base = `/api/v1/integrations/${victim.id}`;
  const integration = await api.request('GET', base, { key: victim.key });
  assert.equal(integration.status, 200, 'the victim key still works');
  assert.equal(integration.json().name, victim.id, 'the victim name is unchanged');
  const endpoint = await api.request('GET', `${base}/endpoints/${victim.endpointId}`, { key: victim.key });
  assert.equal(endpoint.status, 200, 'the victim endpoint still exists');
  assert.equal(endpoint.json().enabled, true, 'the victim endpoint is still enabled');
  assert.equal(endpoint.json().previous_secret_expires_at, null, 'the victim secret was not rotated');
  const events = await api.request('GET', `${base}/events`, { key: victim.key });
  assert.deepEqual(events.json().data.map((e) => e.id), [victim.eventId], 'the victim has only its own event');
  const keys = await api.request('GET', `${base}/keys`, { key: victim.key });
  assert.equal(keys.json().data.length, 2, 'the victim has its two keys');
  assert.ok(keys.json().data.every((k) => k.revoked_at === null), 'no victim key was revoked');
  const clients = await api.request('GET', `${base}/oauth-clients`, { key: victim.key });
  assert.equal(clients.json().data.length, 1, 'the victim has its OAuth client');
  assert.equal(clients.json().data[0].revoked_at, null, 'the victim client was not revoked');
  const read = await api.request('GET', `${base}/events`, { key: victim.token });
  assert.equal(read.status, 200, 'the victim token still works');
}

for (const [label, credential] of [
  ['api key', (i) => ({ key: i.key })],
  ['access token', (i) => ({ key: i.token })],
  ['subscription key header', (i) => ({ headers: { 'Ocp-Apim-Subscription-Key': i.key } })],
]) {
  test(`${label} of another integration is 403`, async () => {
    for (const [method, urlPath, json] of routes(victim.id, victim)) {
      const res = await send(method, urlPath, json, credential(intruder));
      assertProblem(res, 403, 'FORBIDDEN', `${method} ${urlPath}`);
      assert.ok(!res.text.includes(victim.eventId), `${method} ${urlPath}: no victim event id in the response`);
    }
    await assertVictimIntact();
  });
}

test('ids of another integration are 404', async () => {
  const victimIds = [victim.endpointId, victim.eventId, victim.deliveryId, victim.keyId, victim.clientId, victim.jobId];
  // A recovery job is created without looking the endpoint up, so the
  // recover route is checked for a missing endpoint in the events tests.
  const own = routes(intruder.id, victim).filter(
    ([, urlPath]) => victimIds.some((id) => urlPath.includes(id)) && !urlPath.endsWith('/recover'),
  );
  assert.equal(own.length, 14, 'routes with an id of the victim in an intruder path');
  for (const [method, urlPath, json] of own) {
    const res = await send(method, urlPath, json, { key: intruder.key });
    assertProblem(res, 404, 'NOT_FOUND', `${method} ${urlPath}`);
  }
  await assertVictimIntact();
});

test('admin routes refuse integration keys', async () => {
  const cases = [
    ['GET', '/api/v1/integrations'],
    ['POST', '/api/v1/integrations', { id: uniqueId('intruded') }],
    ['DELETE', `/api/v1/integrations/${victim.id}`],
    ['DELETE', `/api/v1/integrations/${intruder.id}`],
    ['GET', '/api/v1/audit'],
  ];
  for (const [method, urlPath, json] of cases) {
    for (const [label, credentials] of [['key', { key: intruder.key }], ['token', { key: intruder.token }]]) {
      assertProblem(await send(method, urlPath, json, credentials), 403, 'FORBIDDEN', `${method} ${urlPath} with a ${label}`);
    }
  }
  await assertVictimIntact();
  const admin = await api.request('GET', `/api/v1/integrations/${victim.id}/events`, { key: ADMIN_KEY });
  assert.equal(admin.status, 200, 'the admin reaches every integration');
});
