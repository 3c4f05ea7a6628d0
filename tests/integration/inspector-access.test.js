'use strict';

// Inspector access. Covers sign-in with the admin key, an integration API
// key or a support token, and the session cookie. Covers support tokens
// (create, list, revoke) and their roles at the inspector and at the
// gateway, the isolation of integration keys, and the redaction of
// credential headers in attempts and endpoint views. Runs a private
// redis-server, hookgate-gateway, hookgate-retry, hookgate-inspector and a
// webhook receiver on 127.0.0.1.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, uniqueId } = require('./lib/api');
const { attemptText, redisCommand } = require('./lib/flow');
const {
  ADMIN_KEY,
  redisCli,
  scaled,
  setupHarness,
  waitFor,
} = require('./lib/harness');
const { startReceiver } = require('./lib/receiver');

const harness = setupHarness('inspector-access');
const SUPPORT_PATH = '/api/v1/inspector/support-tokens';
const SESSION_PATH = '/inspector/api/session';
const PAYLOAD = { type: 'booking.created', data: { booking_id: 'bk_access' } };
// A credential a partner configures for its receiver; it must reach the
// receiver and never be shown.
const PARTNER_SECRET = `partner-secret-${crypto.randomBytes(8).toString('hex')}`;

let gateway;
let api;
let insp;
let inspectorPort;
let receiver;
let alpha;
let beta;
// Every credential this file creates, to look for in the process logs.
const credentials = new Set([ADMIN_KEY]);

function sha256(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

async function startInspector() {
  return harness.startInspector({}, { gatewayPort: gateway.port });
}

/** Creates an integration with an endpoint at the receiver and one settled event. */
async function setUpIntegration(label, endpointSpec = {}) {
  const id = uniqueId(label);
  const created = await api.createIntegration(id);
  credentials.add(created.api_key);
  const endpoint = await api.createEndpoint(id, created.api_key, {
    url: receiver.url(`/${id}`),
    event_types: ['*'],
    ...endpointSpec,
  });
  const eventId = await api.publishAccepted(id, created.api_key, PAYLOAD);
  const event = await api.waitForSettled(id, created.api_key, eventId, { timeoutMs: 10000 });
  return { id, key: created.api_key, endpointId: endpoint.id, eventId, deliveryId: event.deliveries[0].id };
}

/** Creates an API key of an integration with the given scopes. */
async function createKey(integration, scopes, extra = {}) {
  const res = await api.request('POST', `/api/v1/integrations/${integration.id}/keys`, {
    key: integration.key,
    json: { name: `key-${scopes.join('-')}`, scopes, ...extra },
  });
  assert.equal(res.status, 201, `creating a key: ${res.describe()}`);
  const key = res.json();
  credentials.add(key.key);
  return key;
}

/** Creates a support token with the admin key and returns the 201 body. */
async function createSupportToken(name, role, extra = {}) {
  const res = await insp.request('POST', SUPPORT_PATH, { key: ADMIN_KEY, json: { name, role, ...extra } });
  assert.equal(res.status, 201, `creating a ${role} token: ${res.describe()}`);
  const body = res.json();
  credentials.add(body.token);
  return body;
}

/** Signs in with key; returns the response, the session token and the cookie attributes. */
async function signIn(key, headers = {}) {
  const res = await insp.request('POST', SESSION_PATH, { json: { key }, headers });
  const setCookie = [].concat(res.headers['set-cookie'] || []);
  const cookie = setCookie.find((c) => c.startsWith('hg_session=')) || '';
  const token = cookie.split(';')[0].slice('hg_session='.length);
  if (token) {
    credentials.add(token);
  }
  return { res, token, cookie, attributes: cookie.split(';').slice(1).map((a) => a.trim()) };
}

/** Signs in and asserts 200; returns the session token. */
async function sessionOf(key) {
  const { res, token } = await signIn(key);
  assert.equal(res.status, 200, `sign-in: ${res.describe()}`);
  assert.match(token, /^hgs_/, 'session token');
  return token;
}

function withCookie(token) {
  return { Cookie: `hg_session=${token}` };
}

/** Asserts a problem+json response with status and code. */
function assertProblem(res, status, code, label) {
  assert.equal(res.status, status, `${label}: status (${res.describe()})`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${label}: Content-Type`);
  assert.equal(res.json().code, code, `${label}: code`);
}

before(async () => {
  await harness.startRedis();
  const env = { HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' };
  gateway = await harness.startGateway(env);
  await harness.startWorker({ ...env, HOOKGATE_RETRY_SCHEDULE: '', HOOKGATE_BREAKER_FAILURES: '1000' });
  api = harness.closeLater(new Api(gateway.port));
  receiver = harness.closeLater(
    await startReceiver(() => ({ status: 200, headers: { 'Set-Cookie': `rcv=${PARTNER_SECRET}`, 'X-Trace': 'visible' } })),
  );
  const inspector = await startInspector();
  inspectorPort = inspector.port;
  insp = harness.closeLater(new Api(inspector.port));
  alpha = await setUpIntegration('alpha', {
    headers: { Authorization: `Bearer ${PARTNER_SECRET}`, 'X-Tenant': 'tenant-7' },
  });
  beta = await setUpIntegration('beta');
});

test('admin sign-in sets a strict cookie', async () => {
  const { res, token, attributes } = await signIn(ADMIN_KEY);
  assert.equal(res.status, 200, res.describe());
  assert.deepEqual(res.json(), { role: 'admin', integration_id: null, can_act: true, can_send_test: true, name: null });
  assert.match(token, /^hgs_[A-Za-z0-9_-]{40,}$/, 'session token format');
  assert.ok(attributes.includes('HttpOnly'), `HttpOnly in ${attributes}`);
  assert.ok(attributes.includes('SameSite=Strict'), `SameSite in ${attributes}`);
  assert.ok(attributes.includes('Path=/'), `Path in ${attributes}`);
  assert.ok(attributes.includes('Max-Age=43200'), `Max-Age in ${attributes}`);
  assert.ok(!attributes.includes('Secure'), 'no Secure over plain http');

  const current = await insp.request('GET', SESSION_PATH, { headers: withCookie(token) });
  assert.equal(current.status, 200, current.describe());
  assert.equal(current.json().role, 'admin');

  const out = await insp.request('DELETE', SESSION_PATH, { headers: withCookie(token) });
  assert.equal(out.status, 204);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/, 'the cookie is cleared');
  const after = await insp.request('GET', SESSION_PATH, { headers: withCookie(token) });
  assertProblem(after, 401, 'UNAUTHORIZED', 'after sign-out');
});

test('sign-out with a bearer session ends it', async () => {
  const { token } = await signIn(ADMIN_KEY);
  const out = await insp.request('DELETE', SESSION_PATH, { key: token });
  assert.equal(out.status, 204, out.describe());
  assertProblem(await insp.request('GET', SESSION_PATH, { key: token }), 401, 'UNAUTHORIZED', 'bearer after sign-out');
  assertProblem(await insp.request('GET', SESSION_PATH, { headers: withCookie(token) }), 401, 'UNAUTHORIZED', 'cookie after sign-out');
});

/** Sends raw bytes to the inspector and returns the response text. */
function rawStatus(data) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(inspectorPort, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(data);
  });
}

test('two session cookies are refused', async () => {
  // A page on another port of this host can add its own session cookie
  // with a longer path, which the browser then sends first.
  const mine = await sessionOf(ADMIN_KEY);
  const planted = await sessionOf(alpha.key);
  const both = { Cookie: `hg_session=${planted}; hg_session=${mine}` };
  const read = await insp.request('GET', SESSION_PATH, { headers: both });
  assertProblem(read, 401, 'UNAUTHORIZED', 'two session cookies');
  assert.match(read.json().detail, /more than one hg_session cookie/, 'the detail names the reason');
  assertProblem(await insp.request('GET', '/inspector/api/activity', { headers: both }), 401, 'UNAUTHORIZED', 'data route');

  // Node's client joins Cookie values into one line, so the two lines that
  // some HTTP/2 proxies pass on are written by hand.
  const lines = await rawStatus(
    `GET ${SESSION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: hg_session=${planted}\r\n` +
      `Cookie: hg_session=${mine}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(lines, /^HTTP\/1\.1 401 /, 'two Cookie lines with a session cookie each');
  const split = await rawStatus(
    `GET ${SESSION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: theme=dark\r\n` +
      `Cookie: hg_session=${mine}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(split, /^HTTP\/1\.1 200 /, 'the session cookie on the second Cookie line');
  const others = Array.from({ length: 12 }, (_, i) => `Cookie: c${i}=v${i}\r\n`).join('');
  const many = await rawStatus(
    `GET ${SESSION_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${others}Cookie: hg_session=${mine}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(many, /^HTTP\/1\.1 200 /, 'one session cookie among 13 Cookie lines');

  const out = await insp.request('DELETE', SESSION_PATH, { headers: both });
  assert.equal(out.status, 204, out.describe());
  // The planted cookie may have any path that this route lies under, and
  // only a Set-Cookie with that path clears it in the browser.
  const cleared = [].concat(out.headers['set-cookie'] || [])
    .map((c) => /^hg_session=; Path=([^;]*);.*Max-Age=0/.exec(c)?.[1])
    .filter((p) => p !== undefined);
  assert.deepEqual(
    cleared.sort(),
    ['/', '/inspector', '/inspector/', '/inspector/api', '/inspector/api/', SESSION_PATH].sort(),
    'the cookie is cleared at every path the route lies under',
  );
  for (const [label, token] of [['mine', mine], ['planted', planted]]) {
    assertProblem(await insp.request('GET', SESSION_PATH, { headers: withCookie(token) }), 401, 'UNAUTHORIZED', `${label} after sign-out`);
  }
});

test('cookie is Secure behind https', async () => {
  const { res, attributes } = await signIn(ADMIN_KEY, { 'X-Forwarded-Proto': 'https' });
  assert.equal(res.status, 200, res.describe());
  assert.ok(attributes.includes('Secure'), `Secure in ${attributes}`);
  assert.ok(attributes.includes('HttpOnly'), 'still HttpOnly');
});

test('integration key sign-in', async () => {
  const reader = await createKey(alpha, ['read']);
  const { res } = await signIn(reader.key);
  assert.equal(res.status, 200, res.describe());
  assert.deepEqual(res.json(), { role: 'integration', integration_id: alpha.id, can_act: false, can_send_test: false, name: reader.name });

  const manager = await createKey(alpha, ['read', 'manage']);
  const managed = await signIn(manager.key);
  assert.equal(managed.res.status, 200, managed.res.describe());
  assert.equal(managed.res.json().can_act, true, 'manage scope can act');
  assert.equal(managed.res.json().can_send_test, false, 'a test event needs publish too');

  const tester = await createKey(alpha, ['read', 'manage', 'publish']);
  const testing = await signIn(tester.key);
  assert.equal(testing.res.status, 200, testing.res.describe());
  assert.equal(testing.res.json().can_send_test, true, 'manage and publish send test events');

  const publisher = await createKey(alpha, ['publish']);
  assertProblem((await signIn(publisher.key)).res, 403, 'FORBIDDEN', 'key without read');
});

test('bad credentials get 401', async () => {
  const cases = [
    ['unknown key', 'hgk_notakey0123456789'],
    ['unknown support token', 'hgst_notatoken0123456789'],
    ['session token as a key', 'hgs_notasession0123456789'],
  ];
  for (const [label, key] of cases) {
    const { res, token } = await signIn(key);
    assertProblem(res, 401, 'UNAUTHORIZED', label);
    assert.equal(token, '', `${label}: no cookie`);
  }
  for (const body of [{}, { key: '' }, { key: 'a b' }, { key: 42 }]) {
    const res = await insp.request('POST', SESSION_PATH, { json: body });
    assertProblem(res, 422, 'VALIDATION_ERROR', `body ${JSON.stringify(body)}`);
  }
  const none = await insp.request('GET', SESSION_PATH);
  assertProblem(none, 401, 'UNAUTHORIZED', 'no credential');
  const forged = await insp.request('GET', SESSION_PATH, { headers: withCookie('hgs_forged0123456789') });
  assertProblem(forged, 401, 'UNAUTHORIZED', 'forged cookie');
});

test('revoked and expired keys are refused', async () => {
  const revoked = await createKey(alpha, ['read']);
  const session = await sessionOf(revoked.key);
  const del = await api.request('DELETE', `/api/v1/integrations/${alpha.id}/keys/${revoked.id}`, { key: alpha.key });
  assert.ok(del.status < 300, `revoking: ${del.describe()}`);
  assertProblem((await signIn(revoked.key)).res, 401, 'UNAUTHORIZED', 'revoked key sign-in');
  assertProblem(
    await insp.request('GET', SESSION_PATH, { headers: withCookie(session) }),
    401,
    'UNAUTHORIZED',
    'session of a revoked key',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${alpha.id}/events`, { key: session }),
    401,
    'UNAUTHORIZED',
    'gateway with the session of a revoked key',
  );

  const expiring = await createKey(alpha, ['read'], { expires_in_s: 3600 });
  const expiringSession = await sessionOf(expiring.key);
  // Move the expiry into the past instead of waiting for it.
  await redisCli(harness.redisPort, ['HSET', `hg:{${alpha.id}}:key:${sha256(expiring.key)}`, 'expires_ms', String(Date.now() - 1000)]);
  assertProblem((await signIn(expiring.key)).res, 401, 'UNAUTHORIZED', 'expired key sign-in');
  assertProblem(
    await insp.request('GET', SESSION_PATH, { headers: withCookie(expiringSession) }),
    401,
    'UNAUTHORIZED',
    'session of an expired key',
  );
});

test('support token routes', async () => {
  const created = await createSupportToken('alice', 'viewer');
  assert.match(created.id, /^sup_/, 'id');
  assert.match(created.token, /^hgst_[A-Za-z0-9_-]{40,}$/, 'token');
  assert.equal(created.name, 'alice');
  assert.equal(created.role, 'viewer');
  const lifetime = Date.parse(created.expires_at) - Date.parse(created.created_at);
  assert.equal(lifetime, 2592000 * 1000, 'default lifetime of 30 days');

  const short = await createSupportToken('bob', 'support', { expires_in_s: 3600 });
  assert.equal(Date.parse(short.expires_at) - Date.parse(short.created_at), 3600 * 1000, 'expires_in_s');

  const list = await insp.request('GET', SUPPORT_PATH, { key: ADMIN_KEY });
  assert.equal(list.status, 200, list.describe());
  const listed = list.json().support_tokens;
  const alice = listed.find((t) => t.id === created.id);
  assert.deepEqual(alice, {
    id: created.id,
    name: 'alice',
    role: 'viewer',
    created_at: created.created_at,
    expires_at: created.expires_at,
  });
  assert.ok(!list.text.includes('hgst_'), 'no token in the list');

  const stored = await redisCli(harness.redisPort, ['HGETALL', `hg:support:${sha256(created.token)}`]);
  assert.match(stored, new RegExp(created.id), 'stored under the hash of the token');
  assert.ok(!stored.includes(created.token), 'the token is not stored in clear');

  const invalid = [
    {},
    { role: 'viewer' },
    { name: '', role: 'viewer' },
    { name: 'x'.repeat(101), role: 'viewer' },
    { name: 'line\nbreak', role: 'viewer' },
    { name: 'next\u0085line', role: 'viewer' },
    { name: 'carol', role: 'admin' },
    { name: 'carol' },
    { name: 'carol', role: 'viewer', expires_in_s: 3599 },
    { name: 'carol', role: 'viewer', expires_in_s: 31536001 },
    { name: 'carol', role: 'viewer', expires_in_s: '3600' },
    { name: 'carol', role: 'viewer', expires_in_s: 3600.5 },
    { name: 'carol', role: 'viewer', extra: true },
  ];
  for (const body of invalid) {
    const res = await insp.request('POST', SUPPORT_PATH, { key: ADMIN_KEY, json: body });
    assertProblem(res, 422, 'VALIDATION_ERROR', `body ${JSON.stringify(body)}`);
  }
  const notJson = await insp.request('POST', SUPPORT_PATH, {
    key: ADMIN_KEY,
    body: 'not json',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(notJson, 400, 'MALFORMED_JSON', 'a body that is not JSON');
  const repeated = await insp.request('POST', SUPPORT_PATH, {
    key: ADMIN_KEY,
    body: '{"name":"a","role":"viewer","role":"support"}',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(repeated, 400, 'MALFORMED_JSON', 'a repeated role');
  const untyped = await insp.request('POST', SUPPORT_PATH, { key: ADMIN_KEY, body: '{"name":"x","role":"viewer"}' });
  assertProblem(untyped, 415, 'UNSUPPORTED_MEDIA_TYPE', 'a body without Content-Type: application/json');
  const after = (await insp.request('GET', SUPPORT_PATH, { key: ADMIN_KEY })).json().support_tokens;
  assert.equal(after.length, listed.length, 'invalid requests created nothing');

  const missing = await insp.request('DELETE', `${SUPPORT_PATH}/sup_01JQ3Z7Y8X9W0V1T2S3R4Q5P6N`, { key: ADMIN_KEY });
  assertProblem(missing, 404, 'NOT_FOUND', 'unknown id');
  const malformed = await insp.request('DELETE', `${SUPPORT_PATH}/nope`, { key: ADMIN_KEY });
  assertProblem(malformed, 404, 'NOT_FOUND', 'malformed id');
});

test('cookie changes from another origin rejected', async () => {
  const token = await sessionOf(ADMIN_KEY);
  const create = (headers, body = JSON.stringify({ name: 'csrf', role: 'viewer' })) =>
    insp.request('POST', SUPPORT_PATH, {
      body,
      headers: { ...withCookie(token), 'Content-Type': 'application/json', ...headers },
    });
  const host = `127.0.0.1:${insp.port}`;

  // A page on another port of the same host shares the site, so the
  // browser sends the SameSite=Strict cookie with its requests.
  assertProblem(await create({ 'Sec-Fetch-Site': 'same-site' }), 403, 'FORBIDDEN', 'Sec-Fetch-Site same-site');
  assertProblem(await create({ 'Sec-Fetch-Site': 'cross-site' }), 403, 'FORBIDDEN', 'Sec-Fetch-Site cross-site');
  assertProblem(await create({ Origin: 'http://127.0.0.1:1' }), 403, 'FORBIDDEN', 'Origin of another port');
  assertProblem(await create({ Origin: 'null' }), 403, 'FORBIDDEN', 'opaque Origin');

  const same = await create({ 'Sec-Fetch-Site': 'same-origin', Origin: `http://${host}` });
  assert.equal(same.status, 201, `the inspector's own page: ${same.describe()}`);
  credentials.add(same.json().token);
  const origin = await create({ Origin: `http://${host}` });
  assert.equal(origin.status, 201, `a matching Origin without Sec-Fetch-Site: ${origin.describe()}`);
  credentials.add(origin.json().token);
  const bearer = await insp.request('POST', SUPPORT_PATH, {
    key: ADMIN_KEY,
    json: { name: 'bearer', role: 'viewer' },
    headers: { 'Sec-Fetch-Site': 'cross-site' },
  });
  assert.equal(bearer.status, 201, `a bearer is not a cookie: ${bearer.describe()}`);
  credentials.add(bearer.json().token);
  const read = await insp.request('GET', SUPPORT_PATH, { headers: { ...withCookie(token), 'Sec-Fetch-Site': 'cross-site' } });
  assert.equal(read.status, 200, `reads are not changes: ${read.describe()}`);

  // A form of another page can send text/plain, never JSON.
  const form = await create({ 'Content-Type': 'text/plain' });
  assertProblem(form, 415, 'UNSUPPORTED_MEDIA_TYPE', 'a text/plain body');
});

test('support token routes need the admin', async () => {
  const viewer = await createSupportToken('dave', 'viewer');
  const support = await createSupportToken('erin', 'support');
  const adminSession = await sessionOf(ADMIN_KEY);
  const callers = [
    ['integration key', { key: alpha.key }],
    ['viewer token', { key: viewer.token }],
    ['support token', { key: support.token }],
    ['support session', { headers: withCookie(await sessionOf(support.token)) }],
  ];
  for (const [label, auth] of callers) {
    assertProblem(
      await insp.request('POST', SUPPORT_PATH, { ...auth, json: { name: 'x', role: 'support' } }),
      403,
      'FORBIDDEN',
      `${label} creates`,
    );
    assertProblem(await insp.request('GET', SUPPORT_PATH, auth), 403, 'FORBIDDEN', `${label} lists`);
    assertProblem(await insp.request('DELETE', `${SUPPORT_PATH}/${viewer.id}`, auth), 403, 'FORBIDDEN', `${label} revokes`);
  }
  assertProblem(await insp.request('GET', SUPPORT_PATH), 401, 'UNAUTHORIZED', 'no credential');
  const bySession = await insp.request('GET', SUPPORT_PATH, { headers: withCookie(adminSession) });
  assert.equal(bySession.status, 200, `admin session lists: ${bySession.describe()}`);
  assert.ok(bySession.json().support_tokens.some((t) => t.id === viewer.id), 'the viewer token is still listed');
});

test('support and viewer sign-in', async () => {
  const viewer = await createSupportToken('frank', 'viewer');
  const support = await createSupportToken('grace', 'support');
  const v = await signIn(viewer.token);
  assert.equal(v.res.status, 200, v.res.describe());
  assert.deepEqual(v.res.json(), { role: 'viewer', integration_id: null, can_act: false, can_send_test: false, name: 'frank' });
  const s = await signIn(support.token);
  assert.equal(s.res.status, 200, s.res.describe());
  assert.deepEqual(s.res.json(), { role: 'support', integration_id: null, can_act: true, can_send_test: true, name: 'grace' });
  const current = await insp.request('GET', SESSION_PATH, { headers: withCookie(s.token) });
  assert.deepEqual(current.json(), { role: 'support', integration_id: null, can_act: true, can_send_test: true, name: 'grace' });
  const bearer = await insp.request('GET', SESSION_PATH, { key: viewer.token });
  assert.equal(bearer.json().role, 'viewer', 'a support token works as a bearer');

  // Both see every integration in the inspector's own routes.
  for (const [label, key] of [['viewer', viewer.token], ['support', support.token]]) {
    for (const integration of [alpha, beta]) {
      const res = await insp.request('GET', `/inspector/api/integrations/${integration.id}/events/${integration.eventId}`, { key });
      assert.equal(res.status, 200, `${label} reads ${integration.id}: ${res.describe()}`);
    }
  }
});

test('expired support token is refused', async () => {
  const token = await createSupportToken('heidi', 'support', { expires_in_s: 3600 });
  const session = await sessionOf(token.token);
  await redisCli(harness.redisPort, ['HSET', `hg:support:${sha256(token.token)}`, 'expires_ms', String(Date.now() - 1000)]);
  assertProblem((await signIn(token.token)).res, 401, 'UNAUTHORIZED', 'expired token sign-in');
  assertProblem(
    await insp.request('GET', SESSION_PATH, { headers: withCookie(session) }),
    401,
    'UNAUTHORIZED',
    'session of an expired token',
  );
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${alpha.id}`, { key: token.token }),
    401,
    'UNAUTHORIZED',
    'expired token at the gateway',
  );
  const list = (await insp.request('GET', SUPPORT_PATH, { key: ADMIN_KEY })).json().support_tokens;
  assert.ok(list.every((t) => t.id !== token.id), 'an expired token is not listed');
});

test('revoking a support token ends its sessions', async () => {
  const token = await createSupportToken('ivan', 'support');
  const sessions = [await sessionOf(token.token), await sessionOf(token.token)];
  for (const session of sessions) {
    const res = await insp.request('GET', SESSION_PATH, { headers: withCookie(session) });
    assert.equal(res.status, 200, `before revocation: ${res.describe()}`);
  }
  const del = await insp.request('DELETE', `${SUPPORT_PATH}/${token.id}`, { key: ADMIN_KEY });
  assert.equal(del.status, 204, del.describe());
  for (const session of sessions) {
    assertProblem(
      await insp.request('GET', SESSION_PATH, { headers: withCookie(session) }),
      401,
      'UNAUTHORIZED',
      'inspector session after revocation',
    );
    assertProblem(
      await api.request('GET', `/api/v1/integrations/${alpha.id}`, { key: session }),
      401,
      'UNAUTHORIZED',
      'gateway with the session after revocation',
    );
  }
  assertProblem((await signIn(token.token)).res, 401, 'UNAUTHORIZED', 'sign-in after revocation');
  assertProblem(
    await api.request('GET', `/api/v1/integrations/${alpha.id}`, { key: token.token }),
    401,
    'UNAUTHORIZED',
    'the token at the gateway after revocation',
  );
  const again = await insp.request('DELETE', `${SUPPORT_PATH}/${token.id}`, { key: ADMIN_KEY });
  assertProblem(again, 404, 'NOT_FOUND', 'second revocation');

  const audit = await api.request('GET', '/api/v1/audit?action=support_token.', { key: ADMIN_KEY });
  assert.equal(audit.status, 200, audit.describe());
  const records = audit.json().data.filter((r) => r.target === token.id);
  assert.deepEqual(records.map((r) => r.action).sort(), ['support_token.create', 'support_token.revoke']);
  assert.ok(records.every((r) => r.actor === 'admin'), 'recorded as the admin');
  assert.ok(!audit.text.includes('hgst_'), 'no token in the audit log');
});

test('viewer reads but cannot act at the gateway', async () => {
  const viewer = await createSupportToken('judy', 'viewer');
  const session = await sessionOf(viewer.token);
  for (const [label, key] of [['viewer token', viewer.token], ['viewer session', session]]) {
    const list = await api.request('GET', '/api/v1/integrations?limit=100', { key });
    assert.equal(list.status, 200, `${label} lists: ${list.describe()}`);
    const ids = list.json().data.map((i) => i.id);
    assert.ok(ids.includes(alpha.id), `${label} lists ${alpha.id}`);
    assert.ok(ids.includes(beta.id), `${label} lists ${beta.id}`);
    for (const integration of [alpha, beta]) {
      const base = `/api/v1/integrations/${integration.id}`;
      for (const urlPath of [base, `${base}/events/${integration.eventId}`, `${base}/deliveries/${integration.deliveryId}`, `${base}/endpoints`]) {
        const res = await api.request('GET', urlPath, { key });
        assert.equal(res.status, 200, `${label} GET ${urlPath}: ${res.describe()}`);
      }
    }
    const base = `/api/v1/integrations/${beta.id}`;
    const actions = [
      ['POST', `${base}/deliveries/${beta.deliveryId}/redeliver`],
      ['POST', `${base}/events/${beta.eventId}/replay`],
      ['POST', `${base}/endpoints/${beta.endpointId}/test`, { type: 'booking.created' }],
      ['POST', `${base}/endpoints/${beta.endpointId}/disable`],
      ['POST', `${base}/endpoints/${beta.endpointId}/enable`],
      ['DELETE', `${base}/endpoints/${beta.endpointId}`],
    ];
    for (const [method, urlPath, json] of actions) {
      const res = await api.request(method, urlPath, { key, json });
      assertProblem(res, 403, 'FORBIDDEN', `${label} ${method} ${urlPath}`);
    }
  }
  const endpoint = await api.request('GET', `/api/v1/integrations/${beta.id}/endpoints/${beta.endpointId}`, { key: ADMIN_KEY });
  assert.equal(endpoint.json().status, 'enabled', 'the endpoint is unchanged');
});

test('support acts only where allowed', async () => {
  const support = await createSupportToken('mallory', 'support');
  const session = await sessionOf(support.token);
  const target = await setUpIntegration('target');
  const base = `/api/v1/integrations/${target.id}`;
  const ep = `${base}/endpoints/${target.endpointId}`;

  const redeliver = await api.request('POST', `${base}/deliveries/${target.deliveryId}/redeliver`, { key: support.token });
  assert.equal(redeliver.status, 202, `redeliver: ${redeliver.describe()}`);
  const replay = await api.request('POST', `${base}/events/${target.eventId}/replay`, { key: session });
  assert.equal(replay.status, 202, `replay with a session: ${replay.describe()}`);
  assert.deepEqual(replay.json().deliveries, [target.deliveryId], 'replayed deliveries');
  const testEvent = await api.request('POST', `${ep}/test`, { key: session, json: { type: 'booking.created' } });
  assert.equal(testEvent.status, 202, `test event with a session: ${testEvent.describe()}`);
  const testId = testEvent.json().event_id;
  await receiver.waitForRequests(1, { timeoutMs: 10000, filter: (r) => r.headers['webhook-id'] === testId });
  const disable = await api.request('POST', `${ep}/disable`, { key: support.token });
  assert.equal(disable.status, 200, `disable: ${disable.describe()}`);
  assert.equal(disable.json().status, 'disabled');
  const enable = await api.request('POST', `${ep}/enable`, { key: session });
  assert.equal(enable.status, 200, `enable: ${enable.describe()}`);
  assert.equal(enable.json().status, 'enabled');

  const forbidden = [
    ['DELETE', ep],
    ['PATCH', ep, { description: 'changed' }],
    ['POST', `${ep}/rotate-secret`, {}],
    ['POST', `${base}/endpoints`, { url: receiver.url('/x'), event_types: ['*'] }],
    ['POST', `${base}/events`, PAYLOAD],
    ['POST', `${base}/keys`, { name: 'k', scopes: ['read'] }],
    ['GET', `${base}/keys`],
    ['GET', `${base}/audit`],
    ['PATCH', base, { name: 'renamed' }],
    ['DELETE', base],
    ['POST', '/api/v1/integrations', { id: uniqueId('nope'), name: 'nope' }],
    ['GET', '/api/v1/audit'],
  ];
  for (const [label, key] of [['support token', support.token], ['support session', session]]) {
    for (const [method, urlPath, json] of forbidden) {
      const res = await api.request(method, urlPath, { key, json });
      assertProblem(res, 403, 'FORBIDDEN', `${label} ${method} ${urlPath}`);
    }
  }
  const still = await api.request('GET', ep, { key: ADMIN_KEY });
  assert.equal(still.status, 200, 'the endpoint still exists');

  const audit = await api.request('GET', `${base}/audit`, { key: ADMIN_KEY });
  assert.equal(audit.status, 200, audit.describe());
  const mine = audit.json().data.filter((r) => r.actor === `support:${support.id}`);
  const actions = mine.map((r) => r.action);
  assert.ok(actions.includes('endpoint.disable'), `disable audited as the support token: ${actions}`);
  assert.ok(actions.includes('event.replay'), `replay audited as the support token: ${actions}`);
  assert.ok(actions.includes('endpoint.enable'), `enable audited as the support token: ${actions}`);
});

test('integration key never sees another integration', async () => {
  const reader = await createKey(alpha, ['read']);
  const session = await sessionOf(reader.key);
  const other = `/api/v1/integrations/${beta.id}`;
  for (const urlPath of [other, `${other}/events`, `${other}/events/${beta.eventId}`, `${other}/deliveries/${beta.deliveryId}`]) {
    const res = await api.request('GET', urlPath, { key: session });
    assertProblem(res, 403, 'FORBIDDEN', `gateway GET ${urlPath} with the session`);
  }
  const own = await api.request('GET', `/api/v1/integrations/${alpha.id}/events/${alpha.eventId}`, { key: session });
  assert.equal(own.status, 200, `own event with the session: ${own.describe()}`);
  const list = await api.request('GET', '/api/v1/integrations', { key: session });
  assertProblem(list, 403, 'FORBIDDEN', 'integration list with the session');
  const act = await api.request('POST', `/api/v1/integrations/${alpha.id}/deliveries/${alpha.deliveryId}/redeliver`, { key: session });
  assertProblem(act, 403, 'FORBIDDEN', 'redeliver with a read-only key session');
  const publish = await api.publish(alpha.id, session, PAYLOAD);
  assertProblem(publish, 403, 'FORBIDDEN', 'publish with a session');

  const detail = await insp.request('GET', `/inspector/api/integrations/${beta.id}/events/${beta.eventId}`, {
    headers: withCookie(session),
  });
  assert.ok([403, 404].includes(detail.status), `inspector event detail of another integration: ${detail.describe()}`);
  assert.ok(!detail.text.includes(beta.deliveryId), 'nothing of the other integration is shown');

  // The live feed with the key's session carries only its own integration.
  const messages = [];
  const feed = await openStream(session, messages);
  try {
    const betaEvent = await api.publishAccepted(beta.id, beta.key, PAYLOAD);
    const alphaEvent = await api.publishAccepted(alpha.id, alpha.key, PAYLOAD);
    await api.waitForSettled(beta.id, beta.key, betaEvent, { timeoutMs: 10000 });
    await waitFor(() => messages.some((m) => m.event_id === alphaEvent && m.kind === 'attempt'), {
      timeoutMs: 10000,
      description: 'the attempt of the own event on the feed',
    });
    assert.ok(messages.length > 0, 'the feed sent messages');
    for (const m of messages) {
      assert.equal(m.integration_id, alpha.id, `feed message of ${m.integration_id}`);
    }
    assert.ok(!messages.some((m) => m.event_id === betaEvent), 'no message about the other event');
  } finally {
    feed.destroy();
  }
});

/** Opens the live feed with a session cookie and pushes each parsed data message. */
function openStream(session, messages) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: insp.port,
        path: '/api/v1/inspector/stream',
        headers: { ...withCookie(session), Accept: 'text/event-stream' },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream status ${res.statusCode}`));
          res.resume();
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = block.split('\n');
            // Named events (ping, status) are not activity records.
            if (lines.some((line) => line.startsWith('event:'))) {
              continue;
            }
            for (const line of lines) {
              if (line.startsWith('data: ')) {
                messages.push(JSON.parse(line.slice(6)));
              }
            }
          }
        });
        res.on('error', () => {});
        resolve(req);
      },
    );
    req.on('error', (err) => {
      if (!req.destroyed) {
        reject(err);
      }
    });
    req.setTimeout(scaled(30000), () => req.destroy());
  });
}

test('endpoint custom headers are redacted', async () => {
  const ep = `/api/v1/integrations/${alpha.id}/endpoints/${alpha.endpointId}`;
  const one = await api.request('GET', ep, { key: alpha.key });
  assert.equal(one.status, 200, one.describe());
  assert.equal(one.json().headers.Authorization, '[redacted]', 'Authorization value');
  assert.equal(one.json().headers['X-Tenant'], 'tenant-7', 'other header values stay');
  const list = await api.request('GET', `/api/v1/integrations/${alpha.id}/endpoints`, { key: ADMIN_KEY });
  assert.equal(list.status, 200, list.describe());
  const support = await createSupportToken('oscar', 'viewer');
  const bySupport = await api.request('GET', ep, { key: support.token });
  for (const [label, res] of [['get', one], ['list', list], ['viewer', bySupport]]) {
    assert.ok(!res.text.includes(PARTNER_SECRET), `${label}: the secret is not shown`);
  }
  const [request] = receiver.requestsFor(alpha.eventId);
  assert.equal(request.headers.authorization, `Bearer ${PARTNER_SECRET}`, 'the receiver gets the real header');
});

test('attempt headers are redacted', async () => {
  const delivery = await api.getDelivery(alpha.id, alpha.key, alpha.deliveryId);
  const attempt = delivery.attempts[0];
  assert.equal(attempt.request_headers.authorization, '[redacted]', 'request Authorization');
  assert.equal(attempt.request_headers['x-tenant'], 'tenant-7', 'other request headers stay');
  assert.match(attempt.request_headers['webhook-signature'], /^v1,/, 'webhook-signature stays');
  assert.equal(attempt.response_headers['set-cookie'], '[redacted]', 'response Set-Cookie');
  assert.equal(attempt.response_headers['x-trace'], 'visible', 'other response headers stay');

  const detail = await insp.request('GET', `/inspector/api/integrations/${alpha.id}/events/${alpha.eventId}`, { key: ADMIN_KEY });
  assert.equal(detail.status, 200, detail.describe());
  assert.ok(!detail.text.includes(PARTNER_SECRET), 'the inspector detail does not show the secret');
  assert.match(detail.text, /\[redacted\]/, 'the inspector detail shows the redaction');

  // No key contains the secret in clear: the endpoint record keeps it sealed.
  // Attempt records are stored deflated, so they are read inflated.
  const keys = (await redisCli(harness.redisPort, ['--scan', '--pattern', `hg:{${alpha.id}}:*`])).split('\n').filter(Boolean);
  const holders = [];
  let attempts = 0;
  for (const key of keys) {
    const type = (await redisCli(harness.redisPort, ['TYPE', key])).trim();
    if (key.includes(':att:')) {
      const records = await redisCommand(harness.redisPort, ['LRANGE', key, '0', '-1'], 2000, { raw: true });
      const texts = records.map(attemptText);
      attempts += texts.length;
      assert.ok(texts.every((text) => text.includes('"request_headers"')), `${key} holds attempt records`);
      if (texts.some((text) => text.includes(PARTNER_SECRET))) {
        holders.push(key);
      }
      continue;
    }
    const read = {
      string: ['GET', key],
      hash: ['HGETALL', key],
      list: ['LRANGE', key, '0', '-1'],
      set: ['SMEMBERS', key],
      zset: ['ZRANGE', key, '0', '-1'],
      stream: ['XRANGE', key, '-', '+'],
    }[type];
    if (read && (await redisCli(harness.redisPort, read)).includes(PARTNER_SECRET)) {
      holders.push(key);
    }
  }
  assert.ok(attempts > 0, 'the scan read attempt records');
  assert.deepEqual(holders, [], 'keys holding the partner secret');
  const stored = JSON.parse(await redisCli(harness.redisPort, ['HGET', `hg:{${alpha.id}}:ep:${alpha.endpointId}`, 'headers']));
  assert.match(stored.Authorization, /^enc1:/, 'the credential header is stored sealed');
  assert.equal(stored['X-Tenant'], 'tenant-7', 'other headers are stored as they are');
});

test('no credential in any process log', async () => {
  const logs = fs.readdirSync(harness.dir).filter((name) => name.endsWith('.log'));
  assert.ok(logs.some((name) => name.startsWith('inspector')), `inspector log among ${logs}`);
  assert.ok(logs.some((name) => name.startsWith('gateway')), `gateway log among ${logs}`);
  assert.ok(credentials.size > 10, `credentials collected: ${credentials.size}`);
  for (const name of logs) {
    const text = fs.readFileSync(path.join(harness.dir, name), 'utf8');
    for (const credential of credentials) {
      assert.ok(!text.includes(credential), `${name} contains a credential starting ${credential.slice(0, 6)}`);
    }
    assert.ok(!text.includes(PARTNER_SECRET), `${name} contains the partner secret`);
  }
  const inspectorLog = logs.filter((name) => name.startsWith('inspector')).map((n) => fs.readFileSync(path.join(harness.dir, n), 'utf8')).join('');
  assert.match(inspectorLog, /support token sup_\w+ revoked/, 'the inspector logs revocations by id');
});
