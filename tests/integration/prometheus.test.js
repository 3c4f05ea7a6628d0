'use strict';

// GET /metrics on the gateway, the worker and the inspector: the Prometheus
// text format, exact counter deltas after a known sequence of requests and
// deliveries, histogram consistency, the retry queue and live feed gauges,
// and the optional bearer token.

const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const { ADMIN_KEY, freePort, scaled, setupHarness, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('prometheus');
const METRICS_TOKEN = 'it-metrics-token-5b1e2c';
// One retry an hour later: a failed delivery stays in the retry schedule
// for the whole test.
const RETRY_SCHEDULE = '3600';
// The worker reads the schedule every 5 s.
const QUEUE_READ_WAIT_MS = 12000;

const PUBLISH_ROUTE = '/api/v1/integrations/{id}/events';
const READ_ROUTE = '/api/v1/integrations/{id}/events/{event}';

let api;
let gateway;
let worker;
let inspector;

async function startInspector(extraEnv) {
  return harness.startInspector(extraEnv);
}

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  worker = await harness.startWorker({
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_RETRY_SCHEDULE: RETRY_SCHEDULE,
    HOOKGATE_DELIVERY_TIMEOUT_MS: '3000',
  });
  inspector = await startInspector({ HOOKGATE_METRICS_TOKEN: METRICS_TOKEN });
  api = harness.closeLater(new Api(gateway.port));
});

/** Sends GET /metrics and returns { status, headers, text }. */
function getMetrics(port, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(scaled(5000), () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
  });
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const SAMPLE_LINE = new RegExp(`^(${NAME})(\\{(?:${LABEL})(?:,${LABEL})*\\})? (\\S+)$`);
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/g;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

function unescapeLabel(value) {
  return value.replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
}

/**
 * Parses the text format: returns { samples: [{ name, labels, value }],
 * types: Map(name -> type) }. Throws on a line that is neither a comment
 * nor `name{labels} value`.
 */
function parseMetrics(text) {
  const samples = [];
  const types = new Map();
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'the output ends with a newline');
  for (const line of lines) {
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) {
        types.set(type[1], type[2]);
      } else {
        assert.match(line, /^# HELP \S+ /, `comment line: ${line}`);
      }
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    assert.ok(match, `sample line does not parse: ${JSON.stringify(line)}`);
    assert.match(match[3], VALUE, `value of ${line}`);
    const labels = {};
    for (const pair of (match[2] || '').matchAll(LABEL_PAIR)) {
      labels[pair[1]] = unescapeLabel(pair[2]);
    }
    samples.push({ name: match[1], labels, value: Number(match[3].replace('Inf', 'Infinity')) });
  }
  return { samples, types };
}

/** Returns the sum of every sample called name whose labels include `labels`. */
function sum(parsed, name, labels = {}) {
  return parsed.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function scrape(port, token) {
  const res = await getMetrics(port, token);
  assert.equal(res.status, 200, `GET /metrics on port ${port}: ${res.text.slice(0, 300)}`);
  return parseMetrics(res.text);
}

/** Scrapes until check(parsed) is true, and returns that scrape. */
async function scrapeUntil(port, check, description, token, timeoutMs = 5000) {
  let last = null;
  try {
    return await waitFor(
      async () => {
        last = await scrape(port, token);
        return check(last) ? last : null;
      },
      { timeoutMs, intervalMs: 100, description },
    );
  } catch (err) {
    err.message += `\nlast scrape:\n${last ? JSON.stringify(last.samples.slice(0, 80)) : '(none)'}`;
    throw err;
  }
}

/** Asserts that every histogram's buckets are cumulative and end with +Inf equal to _count. */
function assertHistograms(parsed) {
  const histograms = [...parsed.types].filter(([, type]) => type === 'histogram').map(([name]) => name);
  assert.ok(histograms.length > 0, 'at least one histogram');
  for (const name of histograms) {
    const series = new Map();
    for (const s of parsed.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) {
        series.set(key, []);
      }
      series.get(key).push({ le: le === '+Inf' ? Infinity : Number(le), value: s.value });
    }
    assert.ok(series.size > 0, `${name} has buckets`);
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i].le > buckets[i - 1].le, `${name}${key}: bucket bounds ascend`);
        assert.ok(buckets[i].value >= buckets[i - 1].value, `${name}${key}: le=${buckets[i].le} is cumulative`);
      }
      assert.equal(buckets.at(-1).le, Infinity, `${name}${key}: the last bucket is +Inf`);
      const count = sum(parsed, `${name}_count`, JSON.parse(key));
      assert.equal(buckets.at(-1).value, count, `${name}${key}: +Inf bucket equals _count`);
    }
  }
}

test('gateway output parses', { timeout: scaled(15000) }, async () => {
  const res = await getMetrics(gateway.port);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const parsed = parseMetrics(res.text);
  for (const sample of parsed.samples) {
    const family = sample.name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(parsed.types.has(sample.name) || parsed.types.get(family) === 'histogram',
      `${sample.name} has a TYPE line`);
    assert.ok(!('integration_id' in sample.labels), `${sample.name} has no integration id label`);
  }
  assert.equal(sum(parsed, 'hookgate_build_info', { version: '0.1.0' }), 1, 'build_info');
  const started = sum(parsed, 'hookgate_process_start_time_seconds');
  assert.ok(started > Date.now() / 1000 - 600, `start time ${started} is within the last 10 minutes`);
  assert.ok(started <= Date.now() / 1000, `start time ${started} is not in the future`);
  assert.ok(sum(parsed, 'hookgate_process_resident_memory_bytes') > 1e6, 'resident memory is above 1 MB');
  assertHistograms(parsed);
});

test('gateway counters match requests', { timeout: scaled(30000) }, async () => {
  const receiver = harness.closeLater(await startReceiver(always(200)));
  const integration = await createIntegrationWithEndpoint(api, 'prom-gw', receiver.url());
  const route = (pattern, method, status) => ({ route: pattern, method, status: String(status) });
  const expected = [
    [route(PUBLISH_ROUTE, 'POST', 202), 3],
    [route(READ_ROUTE, 'GET', 200), 2],
    [route('(unmatched)', 'GET', 404), 1],
    [route(PUBLISH_ROUTE, 'POST', 401), 1],
  ];
  const before = await scrape(gateway.port);

  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(await api.publishAccepted(integration.id, integration.apiKey, { type: 'prom.test', n: i }));
  }
  for (const id of ids.slice(0, 2)) {
    await api.getEvent(integration.id, integration.apiKey, id);
  }
  assert.equal((await api.request('GET', '/no-such-path')).status, 404);
  assert.equal((await api.publish(integration.id, 'hgk_not_a_key', { type: 'prom.test' })).status, 401);

  // A request is counted when its reply has been written, which can come
  // a moment after the client read it.
  const delta = (parsed, labels) => sum(parsed, 'hookgate_http_requests_total', labels) -
    sum(before, 'hookgate_http_requests_total', labels);
  await scrapeUntil(gateway.port, (p) => expected.every(([labels, n]) => delta(p, labels) >= n),
    'the gateway counters to reach the expected deltas');
  const after = await scrape(gateway.port);
  for (const [labels, n] of expected) {
    assert.equal(delta(after, labels), n, `delta of ${JSON.stringify(labels)}`);
  }
  // The first scrape and the one that waited are counted too.
  assert.ok(delta(after, route('/metrics', 'GET', 200)) >= 2, '/metrics scrapes are counted');

  const publishCount = sum(after, 'hookgate_http_request_duration_seconds_count', { route: PUBLISH_ROUTE, method: 'POST' });
  const publishTotal = sum(after, 'hookgate_http_requests_total', { route: PUBLISH_ROUTE, method: 'POST' });
  assert.equal(publishCount, publishTotal, 'histogram _count equals the counter of the route');
  assert.ok(publishCount >= 4);
  assertHistograms(after);
  const paths = after.samples.map((s) => s.labels.route).filter(Boolean);
  assert.ok(!paths.some((p) => p.includes(integration.id)), 'no raw path with an integration id is a label');
});

test('worker counts delivery outcomes', { timeout: scaled(45000) }, async () => {
  const ok = harness.closeLater(await startReceiver(always(200)));
  const failing = harness.closeLater(await startReceiver(always(500)));
  const goneReceiver = harness.closeLater(await startReceiver(always(410)));
  const refusedPort = await freePort();
  const id = uniqueId('prom-worker');
  const created = await api.createIntegration(id);
  for (const url of [ok.url(), failing.url(), goneReceiver.url(), `http://127.0.0.1:${refusedPort}/hook`]) {
    await api.createEndpoint(id, created.api_key, { url, event_types: ['*'] });
  }
  const expected = [
    [{ outcome: 'succeeded', error_class: 'none' }, 1],
    [{ outcome: 'failed', error_class: 'http_5xx' }, 1],
    [{ outcome: 'dead', error_class: 'http_4xx' }, 1],
    [{ outcome: 'failed', error_class: 'connect' }, 1],
  ];
  const before = await scrape(worker.port);
  const queueBefore = sum(before, 'hookgate_retry_queue_depth');

  await api.publishAccepted(id, created.api_key, { type: 'prom.delivery' });

  const delta = (parsed, labels) => sum(parsed, 'hookgate_deliveries_total', labels) -
    sum(before, 'hookgate_deliveries_total', labels);
  await scrapeUntil(worker.port, (p) => expected.every(([labels, n]) => delta(p, labels) >= n),
    'the delivery counters to reach the expected deltas', undefined, 20000);
  const after = await scrape(worker.port);
  for (const [labels, n] of expected) {
    assert.equal(delta(after, labels), n, `delta of ${JSON.stringify(labels)}`);
  }
  assert.equal(delta(after, {}), 4, 'no other delivery was counted');
  assert.equal(sum(after, 'hookgate_delivery_duration_seconds_count') -
    sum(before, 'hookgate_delivery_duration_seconds_count'), 4, 'one duration per attempt');
  assertHistograms(after);

  // The 500 and the refused connection each wait an hour for their retry.
  const queued = await scrapeUntil(worker.port, (p) => sum(p, 'hookgate_retry_queue_depth') === queueBefore + 2,
    'hookgate_retry_queue_depth to grow by 2', undefined, QUEUE_READ_WAIT_MS);
  assert.equal(sum(queued, 'hookgate_retry_oldest_due_age_seconds'), 0, 'no retry is due yet');
  assert.ok(queued.samples.some((s) => s.name === 'hookgate_stream_lag_entries' && s.labels.shard === '0'),
    'stream lag of shard 0');
  assert.ok(sum(queued, 'hookgate_redis_round_trip_seconds_count') > 0, 'the probe measured PINGs');
});

test('inspector gauge follows live feed', { timeout: scaled(20000) }, async () => {
  const port = inspector.port;
  const opened = await scrape(port, METRICS_TOKEN);
  assert.equal(sum(opened, 'hookgate_sse_clients'), 0, 'no stream is open');

  const req = http.get({
    host: '127.0.0.1',
    port,
    path: '/api/v1/inspector/stream',
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    agent: false,
  });
  const res = await new Promise((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  assert.equal(res.statusCode, 200, 'the live feed opened');
  res.resume();
  try {
    await scrapeUntil(port, (p) => sum(p, 'hookgate_sse_clients') === 1, 'hookgate_sse_clients to be 1', METRICS_TOKEN);
  } finally {
    req.destroy();
  }
  const closed = await scrapeUntil(port, (p) => sum(p, 'hookgate_sse_clients') === 0,
    'hookgate_sse_clients to return to 0', METRICS_TOKEN);
  assert.ok(sum(closed, 'hookgate_redis_round_trip_seconds_count') > 0, 'the probe measured PINGs');
  assertHistograms(closed);
});

test('metrics token is required when set', { timeout: scaled(15000) }, async () => {
  const missing = await getMetrics(inspector.port);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['content-type'], 'application/problem+json');
  assert.equal(JSON.parse(missing.text).code, 'UNAUTHORIZED');
  assert.ok(!missing.text.includes(METRICS_TOKEN), 'the problem does not repeat the token');

  const wrong = await getMetrics(inspector.port, `${METRICS_TOKEN}x`);
  assert.equal(wrong.status, 401, 'a longer token');
  const prefix = await getMetrics(inspector.port, METRICS_TOKEN.slice(0, -1));
  assert.equal(prefix.status, 401, 'a prefix of the token');

  const right = await getMetrics(inspector.port, METRICS_TOKEN);
  assert.equal(right.status, 200);
  assert.match(right.text, /^# HELP /m);

  // The gateway has no token set, so it needs no credential.
  assert.equal((await getMetrics(gateway.port)).status, 200);
});
