'use strict';

// Alerts on the delivery error rate and the p95 publish-to-delivery
// latency, per integration and per endpoint. Two workers evaluate the rules
// every 200 ms against one Redis for the whole file, so every check that
// an alert was raised once also checks that concurrent evaluations raise
// one alert. Each test uses its own integration with rules of a few
// seconds, and a receiver whose responses the test switches.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, assertProblem, uniqueId } = require('./lib/api');
const { setOperationalEndpoint } = require('./lib/flow');
const { ADMIN_KEY, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('alerts');
let api;
let workers;

const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_ALERT_EVAL_INTERVAL_MS: '200',
  // One attempt per delivery, so each event counts exactly once.
  HOOKGATE_RETRY_SCHEDULE: '',
  // Keeps the breaker from holding back the failing endpoint's deliveries.
  HOOKGATE_BREAKER_FAILURES: '100000',
};

const DEFAULT_RULES = {
  error_rate_threshold: 0.05,
  p95_latency_ms: 1000,
  window_s: 300,
  min_samples: 10,
  resolve_ratio: 0.8,
  resolve_after_s: 60,
};

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
  workers = [await harness.startWorker(WORKER_ENV), await harness.startWorker(WORKER_ENV)];
});

async function receiverWith(script) {
  return harness.closeLater(await startReceiver(script));
}

function alertsPath(id, query = '') {
  return `/api/v1/integrations/${id}/alerts${query}`;
}

function rulesPath(id) {
  return `/api/v1/integrations/${id}/alert-rules`;
}

async function putRules(id, key, rules) {
  const res = await api.request('PUT', rulesPath(id), { key, json: rules });
  assert.equal(res.status, 200, `PUT alert rules: ${res.describe()}`);
  return res.json();
}

async function listAlerts(id, key, query = '') {
  const res = await api.request('GET', alertsPath(id, query), { key });
  assert.equal(res.status, 200, `GET alerts: ${res.describe()}`);
  return res.json().data;
}

/**
 * Creates an integration whose operational endpoint (subscribed to nothing
 * else) is a receiver of its own, and returns { id, apiKey, ops, opsReceiver }.
 */
async function integrationWithOps(label) {
  const id = uniqueId(label);
  const integration = await api.createIntegration(id);
  const opsReceiver = await receiverWith(always(200));
  const ops = await api.createEndpoint(id, integration.api_key, {
    url: opsReceiver.url('/ops'),
    event_types: ['alert.*'],
  });
  await setOperationalEndpoint(api, id, ops.id);
  return { id, apiKey: integration.api_key, ops, opsReceiver };
}

/** Publishes one order.created event every intervalMs until stop() is called. */
function publishSteadily(id, apiKey, intervalMs) {
  let running = true;
  let sent = 0;
  const done = (async () => {
    while (running) {
      await api.publishAccepted(id, apiKey, { type: 'order.created', n: sent });
      sent += 1;
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return sent;
    },
  };
}

/** Returns the operational events the receiver got, verified and parsed. */
function operationalEvents(opsReceiver, ops) {
  const verifier = new Webhook(ops.secret);
  return opsReceiver.requests.map((request) => {
    verifier.verify(request.body, request.headers);
    const payload = JSON.parse(request.body.toString('utf8'));
    assert.equal(payload.id, request.headers['webhook-id'], 'the event id is its webhook-id');
    return payload;
  });
}

/** Returns the JSON log lines of every worker that mention an alert id. */
function workerLogLines(alertId) {
  const lines = [];
  for (const worker of workers) {
    for (const line of fs.readFileSync(worker.logFile, 'utf8').split('\n')) {
      if (line.includes(alertId)) {
        lines.push(JSON.parse(line));
      }
    }
  }
  return lines;
}

function scopeOf(alert) {
  return `${alert.endpoint_id || 'integration'} ${alert.rule}`;
}

/** Asserts the contract shape of one alert object. */
function assertAlertShape(alert, id, label) {
  assert.match(alert.id, /^alr_[0-9A-Z]{26}$/, `${label}: id`);
  assert.equal(alert.integration_id, id, `${label}: integration_id`);
  assert.ok(['error_rate', 'p95_latency'].includes(alert.rule), `${label}: rule ${alert.rule}`);
  assert.ok(['triggered', 'resolved'].includes(alert.state), `${label}: state ${alert.state}`);
  assert.equal(typeof alert.threshold, 'number', `${label}: threshold is a number`);
  assert.equal(typeof alert.value, 'number', `${label}: value is a number`);
  assert.equal(typeof alert.last_value, 'number', `${label}: last_value is a number`);
  assert.equal(typeof alert.window_s, 'number', `${label}: window_s is a number`);
  assert.ok(!Number.isNaN(Date.parse(alert.triggered_at)), `${label}: triggered_at ${alert.triggered_at}`);
  if (alert.state === 'resolved') {
    assert.ok(!Number.isNaN(Date.parse(alert.resolved_at)), `${label}: resolved_at ${alert.resolved_at}`);
  } else {
    assert.equal(alert.resolved_at, null, `${label}: resolved_at of an active alert`);
  }
}

/** Reads hookgate_alerts_active of one worker as { "scope rule": value }. */
async function activeGauge(worker) {
  const res = await new Api(worker.port).request('GET', '/metrics');
  const gauge = {};
  for (const match of res.text.matchAll(/^hookgate_alerts_active\{([^}]*)\} (\S+)$/gm)) {
    const scope = /scope="([^"]+)"/.exec(match[1])[1];
    const rule = /rule="([^"]+)"/.exec(match[1])[1];
    gauge[`${scope} ${rule}`] = Number(match[2]);
  }
  return gauge;
}

test('alert rules defaults, update and validation', async () => {
  const id = uniqueId('rules');
  const integration = await api.createIntegration(id);
  const key = integration.api_key;
  const other = await api.createIntegration(uniqueId('rules-other'));

  const initial = await api.request('GET', rulesPath(id), { key });
  assert.equal(initial.status, 200, initial.describe());
  assert.deepEqual(initial.json(), DEFAULT_RULES, 'defaults from the environment');
  assert.match(initial.text, /"error_rate_threshold":0\.05[,}]/, 'fractions printed as short decimals');

  const updated = await putRules(id, key, { error_rate_threshold: 0.2, window_s: 10 });
  assert.deepEqual(updated, { ...DEFAULT_RULES, error_rate_threshold: 0.2, window_s: 10 }, 'PUT returns the effective rules');
  const reread = await api.request('GET', rulesPath(id), { key: ADMIN_KEY });
  assert.deepEqual(reread.json(), updated, 'GET after PUT, with the admin key');
  assert.deepEqual(await putRules(id, key, {}), updated, 'an empty PUT changes nothing');

  const invalid = [
    [{ error_rate_threshold: 0 }, 'error_rate_threshold'],
    [{ error_rate_threshold: 1.5 }, 'error_rate_threshold'],
    [{ p95_latency_ms: '1000' }, 'p95_latency_ms'],
    [{ p95_latency_ms: 10.5 }, 'p95_latency_ms'],
    [{ window_s: 4 }, 'window_s'],
    [{ window_s: 3601 }, 'window_s'],
    [{ min_samples: 0 }, 'min_samples'],
    [{ resolve_ratio: 2 }, 'resolve_ratio'],
    [{ resolve_after_s: -1 }, 'resolve_after_s'],
    [{ threshold: 1 }, 'unknown field'],
    [{ window_s: 20, min_samples: -1 }, 'min_samples'],
  ];
  for (const [body, word] of invalid) {
    const res = await api.request('PUT', rulesPath(id), { key, json: body });
    assertProblem(res, 422, 'VALIDATION_ERROR', `PUT ${JSON.stringify(body)}`);
    assert.match(res.json().detail, new RegExp(word), `PUT ${JSON.stringify(body)}: detail names ${word}`);
  }
  const malformed = await api.request('PUT', rulesPath(id), {
    key,
    body: '{"window_s":',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(malformed, 400, 'MALFORMED_JSON', 'PUT with malformed JSON');
  const kept = await api.request('GET', rulesPath(id), { key });
  assert.deepEqual(kept.json(), updated, 'rejected updates stored nothing');

  // null removes an override, so the field follows the environment again;
  // null for a field without one changes nothing.
  const reset = await putRules(id, key, { window_s: null, min_samples: null });
  assert.deepEqual(reset, { ...DEFAULT_RULES, error_rate_threshold: 0.2 }, 'null restores the default');
  const stored = (await redisCli(harness.redisPort, ['HKEYS', `hg:{${id}}:alertrules`])).trim().split('\n');
  assert.deepEqual(stored, ['error_rate_threshold'], 'only the remaining override is stored');
  const mixed = await api.request('PUT', rulesPath(id), { key, json: { error_rate_threshold: null, window_s: 4 } });
  assertProblem(mixed, 422, 'VALIDATION_ERROR', 'a reset with an invalid field');
  assert.deepEqual((await api.request('GET', rulesPath(id), { key })).json(), reset, 'the rejected reset removed nothing');

  assertProblem(await api.request('GET', rulesPath(id)), 401, 'UNAUTHORIZED', 'GET rules without a key');
  assertProblem(await api.request('PUT', rulesPath(id), { json: {} }), 401, 'UNAUTHORIZED', 'PUT rules without a key');
  assertProblem(
    await api.request('GET', rulesPath(id), { key: other.api_key }),
    403,
    'FORBIDDEN',
    'GET rules with the key of another integration',
  );
  const readKey = await api.request('POST', `/api/v1/integrations/${id}/keys`, {
    key,
    json: { name: 'reader', scopes: ['read'] },
  });
  assert.equal(readKey.status, 201, readKey.describe());
  const reader = readKey.json().key;
  const readable = await api.request('GET', rulesPath(id), { key: reader });
  assert.equal(readable.status, 200, `GET rules with a read key: ${readable.describe()}`);
  assertProblem(
    await api.request('PUT', rulesPath(id), { key: reader, json: { window_s: 30 } }),
    403,
    'FORBIDDEN',
    'PUT rules with a read-only key',
  );
  assertProblem(
    await api.request('GET', rulesPath('it-missing-integration'), { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'GET rules of a missing integration',
  );

  assert.deepEqual(await listAlerts(id, reader), [], 'no alerts yet');
  for (const query of ['?state=open', '?limit=0', '?limit=201', '?limit=x']) {
    assertProblem(await api.request('GET', alertsPath(id, query), { key }), 422, 'VALIDATION_ERROR', `GET alerts${query}`);
  }
  assertProblem(await api.request('GET', alertsPath(id)), 401, 'UNAUTHORIZED', 'GET alerts without a key');
  assertProblem(
    await api.request('GET', alertsPath(id), { key: other.api_key }),
    403,
    'FORBIDDEN',
    'GET alerts with the key of another integration',
  );
  assertProblem(
    await api.request('GET', alertsPath('it-missing-integration'), { key: ADMIN_KEY }),
    404,
    'NOT_FOUND',
    'GET alerts of a missing integration',
  );
});

test('error rate alert per endpoint and integration, then resolve', { timeout: scaled(60000) }, async () => {
  const mode = { status: 500 };
  const flakyReceiver = await receiverWith(() => ({ status: mode.status }));
  const healthyReceiver = await receiverWith(always(200));
  const { id, apiKey, ops, opsReceiver } = await integrationWithOps('errors');
  const flaky = await api.createEndpoint(id, apiKey, { url: flakyReceiver.url(), event_types: ['order.*'] });
  const healthy = await api.createEndpoint(id, apiKey, { url: healthyReceiver.url(), event_types: ['order.*'] });
  const rules = await putRules(id, apiKey, {
    error_rate_threshold: 0.2,
    window_s: 5,
    min_samples: 5,
    resolve_ratio: 0.5,
    resolve_after_s: 1,
  });

  let traffic = publishSteadily(id, apiKey, 50);
  const active = await waitFor(
    async () => {
      const alerts = await listAlerts(id, apiKey, '?state=active');
      return alerts.length >= 2 ? alerts : null;
    },
    { timeoutMs: 15000, description: 'two active error_rate alerts' },
  );
  await sleep(1000);
  await traffic.stop();

  const all = await listAlerts(id, apiKey);
  assert.deepEqual(
    all.map(scopeOf).sort(),
    [`${flaky.id} error_rate`, 'integration error_rate'],
    'one alert for the failing endpoint and one for the integration, none for the healthy endpoint',
  );
  for (const alert of all) {
    assertAlertShape(alert, id, scopeOf(alert));
    assert.equal(alert.state, 'triggered', `${scopeOf(alert)}: state`);
    assert.equal(alert.threshold, rules.error_rate_threshold, `${scopeOf(alert)}: threshold`);
    assert.equal(alert.window_s, 5, `${scopeOf(alert)}: window_s`);
    assert.ok(alert.value > 0.2, `${scopeOf(alert)}: value ${alert.value} is above the threshold`);
  }
  const endpointAlert = all.find((a) => a.endpoint_id === flaky.id);
  assert.equal(endpointAlert.value, 1, 'every attempt to the failing endpoint failed');
  assert.ok(active.every((a) => a.endpoint_id !== healthy.id), 'no alert for the healthy endpoint');

  for (const alert of all) {
    const lines = workerLogLines(alert.id);
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, `${scopeOf(alert)}: one WARN line across both workers`);
    assert.equal(warnings[0].integration_id, id, `${scopeOf(alert)}: integration_id of the WARN line`);
    assert.equal(warnings[0].endpoint_id, alert.endpoint_id || undefined, `${scopeOf(alert)}: endpoint_id of the WARN line`);
    assert.match(warnings[0].message, /error_rate/, `${scopeOf(alert)}: the WARN line names the rule`);
    assert.match(warnings[0].message, /0\.2\b/, `${scopeOf(alert)}: the WARN line names the threshold`);
    assert.doesNotMatch(JSON.stringify(warnings[0]), new RegExp(apiKey), 'no API key in the log');
  }

  await opsReceiver.waitForRequests(2, { timeoutMs: 10000 });
  const triggered = operationalEvents(opsReceiver, ops).filter((e) => e.type === 'alert.triggered');
  assert.deepEqual(
    triggered.map((e) => e.data.id).sort(),
    all.map((a) => a.id).sort(),
    'one alert.triggered event per alert',
  );
  for (const event of triggered) {
    assert.match(event.id, /^evt_/, 'event id');
    assert.ok(!Number.isNaN(Date.parse(event.created_at)), 'created_at');
    assert.equal(event.data.state, 'triggered', 'data.state');
    assert.equal(event.data.integration_id, id, 'data.integration_id');
  }

  const gauges = await Promise.all(workers.map(activeGauge));
  for (const [i, gauge] of gauges.entries()) {
    assert.ok(gauge['endpoint error_rate'] >= 1, `worker ${i}: hookgate_alerts_active endpoint error_rate ${JSON.stringify(gauge)}`);
  }

  // Recovery: the window fills with successes and the alerts resolve.
  mode.status = 200;
  traffic = publishSteadily(id, apiKey, 100);
  try {
    await waitFor(
      async () => {
        const resolved = await listAlerts(id, apiKey, '?state=resolved');
        return resolved.length === 2 ? resolved : null;
      },
      { timeoutMs: 30000, description: 'both alerts to resolve' },
    );
  } finally {
    await traffic.stop();
  }
  assert.deepEqual(await listAlerts(id, apiKey, '?state=active'), [], 'no active alert after recovery');
  for (const alert of await listAlerts(id, apiKey)) {
    assertAlertShape(alert, id, `resolved ${scopeOf(alert)}`);
    assert.ok(
      alert.last_value < rules.error_rate_threshold * rules.resolve_ratio,
      `${scopeOf(alert)}: last_value ${alert.last_value} is below the resolve level`,
    );
    const info = workerLogLines(alert.id).filter((l) => l.level === 'info');
    assert.equal(info.length, 1, `${scopeOf(alert)}: one INFO line on resolve`);
  }
  await opsReceiver.waitForRequests(4, { timeoutMs: 10000 });
  const resolvedEvents = operationalEvents(opsReceiver, ops).filter((e) => e.type === 'alert.resolved');
  assert.equal(resolvedEvents.length, 2, 'one alert.resolved event per alert');
  for (const event of resolvedEvents) {
    assert.equal(event.data.state, 'resolved', 'alert.resolved data.state');
    assert.ok(event.data.resolved_at, 'alert.resolved data.resolved_at');
  }
});

test('p95 latency alert for a slow endpoint', { timeout: scaled(40000) }, async () => {
  const SLOW_MS = 700;
  const slowReceiver = await receiverWith(always(200, SLOW_MS));
  const { id, apiKey, ops, opsReceiver } = await integrationWithOps('latency');
  const slow = await api.createEndpoint(id, apiKey, { url: slowReceiver.url(), event_types: ['order.*'] });
  await putRules(id, apiKey, { p95_latency_ms: 300, window_s: 10, min_samples: 3 });

  for (let n = 0; n < 6; n++) {
    await api.publishAccepted(id, apiKey, { type: 'order.created', n });
  }
  const alert = await waitFor(
    async () => {
      const alerts = await listAlerts(id, apiKey);
      return alerts.find((a) => a.endpoint_id === slow.id) || null;
    },
    { timeoutMs: 15000, description: 'a p95_latency alert for the slow endpoint' },
  );
  assertAlertShape(alert, id, 'latency alert');
  assert.equal(alert.rule, 'p95_latency', 'rule');
  assert.equal(alert.threshold, 300, 'threshold in milliseconds');
  assert.ok(alert.value >= 500, `p95 ${alert.value} ms lies in the bucket of the ${SLOW_MS} ms answers`);
  const alerts = await listAlerts(id, apiKey);
  assert.ok(
    alerts.every((a) => a.rule === 'p95_latency'),
    `only latency alerts: ${alerts.map(scopeOf).join(', ')}`,
  );

  const warnings = workerLogLines(alert.id).filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'one WARN line');
  assert.equal(warnings[0].endpoint_id, slow.id, 'endpoint_id of the WARN line');
  assert.match(warnings[0].message, /p95_latency/, 'the WARN line names the rule');

  await opsReceiver.waitForRequests(1, {
    timeoutMs: 10000,
    filter: (r) => r.body.toString('utf8').includes(alert.id),
  });
  const event = operationalEvents(opsReceiver, ops).find((e) => e.data.id === alert.id);
  assert.equal(event.type, 'alert.triggered', 'event type');
  assert.equal(event.data.rule, 'p95_latency', 'event data.rule');
  assert.equal(event.data.endpoint_id, slow.id, 'event data.endpoint_id');
});

test('flapping error rate raises one alert', { timeout: scaled(60000) }, async (t) => {
  // Failures per ten requests: far above the threshold, then below it but
  // above the resolve level.
  const HIGH = 9;
  const LOW = 1;
  const PHASE_MS = 4000;
  const mode = { failures: HIGH };
  const receiver = await receiverWith((index) => ({ status: index % 10 < mode.failures ? 500 : 200 }));
  const { id, apiKey, ops, opsReceiver } = await integrationWithOps('flapping');
  const endpoint = await api.createEndpoint(id, apiKey, { url: receiver.url(), event_types: ['order.*'] });
  await putRules(id, apiKey, {
    error_rate_threshold: 0.5,
    window_s: 5,
    min_samples: 5,
    resolve_ratio: 0.1,
    resolve_after_s: 1,
  });

  const values = [];
  const traffic = publishSteadily(id, apiKey, 50);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const alert = (await listAlerts(id, apiKey)).find((a) => a.endpoint_id === endpoint.id);
      if (alert) {
        values.push(alert.last_value);
      }
      await sleep(200);
    }
  })();
  try {
    for (const failures of [HIGH, LOW, HIGH, LOW]) {
      mode.failures = failures;
      await sleep(PHASE_MS);
    }
  } finally {
    await traffic.stop();
    sampling = false;
    await sampler;
  }

  t.diagnostic(`error rate of the endpoint at each sample: ${values.join(' ')}`);
  const endpointAlerts = (await listAlerts(id, apiKey)).filter((a) => a.endpoint_id === endpoint.id);
  assert.equal(endpointAlerts.length, 1, `one alert for the endpoint: ${JSON.stringify(endpointAlerts)}`);
  assert.equal(endpointAlerts[0].state, 'triggered', 'the alert stays active');
  assert.ok(
    values.some((v) => v < 0.5),
    `the value went below the threshold while the alert was active: ${values.join(' ')}`,
  );
  assert.ok(
    values.some((v) => v > 0.5),
    `the value went above the threshold: ${values.join(' ')}`,
  );
  assert.equal(workerLogLines(endpointAlerts[0].id).filter((l) => l.level === 'warn').length, 1, 'one WARN line');

  await sleep(1000);
  const events = operationalEvents(opsReceiver, ops).filter((e) => e.data.endpoint_id === endpoint.id);
  assert.deepEqual(
    events.map((e) => e.type),
    ['alert.triggered'],
    'one alert.triggered event and no alert.resolved for the endpoint',
  );
});

test('expired record of an active alert', { timeout: scaled(40000) }, async () => {
  const failing = await receiverWith(always(500));
  const { id, apiKey, ops, opsReceiver } = await integrationWithOps('expired');
  const endpoint = await api.createEndpoint(id, apiKey, { url: failing.url(), event_types: ['order.*'] });
  await putRules(id, apiKey, { window_s: 5, min_samples: 3, resolve_after_s: 0 });
  for (let n = 0; n < 4; n++) {
    await api.publishAccepted(id, apiKey, { type: 'order.created', n });
  }
  const alert = await waitFor(
    async () => (await listAlerts(id, apiKey, '?state=active')).find((a) => a.endpoint_id === endpoint.id) || null,
    { timeoutMs: 15000, description: 'an error_rate alert for the failing endpoint' },
  );

  // The record expires while the alert is active (its retention passed
  // without an evaluation); the evaluations that follow must not bring
  // back a record without its fields, and must send no event for it.
  await redisCli(harness.redisPort, ['DEL', `hg:{${id}}:alert:${alert.id}`]);
  await sleep(7000);
  for (const a of await listAlerts(id, apiKey)) {
    assertAlertShape(a, id, `alert ${a.id}`);
  }
  const fields = await redisCli(harness.redisPort, ['HGETALL', `hg:{${id}}:alert:${alert.id}`]);
  assert.equal(fields.trim(), '', `no partial record: ${fields}`);
  for (const event of operationalEvents(opsReceiver, ops)) {
    assert.equal(typeof event.data.id, 'string', `${event.type} names its alert`);
    assert.equal(typeof event.data.rule, 'string', `${event.type} names its rule`);
  }
});
