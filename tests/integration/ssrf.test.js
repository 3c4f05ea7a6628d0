'use strict';

// The delivery worker's address policy. The gateway runs with
// HOOKGATE_ALLOW_PRIVATE_TARGETS=1, so it stores every URL below, and the
// worker must refuse to connect when the address it would connect to is
// loopback, private or reserved, however the URL spells it. Each target has
// a trap server listening where a broken policy would connect, and the test
// checks that the trap saw no connection.
//
// Targets that would leave loopback if the policy were broken (0.0.0.0,
// the cloud metadata address, other non-loopback addresses, and a name that
// the worker resolves) only run in a private network namespace that has
// nothing but loopback. tests/integration/run.sh sets it up and sets
// HOOKGATE_IT_NETNS=1.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const { before, test } = require('node:test');

const { Api, uniqueId } = require('./lib/api');
const { freePort, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { startTrap, startTrapsOnOnePort } = require('./lib/hostile');

const harness = setupHarness('ssrf');
let api;

const IN_NETNS = process.env.HOOKGATE_IT_NETNS === '1';
const NETNS_REASON = 'needs a private network namespace';
const METADATA_ADDRESS = '169.254.169.254';
// Never looked up: the worker's HOOKGATE_RESOLVE_OVERRIDE pins it.
const PINNED_HOST = 'hooks.example.test';

// Trap servers on 127.0.0.1 and ::1, both on trapPort, and on the
// metadata address port 80 inside the namespace.
let trapPort;
let traps;
let metadataTrap = null;
let metadataTrapError = null;

let workerEnvs;
let worker = null;
let workerKind = null;

before(async () => {
  if (IN_NETNS) {
    // HOOKGATE_IT_NETNS=1 promises an isolated namespace, so check that
    // before anything connects to the metadata address.
    const interfaces = Object.keys(os.networkInterfaces());
    assert.deepEqual(interfaces, ['lo'], `HOOKGATE_IT_NETNS=1 but these network interfaces exist: ${interfaces.join(', ')}`);
  }

  ({ port: trapPort, traps } = await startTrapsOnOnePort(['127.0.0.1', '::1']));
  for (const trap of Object.values(traps)) {
    harness.closeLater(trap);
  }
  if (IN_NETNS) {
    try {
      metadataTrap = harness.closeLater(await startTrap(METADATA_ADDRESS, 80));
    } catch (err) {
      // run.sh adds the address to lo inside the namespace.
      metadataTrapError = err;
    }
  }

  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));

  const common = {
    HOOKGATE_RETRY_SCHEDULE: '1,1',
    HOOKGATE_RESOLVE_OVERRIDE: `${PINNED_HOST}:${trapPort}:127.0.0.1`,
    // One counted failure opens the breaker, and a second one at least a
    // second later disables the endpoint, so a blocked attempt that
    // counted would show as a disabled endpoint.
    HOOKGATE_BREAKER_FAILURES: '1',
    HOOKGATE_BREAKER_PROBE_S: '1',
    HOOKGATE_DISABLE_AFTER_S: '1',
  };
  workerEnvs = {
    strict: common,
    cidr: { ...common, HOOKGATE_ALLOWED_CIDRS: '127.0.0.1/32' },
    private: { ...common, HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' },
    // A proxy that nothing listens on, and the environment's NO_PROXY
    // naming the receiver: libcurl would connect to it directly, past the
    // address policy, unless the worker clears NO_PROXY.
    proxied: {
      ...common,
      HOOKGATE_OUTBOUND_PROXY: `http://127.0.0.1:${await freePort()}`,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    },
  };
});

/** Makes the worker of the given kind the only one running. */
async function useWorker(kind) {
  if (workerKind === kind && worker.running) {
    return;
  }
  await harness.stop(worker);
  worker = null;
  workerKind = null;
  worker = await harness.startWorker(workerEnvs[kind]);
  workerKind = kind;
}

function allTraps() {
  return [...Object.values(traps), ...(metadataTrap ? [metadataTrap] : [])];
}

function trapConnections() {
  return allTraps().map((trap) => trap.connections.length);
}

function describeTrapConnections(before) {
  return allTraps()
    .map((trap, i) => `${trap.host} port ${trap.port}: ${trap.connections.length - before[i]}`)
    .join(', ');
}

async function newIntegration(label) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  return { id, apiKey: integration.api_key };
}

async function getEndpoint(integration, endpointId) {
  const res = await api.request('GET', `/api/v1/integrations/${integration.id}/endpoints/${endpointId}`, {
    key: integration.apiKey,
  });
  assert.equal(res.status, 200, `GET endpoint ${endpointId}: ${res.describe()}`);
  return res.json();
}

/** Creates an endpoint at url, publishes one event to it and waits until it settles. */
async function deliverOnce(label, url) {
  const integration = await newIntegration(label);
  const res = await api.request('POST', `/api/v1/integrations/${integration.id}/endpoints`, {
    key: integration.apiKey,
    json: { url, event_types: ['*'] },
  });
  assert.equal(res.status, 201, `the gateway stores ${url} with HOOKGATE_ALLOW_PRIVATE_TARGETS=1: ${res.describe()}`);
  const endpoint = res.json();
  const eventId = await api.publishAccepted(integration.id, integration.apiKey, `{"type":"ssrf.${label}"}`);
  const event = await api.waitForSettled(integration.id, integration.apiKey, eventId, { timeoutMs: 15000 });
  assert.equal(event.deliveries.length, 1, 'one delivery');
  const delivery = event.deliveries[0];
  const detail = await api.getDelivery(integration.id, integration.apiKey, delivery.id);
  return { integration, endpoint, eventId, delivery, detail };
}

/**
 * Checks that a delivery to url ends dead by the address policy after one
 * attempt, with a message that names the settings that allow it but not
 * the blocked address (matched by addressPattern), which only the worker's
 * log names, and that no trap saw a connection.
 */
async function expectBlocked(label, url, addressPattern) {
  const connectionsBefore = trapConnections();
  const { integration, endpoint, eventId, delivery, detail } = await deliverOnce(label, url);

  assert.equal(delivery.status, 'dead', `delivery status for ${url}`);
  assert.equal(delivery.reason, 'blocked_by_policy', `dead reason for ${url}`);
  assert.equal(delivery.attempt_count, 1, `attempt count for ${url}`);
  assert.equal(detail.attempts.length, 1, 'one attempt recorded');
  const [attempt] = detail.attempts;
  assert.equal(attempt.error_class, 'blocked_by_policy', `attempt error_class for ${url} (message: ${attempt.error_message})`);
  assert.equal(attempt.http_status, null, 'attempt http_status');
  const message = String(attempt.error_message);
  // A partner must not learn what internal names resolve to.
  assert.doesNotMatch(message, addressPattern, 'error_message does not name the blocked address');
  // The worker logs repeated warnings once per window, so an earlier case
  // with the same address may have written the line.
  const blockedLines = () =>
    fs
      .readFileSync(worker.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('blocked address'));
  await waitFor(() => blockedLines().some((line) => addressPattern.test(line)), {
    timeoutMs: scaled(5000),
    description: `a worker log line that names the blocked address (${blockedLines().slice(-3).join('\n')})`,
  });
  assert.match(message, /HOOKGATE_ALLOWED_CIDRS/, 'error_message names HOOKGATE_ALLOWED_CIDRS');
  assert.match(message, /HOOKGATE_ALLOW_PRIVATE_TARGETS/, 'error_message names HOOKGATE_ALLOW_PRIVATE_TARGETS');

  for (const trap of allTraps()) {
    assert.equal(trap.requestsFor(eventId).length, 0, `no request reached ${trap.host} port ${trap.port}`);
  }
  assert.deepEqual(trapConnections(), connectionsBefore, `trap connections during the test: ${describeTrapConnections(connectionsBefore)}`);

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'enabled', 'a blocked attempt leaves the endpoint enabled');
}

function requireMetadataTrap() {
  if (metadataTrapError) {
    throw new Error(
      `cannot listen on ${METADATA_ADDRESS} port 80 inside the namespace (${metadataTrapError.message}); ` +
        `tests/integration/run.sh adds ${METADATA_ADDRESS}/32 to lo there`,
    );
  }
}

const exactly = (address) => new RegExp(`\\b${address.replace(/[.:]/g, '\\$&')}\\b`);

// `netns` cases would send packets beyond loopback if the policy were broken.
const BLOCKED_TARGETS = [
  { name: '127.0.0.1', url: () => `http://127.0.0.1:${trapPort}/hook`, address: exactly('127.0.0.1') },
  { name: 'IPv6 loopback', url: () => `http://[::1]:${trapPort}/hook`, address: /(^|[^:0-9a-f])::1\b/ },
  { name: 'IPv4-mapped loopback', url: () => `http://[::ffff:127.0.0.1]:${trapPort}/hook`, address: /::ffff:127\.0\.0\.1\b/ },
  { name: '0.0.0.0', url: () => `http://0.0.0.0:${trapPort}/hook`, address: exactly('0.0.0.0'), netns: true },
  { name: 'decimal 2130706433', url: () => `http://2130706433:${trapPort}/hook`, address: exactly('127.0.0.1') },
  { name: 'octal 0177.0.0.1', url: () => `http://0177.0.0.1:${trapPort}/hook`, address: exactly('127.0.0.1') },
  { name: 'hex 0x7f.0.0.1', url: () => `http://0x7f.0.0.1:${trapPort}/hook`, address: exactly('127.0.0.1') },
  { name: 'shorthand 127.1', url: () => `http://127.1:${trapPort}/hook`, address: exactly('127.0.0.1') },
  { name: 'hex IPv4-mapped loopback', url: () => `http://[::ffff:7f00:1]:${trapPort}/hook`, address: /::ffff:127\.0\.0\.1\b/ },
  { name: 'localhost', url: () => `http://localhost:${trapPort}/hook`, address: /\b127\.0\.0\.1\b|(^|[^:0-9a-f])::1\b/ },
  {
    name: 'metadata address',
    url: () => `http://${METADATA_ADDRESS}/latest/meta-data/`,
    address: exactly(METADATA_ADDRESS),
    netns: true,
    metadata: true,
  },
  { name: 'RFC 1918 10.0.0.1', url: () => `http://10.0.0.1:${trapPort}/hook`, address: exactly('10.0.0.1'), netns: true },
  { name: 'NAT64 of metadata address', url: () => 'http://[64:ff9b::a9fe:a9fe]/', address: /64:ff9b::a9fe:a9fe/, netns: true },
  { name: 'name pinned to 127.0.0.1', url: () => `http://${PINNED_HOST}:${trapPort}/hook`, address: exactly('127.0.0.1'), netns: true },
];

for (const target of BLOCKED_TARGETS) {
  test(`blocks ${target.name}`, { timeout: scaled(30000) }, async (t) => {
    if (target.netns && !IN_NETNS) {
      t.skip(NETNS_REASON);
      return;
    }
    if (target.metadata) {
      requireMetadataTrap();
    }
    await useWorker('strict');
    await expectBlocked('blocked', target.url(), target.address);
  });
}

test('blocked attempts do not trip the breaker', { timeout: scaled(30000) }, async () => {
  await useWorker('strict');
  const integration = await newIntegration('breaker');
  const endpoint = await api.createEndpoint(integration.id, integration.apiKey, {
    url: `http://127.0.0.1:${trapPort}/hook`,
    event_types: ['*'],
  });

  const firstId = await api.publishAccepted(integration.id, integration.apiKey, '{"type":"breaker.first"}');
  const first = await api.waitForSettled(integration.id, integration.apiKey, firstId, { timeoutMs: 15000 });
  assert.equal(first.deliveries[0].reason, 'blocked_by_policy', 'first dead reason');
  // Past HOOKGATE_DISABLE_AFTER_S and the breaker's first probe.
  await sleep(1200);
  const secondId = await api.publishAccepted(integration.id, integration.apiKey, '{"type":"breaker.second"}');
  const second = await api.waitForSettled(integration.id, integration.apiKey, secondId, { timeoutMs: 15000 });
  assert.equal(second.deliveries[0].reason, 'blocked_by_policy', 'second dead reason');

  const record = await getEndpoint(integration, endpoint.id);
  assert.equal(record.status, 'enabled', 'endpoint status');
  assert.equal(record.disabled_reason, null, 'endpoint disabled_reason');
});

// ---- allowed networks -----------------------------------------------------

test('allowed CIDR delivers to 127.0.0.1', { timeout: scaled(30000) }, async () => {
  await useWorker('cidr');
  const { eventId, delivery } = await deliverOnce('cidr', `http://127.0.0.1:${trapPort}/hook`);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  assert.equal(traps['127.0.0.1'].requestsFor(eventId).length, 1, 'the receiver on 127.0.0.1 got the event');
});

test('allowed CIDR delivers to pinned name', { timeout: scaled(30000) }, async (t) => {
  if (!IN_NETNS) {
    t.skip(NETNS_REASON);
    return;
  }
  await useWorker('cidr');
  const { eventId, delivery } = await deliverOnce('cidr-name', `http://${PINNED_HOST}:${trapPort}/hook`);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  const [request] = traps['127.0.0.1'].requestsFor(eventId);
  assert.ok(request, 'the receiver on 127.0.0.1 got the event');
  assert.equal(request.headers.host, `${PINNED_HOST}:${trapPort}`, 'Host header');
});

test('allowed CIDR still blocks [::1]', { timeout: scaled(30000) }, async () => {
  await useWorker('cidr');
  await expectBlocked('cidr-v6', `http://[::1]:${trapPort}/hook`, /(^|[^:0-9a-f])::1\b/);
});

test('allowed CIDR excludes IPv4-mapped form', { timeout: scaled(30000) }, async () => {
  // Documented: an IPv4 network does not match the IPv4-mapped IPv6 form
  // of its addresses.
  await useWorker('cidr');
  await expectBlocked('cidr-mapped', `http://[::ffff:127.0.0.1]:${trapPort}/hook`, /::ffff:127\.0\.0\.1\b/);
});

test('allowed CIDR still blocks metadata', { timeout: scaled(30000) }, async (t) => {
  if (!IN_NETNS) {
    t.skip(NETNS_REASON);
    return;
  }
  requireMetadataTrap();
  await useWorker('cidr');
  await expectBlocked('cidr-metadata', `http://${METADATA_ADDRESS}/latest/meta-data/`, exactly(METADATA_ADDRESS));
});

test('NO_PROXY does not bypass the proxy', { timeout: scaled(30000) }, async () => {
  await useWorker('proxied');
  const before = traps['127.0.0.1'].connections.length;
  const { eventId, delivery } = await deliverOnce('noproxy', `http://127.0.0.1:${trapPort}/hook`);
  assert.equal(delivery.status, 'dead', 'delivery status');
  assert.equal(traps['127.0.0.1'].requestsFor(eventId).length, 0, 'the receiver got nothing');
  assert.equal(traps['127.0.0.1'].connections.length, before, 'no connection reached the receiver');
});

test('connect failures do trip the breaker', { timeout: scaled(30000) }, async () => {
  // The counterpart of the breaker test above: with 127.0.0.1 allowed,
  // refused connections count, and the endpoint ends disabled.
  await useWorker('cidr');
  const port = await freePort();
  const integration = await newIntegration('breaker-control');
  const endpoint = await api.createEndpoint(integration.id, integration.apiKey, {
    url: `http://127.0.0.1:${port}/hook`,
    event_types: ['*'],
  });
  await api.publishAccepted(integration.id, integration.apiKey, '{"type":"breaker.control"}');

  const record = await waitFor(
    async () => {
      const ep = await getEndpoint(integration, endpoint.id);
      return ep.status === 'disabled' ? ep : null;
    },
    { timeoutMs: 15000, description: `endpoint ${endpoint.id} to be disabled by the breaker` },
  );
  assert.equal(record.disabled_reason, 'failing', 'endpoint disabled_reason');
});

// ---- private targets allowed ----------------------------------------------

test('pinned name delivers when private allowed', { timeout: scaled(30000) }, async (t) => {
  if (!IN_NETNS) {
    t.skip(NETNS_REASON);
    return;
  }
  await useWorker('private');
  const { eventId, delivery } = await deliverOnce('private-name', `http://${PINNED_HOST}:${trapPort}/hook`);
  assert.equal(delivery.status, 'succeeded', 'delivery status');
  const [request] = traps['127.0.0.1'].requestsFor(eventId);
  assert.ok(request, 'the receiver on 127.0.0.1 got the event');
  assert.equal(request.headers.host, `${PINNED_HOST}:${trapPort}`, 'Host header');
});
