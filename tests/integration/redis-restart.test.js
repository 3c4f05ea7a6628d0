'use strict';

// Durability of accepted events across Redis restarts. Redis runs with
// appendonly yes and appendfsync always, so an event accepted with 202 is
// in the append-only file and must survive a restart from it.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, createIntegrationWithEndpoint } = require('./lib/api');
const { getReady, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const WORKER_ENV = { HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_RETRY_SCHEDULE: '1,1' };

const harness = setupHarness('redis-restart');
let api;
let gateway;
let receiver;

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
  receiver = harness.closeLater(await startReceiver(always(200)));
});

/** Waits until the gateway reports ready again after a Redis restart. */
function waitGatewayReady() {
  return waitFor(async () => (await getReady(gateway.port)) === 200, {
    timeoutMs: 15000,
    description: 'the gateway to reconnect to Redis',
  });
}

/**
 * Publishes with no worker running, restarts Redis with restart(), then
 * starts a worker and checks that the event arrives byte-identical.
 */
async function checkSurvives(label, restart) {
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, label, receiver.url(`/${label}`), ['*']);
  const body = `{"type":"durable.event","label":"${label}","data":[1,2,3]}`;
  const eventId = await api.publishAccepted(id, apiKey, body);

  await restart();
  await waitGatewayReady();

  const pending = await api.getEvent(id, apiKey, eventId);
  assert.equal(pending.deliveries.length, 1, 'one delivery after the restart');
  assert.equal(pending.deliveries[0].status, 'pending', 'delivery waits as pending while no worker runs');
  assert.equal(pending.deliveries[0].attempt_count, 0, 'no attempt yet');

  const stored = await api.getPayload(id, apiKey, eventId);
  assert.equal(stored.status, 200, `payload after the restart: ${stored.describe()}`);
  assert.ok(stored.body.equals(Buffer.from(body)), 'payload after the restart is byte-identical');

  const worker = await harness.startWorker(WORKER_ENV);
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  await harness.stop(worker);

  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 1, 'the event arrived once');
  assert.ok(requests[0].body.equals(Buffer.from(body)), 'delivered body is byte-identical');
  assert.doesNotThrow(
    () => new Webhook(endpoint.secret).verify(requests[0].body, requests[0].headers),
    'signature verifies',
  );
  assert.equal(event.deliveries.length, 1, 'one delivery');
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status');
}

test('event survives Redis stop and restart', { timeout: scaled(60000) }, async () => {
  await checkSurvives('stop', () => harness.restartRedis());
});

test('event survives Redis kill -9', { timeout: scaled(60000) }, async () => {
  await checkSurvives('kill', async () => {
    await harness.kill9(harness.redis);
    await harness.startRedis();
  });
});

test('publish while Redis is down gets 503', { timeout: scaled(60000) }, async () => {
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'down', receiver.url('/down'), ['*']);
  // A first publish fills the gateway's key and endpoint caches, so the
  // next one reaches the store step.
  await api.publishAccepted(id, apiKey, '{"type":"down.warm"}');

  await harness.stop(harness.redis);
  try {
    const res = await api.publish(id, apiKey, '{"type":"down.event"}');
    assert.equal(res.status, 503, `publish without Redis: ${res.describe()}`);
    assert.equal(res.json().code, 'UNAVAILABLE', 'problem code');
    assert.ok(res.headers['retry-after'], 'Retry-After header');

    const health = await api.request('GET', '/healthz');
    assert.equal(health.status, 200, `gateway /healthz without Redis: ${health.describe()}`);
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 503, `gateway /readyz without Redis: ${ready.describe()}`);
    assert.equal(typeof ready.json().reason, 'string', 'readiness reason');
  } finally {
    await harness.startRedis();
    await waitGatewayReady();
  }
});

test('running worker delivers after Redis restart', { timeout: scaled(60000) }, async () => {
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'live', receiver.url('/live'), ['*']);
  const worker = await harness.startWorker(WORKER_ENV);
  const before = await api.publishAccepted(id, apiKey, '{"type":"live.before"}');
  await api.waitForSettled(id, apiKey, before, { timeoutMs: 10000 });

  await harness.restartRedis();
  await waitGatewayReady();
  await waitFor(async () => (await getReady(worker.port)) === 200, {
    timeoutMs: 15000,
    description: 'the worker to reconnect to Redis',
  });

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"live.after"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  await sleep(500);
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status after the restart');
  assert.equal(receiver.requestsFor(eventId).length, 1, 'the event arrived once');
  await harness.stop(worker);
});

test('worker started before Redis becomes ready', { timeout: scaled(60000) }, async () => {
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'late', receiver.url('/late'), ['*']);
  await harness.stop(harness.redis);
  let worker;
  try {
    worker = await harness.startWorker(WORKER_ENV, { waitPath: '/healthz' });
    const workerApi = new Api(worker.port);
    try {
      const ready = await workerApi.request('GET', '/readyz');
      assert.equal(ready.status, 503, `worker /readyz without Redis: ${ready.describe()}`);
      assert.equal(typeof ready.json().reason, 'string', 'readiness reason');
    } finally {
      workerApi.close();
    }
  } finally {
    await harness.startRedis();
  }
  await waitFor(async () => (await getReady(worker.port)) === 200, {
    timeoutMs: 20000,
    description: 'the worker to become ready once Redis runs',
  });
  await waitGatewayReady();

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"late.start"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status');
  assert.equal(receiver.requestsFor(eventId).length, 1, 'the event arrived once');
  await harness.stop(worker);
});
