'use strict';

// Integration routes of the partner API: create, list, read, update and
// delete, the purge that a delete performs, and the audit records of these
// changes.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, requestToken, uniqueId } = require('./lib/api');
const { ADMIN_KEY, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('partner-integrations');
let api;
let receiver;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new CheckedApi(gateway.port));
  receiver = harness.closeLater(await startReceiver(always(200)));
});

function createRaw(json, key = ADMIN_KEY, headers = {}) {
  return api.request('POST', '/api/v1/integrations', { key, json, headers });
}

function patchIntegration(id, key, json) {
  return api.request('PATCH', `/api/v1/integrations/${id}`, { key, json });
}

function deleteIntegration(id, key = ADMIN_KEY) {
  return api.request('DELETE', `/api/v1/integrations/${id}`, { key });
}

async function createKey(id, apiKey, spec) {
  const res = await api.request('POST', `/api/v1/integrations/${id}/keys`, { key: apiKey, json: spec });
  assert.equal(res.status, 201, `creating a key: ${res.describe()}`);
  return res.json();
}

/** Returns the id of the integration's first API key. */
async function initialKeyId(id, apiKey) {
  const res = await api.request('GET', `/api/v1/integrations/${id}/keys`, { key: apiKey });
  assert.equal(res.status, 200, `listing keys: ${res.describe()}`);
  return res.json().data.find((k) => k.name === 'initial key').id;
}

function sha256Hex(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

/** Returns every Redis key that matches pattern, found with SCAN. */
async function scanKeys(pattern) {
  const out = await redisCli(harness.redisPort, ['--scan', '--pattern', pattern]);
  return out.split('\n').filter((line) => line !== '');
}

/** Polls the audit list at urlPath until a record matches, and returns it. */
function waitForAudit(urlPath, key, match, description) {
  return waitFor(
    async () => {
      const res = await api.request('GET', urlPath, { key });
      assert.equal(res.status, 200, `reading ${urlPath}: ${res.describe()}`);
      return res.json().data.find(match);
    },
    { timeoutMs: 5000, description },
  );
}

test('integration create returns key once', async () => {
  const id = uniqueId('create');
  const res = await createRaw({ id, name: 'Acme Cleaning' });
  assert.equal(res.status, 201, `create status: ${res.describe()}`);
  const created = res.json();
  assert.equal(created.id, id, 'id in the response');
  assert.equal(created.name, 'Acme Cleaning', 'name in the response');
  assert.match(created.api_key, /^hgk_[A-Za-z0-9_-]{20,}$/, 'api_key format');
  assert.match(created.created_at, RFC3339, 'created_at format');

  const read = await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key });
  assert.equal(read.status, 200, `read with the new key: ${read.describe()}`);
  assert.equal(read.json().api_key, undefined, 'a read has no api_key member');
  assert.ok(!read.text.includes(created.api_key), 'a read does not contain the key');

  const keys = await api.request('GET', `/api/v1/integrations/${id}/keys`, { key: created.api_key });
  assert.ok(!keys.text.includes(created.api_key), 'the key list does not contain the key');
});

test('integration create without name uses id', async () => {
  const id = uniqueId('noname');
  const res = await createRaw({ id });
  assert.equal(res.status, 201, `create status: ${res.describe()}`);
  assert.equal(res.json().name, id, 'name defaults to the id');
});

test('integration create duplicate is 409', async () => {
  const id = uniqueId('dup');
  await api.createIntegration(id);
  assertProblem(await createRaw({ id, name: 'again' }), 409, 'CONFLICT', 'second create');
});

test('integration create rejects bad id', async () => {
  const cases = [
    ['uppercase', { id: 'Acme' }],
    ['leading dash', { id: '-acme' }],
    ['leading underscore', { id: '_acme' }],
    ['empty', { id: '' }],
    ['64 characters', { id: 'a'.repeat(64) }],
    ['space', { id: 'acme corp' }],
    ['dot', { id: 'acme.corp' }],
    ['number', { id: 42 }],
    ['null', { id: null }],
    ['missing', { name: 'No id' }],
  ];
  for (const [label, body] of cases) {
    assertProblem(await createRaw(body), 422, 'VALIDATION_ERROR', `id ${label}`);
  }
  const longest = `a${crypto.randomBytes(31).toString('hex')}`;
  assert.equal(longest.length, 63, 'test id length');
  const res = await createRaw({ id: longest });
  assert.equal(res.status, 201, `a 63-character id is accepted: ${res.describe()}`);
});

test('integration create rejects bad name', async () => {
  const cases = [
    ['empty', ''],
    ['201 bytes', 'n'.repeat(201)],
    ['number', 5],
    ['object', { first: 'a' }],
  ];
  for (const [label, name] of cases) {
    assertProblem(await createRaw({ id: uniqueId('name'), name }), 422, 'VALIDATION_ERROR', `name ${label}`);
  }
});

test('integration create rejects bad body', async () => {
  const malformed = await api.request('POST', '/api/v1/integrations', {
    key: ADMIN_KEY,
    body: '{"id":',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(malformed, 400, 'MALFORMED_JSON', 'truncated JSON');

  const text = await api.request('POST', '/api/v1/integrations', {
    key: ADMIN_KEY,
    body: 'id=x',
    headers: { 'Content-Type': 'text/plain' },
  });
  assertProblem(text, 415, 'UNSUPPORTED_MEDIA_TYPE', 'text/plain body');

  assertProblem(
    await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: ['x'] }),
    422,
    'VALIDATION_ERROR',
    'array body',
  );
});

test('integration create needs admin key', async () => {
  const owner = await api.createIntegration(uniqueId('owner'));

  const anonymous = await createRaw({ id: uniqueId('anon') }, null);
  assertProblem(anonymous, 401, 'UNAUTHORIZED', 'no credentials');
  assert.match(anonymous.headers['www-authenticate'] || '', /^Bearer/, 'WWW-Authenticate on 401');

  assertProblem(await createRaw({ id: uniqueId('bykey') }, owner.api_key), 403, 'FORBIDDEN', 'integration key');
  assertProblem(await createRaw({ id: uniqueId('bad') }, 'hgk_not_a_real_key'), 403, 'FORBIDDEN', 'unknown key');
  assertProblem(
    await api.request('POST', '/api/v1/integrations', {
      json: { id: uniqueId('basic') },
      headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` },
    }),
    401,
    'UNAUTHORIZED',
    'Basic credentials',
  );
});

test('unknown route is a problem response', async () => {
  assertProblem(await api.request('GET', '/api/v1/nothing-here', { key: ADMIN_KEY }), 404, 'NOT_FOUND', 'unknown path');
  const wrongMethod = await api.request('PUT', '/api/v1/integrations', { key: ADMIN_KEY, json: {} });
  assertProblem(wrongMethod, 405, 'METHOD_NOT_ALLOWED', 'PUT on the integration list');
  assert.match(wrongMethod.headers.allow || '', /GET/, 'Allow lists GET');
  assert.match(wrongMethod.headers.allow || '', /POST/, 'Allow lists POST');

  const invalidId = await api.request('GET', '/api/v1/integrations', {
    key: ADMIN_KEY,
    headers: { 'X-Request-Id': 'has spaces in it' },
  });
  assert.match(invalidId.headers['x-request-id'], /^req_[0-9A-Z]{26}$/, 'an invalid X-Request-Id is replaced');
});

test('integration list needs admin key', async () => {
  const owner = await api.createIntegration(uniqueId('lister'));
  assertProblem(await api.request('GET', '/api/v1/integrations'), 401, 'UNAUTHORIZED', 'no credentials');
  assertProblem(
    await api.request('GET', '/api/v1/integrations', { key: owner.api_key }),
    403,
    'FORBIDDEN',
    'integration key',
  );
});

test('integration list pages with cursor', async () => {
  const prefix = uniqueId('page');
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push(`${prefix}-${i}`);
    await api.createIntegration(`${prefix}-${i}`);
  }

  const all = await api.request('GET', '/api/v1/integrations?limit=1000', { key: ADMIN_KEY });
  assert.equal(all.status, 200, `full list: ${all.describe()}`);
  const full = all.json();
  const fullIds = full.data.map((integration) => integration.id);
  assert.equal(full.next_cursor, null, 'one page holds every integration');
  for (const id of ids) {
    assert.ok(fullIds.includes(id), `${id} is listed`);
  }
  assert.deepEqual(fullIds, [...fullIds].sort(), 'ids are sorted');
  const listed = full.data.find((integration) => integration.id === ids[0]);
  assert.equal(listed.name, ids[0], 'list items are integration objects');

  const paged = [];
  let cursor = null;
  let pages = 0;
  do {
    const query = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
    const res = await api.request('GET', `/api/v1/integrations${query}`, { key: ADMIN_KEY });
    assert.equal(res.status, 200, `page ${pages}: ${res.describe()}`);
    const page = res.json();
    assert.ok(page.data.length <= 2, `page ${pages} has at most 2 ids`);
    assert.ok(page.data.length > 0 || page.next_cursor === null, `page ${pages} is empty only at the end`);
    paged.push(...page.data.map((integration) => integration.id));
    cursor = page.next_cursor;
    pages += 1;
    assert.ok(pages <= full.data.length + 1, 'paging ends');
  } while (cursor !== null);
  assert.deepEqual(paged, fullIds, 'the pages together equal the full list');

  const fromMiddle = await api.request('GET', `/api/v1/integrations?limit=2&cursor=${ids[1]}`, { key: ADMIN_KEY });
  assert.deepEqual(
    fromMiddle.json().data.map((integration) => integration.id),
    [ids[2], ids[3]],
    'a page starts after its cursor',
  );

  for (const limit of ['0', '1001', 'x', '', '-1', '2.5']) {
    assertProblem(
      await api.request('GET', `/api/v1/integrations?limit=${limit}`, { key: ADMIN_KEY }),
      422,
      'VALIDATION_ERROR',
      `limit=${limit}`,
    );
  }
});

test('integration read with its key', async () => {
  const id = uniqueId('read');
  const created = await api.createIntegration(id, 'Reader');
  const other = await api.createIntegration(uniqueId('other'));

  const res = await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key });
  assert.equal(res.status, 200, `read: ${res.describe()}`);
  const body = res.json();
  assert.equal(body.id, id, 'id');
  assert.equal(body.name, 'Reader', 'name');
  assert.equal(body.validate_payloads, false, 'validate_payloads default');
  assert.equal(body.operational_endpoint_id, null, 'operational_endpoint_id default');
  assert.equal(body.created_at, created.created_at, 'created_at');
  assert.equal(body.updated_at, created.created_at, 'updated_at equals created_at before any update');

  const byAdmin = await api.request('GET', `/api/v1/integrations/${id}`, { key: ADMIN_KEY });
  assert.equal(byAdmin.status, 200, `read by the admin: ${byAdmin.describe()}`);

  assertProblem(
    await api.request('GET', `/api/v1/integrations/${id}`, { key: other.api_key }),
    403,
    'FORBIDDEN',
    'key of another integration',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${uniqueId('missing')}`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'missing integration',
  );
  assertProblem(
    await api.request('GET', '/api/v1/integrations/Not_Valid', { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'invalid id',
  );
  assertProblem(await api.request('GET', `/api/v1/integrations/${id}`), 401, 'UNAUTHORIZED', 'no credentials');
});

test('integration update name and validation', async () => {
  const id = uniqueId('update');
  const created = await api.createIntegration(id, 'Before');

  const res = await patchIntegration(id, created.api_key, { name: 'After', validate_payloads: true });
  assert.equal(res.status, 200, `update: ${res.describe()}`);
  const updated = res.json();
  assert.equal(updated.name, 'After', 'name in the response');
  assert.equal(updated.validate_payloads, true, 'validate_payloads in the response');
  assert.equal(updated.created_at, created.created_at, 'created_at is kept');
  assert.ok(updated.updated_at >= created.created_at, 'updated_at is not before created_at');

  const read = (await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key })).json();
  assert.equal(read.name, 'After', 'name after a read');
  assert.equal(read.validate_payloads, true, 'validate_payloads after a read');

  const partial = await patchIntegration(id, created.api_key, { validate_payloads: false });
  assert.equal(partial.status, 200, `partial update: ${partial.describe()}`);
  assert.equal(partial.json().name, 'After', 'a partial update keeps the name');
  assert.equal(partial.json().validate_payloads, false, 'a partial update sets validate_payloads');

  const byAdmin = await patchIntegration(id, ADMIN_KEY, { name: 'By admin' });
  assert.equal(byAdmin.status, 200, `update by the admin: ${byAdmin.describe()}`);
  assert.equal(byAdmin.json().name, 'By admin', 'name set by the admin');
});

test('integration update operational endpoint', async () => {
  const id = uniqueId('oper');
  const created = await api.createIntegration(id);
  const other = await api.createIntegration(uniqueId('oper-other'));
  const own = await api.createEndpoint(id, created.api_key, { url: receiver.url('/oper'), event_types: ['*'] });
  const foreign = await api.createEndpoint(other.id, other.api_key, {
    url: receiver.url('/oper-other'),
    event_types: ['*'],
  });

  const set = await patchIntegration(id, created.api_key, { operational_endpoint_id: own.id });
  assert.equal(set.status, 200, `own endpoint: ${set.describe()}`);
  assert.equal(set.json().operational_endpoint_id, own.id, 'operational_endpoint_id is set');

  assertProblem(
    await patchIntegration(id, created.api_key, { operational_endpoint_id: foreign.id }),
    422,
    'VALIDATION_ERROR',
    'endpoint of another integration',
  );
  assertProblem(
    await patchIntegration(id, created.api_key, { operational_endpoint_id: 'ep_doesnotexist' }),
    422,
    'VALIDATION_ERROR',
    'endpoint that does not exist',
  );
  assertProblem(
    await patchIntegration(id, created.api_key, { operational_endpoint_id: 'not-an-endpoint' }),
    422,
    'VALIDATION_ERROR',
    'malformed endpoint id',
  );
  assertProblem(
    await patchIntegration(id, created.api_key, { operational_endpoint_id: 7 }),
    422,
    'VALIDATION_ERROR',
    'number',
  );
  const kept = (await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key })).json();
  assert.equal(kept.operational_endpoint_id, own.id, 'rejected updates change nothing');

  const cleared = await patchIntegration(id, created.api_key, { operational_endpoint_id: null });
  assert.equal(cleared.status, 200, `null: ${cleared.describe()}`);
  assert.equal(cleared.json().operational_endpoint_id, null, 'null clears it');

  const again = await patchIntegration(id, created.api_key, { operational_endpoint_id: own.id });
  assert.equal(again.status, 200, `set again: ${again.describe()}`);
  const del = await api.request('DELETE', `/api/v1/integrations/${id}/endpoints/${own.id}`, { key: created.api_key });
  assert.equal(del.status, 200, `endpoint delete: ${del.describe()}`);
  const after = (await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key })).json();
  assert.equal(after.operational_endpoint_id, null, 'deleting the endpoint clears it');
});

test('integration update rejects bad body', async () => {
  const id = uniqueId('badupd');
  const created = await api.createIntegration(id, 'Kept');
  const reader = await createKey(id, created.api_key, { scopes: ['read'] });
  const cases = [
    ['unknown field', { colour: 'red' }],
    ['id', { id: 'renamed' }],
    ['empty name', { name: '' }],
    ['long name', { name: 'n'.repeat(201) }],
    ['name number', { name: 3 }],
    ['validate_payloads string', { validate_payloads: 'yes' }],
    ['validate_payloads number', { validate_payloads: 1 }],
  ];
  for (const [label, body] of cases) {
    assertProblem(await patchIntegration(id, created.api_key, body), 422, 'VALIDATION_ERROR', label);
  }
  assertProblem(await patchIntegration(id, reader.key, { name: 'x' }), 403, 'FORBIDDEN', 'read-only key');
  assertProblem(
    await patchIntegration(uniqueId('missing'), ADMIN_KEY, { name: 'x' }),
    404,
    'NOT_FOUND',
    'missing integration',
  );
  const read = (await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key })).json();
  assert.equal(read.name, 'Kept', 'rejected updates change nothing');
});

test('integration delete needs admin key', async () => {
  const id = uniqueId('nodelete');
  const created = await api.createIntegration(id);
  assertProblem(await deleteIntegration(id, created.api_key), 403, 'FORBIDDEN', 'own key');
  assertProblem(await deleteIntegration(id, null), 401, 'UNAUTHORIZED', 'no credentials');
  assertProblem(await deleteIntegration(uniqueId('missing')), 404, 'NOT_FOUND', 'missing integration');
  const read = await api.request('GET', `/api/v1/integrations/${id}`, { key: created.api_key });
  assert.equal(read.status, 200, 'the integration still exists');
});

test('integration delete purges everything', { timeout: scaled(60000) }, async () => {
  const id = uniqueId('purge');
  const created = await api.createIntegration(id);
  const key = created.api_key;
  const first = await api.createEndpoint(id, key, { url: receiver.url('/purge-1'), event_types: ['*'] });
  const second = await api.createEndpoint(id, key, { url: receiver.url('/purge-2'), event_types: ['purge.*'] });
  const extraKey = await createKey(id, key, { scopes: ['read'] });
  const clientRes = await api.request('POST', `/api/v1/integrations/${id}/oauth-clients`, {
    key,
    json: { scopes: ['read'] },
  });
  assert.equal(clientRes.status, 201, `creating an OAuth client: ${clientRes.describe()}`);
  const client = clientRes.json();

  const eventIds = [];
  for (let i = 0; i < 3; i++) {
    eventIds.push(await api.publishAccepted(id, key, { type: 'purge.tested', n: i }));
  }
  const events = [];
  for (const eventId of eventIds) {
    events.push(await api.waitForSettled(id, key, eventId, { timeoutMs: 15000 }));
  }
  const deliveryIds = events.flatMap((e) => e.deliveries.map((d) => d.id));
  assert.equal(deliveryIds.length, 6, 'two deliveries per event');
  for (const event of events) {
    for (const delivery of event.deliveries) {
      assert.equal(delivery.status, 'succeeded', `delivery ${delivery.id} succeeded before the delete`);
    }
  }
  assert.ok((await scanKeys(`hg:{${id}}:*`)).length > 0, 'the integration has Redis keys before the delete');

  const res = await deleteIntegration(id);
  assert.equal(res.status, 200, `delete: ${res.describe()}`);
  const body = res.json();
  assert.equal(body.id, id, 'id in the delete response');
  assert.equal(body.deleted, true, 'deleted flag');
  assert.equal(body.removed.events, 3, 'events removed');
  assert.equal(body.removed.deliveries, 6, 'deliveries removed');
  assert.equal(body.removed.attempts, 6, 'attempts removed');
  assert.equal(body.removed.endpoints, 2, 'endpoints removed');
  assert.equal(body.removed.api_keys, 2, 'API keys removed');
  assert.equal(body.removed.oauth_clients, 1, 'OAuth clients removed');

  const base = `/api/v1/integrations/${id}`;
  assertProblem(await api.request('GET', base, { key: ADMIN_KEY }), 404, 'NOT_FOUND', 'integration after delete');
  assertProblem(await api.request('GET', `${base}/events`, { key }), 401, 'UNAUTHORIZED', 'first key after delete');
  assertProblem(
    await api.request('GET', `${base}/events`, { key: extraKey.key }),
    401,
    'UNAUTHORIZED',
    'second key after delete',
  );
  assertProblem(
    await api.request('GET', `${base}/events/${eventIds[0]}`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'event after delete',
  );
  assertProblem(
    await api.request('GET', `${base}/events/${eventIds[0]}/payload`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'event payload after delete',
  );
  assertProblem(
    await api.request('GET', `${base}/deliveries/${deliveryIds[0]}`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'delivery after delete',
  );
  assertProblem(
    await api.request('GET', `${base}/endpoints/${first.id}`, { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'endpoint after delete',
  );
  for (const list of ['events', 'deliveries', 'endpoints', 'keys', 'oauth-clients']) {
    const listed = await api.request('GET', `${base}/${list}`, { key: ADMIN_KEY });
    if (listed.status === 200) {
      assert.deepEqual(listed.json().data, [], `${list} list after delete is empty`);
    } else {
      assertProblem(listed, 404, 'NOT_FOUND', `${list} list after delete`);
    }
  }
  const token = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assert.equal(token.status, 401, `token for a client of the deleted integration: ${token.describe()}`);
  assert.equal(token.json().error, 'invalid_client', 'token error');

  const all = (await api.request('GET', '/api/v1/integrations?limit=1000', { key: ADMIN_KEY })).json();
  assert.ok(!all.data.some((integration) => integration.id === id), 'the list no longer has the integration');

  assert.deepEqual(await scanKeys(`hg:{${id}}:*`), [`hg:{${id}}:purging`], 'only the purge marker is left');
  const ttl = Number((await redisCli(harness.redisPort, ['TTL', `hg:{${id}}:purging`])).trim());
  assert.ok(ttl > 0, `the purge marker expires: TTL ${ttl}`);
  assert.ok(ttl <= 60, `the purge marker expires within a minute: TTL ${ttl}`);
  const indexes = [
    `hg:apikey:${sha256Hex(key)}`,
    `hg:apikey:${sha256Hex(extraKey.key)}`,
    `hg:oauth:client:${client.client_id}`,
  ];
  for (const indexKey of indexes) {
    const exists = await redisCli(harness.redisPort, ['EXISTS', indexKey]);
    assert.equal(exists.trim(), '0', `${indexKey} is removed`);
  }
  const member = await redisCli(harness.redisPort, ['SISMEMBER', 'hg:integrations', id]);
  assert.equal(member.trim(), '0', 'the integration set no longer has the id');

  assertProblem(await deleteIntegration(id), 404, 'NOT_FOUND', 'second delete');
  assert.ok(second.id, 'second endpoint existed');
});

test('integration delete during delivery leaves nothing', { timeout: scaled(30000) }, async () => {
  const slow = harness.closeLater(await startReceiver(always(200, 1500)));
  const id = uniqueId('inflight');
  const created = await api.createIntegration(id);
  await api.createEndpoint(id, created.api_key, { url: slow.url('/slow'), event_types: ['*'] });
  for (let i = 0; i < 3; i++) {
    await api.publishAccepted(id, created.api_key, { type: 'inflight.checked', n: i });
  }
  await slow.waitForRequests(1, { timeoutMs: 10000 });

  const res = await deleteIntegration(id);
  assert.equal(res.status, 200, `delete while a delivery is in flight: ${res.describe()}`);
  await waitFor(() => slow.requests.every((r) => r.answeredAt !== null), {
    timeoutMs: 10000,
    description: 'the receiver to answer every request',
  });
  // Gives the worker time to record the attempts that were in flight.
  await sleep(1000);
  assert.deepEqual(await scanKeys(`hg:{${id}}:*`), [`hg:{${id}}:purging`], 'only the purge marker is left');
  assertProblem(await api.request('GET', `/api/v1/integrations/${id}`, { key: ADMIN_KEY }), 404, 'NOT_FOUND', 'read');
});

test('cut-short integration delete resumes', { timeout: scaled(30000) }, async () => {
  const slow = harness.closeLater(await startReceiver(always(500, 1500)));
  const id = uniqueId('cutshort');
  const created = await api.createIntegration(id);
  await api.createEndpoint(id, created.api_key, { url: slow.url('/slow'), event_types: ['*'] });
  await api.publishAccepted(id, created.api_key, { type: 'cutshort.checked' });
  await slow.waitForRequests(1, { timeoutMs: 10000 });

  // What a delete leaves when the gateway dies after its first step: the
  // record gone, the marker set, and every other key still there.
  const marker = `hg:{${id}}:purging`;
  await redisCli(harness.redisPort, ['SET', marker, 'running']);
  await redisCli(harness.redisPort, ['DEL', `hg:{${id}}:integration`]);
  const left = await scanKeys(`hg:{${id}}:*`);
  await waitFor(() => slow.requests.every((r) => r.answeredAt !== null), {
    timeoutMs: 10000,
    description: 'the receiver to answer',
  });
  // Gives the worker time to record the attempt that was in flight.
  await sleep(1000);
  const added = (await scanKeys(`hg:{${id}}:*`)).filter((key) => !left.includes(key));
  assert.deepEqual(added, [], 'the attempt wrote no key while the delete was unfinished');

  const early = await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: { id, name: id } });
  assertProblem(early, 409, 'CONFLICT', 'create while the delete is unfinished');
  assert.match(early.json().detail, /cut short; .*send DELETE again/, 'detail');
  const res = await deleteIntegration(id);
  assert.equal(res.status, 200, `a second delete finishes the first: ${res.describe()}`);
  assert.equal(res.json().removed.endpoints, 1, 'the endpoint was removed');
  assert.deepEqual(await scanKeys(`hg:{${id}}:*`), [marker], 'only the purge marker is left');
  assert.equal((await redisCli(harness.redisPort, ['GET', marker])).trim(), 'done', 'the marker records the end');

  await redisCli(harness.redisPort, ['DEL', marker]);
  await api.createIntegration(id);
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${id}/endpoints`, { key: created.api_key }),
    401,
    'UNAUTHORIZED',
    'the old key on the new integration',
  );
});

test('delete resumes legacy cut-short delete', { timeout: scaled(30000) }, async () => {
  // Older versions marked a purge "1" with a 600 s expiry. Both that marker
  // and, once it expired, the keys alone must count as a delete to finish.
  // The older purge deleted keys in SCAN order, so the key list and the
  // endpoint index may be gone too.
  for (const [marker, gone] of [['1', []], [null, []], [null, ['keys', 'clients', 'endpoints']]]) {
    const id = uniqueId('legacycut');
    const created = await api.createIntegration(id);
    await api.createEndpoint(id, created.api_key, { url: receiver.url('/legacy'), event_types: ['*'] });
    await api.publishAccepted(id, created.api_key, { type: 'legacy.left' });
    await redisCli(harness.redisPort, ['DEL', `hg:{${id}}:integration`, ...gone.map((k) => `hg:{${id}}:${k}`)]);
    if (marker !== null) {
      await redisCli(harness.redisPort, ['SET', `hg:{${id}}:purging`, marker, 'EX', '600']);
    }

    const early = await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: { id, name: id } });
    assertProblem(early, 409, 'CONFLICT', `create over the leftovers (marker ${marker})`);
    const res = await deleteIntegration(id);
    assert.equal(res.status, 200, `delete finishes it (marker ${marker}): ${res.describe()}`);
    assert.equal(res.json().removed.endpoints, 1, `the endpoint was removed (marker ${marker})`);
    assert.equal(res.json().removed.events, 1, `the event was removed (marker ${marker})`);
    assert.deepEqual(await scanKeys(`hg:{${id}}:*`), [`hg:{${id}}:purging`], `only the marker is left (marker ${marker})`);
  }
});

test('parallel deletes run one purge', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('pardel');
  const created = await api.createIntegration(id);
  await api.createEndpoint(id, created.api_key, { url: receiver.url('/pardel'), event_types: ['*'] });
  // A client that retries with the same request id must not pass as the
  // purge that is running.
  const results = await Promise.all([1, 2, 3, 4].map(() => api.request('DELETE', `/api/v1/integrations/${id}`, {
    key: ADMIN_KEY,
    headers: { 'X-Request-Id': 'req-same-delete' },
  })));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 200).length, 1, `one delete succeeds: ${statuses}`);
  for (const res of results.filter((r) => r.status !== 200)) {
    assert.ok([404, 409].includes(res.status), `the others get 404 or 409: ${res.describe()}`);
  }
  const audit = await api.request('GET', '/api/v1/audit', { key: ADMIN_KEY });
  assert.equal(audit.status, 200, audit.describe());
  const records = audit.json().data.filter((a) => a.action === 'integration.delete' && a.target === id);
  assert.equal(records.length, 1, 'one audit record');

  // A live lease of another request: the delete waits for it.
  const leased = uniqueId('leased');
  await api.createIntegration(leased);
  await redisCli(harness.redisPort, ['DEL', `hg:{${leased}}:integration`]);
  await redisCli(harness.redisPort, ['SET', `hg:{${leased}}:purging`, 'running']);
  await redisCli(harness.redisPort, ['SET', `hg:{${leased}}:purge_lease`, 'req_other', 'PX', '30000']);
  const busy = await deleteIntegration(leased);
  assertProblem(busy, 409, 'CONFLICT', 'delete during another purge');
  assert.match(busy.json().detail, /already running/, 'detail');
  const retryAfter = Number(busy.headers['retry-after']);
  assert.ok(retryAfter >= 25, `Retry-After is what is left of the lease: ${retryAfter}`);
  assert.ok(retryAfter <= 30, `Retry-After is at most the lease: ${retryAfter}`);
  await redisCli(harness.redisPort, ['DEL', `hg:{${leased}}:purge_lease`]);
  const resumed = await deleteIntegration(leased);
  assert.equal(resumed.status, 200, `delete after the lease ended: ${resumed.describe()}`);
  assert.deepEqual(await scanKeys(`hg:{${leased}}:*`), [`hg:{${leased}}:purging`], 'only the marker is left');
});

test('recreated integration delivers to new endpoints', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('recreate');
  const before = await api.createIntegration(id);
  const oldEndpoint = await api.createEndpoint(id, before.api_key, { url: receiver.url('/old'), event_types: ['*'] });
  // Parallel publishes use several connections, so every gateway thread
  // caches the endpoint list of this integration.
  await Promise.all(
    Array.from({ length: 8 }, (_, i) => api.publishAccepted(id, before.api_key, { type: 'recreate.before', n: i })),
  );
  const res = await deleteIntegration(id);
  assert.equal(res.status, 200, `delete: ${res.describe()}`);
  // The id stays taken for a minute after the delete, so late metric
  // flushes of the old integration cannot count for the new one.
  const early = await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: { id, name: id } });
  assertProblem(early, 409, 'CONFLICT', 'create right after the delete');
  assert.match(early.json().detail, /was deleted less than 60 s ago/, 'detail');
  await redisCli(harness.redisPort, ['DEL', `hg:{${id}}:purging`]);

  const after = await api.createIntegration(id);
  const newEndpoint = await api.createEndpoint(id, after.api_key, { url: receiver.url('/new'), event_types: ['*'] });
  const published = await Promise.all(
    Array.from({ length: 8 }, (_, i) => api.publishAccepted(id, after.api_key, { type: 'recreate.after', n: i })),
  );
  for (const eventId of published) {
    const event = await api.getEvent(id, after.api_key, eventId);
    const endpoints = event.deliveries.map((d) => d.endpoint_id);
    assert.deepEqual(endpoints, [newEndpoint.id], `event ${eventId} goes to the new endpoint only`);
  }
  assert.notEqual(oldEndpoint.id, newEndpoint.id, 'endpoint ids differ');
});

test('integration changes are audited', async () => {
  const id = uniqueId('audit');
  const createRequestId = `it-create-${crypto.randomBytes(6).toString('hex')}`;
  const createRes = await createRaw({ id, name: 'Audited' }, ADMIN_KEY, { 'X-Request-Id': createRequestId });
  assert.equal(createRes.status, 201, `create: ${createRes.describe()}`);
  assert.equal(createRes.headers['x-request-id'], createRequestId, 'the gateway keeps a valid X-Request-Id');
  const key = createRes.json().api_key;
  const keyId = await initialKeyId(id, key);

  const updateRequestId = `it-update-${crypto.randomBytes(6).toString('hex')}`;
  const update = await api.request('PATCH', `/api/v1/integrations/${id}`, {
    key,
    json: { name: 'Audited again' },
    headers: { 'X-Request-Id': updateRequestId },
  });
  assert.equal(update.status, 200, `update: ${update.describe()}`);
  const endpoint = await api.createEndpoint(id, key, { url: receiver.url('/audit'), event_types: ['*'] });

  const auditPath = `/api/v1/integrations/${id}/audit`;
  const updated = await waitForAudit(
    auditPath,
    key,
    (r) => r.action === 'integration.update',
    'the integration.update record',
  );
  assert.equal(updated.actor, `key:${keyId}`, 'update actor is the key id');
  assert.equal(updated.target, id, 'update target');
  assert.equal(updated.request_id, updateRequestId, 'update request_id');
  assert.equal(updated.integration_id, id, 'update integration_id');
  assert.match(updated.at, RFC3339, 'update time format');

  const endpointRecord = await waitForAudit(
    auditPath,
    key,
    (r) => r.action === 'endpoint.create',
    'the endpoint.create record',
  );
  assert.equal(endpointRecord.target, endpoint.id, 'endpoint.create target');

  const created = await waitForAudit(auditPath, key, (r) => r.action === 'integration.create', 'integration.create');
  assert.equal(created.actor, 'admin', 'create actor');
  assert.equal(created.request_id, createRequestId, 'create request_id');

  const filtered = await api.request('GET', `${auditPath}?action=endpoint.`, { key });
  assert.equal(filtered.status, 200, `filtered list: ${filtered.describe()}`);
  const actions = filtered.json().data.map((r) => r.action);
  assert.deepEqual(actions, ['endpoint.create'], 'the action prefix filter keeps endpoint records only');

  const all = (await api.request('GET', auditPath, { key })).json().data;
  assert.deepEqual(
    all.map((r) => r.action),
    ['endpoint.create', 'integration.update', 'integration.create'],
    'records are newest first',
  );
  const paged = [];
  let cursor = null;
  for (let page = 0; page < 5; page++) {
    const query = cursor ? `?limit=1&cursor=${cursor}` : '?limit=1';
    const res = await api.request('GET', `${auditPath}${query}`, { key });
    assert.equal(res.status, 200, `audit page ${page}: ${res.describe()}`);
    paged.push(...res.json().data);
    cursor = res.json().next_cursor;
    if (cursor === null) {
      break;
    }
  }
  assert.deepEqual(paged, all, 'pages of one record hold every record once');

  const globalCreate = await waitForAudit(
    '/api/v1/audit?action=integration.create',
    ADMIN_KEY,
    (r) => r.target === id,
    'the global integration.create record',
  );
  assert.equal(globalCreate.actor, 'admin', 'global create actor');
  assert.equal(globalCreate.request_id, createRequestId, 'global create request_id');

  const deleteRequestId = `it-delete-${crypto.randomBytes(6).toString('hex')}`;
  const removed = await api.request('DELETE', `/api/v1/integrations/${id}`, {
    key: ADMIN_KEY,
    headers: { 'X-Request-Id': deleteRequestId },
  });
  assert.equal(removed.status, 200, `delete: ${removed.describe()}`);
  const globalDelete = await waitForAudit(
    '/api/v1/audit?action=integration.delete',
    ADMIN_KEY,
    (r) => r.target === id,
    'the global integration.delete record',
  );
  assert.equal(globalDelete.actor, 'admin', 'delete actor');
  assert.equal(globalDelete.request_id, deleteRequestId, 'delete request_id');
  assert.equal(globalDelete.details.endpoints, 1, 'delete details count the endpoint');

  const other = await api.createIntegration(uniqueId('audit-other'));
  assertProblem(await api.request('GET', '/api/v1/audit', { key: other.api_key }), 403, 'FORBIDDEN', 'global audit by key');
  const reader = await createKey(other.id, other.api_key, { scopes: ['read'] });
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${other.id}/audit`, { key: reader.key }),
    403,
    'FORBIDDEN',
    'audit by a read-only key',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${other.id}/audit?since=yesterday`, { key: other.api_key }),
    422,
    'VALIDATION_ERROR',
    'invalid since',
  );
});
