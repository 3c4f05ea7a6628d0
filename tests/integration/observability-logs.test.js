'use strict';

// Structured logs and W3C trace context across the gateway, the delivery
// worker and the inspector. Covers traceparent and tracestate from a
// publish to every delivery attempt, replacement of invalid values, and
// X-Request-Id in responses and problem bodies. The log checks are one
// INFO line per request, a WARN line per retry, counting of repeated
// errors, and no secret in any log line.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const {
  ADMIN_KEY,
  SECRET_KEY,
  freePort,
  getReady,
  scaled,
  setupHarness,
  sleep,
  waitFor,
} = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('logs');
let api;
let inspector;
let gateway;
let worker;
let inspectorChild;

// A short repeat window keeps the counting test quick.
const REPEAT_WINDOW_MS = 1000;
const SHARED_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_LOG_REPEAT_WINDOW_MS: String(REPEAT_WINDOW_MS),
  // The production default, so the test sees which lines operators get.
  HOOKGATE_LOG_LEVEL: 'info',
};

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

// Values that must never be written to a log; filled as tests create them.
const secrets = new Set([ADMIN_KEY, SECRET_KEY]);

async function startInspector(port) {
  return harness.startInspector(SHARED_ENV, { port });
}

before(async () => {
  await harness.startRedis();
  const inspectorPort = await freePort();
  gateway = await harness.startGateway(SHARED_ENV);
  worker = await harness.startWorker({
    ...SHARED_ENV,
    // Two retries about one second apart (up to 20 % jitter).
    HOOKGATE_RETRY_SCHEDULE: '1,1',
  });
  inspectorChild = await startInspector(inspectorPort);
  api = harness.closeLater(new Api(gateway.port));
  inspector = harness.closeLater(new Api(inspectorPort));
});

/** Parses every line of a child's log; throws naming the first bad line. */
function logLines(child) {
  const text = fs.readFileSync(child.logFile, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (err) {
        throw new Error(`${child.logFile} line ${i + 1} is not JSON (${err.message}): ${line}`);
      }
    });
}

/** Creates an integration with one endpoint at receiver, noting its secrets. */
async function integrationFor(receiver, label) {
  const created = await createIntegrationWithEndpoint(api, label, receiver.url());
  secrets.add(created.apiKey);
  secrets.add(created.endpoint.secret);
  return created;
}

function requestId(label) {
  return `${uniqueId(label)}-req`;
}

test('traceparent reaches the receiver with a new span', async () => {
  const receiver = harness.closeLater(await startReceiver(always(200)));
  const { id, apiKey } = await integrationFor(receiver, 'trace');
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';
  const correlation = requestId('trace');

  const res = await api.publish(id, apiKey, { type: 'order.created', data: { n: 1 } }, {
    traceparent: `00-${traceId}-${parentId}-01`,
    tracestate: 'vendor=abc, other=x y',
    'X-Request-Id': correlation,
  });
  assert.equal(res.status, 202, res.describe());
  const eventId = res.json().id;

  const answered = TRACEPARENT.exec(res.headers.traceparent || '');
  assert.ok(answered, `response traceparent ${res.headers.traceparent}`);
  assert.equal(answered[1], traceId, 'the response continues the trace');
  assert.notEqual(answered[2], parentId, 'the gateway has its own span');

  const [request] = await receiver.waitForRequests(1, { timeoutMs: scaled(10000) });
  const sent = TRACEPARENT.exec(request.headers.traceparent || '');
  assert.ok(sent, `attempt traceparent ${request.headers.traceparent}`);
  assert.equal(sent[1], traceId, 'the attempt has the publish trace id');
  assert.notEqual(sent[2], parentId, 'the attempt has a new span id');
  assert.notEqual(sent[2], answered[2], 'the attempt span differs from the gateway span');
  assert.equal(sent[3], '01', 'the sampled flag is passed on');
  assert.equal(request.headers.tracestate, 'vendor=abc,other=x y');
  secrets.add(request.headers['webhook-signature']);

  const lines = logLines(gateway).filter((l) => l.correlation_id === correlation);
  const access = lines.filter((l) => l.route !== undefined);
  assert.equal(access.length, 1, `request lines: ${JSON.stringify(lines)}`);
  assert.equal(access[0].trace_id, traceId);
  assert.equal(access[0].span_id, answered[2]);

  const stored = await api.getEvent(id, apiKey, eventId);
  assert.equal(TRACEPARENT.exec(stored.traceparent || '')?.[1], traceId, 'event stores the trace');
  const delivery = await waitFor(
    async () => {
      const d = await api.getDelivery(id, apiKey, stored.deliveries[0].id);
      return d.attempts.length > 0 ? d : null;
    },
    { timeoutMs: scaled(10000), description: 'the attempt to be recorded' },
  );
  const recorded = delivery.attempts[0].request_headers;
  assert.equal(recorded.traceparent, request.headers.traceparent, 'the attempt records the traceparent sent');
  assert.equal(recorded.tracestate, request.headers.tracestate, 'the attempt records the tracestate sent');
});

test('invalid traceparent is replaced', async () => {
  const receiver = harness.closeLater(await startReceiver(always(200)));
  const { id, apiKey } = await integrationFor(receiver, 'badtrace');
  const invalid = [
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    'garbage',
  ];

  for (const value of invalid) {
    const correlation = requestId('badtrace');
    const res = await api.publish(id, apiKey, { type: 'order.created', data: {} }, {
      traceparent: value,
      tracestate: 'vendor=abc',
      'X-Request-Id': correlation,
    });
    assert.equal(res.status, 202, res.describe());
    const eventId = res.json().id;
    const answered = TRACEPARENT.exec(res.headers.traceparent || '');
    assert.ok(answered, `response traceparent for ${value}: ${res.headers.traceparent}`);
    assert.ok(!value.includes(answered[1]), `trace id of ${value} was kept`);
    assert.ok(!value.toLowerCase().includes(answered[1]), `trace id of ${value} was kept in lower case`);

    const [request] = await receiver.waitForRequests(1, {
      timeoutMs: scaled(10000),
      filter: (r) => r.headers['webhook-id'] === eventId,
    });
    const sent = TRACEPARENT.exec(request.headers.traceparent || '');
    assert.ok(sent, `attempt traceparent ${request.headers.traceparent}`);
    assert.equal(sent[1], answered[1], 'the attempt has the new trace id');
    assert.equal(request.headers.tracestate, undefined, 'tracestate of a replaced trace is dropped');

    const access = logLines(gateway).filter((l) => l.correlation_id === correlation && l.route);
    assert.equal(access.length, 1);
    assert.equal(access[0].trace_id, answered[1], 'the log line has the new trace id');
  }
});

test('X-Request-Id echoed in responses and problems', async () => {
  const correlation = requestId('echo');
  const res = await api.request('GET', '/api/v1/integrations/it-logs-none/events', {
    key: 'hgk_not-a-real-key',
    headers: { 'X-Request-Id': correlation },
  });
  assert.equal(res.status, 401, res.describe());
  assert.equal(res.headers['x-request-id'], correlation);
  assert.match(res.headers['content-type'], /application\/problem\+json/);
  assert.equal(res.json().request_id, correlation);
  assert.match(res.headers.traceparent || '', TRACEPARENT);

  const generated = await api.request('GET', '/no/such/route');
  assert.equal(generated.status, 404);
  assert.ok(generated.headers['x-request-id'], 'a request id is generated');
  assert.equal(generated.json().request_id, generated.headers['x-request-id']);

  const fromInspector = await inspector.request('GET', '/healthz', {
    headers: { 'X-Request-Id': correlation },
  });
  assert.equal(fromInspector.headers['x-request-id'], correlation);
  assert.match(fromInspector.headers.traceparent || '', TRACEPARENT);

  // The inspector writes request lines as the gateway does.
  const inspectorId = requestId('inspector');
  const missing = await inspector.request('GET', '/api/v1/no-such-route', {
    headers: { 'X-Request-Id': inspectorId },
  });
  assert.equal(missing.json().request_id, inspectorId);
  const lines = logLines(inspectorChild).filter((l) => l.correlation_id === inspectorId);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0].level, 'info');
  assert.equal(lines[0].status, missing.status);
  assert.equal(lines[0].span_id, TRACEPARENT.exec(missing.headers.traceparent)[2]);
});

test('one INFO line per API request', async () => {
  const receiver = harness.closeLater(await startReceiver(always(200)));
  const { id, apiKey } = await integrationFor(receiver, 'access');
  const plan = [
    ['GET', `/api/v1/integrations/${id}/events`, 200, '/api/v1/integrations/{id}/events'],
    ['POST', `/api/v1/integrations/${id}/events`, 202, '/api/v1/integrations/{id}/events'],
    ['GET', `/api/v1/integrations/${id}/events/evt_missing`, 404, '/api/v1/integrations/{id}/events/{event}'],
    ['GET', '/definitely/unknown', 404, '(unmatched)'],
  ];
  const sent = [];
  for (const [method, urlPath, status, route] of plan) {
    const correlation = requestId('access');
    const res = await api.request(method, urlPath, {
      key: apiKey,
      headers: { 'X-Request-Id': correlation, 'Content-Type': 'application/json' },
      body: method === 'POST' ? JSON.stringify({ type: 'order.created', data: {} }) : undefined,
    });
    assert.equal(res.status, status, `${method} ${urlPath}: ${res.describe()}`);
    sent.push({ correlation, method, status, route, span: TRACEPARENT.exec(res.headers.traceparent)[2] });
  }

  const lines = logLines(gateway);
  for (const s of sent) {
    const access = lines.filter((l) => l.correlation_id === s.correlation && l.route !== undefined);
    assert.equal(access.length, 1, `${s.method} ${s.route}: ${JSON.stringify(access)}`);
    const line = access[0];
    assert.equal(line.level, 'info');
    assert.equal(line.route, s.route, 'the route pattern, not the path');
    assert.equal(line.method, s.method);
    assert.equal(line.status, s.status);
    assert.equal(typeof line.duration_ms, 'number');
    assert.ok(line.duration_ms >= 0);
    assert.equal(line.span_id, s.span);
    assert.match(line.trace_id, /^[0-9a-f]{32}$/);
  }

  // Health probes are logged at debug, below the INFO level set here.
  const probe = requestId('probe');
  await api.request('GET', '/healthz', { headers: { 'X-Request-Id': probe } });
  await sleep(100);
  assert.equal(logLines(gateway).filter((l) => l.correlation_id === probe).length, 0);
});

test('WARN line per retry', async () => {
  const receiver = harness.closeLater(await startReceiver(always(503)));
  const { id, apiKey } = await integrationFor(receiver, 'retry');
  const eventId = await api.publishAccepted(id, apiKey, { type: 'order.created', data: {} });

  // Three attempts: the first and two retries, then the delivery is dead.
  await receiver.waitForRequests(3, { timeoutMs: scaled(20000) });
  const dead = await waitFor(
    () => logLines(worker).find((l) => l.event_id === eventId && /dead/.test(l.message)),
    { timeoutMs: scaled(10000), description: 'the dead line' },
  );
  const retries = logLines(worker).filter(
    (l) => l.event_id === eventId && /next attempt/.test(l.message),
  );
  assert.equal(retries.length, 2, JSON.stringify(retries));
  const traceId = TRACEPARENT.exec(receiver.requests[0].headers.traceparent)[1];
  for (const line of retries) {
    assert.equal(line.level, 'warn');
    assert.equal(line.integration_id, id);
    assert.match(line.delivery_id, /^dlv_/);
    assert.ok(line.endpoint_id);
    assert.equal(line.error_class, 'http_status');
    assert.match(line.next_attempt_at, TIME);
    assert.equal(line.trace_id, traceId);
    assert.match(line.span_id, /^[0-9a-f]{16}$/);
  }
  const spans = receiver.requests.map((r) => TRACEPARENT.exec(r.headers.traceparent)[2]);
  assert.equal(new Set(spans).size, 3, 'every attempt has its own span');
  assert.ok(spans.includes(retries[0].span_id), 'the retry line names an attempt span');
  assert.equal(dead.level, 'warn');
  for (const r of receiver.requests) {
    secrets.add(r.headers['webhook-signature']);
  }
});

test('repeated errors are counted', async () => {
  // Without Redis every API request fails with 503, and each failure is
  // logged as the same warning.
  const { id, apiKey } = await integrationFor(harness.closeLater(await startReceiver(always(200))), 'repeat');
  await harness.stop(harness.redis);
  const count = 25;
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const res = await api.request('GET', `/api/v1/integrations/${id}/events`, { key: apiKey });
    assert.equal(res.status, 503, res.describe());
  }
  const elapsed = Date.now() - started;
  await harness.startRedis();

  const isUnavailable = (l) => /^answering 503/.test(l.message);
  const summary = await waitFor(
    () => {
      const lines = logLines(gateway).filter(isUnavailable);
      return lines.some((l) => l.repeated !== undefined) ? lines : null;
    },
    { timeoutMs: scaled(REPEAT_WINDOW_MS * 5), description: 'a "repeated" line' },
  );
  const written = summary.filter((l) => l.repeated === undefined);
  const dropped = summary.reduce((sum, l) => sum + (l.repeated || 0), 0);
  assert.equal(written.length + dropped, count, JSON.stringify(summary));
  assert.ok(dropped > 0);
  if (elapsed < REPEAT_WINDOW_MS) {
    assert.equal(written.length, 1, 'one line per window');
  }
  for (const line of summary) {
    assert.equal(line.level, 'warn');
    assert.ok(line.error, 'the error is kept');
  }
  await waitFor(async () => (await getReady(gateway.port)) === 200, {
    timeoutMs: scaled(10000),
    description: 'the gateway ready again',
  });
});

test('log lines are JSON without secrets', async () => {
  const children = [gateway, worker, inspectorChild];
  let total = 0;
  for (const child of children) {
    const lines = logLines(child);
    assert.ok(lines.length > 0, `${child.logFile} is empty`);
    for (const line of lines) {
      assert.match(line.time, TIME, JSON.stringify(line));
      assert.ok(LEVELS.has(line.level), JSON.stringify(line));
      assert.equal(typeof line.message, 'string');
      assert.ok(line.service, JSON.stringify(line));
      if (line.route !== undefined) {
        assert.ok(line.correlation_id, JSON.stringify(line));
        assert.ok(line.trace_id, JSON.stringify(line));
        assert.ok(line.span_id, JSON.stringify(line));
      }
    }
    total += lines.length;

    const text = fs.readFileSync(child.logFile, 'utf8');
    for (const secret of secrets) {
      if (secret) {
        assert.ok(!text.includes(secret), `${child.logFile} contains a secret`);
      }
    }
    assert.ok(!text.includes('whsec_'), `${child.logFile} contains a whsec_ value`);
    // A signature value, should one slip through a field.
    assert.ok(!/v1,[A-Za-z0-9+/]{40,}/.test(text), `${child.logFile} contains a signature`);
  }
  assert.ok(secrets.size > 4, 'the secrets of the earlier tests were collected');
  assert.ok(total > 20);
});
