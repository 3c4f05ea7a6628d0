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
  {
    what: 'outbound proxy that is not a URL',
    binary: 'hookgate-retry',
    env: { HOOKGATE_OUTBOUND_PROXY: 'abc' },
    variable: 'HOOKGATE_OUTBOUND_PROXY',
  },
  {
    what: 'outbound proxy with a scheme libcurl does not proxy through',
    binary: 'hookgate-retry',
    env: { HOOKGATE_OUTBOUND_PROXY: 'ftp://127.0.0.1:3128' },
    variable: 'HOOKGATE_OUTBOUND_PROXY',
  },
  {
    what: 'outbound proxy with a path',
    binary: 'hookgate-retry',
    env: { HOOKGATE_OUTBOUND_PROXY: 'http://127.0.0.1:3128/path' },
    variable: 'HOOKGATE_OUTBOUND_PROXY',
  },
  {
    what: 'first breaker probe later than the longest probe wait',
    binary: 'hookgate-retry',
    env: { HOOKGATE_BREAKER_PROBE_S: '86400' },
    variable: 'HOOKGATE_BREAKER_PROBE_MAX_S',
  },
  {
    what: 'sandbox sink URL that is not a URL',
    binary: 'hookgate-gateway',
    env: { HOOKGATE_SANDBOX: '1', HOOKGATE_SANDBOX_SINK_URL: 'abc' },
    variable: 'HOOKGATE_SANDBOX_SINK_URL',
  },
  ...[
    'http://u:p@',
    'http://proxy:notaport',
    'http://proxy:99999',
    'http://proxy;x=1',
    'http://[::1',
    // libcurl rejects both at the first delivery.
    'http://u:p@ss@127.0.0.1:3128',
    'http://[127.0.0.1]:3128',
  ].map((proxy) => ({
    what: `outbound proxy ${proxy}`,
    binary: 'hookgate-retry',
    env: { HOOKGATE_OUTBOUND_PROXY: proxy },
    variable: 'HOOKGATE_OUTBOUND_PROXY',
  })),
  {
    what: 'catalog that is not a catalog',
    binary: 'hookgate-gateway',
    env: { HOOKGATE_CATALOG: '/etc/hostname' },
    variable: 'HOOKGATE_CATALOG',
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

test('retry accepts proxy, warns of /0', { timeout: scaled(20000) }, async () => {
  const worker = await harness.startWorker({
    HOOKGATE_OUTBOUND_PROXY: 'socks5h://user:pw@127.0.0.1:1080/',
    HOOKGATE_ALLOWED_CIDRS: '10.20.0.0/16, fc00::/7, 0.0.0.0/0, 169.254.169.254',
  });
  assert.ok(worker.running, 'the worker runs and is ready');
  await harness.stop(worker);
  assert.equal(worker.exitCode, 0, 'exit status after SIGTERM');
  const log = tailFile(worker.logFile, 200);
  assert.match(log, /HOOKGATE_ALLOWED_CIDRS has 0\.0\.0\.0\/0, which includes loopback/, 'the warning for /0');
  assert.match(log, /HOOKGATE_ALLOWED_CIDRS has 169\.254\.169\.254\/32/, 'the warning for the metadata address');
  assert.doesNotMatch(log, /10\.20\.0\.0\/16, which/, 'no warning for a private IPv4 network');
  assert.doesNotMatch(log, /fc00::\/7, which/, 'no warning for the IPv6 private range');
  assert.doesNotMatch(log, /pw@/, 'the proxy password is not logged');
});

test('proxy forms libcurl reads start', { timeout: scaled(30000) }, async () => {
  for (const proxy of ['HTTP://127.0.0.1:3128', '127.0.0.1:3128', 'http://[::1]:3128', 'http://proxy.internal']) {
    const worker = await harness.startWorker({ HOOKGATE_OUTBOUND_PROXY: proxy });
    assert.ok(worker.running, `the worker runs with ${proxy}`);
    await harness.stop(worker);
  }
});

test('blank path and URL settings mean the default', { timeout: scaled(30000) }, async () => {
  const blank = { HOOKGATE_SANDBOX_SINK_URL: '', HOOKGATE_CATALOG: '', HOOKGATE_OPENAPI: '', HOOKGATE_WEB_DIR: '' };
  const gateway = await harness.startGateway({ ...blank, HOOKGATE_SANDBOX: '1' });
  assert.ok(gateway.running, 'the gateway runs');
  await harness.stop(gateway);
  const worker = await harness.startWorker(blank);
  assert.ok(worker.running, 'the worker runs');
  await harness.stop(worker);
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
