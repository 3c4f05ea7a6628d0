'use strict';

// The public status page and its operator API, against a private Redis,
// hookgate-gateway, hookgate-retry, hookgate-inspector and a receiver in
// this process. The tests cover the /status.json shape, and components
// that turn unhealthy when the gateway, every worker or Redis stops and
// recover when they return. They cover incidents and maintenance windows with
// their validation and access rules, the iCalendar feed checked line by
// line, and status notices delivered only to subscribed integrations.

const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const { after, before, test } = require('node:test');

const { CheckedApi, assertProblem, uniqueId } = require('./lib/api');
const { ADMIN_KEY, freePort, getStatus, redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { startRedisMonitor } = require('./lib/flow');
const { residentKiB } = require('./lib/hostile');
const { startReceiver } = require('./lib/receiver');

const harness = setupHarness('status');
const STALE_MS = 3000;
// The inspector caches the status document for two seconds.
const CACHE_MS = 2000;

let api;
let gateway;
let gatewayPort;
let worker;
let inspector;
let inspectorPort;
let receiver;
let integrationKey;

function gatewayEnv() {
  return { HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}` };
}

/** Starts the gateway on gatewayPort, where the inspector looks for it. */
async function startGatewayOnPort() {
  const env = harness.serviceEnv({ ...gatewayEnv(), HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${gatewayPort}` });
  const child = harness.spawnLogged('gateway', harness.binary('hookgate-gateway'), [], env, gatewayPort);
  await harness.waitReady(child, async () => (await getStatus(gatewayPort, '/readyz')) === 200);
  return child;
}

async function startInspector() {
  return harness.startInspector({ HOOKGATE_STATUS_WORKER_STALE_MS: String(STALE_MS) }, { port: inspectorPort, gatewayPort });
}

/** GET on the inspector without credentials; returns { status, headers, text }. */
function inspectorGet(urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: inspectorPort, path: urlPath, agent: false, timeout: scaled(5000) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

async function statusDoc() {
  const res = await inspectorGet('/status.json');
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text);
}

function component(doc, id) {
  const found = doc.components.find((c) => c.id === id);
  assert.ok(found, `component ${id} in ${JSON.stringify(doc.components)}`);
  return found;
}

/** Polls /status.json until check(doc) is true; returns that document. */
function waitForStatus(check, description, timeoutMs = 15000) {
  return waitFor(
    async () => {
      const doc = await statusDoc();
      return check(doc) ? doc : null;
    },
    { timeoutMs, intervalMs: 250, description },
  );
}

function admin(method, urlPath, json) {
  return api.request(method, urlPath, { key: ADMIN_KEY, json });
}

function isoIn(ms) {
  return new Date(Date.now() + ms).toISOString();
}

before(async () => {
  inspectorPort = await freePort();
  gatewayPort = await freePort();
  await harness.startRedis();
  gateway = await startGatewayOnPort();
  worker = await harness.startWorker(gatewayEnv());
  inspector = await startInspector();
  api = harness.closeLater(new CheckedApi(gatewayPort));
  receiver = harness.closeLater(await startReceiver());
  const integration = await api.createIntegration(uniqueId('status-key'));
  integrationKey = integration.api_key;
}, { timeout: scaled(60000) });

after(() => api?.close());

test('status.json shape without sign-in', async () => {
  const doc = await waitForStatus((d) => component(d, 'delivery').workers >= 1, 'a worker heartbeat');
  assert.match(doc.version, /^\d+\.\d+\.\d+/);
  assert.ok(['operational', 'degraded', 'partial_outage', 'major_outage', 'maintenance'].includes(doc.status));
  assert.ok(!Number.isNaN(Date.parse(doc.updated_at)));
  assert.deepEqual(doc.components.map((c) => c.id), ['gateway', 'delivery', 'inspector', 'redis']);
  for (const c of doc.components) {
    assert.equal(c.status, 'operational', `${c.id}: ${JSON.stringify(c)}`);
    assert.equal(typeof c.name, 'string');
  }
  assert.equal(doc.status, 'operational');
  assert.equal(component(doc, 'delivery').workers, 1);
  assert.equal(typeof component(doc, 'redis').response_ms, 'number');
  assert.equal(typeof component(doc, 'gateway').response_ms, 'number');
  const raw = await inspectorGet('/status.json');
  assert.doesNotMatch(raw.text, /\d\.\d{13,}/, 'round trips printed without binary noise');
  assert.ok(Array.isArray(doc.incidents));
  assert.ok(Array.isArray(doc.maintenance));
  // No integration appears on the public page.
  const text = JSON.stringify(doc);
  assert.ok(!text.includes('it-status-key'), 'no integration id on the page');

  const page = await inspectorGet('/status');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.match(page.text, /status\.js/);
});

test('status burst reads Redis once per refresh', async () => {
  const monitor = await startRedisMonitor(harness.redisPort);
  try {
    await sleep(CACHE_MS + 100);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => inspectorGet(i % 2 ? '/status.json' : '/status.ics')));
    const elapsed = Date.now() - started;
    for (const a of answers) {
      assert.equal(a.status, 200);
    }
    await sleep(200);
    const reads = monitor.lines.filter((l) => l.includes('"ZCOUNT" "hg:{status}:workers"')).length;
    // One refresh per CACHE_MS started, plus one at the edge.
    assert.ok(reads >= 1, 'the burst read the status once');
    assert.ok(reads <= Math.ceil(elapsed / CACHE_MS) + 1, `${reads} reads for 60 requests in ${elapsed} ms`);
  } finally {
    monitor.close();
  }
});

test('gateway down and back', { timeout: scaled(60000) }, async () => {
  await harness.stop(gateway);
  const down = await waitForStatus((d) => component(d, 'gateway').status === 'major_outage', 'the gateway outage');
  assert.equal(down.status, 'major_outage');
  assert.equal(component(down, 'redis').status, 'operational');
  gateway = await startGatewayOnPort();
  const up = await waitForStatus((d) => component(d, 'gateway').status === 'operational', 'the gateway back');
  assert.equal(up.status, 'operational');
});

test('all workers down and back', { timeout: scaled(60000) }, async () => {
  await harness.stop(worker);
  const down = await waitForStatus((d) => component(d, 'delivery').status === 'major_outage', 'the delivery outage', STALE_MS + 10000);
  assert.equal(component(down, 'delivery').workers, 0);
  assert.equal(down.status, 'partial_outage');
  worker = await harness.startWorker(gatewayEnv());
  const up = await waitForStatus((d) => component(d, 'delivery').status === 'operational', 'the worker back');
  assert.equal(component(up, 'delivery').workers, 1);
  assert.equal(up.status, 'operational');
});

test('stopped idle worker leaves the set', { timeout: scaled(30000) }, async () => {
  const members = async () => (await redisCli(harness.redisPort, ['ZRANGE', 'hg:{status}:workers', '0', '-1']))
    .split('\n').filter((line) => line !== '').sort();
  const before = await members();
  const extra = await harness.startWorker(gatewayEnv());
  await waitFor(async () => (await members()).length === before.length + 1, {
    timeoutMs: 10000,
    description: 'the new worker\'s heartbeat',
  });
  // An idle worker stops within milliseconds, before its heartbeat's next
  // tick, so it must remove its entry on the way out.
  await harness.stop(extra);
  assert.deepEqual(await members(), before, 'the stopped worker is gone from the set');
});

test('status API needs admin key', async () => {
  const body = { title: 'x', status: 'investigating', impact: 'minor', components: ['gateway'], message: 'm' };
  assertProblem(await api.request('POST', '/api/v1/status/incidents', { json: body }), 401, 'UNAUTHORIZED', 'no key');
  assertProblem(await api.request('POST', '/api/v1/status/incidents', { key: integrationKey, json: body }), 403, 'FORBIDDEN', 'integration key');
  assertProblem(await api.request('GET', '/api/v1/status/incidents', { key: integrationKey }), 403, 'FORBIDDEN', 'list with an integration key');
  assertProblem(await api.request('GET', '/api/v1/status/maintenance'), 401, 'UNAUTHORIZED', 'maintenance without a key');
  assertProblem(
    await api.request('POST', '/api/v1/status/maintenance', { key: integrationKey, json: {} }),
    403,
    'FORBIDDEN',
    'maintenance with an integration key',
  );
});

test('incident validation stores nothing', async () => {
  const good = { title: 'API errors', status: 'investigating', impact: 'major', components: ['gateway'], message: 'Looking into it' };
  const bad = [
    [{ ...good, title: '' }, 'empty title'],
    [{ ...good, title: 'x'.repeat(201) }, 'title too long'],
    [{ ...good, title: 7 }, 'title not a string'],
    [{ ...good, title: 'API\u0085errors' }, 'C1 control in the title'],
    [{ ...good, title: 'API \u202Esrorre' }, 'right-to-left override in the title'],
    [{ ...good, message: 'Looking \u2066into\u2069 it' }, 'bidirectional isolate in the message'],
    [{ ...good, status: 'fixed' }, 'unknown status'],
    [{ ...good, impact: 'none' }, 'unknown impact'],
    [{ ...good, components: ['database'] }, 'unknown component'],
    [{ ...good, components: ['gateway', 'gateway'] }, 'duplicate component'],
    [{ ...good, components: [] }, 'no component'],
    [{ ...good, message: '' }, 'empty message'],
    [{ ...good, message: 'm'.repeat(5001) }, 'message too long'],
    [{ ...good, extra: 1 }, 'unknown member'],
    [(({ title, ...rest }) => rest)(good), 'missing title'],
  ];
  const before_ = (await admin('GET', '/api/v1/status/incidents?state=all&limit=100')).json().data.length;
  for (const [json, label] of bad) {
    assertProblem(await admin('POST', '/api/v1/status/incidents', json), 422, 'VALIDATION_ERROR', label);
  }
  const malformed = await api.request('POST', '/api/v1/status/incidents', {
    key: ADMIN_KEY,
    body: '{"title":',
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(malformed, 400, 'MALFORMED_JSON', 'malformed JSON');
  const nul = await api.request('POST', '/api/v1/status/incidents', {
    key: ADMIN_KEY,
    body: JSON.stringify({ ...good, title: 'API\u0000errors' }),
    headers: { 'Content-Type': 'application/json' },
  });
  assertProblem(nul, 400, 'MALFORMED_JSON', 'NUL in a string');
  assert.match(nul.json().detail, /a string contains \\u0000/, 'the detail names the NUL escape');
  assert.doesNotMatch(nul.json().detail, /JSON_ALLOW_NUL/, 'the detail names no parser flag');
  assertProblem(await admin('GET', '/api/v1/status/incidents?state=open'), 422, 'VALIDATION_ERROR', 'bad state');
  assertProblem(await admin('GET', '/api/v1/status/incidents?limit=0'), 422, 'VALIDATION_ERROR', 'bad limit');
  const after_ = (await admin('GET', '/api/v1/status/incidents?state=all&limit=100')).json().data.length;
  assert.equal(after_, before_, 'no incident was stored');
});

test('incident lifecycle on the page', async () => {
  const created = await admin('POST', '/api/v1/status/incidents', {
    title: 'Delayed deliveries',
    status: 'investigating',
    impact: 'major',
    components: ['delivery'],
    message: 'Deliveries are slower than usual.',
  });
  assert.equal(created.status, 201, created.describe());
  const incident = created.json();
  assert.match(incident.id, /^inc_[0-9A-Z]{26}$/);
  assert.equal(created.headers.location, `/api/v1/status/incidents/${incident.id}`);
  assert.equal(incident.status, 'investigating');
  assert.equal(incident.impact, 'major');
  assert.deepEqual(incident.components, ['delivery']);
  assert.equal(incident.resolved_at, null);
  assert.equal(incident.updates.length, 1);
  assert.deepEqual(Object.keys(incident.updates[0]).sort(), ['created_at', 'message', 'status']);
  assert.equal(incident.updates[0].message, 'Deliveries are slower than usual.');

  const read = await admin('GET', `/api/v1/status/incidents/${incident.id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.json(), incident);
  const listed = (await admin('GET', '/api/v1/status/incidents?state=active')).json().data;
  assert.ok(listed.some((i) => i.id === incident.id));

  const shown = await waitForStatus((d) => d.incidents.some((i) => i.id === incident.id), 'the incident on the page');
  assert.equal(component(shown, 'delivery').status, 'partial_outage');
  assert.equal(shown.status, 'partial_outage');

  assertProblem(await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, { status: 'monitoring' }), 422, 'VALIDATION_ERROR', 'no message');
  assertProblem(await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, { status: 'done', message: 'x' }), 422, 'VALIDATION_ERROR', 'bad status');
  const monitoring = await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, { status: 'monitoring', message: 'A fix is out.' });
  assert.equal(monitoring.status, 200, monitoring.describe());
  assert.equal(monitoring.json().status, 'monitoring');
  assert.equal(monitoring.json().updates.length, 2);
  assert.equal(monitoring.json().resolved_at, null);

  const resolved = await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, { status: 'resolved', message: 'All clear.' });
  assert.equal(resolved.status, 200);
  const r = resolved.json();
  assert.equal(r.status, 'resolved');
  assert.ok(!Number.isNaN(Date.parse(r.resolved_at)), 'resolved_at is a time');
  assert.deepEqual(r.updates.map((u) => u.status), ['investigating', 'monitoring', 'resolved']);

  const after_ = await waitForStatus(
    (d) => d.incidents.some((i) => i.id === incident.id && i.status === 'resolved'),
    'the resolved incident on the page',
  );
  assert.equal(component(after_, 'delivery').status, 'operational');
  assert.equal(after_.status, 'operational');

  const audit = (await admin('GET', '/api/v1/audit?limit=50')).json().data;
  const actions = audit.filter((a) => a.target === incident.id).map((a) => a.action).sort();
  assert.deepEqual(actions, ['status.incident.create', 'status.incident.update', 'status.incident.update']);

  assertProblem(await admin('GET', '/api/v1/status/incidents/inc_00000000000000000000000000'), 404, 'NOT_FOUND', 'unknown incident');
  assertProblem(await admin('GET', '/api/v1/status/incidents/nope'), 404, 'NOT_FOUND', 'malformed id');
  assertProblem(
    await admin('PATCH', '/api/v1/status/incidents/inc_00000000000000000000000000', { status: 'resolved', message: 'x' }),
    404,
    'NOT_FOUND',
    'update of an unknown incident',
  );
});

test('full incident can still resolve', { timeout: scaled(60000) }, async () => {
  const created = await admin('POST', '/api/v1/status/incidents', {
    title: 'Many updates',
    status: 'investigating',
    impact: 'critical',
    components: ['gateway'],
    message: 'update 1',
  });
  assert.equal(created.status, 201, created.describe());
  const path = `/api/v1/status/incidents/${created.json().id}`;
  for (let n = 2; n <= 99; n++) {
    const update = await admin('PATCH', path, { status: 'identified', message: `update ${n}` });
    assert.equal(update.status, 200, update.describe());
  }
  // The 100th and last update is kept for resolving: an incident that
  // could not resolve would hold the page at major_outage for good, since
  // incidents cannot be deleted.
  assertProblem(await admin('PATCH', path, { status: 'monitoring', message: 'update 100' }), 409, 'CONFLICT', 'update 100 that does not resolve');
  const resolved = await admin('PATCH', path, { status: 'resolved', message: 'update 100 resolves' });
  assert.equal(resolved.status, 200, resolved.describe());
  assert.equal(resolved.json().updates.length, 100);
  assert.equal(resolved.json().status, 'resolved');
  assert.ok(!Number.isNaN(Date.parse(resolved.json().resolved_at)));
  const full = await admin('PATCH', path, { status: 'resolved', message: 'update 101' });
  assertProblem(full, 409, 'CONFLICT', 'update 101');
  assert.doesNotMatch(full.json().title, /already exists/, 'the title of a full incident');
  await waitForStatus((d) => d.incidents.some((x) => x.id === created.json().id && x.status === 'resolved'), 'the incident resolved on the page');
});

test('maintenance window lifecycle', async () => {
  const good = {
    title: 'Redis upgrade',
    description: 'Short pauses in delivery.',
    starts_at: isoIn(3600e3),
    ends_at: isoIn(7200e3),
    components: ['redis', 'delivery'],
  };
  const bad = [
    [{ ...good, starts_at: 'tomorrow' }, 'not a time'],
    [{ ...good, starts_at: '2026-13-01T00:00:00Z' }, 'month 13'],
    [{ ...good, ends_at: good.starts_at }, 'ends equal starts'],
    [{ ...good, ends_at: isoIn(1800e3) }, 'ends before starts'],
    [{ ...good, starts_at: isoIn(-7200e3), ends_at: isoIn(-3600e3) }, 'already over'],
    [{ ...good, ends_at: isoIn(40 * 86400e3) }, 'longer than 31 days'],
    [{ ...good, components: ['gateway', 'mail'] }, 'unknown component'],
    [{ ...good, title: 'x'.repeat(201) }, 'title too long'],
    [{ ...good, description: 'd'.repeat(5001) }, 'description too long'],
    [(({ ends_at, ...rest }) => rest)(good), 'missing ends_at'],
    [{ ...good, owner: 'ops' }, 'unknown member'],
  ];
  for (const [json, label] of bad) {
    assertProblem(await admin('POST', '/api/v1/status/maintenance', json), 422, 'VALIDATION_ERROR', label);
  }

  const created = await admin('POST', '/api/v1/status/maintenance', good);
  assert.equal(created.status, 201, created.describe());
  const w = created.json();
  assert.match(w.id, /^mnt_[0-9A-Z]{26}$/);
  assert.equal(created.headers.location, `/api/v1/status/maintenance/${w.id}`);
  assert.equal(w.state, 'scheduled');
  assert.equal(Date.parse(w.starts_at), Date.parse(good.starts_at));
  assert.equal(Date.parse(w.ends_at), Date.parse(good.ends_at));
  assert.deepEqual(w.components, ['redis', 'delivery']);
  assert.deepEqual((await admin('GET', `/api/v1/status/maintenance/${w.id}`)).json(), w);
  assert.ok((await admin('GET', '/api/v1/status/maintenance?state=current')).json().data.some((x) => x.id === w.id));

  // A change of one end is checked against the stored other end.
  assertProblem(
    await admin('PATCH', `/api/v1/status/maintenance/${w.id}`, { starts_at: isoIn(3 * 3600e3) }),
    422,
    'VALIDATION_ERROR',
    'starts after the stored end',
  );
  assertProblem(await admin('PATCH', `/api/v1/status/maintenance/${w.id}`, {}), 422, 'VALIDATION_ERROR', 'empty change');
  const changed = await admin('PATCH', `/api/v1/status/maintenance/${w.id}`, { title: 'Redis 7 upgrade', starts_at: isoIn(-60e3) });
  assert.equal(changed.status, 200, changed.describe());
  assert.equal(changed.json().title, 'Redis 7 upgrade');
  assert.equal(changed.json().state, 'in_progress');
  assert.equal(changed.json().ends_at, w.ends_at);

  const shown = await waitForStatus((d) => d.maintenance.some((x) => x.id === w.id && x.state === 'in_progress'), 'the window on the page');
  assert.equal(component(shown, 'redis').status, 'maintenance');
  assert.equal(shown.status, 'maintenance');

  const cancelled = await admin('DELETE', `/api/v1/status/maintenance/${w.id}`);
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.json().id, w.id);
  assert.ok(!Number.isNaN(Date.parse(cancelled.json().cancelled_at)));
  assertProblem(await admin('GET', `/api/v1/status/maintenance/${w.id}`), 404, 'NOT_FOUND', 'cancelled window');
  assertProblem(await admin('DELETE', `/api/v1/status/maintenance/${w.id}`), 404, 'NOT_FOUND', 'second cancel');
  assertProblem(await admin('PATCH', `/api/v1/status/maintenance/${w.id}`, { title: 'x' }), 404, 'NOT_FOUND', 'change of a cancelled window');
  await waitForStatus((d) => !d.maintenance.some((x) => x.id === w.id), 'the window gone from the page');
});

test('maintenance bounds hold on create and change', async () => {
  const good = { title: 'Bounds', starts_at: isoIn(3600e3), ends_at: isoIn(7200e3), components: ['redis'] };
  // Times before 1970 are valid RFC 3339 but must not read as "absent".
  assertProblem(
    await admin('POST', '/api/v1/status/maintenance', { ...good, starts_at: '1900-01-01T00:00:00Z' }),
    422,
    'VALIDATION_ERROR',
    'starts in 1900',
  );
  assertProblem(
    await admin('POST', '/api/v1/status/maintenance', { ...good, starts_at: '1969-12-31T23:59:59.999Z' }),
    422,
    'VALIDATION_ERROR',
    'starts before 1970',
  );

  const created = await admin('POST', '/api/v1/status/maintenance', good);
  assert.equal(created.status, 201, created.describe());
  const w = created.json();
  const path = `/api/v1/status/maintenance/${w.id}`;
  const bad = [
    [{ starts_at: '1960-01-01T00:00:00Z' }, 'starts before 1970'],
    [{ ends_at: isoIn(40 * 86400e3) }, 'new end 40 days after the stored start'],
    [{ starts_at: '1970-01-01T00:00:00Z' }, 'new start decades before the stored end'],
  ];
  for (const [json, label] of bad) {
    assertProblem(await admin('PATCH', path, json), 422, 'VALIDATION_ERROR', label);
  }
  const stored = await admin('GET', path);
  assert.equal(stored.json().starts_at, w.starts_at, 'the start is unchanged');
  assert.equal(stored.json().ends_at, w.ends_at, 'the end is unchanged');
  assert.equal(stored.json().updated_at, w.updated_at, 'a rejected change writes nothing');

  const longest = await admin('PATCH', path, { ends_at: new Date(Date.parse(w.starts_at) + 31 * 86400e3).toISOString() });
  assert.equal(longest.status, 200, longest.describe());
  assert.equal((await admin('DELETE', path)).status, 200);
});

/** Splits an iCalendar text into physical lines, checking CRLF and 75 octets. */
function physicalLines(text) {
  assert.ok(text.endsWith('\r\n'), 'the feed ends with CRLF');
  const lines = text.slice(0, -2).split('\r\n');
  for (const line of lines) {
    assert.ok(!line.includes('\n'), `bare LF in ${JSON.stringify(line)}`);
    assert.ok(!line.includes('\r'), `bare CR in ${JSON.stringify(line)}`);
    assert.ok(Buffer.byteLength(line, 'utf8') <= 75, `${Buffer.byteLength(line)} octets: ${JSON.stringify(line)}`);
  }
  return lines;
}

function unfoldLines(lines) {
  const out = [];
  for (const line of lines) {
    if (line.startsWith(' ')) {
      assert.ok(out.length > 0, 'a continuation line follows a line');
      out[out.length - 1] += line.slice(1);
    } else {
      out.push(line);
    }
  }
  return out;
}

function icalTime(iso) {
  return new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

test('iCalendar feed folded and escaped', async () => {
  const title = 'Upgrade, part 1; EU and US regions, with a title long enough to be folded twice over';
  const description = 'Line one; with a comma, and a backslash \\ here.\nLine two: ünïcödé ✓ '.repeat(3);
  const created = await admin('POST', '/api/v1/status/maintenance', {
    title,
    description,
    starts_at: '2099-01-01T00:00:00Z',
    ends_at: '2099-01-01T02:30:00Z',
    components: ['gateway'],
  });
  assertProblem(created, 422, 'VALIDATION_ERROR', 'more than 366 days ahead');
  const startsAt = new Date(Math.ceil((Date.now() + 86400e3) / 1000) * 1000).toISOString();
  const endsAt = new Date(Date.parse(startsAt) + 9000e3).toISOString();
  // A title is one line, and no text takes other control characters.
  const window = { starts_at: startsAt, ends_at: endsAt, components: ['gateway'] };
  const twoLines = await admin('POST', '/api/v1/status/maintenance', { ...window, title: 'Upgrade\nnow', description });
  assertProblem(twoLines, 422, 'VALIDATION_ERROR', 'a title with a line feed');
  assert.match(twoLines.json().detail, /control characters/);
  const bell = await admin('POST', '/api/v1/status/maintenance', { ...window, title, description: 'ring\u0007' });
  assertProblem(bell, 422, 'VALIDATION_ERROR', 'a description with BEL');
  assert.match(bell.json().detail, /"description".*other than line feed and tab/);
  const res = await admin('POST', '/api/v1/status/maintenance', { title, description, starts_at: startsAt, ends_at: endsAt, components: ['gateway'] });
  assert.equal(res.status, 201, res.describe());
  const w = res.json();

  const feed = await waitFor(
    async () => {
      const r = await inspectorGet('/status.ics');
      return r.text.includes(`${w.id}@hookgate`) ? r : null;
    },
    { timeoutMs: 10000, description: 'the window in the feed' },
  );
  assert.equal(feed.status, 200);
  assert.match(feed.headers['content-type'], /^text\/calendar; charset=utf-8/);
  const physical = physicalLines(feed.text);
  assert.ok(physical.some((l) => l.startsWith(' ')), 'some line is folded');
  const lines = unfoldLines(physical);
  assert.equal(lines[0], 'BEGIN:VCALENDAR');
  assert.equal(lines[1], 'VERSION:2.0');
  assert.match(lines[2], /^PRODID:-\/\/hookgate\/\/status /);
  assert.equal(lines[lines.length - 1], 'END:VCALENDAR');
  assert.equal(lines.filter((l) => l === 'BEGIN:VEVENT').length, lines.filter((l) => l === 'END:VEVENT').length);

  const start = lines.indexOf(`UID:${w.id}@hookgate`);
  assert.ok(start > 0, 'the UID line');
  const event = [];
  for (let i = start - 1; lines[i] !== 'END:VEVENT'; i++) {
    event.push(lines[i]);
  }
  assert.equal(event[0], 'BEGIN:VEVENT');
  const props = Object.fromEntries(event.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
  assert.match(props.DTSTAMP, /^\d{8}T\d{6}Z$/);
  assert.equal(props.DTSTART, icalTime(startsAt));
  assert.equal(props.DTEND, icalTime(endsAt));
  assert.equal(props.SUMMARY, 'Upgrade\\, part 1\\; EU and US regions\\, with a title long enough to be folded twice over');
  const escaped = description.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\n/g, '\\n');
  assert.equal(props.DESCRIPTION, escaped);
  assert.equal(props.CATEGORIES, 'gateway');

  await admin('DELETE', `/api/v1/status/maintenance/${w.id}`);
});

test('notices reach subscribers only', { timeout: scaled(60000) }, async () => {
  const make = async (label, hookPath) => {
    const id = uniqueId(label);
    const integration = await api.createIntegration(id);
    const ep = await api.createEndpoint(id, integration.api_key, { url: receiver.url(hookPath), event_types: ['booking.*'] });
    return { id, key: integration.api_key, endpoint: ep.id };
  };
  const subscribed = await make('status-sub', '/subscribed');
  const other = await make('status-unsub', '/unsubscribed');

  assertProblem(await admin('PATCH', `/api/v1/integrations/${subscribed.id}`, { status_notices: 'yes' }), 422, 'VALIDATION_ERROR', 'not a boolean');
  const patched = await api.request('PATCH', `/api/v1/integrations/${subscribed.id}`, {
    key: subscribed.key,
    json: { status_notices: true, operational_endpoint_id: subscribed.endpoint },
  });
  assert.equal(patched.status, 200, patched.describe());
  assert.equal(patched.json().status_notices, true);
  const read = await api.request('GET', `/api/v1/integrations/${subscribed.id}`, { key: subscribed.key });
  assert.equal(read.json().status_notices, true);
  const otherRead = await admin('PATCH', `/api/v1/integrations/${other.id}`, { operational_endpoint_id: other.endpoint });
  assert.equal(otherRead.json().status_notices, false);

  const incident = (
    await admin('POST', '/api/v1/status/incidents', {
      title: 'Partner notice check',
      status: 'identified',
      impact: 'minor',
      components: ['gateway'],
      message: 'Testing notices.',
    })
  ).json();
  const notice = await waitFor(
    () => receiver.requests.find((q) => q.path === '/subscribed' && JSON.parse(q.body).data.id === incident.id) || null,
    { timeoutMs: 15000, description: 'the incident.created notice' },
  );
  const payload = JSON.parse(notice.body);
  assert.equal(payload.type, 'incident.created');
  assert.match(payload.id, /^evt_/);
  assert.equal(payload.data.title, 'Partner notice check');
  assert.equal(payload.data.update.message, 'Testing notices.');
  assert.ok(notice.headers['webhook-signature'], 'the notice is signed');

  const resolved = await admin('PATCH', `/api/v1/status/incidents/${incident.id}`, { status: 'resolved', message: 'Done.' });
  assert.equal(resolved.status, 200);
  await waitFor(
    () => receiver.requests.find((q) => q.path === '/subscribed' && JSON.parse(q.body).type === 'incident.resolved') || null,
    { timeoutMs: 15000, description: 'the incident.resolved notice' },
  );
  const window = await admin('POST', '/api/v1/status/maintenance', {
    title: 'Notice window',
    starts_at: isoIn(3600e3),
    ends_at: isoIn(5400e3),
    components: ['delivery'],
  });
  assert.equal(window.status, 201);
  await waitFor(
    () =>
      receiver.requests.find((q) => q.path === '/subscribed' && JSON.parse(q.body).type === 'maintenance.scheduled' && JSON.parse(q.body).data.id === window.json().id) ||
      null,
    { timeoutMs: 15000, description: 'the maintenance.scheduled notice' },
  );
  // The worker sends in order of queueing; give the other integration's
  // notice, if one had been queued, the same time to arrive.
  await sleep(1500);
  assert.equal(receiver.requests.filter((q) => q.path === '/unsubscribed').length, 0, 'nothing for the unsubscribed integration');
  const events = (await api.request('GET', `/api/v1/integrations/${other.id}/events`, { key: other.key })).json().data;
  assert.equal(events.length, 0, 'no notice stored for the unsubscribed integration');
  await admin('DELETE', `/api/v1/status/maintenance/${window.json().id}`);
});

test('redis down and back', { timeout: scaled(90000) }, async () => {
  await harness.stop(harness.redis);
  const down = await waitForStatus((d) => component(d, 'redis').status === 'major_outage', 'the Redis outage');
  assert.equal(component(down, 'redis').response_ms, null);
  assert.equal(component(down, 'delivery').status, 'major_outage');
  assert.equal(component(down, 'delivery').workers, null);
  assert.equal(down.status, 'major_outage');
  await harness.startRedis();
  const up = await waitForStatus((d) => d.status === 'operational', 'every component back', 30000);
  assert.equal(component(up, 'redis').status, 'operational');
  assert.equal(component(up, 'delivery').workers, 1);
});

/** Sends GET urlPath to the inspector; resolves with the ms until its status line arrived. */
function msToFirstResponse(urlPath, started) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: inspectorPort, path: urlPath, agent: false, timeout: scaled(30000) }, (res) => {
      const firstMs = Date.now() - started;
      let length = 0;
      res.on('data', (c) => {
        length += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode, firstMs, length }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

test('status burst with large document', { timeout: scaled(120000) }, async () => {
  // Ten incidents of 20 updates of 5,000 characters of 4 bytes in UTF-8:
  // a document of about 4 MB. All are resolved, so the components stay
  // operational.
  const message = '\u{1D11E}'.repeat(5000);
  for (let i = 0; i < 10; i++) {
    const created = await admin('POST', '/api/v1/status/incidents', {
      title: `Large ${i}`,
      status: 'investigating',
      impact: 'minor',
      components: ['delivery'],
      message,
    });
    assert.equal(created.status, 201, created.describe());
    for (let k = 1; k < 20; k++) {
      const update = await admin('PATCH', `/api/v1/status/incidents/${created.json().id}`, {
        status: k === 19 ? 'resolved' : 'identified',
        message,
      });
      assert.equal(update.status, 200, update.describe());
    }
  }
  const doc = await waitForStatus((d) => d.incidents.filter((x) => x.title.startsWith('Large ')).length === 10, 'the large incidents');
  assert.equal(doc.status, 'operational');

  // A burst after the cache expired waits for one refresh. Each waiter's
  // response must not cost a serialization of its own: 60 of them took
  // about 10 s of loop time when every response dumped the document, and
  // one refresh of it takes about 0.5 s.
  await sleep(CACHE_MS + 100);
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 60 }, () => msToFirstResponse('/status.json', started)));
  const first = Math.min(...answers.map((a) => a.firstMs));
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.ok(a.length > 4e6, `${a.length} bytes`);
  }
  assert.ok(first < scaled(4000), `the first of 60 responses started after ${first} ms`);

  // Responses share the serialized document: 40 clients that send the
  // request and then read nothing must not each keep a copy of it in the
  // inspector (with a copy each, this grew by about 150 MB).
  const rssBefore = residentKiB(inspector.pid);
  const readers = [];
  for (let i = 0; i < 40; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: inspectorPort });
    socket.pause();
    socket.on('error', () => {});
    socket.write('GET /status.json HTTP/1.1\r\nHost: status\r\n\r\n');
    readers.push(socket);
  }
  let grownKiB = 0;
  try {
    await sleep(1500);
    grownKiB = residentKiB(inspector.pid) - rssBefore;
  } finally {
    for (const socket of readers) {
      socket.destroy();
    }
  }
  assert.ok(grownKiB < 40 * 1024, `the inspector grew by ${grownKiB} KiB for 40 stalled readers`);
});
