'use strict';

// The metrics series (GET /api/v1/metrics/integration/{id}/series): exact
// points for counters written straight into the minute and hour hashes,
// the sums of real traffic, the endpoint filter, auth, and the problem
// responses.

const assert = require('node:assert/strict');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, BUILD_DIR, REPO_ROOT, freePort, getStatus, redisCli, setupHarness, waitFor } = require('./lib/harness');
const { Receiver } = require('./lib/receiver');

const harness = setupHarness('metrics-series');

let api;
let gateway;
let receiver;
let subject;
let other;

function series(id, query = '', key = ADMIN_KEY) {
  return api.request('GET', `/api/v1/metrics/integration/${id}/series${query}`, { key });
}

function minuteNow() {
  return Math.floor(Date.now() / 60000);
}

/** Writes counter fields into a metrics hash of the subject integration. */
async function writeHash(suffix, fields) {
  const args = Object.entries(fields).flatMap(([name, value]) => [name, String(value)]);
  await redisCli(harness.redisPort, ['HSET', `hg:{${subject.id}}:${suffix}`, ...args]);
}

/**
 * Reads a series whose last point is the current minute (or hour) both
 * before and after the request, so the expected indexes hold.
 */
async function stableSeries(id, query, slotOf) {
  for (let i = 0; i < 3; i++) {
    const before = slotOf();
    const res = await series(id, query);
    if (slotOf() === before) {
      return { res, slot: before };
    }
  }
  throw new Error('the minute changed during three reads in a row');
}

function emptyPoint(t, endpoint = false) {
  return {
    t,
    events_received: endpoint ? null : 0,
    deliveries_succeeded: 0,
    deliveries_failed: 0,
    deliveries_dead: 0,
    delivery_success_rate: null,
    p50_delivery_latency_ms: null,
    p95_delivery_latency_ms: null,
  };
}

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  // No retries: a failed attempt is dead at once.
  await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_RETRY_SCHEDULE: '' });
  api = harness.closeLater(new CheckedApi(gateway.port));
  receiver = harness.closeLater(await new Receiver((index, record) => ({ status: record.path === '/fail' ? 500 : 200 })).start());

  const id = uniqueId('series');
  subject = { id, apiKey: (await api.createIntegration(id)).api_key, endpoints: {} };
  for (const name of ['ok', 'fail']) {
    const res = await api.request('POST', `/api/v1/integrations/${id}/endpoints`, {
      key: subject.apiKey,
      json: { url: receiver.url(`/${name}`), event_types: [`series.${name}`] },
    });
    assert.equal(res.status, 201, res.describe());
    subject.endpoints[name] = res.json().id;
  }
  const otherId = uniqueId('series-other');
  other = { id: otherId, apiKey: (await api.createIntegration(otherId)).api_key };
});

test('series has exact points per minute and per hour', async () => {
  const minute = minuteNow();
  const hour = Math.floor(minute / 60);
  // No such endpoint exists, as after a delete: its history still shows.
  const endpoint = 'ep_written';
  // Three minutes ago: 5 events, 4 successes (3 in the 10-20 ms bucket and
  // 1 in the 50-100 ms one), 1 failure. One minute ago: 2 dead attempts.
  await writeHash(`m:${minute - 3}`, { ev: 5, d_ok: 4, d_fail: 1, 'dl:4': 3, 'dl:6': 1, req: 9 });
  await writeHash(`m:${minute - 1}`, { ev: 2, d_dead: 2 });
  await writeHash(`m:${minute - 3}:ep:${endpoint}`, { d_ok: 1, 'dl:9': 1 });
  await writeHash(`mh:${hour - 2}`, { ev: 7, d_ok: 10, d_dead: 10, 'dl:10': 20 });

  const { res, slot } = await stableSeries(subject.id, '?time_period=last_1h', minuteNow);
  assert.equal(res.status, 200, res.describe());
  const body = res.json();
  assert.deepEqual(Object.keys(body), ['integration_id', 'endpoint_id', 'time_period', 'step_s', 'points']);
  assert.equal(body.integration_id, subject.id);
  assert.equal(body.endpoint_id, null);
  assert.equal(body.time_period, 'last_1h');
  assert.equal(body.step_s, 60);
  assert.equal(body.points.length, 60);
  const expected = [];
  for (let i = 0; i < 60; i++) {
    expected.push(emptyPoint(new Date((slot - 59 + i) * 60000).toISOString()));
  }
  // The index of a minute; the read may come a minute after the writes.
  const at = (m) => m - (slot - 59);
  // p50: rank 2 of 4 lies in 10-20 ms at 2/3; p95: rank 3.8 lies in 50-100 ms at 0.8.
  Object.assign(expected[at(minute - 3)], {
    events_received: 5,
    deliveries_succeeded: 4,
    deliveries_failed: 1,
    delivery_success_rate: 0.8,
    p50_delivery_latency_ms: 16.7,
    p95_delivery_latency_ms: 90,
  });
  Object.assign(expected[at(minute - 1)], { events_received: 2, deliveries_dead: 2, delivery_success_rate: 0 });
  assert.deepEqual(body.points, expected);

  const ep = await series(subject.id, `?time_period=last_1h&endpoint_id=${endpoint}`);
  assert.equal(ep.status, 200, ep.describe());
  assert.equal(ep.json().endpoint_id, endpoint);
  const epPoints = ep.json().points;
  assert.equal(epPoints.length, 60);
  const written = epPoints[at(minute - 3)];
  assert.deepEqual(written, {
    ...emptyPoint(expected[at(minute - 3)].t, true),
    deliveries_succeeded: 1,
    delivery_success_rate: 1,
    // One sample in the 500-1000 ms bucket: both percentiles interpolate inside it.
    p50_delivery_latency_ms: 750,
    p95_delivery_latency_ms: 975,
  });
  assert.ok(epPoints.every((p) => p.events_received === null), 'an endpoint series has no event counts');

  for (const [period, count] of [['last_24h', 24], ['last_7d', 168]]) {
    const hourly = await stableSeries(subject.id, `?time_period=${period}`, () => Math.floor(minuteNow() / 60));
    assert.equal(hourly.res.status, 200, hourly.res.describe());
    const h = hourly.res.json();
    assert.equal(h.step_s, 3600, period);
    assert.equal(h.points.length, count, period);
    assert.equal(h.points[count - 1].t, new Date(hourly.slot * 3600000).toISOString(), `${period}: last point is the current hour`);
    const point = h.points[count - 3];
    assert.equal(point.t, new Date((hour - 2) * 3600000).toISOString());
    assert.deepEqual(point, {
      ...emptyPoint(point.t),
      events_received: 7,
      deliveries_succeeded: 10,
      deliveries_dead: 10,
      delivery_success_rate: 0.5,
      p50_delivery_latency_ms: 1500,
      p95_delivery_latency_ms: 1950,
    });
    const others = h.points.filter((p) => p !== point);
    assert.ok(others.every((p) => p.events_received === 0 && p.delivery_success_rate === null), `${period}: other hours are empty`);
  }
});

test('series counts real traffic per endpoint', async () => {
  const target = uniqueId('series-live');
  const key = (await api.createIntegration(target)).api_key;
  const ids = {};
  for (const name of ['ok', 'fail']) {
    const res = await api.request('POST', `/api/v1/integrations/${target}/endpoints`, {
      key,
      json: { url: receiver.url(`/${name}`), event_types: [`series.${name}`] },
    });
    assert.equal(res.status, 201, res.describe());
    ids[name] = res.json().id;
  }
  for (const [type, count] of [['series.ok', 4], ['series.fail', 2]]) {
    for (let i = 0; i < count; i++) {
      await api.publishAccepted(target, key, JSON.stringify({ type, n: i }));
    }
  }
  const sum = (points, field) => points.reduce((n, p) => n + (p[field] || 0), 0);
  const points = await waitFor(
    async () => {
      const res = await series(target, '?time_period=last_1h', key);
      assert.equal(res.status, 200, res.describe());
      const p = res.json().points;
      return sum(p, 'deliveries_succeeded') === 4 && sum(p, 'deliveries_dead') === 2 ? p : null;
    },
    { timeoutMs: 20000, intervalMs: 300, description: '4 succeeded and 2 dead attempts in the series' },
  );
  assert.equal(sum(points, 'events_received'), 6);
  assert.equal(sum(points, 'deliveries_failed'), 0);
  const busy = points.filter((p) => p.deliveries_succeeded + p.deliveries_dead > 0);
  assert.ok(busy.length >= 1, 'the attempts are in the series');
  assert.ok(busy.length <= 2, `attempts fall in one or two minutes: ${JSON.stringify(busy)}`);
  for (const p of busy) {
    assert.equal(p.delivery_success_rate, Math.round((10000 * p.deliveries_succeeded) / (p.deliveries_succeeded + p.deliveries_dead)) / 10000);
  }

  const failing = await series(target, `?time_period=last_1h&endpoint_id=${ids.fail}`, key);
  assert.equal(failing.status, 200, failing.describe());
  const fp = failing.json().points;
  assert.equal(sum(fp, 'deliveries_dead'), 2);
  assert.equal(sum(fp, 'deliveries_succeeded'), 0);
  assert.ok(fp.every((p) => p.p95_delivery_latency_ms === null), 'no latency without a success');
  const ok = await series(target, `?time_period=last_24h&endpoint_id=${ids.ok}`, key);
  assert.equal(ok.status, 200, ok.describe());
  const op = ok.json().points;
  assert.equal(sum(op, 'deliveries_succeeded'), 4);
  assert.equal(op.filter((p) => p.deliveries_succeeded > 0).at(-1).delivery_success_rate, 1);
  assert.ok(op.some((p) => p.p50_delivery_latency_ms > 0), 'latency of the successes');
});

test('series needs a credential of the integration', async () => {
  const anonymous = await api.request('GET', `/api/v1/metrics/integration/${subject.id}/series`);
  assertProblem(anonymous, 401, 'UNAUTHORIZED', 'no credential');
  const foreign = await series(subject.id, '', other.apiKey);
  assert.ok(foreign.status === 403 || foreign.status === 404, foreign.describe());
  assert.match(foreign.headers['content-type'], /problem\+json/);
  const own = await series(subject.id, '', subject.apiKey);
  assert.equal(own.status, 200, own.describe());
  assert.equal(own.json().time_period, 'last_24h', 'the default period');
  assert.equal(own.json().points.length, 24);
});

test('series rejects bad parameters with problem+json', async () => {
  for (const value of ['last_2h', '', 'LAST_1H']) {
    assertProblem(await series(subject.id, `?time_period=${value}`), 422, 'VALIDATION_ERROR', `time_period=${value}`);
  }
  for (const value of ['', 'nope', 'ep_a%2Fb', `ep_${'x'.repeat(70)}`]) {
    assertProblem(await series(subject.id, `?endpoint_id=${value}`), 422, 'VALIDATION_ERROR', `endpoint_id=${value}`);
  }
  assertProblem(await series('no-such-integration'), 404, 'NOT_FOUND', 'unknown integration');
  assertProblem(await series(subject.id, '?endpoint_id=ep_00000000000000000000000000'), 404, 'NOT_FOUND', 'unknown endpoint');
  assertProblem(await series('Bad_ID'), 404, 'NOT_FOUND', 'malformed integration id');
  const post = await api.request('POST', `/api/v1/metrics/integration/${subject.id}/series`, { key: ADMIN_KEY, json: {} });
  assertProblem(post, 405, 'METHOD_NOT_ALLOWED', 'POST');
});

test('inspector forwards the metrics and alerts reads', async () => {
  const port = await freePort();
  const env = harness.serviceEnv({
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${port}`,
    HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${gateway.port}`,
    HOOKGATE_WEB_DIR: path.join(REPO_ROOT, 'web'),
  });
  const child = harness.spawnLogged('inspector', path.join(BUILD_DIR, 'inspector', 'hookgate-inspector'), [], env, port);
  await harness.waitReady(child, async () => (await getStatus(port, '/readyz')) === 200);
  const insp = harness.closeLater(new Api(port));

  const base = `/api/v1/metrics/integration/${subject.id}`;
  const reads = [
    `${base}/series?time_period=last_1h&endpoint_id=${subject.endpoints.ok}`,
    `${base}?time_period=last_1h`,
    `${base}/endpoints/${subject.endpoints.ok}?time_period=last_1h`,
    `/api/v1/integrations/${subject.id}/alerts?state=active`,
  ];
  for (const urlPath of reads) {
    const direct = await api.request('GET', urlPath, { key: subject.apiKey });
    const forwarded = await insp.request('GET', urlPath, { key: subject.apiKey });
    assert.equal(forwarded.status, direct.status, `${urlPath}: ${forwarded.describe()}`);
    assert.ok([200, 404].includes(direct.status), `${urlPath}: ${direct.describe()}`);
    if (direct.status === 200) {
      assert.deepEqual(forwarded.json(), direct.json(), urlPath);
    }
    // Another integration's key is stopped by the inspector itself.
    const foreign = await insp.request('GET', urlPath, { key: other.apiKey });
    assert.equal(foreign.status, 403, `${urlPath} with another key: ${foreign.describe()}`);
    assert.equal(foreign.json().code, 'FORBIDDEN');
  }

  const badEndpoint = await insp.request('GET', `${base}/endpoints/not-an-endpoint`, { key: ADMIN_KEY });
  assert.equal(badEndpoint.status, 404, badEndpoint.describe());
  const badQuery = await insp.request('GET', `${base}/series?time_period=last_1h%20&x=${'a'.repeat(3000)}`, { key: ADMIN_KEY });
  assert.equal(badQuery.status, 400, badQuery.describe());
  assert.match(badQuery.headers['content-type'], /problem\+json/);
  const invalid = await insp.request('GET', `${base}/series?time_period=last_2h`, { key: ADMIN_KEY });
  assert.equal(invalid.status, 422, invalid.describe());
  assert.equal(invalid.json().code, 'VALIDATION_ERROR');
});
