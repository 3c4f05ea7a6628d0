'use strict';

// Process start and stop: configuration errors stop a process at start
// with exit status 2 and a message that names the variable, valid edge
// values start normally, and SIGTERM ends a process with status 0.

const assert = require('node:assert/strict');
const net = require('node:net');
const { before, test } = require('node:test');

const { scaled, setupHarness, tailFile } = require('./lib/harness');

const harness = setupHarness('process');

before(async () => {
  // A running Redis, so that only the variable under test is wrong.
  await harness.startRedis();
});

const rejected = [
  {
    what: 'visibility timeout only 5000 ms above the delivery timeout',
    binary: 'hookgate-retry',
    env: { HOOKGATE_DELIVERY_TIMEOUT_MS: '2000', HOOKGATE_VISIBILITY_TIMEOUT_MS: '7000' },
    variable: 'HOOKGATE_VISIBILITY_TIMEOUT_MS',
  },
  {
    what: 'visibility timeout below 1000 ms',
    binary: 'hookgate-retry',
    env: { HOOKGATE_DELIVERY_TIMEOUT_MS: '100', HOOKGATE_VISIBILITY_TIMEOUT_MS: '999' },
    variable: 'HOOKGATE_VISIBILITY_TIMEOUT_MS',
  },
  {
    what: 'retry schedule with a non-number',
    binary: 'hookgate-retry',
    env: { HOOKGATE_RETRY_SCHEDULE: '1,x' },
    variable: 'HOOKGATE_RETRY_SCHEDULE',
  },
  {
    what: 'admin key shorter than 16 characters',
    binary: 'hookgate-gateway',
    env: { HOOKGATE_ADMIN_KEY: 'short-key' },
    variable: 'HOOKGATE_ADMIN_KEY',
  },
  {
    what: 'payload limit that is not a number',
    binary: 'hookgate-gateway',
    env: { HOOKGATE_MAX_PAYLOAD_BYTES: '1MiB' },
    variable: 'HOOKGATE_MAX_PAYLOAD_BYTES',
  },
];

for (const c of rejected) {
  test(`${c.binary} rejects ${c.what}`, { timeout: scaled(15000) }, async () => {
    const result = await harness.runToExit(c.binary, c.env);
    assert.equal(result.signal, null, 'exited by itself');
    assert.equal(result.code, 2, `exit status; output: ${result.output}`);
    assert.match(result.output, new RegExp(c.variable), 'the message names the variable');
  });
}

test('hookgate-retry accepts visibility 5001 ms above delivery', { timeout: scaled(20000) }, async () => {
  const worker = await harness.startWorker({
    HOOKGATE_DELIVERY_TIMEOUT_MS: '2000',
    HOOKGATE_VISIBILITY_TIMEOUT_MS: '7001',
  });
  assert.ok(worker.running, 'the worker runs and is ready');
  await harness.stop(worker);
  assert.equal(worker.exitCode, 0, 'exit status after SIGTERM');
});

/**
 * Connects a keep-alive client that sends one request and stays connected,
 * then stops the child with SIGTERM and checks that it exited with status 0.
 */
async function checkStopWithIdleClient(child) {
  const socket = net.connect({ host: '127.0.0.1', port: child.port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const answer = await new Promise((resolve) => socket.once('data', resolve));
  assert.match(answer.toString('latin1'), /^HTTP\/1\.1 200 /, 'healthz answer');

  try {
    await harness.stop(child);
  } finally {
    socket.destroy();
  }
  assert.equal(child.exitSignal, null, 'the process exited by itself, not by the SIGKILL that follows 5 s later');
  // Sanitizer builds exit with status 1 when LeakSanitizer finds a leak.
  assert.equal(child.exitCode, 0, `exit status; log: ${tailFile(child.logFile, 20)}`);
}

test('gateway exits 0 on SIGTERM with an idle client', { timeout: scaled(20000) }, async () => {
  await checkStopWithIdleClient(await harness.startGateway());
});

test('worker exits 0 on SIGTERM with an idle client', { timeout: scaled(20000) }, async () => {
  await checkStopWithIdleClient(await harness.startWorker());
});
