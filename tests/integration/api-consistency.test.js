'use strict';

// Consistency of the partner API across routes. The tests cover the status
// codes and audit actions of enable and disable, 404 for a missing
// integration or endpoint, list paging, unknown body members, Location on
// creation and OAuth client expiry. They also cover the token endpoint's
// errors and failure limit, the RateLimit headers of the limit that
// applies, and the time window of a recovery job.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, basicAuth, requestToken, uniqueId } = require('./lib/api');
const { ADMIN_KEY, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');

const harness = setupHarness('api-consistency');
let api;
// Same Redis, 2 requests per second per credential and 1 per integration.
let limitedApi;

const KEY_RATE = 2;
const INTEGRATION_RATE = 1;
// Endpoints with this URL are only created in integrations without a
// delivery worker, so nothing is ever sent there.
const PUBLIC_URL = 'https://hooks.example.com/webhooks';
const MISSING_ENDPOINT = 'ep_00000000000000000000000000';
// The gateway's default HOOKGATE_EVENT_RETENTION_S: 14 days.
const RETENTION_MS = 14 * 86400 * 1000;
// Failed token requests a client may make per second.
const TOKEN_FAILURES_PER_S = 10;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway();
  const limited = await harness.startGateway({
    HOOKGATE_API_RATE_LIMIT: String(KEY_RATE),
    HOOKGATE_INTEGRATION_RATE_LIMIT: String(INTEGRATION_RATE),
  });
  api = harness.closeLater(new CheckedApi(gateway.port));
  limitedApi = harness.closeLater(new CheckedApi(limited.port));
});

function base(id) {
  return `/api/v1/integrations/${id}`;
}

async function created(res, label) {
  assert.equal(res.status, 201, `${label}: ${res.describe()}`);
  return res.json();
}

function createEndpoint(id, key) {
  return api.request('POST', `${base(id)}/endpoints`, { key, json: { url: PUBLIC_URL, event_types: ['*'] } });
}

function createClient(id, key, json = { scopes: ['read'] }) {
  return api.request('POST', `${base(id)}/oauth-clients`, { key, json });
}

/** Returns the audit actions of an integration that start with prefix, oldest first. */
async function auditActions(id, prefix, count) {
  const records = await waitFor(
    async () => {
      const res = await api.request('GET', `${base(id)}/audit?action=${prefix}`, { key: ADMIN_KEY });
      const data = res.json().data;
      return data.length >= count ? data : null;
    },
    { timeoutMs: 5000, description: `${count} audit records ${prefix}*` },
  );
  return records.map((r) => r.action).reverse();
}

/** Reads every page of a list with limit and returns { items, pages }. */
async function readPages(urlPath, limit, idOf = (item) => item.id) {
  const items = [];
  const pages = [];
  let cursor = null;
  do {
    const query = cursor ? `?limit=${limit}&cursor=${encodeURIComponent(cursor)}` : `?limit=${limit}`;
    const res = await api.request('GET', `${urlPath}${query}`, { key: ADMIN_KEY });
    assert.equal(res.status, 200, `${urlPath}${query}: ${res.describe()}`);
    const page = res.json();
    assert.ok(page.data.length <= limit, `page ${pages.length} holds at most ${limit} items`);
    assert.ok(page.data.length > 0, `page ${pages.length} is not empty`);
    if (page.next_cursor !== null) {
      assert.equal(page.next_cursor, idOf(page.data[page.data.length - 1]), 'next_cursor is the last id of the page');
    }
    pages.push(page);
    items.push(...page.data);
    cursor = page.next_cursor;
    assert.ok(pages.length <= 100, 'paging ends');
  } while (cursor !== null);
  return { items, pages };
}

test('enable and disable return 200', async () => {
  const owner = await api.createIntegration(uniqueId('toggle'));
  const endpoint = await created(await createEndpoint(owner.id, owner.api_key), 'endpoint');
  const path = `${base(owner.id)}/endpoints/${endpoint.id}`;

  const disabled = await api.request('POST', `${path}/disable`, { key: owner.api_key });
  assert.equal(disabled.status, 200, `disable: ${disabled.describe()}`);
  assert.equal(disabled.json().secret, undefined, 'disable: no secret member');
  assert.equal(disabled.json().status, 'disabled', 'disable: status');
  assert.equal(disabled.headers.location, undefined, 'disable: no Location');

  const enabled = await api.request('POST', `${path}/enable`, { key: owner.api_key });
  assert.equal(enabled.status, 200, `enable: ${enabled.describe()}`);
  assert.equal(enabled.json().secret, undefined, 'enable: no secret member');
  assert.equal(enabled.json().status, 'enabled', 'enable: status');
  assert.equal(enabled.json().created_at, endpoint.created_at, 'enable keeps created_at');

  const actions = await auditActions(owner.id, 'endpoint.', 3);
  assert.deepEqual(actions, ['endpoint.create', 'endpoint.disable', 'endpoint.enable'], 'audit actions');
});

test('recover of missing endpoint is 404', async () => {
  const owner = await api.createIntegration(uniqueId('recmiss'));
  const since = new Date(Date.now() - 60000).toISOString();
  const jobsBefore = await redisCli(harness.redisPort, ['XLEN', 'hg:{jobs}:queue']);

  const res = await api.request('POST', `${base(owner.id)}/endpoints/${MISSING_ENDPOINT}/recover`, {
    key: owner.api_key,
    json: { since },
  });
  assertProblem(res, 404, 'NOT_FOUND', 'recover of a missing endpoint');
  assert.match(res.json().detail, /endpoint ep_0+ does not exist/, 'detail names the endpoint');
  const jobsAfter = await redisCli(harness.redisPort, ['XLEN', 'hg:{jobs}:queue']);
  assert.equal(jobsAfter, jobsBefore, 'no job was queued');
});

test('missing integration is 404 for admin', async () => {
  const missing = base(uniqueId('gone'));
  const endpoint = `${missing}/endpoints/${MISSING_ENDPOINT}`;
  const since = new Date(Date.now() - 60000).toISOString();
  const routes = [
    ['GET', `${missing}/endpoints`],
    ['POST', `${missing}/endpoints`, { url: PUBLIC_URL, event_types: ['*'] }],
    ['GET', endpoint],
    ['PATCH', endpoint, { description: 'x' }],
    ['DELETE', endpoint],
    ['POST', `${endpoint}/enable`],
    ['POST', `${endpoint}/disable`],
    ['POST', `${endpoint}/rotate-secret`, {}],
    ['POST', `${endpoint}/recover`, { since }],
    ['GET', `${missing}/jobs/job_00000000000000000000000000`],
    ['GET', `${missing}/keys`],
    ['POST', `${missing}/keys`, { scopes: ['read'] }],
    ['DELETE', `${missing}/keys/key_00000000000000000000000000`],
    ['GET', `${missing}/oauth-clients`],
    ['POST', `${missing}/oauth-clients`, { scopes: ['read'] }],
    ['DELETE', `${missing}/oauth-clients/cli_00000000000000000000000000`],
    ['GET', missing],
    ['PATCH', missing, { name: 'x' }],
  ];
  for (const [method, urlPath, json] of routes) {
    const res = await api.request(method, urlPath, { key: ADMIN_KEY, json });
    assertProblem(res, 404, 'NOT_FOUND', `${method} ${urlPath}`);
    assert.match(res.json().detail, /^integration it-gone-[0-9a-f]+ does not exist$/, `${method} ${urlPath}: detail`);
  }
});

test('shared key tags are not integration ids', async () => {
  // A publish fills the first work shard, which an integration named wq0
  // would share and, on deletion, remove.
  const owner = await api.createIntegration(uniqueId('tags'));
  await api.createEndpoint(owner.id, owner.api_key, { url: PUBLIC_URL, event_types: ['*'] });
  await api.publishAccepted(owner.id, owner.api_key, { type: 'booking.created' });
  for (const id of ['wq0', 'wq1', 'act', 'admin', 'jobs', 'status']) {
    const res = await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: { id, name: id } });
    assertProblem(res, 422, 'VALIDATION_ERROR', `create ${id}`);
    assert.match(res.json().detail, /is reserved/, `create ${id}: detail`);
    const del = await api.request('DELETE', base(id), { key: ADMIN_KEY });
    assertProblem(del, 404, 'NOT_FOUND', `delete ${id} that does not exist`);
  }
  // One that an earlier version created is refused rather than purged.
  await redisCli(harness.redisPort, ['HSET', 'hg:{jobs}:integration', 'id', 'jobs', 'name', 'jobs']);
  try {
    const del = await api.request('DELETE', base('jobs'), { key: ADMIN_KEY });
    assertProblem(del, 409, 'CONFLICT', 'delete jobs created earlier');
    assert.match(del.json().detail, /shares its key tag/, 'delete jobs: detail');
  } finally {
    await redisCli(harness.redisPort, ['DEL', 'hg:{jobs}:integration']);
  }
  assert.equal((await redisCli(harness.redisPort, ['EXISTS', 'hg:{wq0}:work'])).trim(), '1', 'work shard kept');
  assert.notEqual((await redisCli(harness.redisPort, ['XLEN', 'hg:{admin}:audit'])).trim(), '0', 'audit log kept');
});

test('integration list returns objects', async () => {
  const prefix = uniqueId('objlist');
  const ids = [];
  for (let i = 0; i < 4; i++) {
    ids.push(`${prefix}-${i}`);
    await api.createIntegration(`${prefix}-${i}`, `Listed ${i}`);
  }
  await api.request('PATCH', base(ids[1]), { key: ADMIN_KEY, json: { validate_payloads: true } });

  const { items, pages } = await readPages('/api/v1/integrations', 2);
  assert.equal(pages[pages.length - 1].next_cursor, null, 'the last page has no next_cursor');
  const listedIds = items.map((i) => i.id);
  assert.deepEqual(listedIds, [...listedIds].sort(), 'integrations are sorted by id');
  assert.equal(new Set(listedIds).size, listedIds.length, 'no integration is listed twice');
  for (let i = 0; i < ids.length; i++) {
    const item = items.find((it) => it.id === ids[i]);
    assert.ok(item, `${ids[i]} is listed`);
    assert.equal(item.name, `Listed ${i}`, `${ids[i]}: name`);
    assert.match(item.created_at, RFC3339, `${ids[i]}: created_at`);
    assert.equal(item.operational_endpoint_id, null, `${ids[i]}: operational_endpoint_id`);
    assert.equal(item.validate_payloads, i === 1, `${ids[i]}: validate_payloads`);
  }
  const single = await api.request('GET', base(ids[0]), { key: ADMIN_KEY });
  assert.deepEqual(items.find((it) => it.id === ids[0]), single.json(), 'a listed integration equals its GET');

  const exact = await api.request('GET', `/api/v1/integrations?limit=${items.length}`, { key: ADMIN_KEY });
  assert.equal(exact.json().next_cursor, null, 'a page that holds the rest has no next_cursor');
  const fromMiddle = await api.request('GET', `/api/v1/integrations?limit=2&cursor=${ids[1]}`, { key: ADMIN_KEY });
  assert.deepEqual(fromMiddle.json().data.map((i) => i.id), [ids[2], ids[3]], 'a page starts after its cursor');

  for (const cursor of ['Not%20An%20Id', '-x', '%00', '%zz']) {
    assertProblem(
      await api.request('GET', `/api/v1/integrations?cursor=${cursor}`, { key: ADMIN_KEY }),
      422,
      'VALIDATION_ERROR',
      `cursor ${cursor}`,
    );
  }
});

test('key and client lists page', async () => {
  const owner = await api.createIntegration(uniqueId('credpage'));
  for (let i = 0; i < 4; i++) {
    await created(await api.request('POST', `${base(owner.id)}/keys`, { key: owner.api_key, json: { scopes: ['read'] } }), 'key');
  }
  for (let i = 0; i < 5; i++) {
    await created(await createClient(owner.id, owner.api_key), 'client');
  }

  for (const [list, total] of [['keys', 5], ['oauth-clients', 5]]) {
    const path = `${base(owner.id)}/${list}`;
    const { items, pages } = await readPages(path, 2);
    assert.equal(items.length, total, `${list}: every item is listed once`);
    assert.equal(pages.length, 3, `${list}: ${total} items make 3 pages of 2`);
    assert.equal(new Set(items.map((i) => i.id)).size, total, `${list}: no item twice`);
    const ids = items.map((i) => i.id);
    assert.deepEqual(ids, [...ids].sort(), `${list}: sorted by id`);

    const all = await api.request('GET', path, { key: ADMIN_KEY });
    assert.equal(all.json().next_cursor, null, `${list}: the default page holds all`);
    assert.deepEqual(all.json().data.map((i) => i.id), ids, `${list}: the default page equals the pages`);
    const exact = await api.request('GET', `${path}?limit=${total}`, { key: ADMIN_KEY });
    assert.equal(exact.json().next_cursor, null, `${list}: no next_cursor when the page ends the list`);

    for (const query of ['?limit=0', '?limit=1001', '?limit=x', '?cursor=bad', '?cursor=key_']) {
      assertProblem(await api.request('GET', `${path}${query}`, { key: ADMIN_KEY }), 422, 'VALIDATION_ERROR', `${list}${query}`);
    }
  }
});

test('unknown members are rejected', async () => {
  const owner = await api.createIntegration(uniqueId('members'));
  const endpoint = await created(await createEndpoint(owner.id, owner.api_key), 'endpoint');
  const since = new Date(Date.now() - 60000).toISOString();
  const cases = [
    ['POST', '/api/v1/integrations', { id: uniqueId('extra'), name: 'x', owner: 'me' }, 'owner', ADMIN_KEY],
    ['POST', `${base(owner.id)}/keys`, { scopes: ['read'], expiry: 60 }, 'expiry'],
    ['POST', `${base(owner.id)}/oauth-clients`, { scopes: ['read'], redirect_uri: 'https://x' }, 'redirect_uri'],
    ['POST', `${base(owner.id)}/endpoints/${endpoint.id}/rotate-secret`, { grace_period_s: 0, grace: 1 }, 'grace'],
    ['POST', `${base(owner.id)}/endpoints/${endpoint.id}/recover`, { since, endpoint_id: endpoint.id }, 'endpoint_id'],
    ['POST', `${base(owner.id)}/endpoints`, { url: PUBLIC_URL, event_types: ['*'], retries: 3 }, 'retries'],
    ['PATCH', `${base(owner.id)}/endpoints/${endpoint.id}`, { retries: 3 }, 'retries'],
    ['PATCH', base(owner.id), { retries: 3 }, 'retries'],
  ];
  for (const [method, urlPath, json, member, key = owner.api_key] of cases) {
    const res = await api.request(method, urlPath, { key, json });
    assertProblem(res, 422, 'VALIDATION_ERROR', `${method} ${urlPath}`);
    assert.match(res.json().detail, new RegExp(`unknown field "${member}"`), `${method} ${urlPath}: detail names ${member}`);
  }
  const listed = await api.request('GET', `${base(owner.id)}/keys`, { key: owner.api_key });
  assert.equal(listed.json().data.length, 1, 'the rejected key create stored nothing');
});

test('oauth client expiry', async () => {
  const owner = await api.createIntegration(uniqueId('cliexp'));
  const before = Date.now();
  const client = await created(await createClient(owner.id, owner.api_key, { scopes: ['read'], expires_in_s: 3600 }), 'client');
  const expires = Date.parse(client.expires_at);
  assert.ok(expires >= before + 3600 * 1000 - 1000, `expires_at ${client.expires_at} is an hour ahead`);
  assert.ok(expires <= Date.now() + 3600 * 1000 + 1000, `expires_at ${client.expires_at} is not later`);

  const plain = await created(await createClient(owner.id, owner.api_key), 'client without expiry');
  assert.equal(plain.expires_at, null, 'no expiry by default');
  const when = new Date(Date.now() + 7200 * 1000);
  when.setUTCMilliseconds(0);
  const at = await created(await createClient(owner.id, owner.api_key, { scopes: ['read'], expires_at: when.toISOString() }), 'client with expires_at');
  assert.equal(Date.parse(at.expires_at), when.getTime(), 'expires_at is the given time');

  const listed = (await api.request('GET', `${base(owner.id)}/oauth-clients`, { key: owner.api_key })).json().data;
  assert.equal(listed.find((c) => c.id === client.id).expires_at, client.expires_at, 'listed expires_at');
  assert.equal(listed.find((c) => c.id === plain.id).expires_at, null, 'listed expires_at of a client without expiry');

  for (const json of [
    { scopes: ['read'], expires_in_s: 10 },
    { scopes: ['read'], expires_at: 'tomorrow' },
    { scopes: ['read'], expires_in_s: 3600, expires_at: when.toISOString() },
  ]) {
    assertProblem(await createClient(owner.id, owner.api_key, json), 422, 'VALIDATION_ERROR', JSON.stringify(json));
  }

  // The token lives no longer than its client.
  const shortLived = await created(await createClient(owner.id, owner.api_key, { scopes: ['read'], expires_in_s: 120 }), 'short client');
  const token = await requestToken(api, { clientId: shortLived.client_id, clientSecret: shortLived.client_secret });
  assert.equal(token.status, 200, `token: ${token.describe()}`);
  assert.ok(token.json().expires_in <= 120, `expires_in ${token.json().expires_in} is capped by the client expiry`);
  const accessToken = token.json().access_token;
  assert.equal((await api.request('GET', base(owner.id), { key: accessToken })).status, 200, 'the token works');

  // Moving the stored expiry into the past replaces a wait of two minutes.
  const record = `hg:{${owner.id}}:client:${shortLived.client_id}`;
  await redisCli(harness.redisPort, ['HSET', record, 'expires_ms', String(Date.now() - 1000)]);
  const expired = await api.request('GET', base(owner.id), { key: accessToken });
  assertProblem(expired, 401, 'UNAUTHORIZED', 'token of an expired client');
  assert.match(expired.json().detail, /OAuth client of this token expired/, 'detail says the client expired');
  assert.match(expired.headers['www-authenticate'] || '', /error="invalid_token"/, 'WWW-Authenticate error');
  const again = await requestToken(api, { clientId: shortLived.client_id, clientSecret: shortLived.client_secret });
  assertProblem(again, 401, 'UNAUTHORIZED', 'new token for an expired client');
  assert.equal(again.json().error, 'invalid_client', 'error member');
});

test('second revoke is ALREADY_REVOKED', async () => {
  const owner = await api.createIntegration(uniqueId('revoke'));
  const key = await created(await api.request('POST', `${base(owner.id)}/keys`, { key: owner.api_key, json: { scopes: ['read'] } }), 'key');
  const client = await created(await createClient(owner.id, owner.api_key), 'client');
  for (const path of [`${base(owner.id)}/keys/${key.id}`, `${base(owner.id)}/oauth-clients/${client.id}`]) {
    assert.equal((await api.request('DELETE', path, { key: owner.api_key })).status, 204, `first revoke of ${path}`);
    const again = await api.request('DELETE', path, { key: owner.api_key });
    assertProblem(again, 409, 'ALREADY_REVOKED', `second revoke of ${path}`);
    assert.doesNotMatch(again.json().title, /already exists/, 'title');
    assert.match(again.json().title, /revoked/, 'title says revoked');
  }
});

test('token endpoint media type and errors', async () => {
  const owner = await api.createIntegration(uniqueId('tokerr'));
  const client = await created(await createClient(owner.id, owner.api_key), 'client');
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
  }).toString();
  const send = (contentType, body = form) =>
    api.request('POST', '/oauth/token', { body, headers: contentType === null ? {} : { 'Content-Type': contentType } });

  for (const type of [
    'application/x-www-form-urlencodedXYZ',
    'application/x-www-form-urlencoded-extra',
    'application/x-www-form-urlencoded/x',
    'application/x-www-form-urlencoded; charset',
    'text/plain',
    'application/json',
    '',
    null,
  ]) {
    const res = await send(type);
    assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type}`);
    assert.equal(res.json().error, 'invalid_request', `Content-Type ${type}: error member`);
    assert.equal(typeof res.json().error_description, 'string', `Content-Type ${type}: error_description`);
  }
  for (const type of [
    'application/x-www-form-urlencoded',
    'Application/X-WWW-Form-Urlencoded',
    'application/x-www-form-urlencoded; charset=UTF-8',
    'application/x-www-form-urlencoded ;charset="utf-8"',
    // RFC 9110 allows an empty parameter.
    'application/x-www-form-urlencoded;',
  ]) {
    const res = await send(type);
    assert.equal(res.status, 200, `Content-Type ${type}: ${res.describe()}`);
  }

  const wrong = await requestToken(api, { clientId: client.client_id, clientSecret: 'hgcs_wrong', basic: false });
  assertProblem(wrong, 401, 'UNAUTHORIZED', 'wrong secret in the form');
  assert.match(wrong.headers['www-authenticate'] || '', /^Basic realm="hookgate"/, 'WWW-Authenticate of a 401 with form credentials');
  const none = await api.request('POST', '/oauth/token', {
    body: 'grant_type=client_credentials',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assertProblem(none, 401, 'UNAUTHORIZED', 'no client credentials');
  assert.match(none.headers['www-authenticate'] || '', /^Basic/, 'WWW-Authenticate without credentials');
});

test('token failures are rate limited', { timeout: scaled(30000) }, async () => {
  const owner = await api.createIntegration(uniqueId('tokburst'));
  const client = await created(await createClient(owner.id, owner.api_key), 'client');
  const bystander = await created(await createClient(owner.id, owner.api_key), 'other client');
  const attempts = TOKEN_FAILURES_PER_S * 3;
  const responses = await Promise.all(
    Array.from({ length: attempts }, () => requestToken(api, { clientId: client.client_id, clientSecret: 'hgcs_guess' })),
  );
  const refused = responses.filter((r) => r.status === 401);
  const limited = responses.filter((r) => r.status === 429);
  assert.equal(refused.length + limited.length, attempts, `only 401 and 429: ${responses.map((r) => r.status)}`);
  assert.ok(refused.length >= TOKEN_FAILURES_PER_S, `at least ${TOKEN_FAILURES_PER_S} attempts checked, got ${refused.length}`);
  // One more failure is allowed for every 100 ms that the burst takes.
  assert.ok(refused.length <= TOKEN_FAILURES_PER_S + 5, `at most ${TOKEN_FAILURES_PER_S + 5} attempts checked, got ${refused.length}`);
  for (const res of limited) {
    assertProblem(res, 429, 'RATE_LIMITED', 'limited token request');
    assert.ok(Number(res.headers['retry-after']) >= 1, `Retry-After ${res.headers['retry-after']}`);
    assert.equal(res.json().error, 'temporarily_unavailable', 'error member');
    assert.equal(typeof res.json().error_description, 'string', 'error_description member');
    assert.equal(res.headers['cache-control'], 'no-store', 'Cache-Control');
  }

  const other = await requestToken(api, { clientId: bystander.client_id, clientSecret: bystander.client_secret });
  assert.equal(other.status, 200, `another client is not limited: ${other.describe()}`);
  await sleep(Number(limited[0].headers['retry-after']) * 1000);
  const right = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assert.equal(right.status, 200, `the right secret after Retry-After: ${right.describe()}`);
});

test('revoked client token is invalid_token', async () => {
  const owner = await api.createIntegration(uniqueId('tokrev'));
  const client = await created(await createClient(owner.id, owner.api_key), 'client');
  const token = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  const accessToken = token.json().access_token;
  await api.request('DELETE', `${base(owner.id)}/oauth-clients/${client.id}`, { key: owner.api_key });

  const res = await api.request('GET', base(owner.id), { key: accessToken });
  assertProblem(res, 401, 'UNAUTHORIZED', 'token of a revoked client');
  assert.match(res.headers['www-authenticate'] || '', /^Bearer realm="hookgate", error="invalid_token"/, 'WWW-Authenticate');

  const key = await created(await api.request('POST', `${base(owner.id)}/keys`, { key: owner.api_key, json: { scopes: ['read'] } }), 'key');
  await api.request('DELETE', `${base(owner.id)}/keys/${key.id}`, { key: owner.api_key });
  const revokedKey = await api.request('GET', base(owner.id), { key: key.key });
  assert.match(revokedKey.headers['www-authenticate'] || '', /error="invalid_token"/, 'WWW-Authenticate of a revoked key');
  const unknownKey = await api.request('GET', base(owner.id), { key: 'hgk_not_a_key_of_anyone' });
  assert.match(unknownKey.headers['www-authenticate'] || '', /error="invalid_token"/, 'WWW-Authenticate of an unknown key');
  const noKey = await api.request('GET', base(owner.id));
  assert.doesNotMatch(noKey.headers['www-authenticate'] || '', /error=/, 'no error without credentials');

  const reader = await created(await api.request('POST', `${base(owner.id)}/keys`, { key: owner.api_key, json: { scopes: ['read'] } }), 'reader');
  const denied = await api.request('GET', `${base(owner.id)}/keys`, { key: reader.key });
  assertProblem(denied, 403, 'FORBIDDEN', 'read key on a manage route');
  assert.match(denied.headers['www-authenticate'] || '', /error="insufficient_scope", scope="manage"/, 'WWW-Authenticate of a 403');
});

test('integration limit names its policy', { timeout: scaled(20000) }, async () => {
  const owner = await limitedApi.createIntegration(uniqueId('intpolicy'));
  const second = await limitedApi.request('POST', `${base(owner.id)}/keys`, { key: ADMIN_KEY, json: { scopes: ['read'] } });
  const secondKey = (await created(second, 'second key')).key;
  const policy = `"key";q=${KEY_RATE};w=1, "integration";q=${INTEGRATION_RATE};w=1`;

  // The first request takes the integration's only request of this second.
  const first = await limitedApi.request('GET', base(owner.id), { key: owner.api_key });
  assert.equal(first.status, 200, `first request: ${first.describe()}`);
  assert.equal(first.headers['ratelimit-policy'], policy, 'RateLimit-Policy');
  assert.match(first.headers.ratelimit || '', /^"integration";r=0;t=1$/, 'RateLimit names the limit closest to its end');

  // A burst of the other key finds the integration limit reached. Its
  // refused requests must not use up the key's own limit, so every refusal
  // names the integration.
  const burst = await Promise.all(
    Array.from({ length: 6 }, () => limitedApi.request('GET', base(owner.id), { key: secondKey })),
  );
  const refused = burst.filter((r) => r.status === 429);
  assert.ok(refused.length >= 5, `at least 5 of 6 refused: ${burst.map((r) => r.status)}`);
  for (const res of refused) {
    assertProblem(res, 429, 'RATE_LIMITED', 'refused request');
    assert.match(res.json().detail, /integration rate limit of 1/, 'detail names the integration limit');
    assert.match(res.headers.ratelimit || '', /^"integration";r=0;t=[1-9]\d*$/, 'RateLimit names the integration');
    assert.equal(res.headers['ratelimit-policy'], policy, 'RateLimit-Policy of a refused request');
  }

  // After Retry-After the integration allows a request of the second key
  // again.
  const wait = Math.max(...refused.map((r) => Number(r.headers['retry-after'])));
  await sleep(wait * 1000);
  const later = await limitedApi.request('GET', base(owner.id), { key: secondKey });
  assert.equal(later.status, 200, `after Retry-After: ${later.describe()}`);
  assert.match(later.headers.ratelimit || '', /^"integration";r=0;t=1$/, 'RateLimit after the wait');
});

test('publish limit names its policy', { timeout: scaled(20000) }, async () => {
  const owner = await limitedApi.createIntegration(uniqueId('pubpolicy'));
  const second = await limitedApi.request('POST', `${base(owner.id)}/keys`, {
    key: ADMIN_KEY,
    json: { scopes: ['publish'] },
  });
  const secondKey = (await created(second, 'second key')).key;
  const event = { type: 'limit.policy' };

  const first = await limitedApi.publish(owner.id, owner.api_key, event);
  assert.equal(first.status, 202, `first publish: ${first.describe()}`);
  assert.match(first.headers.ratelimit || '', /^"integration";r=0;t=1$/, 'RateLimit of an accepted publish');

  // Publishes refused by the integration limit must not use up the second
  // key's own limit (2 per second), or the later ones would name "key".
  const burst = await Promise.all(
    Array.from({ length: 6 }, () => limitedApi.publish(owner.id, secondKey, event)),
  );
  const refused = burst.filter((r) => r.status === 429);
  assert.ok(refused.length >= 5, `at least 5 of 6 refused: ${burst.map((r) => r.status)}`);
  for (const res of refused) {
    assertProblem(res, 429, 'RATE_LIMITED', 'refused publish');
    assert.match(res.headers.ratelimit || '', /^"integration";r=0;t=[1-9]\d*$/, 'RateLimit names the integration');
  }
});

test('created resources have Location', async () => {
  const id = uniqueId('location');
  const res = await api.request('POST', '/api/v1/integrations', { key: ADMIN_KEY, json: { id } });
  const integration = await created(res, 'integration');
  assert.equal(res.headers.location, base(id), 'integration Location');
  assert.match(integration.api_key_id, /^key_[0-9A-Z]{26}$/, 'api_key_id format');
  const keys = (await api.request('GET', `${base(id)}/keys`, { key: ADMIN_KEY })).json().data;
  assert.deepEqual(keys.map((k) => k.id), [integration.api_key_id], 'api_key_id is the listed first key');

  const endpointRes = await createEndpoint(id, integration.api_key);
  const endpoint = await created(endpointRes, 'endpoint');
  assert.equal(endpointRes.headers.location, `${base(id)}/endpoints/${endpoint.id}`, 'endpoint Location');
  const fetched = await api.request('GET', endpointRes.headers.location, { key: integration.api_key });
  assert.equal(fetched.status, 200, 'the endpoint Location can be read');

  const keyRes = await api.request('POST', `${base(id)}/keys`, { key: integration.api_key, json: { scopes: ['read'] } });
  const key = await created(keyRes, 'key');
  assert.equal(keyRes.headers.location, `${base(id)}/keys/${key.id}`, 'key Location');

  const clientRes = await createClient(id, integration.api_key);
  const client = await created(clientRes, 'client');
  assert.equal(clientRes.headers.location, `${base(id)}/oauth-clients/${client.id}`, 'client Location');
});

test('recover window is bounded', async () => {
  const owner = await api.createIntegration(uniqueId('window'));
  const endpoint = await created(await createEndpoint(owner.id, owner.api_key), 'endpoint');
  const path = `${base(owner.id)}/endpoints/${endpoint.id}/recover`;
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const cases = [
    ['since older than the retention', { since: iso(now - RETENTION_MS - 3600 * 1000) }, /"since".*retention/],
    ['until in the future', { since: iso(now - 60000), until: iso(now + 3600 * 1000) }, /"until".*future/],
    ['since in the future', { since: iso(now + 3600 * 1000) }, /"since" must be before "until"/],
    ['since equal to until', { since: iso(now - 60000), until: iso(now - 60000) }, /"since" must be before "until"/],
    ['since after until', { since: iso(now - 60000), until: iso(now - 120000) }, /"since" must be before "until"/],
    ['no since', {}, /"since" is required/],
    ['until not a time', { since: iso(now - 60000), until: 'now' }, /"until"/],
  ];
  for (const [label, json, detail] of cases) {
    const res = await api.request('POST', path, { key: owner.api_key, json });
    assertProblem(res, 422, 'VALIDATION_ERROR', label);
    assert.match(res.json().detail, detail, `${label}: detail`);
  }

  const accepted = await api.request('POST', path, {
    key: owner.api_key,
    json: { since: iso(now - RETENTION_MS + 3600 * 1000), until: iso(now + 5000) },
  });
  assert.equal(accepted.status, 202, `a window inside the bounds: ${accepted.describe()}`);
  assert.match(accepted.headers.location || '', new RegExp(`^${base(owner.id)}/jobs/job_`), 'job Location');
  // No worker runs here, so the job stays queued, and the endpoint takes
  // no other job until it is cancelled.
  const cancelled = await api.request('POST', `${accepted.headers.location}/cancel`, { key: owner.api_key });
  assert.equal(cancelled.status, 200, `cancel the job: ${cancelled.describe()}`);

  // "+" in a JSON string is a plus sign, not an encoded space.
  const offset = iso(now - 3600 * 1000).replace('Z', '+00:00');
  const withOffset = await api.request('POST', path, { key: owner.api_key, json: { since: offset } });
  assert.equal(withOffset.status, 202, `since with a +00:00 offset: ${withOffset.describe()}`);
  assert.equal(Date.parse(withOffset.json().since), Date.parse(offset), 'since with an offset');
});

test('basic auth still works', async () => {
  // The Basic path sends no form credentials; it must keep working with
  // the stricter media type check.
  const owner = await api.createIntegration(uniqueId('basic'));
  const client = await created(await createClient(owner.id, owner.api_key), 'client');
  const res = await api.request('POST', '/oauth/token', {
    body: 'grant_type=client_credentials',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
      Authorization: basicAuth(client.client_id, client.client_secret),
    },
  });
  assert.equal(res.status, 200, `Basic: ${res.describe()}`);
});

test('If-Match tag fails after auth', { timeout: scaled(30000) }, async () => {
  const id = uniqueId('ifmatch');
  const integration = await api.createIntegration(id);
  const key = integration.api_key;
  const endpoint = (await api.request('POST', `${base(id)}/endpoints`, { key, json: { url: PUBLIC_URL, event_types: ['*'] } })).json();
  const ep = `${base(id)}/endpoints/${endpoint.id}`;
  const ifMatch = { 'If-Match': '"v1"' };

  const changes = [
    ['PATCH', base(id), { name: 'x' }],
    ['PATCH', ep, { description: 'x' }],
    ['POST', `${ep}/rotate-secret`, {}],
    ['POST', `${ep}/disable`, undefined],
    ['POST', `${ep}/test`, undefined],
    ['POST', `${base(id)}/keys`, { scopes: ['read'] }],
    ['POST', `${base(id)}/oauth-clients`, { scopes: ['read'] }],
    ['PUT', `${base(id)}/alert-rules`, { rules: [] }],
    ['POST', `${base(id)}/events`, { type: 'ifmatch.test' }],
    ['DELETE', ep, undefined],
  ];
  for (const [method, path, json] of changes) {
    const label = `${method} ${path.replace(base(id), '')}`;
    const res = await api.request(method, path, { key, json, headers: ifMatch });
    assertProblem(res, 412, 'PRECONDITION_FAILED', label);
    const anonymous = await api.request(method, path, { json, headers: ifMatch });
    assert.equal(anonymous.status, 401, `${label} without a credential: ${anonymous.describe()}`);
  }

  const admin = await api.request('POST', '/api/v1/status/incidents', { key: ADMIN_KEY, json: {}, headers: ifMatch });
  assertProblem(admin, 412, 'PRECONDITION_FAILED', 'admin route');
  // Most routes look the resource up in the script that changes it, after
  // the precondition, so a missing one gets 412 too.
  const missing = await api.request('DELETE', `${base(id)}/endpoints/${MISSING_ENDPOINT}`, { key, headers: ifMatch });
  assert.equal(missing.status, 412, `missing endpoint: ${missing.describe()}`);

  const stars = Object.fromEntries([['If-Match', Array(9).fill('*')]]);
  const starred = await api.request('PATCH', ep, { key, json: { description: 'stars' }, headers: stars });
  assert.equal(starred.status, 200, `nine If-Match: * lines: ${starred.describe()}`);
  assert.equal((await api.request('GET', ep, { key })).json().description, 'stars', 'only the starred change was made');
});
