'use strict';

// Delivery through a running gateway and worker: signature, retries, the
// dead state, type filters and manual redelivery.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, assertProblem, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const { freePort, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, sequence, startReceiver } = require('./lib/receiver');

const harness = setupHarness('delivery');
let api;

// A short delivery timeout keeps the timeout test quick.
const DELIVERY_TIMEOUT_MS = 2000;
const CAPTURE_BYTES = 65536;
const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  // Two retries one second apart (three attempts in all), so a failing
  // delivery ends within a few seconds even with +20 % jitter.
  HOOKGATE_RETRY_SCHEDULE: '1,1',
  HOOKGATE_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
  HOOKGATE_RESPONSE_CAPTURE_BYTES: String(CAPTURE_BYTES),
};

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

// Time a duplicate would need to show up after a delivery settled.
const DUPLICATE_GRACE_MS = 1500;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new Api(gateway.port));
});

/**
 * Polls the first delivery of an event every 50 ms in the background and
 * keeps every state seen. stop() ends polling and returns the states, or
 * throws the error of a failed read. Polling also ends after 60 s or at the
 * first failed read, so a test that fails before stop() leaves nothing
 * running.
 */
function watchDelivery(integrationId, apiKey, eventId) {
  const states = [];
  const deadline = Date.now() + scaled(60000);
  let running = true;
  let failure = null;
  const loop = (async () => {
    while (running && Date.now() < deadline) {
      const event = await api.getEvent(integrationId, apiKey, eventId);
      if (event.deliveries.length > 0) {
        states.push(event.deliveries[0]);
      }
      await sleep(50);
    }
  })().catch((err) => {
    failure = err;
  });
  return {
    async stop() {
      running = false;
      await loop;
      if (failure) {
        throw failure;
      }
      return states;
    },
  };
}

function describeStates(states) {
  const distinct = new Set(states.map((d) => `${d.status}/${d.attempt_count}/${d.next_attempt_at}`));
  return [...distinct].join(', ');
}

async function receiverWith(script) {
  return harness.closeLater(await startReceiver(script));
}

test('publish delivered once with valid signature', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(200));
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(
    api,
    'once',
    receiver.url(),
    ['booking.*'],
  );
  const body = '{"type":"booking.created","data":{"booking_id":"bk_1","guests":2,"note":"caf\u00e9 \ud83d\ude00"}}';

  const eventId = await api.publishAccepted(id, apiKey, body);
  assert.match(eventId, /^evt_[0-9A-Z]{26}$/, 'event id format');

  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  await sleep(DUPLICATE_GRACE_MS);

  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 1, 'the receiver got the event exactly once');
  assert.equal(receiver.requests.length, 1, 'the receiver got no other request');
  const request = requests[0];
  assert.equal(request.method, 'POST', 'delivery method');
  assert.ok(request.body.equals(Buffer.from(body)), 'delivered body is byte-identical to the published body');
  assert.equal(request.headers['webhook-id'], eventId, 'webhook-id is the event id');
  assert.match(request.headers['content-type'], /^application\/json/, 'delivery content type');
  assert.doesNotThrow(
    () => new Webhook(endpoint.secret).verify(request.body, request.headers),
    'signature verifies with the endpoint secret',
  );

  assert.equal(event.id, eventId, 'event id in the event detail');
  assert.equal(event.type, 'booking.created', 'event type from the body');
  assert.equal(event.deliveries.length, 1, 'one delivery for one matching endpoint');
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(delivery.endpoint_id, endpoint.id, 'delivery endpoint');
  assert.equal(delivery.attempt_count, 1, 'attempt count');
  assert.equal(delivery.reason, null, 'no reason on a succeeded delivery');
  assert.equal(delivery.next_attempt_at, null, 'no next attempt on a succeeded delivery');
  assert.match(event.received_at, RFC3339, 'received_at format');

  const detail = await api.getDelivery(id, apiKey, delivery.id);
  assert.equal(detail.id, delivery.id, 'delivery id in the delivery detail');
  assert.equal(detail.status, 'succeeded', 'status in the delivery detail');
  assert.equal(detail.attempts.length, 1, 'one attempt recorded');
  const [attempt] = detail.attempts;
  assert.equal(attempt.attempt, 1, 'attempt number starts at 1');
  assert.equal(attempt.http_status, 200, 'attempt http_status');
  assert.equal(attempt.error_class, null, 'attempt error_class');
  assert.match(attempt.started_at, RFC3339, 'attempt started_at format');
  assert.ok(Number.isInteger(attempt.duration_ms), `attempt duration_ms ${attempt.duration_ms} is an integer`);
  assert.ok(attempt.duration_ms >= 0, `attempt duration_ms ${attempt.duration_ms} is not negative`);
  assert.equal(attempt.request_headers['webhook-id'], eventId, 'recorded webhook-id');
  assert.equal(
    attempt.request_headers['webhook-signature'],
    request.headers['webhook-signature'],
    'recorded webhook-signature is the one sent',
  );
  assert.equal(attempt.response_truncated, false, 'response_truncated');

  const payload = await api.getPayload(id, apiKey, eventId);
  assert.equal(payload.status, 200, 'payload status');
  assert.ok(payload.body.equals(Buffer.from(body)), 'stored payload is byte-identical');
});

test('retry after two failures then success', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(sequence([500, 500, 200]));
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'retry', receiver.url());
  const body = '{"type":"order.paid","amount":1250}';

  const eventId = await api.publishAccepted(id, apiKey, body);
  const watcher = watchDelivery(id, apiKey, eventId);
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  const seen = await watcher.stop();
  await sleep(DUPLICATE_GRACE_MS);

  // Between attempts the delivery is failed with the next attempt set.
  const waiting = seen.filter((d) => d.status === 'failed');
  assert.ok(waiting.length > 0, `a failed state was seen between attempts; seen: ${describeStates(seen)}`);
  for (const state of waiting) {
    assert.match(String(state.next_attempt_at), /^\d{4}-\d\d-\d\dT/, `next_attempt_at while failed: ${describeStates([state])}`);
    assert.ok(state.attempt_count >= 1, `attempt_count while failed: ${describeStates([state])}`);
  }

  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 3, 'three attempts reached the receiver');
  assert.equal(receiver.requests.length, 3, 'no request with another webhook-id');
  for (const [i, request] of requests.entries()) {
    assert.equal(request.headers['webhook-id'], eventId, `attempt ${i + 1} webhook-id`);
    assert.ok(request.body.equals(Buffer.from(body)), `attempt ${i + 1} body is byte-identical`);
    assert.doesNotThrow(
      () => new Webhook(endpoint.secret).verify(request.body, request.headers),
      `attempt ${i + 1} signature verifies`,
    );
  }
  const gaps = [requests[1].receivedAt - requests[0].receivedAt, requests[2].receivedAt - requests[1].receivedAt];
  for (const [i, gap] of gaps.entries()) {
    // One second of schedule with 20 % jitter, plus scheduler polling.
    assert.ok(gap >= 800, `retry ${i + 1} came ${gap} ms after the previous attempt, expected at least 800 ms`);
    assert.ok(gap < 1200 + scaled(800), `retry ${i + 1} came ${gap} ms after the previous attempt, expected at most about 1200 ms`);
  }

  assert.equal(event.deliveries.length, 1, 'one delivery');
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(delivery.attempt_count, 3, 'attempt count');

  const detail = await api.getDelivery(id, apiKey, delivery.id);
  assert.deepEqual(
    detail.attempts.map((a) => a.attempt),
    [1, 2, 3],
    'attempt numbers',
  );
  assert.deepEqual(
    detail.attempts.map((a) => a.http_status),
    [500, 500, 200],
    'attempt statuses',
  );
  assert.deepEqual(
    detail.attempts.map((a) => a.error_class),
    ['http_status', 'http_status', null],
    'attempt error classes',
  );
  for (const attempt of detail.attempts) {
    assert.equal(attempt.request_headers['webhook-id'], eventId, `attempt ${attempt.attempt} recorded webhook-id`);
  }
});

test('dead after attempts exhausted', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(500));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'dead', receiver.url());

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"invoice.failed"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  // A fourth attempt, if one were scheduled, would come about 1 s later.
  await sleep(DUPLICATE_GRACE_MS + 1000);

  assert.equal(receiver.requestsFor(eventId).length, 3, 'exactly three attempts reached the receiver');
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(delivery.reason, 'attempts_exhausted', 'dead reason');
  assert.equal(delivery.attempt_count, 3, 'attempt count');
  assert.equal(delivery.next_attempt_at, null, 'no next attempt');

  const detail = await api.getDelivery(id, apiKey, delivery.id);
  assert.deepEqual(
    detail.attempts.map((a) => a.http_status),
    [500, 500, 500],
    'attempt statuses',
  );
  const later = await api.getEvent(id, apiKey, eventId);
  assert.equal(later.deliveries[0].status, 'dead', 'delivery is still dead later');
  assert.equal(later.deliveries[0].attempt_count, 3, 'attempt count did not grow');
});

test('redeliver of dead delivery succeeds', { timeout: scaled(30000) }, async () => {
  let status = 500;
  const receiver = await receiverWith(() => ({ status }));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'revive', receiver.url());

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"revive.test"}');
  const dead = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  const deliveryId = dead.deliveries[0].id;
  assert.equal(dead.deliveries[0].status, 'dead', 'delivery status before the redelivery');

  status = 200;
  const res = await api.redeliver(id, apiKey, deliveryId);
  assert.equal(res.status, 202, `redeliver status: ${res.describe()}`);
  const revived = await waitFor(
    async () => {
      const d = await api.getDelivery(id, apiKey, deliveryId);
      return d.attempts.length >= 4 ? d : null;
    },
    { timeoutMs: 10000, description: `the manual attempt of ${deliveryId} to be recorded` },
  );
  assert.equal(revived.status, 'succeeded', 'delivery status after a successful redelivery');
  assert.equal(revived.reason, null, 'no dead reason after a successful redelivery');
  assert.equal(revived.attempt_count, 4, 'attempt count');
  assert.deepEqual(revived.attempts.map((a) => a.http_status), [500, 500, 500, 200], 'attempt statuses');
  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 4, 'four requests reached the receiver');
});

test('type filter routes to matching endpoint only', { timeout: scaled(30000) }, async () => {
  const payments = await receiverWith(always(200));
  const bookings = await receiverWith(always(200));
  const id = uniqueId('filter');
  const integration = await api.createIntegration(id);
  const apiKey = integration.api_key;
  await api.createEndpoint(id, apiKey, { url: payments.url('/payments'), event_types: ['payment.*'] });
  const bookingEndpoint = await api.createEndpoint(id, apiKey, {
    url: bookings.url('/bookings'),
    event_types: ['booking.*'],
  });

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"booking.created","id":"bk_7"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  await sleep(DUPLICATE_GRACE_MS);

  assert.equal(bookings.requests.length, 1, 'the booking.* endpoint got one request');
  assert.equal(bookings.requests[0].headers['webhook-id'], eventId, 'webhook-id at the booking.* endpoint');
  assert.equal(payments.requests.length, 0, 'the payment.* endpoint got nothing');
  assert.equal(event.deliveries.length, 1, 'the event has exactly one delivery');
  assert.equal(event.deliveries[0].endpoint_id, bookingEndpoint.id, 'the delivery targets the booking.* endpoint');
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status');
});

test('redeliver keeps the webhook-id', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(200));
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'redeliver', receiver.url());
  const body = '{"type":"booking.cancelled","id":"bk_9"}';

  const eventId = await api.publishAccepted(id, apiKey, body);
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  const deliveryId = event.deliveries[0].id;

  const redeliveredAt = Date.now();
  const res = await api.redeliver(id, apiKey, deliveryId);
  assert.equal(res.status, 202, `redeliver status: ${res.describe()}`);

  const requests = await receiver.waitForRequests(2, { timeoutMs: 10000 });
  const delayMs = requests[1].receivedAt - redeliveredAt;
  assert.ok(delayMs < scaled(2000), `the redelivery arrived ${delayMs} ms after the request, expected at once`);
  assert.equal(requests[1].headers['webhook-id'], eventId, 'redelivery webhook-id is the event id');
  assert.equal(requests[0].headers['webhook-id'], requests[1].headers['webhook-id'], 'same webhook-id on both');
  assert.ok(requests[1].body.equals(Buffer.from(body)), 'redelivered body is byte-identical');
  assert.doesNotThrow(
    () => new Webhook(endpoint.secret).verify(requests[1].body, requests[1].headers),
    'redelivery signature verifies',
  );

  const detail = await waitFor(
    async () => {
      const d = await api.getDelivery(id, apiKey, deliveryId);
      return d.attempts.length >= 2 ? d : null;
    },
    { timeoutMs: 5000, description: `the second attempt of ${deliveryId} to be recorded` },
  );
  assert.equal(detail.attempts.length, 2, 'two attempts recorded');
  assert.equal(detail.attempts[1].attempt, 2, 'second attempt number');
  assert.equal(detail.attempts[1].http_status, 200, 'second attempt http_status');
  assert.equal(detail.status, 'succeeded', 'delivery still succeeded');
});

test('redeliver to a disabled or deleted endpoint is 409', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(200));
  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'redeliver-off', receiver.url());
  const eventId = await api.publishAccepted(id, apiKey, { type: 'booking.created' });
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  const deliveryId = event.deliveries[0].id;
  const endpointPath = `/api/v1/integrations/${id}/endpoints/${endpoint.id}`;

  const disable = await api.request('POST', `${endpointPath}/disable`, { key: apiKey });
  assert.equal(disable.status, 200, disable.describe());
  const disabled = await api.redeliver(id, apiKey, deliveryId);
  assertProblem(disabled, 409, 'CONFLICT', 'redeliver to a disabled endpoint');
  assert.match(disabled.json().detail, /is disabled; enable it/, 'disabled: detail');

  const del = await api.request('DELETE', endpointPath, { key: apiKey });
  assert.equal(del.status, 200, del.describe());
  const deleted = await api.redeliver(id, apiKey, deliveryId);
  assertProblem(deleted, 409, 'CONFLICT', 'redeliver to a deleted endpoint');
  assert.match(deleted.json().detail, /was deleted/, 'deleted: detail');
  await sleep(scaled(500));
  assert.equal(receiver.requests.length, 1, 'nothing was sent after the first delivery');
});

test('timeout recorded then retried', { timeout: scaled(30000) }, async () => {
  // The first response comes after the delivery timeout, the second at once.
  const receiver = await receiverWith((index) => ({ status: 200, delayMs: index === 0 ? DELIVERY_TIMEOUT_MS + 1500 : 0 }));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'timeout', receiver.url());

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"slow.receiver"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(delivery.attempt_count, 2, 'attempt count');

  const detail = await api.getDelivery(id, apiKey, delivery.id);
  const [first, second] = detail.attempts;
  assert.equal(first.error_class, 'timeout', 'first attempt error_class');
  assert.equal(first.http_status, null, 'first attempt http_status');
  assert.ok(
    first.duration_ms >= DELIVERY_TIMEOUT_MS - 100 && first.duration_ms < DELIVERY_TIMEOUT_MS + scaled(1000),
    `first attempt duration_ms ${first.duration_ms}, expected about ${DELIVERY_TIMEOUT_MS}`,
  );
  assert.equal(second.http_status, 200, 'second attempt http_status');
  assert.equal(second.error_class, null, 'second attempt error_class');
});

test('connection refused ends dead', { timeout: scaled(30000) }, async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await freePort();
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'refused', `http://127.0.0.1:${port}/hook`);

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"nobody.listens"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(delivery.reason, 'attempts_exhausted', 'dead reason');

  const detail = await api.getDelivery(id, apiKey, delivery.id);
  assert.equal(detail.attempts.length, 3, 'three attempts recorded');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.error_class, 'connect', `attempt ${attempt.attempt} error_class`);
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
  }
});

test('Retry-After of 429 sets the next attempt', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith((index) =>
    index === 0 ? { status: 429, headers: { 'Retry-After': '3' } } : { status: 200 },
  );
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'after', receiver.url());

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"rate.limited"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status');

  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 2, 'two attempts reached the receiver');
  const gap = requests[1].receivedAt - requests[0].receivedAt;
  // The schedule alone would retry after 0.8 to 1.2 s.
  assert.ok(gap >= 2900, `second attempt came ${gap} ms after the 429, expected at least 3000 ms`);
  assert.ok(gap < 3000 + scaled(2000), `second attempt came ${gap} ms after the 429, expected about 3000 ms`);
});

test('response capture truncated at the limit', { timeout: scaled(30000) }, async () => {
  const answer = 'y'.repeat(CAPTURE_BYTES + 30000);
  const receiver = await receiverWith(() => ({
    status: 200,
    body: answer,
    // Sent as the bytes 0xff 0xfe, which are not UTF-8.
    headers: { 'X-Receiver': 'capture-test', 'X-Not-Utf8': '\xff\xfe' },
  }));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'capture', receiver.url());

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"big.answer"}');
  const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
  const delivery = event.deliveries[0];
  assert.equal(delivery.status, 'succeeded', 'a truncated 200 answer still counts as success');

  const [attempt] = (await api.getDelivery(id, apiKey, delivery.id)).attempts;
  assert.equal(attempt.http_status, 200, 'attempt http_status');
  assert.equal(attempt.response_truncated, true, 'response_truncated');
  assert.equal(attempt.response_body, answer.slice(0, CAPTURE_BYTES), 'response_body holds the first bytes up to the limit');
  assert.equal(attempt.response_headers['x-receiver'], 'capture-test', 'response header recorded under its lower-case name');
  assert.equal(attempt.response_headers['x-not-utf8'], '[not UTF-8]', 'a value that is not UTF-8 is marked');
});

test('supplied secret signs deliveries', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(200));
  const id = uniqueId('secret');
  const integration = await api.createIntegration(id);
  const secret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
  const endpoint = await api.createEndpoint(id, integration.api_key, {
    url: receiver.url(),
    event_types: ['*'],
    secret,
  });
  assert.equal(endpoint.secret, secret, 'the endpoint keeps the supplied secret');

  const eventId = await api.publishAccepted(id, integration.api_key, '{"type":"secret.test"}');
  const [request] = await receiver.waitForRequests(1, { timeoutMs: 10000 });
  assert.equal(request.headers['webhook-id'], eventId, 'webhook-id');
  assert.doesNotThrow(() => new Webhook(secret).verify(request.body, request.headers), 'signature verifies with the supplied secret');
  const otherSecret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
  assert.throws(() => new Webhook(otherSecret).verify(request.body, request.headers), 'signature fails with another secret');
});

test('empty custom header values are sent', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(always(200));
  const id = uniqueId('emptyhdr');
  const integration = await api.createIntegration(id);
  const endpoint = await api.createEndpoint(id, integration.api_key, {
    url: receiver.url(),
    event_types: ['*'],
    headers: { 'X-Empty': '', 'X-Blank': ' \t', Accept: '', 'X-Kept': 'value', 'X-Padded': ' \t a  b \t' },
  });
  assert.equal(endpoint.headers['X-Padded'], 'a  b', 'the endpoint stores the value without surrounding whitespace');
  assert.equal(endpoint.headers['X-Blank'], '', 'a blank value is stored empty');

  const eventId = await api.publishAccepted(id, integration.api_key, '{"type":"empty.header"}');
  const [request] = await receiver.waitForRequests(1, { timeoutMs: 10000 });
  assert.equal(request.headers['x-empty'], '', 'an empty value arrives as an empty header');
  assert.equal(request.headers['x-blank'], '', 'a value of only spaces and tabs arrives empty');
  assert.equal(request.headers.accept, '', 'an empty Accept replaces the default one');
  assert.equal(request.headers['x-kept'], 'value', 'a non-empty value arrives as set');
  assert.equal(request.headers['x-padded'], 'a  b', 'surrounding whitespace is not part of the value');

  const event = await api.getEvent(id, integration.api_key, eventId);
  let attempt;
  await waitFor(async () => {
    [attempt] = (await api.getDelivery(id, integration.api_key, event.deliveries[0].id)).attempts;
    return attempt !== undefined;
  }, { timeoutMs: 10000, description: 'the attempt record' });
  assert.equal(attempt.request_headers['x-empty'], '', 'the record shows the empty value');
  assert.equal(attempt.request_headers['x-blank'], '', 'the record shows what was sent for a blank value');
  assert.equal(attempt.request_headers['x-padded'], 'a  b', 'the record shows the value as sent');
});

test('new endpoint gets the next publish', { timeout: scaled(30000) }, async () => {
  const first = await receiverWith(always(200));
  const second = await receiverWith(always(200));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'newep', first.url());

  // Parallel publishes use several connections, which the gateway spreads
  // over its threads, so every thread caches the one-endpoint list.
  const publishBatch = (label) =>
    Promise.all(Array.from({ length: 8 }, (_, i) => api.publishAccepted(id, apiKey, `{"type":"ep.${label}","n":${i}}`)));
  const earlier = await publishBatch('before');
  const added = await api.createEndpoint(id, apiKey, { url: second.url(), event_types: ['*'] });
  const later = await publishBatch('after');

  for (const eventId of earlier) {
    const event = await api.getEvent(id, apiKey, eventId);
    assert.equal(event.deliveries.length, 1, `event ${eventId} published before the new endpoint has one delivery`);
  }
  for (const eventId of later) {
    const event = await api.getEvent(id, apiKey, eventId);
    assert.equal(event.deliveries.length, 2, `event ${eventId} published after the new endpoint has two deliveries`);
    assert.ok(
      event.deliveries.some((d) => d.endpoint_id === added.id),
      `event ${eventId} has a delivery to the new endpoint`,
    );
  }
  await second.waitForRequests(later.length, { timeoutMs: 10000 });
  const seenBySecond = new Set(second.requests.map((r) => r.headers['webhook-id']));
  for (const eventId of later) {
    assert.ok(seenBySecond.has(eventId), `the new endpoint received ${eventId}`);
  }
});
