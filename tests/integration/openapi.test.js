'use strict';

// The OpenAPI description docs/openapi.json: Redocly CLI lint with the
// network closed, the copy that the gateway serves at /openapi.json, and
// coverage of the route table in gateway/main.c, in the document and on a
// running gateway.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api } = require('./lib/api');
const { ADMIN_KEY, REPO_ROOT, scaled, setupHarness } = require('./lib/harness');

const DOC_PATH = path.join(REPO_ROOT, 'docs', 'openapi.json');
const LINT_CONFIG = path.join(REPO_ROOT, 'docs', 'redocly.yaml');
const REDOCLY = path.join(REPO_ROOT, 'tests', 'node_modules', '.bin', 'redocly');
const MAIN_C = path.join(REPO_ROOT, 'gateway', 'main.c');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const LINT_TIMEOUT_MS = scaled(60000);

// Operations that respond with no client error of their own. docs/redocly.yaml
// turns off operation-4xx-response for them, and the 4xx test below checks
// every other operation.
const NO_CLIENT_ERROR = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /api/v1/event-types',
  'GET /api/v1/integrations/{id}/event-types',
]);

// Well-formed ids that exist nowhere, so each handler reaches its own
// lookup and responds with its own status.
const PLACEHOLDERS = {
  id: 'oa-coverage-missing',
  endpoint: 'ep_00000000000000000000000000',
  event: 'evt_00000000000000000000000000',
  delivery: 'dlv_00000000000000000000000000_0',
  job: 'job_00000000000000000000000000',
  key: 'key_00000000000000000000000000',
  client: 'cli_00000000000000000000000000',
  type: 'booking.created',
};

const harness = setupHarness('openapi');
const doc = JSON.parse(fs.readFileSync(DOC_PATH, 'utf8'));
let api;

/** Returns the routes of gateway/main.c as { method, path, deprecated }. */
function readRouteTable() {
  const source = fs.readFileSync(MAIN_C, 'utf8');
  const start = source.indexOf('routes[] = {');
  const end = source.indexOf('};', start);
  assert.ok(start >= 0, `no "routes[] = {" table in ${MAIN_C}`);
  assert.ok(end > start, `the route table in ${MAIN_C} has no end`);
  const table = source.slice(start, end);
  const pattern = /HG_(DEPRECATED_)?ROUTE\(\s*htp_method_([A-Z]+)\s*,\s*"([^"]+)"/g;
  const routes = [];
  for (const match of table.matchAll(pattern)) {
    routes.push({ method: match[2].toLowerCase(), path: match[3], deprecated: Boolean(match[1]) });
  }
  return routes;
}

/** Returns every operation of the document as { method, path, operation }. */
function documentedOperations() {
  const operations = [];
  for (const [urlPath, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      if (item[method]) {
        operations.push({ method, path: urlPath, operation: item[method] });
      }
    }
  }
  return operations;
}

function label({ method, path: urlPath }) {
  return `${method.toUpperCase()} ${urlPath}`;
}

/** Runs Redocly CLI and resolves with { code, stdout, stderr }. */
function runRedocly(args) {
  const env = {
    ...process.env,
    // Redocly CLI 2.77.0 sends usage data and checks the npm registry for a
    // newer version unless these variables turn that off, and the network
    // is closed here.
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    REDOCLY_SUPPRESS_NOTIFICATIONS: 'true',
    NO_COLOR: '1',
  };
  return new Promise((resolve, reject) => {
    execFile(REDOCLY, args, { env, cwd: REPO_ROOT, timeout: LINT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`running ${REDOCLY} failed: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/** Builds the request of a documented operation with placeholder values. */
function placeholderRequest({ method, path: urlPath, operation }) {
  const resolved = urlPath.replace(/\{([^}]+)\}/g, (whole, name) => {
    assert.ok(PLACEHOLDERS[name], `no placeholder for the path parameter {${name}} of ${urlPath}`);
    return PLACEHOLDERS[name];
  });
  const options = { key: ADMIN_KEY };
  const content = operation.requestBody ? operation.requestBody.content : {};
  if (content['application/json']) {
    options.json = {};
  } else if (content['application/x-www-form-urlencoded']) {
    options.body = 'grant_type=client_credentials';
    options.headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  }
  return { method: method.toUpperCase(), urlPath: resolved, options };
}

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({
    HOOKGATE_OPENAPI: DOC_PATH,
    HOOKGATE_SANDBOX: '1',
  });
  api = harness.closeLater(new Api(gateway.port));
}, { timeout: scaled(60000) });

test('redocly lint passes', { timeout: LINT_TIMEOUT_MS }, async () => {
  const result = await runRedocly(['lint', DOC_PATH, '--config', LINT_CONFIG, '--format', 'json']);
  const start = result.stdout.indexOf('{');
  assert.ok(start >= 0, `redocly lint printed no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);

  const report = JSON.parse(result.stdout.slice(start));
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(', ')}`);
  assert.equal(report.totals.errors, 0, `lint errors:\n${problems.join('\n')}`);
  assert.equal(report.totals.warnings, 0, `lint warnings:\n${problems.join('\n')}`);
  assert.equal(result.code, 0, `redocly lint exited with ${result.code}:\n${result.stderr}`);
});

test('served description equals file', { timeout: scaled(15000) }, async () => {
  const res = await api.request('GET', '/openapi.json');

  assert.equal(res.status, 200, res.describe());
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.json(), doc);
});

test('route table matches document', () => {
  const routes = readRouteTable();
  const documented = new Map(documentedOperations().map((o) => [label(o), o]));
  assert.ok(routes.length >= 40, `only ${routes.length} routes parsed from ${MAIN_C}`);

  for (const route of routes) {
    const entry = documented.get(label(route));
    assert.ok(entry, `${label(route)} is in gateway/main.c but not in docs/openapi.json`);
    assert.equal(Boolean(entry.operation.deprecated), route.deprecated, `deprecated flag of ${label(route)}`);
  }
  const routed = new Set(routes.map(label));
  for (const name of documented.keys()) {
    assert.ok(routed.has(name), `${name} is in docs/openapi.json but not in gateway/main.c`);
  }
});

test('operations have a 4xx response', () => {
  for (const entry of documentedOperations()) {
    if (NO_CLIENT_ERROR.has(label(entry))) {
      continue;
    }
    const statuses = Object.keys(entry.operation.responses);
    assert.ok(statuses.some((s) => /^4\d\d$/.test(s)), `${label(entry)} documents no 4xx response`);
  }
});

test('operations respond on gateway', { timeout: scaled(60000) }, async () => {
  const codes = new Set(doc.components.schemas.ErrorCode.enum);

  for (const entry of documentedOperations()) {
    const { method, urlPath, options } = placeholderRequest(entry);
    const res = await api.request(method, urlPath, options);
    const name = `${label(entry)} as ${method} ${urlPath}`;

    assert.notEqual(res.status, 405, `${name}: the router answered 405: ${res.describe()}`);
    if (res.status === 404) {
      assert.doesNotMatch(res.json().detail, /^no route matches/, `${name}: the router found no route`);
    }
    assert.ok(String(res.status) in entry.operation.responses,
      `${name}: status ${res.status} is not documented: ${res.describe()}`);
    assert.ok(res.headers['x-request-id'], `${name}: no X-Request-Id`);
    assert.equal(res.headers['api-version'], 'v1', `${name}: API-Version`);
    if (res.status >= 400 && res.headers['content-type'] === 'application/problem+json') {
      const problem = res.json();
      assert.ok(codes.has(problem.code), `${name}: code ${problem.code} is not in ErrorCode`);
      assert.equal(problem.status, res.status, `${name}: problem status`);
    }
  }
});
