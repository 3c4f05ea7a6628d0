'use strict';

// Runs the Postman collection deploy/postman/hookgate.postman_collection.json
// with newman against Redis, the gateway, the delivery worker and the
// inspector (whose /sink/sandbox receives the deliveries), all in sandbox
// mode, and fails on any failed assertion or request.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { before, test } = require('node:test');
const newman = require('newman');

const { ADMIN_KEY, REPO_ROOT, freePort, scaled, setupHarness } = require('./lib/harness');

const POSTMAN_DIR = path.join(REPO_ROOT, 'deploy', 'postman');
const COLLECTION = path.join(POSTMAN_DIR, 'hookgate.postman_collection.json');
const ENVIRONMENT = path.join(POSTMAN_DIR, 'sandbox.postman_environment.json');
const SANDBOX_KEY = 'hgk_sandbox_local_development_key';
const REQUEST_TIMEOUT_MS = scaled(10000);
const RUN_TIMEOUT_MS = scaled(90000);

const harness = setupHarness('newman');
let gateway;
let inspectorPort;

async function startInspector(env) {
  return harness.startInspector(env, { port: inspectorPort });
}

/** Runs newman and resolves with its summary. */
function runCollection(options) {
  return new Promise((resolve, reject) => {
    newman.run(options, (err, summary) => (err ? reject(err) : resolve(summary)));
  });
}

/** Formats the failures of a newman run, one per line. */
function describeFailures(summary) {
  return summary.run.failures.map((f) => {
    const where = f.source && f.source.name ? f.source.name : 'collection';
    const message = f.error ? `${f.error.name}: ${f.error.test || ''} ${f.error.message}` : 'unknown failure';
    return `${where}: ${message}`;
  });
}

/** Prints one line per request and the counts of the run. */
function printSummary(summary) {
  const out = ['newman run summary:'];
  for (const execution of summary.run.executions) {
    const response = execution.response;
    const failed = (execution.assertions || []).filter((a) => a.error).length;
    const total = (execution.assertions || []).length;
    out.push(`  ${response ? response.code : 'ERR'} ${execution.item.name} (${total - failed}/${total} assertions passed)`);
  }
  const { stats, timings } = summary.run;
  out.push(`  requests ${stats.requests.total} (${stats.requests.failed} failed), ` +
    `assertions ${stats.assertions.total} (${stats.assertions.failed} failed), ` +
    `test scripts ${stats.testScripts.total} (${stats.testScripts.failed} failed), ` +
    `${timings.completed - timings.started} ms`);
  process.stdout.write(`${out.join('\n')}\n`);
}

before(async () => {
  inspectorPort = await freePort();
  await harness.startRedis();
  // The gateway writes the sandbox fixtures with a sink URL on the
  // inspector, and the new endpoint of the walkthrough is on 127.0.0.1 too.
  const shared = {
    HOOKGATE_SANDBOX: '1',
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${inspectorPort}`,
  };
  await startInspector(shared);
  // NOTE: one thread, because the test-event route looks the endpoint up in
  // its thread's cached endpoint list, which only a publish refreshes. The
  // walkthrough publishes before its test event, but with more threads that
  // publish may refresh the list of another thread.
  gateway = await harness.startGateway({ ...shared, HOOKGATE_THREADS: '1' });
  await harness.startWorker({ ...shared, HOOKGATE_RETRY_SCHEDULE: '1,1' });
}, { timeout: scaled(60000) });

test('postman collection passes', { timeout: RUN_TIMEOUT_MS }, async () => {
  const summary = await runCollection({
    collection: JSON.parse(fs.readFileSync(COLLECTION, 'utf8')),
    environment: JSON.parse(fs.readFileSync(ENVIRONMENT, 'utf8')),
    envVar: [
      { key: 'baseUrl', value: `http://127.0.0.1:${gateway.port}` },
      { key: 'sinkUrl', value: `http://127.0.0.1:${inspectorPort}/sink/sandbox` },
      { key: 'sandboxKey', value: SANDBOX_KEY },
      { key: 'adminKey', value: ADMIN_KEY },
    ],
    reporters: [],
    timeoutRequest: REQUEST_TIMEOUT_MS,
    timeout: RUN_TIMEOUT_MS,
    ignoreRedirects: true,
  });
  printSummary(summary);

  const failures = describeFailures(summary);
  assert.equal(summary.run.error ?? null, null, `the run stopped: ${summary.run.error}`);
  assert.deepEqual(failures, [], `${failures.length} failures:\n${failures.join('\n')}`);
  assert.equal(summary.run.stats.requests.failed, 0, 'failed requests');
  assert.ok(summary.run.stats.assertions.total >= 100, `only ${summary.run.stats.assertions.total} assertions ran`);
});
