'use strict';

// Rate limits of the partner API: the per-credential limit
// (HOOKGATE_API_RATE_LIMIT) shared by every gateway on one Redis, and the
// per-integration limit (HOOKGATE_INTEGRATION_RATE_LIMIT) across keys.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, setupHarness, sleep } = require('./lib/harness');

const harness = setupHarness('partner-limits');
// Two gateways with a limit of 5 requests per second per credential.
let keyLimited;
let keyLimitedPeer;
// A gateway with a limit of 5 requests per second per integration.
let integrationLimited;

const LIMIT = 5;
// A burst takes a few milliseconds, or longer on a busy machine. The
// generic cell rate algorithm lets one more request through for every
// 1000 / LIMIT ms that pass during it, so this allows 400 ms. Separate
// limits per gateway would allow 2 * LIMIT.
const MAX_ALLOWED = LIMIT + 2;
const BURST = 20;

before(async () => {
  await harness.startRedis();
  const first = await harness.startGateway({ HOOKGATE_API_RATE_LIMIT: String(LIMIT) });
  const second = await harness.startGateway({ HOOKGATE_API_RATE_LIMIT: String(LIMIT) });
  const third = await harness.startGateway({ HOOKGATE_INTEGRATION_RATE_LIMIT: String(LIMIT) });
  keyLimited = harness.closeLater(new CheckedApi(first.port));
  keyLimitedPeer = harness.closeLater(new CheckedApi(second.port));
  integrationLimited = harness.closeLater(new CheckedApi(third.port));
});

/** Sends count reads of the integration in parallel through each client. */
async function burst(clients, id, key, count) {
  const requests = [];
  for (const client of clients) {
    for (let i = 0; i < count; i++) {
      requests.push(client.request('GET', `/api/v1/integrations/${id}`, { key }));
    }
  }
  return Promise.all(requests);
}

function statuses(responses) {
  return responses.map((r) => r.status);
}

test('rate limit burst gets 429', async () => {
  const created = await keyLimited.createIntegration(uniqueId('burst'));
  const responses = await burst([keyLimited], created.id, created.api_key, BURST);
  const allowed = responses.filter((r) => r.status === 200);
  const limited = responses.filter((r) => r.status === 429);
  assert.equal(allowed.length + limited.length, BURST, `only 200 and 429: ${statuses(responses)}`);
  assert.ok(allowed.length >= LIMIT, `at least ${LIMIT} allowed, got ${allowed.length}`);
  assert.ok(allowed.length <= MAX_ALLOWED, `at most ${MAX_ALLOWED} allowed, got ${allowed.length}`);

  for (const res of allowed) {
    assert.equal(
      res.headers['ratelimit-policy'],
      `"key";q=${LIMIT};w=1, "integration";q=100000;w=1`,
      'RateLimit-Policy of an allowed request',
    );
    assert.match(res.headers.ratelimit || '', /^"key";r=\d+;t=\d+$/, 'RateLimit of an allowed request');
  }
  const remaining = allowed.map((r) => Number(/r=(\d+)/.exec(r.headers.ratelimit)[1])).sort();
  assert.equal(remaining[0], 0, `the last allowed request has nothing remaining: ${remaining}`);

  for (const res of limited) {
    assertProblem(res, 429, 'RATE_LIMITED', 'limited request');
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter), `Retry-After ${res.headers['retry-after']} is an integer`);
    assert.ok(retryAfter >= 1, `Retry-After ${retryAfter} is at least 1`);
    assert.equal(
      res.headers['ratelimit-policy'],
      `"key";q=${LIMIT};w=1, "integration";q=100000;w=1`,
      'RateLimit-Policy of a limited request',
    );
    assert.match(res.headers.ratelimit || '', /^"key";r=0;t=[1-9]\d*$/, 'RateLimit of a limited request');
    assert.match(res.json().detail, /per-credential rate limit of 5/, 'detail names the limit');
  }

  const wait = Number(limited[0].headers['retry-after']);
  await sleep(wait * 1000);
  const later = await keyLimited.request('GET', `/api/v1/integrations/${created.id}`, { key: created.api_key });
  assert.equal(later.status, 200, `a request after Retry-After: ${later.describe()}`);
});

test('two gateways share one limit', async () => {
  const created = await keyLimited.createIntegration(uniqueId('shared'));
  const responses = await burst([keyLimited, keyLimitedPeer], created.id, created.api_key, BURST / 2);
  const allowed = responses.filter((r) => r.status === 200).length;
  const limited = responses.filter((r) => r.status === 429).length;
  assert.equal(allowed + limited, BURST, `only 200 and 429: ${statuses(responses)}`);
  assert.ok(allowed >= LIMIT, `at least ${LIMIT} allowed across both gateways, got ${allowed}`);
  assert.ok(allowed <= MAX_ALLOWED, `at most ${MAX_ALLOWED} allowed across both gateways, got ${allowed}`);
});

test('limit applies per credential', async () => {
  const created = await keyLimited.createIntegration(uniqueId('perkey'));
  const res = await keyLimited.request('POST', `/api/v1/integrations/${created.id}/keys`, {
    key: ADMIN_KEY,
    json: { scopes: ['read'] },
  });
  assert.equal(res.status, 201, `second key: ${res.describe()}`);
  const second = res.json().key;
  const [first, other] = await Promise.all([
    burst([keyLimited], created.id, created.api_key, BURST / 2),
    burst([keyLimited], created.id, second, BURST / 2),
  ]);
  const firstAllowed = first.filter((r) => r.status === 200).length;
  const otherAllowed = other.filter((r) => r.status === 200).length;
  assert.ok(firstAllowed >= LIMIT, `first key: at least ${LIMIT} allowed, got ${firstAllowed}`);
  assert.ok(otherAllowed >= LIMIT, `second key: at least ${LIMIT} allowed, got ${otherAllowed}`);
});

test('admin key is not rate limited', async () => {
  const created = await keyLimited.createIntegration(uniqueId('admin'));
  const responses = await burst([keyLimited], created.id, ADMIN_KEY, BURST);
  assert.deepEqual(statuses(responses), Array(BURST).fill(200), 'every admin request is allowed');
});

test('publish burst gets 429', async () => {
  const created = await keyLimited.createIntegration(uniqueId('pubburst'));
  const responses = await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      keyLimited.publish(created.id, created.api_key, { type: 'limit.tested', n: i }),
    ),
  );
  const accepted = responses.filter((r) => r.status === 202);
  const limited = responses.filter((r) => r.status === 429);
  assert.equal(accepted.length + limited.length, BURST, `only 202 and 429: ${statuses(responses)}`);
  assert.ok(accepted.length >= LIMIT, `at least ${LIMIT} accepted, got ${accepted.length}`);
  assert.ok(accepted.length <= MAX_ALLOWED, `at most ${MAX_ALLOWED} accepted, got ${accepted.length}`);
  for (const res of limited) {
    assertProblem(res, 429, 'RATE_LIMITED', 'limited publish');
    assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After of a limited publish');
  }
  for (const res of accepted) {
    assert.match(res.headers.ratelimit || '', /^"key";r=\d+;t=\d+$/, 'RateLimit of an accepted publish');
  }

  const list = await keyLimited.request('GET', `/api/v1/integrations/${created.id}/events?limit=100`, {
    key: ADMIN_KEY,
  });
  assert.equal(list.json().data.length, accepted.length, 'only accepted publishes are stored');
});

test('integration limit spans two keys', async () => {
  const created = await integrationLimited.createIntegration(uniqueId('intlimit'));
  // The admin key is not limited, so creating the second key leaves the
  // integration's bucket full.
  const res = await integrationLimited.request('POST', `/api/v1/integrations/${created.id}/keys`, {
    key: ADMIN_KEY,
    json: { scopes: ['read'] },
  });
  assert.equal(res.status, 201, `second key: ${res.describe()}`);
  const second = res.json().key;

  const [first, other] = await Promise.all([
    burst([integrationLimited], created.id, created.api_key, BURST / 2),
    burst([integrationLimited], created.id, second, BURST / 2),
  ]);
  const responses = [...first, ...other];
  const allowed = responses.filter((r) => r.status === 200);
  const limited = responses.filter((r) => r.status === 429);
  assert.equal(allowed.length + limited.length, BURST, `only 200 and 429: ${statuses(responses)}`);
  assert.ok(allowed.length >= LIMIT, `at least ${LIMIT} allowed for the integration, got ${allowed.length}`);
  assert.ok(allowed.length <= MAX_ALLOWED, `at most ${MAX_ALLOWED} allowed for the integration, got ${allowed.length}`);
  for (const limitedRes of limited) {
    assertProblem(limitedRes, 429, 'RATE_LIMITED', 'limited request');
    assert.match(limitedRes.json().detail, /integration rate limit of 5/, 'detail names the integration limit');
    assert.ok(Number(limitedRes.headers['retry-after']) >= 1, 'Retry-After of a limited request');
    assert.equal(
      limitedRes.headers['ratelimit-policy'],
      `"key";q=100000;w=1, "integration";q=${LIMIT};w=1`,
      'RateLimit-Policy names the integration limit',
    );
  }
});
