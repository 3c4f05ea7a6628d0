'use strict';

// Operations. Covers /healthz and /readyz on the gateway, the worker and
// the inspector, with Redis stopped and back and the worker's consumer
// group deleted. Covers graceful shutdown on SIGTERM with deliveries and
// requests in flight, SIGHUP reopening HOOKGATE_LOG_FILE, and TLS on the
// gateway and the inspector.
// Runs a private redis-server, the three processes and a webhook receiver
// on 127.0.0.1.

const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const { Webhook } = require('standardwebhooks');
const {
  ADMIN_KEY,
  Harness,
  freePort,
  getStatus,
  redisCli,
  scaled,
  setupHarness,
  sleep,
  waitFor,
} = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const harness = setupHarness('operations');
const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_RETRY_SCHEDULE: '1,1,1',
  HOOKGATE_DELIVERY_TIMEOUT_MS: '3000',
  HOOKGATE_VISIBILITY_TIMEOUT_MS: '8500',
};
const WORK_KEY = 'hg:{wq0}:work';
const RECEIVER_DELAY_MS = 1000;

let gateway;
let api;
let worker;
let inspector;
let receiver;

/** Starts hookgate-inspector with extra environment; waits for waitPath. */
async function startInspector(extraEnv = {}, { waitPath = '/readyz', tls = null } = {}) {
  const ready = tls ? async (port) => (await send(port, 'GET', waitPath, { ca: tls })).status === 200 : null;
  return harness.startInspector(extraEnv, { gatewayPort: gateway.port, waitPath, ready });
}

/**
 * Sends one request over http, or over https when ca is set, and returns
 * { status, headers, text, json }. json is undefined for a non-JSON body.
 */
function send(port, method, urlPath, { ca = null, body, headers = {}, agent = false } = {}) {
  const client = ca ? https : http;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const allHeaders = { ...headers };
  if (payload !== undefined) {
    allHeaders['Content-Type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        headers: allHeaders,
        agent,
        timeout: scaled(10000),
        ...(ca ? { ca, servername: 'localhost' } : {}),
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    if (payload !== undefined) {
      req.write(payload);
    }
    req.end();
  });
}

/** Asserts the exact /healthz response of one process. */
async function assertHealthy(name, port) {
  const res = await send(port, 'GET', '/healthz');
  assert.equal(res.status, 200, `${name} /healthz status: ${res.text}`);
  assert.deepEqual(res.json, { status: 'ok' }, `${name} /healthz body`);
  assert.match(res.headers['content-type'], /^application\/json/, `${name} /healthz content type`);
}

/** Returns the /readyz response of port once its status is `status`. */
function waitReadyz(name, port, status, timeoutMs = 20000) {
  return waitFor(
    async () => {
      const res = await send(port, 'GET', '/readyz');
      return res.status === status ? res : null;
    },
    { timeoutMs, description: `${name} /readyz to respond ${status}` },
  );
}

/** Asserts that res is a 503 problem whose reason matches pattern. */
function assertNotReady(name, res, pattern) {
  assert.equal(res.status, 503, `${name} /readyz status`);
  assert.match(res.headers['content-type'], /^application\/problem\+json/, `${name} /readyz content type`);
  assert.equal(res.json.code, 'UNAVAILABLE', `${name} /readyz code`);
  assert.match(res.json.reason, pattern, `${name} /readyz reason`);
}

/**
 * Runs an openssl s_client handshake limited to one TLS version (and
 * OpenSSL's lowest security level, so the client itself allows TLS 1.1) and
 * returns the protocol it negotiated, or null when the handshake failed.
 */
function negotiatedProtocol(port, versionFlag) {
  const result = spawnSync(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, versionFlag, '-cipher', 'DEFAULT@SECLEVEL=0'],
    { input: '', encoding: 'utf8', timeout: scaled(10000) },
  );
  const match = /Protocol\s*:\s*(\S+)/.exec(result.stdout || '');
  return result.status === 0 && match ? match[1] : null;
}

/** Writes a self-signed certificate for localhost and its key into dir. */
function makeCertificate(dir, name) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-days', '1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key, pem: fs.readFileSync(cert) };
}

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
  worker = await harness.startWorker(WORKER_ENV);
  inspector = await startInspector();
  receiver = harness.closeLater(await startReceiver(always(200, RECEIVER_DELAY_MS)));
});

test('health probes on all processes', async () => {
  for (const [name, child] of [['gateway', gateway], ['worker', worker], ['inspector', inspector]]) {
    await assertHealthy(name, child.port);
    const ready = await send(child.port, 'GET', '/readyz');
    assert.equal(ready.status, 200, `${name} /readyz status: ${ready.text}`);
    assert.deepEqual(ready.json, { status: 'ok' }, `${name} /readyz body`);
  }
});

test('readyz follows Redis stop and return', { timeout: scaled(60000) }, async () => {
  const processes = [['gateway', gateway], ['worker', worker], ['inspector', inspector]];
  await harness.stop(harness.redis);

  for (const [name, child] of processes) {
    const res = await waitReadyz(name, child.port, 503);
    assertNotReady(name, res, /redis/i);
    await assertHealthy(name, child.port);
  }

  await harness.startRedis();
  for (const [name, child] of processes) {
    await waitReadyz(name, child.port, 200);
  }
});

test('worker readyz 503 without its consumer group', { timeout: scaled(60000) }, async () => {
  // A worker blocked on the group recreates it within milliseconds, too
  // fast for a probe to see. A string in place of the (empty) work stream
  // deletes the group and makes creating it fail until the string is gone.
  const script = "redis.call('DEL', KEYS[1]); return redis.call('SET', KEYS[1], 'blocker')";
  const replaced = await redisCli(harness.redisPort, ['EVAL', script, '1', WORK_KEY]);
  assert.equal(replaced.trim(), 'OK', 'the work stream and its group were deleted');

  const res = await waitReadyz('worker', worker.port, 503, 10000);
  assertNotReady('worker', res, /consumer group/);

  // The worker retries creating the group every second.
  await redisCli(harness.redisPort, ['DEL', WORK_KEY]);
  await waitReadyz('worker', worker.port, 200, 20000);
  const groups = await redisCli(harness.redisPort, ['XINFO', 'GROUPS', WORK_KEY]);
  assert.match(groups, /hg-dispatch/, 'the group exists again');
});

test('SIGTERM during a delivery records it', { timeout: scaled(60000) }, async (t) => {
  const term = await harness.startWorker(WORKER_ENV);
  // The shared worker would take half of the work; only `term` runs now.
  await harness.stop(worker);
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'term', receiver.url('/term'), ['*']);
  const eventId = await api.publishAccepted(id, apiKey, '{"type":"term.test"}');
  await receiver.waitForRequests(1, { timeoutMs: 10000, filter: (r) => r.path === '/term' });

  const stoppedAt = Date.now();
  process.kill(term.pid, 'SIGTERM');
  await waitFor(() => !term.running, { timeoutMs: 20000, description: 'the worker to exit' });
  const stopMs = Date.now() - stoppedAt;

  assert.equal(term.exitSignal, null, 'the worker exited by itself');
  assert.equal(term.exitCode, 0, 'worker exit code');
  assert.ok(stopMs < scaled(20000), `the worker stopped in ${stopMs} ms, within the default deadline`);
  t.diagnostic(`worker stop with a delivery in flight: ${stopMs} ms`);
  // No worker runs now, so this state was recorded before the exit.
  const event = await api.getEvent(id, apiKey, eventId);
  assert.equal(event.deliveries[0].status, 'succeeded', 'delivery status after the stop');
  assert.equal(event.deliveries[0].attempt_count, 1, 'attempt count after the stop');
});

test('SIGTERM past the deadline hands work back', { timeout: scaled(60000) }, async (t) => {
  const term = await harness.startWorker({ ...WORKER_ENV, HOOKGATE_SHUTDOWN_TIMEOUT_MS: '200' });
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'handback', receiver.url('/handback'), ['*']);
  const eventId = await api.publishAccepted(id, apiKey, '{"type":"handback.test"}');
  const onPath = (r) => r.path === '/handback';
  await receiver.waitForRequests(1, { timeoutMs: 10000, filter: onPath });

  const stoppedAt = Date.now();
  process.kill(term.pid, 'SIGTERM');
  await waitFor(() => !term.running, { timeoutMs: 5000, description: 'the worker to exit' });
  const stopMs = Date.now() - stoppedAt;
  assert.equal(term.exitCode, 0, 'worker exit code');
  assert.ok(stopMs < RECEIVER_DELAY_MS, `the worker stopped in ${stopMs} ms, before the receiver answered`);
  const pending = await redisCli(harness.redisPort, ['XPENDING', WORK_KEY, 'hg-dispatch']);
  assert.match(pending, /^1\n/, `the delivery is still pending in the group: ${pending}`);
  assert.doesNotMatch(fs.readFileSync(term.logFile, 'utf8'), /retrying in \d+ ms/, 'no retry is promised on the way out');

  worker = await harness.startWorker(WORKER_ENV);
  const settled = await waitFor(
    async () => {
      const event = await api.getEvent(id, apiKey, eventId);
      return event.deliveries[0].status === 'succeeded' ? event : null;
    },
    { timeoutMs: 30000, description: 'the handed-back delivery to succeed' },
  );
  assert.equal(settled.deliveries[0].status, 'succeeded', 'the restarted worker delivered it');
  assert.ok(receiver.requests.filter(onPath).length >= 2, 'the receiver got the delivery again');
  t.diagnostic(`worker stop at a 200 ms deadline: ${stopMs} ms; delivered again ${Date.now() - stoppedAt} ms after SIGTERM`);
});

test('gateway SIGTERM completes requests in flight', { timeout: scaled(60000) }, async () => {
  const gw = await harness.startGateway();
  const client = new Api(gw.port);
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const integration = await client.createIntegration(uniqueId('drain'));
  assert.equal((await send(gw.port, 'GET', '/readyz', { agent: probeAgent })).status, 200, 'ready before');

  // With Redis paused, the publishes wait in the gateway for their writes.
  process.kill(harness.redis.pid, 'SIGSTOP');
  let results;
  try {
    const pending = [];
    for (let i = 0; i < 10; i++) {
      pending.push(client.publish(integration.id, integration.api_key, { type: 'drain.test', data: { i } }));
    }
    await sleep(300);
    process.kill(gw.pid, 'SIGTERM');
    await sleep(200);
    assert.ok(gw.running, 'the gateway waits for the requests in flight');
    const ready = await send(gw.port, 'GET', '/readyz', { agent: probeAgent });
    assertNotReady('draining gateway', ready, /^shutting down$/);
    // The keep-alive connection ends with this response, so the client's
    // next request goes elsewhere instead of meeting the exit.
    assert.equal(ready.headers.connection, 'close', 'Connection: close while draining');
    await assert.rejects(getStatus(gw.port, '/healthz'), 'a new connection is refused');
    process.kill(harness.redis.pid, 'SIGCONT');
    results = await Promise.all(pending);
  } finally {
    process.kill(harness.redis.pid, 'SIGCONT');
    probeAgent.destroy();
  }

  for (const res of results) {
    assert.equal(res.status, 202, `publish during the drain: ${res.describe()}`);
  }
  await client.close();
  await waitFor(() => !gw.running, { timeoutMs: 10000, description: 'the gateway to exit' });
  assert.equal(gw.exitSignal, null, 'the gateway exited by itself');
  assert.equal(gw.exitCode, 0, 'gateway exit code');
});

test('second SIGTERM stops the gateway at once', { timeout: scaled(30000) }, async () => {
  const gw = await harness.startGateway();
  const client = new Api(gw.port);
  const integration = await client.createIntegration(uniqueId('twice'));

  process.kill(harness.redis.pid, 'SIGSTOP');
  let publish;
  try {
    publish = client.publish(integration.id, integration.api_key, { type: 'twice.test', data: {} }).catch((err) => err);
    await sleep(300);
    process.kill(gw.pid, 'SIGTERM');
    await sleep(300);
    assert.ok(gw.running, 'after one SIGTERM the gateway waits for the publish');
    const secondAt = Date.now();
    process.kill(gw.pid, 'SIGTERM');
    await waitFor(() => !gw.running, { timeoutMs: 2000, description: 'the gateway to exit after a second SIGTERM' });
    assert.ok(Date.now() - secondAt < scaled(2000), 'the second SIGTERM ends the process at once');
  } finally {
    process.kill(harness.redis.pid, 'SIGCONT');
  }
  assert.equal(gw.exitSignal, null, 'the gateway exited by itself');
  await publish;
  await client.close();
});

test('inspector SIGTERM ends live feeds cleanly', { timeout: scaled(30000) }, async (t) => {
  const child = await startInspector();
  const feed = await new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: child.port,
        path: '/api/v1/inspector/stream',
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
        agent: false,
      },
      (res) => {
        const state = { status: res.statusCode, ended: false, aborted: false };
        res.on('data', () => {});
        res.on('end', () => {
          state.ended = true;
        });
        res.on('aborted', () => {
          state.aborted = true;
        });
        resolve(state);
      },
    );
    req.on('error', reject);
  });
  assert.equal(feed.status, 200, 'the live feed opened');

  const stoppedAt = Date.now();
  process.kill(child.pid, 'SIGTERM');
  await waitFor(() => !child.running, { timeoutMs: 10000, description: 'the inspector to exit' });
  const stopMs = Date.now() - stoppedAt;

  assert.equal(child.exitCode, 0, 'inspector exit code');
  assert.ok(stopMs < scaled(5000), `the inspector stopped in ${stopMs} ms, without waiting for the deadline`);
  await waitFor(() => feed.ended || feed.aborted, { timeoutMs: 2000, description: 'the feed response to end' });
  assert.equal(feed.aborted, false, 'the feed was not cut off');
  assert.equal(feed.ended, true, 'the feed ended with the closing chunk');
  t.diagnostic(`inspector stop with one live feed client: ${stopMs} ms`);
});

test('SIGHUP reopens the log file', { timeout: scaled(30000) }, async () => {
  const logFile = path.join(harness.dir, 'inspector-hup.log');
  const child = await startInspector({ HOOKGATE_LOG_FILE: logFile });
  assert.match(fs.readFileSync(logFile, 'utf8'), /inspector listening/, 'the first file has the start line');

  fs.renameSync(logFile, `${logFile}.1`);
  process.kill(child.pid, 'SIGHUP');
  await waitFor(() => fs.existsSync(logFile), { timeoutMs: 5000, description: 'a new log file' });
  await send(child.port, 'GET', '/healthz?after=rotation');
  await waitFor(() => /after=rotation|\/healthz/.test(fs.readFileSync(logFile, 'utf8')), {
    timeoutMs: 5000,
    description: 'the request line in the new file',
  });

  const fresh = fs.readFileSync(logFile, 'utf8');
  const rotated = fs.readFileSync(`${logFile}.1`, 'utf8');
  assert.match(fresh, /reopened the log file/, 'the new file has the reopen line');
  assert.doesNotMatch(rotated, /reopened the log file/, 'the renamed file gets no new lines');
  for (const line of fresh.trim().split('\n')) {
    assert.doesNotThrow(() => JSON.parse(line), `log line is JSON: ${line}`);
  }
  await harness.stop(child);
  assert.equal(child.exitCode, 0, 'inspector exit code');
});

test('unopenable log file stops start', { timeout: scaled(15000) }, async () => {
  const logFile = path.join(harness.dir, 'no-such-dir', 'gateway.log');
  const result = await harness.runToExit('hookgate-gateway', { HOOKGATE_LOG_FILE: logFile }, scaled(5000));
  assert.equal(result.code, 2, 'exit code');
  assert.match(result.output, /invalid HOOKGATE_LOG_FILE: cannot open .*no-such-dir\/gateway\.log: No such file/, 'message');
});

test('another secret key stops start', { timeout: scaled(30000) }, async () => {
  // The harness's gateway stored the check value with the shared key.
  assert.match(await redisCli(harness.redisPort, ['GET', 'hg:secret_key_check']), /^enc1:/, 'check value stored');
  const otherKey = 'ab'.repeat(32);
  for (const binary of ['hookgate-gateway', 'hookgate-retry', 'hookgate-inspector']) {
    const result = await harness.runToExit(
      binary,
      {
        HOOKGATE_SECRET_KEY: otherKey,
        HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${await freePort()}`,
        HOOKGATE_RETRY_ADDR: `127.0.0.1:${await freePort()}`,
        HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${await freePort()}`,
      },
      scaled(10000),
    );
    assert.equal(result.code, 1, `${binary}: exit code`);
    assert.match(result.output, /refusing to run: HOOKGATE_SECRET_KEY is not the key/, `${binary}: message`);
    assert.doesNotMatch(result.output, new RegExp(otherKey), `${binary}: the key is not logged`);
  }
});

test('wrong first key stores no check value', { timeout: scaled(30000) }, async () => {
  // Stored secrets sealed with the shared key, and no check value, as on
  // a Redis that an earlier version filled.
  await createIntegrationWithEndpoint(api, 'key-sample', 'http://127.0.0.1:9/hook');
  await redisCli(harness.redisPort, ['DEL', 'hg:secret_key_check']);
  const result = await harness.runToExit(
    'hookgate-retry',
    { HOOKGATE_SECRET_KEY: 'cd'.repeat(32), HOOKGATE_RETRY_ADDR: `127.0.0.1:${await freePort()}` },
    scaled(10000),
  );
  assert.equal(result.code, 1, 'exit code');
  assert.match(result.output, /refusing to run: HOOKGATE_SECRET_KEY is not the key/, 'message');
  assert.equal((await redisCli(harness.redisPort, ['EXISTS', 'hg:secret_key_check'])).trim(), '0', 'no check value stored');
  // A process with the right key stores it.
  const worker = await harness.startWorker(WORKER_ENV);
  await waitFor(async () => (await redisCli(harness.redisPort, ['EXISTS', 'hg:secret_key_check'])).trim() === '1', {
    timeoutMs: 10000,
    description: 'the worker with the shared key to store the check value',
  });
  await harness.stop(worker);
});

test('lost secret key can be replaced', { timeout: scaled(60000) }, async () => {
  // A Redis of its own: the other tests share the harness's key.
  const lost = new Harness('operations-rekey');
  try {
    await lost.startRedis();
    const receiver = lost.closeLater(await startReceiver(always(200)));
    const oldGateway = await lost.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
    const oldApi = lost.closeLater(new Api(oldGateway.port));
    const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(oldApi, 'rekey', receiver.url());
    await lost.stop(oldGateway);

    // The documented steps: delete the check value, start one process with
    // the new key and HOOKGATE_SECRET_KEY_RESET=1, rotate every secret.
    const newKey = 'ef'.repeat(32);
    await redisCli(lost.redisPort, ['DEL', 'hg:secret_key_check']);
    const refused = await lost.runToExit(
      'hookgate-gateway',
      { HOOKGATE_SECRET_KEY: newKey, HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${await freePort()}` },
      scaled(10000),
    );
    assert.equal(refused.code, 1, 'without the reset setting the new key is refused');
    const gateway = await lost.startGateway({
      HOOKGATE_SECRET_KEY: newKey,
      HOOKGATE_SECRET_KEY_RESET: '1',
      HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    });
    assert.match(fs.readFileSync(gateway.logFile, 'utf8'), /HOOKGATE_SECRET_KEY_RESET=1: storing the check value/, 'the warning');
    const newApi = lost.closeLater(new Api(gateway.port));
    const rotated = await newApi.request('POST', `/api/v1/integrations/${id}/endpoints/${endpoint.id}/rotate-secret`, {
      key: apiKey,
      json: { grace_period_s: 0 },
    });
    assert.equal(rotated.status, 200, `rotate: ${rotated.describe()}`);

    await lost.startWorker({ ...WORKER_ENV, HOOKGATE_SECRET_KEY: newKey });
    await newApi.publishAccepted(id, apiKey, '{"type":"rekey.after"}');
    const [request] = await receiver.waitForRequests(1, { timeoutMs: 10000 });
    assert.doesNotThrow(() => new Webhook(rotated.json().secret).verify(request.body, request.headers), 'signed with the new secret');
  } finally {
    await lost.cleanup();
  }
});

test('port in use stops each process', { timeout: scaled(30000) }, async () => {
  const occupied = net.createServer();
  await new Promise((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  const addr = `127.0.0.1:${occupied.address().port}`;
  try {
    for (const [binary, variable] of [
      ['hookgate-gateway', 'HOOKGATE_GATEWAY_ADDR'],
      ['hookgate-retry', 'HOOKGATE_RETRY_ADDR'],
      ['hookgate-inspector', 'HOOKGATE_INSPECTOR_ADDR'],
    ]) {
      const result = await harness.runToExit(binary, { [variable]: addr }, scaled(5000));
      assert.equal(result.code, 1, `${binary}: exit code`);
      assert.match(result.output, new RegExp(`cannot listen on ${addr}: address already in use`), `${binary}: message`);
    }
  } finally {
    await new Promise((resolve) => occupied.close(resolve));
  }
});

test('TLS on gateway and inspector', { timeout: scaled(60000) }, async () => {
  const tls = makeCertificate(harness.dir, 'server');
  const tlsEnv = { HOOKGATE_TLS_CERT: tls.cert, HOOKGATE_TLS_KEY: tls.key };

  const port = await freePort();
  const env = harness.serviceEnv({ HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${port}`, ...tlsEnv });
  const gw = harness.spawnLogged('gateway', harness.binary('hookgate-gateway'), [], env, port);
  await harness.waitReady(gw, async () => (await send(port, 'GET', '/readyz', { ca: tls.pem })).status === 200);

  const id = uniqueId('tls');
  const created = await send(port, 'POST', '/api/v1/integrations', {
    ca: tls.pem,
    body: { id, name: id },
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  });
  assert.equal(created.status, 201, `create over https: ${created.text}`);
  const published = await send(port, 'POST', `/api/v1/integrations/${id}/events`, {
    ca: tls.pem,
    body: { type: 'tls.test', data: {} },
    headers: { Authorization: `Bearer ${created.json.api_key}` },
  });
  assert.equal(published.status, 202, `publish over https: ${published.text}`);
  await assert.rejects(getStatus(port, '/healthz'), 'plain HTTP gets no response from a TLS listener');
  assert.equal(negotiatedProtocol(port, '-tls1_2'), 'TLSv1.2', 'TLS 1.2 handshake');
  assert.equal(negotiatedProtocol(port, '-tls1_1'), null, 'TLS 1.1 is rejected');

  const insp = await startInspector(tlsEnv, { tls: tls.pem });
  const session = await send(insp.port, 'POST', '/inspector/api/session', { ca: tls.pem, body: { key: ADMIN_KEY } });
  assert.equal(session.status, 200, `sign-in over https: ${session.text}`);
  const cookie = [].concat(session.headers['set-cookie'] || []).find((c) => c.startsWith('hg_session='));
  assert.ok(cookie, 'a session cookie is set');
  const attributes = cookie.split(';').slice(1).map((a) => a.trim());
  assert.ok(attributes.includes('Secure'), `the cookie is Secure: ${cookie}`);

  await harness.stop(insp);
  await harness.stop(gw);
  assert.equal(gw.exitCode, 0, 'TLS gateway exit code');
  assert.equal(insp.exitCode, 0, 'TLS inspector exit code');
});

test('bad TLS settings stop the process', { timeout: scaled(30000) }, async () => {
  const good = makeCertificate(harness.dir, 'good');
  const other = makeCertificate(harness.dir, 'other');
  const cases = [
    {
      label: 'missing certificate file',
      env: { HOOKGATE_TLS_CERT: path.join(harness.dir, 'absent.crt'), HOOKGATE_TLS_KEY: good.key },
      message: /invalid HOOKGATE_TLS_CERT: cannot open .*absent\.crt/,
    },
    {
      label: 'key of another certificate',
      env: { HOOKGATE_TLS_CERT: good.cert, HOOKGATE_TLS_KEY: other.key },
      message: /invalid HOOKGATE_TLS_KEY: .*other\.key does not match the certificate/,
    },
    {
      label: 'certificate given as key',
      env: { HOOKGATE_TLS_CERT: good.cert, HOOKGATE_TLS_KEY: good.cert },
      message: /invalid HOOKGATE_TLS_KEY: .* contains no PEM private key/,
    },
    {
      label: 'certificate without key',
      env: { HOOKGATE_TLS_CERT: good.cert },
      message: /HOOKGATE_TLS_KEY is missing/,
    },
  ];
  for (const { label, env, message } of cases) {
    const port = await freePort();
    const result = await harness.runToExit(
      'hookgate-gateway',
      { HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${port}`, ...env },
      scaled(5000),
    );
    assert.equal(result.code, 2, `${label}: exit code`);
    assert.match(result.output, message, `${label}: message`);
  }
});
