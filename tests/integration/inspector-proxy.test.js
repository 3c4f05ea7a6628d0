'use strict';

// The partner API through the inspector: hookgate-inspector forwards a
// fixed list of gateway routes after checking the caller's role, and
// searches events by event id, delivery id, webhook-id, correlation id and
// text in payloads.
// Also the gateway's event replay route.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { before, test } = require('node:test');

const { Api, assertProblem, uniqueId } = require('./lib/api');
const {
  ADMIN_KEY,
  freePort,
  redisCli,
  scaled,
  setupHarness,
  waitFor,
} = require('./lib/harness');
const { startReceiver } = require('./lib/receiver');

const harness = setupHarness('inspector-proxy');
let gateway;
let api;
let insp;
let inspector;
let receiver;
// Two integrations, each with one endpoint at the receiver, and one event
// published to each with a known correlation id.
let alpha;
let beta;

const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_RETRY_SCHEDULE: '',
  HOOKGATE_BREAKER_FAILURES: '1000',
};
const PAYLOAD = { type: 'booking.created', data: { booking_id: 'bk_1' } };

/** Starts hookgate-inspector with extra environment and waits for /readyz. */
async function startInspector(extraEnv = {}) {
  return harness.startInspector(extraEnv, { gatewayPort: gateway.port });
}

/** Creates an integration with an endpoint at the receiver and publishes one event. */
async function setUpIntegration(label) {
  const id = uniqueId(label);
  const created = await api.createIntegration(id);
  const endpoint = await api.createEndpoint(id, created.api_key, {
    url: receiver.url(`/${id}`),
    event_types: ['*'],
  });
  const correlationId = `corr-${label}-${crypto.randomBytes(6).toString('hex')}`;
  const eventId = await api.publishAccepted(id, created.api_key, PAYLOAD, { 'X-Request-Id': correlationId });
  const event = await api.waitForSettled(id, created.api_key, eventId, { timeoutMs: 10000 });
  return {
    id,
    key: created.api_key,
    endpointId: endpoint.id,
    eventId,
    deliveryId: event.deliveries[0].id,
    correlationId,
  };
}

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new Api(gateway.port));
  receiver = harness.closeLater(await startReceiver());
  inspector = await startInspector();
  insp = harness.closeLater(new Api(inspector.port));
  alpha = await setUpIntegration('alpha');
  beta = await setUpIntegration('beta');
});

/**
 * Asserts an inspector problem response: status, problem+json, code, and a
 * request_id equal to X-Request-Id. The inspector sends no API-Version
 * header, so assertProblem (which requires it) is only used on the gateway.
 */
function assertInspectorProblem(res, status, code, label) {
  assert.equal(res.status, status, `${label}: status (${res.describe()})`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${label}: Content-Type`);
  const problem = res.json();
  assert.equal(problem.code, code, `${label}: code`);
  assert.equal(problem.status, status, `${label}: status member`);
  assert.equal(problem.request_id, res.headers['x-request-id'], `${label}: request_id`);
}

/** Asserts that status is a client error (400 to 499). */
function assertClientError(status, label) {
  assert.ok(status >= 400, `${label}: status ${status} is at least 400`);
  assert.ok(status < 500, `${label}: status ${status} is below 500`);
}

/** Sends raw bytes to the inspector and returns the status line's code. */
function rawStatus(port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => socket.destroy(new Error('raw request timed out')), scaled(5000));
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
      resolve({ status: match ? Number(match[1]) : null, text: reply });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reads urlPath on the gateway and through the inspector with the same request id. */
async function readBoth(urlPath, key) {
  const headers = { 'X-Request-Id': `it-read-${crypto.randomBytes(6).toString('hex')}` };
  const direct = await api.request('GET', urlPath, { key, headers });
  const forwarded = await insp.request('GET', urlPath, { key, headers });
  return { direct, forwarded };
}

test('reads equal the gateway responses', async () => {
  const base = `/api/v1/integrations/${alpha.id}`;
  const since = encodeURIComponent(new Date(Date.now() - 3600e3).toISOString());
  const paths = [
    base,
    `${base}/events`,
    `${base}/events?type=booking.created&limit=1`,
    `${base}/events?since=${since}&limit=5`,
    `${base}/events?type=nothing.here`,
    `${base}/events?limit=0`,
    `${base}/events/${alpha.eventId}`,
    `${base}/events/${alpha.eventId}/payload`,
    `${base}/events/evt_01JQ3Z7Y8X9W0V1T2S3R4Q5P6N`,
    `${base}/deliveries`,
    `${base}/deliveries?status=succeeded&endpoint_id=${alpha.endpointId}&limit=2`,
    `${base}/deliveries?status=bogus`,
    `${base}/deliveries/${alpha.deliveryId}`,
    `${base}/endpoints`,
    `${base}/endpoints/${alpha.endpointId}`,
    `${base}/endpoints/ep_missing`,
    '/api/v1/event-types',
  ];
  for (const key of [ADMIN_KEY, alpha.key]) {
    for (const urlPath of paths) {
      const { direct, forwarded } = await readBoth(urlPath, key);
      const label = `${urlPath} (${key === ADMIN_KEY ? 'admin' : 'integration key'})`;
      assert.equal(forwarded.status, direct.status, `${label}: status (${forwarded.describe()})`);
      assert.equal(forwarded.headers['content-type'], direct.headers['content-type'], `${label}: Content-Type`);
      assert.deepEqual(forwarded.json(), direct.json(), `${label}: body`);
    }
  }
  const { direct, forwarded } = await readBoth('/api/v1/integrations?limit=100', ADMIN_KEY);
  assert.equal(forwarded.status, 200, `admin list: ${forwarded.describe()}`);
  assert.deepEqual(forwarded.json(), direct.json(), 'admin list body');
});

test('rate limit headers come back', async () => {
  const res = await insp.request('GET', `/api/v1/integrations/${alpha.id}/events`, { key: alpha.key });
  assert.equal(res.status, 200, res.describe());
  assert.ok(res.headers['ratelimit'] || res.headers['ratelimit-policy'], 'a RateLimit header is copied');
});

test('integration key lists only its integration', async () => {
  const res = await insp.request('GET', '/api/v1/integrations', { key: alpha.key });
  assert.equal(res.status, 200, res.describe());
  const body = res.json();
  assert.deepEqual(body.data.map((i) => i.id), [alpha.id], 'only the caller integration is listed');
  assert.equal(body.next_cursor, null, 'one page');
});

test('integration key cannot reach another integration', async () => {
  const other = `/api/v1/integrations/${beta.id}`;
  const reads = [other, `${other}/events`, `${other}/events/${beta.eventId}`, `${other}/deliveries/${beta.deliveryId}`];
  for (const urlPath of reads) {
    const res = await insp.request('GET', urlPath, { key: alpha.key });
    assertInspectorProblem(res, 403, 'FORBIDDEN', `GET ${urlPath}`);
  }
  const actions = [
    `${other}/deliveries/${beta.deliveryId}/redeliver`,
    `${other}/events/${beta.eventId}/replay`,
    `${other}/endpoints/${beta.endpointId}/disable`,
  ];
  for (const urlPath of actions) {
    const res = await insp.request('POST', urlPath, { key: alpha.key });
    assertInspectorProblem(res, 403, 'FORBIDDEN', `POST ${urlPath}`);
  }
  const endpoint = await api.request('GET', `${other}/endpoints/${beta.endpointId}`, { key: ADMIN_KEY });
  assert.equal(endpoint.json().status, 'enabled', 'the other endpoint was not disabled');
});

test('unlisted routes are not forwarded', async () => {
  const base = `/api/v1/integrations/${alpha.id}`;
  const cases = [
    ['DELETE', `${base}/endpoints/${alpha.endpointId}`, 405],
    ['PATCH', `${base}/endpoints/${alpha.endpointId}`, 405],
    ['POST', `${base}/endpoints/${alpha.endpointId}/rotate-secret`, 404],
    ['POST', `${base}/endpoints/${alpha.endpointId}/recover`, 404],
    ['DELETE', base, 405],
    ['POST', '/api/v1/integrations', 405],
    ['POST', `${base}/events`, 405],
    ['GET', `${base}/keys`, 404],
    ['GET', `${base}/audit`, 404],
    ['POST', '/api/v1/sandbox/reset', 404],
  ];
  for (const [method, urlPath, status] of cases) {
    const res = await insp.request(method, urlPath, { key: ADMIN_KEY, json: {} });
    assert.equal(res.status, status, `${method} ${urlPath}: ${res.describe()}`);
  }
  const endpoint = await api.request('GET', `${base}/endpoints/${alpha.endpointId}`, { key: ADMIN_KEY });
  assert.equal(endpoint.status, 200, 'the endpoint still exists');
});

test('hostile paths and queries get 4xx', async () => {
  const base = `/api/v1/integrations/${alpha.id}`;
  const paths = [
    `/api/v1/integrations/${alpha.id}%2F..%2F${beta.id}/events`,
    `${base}/events/${alpha.eventId}%2Fpayload`,
    `${base}/events/..%2F..%2F${beta.id}`,
    `${base}/events/../../${beta.id}/events`,
    `${base}/deliveries/dlv_..%2Fx_1`,
    `${base}/endpoints/ep_a%0d%0aX-Injected:%201`,
    `/api/v1/integrations/${'a'.repeat(300)}/events`,
    `${base}/events/evt_${'0'.repeat(3000)}`,
  ];
  for (const urlPath of paths) {
    const res = await insp.request('GET', urlPath, { key: ADMIN_KEY });
    assertClientError(res.status, `${urlPath}: ${res.describe()}`);
    assert.match(String(res.headers['content-type']), /problem\+json/, `${urlPath}: problem+json`);
  }
  const longQuery = await insp.request('GET', `${base}/events?type=${'a'.repeat(3000)}`, { key: ADMIN_KEY });
  assertInspectorProblem(longQuery, 400, 'BAD_REQUEST', 'long query');

  const encodedCrlf = await readBoth(`${base}/events?type=a%0d%0aX-Injected:%201`, ADMIN_KEY);
  assert.equal(encodedCrlf.forwarded.status, encodedCrlf.direct.status, 'an encoded CRLF reaches the gateway as data');
  assertClientError(encodedCrlf.forwarded.status, 'encoded CRLF');

  // libevhtp's parser splits a fragment off the request target, so only
  // "type=a" is left to forward, and the response must still be clean.
  const fragment = await rawStatus(
    inspector.port,
    `GET ${base}/events?type=a#b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n\r\n`,
  );
  assert.ok([200, 400].includes(fragment.status), `a fragment: ${fragment.text.slice(0, 200)}`);
  const raw = [
    `GET ${base}/events?type=a\tb HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n\r\n`,
    `GET ${base}/events?type=\x7f HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n\r\n`,
  ];
  for (const text of raw) {
    const res = await rawStatus(inspector.port, text);
    assertClientError(res.status, `raw ${JSON.stringify(text.slice(0, 60))}: ${res.text.slice(0, 200)}`);
  }

  const big = await insp.request('POST', `${base}/endpoints/${alpha.endpointId}/test`, {
    key: ADMIN_KEY,
    json: { type: 'booking.created', payload: { pad: 'x'.repeat(70 * 1024) } },
  });
  assertInspectorProblem(big, 413, 'PAYLOAD_TOO_LARGE', 'a body over 64 KiB');
});

test('redeliver through the inspector adds an attempt', async () => {
  const before = receiver.requestsFor(alpha.eventId).length;
  const res = await insp.request('POST', `/api/v1/integrations/${alpha.id}/deliveries/${alpha.deliveryId}/redeliver`, {
    key: alpha.key,
  });
  assert.equal(res.status, 202, res.describe());
  assert.deepEqual(res.json(), { delivery_id: alpha.deliveryId, status: 'queued' });
  await receiver.waitForRequests(before + 1, { timeoutMs: 10000, filter: (r) => r.headers['webhook-id'] === alpha.eventId });
  const delivery = await api.getDelivery(alpha.id, alpha.key, alpha.deliveryId);
  assert.ok(delivery.attempts.length >= 2, `attempts: ${delivery.attempts.length}`);
});

test('replay through the inspector sends each delivery again', async () => {
  const id = uniqueId('replay');
  const created = await api.createIntegration(id);
  const endpoints = [];
  for (const name of ['one', 'two']) {
    endpoints.push(await api.createEndpoint(id, created.api_key, { url: receiver.url(`/${id}/${name}`), event_types: ['*'] }));
  }
  const eventId = await api.publishAccepted(id, created.api_key, PAYLOAD);
  const event = await api.waitForSettled(id, created.api_key, eventId, { timeoutMs: 10000 });
  assert.equal(event.deliveries.length, 2, 'one delivery per endpoint');
  assert.equal(receiver.requestsFor(eventId).length, 2, 'first attempts');

  const res = await insp.request('POST', `/api/v1/integrations/${id}/events/${eventId}/replay`, { key: ADMIN_KEY });
  assert.equal(res.status, 202, res.describe());
  const body = res.json();
  assert.equal(body.event_id, eventId);
  assert.equal(body.status, 'queued');
  assert.deepEqual([...body.deliveries].sort(), event.deliveries.map((d) => d.id).sort());

  const requests = await receiver.waitForRequests(4, { timeoutMs: 10000, filter: (r) => r.headers['webhook-id'] === eventId });
  const perPath = {};
  for (const request of requests) {
    perPath[request.path] = (perPath[request.path] || 0) + 1;
  }
  assert.deepEqual(perPath, { [`/${id}/one`]: 2, [`/${id}/two`]: 2 }, 'one more attempt per delivery');
});

test('test event reaches the endpoint', async () => {
  const res = await insp.request('POST', `/api/v1/integrations/${alpha.id}/endpoints/${alpha.endpointId}/test`, {
    key: alpha.key,
    json: { type: 'booking.created' },
  });
  assert.equal(res.status, 202, res.describe());
  const eventId = res.json().event_id;
  assert.match(eventId, /^evt_/);
  const [request] = await receiver.waitForRequests(1, { timeoutMs: 10000, filter: (r) => r.headers['webhook-id'] === eventId });
  assert.equal(request.path, `/${alpha.id}`, 'sent to the endpoint');
});

test('disable and enable change the endpoint', async () => {
  const base = `/api/v1/integrations/${alpha.id}/endpoints/${alpha.endpointId}`;
  const disabled = await insp.request('POST', `${base}/disable`, { key: alpha.key, json: {} });
  assert.equal(disabled.status, 200, disabled.describe());
  let read = await api.request('GET', base, { key: alpha.key });
  assert.equal(read.json().status, 'disabled', 'disabled on the gateway');
  const enabled = await insp.request('POST', `${base}/enable`, { key: alpha.key, json: {} });
  assert.equal(enabled.status, 200, enabled.describe());
  read = await api.request('GET', base, { key: alpha.key });
  assert.equal(read.json().status, 'enabled', 'enabled again on the gateway');
});

test('caller credential is forwarded', async () => {
  const none = await insp.request('GET', `/api/v1/integrations/${alpha.id}`);
  assertInspectorProblem(none, 401, 'UNAUTHORIZED', 'no credential');
  const wrong = await insp.request('GET', `/api/v1/integrations/${alpha.id}`, { key: 'not-a-key-0123456789' });
  assert.equal(wrong.status, 401, wrong.describe());

  const keys = await api.request('GET', `/api/v1/integrations/${alpha.id}/keys`, { key: alpha.key });
  const actor = `key:${keys.json().data[0].id}`;
  const requestId = `it-actor-${crypto.randomBytes(6).toString('hex')}`;
  const res = await insp.request('POST', `/api/v1/integrations/${alpha.id}/events/${alpha.eventId}/replay`, {
    key: alpha.key,
    headers: { 'X-Request-Id': requestId },
  });
  assert.equal(res.status, 202, res.describe());
  assert.equal(res.headers['x-request-id'], requestId, 'the request id comes back');
  const record = await waitFor(
    async () => {
      const audit = await api.request('GET', `/api/v1/integrations/${alpha.id}/audit`, { key: alpha.key });
      return audit.json().data.find((r) => r.request_id === requestId);
    },
    { timeoutMs: 5000, description: 'the audit record of the forwarded replay' },
  );
  assert.equal(record.actor, actor, 'the gateway audits the caller, not the inspector');
  assert.equal(record.action, 'event.replay');

  const log = fs.readFileSync(inspector.logFile, 'utf8');
  assert.ok(!log.includes(alpha.key), 'the inspector log does not contain the API key');
  assert.ok(!log.includes(ADMIN_KEY), 'the inspector log does not contain the admin key');
});

test('unreachable gateway gives 503 quickly', async () => {
  const port = await freePort();
  const down = await startInspector({ HOOKGATE_INSPECTOR_GATEWAY_URL: `http://127.0.0.1:${port}` });
  const client = harness.closeLater(new Api(down.port));
  const started = Date.now();
  const res = await client.request('GET', `/api/v1/integrations/${alpha.id}`, { key: ADMIN_KEY });
  const elapsed = Date.now() - started;
  assertInspectorProblem(res, 503, 'UNAVAILABLE', 'gateway down');
  assert.ok(elapsed < scaled(2000), `answered in ${elapsed} ms`);
  await harness.stop(down);
});

test('slow gateway gives 503 after the timeout', async () => {
  const sockets = new Set();
  const silent = http.createServer(() => {});
  silent.on('connection', (s) => sockets.add(s));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  harness.closeLater({
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => silent.close(resolve));
    },
  });
  const slow = await startInspector({
    HOOKGATE_INSPECTOR_GATEWAY_URL: `http://127.0.0.1:${silent.address().port}/`,
    HOOKGATE_INSPECTOR_GATEWAY_TIMEOUT_MS: '500',
  });
  const client = harness.closeLater(new Api(slow.port));
  const started = Date.now();
  const res = await client.request('POST', `/api/v1/integrations/${alpha.id}/events/${alpha.eventId}/replay`, {
    key: ADMIN_KEY,
  });
  const elapsed = Date.now() - started;
  assertInspectorProblem(res, 503, 'UNAVAILABLE', 'gateway silent');
  assert.ok(elapsed >= 400, `waited for the timeout (${elapsed} ms)`);
  assert.ok(elapsed < scaled(3000), `answered in ${elapsed} ms`);
  await harness.stop(slow);
});

test('interim or odd gateway status gives 502', async () => {
  // A stand-in gateway that sends raw bytes: an interim 103 before the
  // final response, or a status outside HTTP's range.
  const rawResponses = [
    'HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    'HTTP/1.1 999 Odd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
  ];
  for (const rawResponse of rawResponses) {
    const raw = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(rawResponse));
    });
    await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const odd = await startInspector({ HOOKGATE_INSPECTOR_GATEWAY_URL: `http://127.0.0.1:${raw.address().port}` });
    const client = new Api(odd.port);
    try {
      const res = await client.request('GET', `/api/v1/integrations/${alpha.id}`, { key: ADMIN_KEY });
      assertInspectorProblem(res, 502, 'BAD_GATEWAY', `response ${rawResponse.slice(0, 20)}`);
    } finally {
      await client.close();
      await harness.stop(odd);
      await new Promise((resolve) => raw.close(resolve));
    }
  }
});

/** Searches through the inspector and returns the results. */
async function search(q, key) {
  const res = await insp.request('GET', `/api/v1/inspector/search?q=${encodeURIComponent(q)}`, { key });
  assert.equal(res.status, 200, `search ${q}: ${res.describe()}`);
  return res.json().results;
}

test('search finds events by each id', async () => {
  const [request] = receiver.requestsFor(alpha.eventId);
  const webhookId = request.headers['webhook-id'];
  const cases = [
    [alpha.eventId, 'event_id'],
    [alpha.deliveryId, 'delivery_id'],
    [webhookId, 'event_id'],
    [alpha.correlationId, 'correlation_id'],
  ];
  for (const key of [ADMIN_KEY, alpha.key]) {
    for (const [q, matched] of cases) {
      const results = await search(q, key);
      assert.equal(results.length, 1, `${q}: one result`);
      assert.equal(results[0].integration_id, alpha.id, `${q}: integration`);
      assert.equal(results[0].event_id, alpha.eventId, `${q}: event`);
      assert.equal(results[0].type, 'booking.created', `${q}: type`);
      assert.match(results[0].created_at, /^\d{4}-/, `${q}: created_at`);
      assert.equal(results[0].matched, matched, `${q}: matched`);
    }
  }
  assert.deepEqual(await search('no-such-request-id', ADMIN_KEY), [], 'unknown correlation id');
  assert.deepEqual(await search('evt_01JQ3Z7Y8X9W0V1T2S3R4Q5P6N', ADMIN_KEY), [], 'unknown event id');
  assert.deepEqual(await search('hello world!', ADMIN_KEY), [], 'text that no id has');

  const missing = await insp.request('GET', '/api/v1/inspector/search', { key: ADMIN_KEY });
  assertInspectorProblem(missing, 422, 'VALIDATION_ERROR', 'search without q');
  const anonymous = await insp.request('GET', `/api/v1/inspector/search?q=${alpha.eventId}`);
  assertInspectorProblem(anonymous, 401, 'UNAUTHORIZED', 'search without a credential');
});

test('search results stay within the integration', async () => {
  for (const q of [alpha.eventId, alpha.deliveryId, alpha.correlationId]) {
    assert.deepEqual(await search(q, beta.key), [], `${q} is hidden from another integration`);
  }
  const shared = `corr-shared-${crypto.randomBytes(6).toString('hex')}`;
  const a = await api.publishAccepted(alpha.id, alpha.key, PAYLOAD, { 'X-Request-Id': shared });
  const b = await api.publishAccepted(beta.id, beta.key, PAYLOAD, { 'X-Request-Id': shared });
  assert.deepEqual((await search(shared, alpha.key)).map((r) => r.event_id), [a]);
  assert.deepEqual((await search(shared, beta.key)).map((r) => r.event_id), [b]);
  const all = await search(shared, ADMIN_KEY);
  assert.deepEqual(all.map((r) => r.event_id).sort(), [a, b].sort(), 'the admin sees both');
});

test('search finds text in payloads', async () => {
  const booking = `bk_${crypto.randomBytes(6).toString('hex')}`;
  const body = { type: 'booking.cancelled', data: { booking_id: booking, note: 'Zürich "quoted"' } };
  const eventId = await api.publishAccepted(alpha.id, alpha.key, body);
  for (const key of [ADMIN_KEY, alpha.key]) {
    const results = await search(booking, key);
    assert.deepEqual(results.map((r) => [r.event_id, r.matched, r.type]), [[eventId, 'payload', 'booking.cancelled']],
      'the booking id finds its event');
  }
  assert.deepEqual((await search('Zürich', ADMIN_KEY)).map((r) => r.event_id).slice(0, 1), [eventId], 'UTF-8 text');
  // The text is matched against the published bytes, where quotes are JSON syntax.
  assert.deepEqual((await search(`"booking_id":"${booking}"`, ADMIN_KEY)).map((r) => r.event_id), [eventId],
    'a JSON fragment');
  assert.deepEqual((await search('.*', ADMIN_KEY)), [], 'the text is not a pattern');
  assert.deepEqual(await search(booking, beta.key), [], 'another integration finds nothing');

  const one = await insp.request('GET', `/api/v1/inspector/search?q=${booking}&integration=${alpha.id}`, { key: ADMIN_KEY });
  assert.equal(one.status, 200, one.describe());
  assert.equal(one.json().payloads_searched, true, 'payloads were read');
  assert.deepEqual(one.json().results.map((r) => r.event_id), [eventId], 'one integration chosen');
  const other = await insp.request('GET', `/api/v1/inspector/search?q=${booking}&integration=${alpha.id}`, { key: beta.key });
  assertInspectorProblem(other, 404, 'NOT_FOUND', 'choosing an integration the key cannot see');
  const short = await insp.request('GET', '/api/v1/inspector/search?q=bk', { key: ADMIN_KEY });
  assert.equal(short.json().payloads_searched, false, 'two characters do not read payloads');
  const control = await insp.request('GET', '/api/v1/inspector/search?q=a%0Ab', { key: ADMIN_KEY });
  assertInspectorProblem(control, 422, 'VALIDATION_ERROR', 'a control character');
  const badUtf8 = await insp.request('GET', '/api/v1/inspector/search?q=%FF%FEabc', { key: ADMIN_KEY });
  assertInspectorProblem(badUtf8, 422, 'VALIDATION_ERROR', 'bytes that are not UTF-8');
});

test('integration delete purges the correlation index', async () => {
  const doomed = await setUpIntegration('doomed');
  const key = `hg:{${doomed.id}}:corr:${doomed.correlationId}`;
  assert.equal((await redisCli(harness.redisPort, ['EXISTS', key])).trim(), '1', 'the index exists');
  const ttl = Number((await redisCli(harness.redisPort, ['TTL', key])).trim());
  assert.ok(ttl > 0, `the index expires (TTL ${ttl})`);
  const res = await api.request('DELETE', `/api/v1/integrations/${doomed.id}`, { key: ADMIN_KEY });
  assert.equal(res.status, 200, res.describe());
  assert.equal((await redisCli(harness.redisPort, ['EXISTS', key])).trim(), '0', 'the index is gone');
  assert.deepEqual(await search(doomed.correlationId, ADMIN_KEY), [], 'nothing is found');
});

test('replay on the gateway', async () => {
  const base = `/api/v1/integrations/${beta.id}/events`;
  const unknown = await api.request('POST', `${base}/evt_01JQ3Z7Y8X9W0V1T2S3R4Q5P6N/replay`, { key: beta.key });
  assertProblem(unknown, 404, 'NOT_FOUND', 'unknown event');
  const malformed = await api.request('POST', `${base}/not-an-event/replay`, { key: beta.key });
  assertProblem(malformed, 404, 'NOT_FOUND', 'malformed event id');
  const anonymous = await api.request('POST', `${base}/${beta.eventId}/replay`);
  assert.equal(anonymous.status, 401, anonymous.describe());
  const other = await api.request('POST', `${base}/${beta.eventId}/replay`, { key: alpha.key });
  assert.ok([403, 404].includes(other.status), `another integration's key: ${other.describe()}`);

  const readKey = await api.request('POST', `/api/v1/integrations/${beta.id}/keys`, {
    key: beta.key,
    json: { name: 'reader', scopes: ['read'] },
  });
  assert.equal(readKey.status, 201, readKey.describe());
  const readOnly = await api.request('POST', `${base}/${beta.eventId}/replay`, { key: readKey.json().key });
  assertProblem(readOnly, 403, 'FORBIDDEN', 'a read-only key');

  const before = receiver.requestsFor(beta.eventId).length;
  const requestId = `it-replay-${crypto.randomBytes(6).toString('hex')}`;
  const res = await api.request('POST', `${base}/${beta.eventId}/replay`, {
    key: ADMIN_KEY,
    headers: { 'X-Request-Id': requestId },
  });
  assert.equal(res.status, 202, res.describe());
  assert.deepEqual(res.json(), { event_id: beta.eventId, deliveries: [beta.deliveryId], status: 'queued' });
  await receiver.waitForRequests(before + 1, { timeoutMs: 10000, filter: (r) => r.headers['webhook-id'] === beta.eventId });

  const record = await waitFor(
    async () => {
      const audit = await api.request('GET', `/api/v1/integrations/${beta.id}/audit`, { key: beta.key });
      return audit.json().data.find((r) => r.request_id === requestId);
    },
    { timeoutMs: 5000, description: 'the event.replay audit record' },
  );
  assert.equal(record.action, 'event.replay');
  assert.equal(record.target, beta.eventId);
  assert.equal(record.actor, 'admin');
  assert.deepEqual(record.details.deliveries, [beta.deliveryId]);
});

/** Creates a support token through the inspector and returns its JSON. */
async function createSupportToken(role) {
  const res = await insp.request('POST', '/api/v1/inspector/support-tokens', {
    key: ADMIN_KEY,
    json: { name: `it-${role}`, role },
  });
  assert.equal(res.status, 201, `support token ${role}: ${res.describe()}`);
  return res.json();
}

test('session cookie is forwarded', async () => {
  const signIn = await insp.request('POST', '/inspector/api/session', { json: { key: alpha.key } });
  assert.equal(signIn.status, 200, signIn.describe());
  const cookie = String(signIn.headers['set-cookie']).split(';')[0];
  assert.match(cookie, /^hg_session=/);
  const urlPath = `/api/v1/integrations/${alpha.id}/events/${alpha.eventId}`;
  const forwarded = await insp.request('GET', urlPath, { headers: { Cookie: cookie } });
  const direct = await api.request('GET', urlPath, { key: alpha.key });
  assert.equal(forwarded.status, 200, forwarded.describe());
  assert.deepEqual(forwarded.json(), direct.json(), 'same event as the gateway');
  const other = await insp.request('GET', `/api/v1/integrations/${beta.id}`, { headers: { Cookie: cookie } });
  assertInspectorProblem(other, 403, 'FORBIDDEN', 'a session of another integration');
});

test('viewer reads but cannot act', async () => {
  const viewer = await createSupportToken('viewer');
  const urlPath = `/api/v1/integrations/${beta.id}/deliveries/${beta.deliveryId}`;
  const read = await insp.request('GET', urlPath, { key: viewer.token });
  assert.equal(read.status, 200, read.describe());
  assert.equal(read.json().id, beta.deliveryId);
  const actions = [
    `/api/v1/integrations/${beta.id}/deliveries/${beta.deliveryId}/redeliver`,
    `/api/v1/integrations/${beta.id}/events/${beta.eventId}/replay`,
    `/api/v1/integrations/${beta.id}/endpoints/${beta.endpointId}/disable`,
  ];
  for (const action of actions) {
    const res = await insp.request('POST', action, { key: viewer.token });
    assertInspectorProblem(res, 403, 'FORBIDDEN', `viewer POST ${action}`);
  }
  const results = await search(beta.correlationId, viewer.token);
  assert.deepEqual(results.map((r) => r.event_id), [beta.eventId], 'a viewer searches every integration');
  // The sandbox route shows a manage key and a secret, so support tokens may not read it.
  const sandbox = await api.request('GET', '/api/v1/sandbox', { key: viewer.token });
  assert.equal(sandbox.status, 403, `viewer reads the sandbox credentials: ${sandbox.describe()}`);
  assert.equal(sandbox.json().code, 'FORBIDDEN');
});

test('support role acts as itself', async () => {
  const support = await createSupportToken('support');
  const requestId = `it-support-${crypto.randomBytes(6).toString('hex')}`;
  const res = await insp.request('POST', `/api/v1/integrations/${beta.id}/events/${beta.eventId}/replay`, {
    key: support.token,
    headers: { 'X-Request-Id': requestId },
  });
  assert.equal(res.status, 202, res.describe());
  const record = await waitFor(
    async () => {
      const audit = await api.request('GET', `/api/v1/integrations/${beta.id}/audit`, { key: ADMIN_KEY });
      return audit.json().data.find((r) => r.request_id === requestId);
    },
    { timeoutMs: 5000, description: 'the audit record of the support replay' },
  );
  assert.equal(record.actor, `support:${support.id}`, 'the gateway audits the support token');
  const denied = await insp.request('DELETE', `/api/v1/integrations/${beta.id}/endpoints/${beta.endpointId}`, {
    key: support.token,
  });
  assert.equal(denied.status, 405, `support DELETE endpoint: ${denied.describe()}`);
});
