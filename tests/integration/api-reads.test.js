'use strict';

// Reads and checks of the partner API. The tests cover what a caller
// without a valid credential can learn from publish, test events, the
// sandbox and the deprecated catalog path. They cover cursors, query
// decoding, time bounds and paging of the event, delivery and audit lists,
// and the deprecation headers, HEAD, the readiness problem and the event
// view. The last test checks which sandbox fixtures a gateway restores at
// start.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { Api, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, freePort, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');

const harness = setupHarness('api-reads');
// A gateway with sandbox mode on and one worker thread, so that every
// request shares one cached endpoint list.
let api;
// A gateway on the same Redis with sandbox mode off.
let plainApi;
let sandboxKey;

const INVALID_KEY = 'hgk_not_a_key_of_anyone_0123456789';
const HOOK_URL = 'https://hooks.example.com/reads';
// 2026-12-04T00:00:00Z, when booking.confirmed and the per-integration
// catalog path were deprecated.
const DEPRECATED_AT = '@1796342400';
const SUNSET_HTTP_DATE = 'Wed, 30 Jun 2027 00:00:00 GMT';
// The list scripts examine at most this many records per request.
const SCAN_MAX = 10000;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_SANDBOX: '1', HOOKGATE_THREADS: '1' });
  const plain = await harness.startGateway();
  api = harness.closeLater(new Api(gateway.port));
  plainApi = harness.closeLater(new Api(plain.port));
  const sandbox = await waitFor(
    async () => {
      const res = await api.request('GET', '/api/v1/sandbox', { key: ADMIN_KEY });
      return res.status === 200 ? res.json() : null;
    },
    { timeoutMs: 5000, description: 'the sandbox fixtures' },
  );
  sandboxKey = sandbox.api_key;
}, { timeout: scaled(60000) });

function base(id) {
  return `/api/v1/integrations/${id}`;
}

async function createEndpoint(id, key, eventTypes = ['*']) {
  const res = await api.request('POST', `${base(id)}/endpoints`, { key, json: { url: HOOK_URL, event_types: eventTypes } });
  assert.equal(res.status, 201, `create endpoint: ${res.describe()}`);
  return res.json().id;
}

async function listPage(urlPath, key = ADMIN_KEY) {
  const res = await api.request('GET', urlPath, { key });
  assert.equal(res.status, 200, `${urlPath}: ${res.describe()}`);
  return res.json();
}

/** Follows next_cursor from urlPath and returns every page. */
async function allPages(urlPath, key = ADMIN_KEY, maxPages = 20) {
  const pages = [];
  let cursor = null;
  do {
    const sep = urlPath.includes('?') ? '&' : '?';
    const page = await listPage(cursor ? `${urlPath}${sep}cursor=${encodeURIComponent(cursor)}` : urlPath, key);
    pages.push(page);
    cursor = page.next_cursor;
    assert.ok(pages.length <= maxPages, `${urlPath} has more than ${maxPages} pages`);
  } while (cursor);
  return pages;
}

/** Asserts that a response carries none of the deprecation headers. */
function assertNoDeprecation(res, label) {
  assert.equal(res.headers.deprecation, undefined, `${label}: Deprecation`);
  assert.equal(res.headers.sunset, undefined, `${label}: Sunset`);
  assert.equal(res.headers.link, undefined, `${label}: Link`);
}

async function exampleOf(type) {
  const res = await api.request('GET', `/api/v1/event-types/${type}`);
  assert.equal(res.status, 200, `catalog entry ${type}: ${res.describe()}`);
  return res.json().example;
}

/** Returns a delivery id whose time part sorts after every real one. */
function lateDeliveryId(i) {
  return `dlv_Z${String(i).padStart(25, '0')}_0`;
}

test('test event right after endpoint create', async () => {
  const owner = await api.createIntegration(uniqueId('fresh-ep'));
  // A publish makes the only worker thread cache the empty endpoint list.
  await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  const endpointId = await createEndpoint(owner.id, owner.api_key);

  const res = await api.request('POST', `${base(owner.id)}/endpoints/${endpointId}/test`, { key: owner.api_key });
  assert.equal(res.status, 202, `test event to a new endpoint: ${res.describe()}`);
  assert.equal(res.json().endpoint_id, endpointId, 'endpoint_id');

  const disabled = await api.request('POST', `${base(owner.id)}/endpoints/${endpointId}/disable`, { key: owner.api_key });
  assert.ok(disabled.status < 300, `disable: ${disabled.describe()}`);
  assertProblem(
    await api.request('POST', `${base(owner.id)}/endpoints/${endpointId}/test`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'test event to a disabled endpoint',
  );
});

test('test event authenticates first', async () => {
  const owner = await api.createIntegration(uniqueId('test-auth'));
  const enabled = await createEndpoint(owner.id, owner.api_key);
  const disabled = await createEndpoint(owner.id, owner.api_key);
  await api.request('POST', `${base(owner.id)}/endpoints/${disabled}/disable`, { key: owner.api_key });
  const targets = {
    enabled,
    disabled,
    missing: 'ep_00000000000000000000000000',
  };

  const details = new Set();
  for (const [label, endpointId] of Object.entries(targets)) {
    const res = await api.request('POST', `${base(owner.id)}/endpoints/${endpointId}/test`, { key: INVALID_KEY });
    assertProblem(res, 401, 'UNAUTHORIZED', `${label} endpoint with an invalid key`);
    details.add(res.json().detail);
  }
  assert.equal(details.size, 1, `one answer whatever the endpoint: ${[...details].join(' | ')}`);

  const badBody = await api.request('POST', `${base(owner.id)}/endpoints/${enabled}/test`, {
    key: INVALID_KEY,
    body: '{"type":',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(badBody, 401, 'UNAUTHORIZED', 'malformed body with an invalid key');
  assertProblem(
    await api.request('POST', `${base(owner.id)}/endpoints/${targets.missing}/test`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'missing endpoint with the owner key',
  );
});

test('publish authenticates first', async () => {
  const owner = await api.createIntegration(uniqueId('pub-auth'));
  const other = await api.createIntegration(uniqueId('pub-other'));
  const on = await api.request('PATCH', base(owner.id), { key: owner.api_key, json: { validate_payloads: true } });
  assert.equal(on.status, 200, `turning validation on: ${on.describe()}`);
  const missing = uniqueId('pub-missing');
  const valid = await exampleOf('booking.created');
  const cases = [
    ['a valid body', JSON.stringify(valid), {}],
    ['malformed JSON', '{"type":', {}],
    ['a body without type', '{"n":1}', {}],
    ['a payload off its schema', JSON.stringify({ type: 'booking.created', data: {} }), {}],
    ['a wrong content type', JSON.stringify(valid), { 'Content-Type': 'text/plain' }],
    ['an invalid Idempotency-Key', JSON.stringify(valid), { 'Idempotency-Key': 'k'.repeat(256) }],
  ];

  for (const [label, body, headers] of cases) {
    for (const id of [owner.id, missing]) {
      const where = id === missing ? 'a missing integration' : 'an existing integration';
      const invalid = await api.publish(id, INVALID_KEY, body, headers);
      assertProblem(invalid, 401, 'UNAUTHORIZED', `${label} to ${where} with an invalid key`);
      const foreign = await api.publish(id, other.api_key, body, headers);
      assertProblem(foreign, 403, 'FORBIDDEN', `${label} to ${where} with another integration's key`);
    }
  }

  assertProblem(await api.publish(owner.id, owner.api_key, '{"type":'), 400, 'MALFORMED_JSON', 'malformed JSON with the owner key');
  assertProblem(
    await api.publish(owner.id, owner.api_key, { type: 'booking.created', data: {} }),
    422,
    'VALIDATION_ERROR',
    'a payload off its schema with the owner key',
  );
  assertProblem(
    await api.publish(owner.id, owner.api_key, JSON.stringify(valid), { 'Content-Type': 'text/plain' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'a wrong content type with the owner key',
  );
  assertProblem(await api.publish(missing, ADMIN_KEY, valid), 404, 'NOT_FOUND', 'a missing integration with the admin key');
  const events = await listPage(`${base(owner.id)}/events`);
  assert.equal(events.data.length, 0, 'rejected publishes store nothing');
});

test('deprecation headers only on 202', async () => {
  const owner = await api.createIntegration(uniqueId('deprecated'));
  const example = await exampleOf('booking.confirmed');

  const accepted = await api.publish(owner.id, owner.api_key, example);
  assert.equal(accepted.status, 202, `publish: ${accepted.describe()}`);
  assert.equal(accepted.headers.deprecation, DEPRECATED_AT, 'Deprecation is an RFC 9745 date');
  assert.equal(accepted.headers.sunset, SUNSET_HTTP_DATE, 'Sunset');
  assert.equal(accepted.headers.link, '</api/v1/event-types/booking.confirmed>; rel="deprecation"', 'Link');

  const unauthorized = await api.publish(owner.id, INVALID_KEY, example);
  assertProblem(unauthorized, 401, 'UNAUTHORIZED', 'invalid key');
  assertNoDeprecation(unauthorized, '401');
  const missing = await api.publish(uniqueId('dep-missing'), ADMIN_KEY, example);
  assertProblem(missing, 404, 'NOT_FOUND', 'missing integration');
  assertNoDeprecation(missing, '404');
  await api.request('PATCH', base(owner.id), { key: owner.api_key, json: { validate_payloads: true } });
  const invalid = await api.publish(owner.id, owner.api_key, { ...example, data: {} });
  assertProblem(invalid, 422, 'VALIDATION_ERROR', 'payload off its schema');
  assertNoDeprecation(invalid, '422');

  const current = await api.publish(owner.id, owner.api_key, await exampleOf('booking.created'));
  assert.equal(current.status, 202, `current type: ${current.describe()}`);
  assertNoDeprecation(current, 'current type');
});

test('deprecated catalog path checks id', async () => {
  const owner = await api.createIntegration(uniqueId('legacy'));
  const path = `${base(owner.id)}/event-types`;

  const listed = await api.request('GET', path, { key: owner.api_key });
  assert.equal(listed.status, 200, `owner key: ${listed.describe()}`);
  assert.ok(listed.json().data.some((t) => t.type === 'booking.created'), 'the catalog is listed');
  assert.equal(listed.headers.deprecation, DEPRECATED_AT, 'Deprecation is an RFC 9745 date');
  assert.equal(listed.headers.sunset, SUNSET_HTTP_DATE, 'Sunset');
  assert.equal(listed.headers.link, '</openapi.json>; rel="deprecation"', 'Link');

  assertProblem(await api.request('GET', path), 401, 'UNAUTHORIZED', 'no credential');
  assertProblem(await api.request('GET', path, { key: INVALID_KEY }), 401, 'UNAUTHORIZED', 'invalid key');
  assertProblem(
    await api.request('GET', `${base(uniqueId('legacy-missing'))}/event-types`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'missing integration with the admin key',
  );
  assertProblem(
    await api.request('GET', '/api/v1/integrations/Not%20An%20Id/event-types', { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'malformed id',
  );
  const open = await api.request('GET', '/api/v1/event-types');
  assert.equal(open.status, 200, `the catalog needs no credential: ${open.describe()}`);
  assertNoDeprecation(open, 'current catalog path');
});

test('sandbox off is 404 after auth', async () => {
  for (const [method, path] of [['GET', '/api/v1/sandbox'], ['POST', '/api/v1/sandbox/reset']]) {
    assertProblem(await plainApi.request(method, path), 401, 'UNAUTHORIZED', `${method} ${path} without a credential`);
    assertProblem(
      await plainApi.request(method, path, { key: INVALID_KEY }),
      401,
      'UNAUTHORIZED',
      `${method} ${path} with an invalid key`,
    );
    assertProblem(await plainApi.request(method, path, { key: ADMIN_KEY }), 404, 'NOT_FOUND', `${method} ${path} as admin`);
  }
});

test('malformed cursors are 422', async () => {
  const owner = await api.createIntegration(uniqueId('cursor'));
  await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  const streamCursors = ['', '-', '--', '1-2-3', '0-0', '1-', '-1', 'abc', '18446744073709551616-0', '1-18446744073709551616'];
  const lists = [`${base(owner.id)}/events`, `${base(owner.id)}/audit`, '/api/v1/audit'];

  for (const list of lists) {
    for (const cursor of streamCursors) {
      const res = await api.request('GET', `${list}?cursor=${encodeURIComponent(cursor)}`, { key: ADMIN_KEY });
      assertProblem(res, 422, 'VALIDATION_ERROR', `${list} cursor "${cursor}"`);
      assert.match(res.json().detail, /cursor/, `${list} cursor "${cursor}": the detail names the parameter`);
    }
    const oldest = await api.request('GET', `${list}?cursor=18446744073709551615-18446744073709551615`, { key: ADMIN_KEY });
    assert.equal(oldest.status, 200, `${list} with the largest stream id: ${oldest.describe()}`);
  }
  for (const cursor of ['', '-', 'dlv_x', 'dlv_00000000000000000000000000_x']) {
    const res = await api.request('GET', `${base(owner.id)}/deliveries?cursor=${encodeURIComponent(cursor)}`, {
      key: ADMIN_KEY,
    });
    assertProblem(res, 422, 'VALIDATION_ERROR', `deliveries cursor "${cursor}"`);
  }
});

test('query values are percent-decoded', async () => {
  const owner = await api.createIntegration(uniqueId('decode'));
  const endpointId = await createEndpoint(owner.id, owner.api_key);
  await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  await api.publishAccepted(owner.id, owner.api_key, { type: 'payment.failed' });
  const keys = await listPage(`${base(owner.id)}/keys`, owner.api_key);
  const actor = `key:${keys.data[0].id}`;

  const events = await listPage(`${base(owner.id)}/events?type=booking.%2A`);
  assert.deepEqual(events.data.map((e) => e.type), ['booking.created'], 'type=booking.%2A');
  const limited = await listPage(`${base(owner.id)}/events?limit=%31`);
  assert.equal(limited.data.length, 1, 'limit=%31');

  const records = await listPage(`${base(owner.id)}/audit?actor=${encodeURIComponent(actor)}&action=endpoint%2Ecreate`);
  assert.equal(records.data.length, 1, `actor=${encodeURIComponent(actor)}`);
  assert.equal(records.data[0].actor, actor, 'actor of the record');

  const deliveries = await listPage(
    `${base(owner.id)}/deliveries?endpoint_id=${endpointId.replace('_', '%5F')}&status=pend%69ng`,
  );
  assert.equal(deliveries.data.length, 2, 'endpoint_id and status decoded');

  const offset = await listPage(`${base(owner.id)}/events?since=2000-01-01T00:00:00%2B01:00`);
  assert.equal(offset.data.length, 2, 'since with an encoded "+" offset');
  // Decoded once: %252A is the text %2A, not a "*".
  assertProblem(
    await api.request('GET', `${base(owner.id)}/events?type=booking.%252A`, { key: ADMIN_KEY }),
    422,
    'VALIDATION_ERROR',
    'type=booking.%252A',
  );
  // %00 stays as sent, so the value cannot be cut short.
  assertProblem(
    await api.request('GET', `${base(owner.id)}/events?type=booking.created%00x`, { key: ADMIN_KEY }),
    422,
    'VALIDATION_ERROR',
    'type with %00',
  );
});

test('time bounds take milliseconds', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('ms-range'));
  await createEndpoint(owner.id, owner.api_key);
  const first = await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  await sleep(50);
  const middle = Date.now();
  await sleep(50);
  await createEndpoint(owner.id, owner.api_key);
  const second = await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  const iso = new Date(middle).toISOString();

  for (const value of [String(middle), encodeURIComponent(iso)]) {
    const newer = await listPage(`${base(owner.id)}/events?since=${value}`);
    assert.deepEqual(newer.data.map((e) => e.id), [second], `events since ${value}`);
    const older = await listPage(`${base(owner.id)}/events?until=${value}`);
    assert.deepEqual(older.data.map((e) => e.id), [first], `events until ${value}`);
    const deliveries = await listPage(`${base(owner.id)}/deliveries?until=${value}`);
    assert.deepEqual(deliveries.data.map((d) => d.event_id), [first], `deliveries until ${value}`);
    const records = await listPage(`${base(owner.id)}/audit?since=${value}&action=endpoint.`);
    assert.equal(records.data.length, 1, `audit since ${value}`);
  }
  for (const bad of ['12x', '1e3', '-5', '1234567890123456']) {
    assertProblem(
      await api.request('GET', `${base(owner.id)}/events?since=${bad}`, { key: ADMIN_KEY }),
      422,
      'VALIDATION_ERROR',
      `since=${bad}`,
    );
  }
  assertProblem(
    await api.request('GET', `${base(owner.id)}/audit?since=${middle + 1}&until=${middle}`, { key: ADMIN_KEY }),
    422,
    'VALIDATION_ERROR',
    'since after until',
  );
});

test('last page is never empty', async () => {
  const owner = await api.createIntegration(uniqueId('lookahead'));
  await createEndpoint(owner.id, owner.api_key);
  await createEndpoint(owner.id, owner.api_key);
  for (let i = 0; i < 2; i++) {
    await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  }
  // 2 events, 4 deliveries and 2 endpoint.create records.
  const lists = [
    [`${base(owner.id)}/events?limit=1`, 2],
    [`${base(owner.id)}/deliveries?limit=2`, 4],
    [`${base(owner.id)}/audit?action=endpoint.create&limit=1`, 2],
  ];
  for (const [list, total] of lists) {
    const pages = await allPages(list);
    const sizes = pages.map((p) => p.data.length);
    assert.equal(sizes.reduce((a, b) => a + b, 0), total, `${list}: every item once`);
    assert.ok(sizes.every((n) => n > 0), `${list}: no empty page (${sizes.join(', ')})`);
  }
  const exact = await listPage(`${base(owner.id)}/events?limit=2`);
  assert.equal(exact.data.length, 2, 'a page that holds every event');
  assert.equal(exact.next_cursor, null, 'a full last page has no cursor');
});

test('scan limit returns a cursor', { timeout: scaled(60000) }, async () => {
  const owner = await api.createIntegration(uniqueId('scan'));
  await createEndpoint(owner.id, owner.api_key);
  const older = [];
  for (let i = 0; i < 3; i++) {
    older.push(await api.publishAccepted(owner.id, owner.api_key, { type: 'rare.match' }));
  }
  // More newer records than one request examines, none of them matching.
  const noise = SCAN_MAX + 100;
  const seed = `
    for i = 1, tonumber(ARGV[1]) do
      redis.call('XADD', KEYS[1], '*', 'e', 'evt_noise', 't', 'noise.type')
      redis.call('XADD', KEYS[2], '*', 'a', 'noise.action', 'u', 'admin', 'j', '{}')
      redis.call('ZADD', KEYS[3], 0, 'dlv_Z' .. string.format('%025d', i) .. '_0')
    end
    return 'ok'`;
  const tag = `hg:{${owner.id}}`;
  await redisCli(harness.redisPort, ['EVAL', seed, '3', `${tag}:events`, `${tag}:audit`, `${tag}:dlvidx`, String(noise)], 30000);
  assert.ok(lateDeliveryId(1) > `dlv_${older[0].slice(4)}_0`, 'the seeded delivery ids sort after the real ones');

  const lists = [
    [`${base(owner.id)}/events?type=rare.match`, 3],
    [`${base(owner.id)}/audit?action=endpoint.create`, 1],
    [`${base(owner.id)}/deliveries?status=pending`, 3],
  ];
  for (const [list, total] of lists) {
    const first = await listPage(list);
    assert.equal(first.data.length, 0, `${list}: the first request only examines newer records`);
    assert.notEqual(first.next_cursor, null, `${list}: a cursor continues where the scan stopped`);
    const pages = await allPages(list);
    const items = pages.flatMap((p) => p.data);
    assert.equal(items.length, total, `${list}: paging reaches the older matches`);
    assert.equal(pages[pages.length - 1].next_cursor, null, `${list}: the last page has no cursor`);
  }
});

test('lists of missing integration are 404', async () => {
  const missing = uniqueId('gone');
  for (const list of ['events', 'deliveries', 'audit']) {
    assertProblem(
      await api.request('GET', `${base(missing)}/${list}`, { key: ADMIN_KEY }),
      404,
      'NOT_FOUND',
      `${list} of a missing integration`,
    );
  }
});

test('event view has test flag', async () => {
  const owner = await api.createIntegration(uniqueId('view'));
  const endpointId = await createEndpoint(owner.id, owner.api_key);
  const eventId = await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  const testRes = await api.request('POST', `${base(owner.id)}/endpoints/${endpointId}/test`, { key: owner.api_key });
  assert.equal(testRes.status, 202, `test event: ${testRes.describe()}`);

  const plain = await api.getEvent(owner.id, owner.api_key, eventId);
  assert.deepEqual(
    Object.keys(plain).sort(),
    ['correlation_id', 'deliveries', 'id', 'received_at', 'test', 'traceparent', 'type'],
    'the members of an event',
  );
  assert.equal(plain.test, false, 'a published event is not a test');
  const tested = await api.getEvent(owner.id, owner.api_key, testRes.json().event_id);
  assert.equal(tested.test, true, 'a test event says so');
  assert.equal(tested.deliveries[0].test, true, 'its delivery says so too');
});

test('HEAD matches GET', async () => {
  const owner = await api.createIntegration(uniqueId('head'));
  const paths = ['/healthz', '/readyz', '/api/v1/event-types', `${base(owner.id)}/events`];
  for (const path of paths) {
    const get = await api.request('GET', path, { key: owner.api_key });
    const head = await api.request('HEAD', path, { key: owner.api_key });
    assert.equal(head.status, get.status, `HEAD ${path}: status`);
    assert.equal(head.body.length, 0, `HEAD ${path}: no body`);
    assert.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${path}: Content-Type`);
    assert.equal(Number(head.headers['content-length']), get.body.length, `HEAD ${path}: Content-Length of the GET body`);
  }
  const unauthorized = await api.request('HEAD', `${base(owner.id)}/events`);
  assert.equal(unauthorized.status, 401, 'HEAD without a credential');
  assert.equal(unauthorized.body.length, 0, 'HEAD 401: no body');

  const notAllowed = await api.request('DELETE', '/healthz');
  assert.equal(notAllowed.status, 405, `DELETE /healthz: ${notAllowed.describe()}`);
  assert.equal(notAllowed.headers.allow, 'GET, HEAD', 'Allow lists HEAD with GET');
  const postOnly = await api.request('HEAD', '/oauth/token');
  assert.equal(postOnly.status, 405, 'HEAD of a POST-only path');
  assert.equal(postOnly.headers.allow, 'POST', 'Allow of a POST-only path');
  // The connection stays usable after a HEAD response.
  const after = await api.request('GET', '/healthz');
  assert.equal(after.status, 200, 'GET after HEAD');
});

test('readiness failure is problem json', { timeout: scaled(30000) }, async () => {
  // Nothing listens on this port, so the gateway never reaches Redis.
  const deadPort = await freePort();
  const gateway = await harness.startGateway(
    { HOOKGATE_REDIS_URL: `redis://127.0.0.1:${deadPort}/0` },
    { waitPath: '/healthz' },
  );
  const lonely = new Api(gateway.port);
  try {
    const res = await lonely.request('GET', '/readyz');
    assertProblem(res, 503, 'UNAVAILABLE', 'readiness without Redis');
    assert.equal(typeof res.json().reason, 'string', 'the reason member');
    assert.equal(res.json().detail, res.json().reason, 'detail repeats the reason');
  } finally {
    lonely.close();
    await harness.stop(gateway);
  }
});

test('sandbox start keeps api changes', { timeout: scaled(60000) }, async () => {
  const sandbox = base('sandbox');
  const patched = await api.request('PATCH', `${sandbox}/endpoints/ep_sandbox`, {
    key: sandboxKey,
    json: { description: 'changed by a partner' },
  });
  assert.equal(patched.status, 200, `patch ep_sandbox: ${patched.describe()}`);
  const revoked = await api.request('DELETE', `${sandbox}/keys/key_sandbox`, { key: sandboxKey });
  assert.equal(revoked.status, 204, `revoke the sandbox key: ${revoked.describe()}`);

  // A gateway that starts in sandbox mode writes the fixtures hash, so its
  // return shows that the start-up step ran.
  await redisCli(harness.redisPort, ['DEL', 'hg:{sandbox}:fixtures']);
  const gateway = await harness.startGateway({ HOOKGATE_SANDBOX: '1' });
  try {
    await waitFor(async () => (await redisCli(harness.redisPort, ['EXISTS', 'hg:{sandbox}:fixtures'])).trim() === '1', {
      timeoutMs: 10000,
      description: 'the sandbox start-up step',
    });
  } finally {
    await harness.stop(gateway);
  }
  assertProblem(await api.request('GET', '/api/v1/sandbox', { key: sandboxKey }), 401, 'UNAUTHORIZED', 'revoked key after a start');
  const endpoint = await api.request('GET', `${sandbox}/endpoints/ep_sandbox`, { key: ADMIN_KEY });
  assert.equal(endpoint.json().description, 'changed by a partner', 'ep_sandbox keeps its change after a start');

  const reset = await api.request('POST', '/api/v1/sandbox/reset', { key: ADMIN_KEY });
  assert.equal(reset.status, 200, `reset: ${reset.describe()}`);
  const restored = await api.request('GET', '/api/v1/sandbox', { key: sandboxKey });
  assert.equal(restored.status, 200, `the key works after a reset: ${restored.describe()}`);
  const fixture = await api.request('GET', `${sandbox}/endpoints/ep_sandbox`, { key: sandboxKey });
  assert.equal(fixture.json().description, 'Sandbox sink in the inspector', 'a reset restores ep_sandbox');
});
