'use strict';

// Delivery workers stopped while deliveries are in flight. A worker killed
// with SIGKILL leaves pending work entries that another worker must take
// over once they are idle longer than the visibility timeout. A worker
// stopped with SIGTERM finishes what it has started.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, createIntegrationWithEndpoint } = require('./lib/api');
const { scaled, setupHarness, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const EVENT_COUNT = 20;
const RECEIVER_DELAY_MS = 1500;
const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_RETRY_SCHEDULE: '1,1,1',
  HOOKGATE_DELIVERY_TIMEOUT_MS: '2000',
  HOOKGATE_VISIBILITY_TIMEOUT_MS: '7500',
};

const harness = setupHarness('worker');
let api;
let receiver;
let takeoverWorker;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
  // Every response is late, so the first worker still has all deliveries in
  // flight when it is killed.
  receiver = harness.closeLater(await startReceiver(always(200, RECEIVER_DELAY_MS)));
});

test('killed worker work taken over by another', { timeout: scaled(90000) }, async () => {
  const first = await harness.startWorker(WORKER_ENV);
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'crash', receiver.url(), ['*']);

  const published = new Map();
  for (let i = 0; i < EVENT_COUNT; i++) {
    const body = `{"type":"crash.test","sequence":${i}}`;
    const eventId = await api.publishAccepted(id, apiKey, body);
    published.set(eventId, body);
  }

  await receiver.waitForRequests(1, { timeoutMs: 10000 });
  await harness.kill9(first);
  assert.equal(first.exitSignal, 'SIGKILL', 'the first worker died from SIGKILL');
  const answeredBeforeKill = receiver.requests.filter((r) => r.status !== null).length;
  assert.ok(
    answeredBeforeKill < EVENT_COUNT,
    `only ${answeredBeforeKill} of ${EVENT_COUNT} deliveries were answered before the kill`,
  );

  const killedAt = Date.now();
  takeoverWorker = await harness.startWorker(WORKER_ENV);

  // Visibility timeout (7.5 s), a claim pass every 1.9 s and the 1.5 s
  // response delay bound the takeover to about 11 s.
  const events = await waitFor(
    async () => {
      const all = [];
      for (const eventId of published.keys()) {
        const event = await api.getEvent(id, apiKey, eventId);
        if (!event.deliveries.every((d) => d.status === 'succeeded')) {
          return null;
        }
        all.push(event);
      }
      return all;
    },
    { timeoutMs: 45000, intervalMs: 500, description: `all ${EVENT_COUNT} deliveries to succeed after the takeover` },
  );
  const takeoverMs = Date.now() - killedAt;
  const boundMs = 7500 + 1875 + RECEIVER_DELAY_MS + scaled(3000);
  assert.ok(takeoverMs < boundMs, `all deliveries succeeded ${takeoverMs} ms after the kill, expected less than ${boundMs} ms`);

  for (const [eventId, body] of published) {
    const requests = receiver.requestsFor(eventId);
    assert.ok(requests.length >= 1, `event ${eventId} reached the receiver`);
    for (const request of requests) {
      assert.ok(request.body.equals(Buffer.from(body)), `event ${eventId}: delivered body is byte-identical`);
      assert.doesNotThrow(
        () => new Webhook(endpoint.secret).verify(request.body, request.headers),
        `event ${eventId}: signature verifies`,
      );
    }
  }
  for (const event of events) {
    assert.equal(event.deliveries.length, 1, `event ${event.id} has one delivery`);
    assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id} delivery status`);
  }
});

test('SIGTERM finishes deliveries in flight', { timeout: scaled(60000) }, async () => {
  const worker = await harness.startWorker(WORKER_ENV);
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'term', receiver.url('/term'), ['*']);
  const eventIds = [];
  for (let i = 0; i < 5; i++) {
    eventIds.push(await api.publishAccepted(id, apiKey, `{"type":"term.test","sequence":${i}}`));
  }
  const onPath = (r) => r.path === '/term';
  await receiver.waitForRequests(eventIds.length, { timeoutMs: 10000, filter: onPath });

  await harness.stop(worker);
  assert.equal(worker.exitSignal, null, 'the worker exited by itself, not by the SIGKILL that follows 5 s later');
  assert.equal(worker.exitCode, 0, 'worker exit code');

  // No worker runs now, so these states were recorded before the exit.
  for (const eventId of eventIds) {
    const event = await api.getEvent(id, apiKey, eventId);
    assert.equal(event.deliveries[0].status, 'succeeded', `event ${eventId} delivery status after the stop`);
    assert.equal(event.deliveries[0].attempt_count, 1, `event ${eventId} attempt count`);
  }
  assert.equal(receiver.requests.filter(onPath).length, eventIds.length, 'each event was sent once');
});

test('stalled worker late failures ignored', { timeout: scaled(90000) }, async () => {
  // Only the worker stopped below takes the entries.
  await harness.stop(takeoverWorker);
  // Two failures would open the breaker, which then defers deliveries
  // until the 30 s probe.
  const env = { ...WORKER_ENV, HOOKGATE_BREAKER_FAILURES: '2' };
  const stalled = await harness.startWorker(env);
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'stall', receiver.url('/stall'), ['*']);
  const onPath = (r) => r.path === '/stall';
  const eventIds = [];
  for (let i = 0; i < 3; i++) {
    eventIds.push(await api.publishAccepted(id, apiKey, `{"type":"stall.test","sequence":${i}}`));
  }
  await receiver.waitForRequests(eventIds.length, { timeoutMs: 10000, filter: onPath });

  // The receiver responds while the worker is stopped, and the worker's
  // 2 s timeout passes, so after SIGCONT it records each attempt late:
  // another worker took the entries over and delivered them meanwhile.
  process.kill(stalled.pid, 'SIGSTOP');
  let deliveries;
  try {
    await harness.startWorker(env);
    const deliveryIds = [];
    for (const eventId of eventIds) {
      deliveryIds.push((await api.getEvent(id, apiKey, eventId)).deliveries[0].id);
    }
    await waitFor(
      async () => {
        for (const deliveryId of deliveryIds) {
          if ((await api.getDelivery(id, apiKey, deliveryId)).status !== 'succeeded') return false;
        }
        return true;
      },
      { timeoutMs: scaled(30000), intervalMs: 500, description: 'the takeover to deliver every event' },
    );
    process.kill(stalled.pid, 'SIGCONT');
    deliveries = await waitFor(
      async () => {
        const all = [];
        for (const deliveryId of deliveryIds) {
          const delivery = await api.getDelivery(id, apiKey, deliveryId);
          if (delivery.attempts.length < 2) return null;
          all.push(delivery);
        }
        return all;
      },
      { timeoutMs: scaled(20000), intervalMs: 250, description: 'the stalled worker to record its late attempts' },
    );
  } finally {
    if (stalled.running) process.kill(stalled.pid, 'SIGCONT');
  }
  // Stopping flushes the stalled worker's metrics.
  await harness.stop(stalled);

  for (const delivery of deliveries) {
    assert.equal(delivery.status, 'succeeded', `delivery ${delivery.id} stays succeeded`);
  }
  const late = deliveries.flatMap((d) => d.attempts).filter((a) => a.error_class !== null);
  assert.ok(late.length >= 1, `some late attempts failed: ${JSON.stringify(deliveries.map((d) => d.attempts))}`);

  // The late failures count neither for the breaker nor in the metrics.
  const nextEvent = await api.publishAccepted(id, apiKey, '{"type":"stall.test","sequence":3}');
  const started = Date.now();
  await waitFor(async () => receiver.requestsFor(nextEvent).length > 0, {
    timeoutMs: scaled(10000),
    description: 'an event published after the late failures to arrive',
  });
  assert.ok(Date.now() - started < scaled(5000), 'the breaker did not hold the next event');
  const metrics = await api.request('GET', `/api/v1/metrics/integration/${id}?time_period=last_1h`, { key: apiKey });
  assert.equal(metrics.status, 200, metrics.describe());
  assert.equal(metrics.json().metrics.deliveries_failed, 0, 'late failures are not counted as failed deliveries');
  assert.deepEqual(metrics.json().errors_by_type, {}, 'late failures are not counted as errors');
});
