'use strict';

// How the delivery worker interprets what a receiver does. Covered here:
// which statuses count as success, 3xx without following the redirect, 410
// and the webhook-delivery header, and Retry-After in every form. Then the
// error class of each network failure, response bodies far larger than the
// capture limit, the signature headers of a retry, and one event fanned out
// to endpoints that behave differently.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, uniqueId } = require('./lib/api');
const { freePort, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const {
  createSelfSignedCertificate,
  residentKiB,
  startHangingServer,
  startStreamingServer,
  startTlsReceiver,
} = require('./lib/hostile');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('signals');
let api;
let worker;

const CAPTURE_BYTES = 32768;
// Well above the duration of a normal attempt, so an attempt that only ends
// by this timeout (such as a response read to its end) shows in
// duration_ms. Attempts that should stop early must take less than half.
const DELIVERY_TIMEOUT_MS = 4000;
const EARLY_END_MS = DELIVERY_TIMEOUT_MS / 2;
const RETRY_AFTER_MAX_S = 4;
const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  // Three attempts about one second apart (the schedule adds up to 20 %
  // jitter either way), so a retry after two seconds or more can only come
  // from Retry-After.
  HOOKGATE_RETRY_SCHEDULE: '1,1',
  HOOKGATE_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
  HOOKGATE_RESPONSE_CAPTURE_BYTES: String(CAPTURE_BYTES),
  HOOKGATE_RETRY_AFTER_MAX_S: String(RETRY_AFTER_MAX_S),
};

// Time a retry that should not happen would need to show up: the schedule
// retries after at most 1.2 s.
const NO_RETRY_GRACE_MS = 1500;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  worker = await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new Api(gateway.port));
});

async function receiverWith(script) {
  return harness.closeLater(await startReceiver(script));
}

async function newIntegration(label) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  return { id, apiKey: integration.api_key };
}

function addEndpoint(integration, spec) {
  return api.createEndpoint(integration.id, integration.apiKey, { event_types: ['*'], ...spec });
}

async function getEndpoint(integration, endpointId) {
  const res = await api.request('GET', `/api/v1/integrations/${integration.id}/endpoints/${endpointId}`, {
    key: integration.apiKey,
  });
  assert.equal(res.status, 200, `GET endpoint ${endpointId}: ${res.describe()}`);
  return res.json();
}

function publish(integration, body) {
  return api.publishAccepted(integration.id, integration.apiKey, body);
}

function settled(integration, eventId, timeoutMs = 20000) {
  return api.waitForSettled(integration.id, integration.apiKey, eventId, { timeoutMs });
}

function deliveryTo(event, endpointId) {
  const delivery = event.deliveries.find((d) => d.endpoint_id === endpointId);
  assert.ok(delivery, `event ${event.id} has a delivery to ${endpointId}`);
  return delivery;
}

function attemptsOf(integration, deliveryId) {
  return api.getDelivery(integration.id, integration.apiKey, deliveryId);
}

/** Waits until the delivery of eventId to endpointId satisfies predicate, and returns it. */
function waitForDelivery(integration, eventId, endpointId, predicate, description) {
  return waitFor(
    async () => {
      const event = await api.getEvent(integration.id, integration.apiKey, eventId);
      const delivery = event.deliveries.find((d) => d.endpoint_id === endpointId);
      return delivery && predicate(delivery) ? delivery : null;
    },
    { timeoutMs: 15000, intervalMs: 50, description },
  );
}

/**
 * Polls an event every 50 ms in the background and keeps each snapshot of
 * its deliveries. stop() ends polling and returns the snapshots, or throws
 * the error of a failed read. Polling also ends after 60 s or at the first
 * failed read.
 */
function watchEvent(integration, eventId) {
  const snapshots = [];
  const deadline = Date.now() + scaled(60000);
  let running = true;
  let failure = null;
  const loop = (async () => {
    while (running && Date.now() < deadline) {
      const event = await api.getEvent(integration.id, integration.apiKey, eventId);
      snapshots.push(event.deliveries);
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
      return snapshots;
    },
  };
}

function describeStates(states) {
  return [...new Set(states.map((d) => `${d.status}/${d.attempt_count}`))].join(', ');
}

/**
 * Returns a receiver script that counts requests per path and responds with
 * routes[path](countSoFar, record), or with 404 on other paths.
 */
function byPath(routes) {
  const counts = {};
  return (index, record) => {
    const n = counts[record.path] || 0;
    counts[record.path] = n + 1;
    const route = routes[record.path];
    return route ? route(n, record) : { status: 404 };
  };
}

/**
 * Sends one event to an endpoint at url that fails every attempt, and
 * checks the common part: failed with a next attempt in between, then dead
 * with reason attempts_exhausted after three attempts, each of class
 * errorClass. Returns the delivery detail.
 */
async function expectRetriedThenDead(label, endpointSpec, errorClass) {
  const integration = await newIntegration(label);
  const endpoint = await addEndpoint(integration, endpointSpec);

  const eventId = await publish(integration, `{"type":"failure.${label}"}`);
  const watcher = watchEvent(integration, eventId);
  const event = await settled(integration, eventId, 30000);
  const states = (await watcher.stop()).map((deliveries) => deliveries[0]).filter(Boolean);

  const waiting = states.filter((d) => d.status === 'failed');
  assert.ok(waiting.length > 0, `a failed state was seen between attempts; seen: ${describeStates(states)}`);
  for (const state of waiting) {
    assert.ok(Date.parse(state.next_attempt_at) > 0, `next_attempt_at while failed: ${state.next_attempt_at}`);
  }

  const delivery = deliveryTo(event, endpoint.id);
  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(delivery.reason, 'attempts_exhausted', 'dead reason');
  assert.equal(delivery.attempt_count, 3, 'attempt count');

  const detail = await attemptsOf(integration, delivery.id);
  assert.equal(detail.attempts.length, 3, 'three attempts recorded');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.error_class, errorClass, `attempt ${attempt.attempt} error_class (message: ${attempt.error_message})`);
  }
  return { detail, endpoint, integration };
}

// ---- receiver signals ---------------------------------------------------

test('any 2xx status is success', { timeout: scaled(30000) }, async () => {
  const statuses = [200, 201, 204, 299];
  const routes = {};
  for (const status of statuses) {
    routes[`/s${status}`] = () => ({ status });
  }
  const receiver = await receiverWith(byPath(routes));
  const integration = await newIntegration('2xx');
  const endpoints = {};
  for (const status of statuses) {
    endpoints[status] = await addEndpoint(integration, { url: receiver.url(`/s${status}`) });
  }

  const eventId = await publish(integration, '{"type":"status.2xx"}');
  const event = await settled(integration, eventId);

  assert.equal(event.deliveries.length, statuses.length, 'one delivery per endpoint');
  for (const status of statuses) {
    const delivery = deliveryTo(event, endpoints[status].id);
    assert.equal(delivery.status, 'succeeded', `delivery status after ${status}`);
    assert.equal(delivery.attempt_count, 1, `attempt count after ${status}`);
    const [attempt] = (await attemptsOf(integration, delivery.id)).attempts;
    assert.equal(attempt.http_status, status, `recorded http_status for ${status}`);
    assert.equal(attempt.error_class, null, `error_class after ${status}`);
  }
  assert.equal(receiver.requests.length, statuses.length, 'each endpoint got one request');
});

test('3xx is a failure, never followed', { timeout: scaled(30000) }, async () => {
  const statuses = [301, 302, 307];
  let receiver = null;
  const routes = { '/landing': () => ({ status: 200 }) };
  for (const status of statuses) {
    routes[`/r${status}`] = () => ({ status, headers: { Location: receiver.url('/landing') } });
  }
  receiver = await receiverWith(byPath(routes));
  const integration = await newIntegration('3xx');
  const endpoints = {};
  for (const status of statuses) {
    endpoints[status] = await addEndpoint(integration, { url: receiver.url(`/r${status}`) });
  }

  const eventId = await publish(integration, '{"type":"status.3xx"}');
  const event = await settled(integration, eventId, 30000);

  for (const status of statuses) {
    const delivery = deliveryTo(event, endpoints[status].id);
    assert.equal(delivery.status, 'dead', `delivery status after ${status}`);
    assert.equal(delivery.reason, 'attempts_exhausted', `dead reason after ${status}`);
    assert.equal(delivery.attempt_count, 3, `attempt count after ${status}`);
    const detail = await attemptsOf(integration, delivery.id);
    for (const attempt of detail.attempts) {
      assert.equal(attempt.http_status, status, `attempt ${attempt.attempt} http_status for ${status}`);
      assert.equal(attempt.error_class, 'http_status', `attempt ${attempt.attempt} error_class for ${status}`);
      assert.equal(attempt.response_headers.location, receiver.url('/landing'), `recorded Location for ${status}`);
    }
  }
  const landed = receiver.requests.filter((r) => r.path === '/landing');
  assert.equal(landed.length, 0, 'the Location target got no request');
  assert.equal(receiver.requests.length, statuses.length * 3, 'three requests per redirecting endpoint');
});

test('410 disables the endpoint', { timeout: scaled(40000) }, async () => {
  // Three events: "parked" gets a 503 with Retry-After, so it waits longer
  // than the schedule would make it wait. "gone" gets a 410 after a delay.
  // "queued" is published while "gone" is in flight, and max_concurrency 1
  // keeps it pending until then.
  const ids = { parked: null, gone: null, queued: null };
  // The receiver picks its status by the event type in the body, not by
  // id, because a delivery can arrive before the publish response gives the
  // test its id.
  const receiver = await receiverWith((index, record) => {
    const { type } = JSON.parse(record.body.toString('utf8'));
    if (type === 'gone.parked') {
      return { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_MAX_S) } };
    }
    if (type === 'gone.now') {
      return { status: 410, delayMs: 700 };
    }
    return { status: 200 };
  });
  const integration = await newIntegration('gone');
  const endpoint = await addEndpoint(integration, { url: receiver.url(), max_concurrency: 1 });

  ids.parked = await publish(integration, '{"type":"gone.parked"}');
  const parked = await waitForDelivery(
    integration,
    ids.parked,
    endpoint.id,
    (d) => d.status === 'failed' && d.attempt_count === 1,
    'the parked event to wait for its retry',
  );
  const parkedUntil = Date.parse(parked.next_attempt_at);

  ids.gone = await publish(integration, '{"type":"gone.now"}');
  await receiver.waitForRequests(1, { timeoutMs: 5000, filter: (r) => r.headers['webhook-id'] === ids.gone });
  ids.queued = await publish(integration, '{"type":"gone.queued"}');
  const goneEvent = await settled(integration, ids.gone);
  const gone = deliveryTo(goneEvent, endpoint.id);
  assert.equal(gone.status, 'dead', 'status of the delivery answered with 410');
  assert.equal(gone.reason, 'gone', 'dead reason of the delivery answered with 410');
  assert.equal(gone.attempt_count, 1, 'no retry after 410');

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'disabled', 'endpoint status');
  assert.equal(record.enabled, false, 'endpoint enabled flag');
  assert.equal(record.disabled_reason, 'gone', 'endpoint disabled_reason');

  for (const name of ['parked', 'queued']) {
    const event = await settled(integration, ids[name], 5000);
    const delivery = deliveryTo(event, endpoint.id);
    assert.equal(delivery.status, 'dead', `the ${name} delivery ended with the endpoint`);
    assert.equal(delivery.reason, 'endpoint_disabled', `dead reason of the ${name} delivery`);
    assert.equal(delivery.next_attempt_at, null, `no next attempt for the ${name} delivery`);
  }
  const queued = deliveryTo(await api.getEvent(integration.id, integration.apiKey, ids.queued), endpoint.id);
  assert.equal(queued.attempt_count, 0, 'the queued delivery was never attempted');

  // Past the time the parked retry was due, it must still not have come.
  await sleep(Math.max(0, parkedUntil - Date.now()) + NO_RETRY_GRACE_MS);
  assert.equal(receiver.requestsFor(ids.parked).length, 1, 'the parked delivery got no further request');
  assert.equal(receiver.requestsFor(ids.gone).length, 1, 'the 410 delivery got one request');
  assert.equal(receiver.requestsFor(ids.queued).length, 0, 'the queued delivery got no request');
  const later = deliveryTo(await api.getEvent(integration.id, integration.apiKey, ids.parked), endpoint.id);
  assert.equal(later.attempt_count, 1, 'attempt count of the parked delivery did not grow');
});

/**
 * Returns a receiver script that responds to the first request on each
 * path with firstResponse(path, record) and to every later one with 200.
 * Stores each first response in firstAnswers[path].
 */
function firstThenSuccess(paths, firstResponse, firstAnswers) {
  const routes = {};
  for (const path of paths) {
    routes[path] = (n, record) => {
      if (n > 0) {
        return { status: 200 };
      }
      firstAnswers[path] = firstResponse(path, record);
      return firstAnswers[path];
    };
  }
  return byPath(routes);
}

/**
 * Publishes one event to an endpoint per path of the receiver and waits
 * until every delivery settles. Returns the settled event, and per path
 * the endpoint, the delivery state seen while it waited after its first
 * failed attempt, and the requests to that path.
 */
async function runFirstFailure(label, receiver, paths) {
  const integration = await newIntegration(label);
  const endpoints = {};
  for (const path of paths) {
    endpoints[path] = await addEndpoint(integration, { url: receiver.url(path) });
  }
  const eventId = await publish(integration, `{"type":"retry_after.${label}"}`);
  const waiting = {};
  for (const path of paths) {
    waiting[path] = await waitForDelivery(
      integration,
      eventId,
      endpoints[path].id,
      (d) => d.status === 'failed' && d.attempt_count === 1,
      `the delivery to ${path} to wait after its first attempt`,
    );
  }
  const event = await settled(integration, eventId);
  const requests = {};
  for (const path of paths) {
    requests[path] = receiver.requests.filter((r) => r.path === path);
  }
  return { event, endpoints, waiting, requests };
}

test('Retry-After in seconds on 429 and 503', { timeout: scaled(30000) }, async () => {
  const firstAnswers = {};
  const receiver = await receiverWith(
    firstThenSuccess(['/429', '/503'], (path) => ({ status: Number(path.slice(1)), headers: { 'Retry-After': '2' } }), firstAnswers),
  );
  const { event, endpoints, waiting, requests } = await runFirstFailure('delta', receiver, ['/429', '/503']);

  for (const path of ['/429', '/503']) {
    assert.equal(deliveryTo(event, endpoints[path].id).status, 'succeeded', `delivery status after ${path}`);
    assert.equal(requests[path].length, 2, `two requests to ${path}`);
    const planned = Date.parse(waiting[path].next_attempt_at) - requests[path][0].answeredAt;
    assert.ok(planned >= 1950, `next_attempt_at is ${planned} ms after the ${path.slice(1)}, expected at least 2000`);
    // Retry-After replaces the schedule's wait without jitter.
    assert.ok(planned < 2000 + scaled(150), `next_attempt_at is ${planned} ms after the ${path.slice(1)}, expected about 2000`);
    const gap = requests[path][1].receivedAt - requests[path][0].answeredAt;
    assert.ok(gap >= 1950, `retry after the ${path.slice(1)} came ${gap} ms later, expected at least 2000`);
    assert.ok(gap < 2000 + scaled(1000), `retry after the ${path.slice(1)} came ${gap} ms later, expected about 2000`);
  }
});

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n) {
  return String(n).padStart(2, '0');
}

function clockOf(d) {
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** The three HTTP-date forms of RFC 9110, section 5.6.7. */
const HTTP_DATE_FORMS = {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  imf: (d) => d.toUTCString(),
  // "Sunday, 06-Nov-94 08:49:37 GMT"
  rfc850: (d) =>
    `${WEEKDAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-` +
    `${pad2(d.getUTCFullYear() % 100)} ${clockOf(d)} GMT`,
  // "Sun Nov  6 08:49:37 1994"
  asctime: (d) =>
    `${WEEKDAYS[d.getUTCDay()].slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ` +
    `${String(d.getUTCDate()).padStart(2, ' ')} ${clockOf(d)} ${d.getUTCFullYear()}`,
};

test('Retry-After as an HTTP date', { timeout: scaled(30000) }, async () => {
  const forms = Object.keys(HTTP_DATE_FORMS);
  const paths = forms.map((form) => `/${form}`);
  const firstAnswers = {};
  const receiver = await receiverWith(
    firstThenSuccess(
      paths,
      (path) => {
        // Whole seconds, as HTTP dates have no fraction: 2 to 3 s ahead.
        const dueSeconds = Math.floor(Date.now() / 1000) + 3;
        const value = HTTP_DATE_FORMS[path.slice(1)](new Date(dueSeconds * 1000));
        return { status: 503, headers: { 'Retry-After': value }, dueMs: dueSeconds * 1000, value };
      },
      firstAnswers,
    ),
  );
  const { event, endpoints, waiting, requests } = await runFirstFailure('date', receiver, paths);

  for (const path of paths) {
    const { dueMs, value } = firstAnswers[path];
    const label = `Retry-After "${value}"`;
    assert.equal(deliveryTo(event, endpoints[path].id).status, 'succeeded', `delivery status after ${label}`);
    assert.equal(requests[path].length, 2, `two requests after ${label}`);
    // The worker counts from the current whole second, so the retry may
    // be planned up to one second after the date.
    const planned = Date.parse(waiting[path].next_attempt_at);
    assert.ok(planned >= dueMs, `next_attempt_at ${waiting[path].next_attempt_at} is before ${label}`);
    assert.ok(planned < dueMs + 1000, `next_attempt_at ${waiting[path].next_attempt_at} is over 1 s after ${label}`);
    const arrived = requests[path][1].receivedAt;
    assert.ok(arrived >= dueMs, `retry came ${dueMs - arrived} ms before ${label}`);
    assert.ok(arrived < dueMs + 1000 + scaled(1000), `retry came ${arrived - dueMs} ms after ${label}`);
  }
});

test('Retry-After above the maximum is capped', { timeout: scaled(30000) }, async () => {
  const firstAnswers = {};
  const receiver = await receiverWith(
    firstThenSuccess(['/429'], () => ({ status: 429, headers: { 'Retry-After': '3600' } }), firstAnswers),
  );
  const { event, endpoints, waiting, requests } = await runFirstFailure('cap', receiver, ['/429']);

  const maxMs = RETRY_AFTER_MAX_S * 1000;
  assert.equal(deliveryTo(event, endpoints['/429'].id).status, 'succeeded', 'delivery status');
  const planned = Date.parse(waiting['/429'].next_attempt_at) - requests['/429'][0].answeredAt;
  assert.ok(planned >= maxMs - 50, `next_attempt_at is ${planned} ms after the 429, expected at least ${maxMs}`);
  assert.ok(planned < maxMs + scaled(150), `next_attempt_at is ${planned} ms after the 429, expected about ${maxMs}`);
  const gap = requests['/429'][1].receivedAt - requests['/429'][0].answeredAt;
  assert.ok(gap >= maxMs - 50, `retry came ${gap} ms after the 429, expected at least ${maxMs}`);
  assert.ok(gap < maxMs + scaled(1000), `retry came ${gap} ms after the 429, expected about ${maxMs}`);
});

test('Retry-After falls back to the schedule', { timeout: scaled(30000) }, async () => {
  // 0 and past dates keep the schedule, values that do not parse are
  // ignored, and so is Retry-After on statuses other than 429 and 503.
  const responses = {
    '/zero': { status: 503, headers: { 'Retry-After': '0' } },
    '/past': { status: 429, headers: { 'Retry-After': new Date(Date.now() - 60000).toUTCString() } },
    '/invalid': { status: 503, headers: { 'Retry-After': 'soon' } },
    '/on500': { status: 500, headers: { 'Retry-After': '3' } },
  };
  const paths = Object.keys(responses);
  const receiver = await receiverWith(firstThenSuccess(paths, (path) => responses[path], {}));
  const { event, endpoints, requests } = await runFirstFailure('fallback', receiver, paths);

  for (const path of paths) {
    const { status, headers } = responses[path];
    const label = `${status} with Retry-After "${headers['Retry-After']}"`;
    assert.equal(deliveryTo(event, endpoints[path].id).status, 'succeeded', `delivery status after ${label}`);
    const gap = requests[path][1].receivedAt - requests[path][0].answeredAt;
    // One second of schedule with up to 20 % jitter, not at once.
    assert.ok(gap >= 750, `retry came ${gap} ms after ${label}, expected the schedule's 800 ms or more`);
    assert.ok(gap < 1200 + scaled(800), `retry came ${gap} ms after ${label}, expected about 1000 ms`);
  }
});

test('abort-message ends only that message', { timeout: scaled(30000) }, async () => {
  let abortedId = null;
  // Chosen by the event type: the delivery can arrive before the publish
  // response gives the test the event id.
  const receiver = await receiverWith((index, record) =>
    JSON.parse(record.body.toString('utf8')).type === 'abort.me'
      ? { status: 500, headers: { 'webhook-delivery': 'abort-message' } }
      : { status: 200 },
  );
  const integration = await newIntegration('abort');
  const endpoint = await addEndpoint(integration, { url: receiver.url() });

  abortedId = await publish(integration, '{"type":"abort.me"}');
  const aborted = deliveryTo(await settled(integration, abortedId), endpoint.id);
  assert.equal(aborted.status, 'dead', 'delivery status');
  assert.equal(aborted.reason, 'aborted_by_receiver', 'dead reason');
  assert.equal(aborted.attempt_count, 1, 'attempt count');
  const [attempt] = (await attemptsOf(integration, aborted.id)).attempts;
  assert.equal(attempt.http_status, 500, 'recorded http_status');

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'enabled', 'endpoint status');
  assert.equal(record.disabled_reason, null, 'endpoint disabled_reason');

  const nextId = await publish(integration, '{"type":"abort.next"}');
  const next = deliveryTo(await settled(integration, nextId), endpoint.id);
  assert.equal(next.status, 'succeeded', 'the next event is still delivered');

  await sleep(NO_RETRY_GRACE_MS);
  assert.equal(receiver.requestsFor(abortedId).length, 1, 'the aborted message was not retried');
});

test('disable signal on a failure', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(() => ({ status: 500, headers: { 'webhook-delivery': 'disable' } }));
  const integration = await newIntegration('disable-fail');
  const endpoint = await addEndpoint(integration, { url: receiver.url() });

  const eventId = await publish(integration, '{"type":"disable.failure"}');
  const delivery = deliveryTo(await settled(integration, eventId), endpoint.id);
  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(delivery.reason, 'disabled_by_receiver', 'dead reason');
  assert.equal(delivery.attempt_count, 1, 'attempt count');

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'disabled', 'endpoint status');
  assert.equal(record.disabled_reason, 'disabled_by_receiver', 'endpoint disabled_reason');

  await sleep(NO_RETRY_GRACE_MS);
  assert.equal(receiver.requests.length, 1, 'no retry after the disable signal');
});

test('disable signal on a success', { timeout: scaled(30000) }, async () => {
  const receiver = await receiverWith(() => ({ status: 200, headers: { 'webhook-delivery': 'disable' } }));
  const integration = await newIntegration('disable-ok');
  const endpoint = await addEndpoint(integration, { url: receiver.url() });

  const eventId = await publish(integration, '{"type":"disable.success"}');
  const delivery = deliveryTo(await settled(integration, eventId), endpoint.id);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(delivery.attempt_count, 1, 'attempt count');

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'disabled', 'endpoint status');
  assert.equal(record.enabled, false, 'endpoint enabled flag');
  assert.equal(record.disabled_reason, 'disabled_by_receiver', 'endpoint disabled_reason');
});

// ---- error classes --------------------------------------------------------

test('unused port is a connect error', { timeout: scaled(40000) }, async () => {
  // Free a moment ago, and nothing listens there now.
  const port = await freePort();
  const { detail } = await expectRetriedThenDead('connect', { url: `http://127.0.0.1:${port}/hook` }, 'connect');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
    assert.ok(attempt.error_message, `attempt ${attempt.attempt} has an error_message`);
  }
});

test('unresolvable name is a dns error', { timeout: scaled(40000) }, async () => {
  // A 64-character label is longer than DNS allows (RFC 1035, section
  // 2.3.4), so glibc fails the lookup without sending a query.
  const url = `http://${'a'.repeat(64)}.invalid/hook`;
  const { detail } = await expectRetriedThenDead('dns', { url }, 'dns');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
    assert.ok(attempt.error_message, `attempt ${attempt.attempt} has an error_message`);
  }
});

test('silent server is a timeout', { timeout: scaled(40000) }, async () => {
  const timeoutMs = 1000;
  const connectTimeoutMs = 2500;
  const server = harness.closeLater(await startHangingServer());
  const { detail, endpoint, integration } = await expectRetriedThenDead(
    'timeout',
    { url: server.url(), timeout_ms: timeoutMs, connect_timeout_ms: connectTimeoutMs },
    'timeout',
  );

  assert.equal(endpoint.timeout_ms, timeoutMs, 'timeout_ms in the created endpoint');
  assert.equal(endpoint.connect_timeout_ms, connectTimeoutMs, 'connect_timeout_ms in the created endpoint');
  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.timeout_ms, timeoutMs, 'timeout_ms read back');
  assert.equal(record.connect_timeout_ms, connectTimeoutMs, 'connect_timeout_ms read back');

  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
    assert.ok(
      attempt.duration_ms >= timeoutMs - 50,
      `attempt ${attempt.attempt} took ${attempt.duration_ms} ms, expected at least the endpoint's ${timeoutMs} ms`,
    );
    assert.ok(
      attempt.duration_ms < timeoutMs + scaled(700),
      `attempt ${attempt.attempt} took ${attempt.duration_ms} ms, expected about the endpoint's ${timeoutMs} ms`,
    );
  }
  assert.equal(server.connections.length, 3, 'one connection per attempt');
  for (const [i, connection] of server.connections.entries()) {
    assert.ok(connection.bytesReceived > 0, `connection ${i + 1} carried the request`);
  }
  await waitFor(() => server.connections.every((c) => c.closedAt !== null), {
    timeoutMs: 5000,
    description: 'the worker to close every timed-out connection',
  });
});

test('interim 100 without an answer is a timeout', { timeout: scaled(40000) }, async () => {
  const server = harness.closeLater(await startHangingServer({ greeting: 'HTTP/1.1 100 Continue\r\n\r\n' }));
  const { detail } = await expectRetriedThenDead('interim', { url: server.url(), timeout_ms: 1000 }, 'timeout');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
    assert.equal(attempt.error_class, 'timeout', `attempt ${attempt.attempt} error_class`);
  }
});

test('endpoint timeout capped by the worker', { timeout: scaled(40000) }, async () => {
  // The gateway accepts timeout_ms up to its own default of 30000 ms, but
  // the worker runs with a shorter HOOKGATE_DELIVERY_TIMEOUT_MS.
  const server = harness.closeLater(await startHangingServer());
  const integration = await newIntegration('timeout-cap');
  const endpoint = await addEndpoint(integration, { url: server.url(), timeout_ms: 20000 });
  assert.equal(endpoint.timeout_ms, 20000, 'timeout_ms in the created endpoint');
  const tooLong = await api.request('POST', `/api/v1/integrations/${integration.id}/endpoints`, {
    key: integration.apiKey,
    json: { url: server.url(), event_types: ['*'], timeout_ms: 30001 },
  });
  assert.equal(tooLong.status, 422, `timeout_ms above the gateway's maximum: ${tooLong.describe()}`);

  const eventId = await publish(integration, '{"type":"timeout.capped"}');
  const first = await waitForDelivery(
    integration,
    eventId,
    endpoint.id,
    (d) => d.attempt_count >= 1,
    'the first attempt to time out',
  );
  // Later attempts then fail at once with a refused connection.
  await server.close();

  const [attempt] = (await attemptsOf(integration, first.id)).attempts;
  assert.equal(attempt.error_class, 'timeout', `first attempt error_class (message: ${attempt.error_message})`);
  assert.ok(
    attempt.duration_ms >= DELIVERY_TIMEOUT_MS - 50,
    `first attempt took ${attempt.duration_ms} ms, expected the worker's ${DELIVERY_TIMEOUT_MS} ms`,
  );
  assert.ok(
    attempt.duration_ms < DELIVERY_TIMEOUT_MS + scaled(700),
    `first attempt took ${attempt.duration_ms} ms, expected the worker's ${DELIVERY_TIMEOUT_MS} ms, not the endpoint's 20000 ms`,
  );
  await settled(integration, eventId);
});

test('self-signed certificate is a tls error', { timeout: scaled(40000) }, async () => {
  const certificate = await createSelfSignedCertificate(harness.dir);
  const server = harness.closeLater(await startTlsReceiver(certificate));
  const { detail } = await expectRetriedThenDead('tls', { url: `https://127.0.0.1:${server.port}/hook` }, 'tls');

  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} http_status`);
    assert.ok(attempt.error_message, `attempt ${attempt.attempt} has an error_message`);
  }
  assert.ok(server.handshakes >= 3, `the TLS receiver saw ${server.handshakes} handshakes, expected one per attempt`);
  assert.equal(
    server.requests.length,
    0,
    `no HTTP request went over an unverified connection (TLS errors at the receiver: ${server.tlsErrors.join('; ')})`,
  );
});

test('500 is an http_status failure', { timeout: scaled(40000) }, async () => {
  const receiver = await receiverWith(always(500));
  const { detail } = await expectRetriedThenDead('status', { url: receiver.url() }, 'http_status');
  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, 500, `attempt ${attempt.attempt} http_status`);
  }
  assert.equal(receiver.requests.length, 3, 'three requests');
});

// ---- response capture -----------------------------------------------------

test('50 MB response is cut at the capture limit', { timeout: scaled(40000) }, async (t) => {
  const totalBytes = 50 * 1024 * 1024;
  const huge = harness.closeLater(await startStreamingServer({ status: 200, totalBytes }));
  const normal = await receiverWith(always(200));
  const integration = await newIntegration('huge');
  const hugeEndpoint = await addEndpoint(integration, { url: huge.url(), event_types: ['huge.*'] });
  const normalEndpoint = await addEndpoint(integration, { url: normal.url(), event_types: ['normal.*'] });

  const baselineKiB = residentKiB(worker.pid);
  let peakKiB = baselineKiB;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakKiB = Math.max(peakKiB, residentKiB(worker.pid));
      await sleep(20);
    }
  })();

  let hugeEvent;
  let normalEvent;
  try {
    const hugeId = await publish(integration, '{"type":"huge.answer"}');
    const normalId = await publish(integration, '{"type":"normal.answer"}');
    hugeEvent = await settled(integration, hugeId);
    normalEvent = await settled(integration, normalId);
  } finally {
    sampling = false;
    await sampler;
  }

  const delivery = deliveryTo(hugeEvent, hugeEndpoint.id);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  const [attempt] = (await attemptsOf(integration, delivery.id)).attempts;
  assert.equal(attempt.http_status, 200, 'attempt http_status');
  assert.equal(attempt.error_class, null, 'attempt error_class');
  assert.equal(attempt.response_truncated, true, 'response_truncated');
  assert.equal(attempt.response_body.length, CAPTURE_BYTES, 'stored body length is the capture limit');
  assert.ok(attempt.duration_ms < EARLY_END_MS, `attempt took ${attempt.duration_ms} ms`);

  assert.equal(huge.responses.length, 1, 'one request to the huge receiver');
  await waitFor(() => huge.responses[0].closedAt !== null, {
    timeoutMs: 5000,
    description: 'the worker to hang up on the huge response',
  });
  assert.equal(huge.responses[0].finished, false, `the worker hung up before the end (${huge.responses[0].bytesWritten} bytes written)`);

  const growthKiB = peakKiB - baselineKiB;
  t.diagnostic(`worker RSS ${baselineKiB} KiB before, peak ${peakKiB} KiB; server wrote ${huge.responses[0].bytesWritten} bytes`);
  assert.ok(growthKiB < 20 * 1024, `worker RSS grew by ${growthKiB} KiB from ${baselineKiB} KiB during the delivery`);
  assert.equal(deliveryTo(normalEvent, normalEndpoint.id).status, 'succeeded', 'the other delivery succeeded meanwhile');

  const laterId = await publish(integration, '{"type":"normal.later"}');
  const later = await settled(integration, laterId);
  assert.equal(deliveryTo(later, normalEndpoint.id).status, 'succeeded', 'a delivery after the huge one succeeded');
});

test('endless 200 response ends at the cap', { timeout: scaled(30000) }, async () => {
  const server = harness.closeLater(await startStreamingServer({ status: 200, totalBytes: Infinity }));
  const integration = await newIntegration('endless-ok');
  const endpoint = await addEndpoint(integration, { url: server.url() });

  const eventId = await publish(integration, '{"type":"endless.ok"}');
  const delivery = deliveryTo(await settled(integration, eventId), endpoint.id);
  assert.equal(delivery.status, 'succeeded', 'delivery status');

  const [attempt] = (await attemptsOf(integration, delivery.id)).attempts;
  assert.equal(attempt.http_status, 200, 'attempt http_status');
  assert.equal(attempt.error_class, null, 'attempt error_class');
  assert.equal(attempt.response_truncated, true, 'response_truncated');
  assert.equal(attempt.response_body.length, CAPTURE_BYTES, 'stored body length is the capture limit');
  assert.ok(
    attempt.duration_ms < EARLY_END_MS,
    `attempt took ${attempt.duration_ms} ms, expected far less than the ${DELIVERY_TIMEOUT_MS} ms timeout`,
  );
  await waitFor(() => server.responses[0] && server.responses[0].closedAt !== null, {
    timeoutMs: 5000,
    description: 'the worker to hang up on the endless response',
  });
});

test('endless 500 response is a failure', { timeout: scaled(40000) }, async () => {
  const server = harness.closeLater(await startStreamingServer({ status: 500, totalBytes: Infinity }));
  const { detail } = await expectRetriedThenDead('endless-fail', { url: server.url() }, 'http_status');

  for (const attempt of detail.attempts) {
    assert.equal(attempt.http_status, 500, `attempt ${attempt.attempt} http_status`);
    assert.equal(attempt.response_truncated, true, `attempt ${attempt.attempt} response_truncated`);
    assert.equal(attempt.response_body.length, CAPTURE_BYTES, `attempt ${attempt.attempt} stored body length`);
    assert.ok(
      attempt.duration_ms < EARLY_END_MS,
      `attempt ${attempt.attempt} took ${attempt.duration_ms} ms, expected far less than the ${DELIVERY_TIMEOUT_MS} ms timeout`,
    );
  }
  assert.equal(server.responses.length, 3, 'three requests');
  await waitFor(() => server.responses.every((r) => r.closedAt !== null), {
    timeoutMs: 5000,
    description: 'the worker to hang up on every endless response',
  });
});

test('stalled 2xx body is a success', { timeout: scaled(30000) }, async () => {
  // The status line decides, so a 200 whose body stops halfway succeeds,
  // and the attempt records that the response is incomplete.
  const server = harness.closeLater(await startStreamingServer({ status: 200, totalBytes: 1000, stallAfterBytes: 10 }));
  const integration = await newIntegration('stalled');
  const endpoint = await addEndpoint(integration, { url: server.url(), timeout_ms: 1000 });

  const eventId = await publish(integration, '{"type":"stalled.body"}');
  const delivery = deliveryTo(await settled(integration, eventId), endpoint.id);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(delivery.attempt_count, 1, 'attempt count');

  const [attempt] = (await attemptsOf(integration, delivery.id)).attempts;
  assert.equal(attempt.http_status, 200, 'attempt http_status');
  assert.equal(attempt.error_class, null, 'attempt error_class');
  assert.equal(attempt.response_complete, false, 'response_complete');
  assert.equal(attempt.response_truncated, false, 'response_truncated');
  assert.equal(attempt.response_body, 'z'.repeat(10), 'response_body holds the bytes that arrived');
  assert.ok(attempt.error_message, 'error_message names the network error');
  assert.ok(attempt.duration_ms >= 950, `attempt took ${attempt.duration_ms} ms, expected the endpoint's 1000 ms timeout`);
});

// ---- signatures -----------------------------------------------------------

test('retry keeps webhook-id, re-signs timestamp', { timeout: scaled(30000) }, async () => {
  const statuses = [500, 500, 200];
  const receiver = await receiverWith((index) => ({ status: statuses[Math.min(index, statuses.length - 1)] }));
  const integration = await newIntegration('resign');
  const endpoint = await addEndpoint(integration, { url: receiver.url() });
  const body = '{"type":"signature.retry","amount":42}';

  const eventId = await publish(integration, body);
  const delivery = deliveryTo(await settled(integration, eventId), endpoint.id);
  assert.equal(delivery.status, 'succeeded', 'delivery status');

  const requests = receiver.requestsFor(eventId);
  assert.equal(requests.length, 3, 'three attempts reached the receiver');
  const webhook = new Webhook(endpoint.secret);
  const timestamps = requests.map((r) => Number(r.headers['webhook-timestamp']));
  for (const [i, request] of requests.entries()) {
    assert.equal(request.headers['webhook-id'], eventId, `attempt ${i + 1} webhook-id`);
    const sentSecond = Math.floor(request.receivedAt / 1000);
    assert.ok(
      Math.abs(timestamps[i] - sentSecond) <= 1,
      `attempt ${i + 1} webhook-timestamp ${timestamps[i]}, sent at second ${sentSecond}`,
    );
    assert.doesNotThrow(() => webhook.verify(request.body, request.headers), `attempt ${i + 1} signature verifies`);
  }
  // The attempts span more than 1.6 s, so whole-second timestamps differ.
  assert.ok(timestamps[2] > timestamps[0], `last timestamp ${timestamps[2]} is later than the first ${timestamps[0]}`);
  assert.ok(timestamps[1] >= timestamps[0], `second timestamp ${timestamps[1]} is not before the first ${timestamps[0]}`);
  const replayed = { ...requests[2].headers, 'webhook-timestamp': String(timestamps[0]) };
  assert.throws(() => webhook.verify(requests[2].body, replayed), 'the signature covers the timestamp of its own attempt');

  const detail = await attemptsOf(integration, delivery.id);
  for (const [i, attempt] of detail.attempts.entries()) {
    assert.equal(attempt.request_headers['webhook-id'], eventId, `recorded webhook-id of attempt ${i + 1}`);
    assert.equal(
      attempt.request_headers['webhook-timestamp'],
      requests[i].headers['webhook-timestamp'],
      `recorded webhook-timestamp of attempt ${i + 1}`,
    );
  }
});

// ---- fan-out --------------------------------------------------------------

test('fan-out deliveries progress independently', { timeout: scaled(40000) }, async () => {
  const receiver = await receiverWith(
    byPath({
      '/a': () => ({ status: 500 }),
      '/b': () => ({ status: 200 }),
      '/c': (n) => ({ status: n === 0 ? 500 : 200 }),
    }),
  );
  const integration = await newIntegration('fanout');
  const a = await addEndpoint(integration, { url: receiver.url('/a') });
  const b = await addEndpoint(integration, { url: receiver.url('/b') });
  const c = await addEndpoint(integration, { url: receiver.url('/c') });

  const eventId = await publish(integration, '{"type":"fan.out"}');
  const watcher = watchEvent(integration, eventId);
  const event = await settled(integration, eventId, 30000);
  const snapshots = await watcher.stop();

  // While A and C wait after their first failure, B has already succeeded.
  const middle = snapshots.filter((deliveries) => {
    const [da, db, dc] = [a, b, c].map((ep) => deliveries.find((d) => d.endpoint_id === ep.id));
    return db.status === 'succeeded' && da.attempt_count === 1 && dc.attempt_count === 1;
  });
  assert.ok(middle.length > 0, 'a state was seen with B succeeded while A and C had one attempt');
  for (const deliveries of middle) {
    for (const [name, ep] of [['A', a], ['C', c]]) {
      const d = deliveries.find((x) => x.endpoint_id === ep.id);
      assert.equal(d.status, 'failed', `${name} after one failed attempt, with B succeeded`);
    }
  }

  const da = deliveryTo(event, a.id);
  const db = deliveryTo(event, b.id);
  const dc = deliveryTo(event, c.id);
  assert.equal(da.status, 'dead', 'A status');
  assert.equal(da.reason, 'attempts_exhausted', 'A reason');
  assert.equal(da.attempt_count, 3, 'A attempt count');
  assert.equal(db.status, 'succeeded', 'B status');
  assert.equal(db.attempt_count, 1, 'B attempt count');
  assert.equal(dc.status, 'succeeded', 'C status');
  assert.equal(dc.attempt_count, 2, 'C attempt count');

  const countAt = (path) => receiver.requests.filter((r) => r.path === path).length;
  assert.equal(countAt('/a'), 3, 'requests to A');
  assert.equal(countAt('/b'), 1, 'requests to B');
  assert.equal(countAt('/c'), 2, 'requests to C');
});
