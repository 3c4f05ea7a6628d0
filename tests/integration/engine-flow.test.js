'use strict';

// The delivery engine's per-endpoint controls. The tests cover fairness
// between a hanging and a fast endpoint, the concurrency cap and the rate
// limit across two workers, the circuit breaker, automatic disabling with
// its operational event, and ordered delivery by a key in the payload.
// Each test starts the workers it needs, with its own settings, and stops
// them at its end.

const assert = require('node:assert/strict');
const http = require('node:http');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const {
  getEndpoint,
  healthKey,
  patchEndpoint,
  percentile,
  redisCommand,
  redisHash,
  setOperationalEndpoint,
  startCountingReceiver,
  waitForAllSettled,
} = require('./lib/flow');
const { scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('engine-flow');
let api;

// Time a duplicate would need to show up after a delivery settled.
const DUPLICATE_GRACE_MS = 1000;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
});

async function receiverWith(script) {
  return harness.closeLater(await startReceiver(script));
}

async function countingReceiver(script) {
  return harness.closeLater(await startCountingReceiver(script));
}

/** Starts count workers with the same settings and returns them. */
async function startWorkers(count, env) {
  const workers = [];
  for (let i = 0; i < count; i++) {
    workers.push(await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', ...env }));
  }
  return workers;
}

async function stopWorkers(workers) {
  for (const worker of workers) {
    await harness.stop(worker);
  }
}

/** Publishes one event per body, in order, and returns their ids. */
async function publishAll(id, apiKey, bodies) {
  const eventIds = [];
  for (const body of bodies) {
    eventIds.push(await api.publishAccepted(id, apiKey, body));
  }
  return eventIds;
}

/** Asserts that the receiver got each event exactly once and nothing else. */
function assertEachOnce(receiver, eventIds, label) {
  for (const eventId of eventIds) {
    assert.equal(receiver.requestsFor(eventId).length, 1, `${label}: event ${eventId} arrived exactly once`);
  }
  assert.equal(receiver.requests.length, eventIds.length, `${label}: no other request arrived`);
}

function deliveryTo(event, endpointId) {
  const delivery = event.deliveries.find((d) => d.endpoint_id === endpointId);
  assert.ok(delivery, `event ${event.id} has a delivery to endpoint ${endpointId}`);
  return delivery;
}

// ---- fairness ----------------------------------------------------------

// The hanging endpoint's timeout scales with the build, so that a fast
// delivery held up behind it stays distinguishable under a sanitizer too.
const HANG_TIMEOUT_MS = scaled(2000);
const BURST = 30;

/**
 * Publishes BURST events to an integration with a hanging and a fast
 * endpoint, and returns the publish to receipt latency of every event at
 * the fast receiver. hangSpec adds settings to the hanging endpoint.
 */
async function measureFastLatencies(label, hang, fast, hangSpec) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  const apiKey = integration.api_key;
  const hangEndpoint = await api.createEndpoint(id, apiKey, {
    url: hang.url(`/${label}`),
    event_types: ['*'],
    timeout_ms: HANG_TIMEOUT_MS,
    ...hangSpec,
  });
  const fastEndpoint = await api.createEndpoint(id, apiKey, { url: fast.url(`/${label}`), event_types: ['*'] });

  const publishedAt = new Map();
  for (let i = 0; i < BURST; i++) {
    const started = Date.now();
    const eventId = await api.publishAccepted(id, apiKey, `{"type":"fair.test","n":${i}}`);
    publishedAt.set(eventId, started);
  }
  await fast.waitForRequests(BURST, { timeoutMs: 20000 });
  await sleep(DUPLICATE_GRACE_MS);

  assertEachOnce(fast, [...publishedAt.keys()], 'fast endpoint');
  const latencies = [...publishedAt].map(([eventId, started]) => fast.requestsFor(eventId)[0].receivedAt - started);
  for (const eventId of publishedAt.keys()) {
    const event = await api.getEvent(id, apiKey, eventId);
    const delivery = deliveryTo(event, fastEndpoint.id);
    assert.equal(delivery.status, 'succeeded', `fast delivery of ${eventId}: status`);
    assert.equal(delivery.attempt_count, 1, `fast delivery of ${eventId}: attempt count`);
  }
  return { id, apiKey, hangEndpoint, eventIds: [...publishedAt.keys()], latencies };
}

function describeLatencies(latencies) {
  return `p50 ${percentile(latencies, 50)} ms, p90 ${percentile(latencies, 90)} ms, max ${Math.max(...latencies)} ms`;
}

test('fast endpoint unaffected by hanging one', { timeout: scaled(60000) }, async (t) => {
  const hang = await countingReceiver(always(200, HANG_TIMEOUT_MS + 3000));
  const fast = await receiverWith(always(200));
  const workers = await startWorkers(1, { HOOKGATE_RETRY_SCHEDULE: '30' });
  let run;
  try {
    run = await measureFastLatencies('fair', hang, fast, {});
    t.diagnostic(`fast endpoint latency with a hanging endpoint: ${describeLatencies(run.latencies)}`);
    t.diagnostic(`hanging endpoint: ${hang.requests.length} requests, at most ${hang.maxInFlight} in flight`);

    assert.ok(hang.requests.length > 0, 'the hanging endpoint got requests during the burst');
    const unanswered = hang.requests.filter((r) => r.answeredAt === null).length;
    assert.ok(unanswered > 0, 'requests to the hanging endpoint were still open when the fast ones arrived');
    const worst = Math.max(...run.latencies);
    assert.ok(
      worst < HANG_TIMEOUT_MS / 2,
      `slowest fast delivery took ${worst} ms after its publish, expected less than half the hang timeout ` +
        `(${HANG_TIMEOUT_MS / 2} ms); ${describeLatencies(run.latencies)}`,
    );
  } finally {
    if (run) {
      await patchEndpoint(api, run.id, run.apiKey, run.hangEndpoint.id, { enabled: false });
    }
    await stopWorkers(workers);
  }
});

test('endpoint cap keeps worker slots free', { timeout: scaled(60000) }, async (t) => {
  const HANG_CAP = 2;
  const MAX_INFLIGHT = 8;
  const hang = await countingReceiver(always(200, HANG_TIMEOUT_MS + 3000));
  const fast = await receiverWith(always(200));
  // Without the cap, the first read of 8 entries alone would give the
  // hanging endpoint 4 of the worker's 8 slots for the whole hang timeout.
  const workers = await startWorkers(1, { HOOKGATE_RETRY_SCHEDULE: '30', HOOKGATE_MAX_INFLIGHT: String(MAX_INFLIGHT) });
  let run;
  try {
    run = await measureFastLatencies('slots', hang, fast, { max_concurrency: HANG_CAP });
    t.diagnostic(
      `fast endpoint latency, HOOKGATE_MAX_INFLIGHT=${MAX_INFLIGHT}, hanging endpoint max_concurrency=${HANG_CAP}: ` +
        describeLatencies(run.latencies),
    );

    assert.ok(hang.requests.length > 0, 'the hanging endpoint got requests during the burst');
    assert.ok(
      hang.maxInFlight <= HANG_CAP,
      `the hanging endpoint had ${hang.maxInFlight} requests in flight, expected at most ${HANG_CAP}`,
    );
    const worst = Math.max(...run.latencies);
    assert.ok(
      worst < HANG_TIMEOUT_MS / 2,
      `slowest fast delivery took ${worst} ms after its publish, expected less than ${HANG_TIMEOUT_MS / 2} ms; ` +
        describeLatencies(run.latencies),
    );
    // A delivery deferred by the cap waits without using an attempt.
    for (const eventId of run.eventIds) {
      const event = await api.getEvent(run.id, run.apiKey, eventId);
      const delivery = deliveryTo(event, run.hangEndpoint.id);
      const sent = hang.requestsFor(eventId).length;
      assert.ok(
        delivery.attempt_count <= sent,
        `hanging delivery of ${eventId}: attempt_count ${delivery.attempt_count}, but only ${sent} request(s) were sent`,
      );
    }
  } finally {
    if (run) {
      await patchEndpoint(api, run.id, run.apiKey, run.hangEndpoint.id, { enabled: false });
    }
    await stopWorkers(workers);
  }
});

// ---- concurrency cap and rate limit across workers ----------------------

/**
 * Creates an integration with one endpoint capped at cap deliveries in
 * flight, publishes count events to it and returns { id, apiKey, eventIds }.
 */
async function publishToCapped(label, url, cap, count) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  const apiKey = integration.api_key;
  await api.createEndpoint(id, apiKey, { url, event_types: ['*'], max_concurrency: cap });
  const bodies = Array.from({ length: count }, (_, i) => `{"type":"${label}.test","n":${i}}`);
  return { id, apiKey, eventIds: await publishAll(id, apiKey, bodies) };
}

test('concurrency cap enforced across workers', { timeout: scaled(60000) }, async () => {
  const CAP = 3;
  const EVENTS = 20;
  const receiver = await countingReceiver(always(200, 500));
  const workers = await startWorkers(2, { HOOKGATE_RETRY_SCHEDULE: '1,1,1' });
  try {
    const { id, apiKey, eventIds } = await publishToCapped('cap', receiver.url(), CAP, EVENTS);
    const events = await waitForAllSettled(api, id, apiKey, eventIds, { timeoutMs: 30000 });
    await sleep(DUPLICATE_GRACE_MS);

    assert.ok(
      receiver.maxInFlight <= CAP,
      `the receiver had ${receiver.maxInFlight} requests in flight, expected at most ${CAP}`,
    );
    assert.equal(receiver.maxInFlight, CAP, 'the deliveries used every slot of the cap');
    assertEachOnce(receiver, eventIds, 'capped endpoint');
    for (const event of events) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id}: delivery status`);
      assert.equal(event.deliveries[0].attempt_count, 1, `event ${event.id}: waiting for the cap used no attempt`);
    }
    for (const worker of workers) {
      assert.ok(worker.running, `worker pid ${worker.pid} still runs`);
    }
  } finally {
    await stopWorkers(workers);
  }
});

test('manual attempts obey the cap', { timeout: scaled(60000) }, async () => {
  const receiver = await countingReceiver(always(200, 800));
  const workers = await startWorkers(1, {});
  try {
    const { id, apiKey, eventIds } = await publishToCapped('capmanual', receiver.url(), 1, 1);
    await receiver.waitForRequests(1, { timeoutMs: scaled(10000) });
    // The scheduled attempt takes the endpoint's one slot, so the
    // redelivery of the same delivery and a second event must wait for it.
    const event = await api.getEvent(id, apiKey, eventIds[0]);
    const redelivered = await api.redeliver(id, apiKey, event.deliveries[0].id);
    assert.equal(redelivered.status, 202, `redeliver: ${redelivered.describe()}`);
    const second = await api.publishAccepted(id, apiKey, { type: 'capmanual.test', n: 1 });
    await waitForAllSettled(api, id, apiKey, [eventIds[0], second], { timeoutMs: 30000 });
    await receiver.waitForRequests(3, { timeoutMs: scaled(15000) });
    await sleep(DUPLICATE_GRACE_MS);
    assert.equal(receiver.maxInFlight, 1, 'requests in flight at once with max_concurrency 1');
  } finally {
    await stopWorkers(workers);
  }
});

/** Reads hookgate_deliveries_deferred_total{reason="cap"} from a worker. */
function deferredByCap(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const line = /^hookgate_deliveries_deferred_total\{reason="cap"\} (\d+)$/m.exec(text);
        if (res.statusCode !== 200 || !line) {
          reject(new Error(`no cap deferral counter in GET /metrics (${res.statusCode}): ${text.slice(0, 200)}`));
          return;
        }
        resolve(Number(line[1]));
      });
      res.on('error', reject);
    });
    req.setTimeout(scaled(5000), () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
  });
}

// Every entry read while its endpoint is full costs a load and a trip
// through the schedule. With a backlog for one full endpoint, the worker
// reads ahead of the cap by a few entries at widening intervals, not by
// hundreds a second.
test('full endpoint read ahead sparingly', { timeout: scaled(90000) }, async (t) => {
  const CAP = 4;
  const EVENTS = 600;
  const receiver = await countingReceiver(always(200));
  const { eventIds } = await publishToCapped('readahead', receiver.url(), CAP, EVENTS);
  // A small read window keeps most of the backlog in the stream, where
  // the paced reads find it.
  const workers = await startWorkers(1, { HOOKGATE_MAX_INFLIGHT: '16' });
  try {
    await receiver.waitForRequests(EVENTS, { timeoutMs: scaled(60000) });
    const times = receiver.requests.map((r) => r.receivedAt);
    const drainS = (Math.max(...times) - Math.min(...times)) / 1000;
    const deferred = await deferredByCap(workers[0].port);
    t.diagnostic(`${deferred} cap deferrals for ${EVENTS} deliveries drained in ${drainS} s`);
    await sleep(DUPLICATE_GRACE_MS);

    assertEachOnce(receiver, eventIds, 'capped endpoint');
    assert.ok(receiver.maxInFlight <= CAP, `the receiver had ${receiver.maxInFlight} requests in flight`);
    // The first read defers 16 - CAP entries, and the probe interval takes
    // about 0.2 s to widen. After that, paced reads defer at most about 40
    // entries a second. A fixed pace of 800 a second defers most of the
    // backlog.
    const bound = 100 + 60 * drainS;
    assert.ok(deferred <= bound, `${deferred} cap deferrals in ${drainS} s; expected at most ${bound}`);
  } finally {
    await stopWorkers(workers);
  }
});

test('rate limit enforced across workers', { timeout: scaled(60000) }, async (t) => {
  const RATE = 5;
  const EVENTS = 20;
  const receiver = await receiverWith(always(200));
  const workers = await startWorkers(2, { HOOKGATE_RETRY_SCHEDULE: '1,1,1' });
  try {
    const id = uniqueId('rate');
    const integration = await api.createIntegration(id);
    const apiKey = integration.api_key;
    await api.createEndpoint(id, apiKey, { url: receiver.url(), event_types: ['*'], rate_limit: RATE });

    const eventIds = await publishAll(
      id,
      apiKey,
      Array.from({ length: EVENTS }, (_, i) => `{"type":"rate.test","n":${i}}`),
    );
    const events = await waitForAllSettled(api, id, apiKey, eventIds, { timeoutMs: 30000 });
    await sleep(DUPLICATE_GRACE_MS);

    assertEachOnce(receiver, eventIds, 'rate-limited endpoint');
    for (const event of events) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id}: delivery status`);
      assert.equal(event.deliveries[0].attempt_count, 1, `event ${event.id}: waiting for the rate limit used no attempt`);
    }

    const arrivals = receiver.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    const spreadMs = arrivals[arrivals.length - 1] - arrivals[0];
    // The bucket lets a burst of RATE through at once, then one delivery
    // every 1000 / RATE ms, so the rest take (EVENTS - RATE) / RATE seconds.
    const expectedMs = ((EVENTS - RATE) / RATE) * 1000;
    t.diagnostic(`${EVENTS} deliveries at rate_limit ${RATE} took ${spreadMs} ms from first to last (ideal ${expectedMs} ms)`);
    assert.ok(spreadMs >= expectedMs - 500, `${EVENTS} deliveries took ${spreadMs} ms, expected at least ${expectedMs - 500} ms`);
    assert.ok(spreadMs < expectedMs + scaled(2000), `${EVENTS} deliveries took ${spreadMs} ms, expected about ${expectedMs} ms`);
    // After the burst, RATE + 1 consecutive arrivals span about a second.
    // The 800 ms bound allows 20 % for timer and scheduler jitter.
    for (let i = RATE; i + RATE < arrivals.length; i++) {
      const windowMs = arrivals[i + RATE] - arrivals[i];
      const windowText = `arrivals ${i} to ${i + RATE} came within ${windowMs} ms, expected at least 800 ms at ${RATE}/s`;
      assert.ok(windowMs >= 800, windowText);
    }
  } finally {
    await stopWorkers(workers);
  }
});

// ---- circuit breaker and automatic disabling ---------------------------

test('breaker defers deliveries and probes', { timeout: scaled(60000) }, async (t) => {
  const PROBE_MS = 2000;
  let failing = true;
  const receiver = await receiverWith(() => ({ status: failing ? 500 : 200 }));
  // The long schedule keeps failed deliveries out of the way, so every
  // request after the third is a probe or a delivery the breaker released.
  const workers = await startWorkers(1, {
    HOOKGATE_RETRY_SCHEDULE: '60',
    HOOKGATE_BREAKER_FAILURES: '3',
    HOOKGATE_BREAKER_PROBE_S: String(PROBE_MS / 1000),
  });
  try {
    const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'breaker', receiver.url());
    const key = healthKey(id, endpoint.id);
    const readHealth = () => redisHash(harness.redisPort, key);
    const waitForHealth = (accept, description) =>
      waitFor(
        async () => {
          const health = await readHealth();
          return accept(health) ? health : null;
        },
        { timeoutMs: 5000, description },
      );

    const failed = await publishAll(id, apiKey, [1, 2, 3].map((n) => `{"type":"breaker.fail","n":${n}}`));
    await receiver.waitForRequests(3, { timeoutMs: 10000 });
    const opened = await waitForHealth((h) => h.state === 'open', 'the breaker to open after 3 failures');
    const openedAt = Math.max(...receiver.requests.map((r) => r.answeredAt));
    assert.equal(opened.failures, '3', 'consecutive failures counted');
    assert.equal(opened.probe_interval_ms, String(PROBE_MS), 'first probe interval');

    const queued = await publishAll(id, apiKey, [1, 2, 3, 4].map((n) => `{"type":"breaker.queued","n":${n}}`));
    await sleep(Math.max(0, openedAt + PROBE_MS - 500 - Date.now()));
    assert.equal(receiver.requests.length, 3, 'nothing was sent while the breaker was open before the probe time');
    for (const eventId of queued) {
      const delivery = (await api.getEvent(id, apiKey, eventId)).deliveries[0];
      assert.equal(delivery.status, 'pending', `queued ${eventId}: status while the breaker is open`);
      assert.equal(delivery.attempt_count, 0, `queued ${eventId}: no attempt used while the breaker is open`);
    }

    const [firstProbe] = (await receiver.waitForRequests(4, { timeoutMs: 10000 })).slice(3);
    const firstWait = firstProbe.receivedAt - openedAt;
    const firstWaitText = `first probe came ${firstWait} ms after the breaker opened, expected about ${PROBE_MS} ms`;
    t.diagnostic(`first probe ${firstWait} ms after the breaker opened`);
    assert.ok(firstWait >= PROBE_MS - 200, firstWaitText);
    assert.ok(firstWait < PROBE_MS + scaled(1500), firstWaitText);
    assert.ok(queued.includes(firstProbe.headers['webhook-id']), 'the probe is one of the queued deliveries');

    const doubled = await waitForHealth(
      (h) => h.probe_interval_ms === String(2 * PROBE_MS),
      'the probe interval to double after a failed probe',
    );
    assert.equal(doubled.state, 'open', 'the breaker stays open after a failed probe');
    await sleep(Math.max(0, firstProbe.receivedAt + 2 * PROBE_MS - 700 - Date.now()));
    assert.equal(receiver.requests.length, 4, 'only one probe was sent before the doubled interval passed');

    failing = false;
    const [secondProbe] = (await receiver.waitForRequests(5, { timeoutMs: 10000 })).slice(4);
    const secondWait = secondProbe.receivedAt - firstProbe.receivedAt;
    const secondWaitText = `second probe came ${secondWait} ms after the first, expected about ${2 * PROBE_MS} ms`;
    t.diagnostic(`second probe ${secondWait} ms after the first`);
    assert.ok(secondWait >= 2 * PROBE_MS - 200, secondWaitText);
    assert.ok(secondWait < 2 * PROBE_MS + scaled(1500), secondWaitText);

    const released = queued.filter((eventId) => eventId !== firstProbe.headers['webhook-id']);
    const releasedEvents = await waitForAllSettled(api, id, apiKey, released, { timeoutMs: 15000 });
    assert.deepEqual(await readHealth(), {}, 'a successful probe closes the breaker');
    for (const event of releasedEvents) {
      const delivery = event.deliveries[0];
      assert.equal(delivery.status, 'succeeded', `queued ${event.id}: status after the breaker closed`);
      assert.equal(delivery.attempt_count, 1, `queued ${event.id}: attempt count`);
      assert.equal(receiver.requestsFor(event.id).length, 1, `queued ${event.id} arrived once`);
    }
    // Closing the breaker must not pull a failed delivery's retry forward,
    // the failed probe's included: each waits about 60 s.
    for (const eventId of [...failed, firstProbe.headers['webhook-id']]) {
      const delivery = (await api.getEvent(id, apiKey, eventId)).deliveries[0];
      const sent = receiver.requestsFor(eventId).map((r) => new Date(r.receivedAt).toISOString());
      const state = `status ${delivery.status}, attempt_count ${delivery.attempt_count}, sent at ${sent.join(' and ')}`;
      assert.equal(delivery.status, 'failed', `failed ${eventId} waits for its scheduled retry; ${state}`);
      assert.equal(delivery.attempt_count, 1, `failed ${eventId}: attempt count; ${state}`);
      assert.equal(sent.length, 1, `failed ${eventId} was sent once; ${state}`);
    }
  } finally {
    await stopWorkers(workers);
  }
});

test('failing endpoint disabled with operational event', { timeout: scaled(60000) }, async (t) => {
  const DISABLE_AFTER_MS = 2000;
  const failingReceiver = await receiverWith(always(500));
  const opsReceiver = await receiverWith(always(200));
  const workers = await startWorkers(1, {
    HOOKGATE_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1',
    HOOKGATE_BREAKER_FAILURES: '2',
    HOOKGATE_BREAKER_PROBE_S: '1',
    HOOKGATE_DISABLE_AFTER_S: String(DISABLE_AFTER_MS / 1000),
  });
  try {
    const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'disable', failingReceiver.url(), ['order.*']);
    const ops = await api.createEndpoint(id, apiKey, { url: opsReceiver.url('/ops'), event_types: ['endpoint.disabled'] });
    const updated = await setOperationalEndpoint(api, id, ops.id);
    assert.equal(updated.operational_endpoint_id, ops.id, 'operational endpoint set');

    const eventIds = await publishAll(id, apiKey, [1, 2, 3].map((n) => `{"type":"order.failed","n":${n}}`));
    const disabled = await waitFor(async () => {
      const record = await getEndpoint(api, id, apiKey, endpoint.id);
      return record.status === 'disabled' ? record : null;
    }, { timeoutMs: 15000, description: `endpoint ${endpoint.id} to be disabled` });
    assert.equal(disabled.enabled, false, 'enabled after the automatic disabling');
    assert.equal(disabled.disabled_reason, 'failing', 'disabled_reason');

    const answered = failingReceiver.requests.map((r) => r.answeredAt).sort((a, b) => a - b);
    const failingMs = answered[answered.length - 1] - answered[0];
    t.diagnostic(`the endpoint failed for ${failingMs} ms over ${answered.length} requests before it was disabled`);
    assert.ok(
      failingMs >= DISABLE_AFTER_MS - 300,
      `the endpoint was disabled after failing for ${failingMs} ms, expected at least ${DISABLE_AFTER_MS} ms`,
    );

    for (const eventId of eventIds) {
      const delivery = (await api.getEvent(id, apiKey, eventId)).deliveries[0];
      assert.equal(delivery.status, 'dead', `event ${eventId}: delivery status`);
      assert.equal(delivery.reason, 'endpoint_disabled', `event ${eventId}: dead reason`);
    }

    const [notice] = await opsReceiver.waitForRequests(1, { timeoutMs: 10000 });
    const sentToFailing = failingReceiver.requests.length;
    await sleep(DUPLICATE_GRACE_MS + 1000);
    assert.equal(opsReceiver.requests.length, 1, 'the operational endpoint got one notice');
    assert.equal(failingReceiver.requests.length, sentToFailing, 'nothing was sent to the endpoint after it was disabled');
    assert.doesNotThrow(
      () => new Webhook(ops.secret).verify(notice.body, notice.headers),
      'the notice is signed with the operational endpoint secret',
    );
    const payload = JSON.parse(notice.body.toString('utf8'));
    assert.equal(payload.type, 'endpoint.disabled', 'notice type');
    assert.equal(payload.id, notice.headers['webhook-id'], 'the notice id is its webhook-id');
    assert.equal(payload.data.endpoint_id, endpoint.id, 'notice data.endpoint_id');
    assert.equal(payload.data.integration_id, id, 'notice data.integration_id');
    assert.equal(payload.data.reason, 'failing', 'notice data.reason');

    const noticeEvent = await api.waitForSettled(id, apiKey, payload.id, { timeoutMs: 5000 });
    assert.equal(noticeEvent.type, 'endpoint.disabled', 'the notice is stored as an event');
    assert.equal(noticeEvent.deliveries[0].endpoint_id, ops.id, 'the notice went to the operational endpoint');
    assert.equal(noticeEvent.deliveries[0].status, 'succeeded', 'notice delivery status');
  } finally {
    await stopWorkers(workers);
  }
});

// ---- ordering ------------------------------------------------------------

/** Returns the JSON body of a received request. */
function bodyOf(record) {
  return JSON.parse(record.body.toString('utf8'));
}

async function orderedIntegration(label, receiver) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  const apiKey = integration.api_key;
  const endpoint = await api.createEndpoint(id, apiKey, {
    url: receiver.url(),
    event_types: ['*'],
    ordering_key: '/data/booking_id',
  });
  assert.equal(endpoint.ordering_key, '/data/booking_id', 'ordering_key stored');
  return { id, apiKey, endpoint };
}

test('ordering key blocks only its value', { timeout: scaled(60000) }, async () => {
  // The first event of booking b1 fails twice, then succeeds.
  const receiver = await receiverWith((index, record) => {
    const body = bodyOf(record);
    const isHead = body.data.booking_id === 'b1' && body.data.n === 1;
    const earlier = receiver.requestsFor(record.headers['webhook-id']).length - 1;
    return { status: isHead && earlier < 2 ? 500 : 200 };
  });
  const workers = await startWorkers(1, { HOOKGATE_RETRY_SCHEDULE: '1,1,1' });
  try {
    const { id, apiKey } = await orderedIntegration('order', receiver);
    const [b1First, b1Second, b1Third, b2First, keyless] = await publishAll(id, apiKey, [
      '{"type":"booking.updated","data":{"booking_id":"b1","n":1}}',
      '{"type":"booking.updated","data":{"booking_id":"b1","n":2}}',
      '{"type":"booking.updated","data":{"booking_id":"b1","n":3}}',
      '{"type":"booking.updated","data":{"booking_id":"b2","n":1}}',
      '{"type":"booking.updated","data":{"n":1}}',
    ]);
    const all = [b1First, b1Second, b1Third, b2First, keyless];

    // b1#1 fails for at least a second, so b1#2 and b1#3 still wait here.
    await waitFor(() => receiver.requestsFor(b1First).length >= 1, {
      timeoutMs: 5000,
      description: 'the first attempt of b1#1',
    });
    for (const eventId of [b1Second, b1Third]) {
      const waiting = (await api.getEvent(id, apiKey, eventId)).deliveries[0];
      assert.equal(waiting.ordered, true, `event ${eventId} waiting behind b1#1 is ordered`);
      assert.equal(waiting.status, 'pending', `event ${eventId} waiting behind b1#1: status`);
      assert.equal(waiting.attempt_count, 0, `event ${eventId} waiting behind b1#1: attempt count`);
    }
    const keylessWhileWaiting = (await api.getEvent(id, apiKey, keyless)).deliveries[0];
    assert.equal(keylessWhileWaiting.ordered, false, 'the event without booking_id is unordered');

    const events = await waitForAllSettled(api, id, apiKey, all, { timeoutMs: 20000 });
    await sleep(DUPLICATE_GRACE_MS);

    const head = receiver.requestsFor(b1First);
    assert.deepEqual(head.map((r) => r.status), [500, 500, 200], 'b1#1 failed twice, then succeeded');
    for (const eventId of [b1Second, b1Third, b2First, keyless]) {
      assert.equal(receiver.requestsFor(eventId).length, 1, `event ${eventId} arrived exactly once`);
    }
    assert.equal(receiver.requests.length, 7, 'no other request arrived');

    const arrival = (eventId) => receiver.requestsFor(eventId)[0];
    assert.ok(arrival(b2First).receivedAt < head[1].receivedAt, 'b2#1 did not wait for the b1#1 retry');
    assert.ok(arrival(keyless).receivedAt < head[1].receivedAt, 'the event without booking_id did not wait for the b1#1 retry');
    assert.ok(arrival(b1Second).receivedAt >= head[2].answeredAt, 'b1#2 was sent only after b1#1 succeeded');
    assert.ok(arrival(b1Third).receivedAt >= arrival(b1Second).answeredAt, 'b1#3 was sent only after b1#2 succeeded');

    const byId = new Map(events.map((event) => [event.id, event.deliveries[0]]));
    for (const eventId of all) {
      assert.equal(byId.get(eventId).status, 'succeeded', `event ${eventId}: delivery status`);
    }
    assert.equal(byId.get(b1First).attempt_count, 3, 'b1#1 attempt count');
    for (const eventId of [b1Second, b1Third, b2First, keyless]) {
      assert.equal(byId.get(eventId).attempt_count, 1, `event ${eventId}: waiting in order used no attempt`);
    }
    for (const eventId of all) {
      assert.equal(byId.get(eventId).ordered, false, `event ${eventId}: a finished delivery no longer holds a turn`);
    }
  } finally {
    await stopWorkers(workers);
  }
});

// The gateway passes each endpoint's ordering key from its cached endpoint
// list. A change to the key bumps the list's version, so the next publish
// uses the new key.
test('ordering key change applies at once', { timeout: scaled(60000) }, async () => {
  const receiver = await receiverWith(always(200));
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'orderswitch', receiver.url());
  const body = '{"type":"booking.updated","data":{"booking_id":"d1"}}';
  const orderedOf = async (eventId) => (await api.getEvent(id, apiKey, eventId)).deliveries[0].ordered;

  const [before] = await publishAll(id, apiKey, [body]);
  assert.equal(await orderedOf(before), false, 'without an ordering key the delivery is unordered');
  await patchEndpoint(api, id, apiKey, endpoint.id, { ordering_key: '/data/booking_id' });
  const [first, second] = await publishAll(id, apiKey, [body, body]);
  assert.equal(await orderedOf(first), true, 'the first event after the change is ordered');
  assert.equal(await orderedOf(second), true, 'the second event after the change is ordered');
  await patchEndpoint(api, id, apiKey, endpoint.id, { ordering_key: null });
  const [after] = await publishAll(id, apiKey, [body]);
  assert.equal(await orderedOf(after), false, 'after removing the key the delivery is unordered');
});

test('endpoint delete empties its lanes', { timeout: scaled(30000) }, async () => {
  // No worker runs: the three deliveries of one key stay in their lane.
  const receiver = await receiverWith(always(200));
  const { id, apiKey, endpoint } = await orderedIntegration('orderdel', receiver);
  const events = await publishAll(id, apiKey, [1, 2, 3].map(
    (n) => `{"type":"booking.updated","data":{"booking_id":"e1","n":${n}}}`,
  ));
  const lanePattern = `hg:{${id}}:ep:${endpoint.id}:lane:*`;
  const lanes = await redisCommand(harness.redisPort, ['KEYS', lanePattern]);
  assert.equal(lanes.length, 1, 'one lane before the delete');

  const deleted = await api.request('DELETE', `/api/v1/integrations/${id}/endpoints/${endpoint.id}`, { key: apiKey });
  assert.equal(deleted.status, 200, `delete: ${deleted.describe()}`);
  for (const eventId of events) {
    const delivery = (await api.getEvent(id, apiKey, eventId)).deliveries[0];
    assert.equal(delivery.status, 'dead', `event ${eventId}: status`);
    assert.equal(delivery.reason, 'endpoint_deleted', `event ${eventId}: reason`);
    assert.equal(delivery.ordered, false, `event ${eventId}: no longer in a lane`);
  }
  assert.deepEqual(await redisCommand(harness.redisPort, ['KEYS', lanePattern]), [], 'the lane is gone');
});

test('dead ordered event releases the next', { timeout: scaled(60000) }, async () => {
  const receiver = await receiverWith((index, record) => ({ status: bodyOf(record).data.n === 1 ? 500 : 200 }));
  const workers = await startWorkers(1, { HOOKGATE_RETRY_SCHEDULE: '1,1' });
  try {
    const { id, apiKey } = await orderedIntegration('orderdead', receiver);
    const [head, next] = await publishAll(id, apiKey, [
      '{"type":"booking.updated","data":{"booking_id":"c1","n":1}}',
      '{"type":"booking.updated","data":{"booking_id":"c1","n":2}}',
    ]);
    const [headEvent, nextEvent] = await waitForAllSettled(api, id, apiKey, [head, next], { timeoutMs: 20000 });
    await sleep(DUPLICATE_GRACE_MS);

    assert.equal(headEvent.deliveries[0].status, 'dead', 'c1#1 delivery status');
    assert.equal(headEvent.deliveries[0].reason, 'attempts_exhausted', 'c1#1 dead reason');
    assert.equal(nextEvent.deliveries[0].status, 'succeeded', 'c1#2 delivery status');
    assert.equal(nextEvent.deliveries[0].attempt_count, 1, 'c1#2 attempt count');

    const headRequests = receiver.requestsFor(head);
    assert.equal(headRequests.length, 3, 'c1#1 was tried three times');
    const nextRequests = receiver.requestsFor(next);
    assert.equal(nextRequests.length, 1, 'c1#2 arrived once');
    assert.ok(nextRequests[0].receivedAt >= headRequests[2].answeredAt, 'c1#2 was sent only after c1#1 ended');
  } finally {
    await stopWorkers(workers);
  }
});

test('unordered deliveries run concurrently', { timeout: scaled(60000) }, async () => {
  const EVENTS = 10;
  const DELAY_MS = 500;
  const unordered = await countingReceiver(always(200, DELAY_MS));
  const ordered = await countingReceiver(always(200, DELAY_MS));
  const workers = await startWorkers(1, { HOOKGATE_RETRY_SCHEDULE: '1,1,1' });
  try {
    const plain = await createIntegrationWithEndpoint(api, 'unordered', unordered.url());
    const plainIds = await publishAll(
      plain.id,
      plain.apiKey,
      Array.from({ length: EVENTS }, (_, i) => `{"type":"booking.updated","data":{"booking_id":"d1","n":${i}}}`),
    );
    const keyed = await orderedIntegration('samekey', ordered);
    const keyedIds = await publishAll(
      keyed.id,
      keyed.apiKey,
      Array.from({ length: 4 }, (_, i) => `{"type":"booking.updated","data":{"booking_id":"d1","n":${i}}}`),
    );
    await waitForAllSettled(api, plain.id, plain.apiKey, plainIds, { timeoutMs: 20000 });
    await waitForAllSettled(api, keyed.id, keyed.apiKey, keyedIds, { timeoutMs: 20000 });

    assertEachOnce(unordered, plainIds, 'unordered endpoint');
    const arrivals = unordered.requests.map((r) => r.receivedAt);
    const spreadMs = Math.max(...arrivals) - Math.min(...arrivals);
    assert.ok(
      unordered.maxInFlight >= EVENTS / 2,
      `the unordered endpoint had at most ${unordered.maxInFlight} requests in flight, expected ${EVENTS / 2} or more`,
    );
    assert.ok(spreadMs < DELAY_MS, `the unordered deliveries arrived over ${spreadMs} ms, expected together`);

    assertEachOnce(ordered, keyedIds, 'ordered endpoint');
    assert.equal(ordered.maxInFlight, 1, 'the ordered endpoint got one request of the key at a time');
    assert.deepEqual(
      ordered.requests.map((r) => r.headers['webhook-id']),
      keyedIds,
      'events of one key arrived in publish order',
    );
  } finally {
    await stopWorkers(workers);
  }
});
