'use strict';

// Per-integration metrics (GET /api/v1/metrics/integration/{id}): a known
// sequence of API calls and deliveries with set receiver delays, then exact
// counts, error codes and the bucket of the percentiles. Two gateways and
// one worker share the Redis, so the counts also show that several
// processes add up.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { Api, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, freePort, scaled, setupHarness, waitFor } = require('./lib/harness');
const { Receiver } = require('./lib/receiver');

const harness = setupHarness('metrics');

const DELIVERY_TIMEOUT_MS = 2000;
// Receiver delay per path, in ms.
const DELAYS = { '/fast': 30, '/slow': 1200, '/fail': 0, '/hang': DELIVERY_TIMEOUT_MS + 1500 };
const FAST_EVENTS = 18;
const SLOW_EVENTS = 2;
// Two retries (three attempts) per failing delivery.
const ATTEMPTS_PER_FAILURE = 3;
const RATE_LIMIT = 2;
const BURST = 8;

let api;
let limitedApi;
let receiver;
// The integration under test and every response to a call made with its key.
let subject;
const subjectResponses = [];
let other;

/** Sends a request with the subject's key and keeps the response for the expected counts. */
async function asSubject(client, method, urlPath, options = {}) {
  const res = await client.request(method, urlPath, { key: subject.apiKey, ...options });
  subjectResponses.push(res);
  return res;
}

function publishBody(type) {
  return { body: JSON.stringify({ type, data: { n: 1 } }), headers: { 'Content-Type': 'application/json' } };
}

function readMetrics(id, query = '', key = ADMIN_KEY, endpointId = null) {
  const base = `/api/v1/metrics/integration/${id}`;
  return api.request('GET', `${endpointId ? `${base}/endpoints/${endpointId}` : base}${query}`, { key });
}

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  const limited = await harness.startGateway({ HOOKGATE_API_RATE_LIMIT: String(RATE_LIMIT) });
  await harness.startWorker({
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_RETRY_SCHEDULE: '1,1',
    HOOKGATE_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
  });
  api = harness.closeLater(new Api(gateway.port));
  limitedApi = harness.closeLater(new Api(limited.port));
  receiver = await new Receiver((index, record) => ({ status: record.path === '/fail' ? 500 : 200, delayMs: DELAYS[record.path] ?? 0 })).start();
  harness.closeLater(receiver);

  const id = uniqueId('metrics');
  const created = await api.createIntegration(id);
  subject = { id, apiKey: created.api_key, endpoints: {} };
  const closedPort = await freePort();
  const targets = {
    fast: receiver.url('/fast'),
    slow: receiver.url('/slow'),
    fail: receiver.url('/fail'),
    hang: receiver.url('/hang'),
    refused: `http://127.0.0.1:${closedPort}/hook`,
  };
  for (const [name, url] of Object.entries(targets)) {
    const res = await asSubject(api, 'POST', `/api/v1/integrations/${id}/endpoints`, {
      json: { url, event_types: [`metrics.${name}`] },
    });
    assert.equal(res.status, 201, res.describe());
    subject.endpoints[name] = res.json().id;
  }
  const otherId = uniqueId('metrics-other');
  other = { id: otherId, apiKey: (await api.createIntegration(otherId)).api_key };
});

test('metrics count requests, events and deliveries', { timeout: scaled(60000) }, async () => {
  const plan = [
    ['metrics.fast', FAST_EVENTS],
    ['metrics.slow', SLOW_EVENTS],
    ['metrics.fail', 1],
    ['metrics.hang', 1],
    ['metrics.refused', 1],
  ];
  for (const [type, count] of plan) {
    for (let i = 0; i < count; i++) {
      const res = await asSubject(api, 'POST', `/api/v1/integrations/${subject.id}/events`, publishBody(type));
      assert.equal(res.status, 202, res.describe());
    }
  }
  // Known client errors: two 422 VALIDATION_ERROR and one 404 NOT_FOUND.
  for (let i = 0; i < 2; i++) {
    const res = await asSubject(api, 'GET', `/api/v1/integrations/${subject.id}/events?limit=0`);
    assert.equal(res.status, 422, res.describe());
  }
  const missing = await asSubject(api, 'GET', `/api/v1/integrations/${subject.id}/events/evt_00000000000000000000000000`);
  assert.equal(missing.status, 404, missing.describe());
  // A burst on the gateway with a low per-key limit.
  const burst = await Promise.all(
    Array.from({ length: BURST }, () => asSubject(limitedApi, 'GET', `/api/v1/integrations/${subject.id}`)),
  );
  const limitedCount = burst.filter((r) => r.status === 429).length;
  assert.ok(limitedCount > 0, `some of ${BURST} requests were rate limited: ${burst.map((r) => r.status)}`);

  const failures = 3;
  const succeeded = FAST_EVENTS + SLOW_EVENTS;
  const expected = {
    total_requests: subjectResponses.length,
    successful_requests: subjectResponses.filter((r) => r.status < 400).length,
    failed_requests: subjectResponses.filter((r) => r.status >= 400).length,
    rate_limit_hits: limitedCount,
    events_received: succeeded + failures,
    deliveries_succeeded: succeeded,
    deliveries_failed: failures * (ATTEMPTS_PER_FAILURE - 1),
    deliveries_dead: failures,
  };

  const body = await waitFor(
    async () => {
      const res = await readMetrics(subject.id, '?time_period=last_1h');
      assert.equal(res.status, 200, res.describe());
      const json = res.json();
      const m = json.metrics;
      const done =
        m.total_requests === expected.total_requests &&
        m.deliveries_succeeded === expected.deliveries_succeeded &&
        m.deliveries_dead === expected.deliveries_dead;
      return done ? json : null;
    },
    { timeoutMs: 40000, intervalMs: 500, description: 'metrics to include every request and delivery' },
  );
  const m = body.metrics;
  assert.equal(body.integration_id, subject.id);
  assert.equal(body.time_period, 'last_1h');
  for (const [field, value] of Object.entries(expected)) {
    assert.equal(m[field], value, `metrics.${field}`);
  }
  assert.deepEqual(m.events_by_type, {
    'metrics.fast': FAST_EVENTS,
    'metrics.slow': SLOW_EVENTS,
    'metrics.fail': 1,
    'metrics.hang': 1,
    'metrics.refused': 1,
  });
  assert.deepEqual(body.errors_by_type, {
    VALIDATION_ERROR: 2,
    NOT_FOUND: 1,
    RATE_LIMITED: limitedCount,
    HTTP_5XX: ATTEMPTS_PER_FAILURE,
    TIMEOUT: ATTEMPTS_PER_FAILURE,
    CONNECT: ATTEMPTS_PER_FAILURE,
  });
  assert.equal(m.delivery_success_rate, Math.round((10000 * succeeded) / (succeeded + failures)) / 10000);
  // 2 of 20 successful deliveries took about 1200 ms, the rest about 30 ms:
  // the 95th and 99th percentiles lie in the 1000-2000 ms bucket.
  assert.ok(m.p95_delivery_latency_ms >= 1000, `p95 ${m.p95_delivery_latency_ms} below the 1000-2000 ms bucket`);
  assert.ok(m.p95_delivery_latency_ms <= 2000, `p95 ${m.p95_delivery_latency_ms} above the 1000-2000 ms bucket`);
  assert.ok(m.p99_delivery_latency_ms >= 1000, `p99 ${m.p99_delivery_latency_ms} below the 1000-2000 ms bucket`);
  assert.ok(m.p99_delivery_latency_ms <= 2000, `p99 ${m.p99_delivery_latency_ms} above the 1000-2000 ms bucket`);
  assert.ok(m.average_delivery_latency_ms > 0, `average ${m.average_delivery_latency_ms}`);
  assert.ok(m.average_delivery_latency_ms < 1000, `average ${m.average_delivery_latency_ms}`);
  assert.ok(m.average_response_time_ms > 0, `average response time ${m.average_response_time_ms}`);
  assert.ok(m.p95_response_time_ms > 0, `p95 response time ${m.p95_response_time_ms}`);

  // The hour roll-ups hold the same sums.
  const daily = await readMetrics(subject.id);
  assert.equal(daily.status, 200, daily.describe());
  assert.equal(daily.json().time_period, 'last_24h');
  assert.deepEqual(daily.json().metrics, m);
  const weekly = await readMetrics(subject.id, '?time_period=last_7d');
  assert.equal(weekly.status, 200, weekly.describe());
  assert.deepEqual(weekly.json().metrics, m);

  // Per endpoint: delivery metrics of that endpoint only.
  const slow = await readMetrics(subject.id, '', ADMIN_KEY, subject.endpoints.slow);
  assert.equal(slow.status, 200, slow.describe());
  const slowBody = slow.json();
  assert.equal(slowBody.endpoint_id, subject.endpoints.slow);
  assert.equal(slowBody.metrics.deliveries_succeeded, SLOW_EVENTS);
  assert.equal(slowBody.metrics.deliveries_dead, 0);
  assert.equal(slowBody.metrics.total_requests, undefined, 'no request metrics per endpoint');
  assert.ok(slowBody.metrics.p95_delivery_latency_ms >= 1000, `endpoint p95 ${slowBody.metrics.p95_delivery_latency_ms}`);
  const refused = await readMetrics(subject.id, '?time_period=last_1h', ADMIN_KEY, subject.endpoints.refused);
  assert.equal(refused.status, 200, refused.describe());
  assert.equal(refused.json().metrics.deliveries_dead, 1);
  assert.equal(refused.json().metrics.deliveries_failed, ATTEMPTS_PER_FAILURE - 1);
  assert.deepEqual(refused.json().errors_by_type, { CONNECT: ATTEMPTS_PER_FAILURE });
});

test('metrics reject another integration key', async () => {
  const res = await readMetrics(subject.id, '', other.apiKey);
  assert.ok(res.status === 403 || res.status === 404, res.describe());
  const endpointRes = await readMetrics(subject.id, '', other.apiKey, subject.endpoints.fast);
  assert.ok(endpointRes.status === 403 || endpointRes.status === 404, endpointRes.describe());
  const own = await readMetrics(other.id, '?time_period=last_1h', other.apiKey);
  assert.equal(own.status, 200, own.describe());
  assert.equal(own.json().metrics.deliveries_succeeded, 0);
  const anonymous = await api.request('GET', `/api/v1/metrics/integration/${subject.id}`);
  assert.equal(anonymous.status, 401, anonymous.describe());
});

test('metrics validate time_period', async () => {
  for (const value of ['last_2h', '', 'LAST_1H']) {
    const res = await readMetrics(subject.id, `?time_period=${value}`);
    assertProblem(res, 422, 'VALIDATION_ERROR', `time_period=${value}`);
  }
  const badEndpoint = await readMetrics(subject.id, '', ADMIN_KEY, 'not-an-endpoint');
  assertProblem(badEndpoint, 404, 'NOT_FOUND', 'invalid endpoint id');
});

test('metrics of unknown ids are 404', async () => {
  const integration = await readMetrics('metrics-no-such-integration', '', ADMIN_KEY);
  assertProblem(integration, 404, 'NOT_FOUND', 'unknown integration with the admin key');
  const endpoint = await readMetrics(subject.id, '', subject.apiKey, 'ep_00000000000000000000000000');
  assertProblem(endpoint, 404, 'NOT_FOUND', 'unknown endpoint');
  assert.match(endpoint.json().detail, /ep_00000000000000000000000000/, 'the detail names the endpoint');
  const known = await readMetrics(subject.id, '', subject.apiKey, subject.endpoints.fast);
  assert.equal(known.status, 200, known.describe());
});

test('manual attempts leave delivery latency alone', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('metrics-manual');
  const created = await api.createIntegration(id);
  const endpoint = await api.createEndpoint(id, created.api_key, { url: receiver.url('/fast'), event_types: ['*'] });
  const eventId = await api.publishAccepted(id, created.api_key, { type: 'metrics.manual' });
  const event = await api.waitForSettled(id, created.api_key, eventId, { timeoutMs: 15000 });
  // The redelivery succeeds seconds after the publish; counted as latency,
  // it would move the percentiles above the first bucket of 1000 ms.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const res = await api.redeliver(id, created.api_key, event.deliveries[0].id);
  assert.equal(res.status, 202, res.describe());

  const body = await waitFor(
    async () => {
      const read = await readMetrics(id, '?time_period=last_1h', ADMIN_KEY, endpoint.id);
      return read.status === 200 && read.json().metrics.deliveries_succeeded === 2 ? read.json() : null;
    },
    { timeoutMs: 15000, intervalMs: 250, description: 'both successful attempts in the metrics' },
  );
  assert.ok(body.metrics.p95_delivery_latency_ms < 1000, `p95 ${body.metrics.p95_delivery_latency_ms}`);
  assert.ok(body.metrics.average_delivery_latency_ms < 1000, `average ${body.metrics.average_delivery_latency_ms}`);
});

test('revoked key publish not counted', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('metrics-revoked');
  const created = await api.createIntegration(id);
  const keyRes = await api.request('POST', `/api/v1/integrations/${id}/keys`, {
    key: created.api_key,
    json: { name: 'doomed', scopes: ['publish'] },
  });
  assert.equal(keyRes.status, 201, keyRes.describe());
  const doomed = keyRes.json();
  const revoke = await api.request('DELETE', `/api/v1/integrations/${id}/keys/${doomed.id}`, { key: created.api_key });
  assert.equal(revoke.status, 204, revoke.describe());
  for (const path of [`/api/v1/integrations/${id}/events`, `/api/v1/integrations/${id}`]) {
    const method = path.endsWith('/events') ? 'POST' : 'GET';
    const res = await api.request(method, path, { key: doomed.key, json: { type: 'metrics.revoked' } });
    assert.equal(res.status, 401, `${method} ${path}: ${res.describe()}`);
  }
  // Flushes happen every second; a counted 401 would show by then.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const after = (await readMetrics(id, '?time_period=last_1h')).json();
  // Only the key's creation and revocation, which succeeded, count.
  assert.equal(after.metrics.failed_requests, 0, 'no failed request counted');
  assert.equal(after.errors_by_type.UNAUTHORIZED, undefined, 'no UNAUTHORIZED counted');
});

test('idempotent repeat not counted as event', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('metrics-idem');
  const created = await api.createIntegration(id);
  const headers = { 'Idempotency-Key': `idem-${id}` };
  const first = await api.publish(id, created.api_key, { type: 'metrics.idem' }, headers);
  assert.equal(first.status, 202, first.describe());
  for (let i = 0; i < 3; i++) {
    const again = await api.publish(id, created.api_key, { type: 'metrics.idem' }, headers);
    assert.equal(again.status, 202, again.describe());
    assert.equal(again.headers['idempotent-replayed'], 'true', 'the repeat is a replay');
  }
  // Flushes happen every second; counted repeats would show by then.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const after = (await readMetrics(id, '?time_period=last_1h')).json();
  assert.equal(after.metrics.events_received, 1, 'one event, however often it was sent');
  assert.equal(after.metrics.successful_requests, 4, 'every request still counts');
});
