'use strict';

// Events in the partner API: idempotent publishing, the event type
// catalog with deprecation headers and payload validation, the history of
// events and deliveries, and the recovery job that requeues an endpoint's
// dead deliveries.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { startReceiver } = require('./lib/receiver');

const harness = setupHarness('partner-events');
let api;
let receiver;
// While true, the receiver responds 500 at /recover, and 200 after that.
let recoverFailing = true;

const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  // No retry: a delivery that fails once is dead.
  HOOKGATE_RETRY_SCHEDULE: '',
  // Keeps the circuit breaker closed for the few failures these tests make.
  HOOKGATE_BREAKER_FAILURES: '1000',
};
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const SUNSET_HTTP_DATE = 'Wed, 30 Jun 2027 00:00:00 GMT';
const PARALLEL_PUBLISHES = 60;
// Pause that separates two publish phases in time.
const PHASE_GAP_MS = 100;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new CheckedApi(gateway.port));
  receiver = harness.closeLater(
    await startReceiver((index, request) => {
      if (request.path.startsWith('/failing')) {
        return { status: 500 };
      }
      if (request.path === '/recover') {
        return { status: recoverFailing ? 500 : 200 };
      }
      return { status: 200 };
    }),
  );
});

function eventsPath(id, query = '') {
  return `/api/v1/integrations/${id}/events${query}`;
}

async function exampleOf(type) {
  const res = await api.request('GET', `/api/v1/event-types/${type}`);
  assert.equal(res.status, 200, `catalog entry ${type}: ${res.describe()}`);
  return res.json().example;
}

/** Reads every page of a list route and returns the items in order. */
async function readAllPages(urlPath, key, limit) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const sep = urlPath.includes('?') ? '&' : '?';
    const query = `${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await api.request('GET', `${urlPath}${query}`, { key });
    assert.equal(res.status, 200, `page ${page} of ${urlPath}: ${res.describe()}`);
    const body = res.json();
    assert.ok(body.data.length <= limit, `page ${page} of ${urlPath} has at most ${limit} items`);
    items.push(...body.data);
    cursor = body.next_cursor;
    if (cursor === null) {
      return items;
    }
  }
  throw new Error(`${urlPath} did not end after 50 pages`);
}

async function listData(urlPath, key) {
  const res = await api.request('GET', urlPath, { key });
  assert.equal(res.status, 200, `${urlPath}: ${res.describe()}`);
  return res.json().data;
}

test('publishing back into hookgate stops after four hops', { timeout: scaled(40000) }, async () => {
  // An endpoint whose URL is the integration's own publish route: every
  // delivery publishes the event again. Hookgate-Hops ends the loop.
  const loop = await api.createIntegration(uniqueId('loop'));
  await api.createEndpoint(loop.id, loop.api_key, {
    url: `http://127.0.0.1:${api.port}${eventsPath(loop.id)}`,
    event_types: ['loop.echo'],
    headers: { Authorization: `Bearer ${loop.api_key}` },
  });
  await api.publishAccepted(loop.id, loop.api_key, { type: 'loop.echo' });

  const list = async () => (await api.request('GET', eventsPath(loop.id, '?limit=100'), { key: loop.api_key })).json().data;
  const events = await waitFor(async () => ((await list()).length >= 4 ? list() : null), {
    timeoutMs: scaled(20000),
    description: 'four events in the loop',
  });
  // The newest event's delivery carried hop 4 and was rejected.
  const newest = events[0];
  const settled = await api.waitForSettled(loop.id, loop.api_key, newest.id, { timeoutMs: scaled(10000) });
  const delivery = await api.getDelivery(loop.id, loop.api_key, settled.deliveries[0].id);
  const attempt = delivery.attempts[0];
  assert.equal(attempt.http_status, 422, `the fifth publish is rejected: ${JSON.stringify(attempt)}`);
  assert.equal(attempt.request_headers['hookgate-hops'], '4', `the hop count sent: ${JSON.stringify(attempt.request_headers)}`);
  assert.match(attempt.response_body, /Hookgate-Hops/, 'the rejection names the header');
  await sleep(scaled(1500));
  assert.equal((await list()).length, 4, 'no fifth event');
});

test('idempotency key stores one event', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('idem'));
  await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/idem'), event_types: ['*'] });
  const key = `order-${crypto.randomBytes(8).toString('hex')}`;
  const body = JSON.stringify({ type: 'order.placed', order_id: 'ord_1', total: 4200 });

  const responses = await Promise.all(
    Array.from({ length: PARALLEL_PUBLISHES }, () =>
      api.publish(owner.id, owner.api_key, body, { 'Idempotency-Key': key }),
    ),
  );
  const statuses = responses.map((r) => r.status);
  assert.deepEqual(statuses, Array(PARALLEL_PUBLISHES).fill(202), 'every parallel publish is accepted');
  const ids = new Set(responses.map((r) => r.json().id));
  assert.equal(ids.size, 1, `one event id for every response: ${[...ids]}`);
  const [eventId] = ids;
  const fresh = responses.filter((r) => r.headers['idempotent-replayed'] === undefined);
  assert.equal(fresh.length, 1, 'exactly one response is not a replay');
  const replayed = responses.filter((r) => r.headers['idempotent-replayed'] === 'true');
  assert.equal(replayed.length, PARALLEL_PUBLISHES - 1, 'every other response is marked Idempotent-Replayed');
  for (const res of responses) {
    assert.equal(res.headers.location, eventsPath(owner.id, `/${eventId}`), 'Location of the event');
  }

  const events = await listData(eventsPath(owner.id), owner.api_key);
  assert.deepEqual(events.map((e) => e.id), [eventId], 'the event list holds one event');
  const event = await api.getEvent(owner.id, owner.api_key, eventId);
  assert.equal(event.deliveries.length, 1, 'one delivery for one endpoint');
  await receiver.waitForRequests(1, { timeoutMs: 10000, filter: (r) => r.path === '/idem' });
  await sleep(500);
  assert.equal(receiver.requests.filter((r) => r.path === '/idem').length, 1, 'the receiver got the event once');

  const later = await api.publish(owner.id, owner.api_key, body, { 'Idempotency-Key': key });
  assert.equal(later.status, 202, `a later repeat: ${later.describe()}`);
  assert.equal(later.json().id, eventId, 'a later repeat returns the first id');
  assert.equal(later.headers['idempotent-replayed'], 'true', 'a later repeat is a replay');
});

test('idempotency key reuse is 422', async () => {
  const owner = await api.createIntegration(uniqueId('idemreuse'));
  const other = await api.createIntegration(uniqueId('idemother'));
  const key = `reuse-${crypto.randomBytes(8).toString('hex')}`;
  const first = await api.publish(owner.id, owner.api_key, { type: 'order.placed', n: 1 }, { 'Idempotency-Key': key });
  assert.equal(first.status, 202, `first publish: ${first.describe()}`);
  const firstId = first.json().id;

  const changed = await api.publish(owner.id, owner.api_key, { type: 'order.placed', n: 2 }, { 'Idempotency-Key': key });
  assertProblem(changed, 422, 'IDEMPOTENCY_KEY_REUSED', 'same key, different body');
  assert.ok(changed.json().detail.includes(firstId), 'the detail names the first event');

  const spaced = await api.publish(owner.id, owner.api_key, '{"type":"order.placed", "n":1}', { 'Idempotency-Key': key });
  assertProblem(spaced, 422, 'IDEMPOTENCY_KEY_REUSED', 'same key, body with other bytes');

  const typeKey = `type-${crypto.randomBytes(8).toString('hex')}`;
  const untyped = JSON.stringify({ order_id: 'ord_2' });
  const typed = await api.publish(owner.id, owner.api_key, untyped, {
    'Idempotency-Key': typeKey,
    'X-Event-Type': 'order.placed',
  });
  assert.equal(typed.status, 202, `publish with X-Event-Type: ${typed.describe()}`);
  const retyped = await api.publish(owner.id, owner.api_key, untyped, {
    'Idempotency-Key': typeKey,
    'X-Event-Type': 'order.cancelled',
  });
  assertProblem(retyped, 422, 'IDEMPOTENCY_KEY_REUSED', 'same key and body, different X-Event-Type');
  const sameType = await api.publish(owner.id, owner.api_key, untyped, {
    'Idempotency-Key': typeKey,
    'X-Event-Type': 'order.placed',
  });
  assert.equal(sameType.json().id, typed.json().id, 'same key, body and type is a replay');

  const elsewhere = await api.publish(other.id, other.api_key, { type: 'order.placed', n: 1 }, { 'Idempotency-Key': key });
  assert.equal(elsewhere.status, 202, `the same key in another integration: ${elsewhere.describe()}`);
  assert.notEqual(elsewhere.json().id, firstId, 'keys are per integration');
  assert.equal(elsewhere.headers['idempotent-replayed'], undefined, 'no replay across integrations');

  assertProblem(
    await api.publish(owner.id, owner.api_key, { type: 'order.placed' }, { 'Idempotency-Key': 'k'.repeat(256) }),
    422,
    'VALIDATION_ERROR',
    'Idempotency-Key of 256 characters',
  );
  const events = await listData(eventsPath(owner.id), owner.api_key);
  assert.equal(events.length, 2, 'rejected publishes store nothing');
});

test('catalog lists and reads types', async () => {
  const res = await api.request('GET', '/api/v1/event-types');
  assert.equal(res.status, 200, `list: ${res.describe()}`);
  const types = res.json().data;
  const names = types.map((t) => t.type);
  for (const name of ['booking.created', 'booking.confirmed', 'payment.failed', 'customer.created']) {
    assert.ok(names.includes(name), `${name} is listed`);
  }
  const confirmed = types.find((t) => t.type === 'booking.confirmed');
  assert.equal(confirmed.deprecated, true, 'booking.confirmed is deprecated');
  assert.equal(confirmed.sunset, '2027-06-30T00:00:00Z', 'booking.confirmed sunset');
  const created = types.find((t) => t.type === 'booking.created');
  assert.equal(created.deprecated, false, 'booking.created is not deprecated');
  assert.equal(created.sunset, null, 'booking.created has no sunset');
  assert.equal(typeof created.title, 'string', 'title');
  assert.equal(created.schema, undefined, 'the list has no schemas');

  const one = await api.request('GET', '/api/v1/event-types/booking.created');
  assert.equal(one.status, 200, `read: ${one.describe()}`);
  const entry = one.json();
  assert.equal(entry.type, 'booking.created', 'type');
  assert.equal(entry.schema.type, 'object', 'schema');
  assert.equal(entry.example.type, 'booking.created', 'example type');
  assert.match(one.headers['cache-control'] || '', /max-age=\d+/, 'Cache-Control of a catalog entry');

  assertProblem(await api.request('GET', '/api/v1/event-types/nope.unknown'), 404, 'NOT_FOUND', 'unknown type');
  const encoded = await api.request('GET', '/api/v1/event-types/booking%2Ecreated');
  assert.equal(encoded.status, 200, `percent-encoded type: ${encoded.describe()}`);
  assert.equal(encoded.json().type, 'booking.created', 'the encoded name is decoded');
  const spaced = await api.request('GET', '/api/v1/event-types/a%20b');
  assertProblem(spaced, 404, 'NOT_FOUND', 'unknown type with a space');
  assert.match(spaced.json().detail, /event type a b is not in the catalog/, 'the detail shows the decoded name');

  const owner = await api.createIntegration(uniqueId('catalog'));
  const legacy = await api.request('GET', `/api/v1/integrations/${owner.id}/event-types`, { key: owner.api_key });
  assert.equal(legacy.status, 200, `per-integration catalog: ${legacy.describe()}`);
  assert.match(legacy.headers.deprecation || '', /^@\d+$/, 'the per-integration catalog route is deprecated (RFC 9745 date)');
  assert.equal(legacy.headers.sunset, SUNSET_HTTP_DATE, 'sunset of the per-integration catalog route');
});

test('deprecated type publish has headers', async () => {
  const owner = await api.createIntegration(uniqueId('deprecated'));
  const res = await api.publish(owner.id, owner.api_key, await exampleOf('booking.confirmed'));
  assert.equal(res.status, 202, `publish: ${res.describe()}`);
  assert.match(res.headers.deprecation || '', /^@\d+$/, 'Deprecation header is an RFC 9745 date');
  assert.equal(res.headers.sunset, SUNSET_HTTP_DATE, 'Sunset header');
  assert.match(res.headers.link || '', /<\/api\/v1\/event-types\/booking\.confirmed>; rel="deprecation"/, 'Link header');

  const current = await api.publish(owner.id, owner.api_key, await exampleOf('booking.created'));
  assert.equal(current.status, 202, `publish a current type: ${current.describe()}`);
  assert.equal(current.headers.deprecation, undefined, 'no Deprecation header for a current type');
  assert.equal(current.headers.sunset, undefined, 'no Sunset header for a current type');
});

test('payload validation uses the schema', async () => {
  const owner = await api.createIntegration(uniqueId('schema'));
  // Created before the first publish, so the gateway's cached endpoint list
  // contains it.
  const endpoint = await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/schema'), event_types: ['none.*'] });
  const patched = await api.request('PATCH', `/api/v1/integrations/${owner.id}`, {
    key: owner.api_key,
    json: { validate_payloads: true },
  });
  assert.equal(patched.status, 200, `turning validation on: ${patched.describe()}`);

  const example = await exampleOf('booking.created');
  const valid = await api.publish(owner.id, owner.api_key, example);
  assert.equal(valid.status, 202, `the catalog example: ${valid.describe()}`);

  const broken = [
    ['/data/id', (e) => { e.data.id = 'booking-1001'; }],
    ['/data/total/amount', (e) => { e.data.total.amount = -5; }],
    ['/data/services/1/price/amount', (e) => { e.data.services[1].price.amount = 'cheap'; }],
    ['/created_at', (e) => { e.created_at = 5; }],
  ];
  for (const [pointer, breakIt] of broken) {
    const payload = structuredClone(example);
    breakIt(payload);
    const res = await api.publish(owner.id, owner.api_key, payload);
    assertProblem(res, 422, 'VALIDATION_ERROR', `payload broken at ${pointer}`);
    assert.ok(res.json().detail.includes(`${pointer}:`), `detail "${res.json().detail}" names ${pointer}`);
  }
  const extra = structuredClone(example);
  extra.unexpected = true;
  assertProblem(await api.publish(owner.id, owner.api_key, extra), 422, 'VALIDATION_ERROR', 'extra top-level member');

  const unknown = await api.publish(owner.id, owner.api_key, { type: 'nope.unknown', data: {} });
  assertProblem(unknown, 422, 'VALIDATION_ERROR', 'type outside the catalog');
  assert.match(unknown.json().detail, /not in the catalog/, 'detail for a type outside the catalog');

  const testPath = `/api/v1/integrations/${owner.id}/endpoints/${endpoint.id}/test`;
  const exampleTest = await api.request('POST', testPath, { key: owner.api_key });
  assert.equal(exampleTest.status, 202, `test event with the catalog example: ${exampleTest.describe()}`);
  const brokenTest = structuredClone(example);
  brokenTest.data.id = 'booking-1001';
  assertProblem(
    await api.request('POST', testPath, { key: owner.api_key, json: { payload: brokenTest } }),
    422,
    'VALIDATION_ERROR',
    'test event with a payload that breaks the schema',
  );

  const deprecated = await api.publish(owner.id, owner.api_key, await exampleOf('booking.confirmed'));
  assert.equal(deprecated.status, 202, `a valid deprecated type: ${deprecated.describe()}`);

  const events = await listData(eventsPath(owner.id), owner.api_key);
  assert.equal(events.length, 3, 'rejected payloads store nothing');
});

test('payload validation turns off', async () => {
  const owner = await api.createIntegration(uniqueId('schemaoff'));
  const path = `/api/v1/integrations/${owner.id}`;
  const on = await api.request('PATCH', path, { key: owner.api_key, json: { validate_payloads: true } });
  assert.equal(on.status, 200, `turning validation on: ${on.describe()}`);
  const invalid = { type: 'booking.created', data: {} };
  assertProblem(await api.publish(owner.id, owner.api_key, invalid), 422, 'VALIDATION_ERROR', 'validation on');

  const off = await api.request('PATCH', path, { key: owner.api_key, json: { validate_payloads: false } });
  assert.equal(off.status, 200, `turning validation off: ${off.describe()}`);
  assert.equal(off.json().validate_payloads, false, 'the integration shows validation off');
  const unchecked = await api.publish(owner.id, owner.api_key, invalid);
  assert.equal(unchecked.status, 202, `publish after validation was turned off: ${unchecked.describe()}`);
});

test('event history filters and pages', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('history'));
  const t0 = new Date(Date.now() - 1).toISOString();
  const phase1 = [];
  for (const type of ['booking.created', 'booking.created', 'payment.failed']) {
    phase1.push(await api.publishAccepted(owner.id, owner.api_key, { type }));
  }
  await sleep(PHASE_GAP_MS);
  const t1 = new Date().toISOString();
  await sleep(PHASE_GAP_MS);
  const phase2 = [];
  for (const type of ['booking.cancelled', 'customer.created']) {
    phase2.push(await api.publishAccepted(owner.id, owner.api_key, { type }));
  }
  await sleep(PHASE_GAP_MS);
  const t2 = new Date().toISOString();
  const newestFirst = [...phase1, ...phase2].reverse();
  const path = (query) => eventsPath(owner.id, query);

  const all = await listData(path(''), owner.api_key);
  assert.deepEqual(all.map((e) => e.id), newestFirst, 'every event, newest first');
  for (const event of all) {
    assert.match(event.received_at, RFC3339, `received_at of ${event.id}`);
    assert.equal(typeof event.type, 'string', `type of ${event.id}`);
  }

  const ids = async (query) => (await listData(path(query), owner.api_key)).map((e) => e.id);
  assert.deepEqual(await ids('?type=booking.created'), [phase1[1], phase1[0]], 'exact type');
  assert.deepEqual(await ids('?type=booking.*'), [phase2[0], phase1[1], phase1[0]], 'type prefix');
  assert.deepEqual(await ids('?type=*'), newestFirst, 'every type');
  assert.deepEqual(await ids('?type=booking.updated'), [], 'a type without events');
  assert.deepEqual(await ids(`?since=${encodeURIComponent(t1)}`), [...phase2].reverse(), 'since');
  assert.deepEqual(await ids(`?until=${encodeURIComponent(t1)}`), [...phase1].reverse(), 'until');
  assert.deepEqual(
    await ids(`?since=${encodeURIComponent(t0)}&until=${encodeURIComponent(t1)}&type=booking.*`),
    [phase1[1], phase1[0]],
    'since, until and type together',
  );
  assert.deepEqual(await ids(`?since=${encodeURIComponent(t2)}`), [], 'since after every event');

  const paged = await readAllPages(path(''), owner.api_key, 2);
  assert.deepEqual(paged.map((e) => e.id), newestFirst, 'pages of 2 hold every event once');
  const pagedType = await readAllPages(path('?type=booking.*'), owner.api_key, 2);
  assert.deepEqual(pagedType.map((e) => e.id), [phase2[0], phase1[1], phase1[0]], 'filtered pages');

  const bad = [
    ['type with a space', '?type=booking%20created'],
    ['type with a double star', '?type=booking.**'],
    ['since not a time', '?since=yesterday'],
    ['until not a time', '?until=2026-13-01T00:00:00Z'],
    ['since after until', `?since=${encodeURIComponent(t2)}&until=${encodeURIComponent(t0)}`],
    ['limit zero', '?limit=0'],
    ['limit above maximum', '?limit=501'],
    ['cursor not a cursor', '?cursor=abc'],
  ];
  for (const [label, query] of bad) {
    assertProblem(await api.request('GET', path(query), { key: owner.api_key }), 422, 'VALIDATION_ERROR', label);
  }
});

test('event list and detail times match', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('received'));
  // Concurrent publishes wait in Redis for a few milliseconds, while the
  // event's own time is taken by the gateway on arrival.
  const published = await Promise.all(
    Array.from({ length: 40 }, () => api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' })),
  );
  // An index entry from a clock a minute ahead: the next event cannot take
  // an id from its own time.
  const index = `hg:{${owner.id}}:events`;
  const ahead = `${Date.now() + 60000}-0`;
  await redisCli(harness.redisPort, ['XADD', index, ahead, 'e', 'evt_ahead', 't', 'booking.created']);
  published.push(await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' }));
  await redisCli(harness.redisPort, ['XDEL', index, ahead]);
  const listed = await readAllPages(eventsPath(owner.id), owner.api_key, 100);
  assert.equal(listed.length, published.length, 'every event listed');
  for (const item of listed) {
    const res = await api.request('GET', eventsPath(owner.id, `/${item.id}`), { key: owner.api_key });
    assert.equal(res.status, 200, `detail of ${item.id}`);
    assert.equal(item.received_at, res.json().received_at, `received_at of ${item.id}`);
  }
});

test('reversed history range is 422', async () => {
  const owner = await api.createIntegration(uniqueId('range'));
  const since = encodeURIComponent(new Date(Date.now()).toISOString());
  const until = encodeURIComponent(new Date(Date.now() - 60000).toISOString());
  for (const list of ['events', 'deliveries', 'audit']) {
    const res = await api.request('GET', `/api/v1/integrations/${owner.id}/${list}?since=${since}&until=${until}`, {
      key: owner.api_key,
    });
    assertProblem(res, 422, 'VALIDATION_ERROR', `${list} with since after until`);
  }
});

test('delivery history filters and pages', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('dlvhist'));
  const good = await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/hist-good'), event_types: ['*'] });
  const failing = await api.createEndpoint(owner.id, owner.api_key, {
    url: receiver.url('/failing-hist'),
    event_types: ['booking.*'],
  });
  const phase1 = [];
  for (const type of ['booking.created', 'payment.failed', 'booking.updated']) {
    phase1.push(await api.publishAccepted(owner.id, owner.api_key, { type }));
  }
  await sleep(PHASE_GAP_MS);
  const t1 = new Date().toISOString();
  await sleep(PHASE_GAP_MS);
  const phase2 = [];
  for (const type of ['booking.cancelled', 'customer.created']) {
    phase2.push(await api.publishAccepted(owner.id, owner.api_key, { type }));
  }
  for (const eventId of [...phase1, ...phase2]) {
    await api.waitForSettled(owner.id, owner.api_key, eventId, { timeoutMs: 15000 });
  }
  const path = (query) => `/api/v1/integrations/${owner.id}/deliveries${query}`;
  const list = (query) => listData(path(query), owner.api_key);

  const all = await list('');
  assert.equal(all.length, 8, 'five deliveries to the good endpoint and three to the failing one');
  const sortedIds = all.map((d) => d.id);
  assert.deepEqual(sortedIds, [...sortedIds].sort().reverse(), 'newest first');

  const toGood = await list(`?endpoint_id=${good.id}`);
  assert.equal(toGood.length, 5, 'deliveries to the good endpoint');
  assert.ok(toGood.every((d) => d.endpoint_id === good.id), 'endpoint filter keeps one endpoint');
  const dead = await list('?status=dead');
  assert.equal(dead.length, 3, 'dead deliveries');
  assert.ok(dead.every((d) => d.endpoint_id === failing.id && d.reason === 'attempts_exhausted'), 'dead ones failed');
  const succeeded = await list('?status=succeeded');
  assert.equal(succeeded.length, 5, 'succeeded deliveries');
  assert.deepEqual(await list(`?endpoint_id=${failing.id}&status=succeeded`), [], 'both filters');
  assert.deepEqual(await list('?status=pending'), [], 'no pending delivery is left');

  const since = await list(`?since=${encodeURIComponent(t1)}`);
  assert.deepEqual(
    since.map((d) => d.event_id).sort(),
    [phase2[0], phase2[0], phase2[1]].sort(),
    'since keeps the deliveries of later events',
  );
  const until = await list(`?until=${encodeURIComponent(t1)}`);
  assert.deepEqual(
    until.map((d) => d.event_id).sort(),
    [phase1[0], phase1[0], phase1[1], phase1[2], phase1[2]].sort(),
    'until keeps the deliveries of earlier events',
  );

  const paged = await readAllPages(path(''), owner.api_key, 3);
  assert.deepEqual(paged.map((d) => d.id), sortedIds, 'pages of 3 hold every delivery once');
  const pagedFiltered = await readAllPages(path(`?endpoint_id=${good.id}`), owner.api_key, 2);
  assert.deepEqual(pagedFiltered.map((d) => d.id), toGood.map((d) => d.id), 'filtered pages');

  const bad = [
    ['endpoint_id not an endpoint id', '?endpoint_id=bad'],
    ['unknown status', '?status=done'],
    ['since not a time', '?since=now'],
    ['since after until', `?since=${encodeURIComponent(t1)}&until=2020-01-01T00:00:00Z`],
    ['cursor not a delivery id', '?cursor=evt_1'],
    ['limit above maximum', '?limit=501'],
  ];
  for (const [label, query] of bad) {
    assertProblem(await api.request('GET', path(query), { key: owner.api_key }), 422, 'VALIDATION_ERROR', label);
  }
});

test('recovery job requeues dead deliveries', { timeout: scaled(45000) }, async () => {
  recoverFailing = true;
  const owner = await api.createIntegration(uniqueId('recover'));
  const target = await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/recover'), event_types: ['*'] });
  const bystander = await api.createEndpoint(owner.id, owner.api_key, {
    url: receiver.url('/failing-bystander'),
    event_types: ['*'],
  });
  const since = new Date(Date.now() - 1000).toISOString();
  const eventIds = [];
  for (let i = 0; i < 4; i++) {
    eventIds.push(await api.publishAccepted(owner.id, owner.api_key, { type: 'recover.checked', n: i }));
  }
  const targetDeliveries = [];
  for (const eventId of eventIds) {
    const event = await api.waitForSettled(owner.id, owner.api_key, eventId, { timeoutMs: 15000 });
    for (const delivery of event.deliveries) {
      assert.equal(delivery.status, 'dead', `${delivery.id} is dead before the recovery`);
    }
    targetDeliveries.push(event.deliveries.find((d) => d.endpoint_id === target.id).id);
  }
  recoverFailing = false;

  const beforeEvents = new Date(Date.parse(since) + 1).toISOString();
  const empty = await api.request('POST', `/api/v1/integrations/${owner.id}/endpoints/${target.id}/recover`, {
    key: owner.api_key,
    json: { since, until: beforeEvents },
  });
  assert.equal(empty.status, 202, `recover a range without deliveries: ${empty.describe()}`);
  const emptyDone = await waitFor(
    async () => {
      const read = await api.request('GET', `/api/v1/integrations/${owner.id}/jobs/${empty.json().id}`, {
        key: owner.api_key,
      });
      return read.json().status === 'done' ? read.json() : null;
    },
    { timeoutMs: 15000, description: 'the job over an empty range to be done' },
  );
  assert.equal(emptyDone.requeued, 0, 'a range before the events requeues nothing');
  assert.equal(Date.parse(emptyDone.until), Date.parse(beforeEvents), 'the job keeps the given until');

  const requestId = `it-recover-${crypto.randomBytes(6).toString('hex')}`;
  const res = await api.request('POST', `/api/v1/integrations/${owner.id}/endpoints/${target.id}/recover`, {
    key: owner.api_key,
    json: { since },
    headers: { 'X-Request-Id': requestId },
  });
  assert.equal(res.status, 202, `recover: ${res.describe()}`);
  const job = res.json();
  assert.match(job.id, /^job_[0-9A-Z]{26}$/, 'job id');
  assert.equal(job.type, 'recover', 'job type');
  assert.equal(job.status, 'queued', 'job status at creation');
  assert.equal(Date.parse(job.since), Date.parse(since), 'job since');
  assert.match(job.until, RFC3339, 'job until defaults to now');
  assert.equal(res.headers.location, `/api/v1/integrations/${owner.id}/jobs/${job.id}`, 'Location of the job');

  const seen = new Set();
  const done = await waitFor(
    async () => {
      const read = await api.request('GET', `/api/v1/integrations/${owner.id}/jobs/${job.id}`, { key: owner.api_key });
      assert.equal(read.status, 200, `job read: ${read.describe()}`);
      const body = read.json();
      seen.add(body.status);
      return body.status === 'done' ? body : null;
    },
    { timeoutMs: 15000, intervalMs: 50, description: `job ${job.id} to be done` },
  );
  for (const status of seen) {
    assert.ok(['queued', 'running', 'done'].includes(status), `job status ${status} is known`);
  }
  assert.equal(done.id, job.id, 'job id when done');
  assert.equal(done.endpoint_id, target.id, 'job endpoint');
  assert.equal(done.requeued, targetDeliveries.length, 'requeued counts the dead deliveries of the endpoint');
  assert.ok(done.scanned >= 2 * eventIds.length, `scanned ${done.scanned} covers both endpoints' deliveries`);
  assert.match(done.finished_at || '', RFC3339, 'finished_at');

  for (const deliveryId of targetDeliveries) {
    const delivery = await waitFor(
      async () => {
        const d = await api.getDelivery(owner.id, owner.api_key, deliveryId);
        return d.status === 'succeeded' ? d : null;
      },
      { timeoutMs: 15000, description: `${deliveryId} to succeed after the recovery` },
    );
    assert.equal(delivery.attempts.length, 2, `${deliveryId}: the failed attempt and the recovery`);
    assert.equal(delivery.attempts[1].manual, true, `${deliveryId}: the recovery attempt is manual`);
    assert.equal(delivery.attempts[1].http_status, 200, `${deliveryId}: the recovery attempt succeeded`);
  }
  const others = await listData(
    `/api/v1/integrations/${owner.id}/deliveries?endpoint_id=${bystander.id}&status=dead`,
    owner.api_key,
  );
  assert.equal(others.length, eventIds.length, 'the other endpoint keeps its dead deliveries');

  const audit = await waitFor(
    async () =>
      (await listData(`/api/v1/integrations/${owner.id}/audit?action=endpoint.recover`, owner.api_key))[0],
    { timeoutMs: 5000, description: 'the endpoint.recover audit record' },
  );
  assert.equal(audit.target, target.id, 'audit target');
  assert.equal(audit.request_id, requestId, 'audit request_id');
  assert.equal(audit.details.job_id, job.id, 'audit details name the job');
});

test('recovery job rejects bad requests', async () => {
  const owner = await api.createIntegration(uniqueId('recoverbad'));
  const other = await api.createIntegration(uniqueId('recoverother'));
  const reader = await api.request('POST', `/api/v1/integrations/${owner.id}/keys`, {
    key: owner.api_key,
    json: { scopes: ['read'] },
  });
  const endpoint = await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/recover-bad'), event_types: ['none.*'] });
  const recoverPath = `/api/v1/integrations/${owner.id}/endpoints/${endpoint.id}/recover`;
  const hourAgo = new Date(Date.now() - 3600 * 1000).toISOString();
  const cases = [
    ['no since', {}],
    ['since not a time', { since: 'an hour ago' }],
    ['since a number', { since: Date.now() }],
    ['until not a time', { since: hourAgo, until: 'now' }],
    ['since after until', { since: hourAgo, until: '2020-01-01T00:00:00Z' }],
  ];
  for (const [label, json] of cases) {
    assertProblem(await api.request('POST', recoverPath, { key: owner.api_key, json }), 422, 'VALIDATION_ERROR', label);
  }
  assertProblem(
    await api.request('POST', recoverPath, { key: reader.json().key, json: { since: hourAgo } }),
    403,
    'FORBIDDEN',
    'read-only key',
  );
  assertProblem(
    await api.request('POST', recoverPath, { key: other.api_key, json: { since: hourAgo } }),
    403,
    'FORBIDDEN',
    'key of another integration',
  );
  assertProblem(
    await api.request('POST', `/api/v1/integrations/${owner.id}/endpoints/bad/recover`, {
      key: owner.api_key,
      json: { since: hourAgo },
    }),
    404,
    'NOT_FOUND',
    'malformed endpoint id',
  );

  const created = await api.request('POST', recoverPath, { key: owner.api_key, json: { since: hourAgo } });
  assert.equal(created.status, 202, `a job: ${created.describe()}`);
  const jobPath = `/api/v1/integrations/${owner.id}/jobs/${created.json().id}`;
  const byReader = await api.request('GET', jobPath, { key: reader.json().key });
  assert.equal(byReader.status, 200, `a read-only key reads a job: ${byReader.describe()}`);
  assertProblem(await api.request('GET', jobPath, { key: other.api_key }), 403, 'FORBIDDEN', 'job with another key');
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${other.id}/jobs/${created.json().id}`, { key: other.api_key }),
    404,
    'NOT_FOUND',
    'job under another integration',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${owner.id}/jobs/job_00000000000000000000000000`, {
      key: owner.api_key,
    }),
    404,
    'NOT_FOUND',
    'missing job',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${owner.id}/jobs/nope`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'malformed job id',
  );
});

test('recovery job cancel', { timeout: scaled(45000) }, async () => {
  const owner = await api.createIntegration(uniqueId('recovercancel'));
  const reader = await api.request('POST', `/api/v1/integrations/${owner.id}/keys`, {
    key: owner.api_key,
    json: { scopes: ['read'] },
  });
  const endpoint = await api.createEndpoint(owner.id, owner.api_key, { url: receiver.url('/cancel'), event_types: ['*'] });
  const since = new Date(Date.now() - 1000).toISOString();
  for (let i = 0; i < 2; i++) {
    const eventId = await api.publishAccepted(owner.id, owner.api_key, { type: 'cancel.checked', n: i });
    await api.waitForSettled(owner.id, owner.api_key, eventId, { timeoutMs: 15000 });
  }
  const recoverPath = `/api/v1/integrations/${owner.id}/endpoints/${endpoint.id}/recover`;
  const created = await api.request('POST', recoverPath, { key: owner.api_key, json: { since } });
  assert.equal(created.status, 202, `a job: ${created.describe()}`);
  const job = created.json();
  const jobPath = `/api/v1/integrations/${owner.id}/jobs/${job.id}`;
  const done = await waitFor(
    async () => ((await api.request('GET', jobPath, { key: owner.api_key })).json().status === 'done' ? true : null),
    { timeoutMs: 15000, description: 'the job to finish' },
  );
  assert.ok(done);
  const finished = await api.request('POST', `${jobPath}/cancel`, { key: owner.api_key });
  assertProblem(finished, 409, 'CONFLICT', 'cancel a finished job');
  assert.match(finished.json().detail, /already finished/, 'the detail names the reason');

  // The record is set back to a job that no worker has reached yet. The
  // worker then meets it after the cancel and must leave it alone.
  const jobKey = `hg:{${owner.id}}:job:${job.id}`;
  const markerKey = `hg:{${owner.id}}:ep:${endpoint.id}:job`;
  assert.equal((await redisCli(harness.redisPort, ['EXISTS', markerKey])).trim(), '0', 'a finished job leaves no marker');
  await redisCli(harness.redisPort, ['HSET', jobKey, 'status', 'queued', 'scanned', '0', 'finished_at', '']);
  await redisCli(harness.redisPort, ['SET', markerKey, job.id]);
  // One unfinished recovery job per endpoint, so none sends a delivery twice.
  const second = await api.request('POST', recoverPath, { key: owner.api_key, json: { since } });
  assertProblem(second, 409, 'CONFLICT', 'a second job while one is unfinished');
  assert.match(second.json().detail, new RegExp(`unfinished recovery job, ${job.id}`), 'the detail names the job');
  assertProblem(await api.request('POST', `${jobPath}/cancel`, { key: reader.json().key }), 403, 'FORBIDDEN', 'read-only key');
  const cancelled = await api.request('POST', `${jobPath}/cancel`, { key: owner.api_key });
  assert.equal(cancelled.status, 200, `cancel: ${cancelled.describe()}`);
  assert.equal(cancelled.json().id, job.id, 'cancel returns the job');
  assert.equal(cancelled.json().status, 'cancelled', 'status after the cancel');
  assert.match(cancelled.json().finished_at || '', RFC3339, 'finished_at after the cancel');
  const again = await api.request('POST', `${jobPath}/cancel`, { key: owner.api_key });
  assert.equal(again.status, 200, `a second cancel: ${again.describe()}`);
  assert.deepEqual(again.json(), cancelled.json(), 'a second cancel changes nothing');
  const audit = await api.request('GET', `/api/v1/integrations/${owner.id}/audit`, { key: owner.api_key });
  assert.equal(audit.status, 200, audit.describe());
  const cancels = audit.json().data.filter((a) => a.action === 'job.cancel' && a.target === job.id);
  assert.equal(cancels.length, 1, 'only the first cancel is audited');

  await redisCli(harness.redisPort, ['XADD', 'hg:{jobs}:queue', '*', 'i', owner.id, 'j', job.id]);
  // The group has read every entry (lag 0) and acknowledged them all.
  await waitFor(
    async () => {
      const lines = (await redisCli(harness.redisPort, ['XINFO', 'GROUPS', 'hg:{jobs}:queue'])).trim().split('\n');
      const group = {};
      for (let i = 0; i + 1 < lines.length; i += 2) {
        group[lines[i].trim()] = lines[i + 1].trim();
      }
      return group.name === 'hg-jobs' && group.lag === '0' && group.pending === '0' ? true : null;
    },
    { timeoutMs: 15000, description: 'the worker to take and finish the job entry' },
  );
  const after = (await api.request('GET', jobPath, { key: owner.api_key })).json();
  assert.equal(after.status, 'cancelled', 'the worker kept the cancel');
  assert.equal(after.scanned, 0, 'the worker scanned nothing');
  const third = await api.request('POST', recoverPath, { key: owner.api_key, json: { since } });
  assert.equal(third.status, 202, `a new job after the cancel: ${third.describe()}`);
  assertProblem(
    await api.request('POST', `/api/v1/integrations/${owner.id}/jobs/job_00000000000000000000000000/cancel`, { key: owner.api_key }),
    404,
    'NOT_FOUND',
    'cancel a missing job',
  );
});

test('recovery of missing endpoint is 404', async () => {
  const owner = await api.createIntegration(uniqueId('recovermissing'));
  const res = await api.request('POST', `/api/v1/integrations/${owner.id}/endpoints/ep_00000000000000000000000000/recover`, {
    key: owner.api_key,
    json: { since: new Date(Date.now() - 3600 * 1000).toISOString() },
  });
  assertProblem(res, 404, 'NOT_FOUND', 'recover an endpoint that does not exist');
});

test('admin reads any integration history', async () => {
  const owner = await api.createIntegration(uniqueId('adminhist'));
  const eventId = await api.publishAccepted(owner.id, owner.api_key, { type: 'admin.read' });
  const events = await listData(eventsPath(owner.id), ADMIN_KEY);
  assert.deepEqual(events.map((e) => e.id), [eventId], 'the admin lists the events');
});
