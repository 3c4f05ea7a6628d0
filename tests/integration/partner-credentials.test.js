'use strict';

// Credentials of an integration: API keys with scopes, expiry and
// revocation, the Ocp-Apim-Subscription-Key header, and OAuth clients with
// the client credentials grant of POST /oauth/token.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, basicAuth, requestToken, uniqueId } = require('./lib/api');
const { ADMIN_KEY, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');

const harness = setupHarness('partner-credentials');
let api;
// A gateway on the same Redis whose access tokens live one second.
let shortTokenApi;
let main;
let other;
// A key created when the file starts with the shortest lifetime the API
// accepts (60 s); the last test checks that it expired.
let expiringKey;
let expiringKeyDeadline;

const KEY_MIN_LIFETIME_S = 60;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway();
  const shortTokenGateway = await harness.startGateway({ HOOKGATE_TOKEN_TTL_S: '1' });
  api = harness.closeLater(new CheckedApi(gateway.port));
  shortTokenApi = harness.closeLater(new CheckedApi(shortTokenGateway.port));
  main = await api.createIntegration(uniqueId('cred'));
  other = await api.createIntegration(uniqueId('cred-other'));

  const res = await createKey(main.id, main.api_key, { name: 'expiring', scopes: ['read'], expires_in_s: KEY_MIN_LIFETIME_S });
  assert.equal(res.status, 201, `creating the expiring key: ${res.describe()}`);
  expiringKey = res.json();
  expiringKeyDeadline = Date.now() + KEY_MIN_LIFETIME_S * 1000;
});

function keysPath(id) {
  return `/api/v1/integrations/${id}/keys`;
}

function createKey(id, apiKey, spec) {
  return api.request('POST', keysPath(id), { key: apiKey, json: spec });
}

async function createdKey(spec) {
  const res = await createKey(main.id, main.api_key, spec);
  assert.equal(res.status, 201, `creating a key: ${res.describe()}`);
  return res.json();
}

async function createClient(id, apiKey, scopes) {
  const res = await api.request('POST', `/api/v1/integrations/${id}/oauth-clients`, {
    key: apiKey,
    json: { name: 'client', scopes },
  });
  assert.equal(res.status, 201, `creating an OAuth client: ${res.describe()}`);
  return res.json();
}

async function tokenFor(client, options = {}) {
  const res = await requestToken(options.api || api, {
    clientId: client.client_id,
    clientSecret: client.client_secret,
    ...options,
  });
  assert.equal(res.status, 200, `token request: ${res.describe()}`);
  return res.json();
}

function getEvents(id, key, client = api) {
  return client.request('GET', `/api/v1/integrations/${id}/events`, { key });
}

function publish(id, key) {
  return api.publish(id, key, { type: 'credential.checked' });
}

test('api key create with scopes', async () => {
  const res = await createKey(main.id, main.api_key, { name: 'publisher', scopes: ['publish'] });
  assert.equal(res.status, 201, `create: ${res.describe()}`);
  const created = res.json();
  assert.match(created.id, /^key_[0-9A-Z]{26}$/, 'key id format');
  assert.match(created.key, /^hgk_[A-Za-z0-9_-]{20,}$/, 'key format');
  assert.equal(created.name, 'publisher', 'name');
  assert.deepEqual(created.scopes, ['publish'], 'scopes');
  assert.equal(created.prefix, created.key.slice(0, 8), 'prefix is the first 8 characters');
  assert.equal(created.expires_at, null, 'no expiry by default');
  assert.match(created.created_at, RFC3339, 'created_at format');

  const all = await createdKey({ scopes: ['manage', 'publish', 'read', 'read'] });
  assert.deepEqual(all.scopes, ['publish', 'read', 'manage'], 'scopes are deduplicated in a fixed order');
  assert.equal(all.name, all.id, 'name defaults to the id');
});

test('api key create with expires_in_s', async () => {
  const before = Date.now();
  const created = await createdKey({ scopes: ['read'], expires_in_s: 3600 });
  const expires = Date.parse(created.expires_at);
  assert.match(created.expires_at, RFC3339, 'expires_at format');
  assert.ok(expires >= before + 3600 * 1000 - 1000, `expires_at ${created.expires_at} is an hour ahead`);
  assert.ok(expires <= Date.now() + 3600 * 1000 + 1000, `expires_at ${created.expires_at} is not later`);

  const res = await getEvents(main.id, created.key);
  assert.equal(res.status, 200, `a key before its expiry works: ${res.describe()}`);
});

test('api key create with expires_at', async () => {
  const when = new Date(Date.now() + 2 * 3600 * 1000);
  when.setUTCMilliseconds(0);
  const created = await createdKey({ scopes: ['read'], expires_at: when.toISOString() });
  assert.equal(Date.parse(created.expires_at), when.getTime(), 'expires_at is the given time');

  const offset = new Date(Date.now() + 3 * 3600 * 1000);
  offset.setUTCMilliseconds(0);
  const local = offset.toISOString().replace('Z', '+00:00');
  const withOffset = await createdKey({ scopes: ['read'], expires_at: local });
  assert.equal(Date.parse(withOffset.expires_at), offset.getTime(), 'an offset time is accepted');
});

test('api key expiry validation', async () => {
  const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();
  const cases = [
    ['expires_in_s below the minimum', { expires_in_s: KEY_MIN_LIFETIME_S - 1 }],
    ['expires_in_s zero', { expires_in_s: 0 }],
    ['expires_in_s negative', { expires_in_s: -60 }],
    ['expires_in_s string', { expires_in_s: '3600' }],
    ['expires_in_s fraction', { expires_in_s: 90.5 }],
    ['expires_in_s above five years', { expires_in_s: 5 * 365 * 86400 + 1 }],
    ['expires_at in the past', { expires_at: inSeconds(-3600) }],
    ['expires_at in 30 s', { expires_at: inSeconds(30) }],
    ['expires_at after five years', { expires_at: inSeconds(5 * 365 * 86400 + 3600) }],
    ['expires_at not a time', { expires_at: 'tomorrow' }],
    ['expires_at a number', { expires_at: Date.now() + 3600 * 1000 }],
    ['both', { expires_in_s: 3600, expires_at: inSeconds(7200) }],
  ];
  for (const [label, fields] of cases) {
    const res = await createKey(main.id, main.api_key, { scopes: ['read'], ...fields });
    assertProblem(res, 422, 'VALIDATION_ERROR', label);
  }
  const longest = await createKey(main.id, main.api_key, { scopes: ['read'], expires_in_s: 5 * 365 * 86400 });
  assert.equal(longest.status, 201, `five years is accepted: ${longest.describe()}`);
});

test('api key scope validation', async () => {
  const cases = [
    ['missing', { name: 'x' }],
    ['empty', { scopes: [] }],
    ['string', { scopes: 'publish' }],
    ['unknown', { scopes: ['admin'] }],
    ['two in one string', { scopes: ['publish read'] }],
    ['number', { scopes: [1] }],
    ['one bad of two', { scopes: ['read', 'write'] }],
  ];
  for (const [label, body] of cases) {
    assertProblem(await createKey(main.id, main.api_key, body), 422, 'VALIDATION_ERROR', `scopes ${label}`);
  }
  for (const [label, name] of [['empty', ''], ['101 bytes', 'n'.repeat(101)], ['number', 3]]) {
    assertProblem(
      await createKey(main.id, main.api_key, { name, scopes: ['read'] }),
      422,
      'VALIDATION_ERROR',
      `name ${label}`,
    );
  }
  assertProblem(
    await createKey(uniqueId('missing'), ADMIN_KEY, { scopes: ['read'] }),
    404,
    'NOT_FOUND',
    'key for a missing integration',
  );
});

test('api key list has no secrets', async () => {
  const created = await createdKey({ name: 'listed', scopes: ['read'] });
  const res = await api.request('GET', keysPath(main.id), { key: main.api_key });
  assert.equal(res.status, 200, `list: ${res.describe()}`);
  const keys = res.json().data;
  const listed = keys.find((k) => k.id === created.id);
  assert.ok(listed, 'the new key is listed');
  assert.equal(listed.name, 'listed', 'listed name');
  assert.deepEqual(listed.scopes, ['read'], 'listed scopes');
  assert.equal(listed.prefix, created.key.slice(0, 8), 'listed prefix');
  assert.equal(listed.revoked_at, null, 'listed revoked_at');
  assert.ok(keys.some((k) => k.name === 'initial key'), 'the initial key is listed');
  for (const key of keys) {
    assert.equal(key.key, undefined, `key ${key.id} has no key member`);
    assert.deepEqual(
      Object.keys(key).sort(),
      ['created_at', 'expires_at', 'id', 'name', 'prefix', 'revoked_at', 'scopes'],
      `members of key ${key.id}`,
    );
  }
  assert.ok(!res.text.includes(created.key), 'the list does not contain the new key');
  assert.ok(!res.text.includes(main.api_key), 'the list does not contain the initial key');
});

test('publish-only key gets 403 on reads', async () => {
  const publisher = await createdKey({ scopes: ['publish'] });
  const base = `/api/v1/integrations/${main.id}`;
  const accepted = await publish(main.id, publisher.key);
  assert.equal(accepted.status, 202, `publish: ${accepted.describe()}`);
  const eventId = accepted.json().id;
  const reads = [
    ['GET', base],
    ['GET', `${base}/events`],
    ['GET', `${base}/events/${eventId}`],
    ['GET', `${base}/events/${eventId}/payload`],
    ['GET', `${base}/deliveries`],
    ['GET', `${base}/endpoints`],
  ];
  for (const [method, urlPath] of reads) {
    const res = await api.request(method, urlPath, { key: publisher.key });
    assertProblem(res, 403, 'FORBIDDEN', `${method} ${urlPath}`);
    assert.match(res.json().detail, /read scope/, `${method} ${urlPath}: detail names the scope`);
  }
  assertProblem(
    await api.request('POST', `${base}/endpoints`, {
      key: publisher.key,
      json: { url: 'https://example.com/hook', event_types: ['*'] },
    }),
    403,
    'FORBIDDEN',
    'endpoint create',
  );
  assertProblem(await api.request('GET', keysPath(main.id), { key: publisher.key }), 403, 'FORBIDDEN', 'key list');
});

test('read key gets 403 on changes', async () => {
  const reader = await createdKey({ scopes: ['read'] });
  const base = `/api/v1/integrations/${main.id}`;
  for (const urlPath of [base, `${base}/events`, `${base}/deliveries`, `${base}/endpoints`]) {
    const res = await api.request('GET', urlPath, { key: reader.key });
    assert.equal(res.status, 200, `GET ${urlPath}: ${res.describe()}`);
  }
  const res = await publish(main.id, reader.key);
  assertProblem(res, 403, 'FORBIDDEN', 'publish');
  assert.match(res.json().detail, /publish scope/, 'publish detail names the scope');

  const victim = await createdKey({ scopes: ['read'] });
  const changes = [
    ['POST', `${base}/endpoints`, { url: 'https://example.com/hook', event_types: ['*'] }],
    ['PATCH', base, { name: 'changed' }],
    ['POST', keysPath(main.id), { scopes: ['read'] }],
    ['GET', keysPath(main.id)],
    ['DELETE', `${keysPath(main.id)}/${victim.id}`],
    ['POST', `${base}/oauth-clients`, { scopes: ['read'] }],
    ['GET', `${base}/oauth-clients`],
    ['GET', `${base}/audit`],
  ];
  for (const [method, urlPath, json] of changes) {
    const denied = await api.request(method, urlPath, { key: reader.key, json });
    assertProblem(denied, 403, 'FORBIDDEN', `${method} ${urlPath}`);
    assert.match(denied.json().detail, /manage scope/, `${method} ${urlPath}: detail names the scope`);
  }
  const still = await getEvents(main.id, victim.key);
  assert.equal(still.status, 200, 'the key that the read key tried to revoke still works');
});

test('manage key gets 403 on reads', async () => {
  const manager = await createdKey({ scopes: ['manage'] });
  const endpoint = await api.request('POST', `/api/v1/integrations/${main.id}/endpoints`, {
    key: manager.key,
    json: { url: 'https://example.com/manage', event_types: ['manage.*'] },
  });
  assert.equal(endpoint.status, 201, `endpoint create: ${endpoint.describe()}`);
  assertProblem(await getEvents(main.id, manager.key), 403, 'FORBIDDEN', 'event list');
  assertProblem(await publish(main.id, manager.key), 403, 'FORBIDDEN', 'publish');
});

test('credentials grant only own scopes', async () => {
  const manager = await createdKey({ scopes: ['manage'] });
  for (const route of ['keys', 'oauth-clients']) {
    const wider = await api.request('POST', `/api/v1/integrations/${main.id}/${route}`, {
      key: manager.key,
      json: { name: 'wider', scopes: ['read', 'manage'] },
    });
    assertProblem(wider, 403, 'FORBIDDEN', `${route}: a scope the key lacks`);
    assert.match(wider.json().detail, /has the scopes "manage"/, `${route}: detail`);
    const same = await api.request('POST', `/api/v1/integrations/${main.id}/${route}`, {
      key: manager.key,
      json: { name: 'same', scopes: ['manage'] },
    });
    assert.equal(same.status, 201, `${route}: the key's own scope: ${same.describe()}`);
  }
  const client = await createClient(main.id, main.api_key, ['manage']);
  const token = await tokenFor(client);
  const fromToken = await createKey(main.id, token.access_token, { name: 'from-token', scopes: ['publish'] });
  assertProblem(fromToken, 403, 'FORBIDDEN', 'a manage token grants publish');
  // A token asked with fewer scopes than its client grants only those.
  const wide = await createClient(main.id, main.api_key, ['read', 'manage']);
  const narrow = await tokenFor(wide, { scope: 'manage' });
  const fromNarrow = await createKey(main.id, narrow.access_token, { name: 'from-narrow', scopes: ['read'] });
  assertProblem(fromNarrow, 403, 'FORBIDDEN', 'a manage token of a read and manage client grants read');
  const sameNarrow = await createKey(main.id, narrow.access_token, { name: 'same-narrow', scopes: ['manage'] });
  assert.equal(sameNarrow.status, 201, `the token's own scope: ${sameNarrow.describe()}`);
  const admin = await createKey(main.id, ADMIN_KEY, { name: 'from-admin', scopes: ['publish', 'read', 'manage'] });
  assert.equal(admin.status, 201, `the admin key grants every scope: ${admin.describe()}`);
});

test('api key revoke', async () => {
  const victim = await createdKey({ name: 'victim', scopes: ['publish', 'read'] });
  assert.equal((await getEvents(main.id, victim.key)).status, 200, 'the key works before the revoke');

  const res = await api.request('DELETE', `${keysPath(main.id)}/${victim.id}`, { key: main.api_key });
  assert.equal(res.status, 204, `revoke: ${res.describe()}`);
  assert.equal(res.body.length, 0, 'a 204 has no body');

  const read = await getEvents(main.id, victim.key);
  assertProblem(read, 401, 'UNAUTHORIZED', 'read with the revoked key');
  assert.match(read.json().detail, /revoked/, 'detail says the key was revoked');
  assert.match(read.headers['www-authenticate'] || '', /^Bearer/, 'WWW-Authenticate header');
  const published = await publish(main.id, victim.key);
  assertProblem(published, 401, 'UNAUTHORIZED', 'publish with the revoked key');
  assert.match(published.json().detail, /revoked/, 'publish detail says the key was revoked');

  assertProblem(
    await api.request('DELETE', `${keysPath(main.id)}/${victim.id}`, { key: main.api_key }),
    409,
    'ALREADY_REVOKED',
    'second revoke',
  );
  assertProblem(
    await api.request('DELETE', `${keysPath(main.id)}/key_00000000000000000000000000`, { key: main.api_key }),
    404,
    'NOT_FOUND',
    'unknown key id',
  );
  assertProblem(
    await api.request('DELETE', `${keysPath(main.id)}/not-a-key`, { key: main.api_key }),
    404,
    'NOT_FOUND',
    'malformed key id',
  );
  assertProblem(
    await api.request('DELETE', `${keysPath(other.id)}/${victim.id}`, { key: other.api_key }),
    404,
    'NOT_FOUND',
    'key id of another integration',
  );

  const list = (await api.request('GET', keysPath(main.id), { key: main.api_key })).json().data;
  const listed = list.find((k) => k.id === victim.id);
  assert.ok(listed, 'a revoked key stays listed');
  assert.match(listed.revoked_at || '', RFC3339, 'revoked_at is set');
});

test('subscription key header works like bearer', async () => {
  const subscription = { 'Ocp-Apim-Subscription-Key': main.api_key };
  const read = await api.request('GET', `/api/v1/integrations/${main.id}`, { headers: subscription });
  assert.equal(read.status, 200, `read: ${read.describe()}`);
  assert.equal(read.json().id, main.id, 'read returns the integration');

  const published = await api.publish(main.id, null, { type: 'credential.apim' }, subscription);
  assert.equal(published.status, 202, `publish: ${published.describe()}`);

  assertProblem(
    await api.request('GET', `/api/v1/integrations/${other.id}`, { headers: subscription }),
    403,
    'FORBIDDEN',
    'key of another integration',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${main.id}`, {
      headers: { 'Ocp-Apim-Subscription-Key': 'hgk_unknown_key_value' },
    }),
    401,
    'UNAUTHORIZED',
    'unknown key',
  );

  const victim = await createdKey({ scopes: ['read'] });
  await api.request('DELETE', `${keysPath(main.id)}/${victim.id}`, { key: main.api_key });
  const revoked = await api.request('GET', `/api/v1/integrations/${main.id}`, {
    headers: { 'Ocp-Apim-Subscription-Key': victim.key },
  });
  assertProblem(revoked, 401, 'UNAUTHORIZED', 'revoked key');
  assert.match(revoked.json().detail, /revoked/, 'detail says the key was revoked');

  const publisher = await createdKey({ scopes: ['publish'] });
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${main.id}/events`, {
      headers: { 'Ocp-Apim-Subscription-Key': publisher.key },
    }),
    403,
    'FORBIDDEN',
    'scope check',
  );
});

test('oauth client create shows secret once', async () => {
  const res = await api.request('POST', `/api/v1/integrations/${main.id}/oauth-clients`, {
    key: main.api_key,
    json: { name: 'backend', scopes: ['publish', 'read'] },
  });
  assert.equal(res.status, 201, `create: ${res.describe()}`);
  const client = res.json();
  assert.match(client.client_id, /^cli_[0-9A-Z]{26}$/, 'client_id format');
  assert.equal(client.id, client.client_id, 'id equals client_id');
  assert.match(client.client_secret, /^hgcs_[A-Za-z0-9_-]{20,}$/, 'client_secret format');
  assert.deepEqual(client.scopes, ['publish', 'read'], 'scopes');
  assert.equal(client.name, 'backend', 'name');

  const list = await api.request('GET', `/api/v1/integrations/${main.id}/oauth-clients`, { key: main.api_key });
  assert.equal(list.status, 200, `list: ${list.describe()}`);
  const listed = list.json().data.find((c) => c.id === client.client_id);
  assert.ok(listed, 'the client is listed');
  assert.equal(listed.client_secret, undefined, 'the list has no client_secret member');
  assert.ok(!list.text.includes(client.client_secret), 'the list does not contain the secret');

  assertProblem(
    await api.request('POST', `/api/v1/integrations/${main.id}/oauth-clients`, {
      key: main.api_key,
      json: { scopes: ['superuser'] },
    }),
    422,
    'VALIDATION_ERROR',
    'unknown scope',
  );
});

test('oauth token with basic and form', async () => {
  const client = await createClient(main.id, main.api_key, ['publish', 'read']);

  const basic = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assert.equal(basic.status, 200, `Basic: ${basic.describe()}`);
  const token = basic.json();
  assert.match(token.access_token, /^hgt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'access_token format');
  assert.equal(token.token_type, 'Bearer', 'token_type');
  assert.equal(token.expires_in, 900, 'expires_in is the default lifetime');
  assert.equal(token.scope, 'publish read', 'scope defaults to the client scopes');
  assert.equal(basic.headers['cache-control'], 'no-store', 'Cache-Control of a token response');

  const form = await requestToken(api, {
    clientId: client.client_id,
    clientSecret: client.client_secret,
    basic: false,
  });
  assert.equal(form.status, 200, `form parameters: ${form.describe()}`);
  assert.equal(form.json().scope, 'publish read', 'scope with form parameters');

  const read = await getEvents(main.id, token.access_token);
  assert.equal(read.status, 200, `token as bearer on a read: ${read.describe()}`);
  const published = await publish(main.id, token.access_token);
  assert.equal(published.status, 202, `token as bearer on a publish: ${published.describe()}`);
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${main.id}/keys`, { key: token.access_token }),
    403,
    'FORBIDDEN',
    'token without the manage scope',
  );
});

test('oauth token invalid client is 401', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const cases = [
    ['wrong secret with Basic', { clientId: client.client_id, clientSecret: 'hgcs_wrong' }],
    ['wrong secret in the form', { clientId: client.client_id, clientSecret: 'hgcs_wrong', basic: false }],
    ['unknown client', { clientId: 'cli_00000000000000000000000000', clientSecret: client.client_secret }],
    ['malformed client id', { clientId: 'client-1', clientSecret: client.client_secret }],
    ['empty secret', { clientId: client.client_id, clientSecret: '', basic: false }],
  ];
  for (const [label, options] of cases) {
    const res = await requestToken(api, options);
    assertProblem(res, 401, 'UNAUTHORIZED', label);
    assert.equal(res.json().error, 'invalid_client', `${label}: error member`);
    assert.equal(typeof res.json().error_description, 'string', `${label}: error_description member`);
  }
  const basic = await requestToken(api, { clientId: client.client_id, clientSecret: 'hgcs_wrong' });
  assert.match(basic.headers['www-authenticate'] || '', /^Basic/, 'WWW-Authenticate after failed Basic');

  const malformedBasic = await api.request('POST', '/oauth/token', {
    body: 'grant_type=client_credentials',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic !!!' },
  });
  assertProblem(malformedBasic, 401, 'UNAUTHORIZED', 'malformed Basic');
  assert.equal(malformedBasic.json().error, 'invalid_client', 'malformed Basic: error member');
});

test('oauth token rejects bad requests', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const credentials = { clientId: client.client_id, clientSecret: client.client_secret };

  const password = await requestToken(api, { ...credentials, form: { grant_type: 'password' } });
  assertProblem(password, 400, 'BAD_REQUEST', 'password grant');
  assert.equal(password.json().error, 'unsupported_grant_type', 'password grant: error member');

  const noGrant = await api.request('POST', '/oauth/token', {
    body: '',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basicAuth(client.client_id, client.client_secret),
    },
  });
  assertProblem(noGrant, 400, 'BAD_REQUEST', 'no grant_type');
  assert.equal(noGrant.json().error, 'invalid_request', 'no grant_type: error member');

  const twice = await api.request('POST', '/oauth/token', {
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: client.client_secret,
    }).toString(),
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basicAuth(client.client_id, client.client_secret),
    },
  });
  assertProblem(twice, 400, 'BAD_REQUEST', 'credentials in Basic and in the form');
  assert.equal(twice.json().error, 'invalid_request', 'credentials twice: error member');
  assert.match(twice.json().detail, /client_id is given twice/, 'credentials twice: detail');

  const json = await api.request('POST', '/oauth/token', {
    json: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret },
  });
  assertProblem(json, 415, 'UNSUPPORTED_MEDIA_TYPE', 'JSON body');
});

test('oauth token ignores long unknown parameters', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  // RFC 6749 section 3.2: unrecognized parameters are ignored, however
  // long their names and values; a known parameter keeps its size limit.
  const body = (extra) => new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...extra,
  }).toString();
  const form = (extra) => api.request('POST', '/oauth/token', {
    body: body(extra),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const longName = await form({ ['x_' + 'n'.repeat(300)]: 'v'.repeat(2000) });
  assert.equal(longName.status, 200, `long unknown parameter: ${longName.describe()}`);
  assert.equal(longName.json().scope, 'read', 'scope beside a long unknown parameter');

  const longScope = await form({ scope: 'read '.repeat(60) });
  assertProblem(longScope, 400, 'BAD_REQUEST', 'scope of 300 bytes');
  assert.equal(longScope.json().error, 'invalid_request', 'long scope: error member');

  const shortName = await form({ x_other: 'ok' });
  assert.equal(shortName.status, 200, `short unknown parameter: ${shortName.describe()}`);
  const malformed = await api.request('POST', '/oauth/token', {
    body: `${body({})}&x_${'n'.repeat(100)}=%zz`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assertProblem(malformed, 400, 'BAD_REQUEST', 'bad escape in an unknown parameter');
});

test('oauth token rejects NUL in Basic', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  // The secret followed by a NUL byte and more text is another secret, not
  // the client's one cut short.
  const raw = Buffer.from(`${client.client_id}:${client.client_secret}\0tail`).toString('base64');
  const res = await api.request('POST', '/oauth/token', {
    body: 'grant_type=client_credentials',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${raw}` },
  });
  assertProblem(res, 401, 'UNAUTHORIZED', 'NUL byte after the secret');
  assert.equal(res.json().error, 'invalid_client', 'NUL byte: error member');
});

test('oauth token scope errors say why', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const credentials = { clientId: client.client_id, clientSecret: client.client_secret };
  const cases = [
    ['', /scope is empty/],
    ['read\tpublish', /scope "read.publish" is unknown/],
    ['reed', /scope "reed" is unknown/],
    ['read publish', /exceeds the client's scopes/],
  ];
  for (const [scope, detail] of cases) {
    const res = await requestToken(api, { ...credentials, form: { grant_type: 'client_credentials', scope } });
    assertProblem(res, 400, 'BAD_REQUEST', `scope ${JSON.stringify(scope)}`);
    assert.equal(res.json().error, 'invalid_scope', `scope ${JSON.stringify(scope)}: error member`);
    assert.match(res.json().detail, detail, `scope ${JSON.stringify(scope)}: detail`);
  }
});

test('oauth token scope subset', async () => {
  const client = await createClient(main.id, main.api_key, ['publish', 'read']);

  const readOnly = await tokenFor(client, { scope: 'read' });
  assert.equal(readOnly.scope, 'read', 'granted scope is the requested subset');
  assert.equal((await getEvents(main.id, readOnly.access_token)).status, 200, 'a read token reads');
  const denied = await publish(main.id, readOnly.access_token);
  assertProblem(denied, 403, 'FORBIDDEN', 'a read token publishes');
  assert.match(denied.json().detail, /access token lacks the publish scope/, 'detail names the token scope');

  const both = await tokenFor(client, { scope: 'read publish' });
  assert.equal(both.scope, 'publish read', 'two requested scopes');

  for (const scope of ['manage', 'read manage', 'admin', '']) {
    const res = await requestToken(api, {
      clientId: client.client_id,
      clientSecret: client.client_secret,
      scope,
    });
    assertProblem(res, 400, 'BAD_REQUEST', `scope "${scope}"`);
    assert.equal(res.json().error, 'invalid_scope', `scope "${scope}": error member`);
  }
});

test('oauth token of one integration on another', async () => {
  const client = await createClient(main.id, main.api_key, ['publish', 'read']);
  const token = await tokenFor(client);
  const base = `/api/v1/integrations/${other.id}`;
  assertProblem(await getEvents(other.id, token.access_token), 403, 'FORBIDDEN', 'event list');
  assertProblem(await api.request('GET', base, { key: token.access_token }), 403, 'FORBIDDEN', 'integration read');
  assertProblem(await publish(other.id, token.access_token), 403, 'FORBIDDEN', 'publish');
});

test('oauth token invalid signature is 401', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const token = (await tokenFor(client)).access_token;
  const last = token.slice(-2, -1) === 'A' ? 'B' : 'A';
  const tampered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
  const res = await getEvents(main.id, tampered);
  assertProblem(res, 401, 'UNAUTHORIZED', 'tampered token');
  assert.match(res.headers['www-authenticate'] || '', /error="invalid_token"/, 'WWW-Authenticate error');

  const [payload, signature] = token.slice(4).split('.');
  const claims = Buffer.from(payload, 'base64url').toString('utf8').split('|');
  claims[0] = other.id;
  const forged = `hgt_${Buffer.from(claims.join('|')).toString('base64url')}.${signature}`;
  assertProblem(await getEvents(other.id, forged), 401, 'UNAUTHORIZED', 'token with a changed integration');
});

test('revoked oauth client token is 401', async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const token = await tokenFor(client);
  assert.equal((await getEvents(main.id, token.access_token)).status, 200, 'the token works before the revoke');

  const res = await api.request('DELETE', `/api/v1/integrations/${main.id}/oauth-clients/${client.client_id}`, {
    key: main.api_key,
  });
  assert.equal(res.status, 204, `revoke: ${res.describe()}`);

  const read = await getEvents(main.id, token.access_token);
  assertProblem(read, 401, 'UNAUTHORIZED', 'token of a revoked client');
  assert.match(read.json().detail, /revoked/, 'detail says the client was revoked');

  const again = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assertProblem(again, 401, 'UNAUTHORIZED', 'new token for a revoked client');
  assert.equal(again.json().error, 'invalid_client', 'new token error member');

  assertProblem(
    await api.request('DELETE', `/api/v1/integrations/${main.id}/oauth-clients/${client.client_id}`, {
      key: main.api_key,
    }),
    409,
    'ALREADY_REVOKED',
    'second revoke',
  );
});

test('credential changes are audited', async () => {
  const owner = await api.createIntegration(uniqueId('cred-audit'));
  const keys = (await api.request('GET', keysPath(owner.id), { key: owner.api_key })).json().data;
  const actor = `key:${keys[0].id}`;
  const base = `/api/v1/integrations/${owner.id}`;
  const key = (await createKey(owner.id, owner.api_key, { scopes: ['read'] })).json();
  const client = await createClient(owner.id, owner.api_key, ['read']);
  const token = await requestToken(api, { clientId: client.client_id, clientSecret: client.client_secret });
  assert.equal(token.status, 200, `token: ${token.describe()}`);
  const steps = [
    ['DELETE', `${keysPath(owner.id)}/${key.id}`, 'api_key.revoke', key.id],
    ['DELETE', `${base}/oauth-clients/${client.client_id}`, 'oauth_client.revoke', client.client_id],
  ];
  const requestIds = {};
  for (const [method, urlPath, action] of steps) {
    const requestId = `it-${action}-${Date.now()}`;
    const res = await api.request(method, urlPath, { key: owner.api_key, headers: { 'X-Request-Id': requestId } });
    assert.equal(res.status, 204, `${method} ${urlPath}: ${res.describe()}`);
    requestIds[action] = requestId;
  }

  const res = await waitFor(
    async () => {
      const list = await api.request('GET', `${base}/audit`, { key: owner.api_key });
      assert.equal(list.status, 200, `audit: ${list.describe()}`);
      return list.json().data.length >= 6 ? list : null;
    },
    { timeoutMs: 5000, description: 'the credential audit records' },
  );
  const records = res.json().data;
  const expected = [
    ['api_key.create', key.id],
    ['oauth_client.create', client.client_id],
    ['api_key.revoke', key.id],
    ['oauth_client.revoke', client.client_id],
  ];
  for (const [action, target] of expected) {
    const record = records.find((r) => r.action === action);
    assert.ok(record, `${action} is recorded`);
    assert.equal(record.target, target, `${action} target`);
    assert.equal(record.actor, actor, `${action} actor`);
    if (requestIds[action]) {
      assert.equal(record.request_id, requestIds[action], `${action} request_id`);
    }
  }
  const created = records.find((r) => r.action === 'api_key.create');
  assert.equal(created.details.scopes, 'read', 'api_key.create details name the scopes');
  const issued = records.find((r) => r.action === 'token.issue');
  assert.ok(issued, 'token.issue is recorded');
  assert.equal(issued.target, client.client_id, 'token.issue target');
  assert.equal(issued.actor, `client:${client.client_id}`, 'token.issue actor');
  assert.ok(!res.text.includes(token.json().access_token), 'the audit does not contain the token');
  assert.ok(!res.text.includes(key.key), 'the audit does not contain the key');
  assert.ok(!res.text.includes(client.client_secret), 'the audit does not contain the client secret');

  const filtered = await api.request('GET', `${base}/audit?action=api_key.`, { key: owner.api_key });
  assert.deepEqual(
    filtered.json().data.map((r) => r.action),
    ['api_key.revoke', 'api_key.create'],
    'the action prefix filter',
  );
});

test('expired oauth token is 401', { timeout: scaled(20000) }, async () => {
  const client = await createClient(main.id, main.api_key, ['read']);
  const token = await tokenFor(client, { api: shortTokenApi });
  assert.equal(token.expires_in, 1, 'expires_in of the short-lived token');
  const fresh = await getEvents(main.id, token.access_token, shortTokenApi);
  assert.equal(fresh.status, 200, `token before its expiry: ${fresh.describe()}`);

  await sleep(2000);
  for (const [label, gateway] of [['issuing gateway', shortTokenApi], ['other gateway', api]]) {
    const res = await getEvents(main.id, token.access_token, gateway);
    assertProblem(res, 401, 'TOKEN_EXPIRED', label);
    assert.match(res.headers['www-authenticate'] || '', /^Bearer /, `${label}: WWW-Authenticate scheme`);
    assert.match(res.headers['www-authenticate'] || '', /error="invalid_token"/, `${label}: WWW-Authenticate error`);
  }
});

test('api key expires after its lifetime', { timeout: scaled(90000) }, async () => {
  const remaining = expiringKeyDeadline - Date.now();
  const early = await getEvents(main.id, expiringKey.key);
  if (remaining > 2000) {
    assert.equal(early.status, 200, `the key works before its expiry: ${early.describe()}`);
  }
  assert.equal(
    Math.round((Date.parse(expiringKey.expires_at) - Date.parse(expiringKey.created_at)) / 1000),
    KEY_MIN_LIFETIME_S,
    'expires_at is created_at plus expires_in_s',
  );
  // Creating a key with a shorter lifetime is rejected (see the expiry
  // validation test), so the test waits for the 60-second key.
  await sleep(Math.max(0, remaining) + 1500);
  const res = await getEvents(main.id, expiringKey.key);
  assertProblem(res, 401, 'UNAUTHORIZED', 'read with the expired key');
  assert.match(res.json().detail, /expired/, 'detail says the key expired');
});
