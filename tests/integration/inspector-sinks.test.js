'use strict';

// Scriptable sinks of hookgate-inspector against real deliveries: answer
// scripts (sequences, delays, failure percentages, Retry-After, 410, slow
// and cut-off bodies) as the delivery worker sees them, the captures with
// raw bodies, redaction and the signature check, the capture limits,
// ownership between integrations, and validation of the configuration.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, uniqueId } = require('./lib/api');
const {
  ADMIN_KEY,
  freePort,
  scaled,
  setupHarness,
  sleep,
  waitFor,
} = require('./lib/harness');

const harness = setupHarness('sinks');
let api; // the gateway
let inspector; // the inspector's API and sinks
let inspectorPort;

const DELIVERY_TIMEOUT_MS = 2000;
const RETRY_AFTER_MAX_S = 4;
const CAPTURE_LIMIT = 20;
// The smallest HOOKGATE_SINK_BYTES, so the byte limit is easy to reach.
const CAPTURE_BYTES = 65536;

async function startInspector() {
  return harness.startInspector(
    {
      HOOKGATE_SINK_CAPTURES: String(CAPTURE_LIMIT),
      HOOKGATE_SINK_BYTES: String(CAPTURE_BYTES),
    },
    { port: inspectorPort },
  );
}

before(async () => {
  await harness.startRedis();
  inspectorPort = await freePort();
  const shared = {
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}`,
  };
  const gateway = await harness.startGateway(shared);
  await harness.startWorker({
    ...shared,
    // Retries about one second apart (up to 20 % jitter), so a wait of
    // three seconds can only come from Retry-After.
    HOOKGATE_RETRY_SCHEDULE: '1,1',
    HOOKGATE_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
    HOOKGATE_RETRY_AFTER_MAX_S: String(RETRY_AFTER_MAX_S),
  });
  await startInspector();
  api = harness.closeLater(new Api(gateway.port));
  inspector = harness.closeLater(new Api(inspectorPort));
});

// ---- helpers ------------------------------------------------------------

async function newIntegration(label) {
  const id = uniqueId(label);
  const created = await api.createIntegration(id);
  return { id, apiKey: created.api_key };
}

function sinkUrl(sinkId, suffix = '') {
  return `http://127.0.0.1:${inspectorPort}/sink/${sinkId}${suffix}`;
}

async function putSink(sinkId, key, config, expected = [200, 201]) {
  const res = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key, json: config });
  assert.ok(expected.includes(res.status), `PUT sink ${sinkId}: ${res.describe()}`);
  return res.json();
}

/** Creates an integration, a sink it owns with config, and an endpoint pointing at the sink. */
async function sinkWithEndpoint(label, config, endpointSpec = {}) {
  const integration = await newIntegration(label);
  const sinkId = uniqueId(`${label}-sink`);
  await putSink(sinkId, integration.apiKey, config);
  const endpoint = await api.createEndpoint(integration.id, integration.apiKey, {
    url: sinkUrl(sinkId),
    event_types: ['*'],
    ...endpointSpec,
  });
  return { integration, sinkId, endpoint };
}

async function captures(sinkId, key = ADMIN_KEY, limit = 100) {
  const res = await inspector.request('GET', `/api/v1/sinks/${sinkId}/requests?limit=${limit}`, { key });
  assert.equal(res.status, 200, `GET requests of ${sinkId}: ${res.describe()}`);
  return res.json().requests;
}

async function deliveryDetail(integration, eventId) {
  const event = await api.waitForSettled(integration.id, integration.apiKey, eventId, { timeoutMs: 30000 });
  assert.equal(event.deliveries.length, 1, 'one delivery');
  return api.getDelivery(integration.id, integration.apiKey, event.deliveries[0].id);
}

/** Sends one request straight to a sink and returns { status, headers, body, ms }. */
function sendToSink(sinkId, { method = 'POST', suffix = '', body, headers = {} } = {}) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      sinkUrl(sinkId, suffix),
      { method, agent: false, timeout: scaled(20000), headers: { ...headers, 'Content-Length': body ? body.length : 0 } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            statusMessage: res.statusMessage,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: Date.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request to the sink timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends a raw POST and returns every byte the sink sent until it closed. */
function rawExchange(sinkId, version = '1.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: inspectorPort });
    const chunks = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the sink did not close the connection'));
    }, scaled(10000));
    socket.on('connect', () => {
      socket.write(`POST /sink/${sinkId} HTTP/${version}\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}`);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function assertProblem(res, status, code, label) {
  assert.equal(res.status, status, `${label}: ${res.describe()}`);
  assert.match(res.headers['content-type'] || '', /application\/problem\+json/, `${label}: content type`);
  assert.equal(res.json().code, code, `${label}: code`);
}

// ---- responses seen by the delivery worker -------------------------------

test('sequence drives three attempts', { timeout: scaled(40000) }, async () => {
  const { integration, sinkId, endpoint } = await sinkWithEndpoint('seq', {
    sequence: [{ status: 500 }, { status: 500 }, { status: 200, body: 'done' }],
  });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.sequence' });
  const delivery = await deliveryDetail(integration, eventId);

  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.deepEqual(
    delivery.attempts.map((a) => a.http_status),
    [500, 500, 200],
    'attempt statuses follow the sequence',
  );
  const list = await captures(sinkId);
  assert.equal(list.length, 3, 'three captures');
  assert.deepEqual(list.map((c) => c.answer.status), [200, 500, 500], 'captures newest first');
  assert.deepEqual(list.map((c) => c.request_number), [3, 2, 1], 'request numbers');
  for (const capture of list) {
    assert.equal(capture.signature.verified, true, `capture ${capture.request_number} verifies`);
    assert.equal(capture.signature.endpoint_id, endpoint.id, 'signature endpoint');
  }

  const sink = await inspector.request('GET', `/api/v1/sinks/${sinkId}`, { key: integration.apiKey });
  assert.equal(sink.status, 200, sink.describe());
  const view = sink.json();
  assert.equal(view.integration_id, integration.id, 'owner');
  assert.equal(view.configured, true, 'configured');
  assert.equal(view.counters.requests, 3, 'requests counter');
  assert.equal(view.counters.sequence_position, 3, 'sequence position');
  assert.deepEqual(view.counters.answers, { 500: 2, 200: 1 }, 'answers by status');
  assert.equal(view.config.sequence.length, 3, 'config is returned');
});

test('sequence cycles after its end', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('cycle');
  const sinkId = uniqueId('cycle-sink');
  await putSink(sinkId, integration.apiKey, { sequence: [{ status: 201 }, { status: 202 }], after: 'cycle' });
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    statuses.push((await sendToSink(sinkId)).status);
  }
  assert.deepEqual(statuses, [201, 202, 201, 202, 201], 'cycle');

  // Setting the script again starts the sequence again.
  await putSink(sinkId, integration.apiKey, { sequence: [{ status: 203 }, { status: 204 }] });
  const after = [];
  for (let i = 0; i < 3; i++) {
    after.push((await sendToSink(sinkId)).status);
  }
  assert.deepEqual(after, [203, 204, 204], 'repeat_last after a new PUT');
});

test('delay answers later without blocking', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('delay');
  const sinkId = uniqueId('delay-sink');
  await putSink(sinkId, integration.apiKey, { status: 202, body: 'late', delay_ms: 1500 });

  const slow = sendToSink(sinkId);
  await sleep(200);
  const healthStarted = Date.now();
  const health = await inspector.request('GET', '/healthz');
  const healthMs = Date.now() - healthStarted;
  const answer = await slow;

  assert.equal(health.status, 200, 'healthz during the delay');
  assert.ok(healthMs < 1000, `healthz answered in ${healthMs} ms while a sink waited`);
  assert.equal(answer.status, 202, 'delayed status');
  assert.equal(answer.body.toString(), 'late', 'delayed body');
  assert.ok(answer.ms >= 1500, `answered after ${answer.ms} ms, expected at least 1500`);
  const [capture] = await captures(sinkId);
  assert.equal(capture.answer.status, 202, 'the capture was stored');
});

test('failure percent 0 and 100', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('percent');
  const sinkId = uniqueId('percent-sink');
  await putSink(sinkId, integration.apiKey, { status: 201, failure_percent: 100, failure_status: 503 });
  for (let i = 0; i < 10; i++) {
    assert.equal((await sendToSink(sinkId)).status, 503, `request ${i} with 100 %`);
  }
  await putSink(sinkId, integration.apiKey, { status: 201, failure_percent: 0, failure_status: 503 });
  for (let i = 0; i < 10; i++) {
    assert.equal((await sendToSink(sinkId)).status, 201, `request ${i} with 0 %`);
  }
});

test('scripted headers and body are sent', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('headers');
  const sinkId = uniqueId('headers-sink');
  await putSink(sinkId, integration.apiKey, {
    status: 429,
    retry_after: 'Sun, 06 Nov 1994 08:49:37 GMT',
    headers: { 'X-Sink': 'yes', 'Content-Type': 'application/json' },
    body: '{"slow":"down"}',
  });
  const res = await sendToSink(sinkId);
  assert.equal(res.status, 429, 'status');
  assert.equal(res.headers['retry-after'], 'Sun, 06 Nov 1994 08:49:37 GMT', 'Retry-After');
  assert.equal(res.headers['x-sink'], 'yes', 'custom header');
  assert.equal(res.headers['content-type'], 'application/json', 'content type');
  assert.equal(res.body.toString(), '{"slow":"down"}', 'body');
});

test('429 Retry-After is honoured', { timeout: scaled(40000) }, async () => {
  const { integration } = await sinkWithEndpoint('retry', {
    sequence: [{ status: 429, retry_after: 3 }, { status: 200 }],
  });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.retry_after' });
  const delivery = await deliveryDetail(integration, eventId);

  assert.deepEqual(delivery.attempts.map((a) => a.http_status), [429, 200], 'attempt statuses');
  const waitedMs = Date.parse(delivery.attempts[1].started_at) - Date.parse(delivery.attempts[0].started_at);
  // The schedule alone would retry after at most 1.2 s.
  assert.ok(waitedMs >= 2900, `retried after ${waitedMs} ms, expected about 3000`);
  assert.ok(waitedMs < 3000 + scaled(2500), `retried after ${waitedMs} ms, expected about 3000`);
});

test('410 disables the endpoint', { timeout: scaled(30000) }, async () => {
  const { integration, endpoint } = await sinkWithEndpoint('gone', { status: 410 });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.gone' });
  const delivery = await deliveryDetail(integration, eventId);

  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(delivery.attempts.length, 1, 'no retry after 410');
  assert.equal(delivery.attempts[0].http_status, 410, 'attempt status');
  const res = await api.request('GET', `/api/v1/integrations/${integration.id}/endpoints/${endpoint.id}`, {
    key: integration.apiKey,
  });
  assert.equal(res.json().status, 'disabled', 'endpoint status');
  assert.equal(res.json().disabled_reason, 'gone', 'disabled reason');
});

test('delay past the timeout is a timeout', { timeout: scaled(40000) }, async () => {
  const { integration } = await sinkWithEndpoint('late', { delay_ms: DELIVERY_TIMEOUT_MS + 1500 });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.late' });
  const delivery = await deliveryDetail(integration, eventId);

  assert.equal(delivery.status, 'dead', 'delivery status after every attempt timed out');
  for (const attempt of delivery.attempts) {
    assert.equal(attempt.error_class, 'timeout', `attempt ${attempt.attempt} error class`);
    assert.equal(attempt.http_status, null, `attempt ${attempt.attempt} has no status`);
  }
});

test('trickled body is cut by the timeout', { timeout: scaled(40000) }, async () => {
  // 200 bytes at 20 bytes per second take 10 s, far past the timeout.
  const { integration } = await sinkWithEndpoint('slow', { body: 'x'.repeat(200), trickle_bytes_per_s: 20 });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.slow' });
  const event = await waitFor(
    async () => {
      const e = await api.getEvent(integration.id, integration.apiKey, eventId);
      return e.deliveries[0] && e.deliveries[0].attempt_count >= 1 ? e : null;
    },
    { timeoutMs: 20000, description: 'the first attempt to the slow sink' },
  );
  const detail = await api.getDelivery(integration.id, integration.apiKey, event.deliveries[0].id);
  const [attempt] = detail.attempts;

  assert.equal(attempt.http_status, 200, 'the status line came before the timeout');
  assert.equal(attempt.response_complete, false, 'the body did not complete');
  assert.match(String(attempt.error_message), /timed out|timeout/i, `error message: ${attempt.error_message}`);
  assert.ok(attempt.duration_ms >= DELIVERY_TIMEOUT_MS - 100, `duration ${attempt.duration_ms} ms`);
  const body = attempt.response_body || '';
  assert.ok(body.length > 0, 'part of the body arrived');
  assert.ok(body.length < 200, `only part of the body arrived (${body.length} bytes)`);
});

test('trickled body arrives whole and slowly', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('trickle');
  const sinkId = uniqueId('trickle-sink');
  await putSink(sinkId, integration.apiKey, { body: 'abcdefghijklmnopqrstuvwxyz0123', trickle_bytes_per_s: 20 });
  const res = await sendToSink(sinkId);
  assert.equal(res.status, 200, 'status');
  assert.equal(res.body.toString(), 'abcdefghijklmnopqrstuvwxyz0123', 'whole body');
  // 30 bytes at 20 bytes per second: about 1.5 s.
  assert.ok(res.ms >= 1300, `took ${res.ms} ms, expected about 1500`);
});

test('trickled body to HTTP/1.0 is not chunked', { timeout: scaled(20000) }, async () => {
  // HTTP/1.0 has no chunked coding: the body goes as is and ends with the
  // connection.
  const integration = await newIntegration('trickle10');
  const sinkId = uniqueId('trickle10-sink');
  await putSink(sinkId, integration.apiKey, { body: 'hello world', trickle_bytes_per_s: 100 });
  const raw = await rawExchange(sinkId, '1.0');
  assert.match(raw, /^HTTP\/1\.0 200 /, 'status line');
  assert.doesNotMatch(raw, /\r\nTransfer-Encoding:/i, 'no Transfer-Encoding');
  assert.match(raw, /\r\nConnection: close\r\n/i, 'Connection: close');
  assert.ok(raw.endsWith('\r\n\r\nhello world'), `the body as is: ${JSON.stringify(raw.slice(-30))}`);
});

test('no-content statuses send no content', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('nocontent');
  for (const status of [204, 205, 304]) {
    const sinkId = uniqueId(`nocontent-${status}`);
    const refused = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, {
      key: integration.apiKey,
      json: { status, body: 'not allowed here' },
    });
    assert.equal(refused.status, 422, `${status} with a body: ${refused.describe()}`);
    await putSink(sinkId, integration.apiKey, { status });
    const raw = await rawExchange(sinkId, '1.0');
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head, new RegExp(`^HTTP/1\\.0 ${status} `), `${status}: status line`);
    assert.equal(body, '', `${status}: no content`);
    if (status === 205) {
      assert.match(head, /\r\nContent-Length: 0(\r\n|$)/i, '205: Content-Length 0');
    } else {
      assert.doesNotMatch(head, /\r\nContent-Length:/i, `${status}: no Content-Length`);
    }
  }
});

test('cut-off answer ends the body early', { timeout: scaled(40000) }, async () => {
  const integration = await newIntegration('cut');
  const sinkId = uniqueId('cut-sink');
  await putSink(sinkId, integration.apiKey, { status: 200, body: 'abcdefghij', cut_after_bytes: 4 });
  const raw = await rawExchange(sinkId);
  assert.match(raw, /^HTTP\/1\.1 200 /, 'status line');
  assert.match(raw, /\r\nTransfer-Encoding: chunked\r\n/i, 'chunked');
  assert.ok(raw.endsWith('\r\n\r\n4\r\nabcd\r\n'), `ends after four body bytes: ${JSON.stringify(raw.slice(-40))}`);
  assert.ok(!raw.includes('0\r\n\r\n'), 'no final chunk');

  const endpoint = await api.createEndpoint(integration.id, integration.apiKey, {
    url: sinkUrl(sinkId),
    event_types: ['*'],
  });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.cut' });
  const event = await waitFor(
    async () => {
      const e = await api.getEvent(integration.id, integration.apiKey, eventId);
      const d = e.deliveries.find((x) => x.endpoint_id === endpoint.id);
      return d && d.attempt_count >= 1 ? d : null;
    },
    { timeoutMs: 20000, description: 'the first attempt to the cut-off sink' },
  );
  const [attempt] = (await api.getDelivery(integration.id, integration.apiKey, event.id)).attempts;
  assert.equal(attempt.http_status, 200, 'status');
  assert.equal(attempt.response_complete, false, 'response incomplete');
  assert.match(String(attempt.error_message), /ended early/, `error message: ${attempt.error_message}`);
  assert.ok(attempt.duration_ms < DELIVERY_TIMEOUT_MS, `ended before the timeout (${attempt.duration_ms} ms)`);
});

// ---- captures -------------------------------------------------------------

test('redirect status has its reason phrase', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('phrase');
  const sinkId = uniqueId('phrase-sink');
  for (const [status, phrase] of [[302, 'Found'], [301, 'Moved Permanently'], [418, "I'm a teapot"], [399, 'Redirect']]) {
    const headers = status < 400 ? { Location: '/sink/elsewhere' } : {};
    await putSink(sinkId, integration.apiKey, { status, headers });
    const res = await sendToSink(sinkId, { method: 'GET' });
    assert.equal(res.status, status, `status ${status}`);
    assert.equal(res.statusMessage, phrase, `reason phrase of ${status}`);
  }
});

test('form body is not the query', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('form');
  const sinkId = uniqueId('form-sink');
  await putSink(sinkId, integration.apiKey, { status: 200 });
  const res = await sendToSink(sinkId, {
    method: 'POST',
    body: Buffer.from('a=1&b=2'),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(res.status, 200, 'status');
  const [capture] = await captures(sinkId, integration.apiKey);
  assert.equal(capture.query, '', 'a request line without a query has none');
  assert.equal(Buffer.from(capture.body_base64, 'base64').toString(), 'a=1&b=2', 'the body');
});

test('capture keeps raw bytes and redacts credentials', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('raw');
  const sinkId = uniqueId('raw-sink');
  await putSink(sinkId, integration.apiKey, { status: 200 });
  const body = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3, 0x28, 0x0a, 0xe2, 0x82]);
  const res = await sendToSink(sinkId, {
    method: 'PUT',
    suffix: '/extra/path?x=1&y=%C3%A9',
    body,
    headers: {
      Authorization: 'Bearer do-not-store-me',
      Cookie: 'session=do-not-store-me',
      'X-Api-Key': 'do-not-store-me',
      'X-Visible': 'kept',
      'Content-Type': 'application/octet-stream',
    },
  });
  assert.equal(res.status, 200, 'status');

  const [capture] = await captures(sinkId, integration.apiKey);
  assert.deepEqual(Buffer.from(capture.body_base64, 'base64'), body, 'body_base64 is byte-exact');
  assert.equal(capture.body_bytes, body.length, 'body_bytes');
  assert.equal(capture.body_truncated, false, 'body_truncated');
  assert.equal(capture.method, 'PUT', 'method');
  assert.equal(capture.path, `/sink/${sinkId}/extra/path`, 'path');
  assert.equal(capture.query, 'x=1&y=%C3%A9', 'query');
  assert.equal(capture.headers.authorization, '[redacted]', 'Authorization redacted');
  assert.equal(capture.headers.cookie, '[redacted]', 'Cookie redacted');
  assert.equal(capture.headers['x-api-key'], '[redacted]', 'X-Api-Key redacted');
  assert.equal(capture.headers['x-visible'], 'kept', 'other headers kept');
  assert.match(capture.source, /^127\.0\.0\.1:\d+$/, 'source address');
  assert.ok(Math.abs(Date.parse(capture.received_at) - Date.now()) < 60000, 'received_at');
  assert.equal(capture.integration_id, integration.id, 'owner');
  assert.equal(capture.signature.checked, false, 'no signature to check');
  assert.equal(capture.signature.verified, null, 'verified is null');
  assert.ok(!JSON.stringify(capture).includes('do-not-store-me'), 'no credential stored');

  // The older route keeps its shape, with the body as text or base64.
  const legacy = await inspector.request('GET', `/inspector/api/sinks/${sinkId}/captures`, { key: ADMIN_KEY });
  assert.equal(legacy.status, 200, legacy.describe());
  const [old] = legacy.json().captures;
  assert.equal(old.id, capture.id, 'same capture');
  assert.equal(old.body_encoding, 'base64', 'non-UTF-8 body as base64');
  assert.deepEqual(Buffer.from(old.body, 'base64'), body, 'legacy body');
});

test('large body is truncated in the capture', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('large');
  const sinkId = uniqueId('large-sink');
  await putSink(sinkId, integration.apiKey, {});
  const body = crypto.randomBytes(300 * 1024);
  assert.equal((await sendToSink(sinkId, { body })).status, 200);
  const [capture] = await captures(sinkId);
  assert.equal(capture.body_bytes, body.length, 'body_bytes is the real size');
  assert.equal(capture.body_truncated, true, 'truncated');
  assert.deepEqual(Buffer.from(capture.body_base64, 'base64'), body.subarray(0, 256 * 1024), 'the first 256 KiB');
});

test('signature check of real and forged requests', { timeout: scaled(30000) }, async () => {
  const { integration, sinkId, endpoint } = await sinkWithEndpoint('sig', { status: 204 });
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, { type: 'sink.signed' });
  await deliveryDetail(integration, eventId);

  const [real] = await captures(sinkId);
  assert.equal(real.headers['webhook-id'], eventId, 'the delivery was captured');
  assert.deepEqual(
    { checked: real.signature.checked, verified: real.signature.verified, endpoint: real.signature.endpoint_id },
    { checked: true, verified: true, endpoint: endpoint.id },
    `real delivery: ${real.signature.detail}`,
  );
  assert.ok(Math.abs(real.signature.timestamp_skew_s) <= 5, `skew ${real.signature.timestamp_skew_s}`);
  assert.ok(!JSON.stringify(real).includes(endpoint.secret.slice(6)), 'the secret is not in the capture');

  // Same headers with another body, and a signature made with a wrong key.
  const timestamp = Math.floor(Date.now() / 1000) - 100;
  const forgedSignature = crypto
    .createHmac('sha256', crypto.randomBytes(32))
    .update(`msg_forged.${timestamp}.{"forged":true}`)
    .digest('base64');
  await sendToSink(sinkId, {
    body: Buffer.from('{"forged":true}'),
    headers: {
      'webhook-id': 'msg_forged',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${forgedSignature} v1,${real.headers['webhook-signature'].split(' ')[0].slice(3)}`,
    },
  });
  const [forged] = await captures(sinkId);
  assert.equal(forged.signature.checked, true, 'forged: checked');
  assert.equal(forged.signature.verified, false, `forged: ${forged.signature.detail}`);
  assert.equal(forged.signature.endpoint_id, endpoint.id, 'forged: endpoint');
  assert.ok(
    forged.signature.timestamp_skew_s >= 99 && forged.signature.timestamp_skew_s <= 105,
    `forged skew ${forged.signature.timestamp_skew_s}`,
  );

  // Correctly signed with the endpoint's secret by the test itself.
  const key = Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64');
  const now = Math.floor(Date.now() / 1000);
  const own = crypto.createHmac('sha256', key).update(`msg_own.${now}.hello`).digest('base64');
  await sendToSink(sinkId, {
    body: Buffer.from('hello'),
    headers: { 'webhook-id': 'msg_own', 'webhook-timestamp': String(now), 'webhook-signature': `v1,${own}` },
  });
  const [signed] = await captures(sinkId);
  assert.equal(signed.signature.verified, true, `signed by the test: ${signed.signature.detail}`);

  // Timestamps that are no Unix time in seconds have no skew.
  for (const odd of ['-9223372036854775808', '99999999999999999999', '+5', '1e9', '-5']) {
    await sendToSink(sinkId, {
      body: Buffer.from('odd'),
      headers: { 'webhook-id': 'msg_odd', 'webhook-timestamp': odd, 'webhook-signature': `v1,${own}` },
    });
    const [capture] = await captures(sinkId);
    assert.equal(capture.signature.timestamp_skew_s, null, `skew for ${JSON.stringify(odd)}`);
    assert.notEqual(capture.signature.verified, true, `verdict for ${JSON.stringify(odd)}`);
  }
});

test('signature check uses the previous secret', { timeout: scaled(30000) }, async () => {
  const { integration, sinkId, endpoint } = await sinkWithEndpoint('rotate', { status: 200 });
  const rotated = await api.request(
    'POST',
    `/api/v1/integrations/${integration.id}/endpoints/${endpoint.id}/rotate-secret`,
    { key: integration.apiKey, json: {} },
  );
  assert.ok(rotated.status === 200 || rotated.status === 201, `rotate: ${rotated.describe()}`);

  const key = Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64');
  const now = Math.floor(Date.now() / 1000);
  const old = crypto.createHmac('sha256', key).update(`msg_old.${now}.x`).digest('base64');
  await sendToSink(sinkId, {
    body: Buffer.from('x'),
    headers: { 'webhook-id': 'msg_old', 'webhook-timestamp': String(now), 'webhook-signature': `v1,${old}` },
  });
  const [capture] = await captures(sinkId);
  assert.equal(capture.signature.verified, true, `old secret during its grace: ${capture.signature.detail}`);
  assert.match(capture.signature.detail, /previous/, 'detail names the previous secret');
});

test('clear removes captures', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('clear');
  const sinkId = uniqueId('clear-sink');
  await putSink(sinkId, integration.apiKey, {});
  await sendToSink(sinkId);
  await sendToSink(sinkId);
  assert.equal((await captures(sinkId)).length, 2, 'two captures');
  // The limit has one range, as on the gateway's lists.
  for (const limit of ['0', '1001', '5000', '%205', '-1', 'x']) {
    const res = await inspector.request('GET', `/api/v1/sinks/${sinkId}/requests?limit=${limit}`, { key: integration.apiKey });
    assert.equal(res.status, 422, `limit ${limit}: ${res.describe()}`);
  }

  const cleared = await inspector.request('DELETE', `/api/v1/sinks/${sinkId}/requests`, { key: integration.apiKey });
  assert.equal(cleared.status, 204, cleared.describe());
  assert.equal((await captures(sinkId)).length, 0, 'no captures after clear');

  await sendToSink(sinkId);
  const alias = await inspector.request('DELETE', `/inspector/api/sinks/${sinkId}/captures`, { key: ADMIN_KEY });
  assert.equal(alias.status, 204, alias.describe());
  assert.equal((await captures(sinkId)).length, 0, 'no captures after the older clear route');
  const view = (await inspector.request('GET', `/api/v1/sinks/${sinkId}`, { key: ADMIN_KEY })).json();
  assert.equal(view.counters.captures, 0, 'captures counter');
  assert.equal(view.counters.capture_bytes, 0, 'bytes counter');
});

test('capture count and byte limits', { timeout: scaled(30000) }, async () => {
  const integration = await newIntegration('limits');
  const countSink = uniqueId('count-sink');
  await putSink(countSink, integration.apiKey, {});
  for (let i = 0; i < CAPTURE_LIMIT + 5; i++) {
    await sendToSink(countSink, { body: Buffer.from(`request ${i}`) });
  }
  const kept = await captures(countSink);
  assert.equal(kept.length, CAPTURE_LIMIT, 'count limit');
  assert.equal(Buffer.from(kept[0].body_base64, 'base64').toString(), `request ${CAPTURE_LIMIT + 4}`, 'newest kept');
  assert.equal(Buffer.from(kept[kept.length - 1].body_base64, 'base64').toString(), 'request 5', 'oldest dropped');

  // Each body is 20000 bytes, about 27 KB stored: two fit in 64 KiB, three do not.
  const bytesSink = uniqueId('bytes-sink');
  await putSink(bytesSink, integration.apiKey, {});
  for (let i = 0; i < 4; i++) {
    await sendToSink(bytesSink, { body: Buffer.alloc(20000, 0x30 + i) });
  }
  const byBytes = await captures(bytesSink);
  assert.equal(byBytes.length, 2, 'byte limit keeps the two newest');
  assert.equal(Buffer.from(byBytes[0].body_base64, 'base64')[0], 0x33, 'newest first');
  const view = (await inspector.request('GET', `/api/v1/sinks/${bytesSink}`, { key: ADMIN_KEY })).json();
  assert.ok(view.counters.capture_bytes <= CAPTURE_BYTES, `stored ${view.counters.capture_bytes} bytes`);
  assert.ok(view.counters.capture_bytes > 50000, `stored ${view.counters.capture_bytes} bytes`);
  assert.equal(view.counters.requests, 4, 'every request counted');
});

// ---- the inspector's origin -------------------------------------------------

test('sink answers cannot run script', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('origin');
  const sinkId = uniqueId('html-sink');
  const put = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, {
    key: integration.apiKey,
    json: { headers: { 'Content-Type': 'text/html' }, body: '<script>document.title = "ran"</script>' },
  });
  assert.equal(put.status, 201, put.describe());
  for (const [path, label] of [[`/sink/${sinkId}`, 'scripted answer'], [`/sink/${integration.id}`, 'default answer'], ['/sink/no-such-sink-x', 'unknown sink']]) {
    const res = await inspector.request('GET', path);
    assert.equal(res.headers['content-security-policy'], "sandbox; default-src 'none'", `${label}: sandboxed`);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  }
});

// ---- ownership ------------------------------------------------------------

test('ownership between integrations', { timeout: scaled(20000) }, async () => {
  const owner = await newIntegration('owner');
  const other = await newIntegration('other');
  const sinkId = uniqueId('owned-sink');
  const created = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: owner.apiKey, json: { status: 200 } });
  assert.equal(created.status, 201, created.describe());
  assert.equal(created.json().integration_id, owner.id, 'an integration key owns what it creates');
  assert.equal(created.headers.location, `/api/v1/sinks/${sinkId}`, 'Location');
  await sendToSink(sinkId);

  // Another integration's sink answers as a missing one.
  const missingId = uniqueId('no-such-sink');
  for (const [method, suffix] of [['GET', ''], ['GET', '/requests'], ['DELETE', '/requests'], ['DELETE', '']]) {
    const hidden = await inspector.request(method, `/api/v1/sinks/${sinkId}${suffix}`, { key: other.apiKey });
    assertProblem(hidden, 404, 'NOT_FOUND', `other ${method} ${suffix || 'sink'}`);
    const missing = await inspector.request(method, `/api/v1/sinks/${missingId}${suffix}`, { key: other.apiKey });
    assert.equal(hidden.json().detail.replace(sinkId, 'ID'), missing.json().detail.replace(missingId, 'ID'),
      `other ${method} ${suffix || 'sink'}: same detail as a missing sink`);
  }
  assertProblem(
    await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: other.apiKey, json: { status: 500 } }),
    409,
    'CONFLICT',
    'other takes a taken id',
  );
  const taken = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: other.apiKey, json: { status: 500 } });
  assert.ok(!taken.json().detail.includes(owner.id), `the conflict does not name the owner: ${taken.json().detail}`);
  const foreignEndpoint = await inspector.request('PUT', `/api/v1/sinks/${uniqueId('fe')}`, {
    key: other.apiKey,
    json: { status: 200, endpoint_id: 'ep_01JQ3Z7Y8X9W0V1T2S3R4Q5P6M' },
  });
  assertProblem(foreignEndpoint, 422, 'VALIDATION_ERROR', 'an endpoint that is not the owner\'s');
  assertProblem(
    await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: ADMIN_KEY, json: { status: 500, integration_id: other.id } }),
    409,
    'CONFLICT',
    'admin moves a sink to another integration',
  );
  assertProblem(
    await inspector.request('PUT', `/api/v1/sinks/${uniqueId('x')}`, { key: other.apiKey, json: { integration_id: owner.id } }),
    403,
    'FORBIDDEN',
    'an integration key creates for another integration',
  );
  assertProblem(
    await inspector.request('PUT', `/api/v1/sinks/${owner.id}`, { key: other.apiKey, json: {} }),
    409,
    'CONFLICT',
    'the sink named like an integration belongs to it',
  );
  assert.equal((await captures(sinkId, owner.apiKey)).length, 1, 'the other requests changed nothing');

  const otherList = (await inspector.request('GET', '/api/v1/sinks', { key: other.apiKey })).json().sinks;
  assert.deepEqual(otherList.map((s) => s.sink_id), [other.id], 'another integration lists only its own sink');
  const ownerList = (await inspector.request('GET', '/api/v1/sinks', { key: owner.apiKey })).json().sinks;
  const ids = ownerList.map((s) => s.sink_id);
  assert.ok(ids.includes(sinkId), `owner lists its configured sink: ${ids}`);
  assert.ok(ids.includes(owner.id), `owner lists its implicit sink: ${ids}`);
  assert.equal(ownerList.find((s) => s.sink_id === owner.id).configured, false, 'implicit sink not configured');
  const adminList = (await inspector.request('GET', '/api/v1/sinks', { key: ADMIN_KEY })).json().sinks;
  assert.ok(adminList.some((s) => s.sink_id === sinkId), 'admin lists every sink');

  // The admin may configure a new sink for any integration.
  const adminSink = uniqueId('admin-sink');
  const byAdmin = await inspector.request('PUT', `/api/v1/sinks/${adminSink}`, {
    key: ADMIN_KEY,
    json: { integration_id: other.id, status: 202 },
  });
  assert.equal(byAdmin.status, 201, byAdmin.describe());
  assert.equal(byAdmin.json().integration_id, other.id, 'owner chosen by the admin');
  assert.equal(byAdmin.json().config.integration_id, undefined, 'the owner is not kept in the config');
  assert.equal((await sendToSink(adminSink)).status, 202, 'the admin-made sink answers');
  assert.equal((await inspector.request('GET', `/api/v1/sinks/${adminSink}`, { key: other.apiKey })).status, 200, 'owner reads it');

  // Delete removes config and captures, and the id responds 404.
  const deleted = await inspector.request('DELETE', `/api/v1/sinks/${sinkId}`, { key: owner.apiKey });
  assert.equal(deleted.status, 204, deleted.describe());
  assertProblem(await inspector.request('GET', `/api/v1/sinks/${sinkId}`, { key: ADMIN_KEY }), 404, 'NOT_FOUND', 'read after delete');
  const gone = await sendToSink(sinkId);
  assert.equal(gone.status, 404, 'the deleted sink answers 404');
  // Another integration may take the id now.
  assert.equal(
    (await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: other.apiKey, json: {} })).status,
    201,
    'a free id can be taken',
  );
});

test('roles: viewer, support, read-only key', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('roles');
  const sinkId = uniqueId('roles-sink');
  await putSink(sinkId, integration.apiKey, { status: 200 });

  const tokens = {};
  for (const role of ['viewer', 'support']) {
    const res = await inspector.request('POST', '/api/v1/inspector/support-tokens', {
      key: ADMIN_KEY,
      json: { name: `sinks-${role}`, role },
    });
    assert.equal(res.status, 201, `creating a ${role} token: ${res.describe()}`);
    tokens[role] = res.json().token;
  }
  const readKey = await api.request('POST', `/api/v1/integrations/${integration.id}/keys`, {
    key: integration.apiKey,
    json: { name: 'read only', scopes: ['read'] },
  });
  assert.equal(readKey.status, 201, `creating a read key: ${readKey.describe()}`);
  const readOnly = readKey.json().key || readKey.json().api_key;
  assert.ok(readOnly, `the key is returned: ${readKey.text}`);

  for (const [label, key] of [['viewer', tokens.viewer], ['read-only key', readOnly]]) {
    const read = await inspector.request('GET', `/api/v1/sinks/${sinkId}`, { key });
    assert.equal(read.status, 200, `${label} reads: ${read.describe()}`);
    const requests = await inspector.request('GET', `/api/v1/sinks/${sinkId}/requests`, { key });
    assert.equal(requests.status, 200, `${label} lists captures: ${requests.describe()}`);
    const put = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key, json: { status: 500 } });
    assertProblem(put, 403, 'FORBIDDEN', `${label} configures`);
    const clear = await inspector.request('DELETE', `/api/v1/sinks/${sinkId}/requests`, { key });
    assertProblem(clear, 403, 'FORBIDDEN', `${label} clears`);
  }
  assert.equal((await sendToSink(sinkId)).status, 200, 'the rejected changes left the script as it was');

  const bySupport = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, {
    key: tokens.support,
    json: { status: 202 },
  });
  assert.equal(bySupport.status, 200, `support configures: ${bySupport.describe()}`);
  assert.equal((await sendToSink(sinkId)).status, 202, 'the support change applies');
  const newBySupport = await inspector.request('PUT', `/api/v1/sinks/${uniqueId('support-sink')}`, {
    key: tokens.support,
    json: { integration_id: integration.id },
  });
  assert.equal(newBySupport.status, 201, `support creates a sink: ${newBySupport.describe()}`);
});

test('sink named like an integration works without config', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('implicit');
  const res = await sendToSink(integration.id, { body: Buffer.from('{"a":1}') });
  assert.equal(res.status, 200, 'status');
  assert.equal(JSON.parse(res.body.toString()).received, true, 'body as before');
  const [capture] = await captures(integration.id, integration.apiKey);
  assert.equal(capture.id, JSON.parse(res.body.toString()).capture_id, 'capture id');
  const view = (await inspector.request('GET', `/api/v1/sinks/${integration.id}`, { key: integration.apiKey })).json();
  assert.equal(view.configured, false, 'not configured');
  assert.equal(view.integration_id, integration.id, 'owned by the integration');

  // An unknown sink answers 404 problem+json.
  const unknown = await sendToSink(uniqueId('nobody'));
  assert.equal(unknown.status, 404, 'unknown sink');
  assert.match(unknown.headers['content-type'], /problem\+json/, 'problem+json');
  assert.equal(JSON.parse(unknown.body.toString()).code, 'NOT_FOUND', 'code');
});

test('new integration takes back its sink', { timeout: scaled(20000) }, async () => {
  // Another integration configured the sink under an id that no
  // integration had yet, and it received a request.
  const squatter = await newIntegration('squatter');
  const futureId = uniqueId('future');
  await putSink(futureId, squatter.apiKey, { status: 410, body: 'gone' }, [201]);
  assert.equal((await sendToSink(futureId, { body: Buffer.from('before') })).status, 410, 'the squatter\'s config responds first');

  const created = await api.createIntegration(futureId);
  const owner = { id: futureId, apiKey: created.api_key };
  const response = await sendToSink(futureId, { body: Buffer.from('{"a":1}') });
  assert.equal(response.status, 200, 'the new integration\'s sink responds as unconfigured');
  assert.equal(JSON.parse(response.body.toString()).received, true, 'the default response');

  const view = await inspector.request('GET', `/api/v1/sinks/${futureId}`, { key: owner.apiKey });
  assert.equal(view.status, 200, `the owner reads its sink: ${view.describe()}`);
  assert.equal(view.json().integration_id, futureId, 'owned by the new integration');
  assert.equal(view.json().configured, false, 'the squatter\'s config is gone');
  const own = await captures(futureId, owner.apiKey);
  assert.equal(own.length, 1, 'only the request after the creation is kept');
  const squatterView = await inspector.request('GET', `/api/v1/sinks/${futureId}/requests`, { key: squatter.apiKey });
  assert.equal(squatterView.status, 404, `the squatter no longer sees it: ${squatterView.describe()}`);
  const squatterPut = await inspector.request('PUT', `/api/v1/sinks/${futureId}`, { key: squatter.apiKey, json: { status: 200 } });
  assert.equal(squatterPut.status, 409, `the squatter cannot configure it again: ${squatterPut.describe()}`);
});

test('unauthenticated sink routes answer 401', { timeout: scaled(10000) }, async () => {
  assertProblem(await inspector.request('GET', '/api/v1/sinks'), 401, 'UNAUTHORIZED', 'list');
  assertProblem(await inspector.request('PUT', '/api/v1/sinks/some-sink', { json: {} }), 401, 'UNAUTHORIZED', 'put');
});

// ---- validation -----------------------------------------------------------

test('invalid configs are rejected with the field', { timeout: scaled(30000) }, async () => {
  const integration = await newIntegration('invalid');
  const sinkId = uniqueId('invalid-sink');
  const cases = [
    [{ status: 99 }, 'status'],
    [{ status: '200' }, 'status'],
    [{ headers: { 'Bad Name': 'x' } }, 'headers.Bad Name'],
    [{ headers: { 'X-Split': 'a\r\nInjected: yes' } }, 'headers.X-Split'],
    [{ headers: { 'X-Nul': 'a\u0000b' } }, 'headers.X-Nul'],
    [{ headers: { 'Content-Length': '3' } }, 'headers.Content-Length'],
    [{ headers: { 'Set-Cookie': 'hg_session=hgs_x; Path=/' } }, 'headers.Set-Cookie'],
    [{ headers: { 'Content-Security-Policy': 'default-src *' } }, 'headers.Content-Security-Policy'],
    // Long names are named in full, and a name that is not a token is
    // never cut inside a UTF-8 sequence.
    [{ headers: { [`X-${'a'.repeat(126)}`]: 'a\r\nb' } }, `headers.X-${'a'.repeat(126)}`],
    [{ sequence: [{}, { headers: { [`${'a'.repeat(39)}\u00e9`]: 'x' } }] }, `sequence[1].headers.${'a'.repeat(39)}\u00e9`],
    [{ body: 'x'.repeat(64 * 1024 + 1) }, 'body'],
    [{ delay_ms: 60001 }, 'delay_ms'],
    [{ sequence: [] }, 'sequence'],
    [{ sequence: Array.from({ length: 101 }, () => ({})) }, 'sequence'],
    [{ sequence: [{ status: 200 }, { status: 700 }] }, 'sequence[1].status'],
    [{ after: 'cycle' }, 'after'],
    [{ failure_percent: 101 }, 'failure_percent'],
    [{ retry_after: 'tomorrow' }, 'retry_after'],
    [{ body: 'x'.repeat(100), trickle_bytes_per_s: 1 }, 'trickle_bytes_per_s'],
    [{ body: 'abc', cut_after_bytes: 3 }, 'cut_after_bytes'],
    [{ colour: 'red' }, 'colour'],
    [{ endpoint_id: 'nope' }, 'endpoint_id'],
  ];
  for (const [config, field] of cases) {
    const res = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: integration.apiKey, json: config });
    assertProblem(res, 422, 'VALIDATION_ERROR', `config ${JSON.stringify(config).slice(0, 80)}`);
    assert.equal(res.json().field, field, `field of ${JSON.stringify(config).slice(0, 80)}`);
  }
  const malformed = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, {
    key: integration.apiKey,
    body: '{"status":',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(malformed, 400, 'MALFORMED_JSON', 'malformed JSON');
  const badId = await inspector.request('PUT', '/api/v1/sinks/Bad.Id', { key: integration.apiKey, json: {} });
  assertProblem(badId, 422, 'VALIDATION_ERROR', 'invalid sink id');
  const noOwner = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: ADMIN_KEY, json: {} });
  assertProblem(noOwner, 422, 'VALIDATION_ERROR', 'admin without integration_id');
  assert.equal(noOwner.json().field, 'integration_id', 'field of the missing owner');
  const unknownOwner = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, {
    key: ADMIN_KEY,
    json: { integration_id: 'no-such-integration' },
  });
  assertProblem(unknownOwner, 422, 'VALIDATION_ERROR', 'unknown integration');

  // Nothing was created by the rejected requests.
  assertProblem(await inspector.request('GET', `/api/v1/sinks/${sinkId}`, { key: ADMIN_KEY }), 404, 'NOT_FOUND', 'no sink');
  assert.equal((await sendToSink(sinkId)).status, 404, 'the sink does not answer');
});

test('If-Match applies to the API only', { timeout: scaled(20000) }, async () => {
  const integration = await newIntegration('ifmatch');
  const sinkId = uniqueId('ifmatch-sink');
  const ifMatch = { 'If-Match': '"v1"' };
  await putSink(sinkId, integration.apiKey, { status: 201 });
  const put = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { key: integration.apiKey, json: { status: 202 }, headers: ifMatch });
  assertProblem(put, 412, 'PRECONDITION_FAILED', 'PUT of a sink with an If-Match tag');
  const anonymous = await inspector.request('PUT', `/api/v1/sinks/${sinkId}`, { json: { status: 202 }, headers: ifMatch });
  assert.equal(anonymous.status, 401, `the credential is checked first: ${anonymous.describe()}`);
  // A sink records whatever a sender sends, preconditions included.
  const received = await sendToSink(sinkId, { body: Buffer.from('{}'), headers: { ...ifMatch, 'Content-Type': 'application/json' } });
  assert.equal(received.status, 201, 'the sink answers as configured');
});
