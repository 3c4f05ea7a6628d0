'use strict';

// The delivery engine when Redis misbehaves: killed while deliveries are in
// flight, its consumer group destroyed, stalled or killed right after a
// receiver responded with 2xx, and configured without durability.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint } = require('./lib/api');
const {
  countLogLines,
  processCpuMs,
  redisCommand,
  redisCommandCalls,
  startExtraRedis,
  startRedisMonitor,
  waitForAllSettled,
} = require('./lib/flow');
const { freePort, getReady, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { always, sequence, startReceiver } = require('./lib/receiver');

const harness = setupHarness('engine-redis');
let api;
let gateway;

const WORK_STREAM = 'hg:{wq0}:work';
const DISPATCH_GROUP = 'hg-dispatch';
// A short visibility timeout lets a worker take over, within the test, a
// work entry whose XREADGROUP reply was lost when Redis died.
const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  HOOKGATE_RETRY_SCHEDULE: '1,1,1',
  HOOKGATE_DELIVERY_TIMEOUT_MS: '3000',
  HOOKGATE_VISIBILITY_TIMEOUT_MS: '8500',
};

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  api = harness.closeLater(new Api(gateway.port));
});

async function receiverWith(script) {
  return harness.closeLater(await startReceiver(script));
}

async function stopWorkers(workers) {
  for (const worker of workers) {
    await harness.stop(worker);
  }
}

/** Waits until the gateway and every worker report ready again. */
async function waitAllReady(workers) {
  for (const child of [gateway, ...workers]) {
    await waitFor(async () => (await getReady(child.port)) === 200, {
      timeoutMs: 20000,
      description: `${child.name} (pid ${child.pid}) to reconnect to Redis`,
    });
  }
}

/** Starts Redis again if a failed test left it stopped, for the tests after it. */
async function ensureRedisRunning() {
  if (!harness.redis.running) {
    await harness.startRedis();
  }
}

function assertRunning(children) {
  for (const child of children) {
    assert.ok(child.running, `${child.name} (pid ${child.pid}) still runs; exit ${child.exitSignal || child.exitCode}`);
  }
}

/** Publishes count events and returns their ids. */
async function publishMany(id, apiKey, label, count) {
  const eventIds = [];
  for (let i = 0; i < count; i++) {
    eventIds.push(await api.publishAccepted(id, apiKey, `{"type":"${label}.test","n":${i}}`));
  }
  return eventIds;
}

test('Redis killed during delivery loses nothing', { timeout: scaled(90000) }, async (t) => {
  const EVENTS = 8;
  const receiver = await receiverWith(always(200, 1000));
  const workers = [await harness.startWorker(WORKER_ENV), await harness.startWorker(WORKER_ENV)];
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'rkill', receiver.url());
    const eventIds = await publishMany(id, apiKey, 'rkill', EVENTS);

    await receiver.waitForRequests(EVENTS / 2, { timeoutMs: 10000 });
    await harness.kill9(harness.redis);
    const inFlight = receiver.requests.filter((r) => r.answeredAt === null).length;
    assert.ok(inFlight > 0, 'deliveries were in flight when Redis died');
    // The receiver responds to the requests in flight while Redis is away.
    await sleep(1500);
    await harness.startRedis();
    await waitAllReady(workers);

    const events = await waitForAllSettled(api, id, apiKey, eventIds, { timeoutMs: 40000 });
    await sleep(1000);
    for (const event of events) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id}: delivery status`);
    }
    const counts = eventIds.map((eventId) => receiver.requestsFor(eventId).length);
    t.diagnostic(`requests per event after the Redis kill: ${counts.join(', ')}`);
    for (const [i, eventId] of eventIds.entries()) {
      assert.ok(counts[i] >= 1, `event ${eventId} accepted with 202 was delivered`);
      assert.ok(counts[i] <= 2, `event ${eventId} was sent ${counts[i]} times, expected at most 2`);
    }

    const after = await api.publishAccepted(id, apiKey, '{"type":"rkill.after"}');
    const afterEvent = await api.waitForSettled(id, apiKey, after, { timeoutMs: 15000 });
    assert.equal(afterEvent.deliveries[0].status, 'succeeded', 'an event published after the restart is delivered');
    assertRunning([gateway, ...workers]);
  } finally {
    await stopWorkers(workers);
    await ensureRedisRunning();
  }
});

test('destroyed consumer group is recreated', { timeout: scaled(60000) }, async (t) => {
  const SLOW_MS = 1500;
  const receiver = await receiverWith((index, record) => ({
    status: 200,
    delayMs: record.body.includes('group.slow') ? SLOW_MS : 0,
  }));
  const workers = [await harness.startWorker(WORKER_ENV), await harness.startWorker(WORKER_ENV)];
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'group', receiver.url());
    const warm = await api.publishAccepted(id, apiKey, '{"type":"group.before"}');
    await api.waitForSettled(id, apiKey, warm, { timeoutMs: 10000 });

    const keys = await redisCommand(harness.redisPort, ['KEYS', 'hg:*work*']);
    assert.ok(keys.includes(WORK_STREAM), `the work stream is ${WORK_STREAM}; keys: ${keys.join(', ')}`);
    const readyLine = `consumer group ${DISPATCH_GROUP} ready`;
    for (const worker of workers) {
      assert.equal(countLogLines(worker.logFile, readyLine), 1, `worker pid ${worker.pid} created the group once at start`);
    }

    const destroyed = await redisCommand(harness.redisPort, ['XGROUP', 'DESTROY', WORK_STREAM, DISPATCH_GROUP]);
    assert.equal(destroyed, 1, 'XGROUP DESTROY removed the group');
    for (const worker of workers) {
      await waitFor(() => countLogLines(worker.logFile, readyLine) >= 2, {
        timeoutMs: 10000,
        description: `worker pid ${worker.pid} to log "${readyLine}" again`,
      });
    }

    const WINDOW_MS = 2000;
    const callsBefore = await redisCommandCalls(harness.redisPort);
    const cpuBefore = workers.map((w) => processCpuMs(w.pid));
    await sleep(WINDOW_MS);
    const callsAfter = await redisCommandCalls(harness.redisPort);
    const cpuAfter = workers.map((w) => processCpuMs(w.pid));
    const delta = (name) => (callsAfter[name] || 0) - (callsBefore[name] || 0);
    const reads = delta('xreadgroup');
    const creates = delta('xgroup|create');
    t.diagnostic(
      `over ${WINDOW_MS} ms after the group came back: ${reads} XREADGROUP, ${creates} XGROUP CREATE, ` +
        `worker CPU ${cpuAfter.map((c, i) => c - cpuBefore[i]).join(' and ')} ms`,
    );
    // Each idle worker blocks up to 1 s per read, so two workers need about
    // 4 reads in 2 s, and a loop would make thousands.
    assert.ok(reads <= 20, `${reads} XREADGROUP calls in ${WINDOW_MS} ms, expected a few`);
    assert.ok(creates <= 4, `${creates} XGROUP CREATE calls in ${WINDOW_MS} ms after the group was recreated`);
    for (const [i, worker] of workers.entries()) {
      const cpuMs = cpuAfter[i] - cpuBefore[i];
      assert.ok(cpuMs < scaled(300), `worker pid ${worker.pid} used ${cpuMs} ms of CPU in ${WINDOW_MS} ms while idle`);
    }

    const groups = await redisCommand(harness.redisPort, ['XINFO', 'GROUPS', WORK_STREAM]);
    assert.equal(groups.length, 1, 'one consumer group on the work stream');
    const eventIds = await publishMany(id, apiKey, 'group', 5);
    const events = await waitForAllSettled(api, id, apiKey, eventIds, { timeoutMs: 15000 });
    await sleep(1000);
    for (const event of events) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id} published after the group came back`);
      assert.equal(receiver.requestsFor(event.id).length, 1, `event ${event.id} arrived once`);
    }

    // Entries still in the stream come back to the new group from id 0, so
    // deliveries in flight during the loss may go out twice, but no more.
    const slowIds = [];
    for (let i = 0; i < 4; i++) {
      slowIds.push(await api.publishAccepted(id, apiKey, `{"type":"group.slow","n":${i}}`));
    }
    await waitFor(() => slowIds.every((eventId) => receiver.requestsFor(eventId).length > 0), {
      timeoutMs: 10000,
      description: 'the slow deliveries to be in flight',
    });
    await redisCommand(harness.redisPort, ['XGROUP', 'DESTROY', WORK_STREAM, DISPATCH_GROUP]);
    const slowEvents = await waitForAllSettled(api, id, apiKey, slowIds, { timeoutMs: 20000 });
    await sleep(SLOW_MS + 1000);
    const counts = slowIds.map((eventId) => receiver.requestsFor(eventId).length);
    t.diagnostic(`requests per delivery in flight while the group was destroyed: ${counts.join(', ')}`);
    for (const [i, event] of slowEvents.entries()) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id} in flight during the loss: status`);
      assert.ok(counts[i] <= 2, `event ${event.id} in flight during the loss was sent ${counts[i]} times, expected at most 2`);
    }
    assertRunning(workers);
  } finally {
    await stopWorkers(workers);
  }
});

test('full Redis gets 503 with Retry-After', { timeout: scaled(30000) }, async () => {
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'oom', 'http://127.0.0.1:9/hook');
  const inspector = await harness.startInspector({}, { gatewayPort: gateway.port });
  const insp = harness.closeLater(new Api(inspector.port));
  const limit = await redisCommand(harness.redisPort, ['CONFIG', 'GET', 'maxmemory']);
  await redisCommand(harness.redisPort, ['CONFIG', 'SET', 'maxmemory', '1']);
  try {
    const res = await api.publish(id, apiKey, '{"type":"oom.checked"}');
    assert.equal(res.status, 503, res.describe());
    assert.equal(res.json().code, 'UNAVAILABLE', 'code');
    assert.match(res.json().detail, /out of memory/, 'detail');
    assert.equal(res.headers['retry-after'], '1', 'Retry-After');
    // The inspector hands out no cookie for a session it could not store.
    const signIn = await insp.request('POST', '/inspector/api/session', { json: { key: apiKey } });
    assert.equal(signIn.status, 503, signIn.describe());
    assert.equal(signIn.headers['set-cookie'], undefined, 'no session cookie');
  } finally {
    await redisCommand(harness.redisPort, ['CONFIG', 'SET', 'maxmemory', limit[1]]);
  }
  const events = await api.request('GET', `/api/v1/integrations/${id}/events`, { key: apiKey });
  assert.deepEqual(events.json().data, [], 'nothing was stored');
  await api.publishAccepted(id, apiKey, '{"type":"oom.checked"}');
});

test('malformed schedule entry stops no retry', { timeout: scaled(60000) }, async () => {
  const receiver = await receiverWith(sequence([500, 200]));
  const workers = [await harness.startWorker(WORKER_ENV)];
  try {
    // Due long ago, so it sorts before every real retry.
    await redisCommand(harness.redisPort, ['ZADD', 'hg:{wq0}:sched', '0', 'garbage']);
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'sched-garbage', receiver.url());
    const eventId = await api.publishAccepted(id, apiKey, '{"type":"sched.garbage"}');
    const [event] = await waitForAllSettled(api, id, apiKey, [eventId], { timeoutMs: 20000 });
    assert.equal(event.deliveries[0].status, 'succeeded', 'the retry after the failure was made');
    assert.equal(receiver.requestsFor(eventId).length, 2, 'one failure and one retry');
    assert.equal(await redisCommand(harness.redisPort, ['ZSCORE', 'hg:{wq0}:sched', 'garbage']), null, 'the entry is gone');
    assert.equal(countLogLines(workers[0].logFile, 'dropped 1 malformed retry schedule entries'), 1, 'the drop is logged');
    assertRunning(workers);
  } finally {
    await stopWorkers(workers);
  }
});

test('Redis stall after 2xx records once', { timeout: scaled(60000) }, async (t) => {
  const STALL_MS = 2500;
  // The script keeps the single thread of Redis busy, so commands sent
  // meanwhile wait. It only reads TIME, and Redis 7 logs a script to the AOF
  // by its writes, so the AOF does not change.
  const stallScript =
    'local start = redis.call("TIME") ' +
    'while true do local now = redis.call("TIME") ' +
    'if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) >= tonumber(ARGV[1]) * 1000 then return 1 end end';
  let stall = null;
  const receiver = await receiverWith((index) => {
    if (index === 0) {
      stall = redisCommand(harness.redisPort, ['EVAL', stallScript, '0', String(STALL_MS)], STALL_MS + 10000);
    }
    // The response comes once the stall has begun, so recording it waits.
    return { status: 200, delayMs: 300 };
  });
  // The record command times out after 1 s and is sent again. The first
  // copy still runs when the stall ends.
  const worker = await harness.startWorker({ ...WORKER_ENV, HOOKGATE_REDIS_TIMEOUT_MS: '1000' });
  let monitor = null;
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'stall', receiver.url());
    monitor = await startRedisMonitor(harness.redisPort);
    const eventId = await api.publishAccepted(id, apiKey, '{"type":"stall.test"}');
    await receiver.waitForRequests(1, { timeoutMs: 10000 });
    assert.equal(await stall, 1, 'the stall script ran to its end');

    const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
    await sleep(1500);
    const delivery = event.deliveries[0];
    assert.equal(delivery.status, 'succeeded', 'delivery status');
    assert.equal(receiver.requestsFor(eventId).length, 1, 'the receiver got the event once');
    assert.equal(delivery.attempt_count, 1, 'attempt count');
    const detail = await api.getDelivery(id, apiKey, delivery.id);
    assert.equal(detail.attempts.length, 1, 'one attempt recorded');
    assert.equal(detail.attempts[0].http_status, 200, 'recorded http_status');

    // Every run of the record script for this delivery carries one attempt id.
    const isRecordRun = (line) => /"EVALSHA"/i.test(line) && line.includes(delivery.id) && /"att_/.test(line);
    const recordRuns = monitor.lines.filter(isRecordRun);
    const attemptIds = new Set(recordRuns.map((line) => /"(att_[0-9A-Za-z]+)/.exec(line)[1]));
    t.diagnostic(`record script ran ${recordRuns.length} time(s) for the delivery, with attempt ids ${[...attemptIds].join(', ')}`);
    assert.ok(recordRuns.length >= 1, 'MONITOR saw the record script run');
    assert.equal(attemptIds.size, 1, 'every run of the record script used the same attempt id');
    assert.ok(
      countLogLines(worker.logFile, 'Redis step of a delivery failed; retrying') >= 1,
      'the worker logged the failed record step and retried it',
    );
    assertRunning([gateway, worker]);
  } finally {
    if (monitor) {
      monitor.close();
    }
    await harness.stop(worker);
  }
});

test('no resend loop after Redis kill', { timeout: scaled(60000) }, async (t) => {
  let killed = null;
  const receiver = await receiverWith((index) => {
    if (index === 0) {
      killed = harness.kill9(harness.redis);
    }
    return { status: 200, delayMs: 300 };
  });
  const worker = await harness.startWorker(WORKER_ENV);
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'kill2xx', receiver.url());
    const eventId = await api.publishAccepted(id, apiKey, '{"type":"kill2xx.test"}');
    await receiver.waitForRequests(1, { timeoutMs: 10000 });
    await killed;
    await waitFor(() => receiver.requests[0].answeredAt !== null, { timeoutMs: 5000, description: 'the 200 response' });
    // The worker keeps the response and retries recording it meanwhile.
    await sleep(2000);
    await harness.startRedis();
    await waitAllReady([worker]);

    const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
    await sleep(1500);
    const sent = receiver.requestsFor(eventId).length;
    t.diagnostic(`the receiver got the event ${sent} time(s)`);
    assert.ok(sent <= 2, `the receiver got the event ${sent} times, expected at most 2`);
    assert.equal(receiver.requests.length, sent, 'no other request arrived');
    const delivery = event.deliveries[0];
    assert.equal(delivery.status, 'succeeded', 'delivery status');
    assert.equal(delivery.attempt_count, sent, 'one attempt recorded per request sent');
    assertRunning([gateway, worker]);
  } finally {
    await harness.stop(worker);
    await ensureRedisRunning();
  }
});

// ---- durability check at start --------------------------------------------

/** Environment that points a service at another Redis. */
function redisEnv(redisPort, extra = {}) {
  return { HOOKGATE_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`, ...extra };
}

async function assertExitsOnUnsafeRedis(binary, redisPort, setting) {
  // Free ports keep the services off their default addresses.
  const env = redisEnv(redisPort, {
    HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${await freePort()}`,
    HOOKGATE_RETRY_ADDR: `127.0.0.1:${await freePort()}`,
  });
  const result = await harness.runToExit(binary, env, scaled(10000));
  assert.equal(result.code, 1, `${binary} exit code with ${setting}; output:\n${result.output.slice(-1500)}`);
  const line = result.output.split('\n').find((l) => l.includes('refusing to run'));
  assert.ok(line, `${binary} logged why it refused to run with ${setting}; output:\n${result.output.slice(-1500)}`);
  assert.ok(line.includes(setting.split(' ')[0]), `${binary} names ${setting} in: ${line}`);
  assert.ok(line.includes('HOOKGATE_ALLOW_UNSAFE_REDIS'), `${binary} names HOOKGATE_ALLOW_UNSAFE_REDIS in: ${line}`);
}

test('readyz names the Redis connection error', { timeout: scaled(60000) }, async () => {
  const locked = await startExtraRedis(harness, 'locked', ['--appendonly', 'yes']);
  await redisCommand(locked.port, ['CONFIG', 'SET', 'requirepass', 'the-right-one']);
  const cases = [
    ['no password', `redis://127.0.0.1:${locked.port}/0`, /requires a password: add it to HOOKGATE_REDIS_URL/],
    ['wrong password', `redis://:the-wrong-one@127.0.0.1:${locked.port}/0`, /WRONGPASS/],
  ];
  for (const [label, url, reason] of cases) {
    const port = await freePort();
    const env = harness.serviceEnv({ HOOKGATE_REDIS_URL: url, HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${port}` });
    const gw = harness.spawnLogged(`gateway-${label.replace(' ', '-')}`, harness.binary('hookgate-gateway'), [], env, port);
    try {
      const body = await waitFor(
        async () => {
          const res = await new Api(port).request('GET', '/readyz');
          return res.status === 503 && reason.test(res.json().reason || '') ? res.json() : null;
        },
        { timeoutMs: 15000, intervalMs: 250, description: `${label}: /readyz to name the error` },
      );
      assert.doesNotMatch(JSON.stringify(body), /the-wrong-one|the-right-one/, `${label}: no password in the reason`);
      assert.doesNotMatch(fs.readFileSync(gw.logFile, 'utf8'), /the-wrong-one|the-right-one/, `${label}: no password in the log`);
    } finally {
      await harness.stop(gw);
    }
  }
});

test('unsafe Redis configuration rejected at start', { timeout: scaled(60000) }, async () => {
  const unsafe = await startExtraRedis(harness, 'unsafe', ['--appendonly', 'no']);
  try {
    for (const binary of ['hookgate-retry', 'hookgate-gateway']) {
      await assertExitsOnUnsafeRedis(binary, unsafe.port, 'appendonly no');
    }

    await redisCommand(unsafe.port, ['CONFIG', 'SET', 'appendonly', 'yes']);
    await redisCommand(unsafe.port, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
    for (const binary of ['hookgate-retry', 'hookgate-gateway']) {
      await assertExitsOnUnsafeRedis(binary, unsafe.port, 'maxmemory-policy allkeys-lru');
    }

    await redisCommand(unsafe.port, ['CONFIG', 'SET', 'appendonly', 'no']);
    const allowed = { HOOKGATE_ALLOW_UNSAFE_REDIS: '1', HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' };
    const worker = await harness.startWorker(redisEnv(unsafe.port, allowed));
    const unsafeGateway = await harness.startGateway(redisEnv(unsafe.port, allowed));
    try {
      for (const child of [worker, unsafeGateway]) {
        await waitFor(() => countLogLines(child.logFile, 'running anyway (HOOKGATE_ALLOW_UNSAFE_REDIS=1)') >= 1, {
          timeoutMs: 5000,
          description: `${child.name} (pid ${child.pid}) to log its warning about the unsafe Redis`,
        });
        const warning = fs
          .readFileSync(child.logFile, 'utf8')
          .split('\n')
          .find((l) => l.includes('running anyway'));
        assert.match(warning, /"level":"warn/, `${child.name} logs the risk as a warning: ${warning}`);
        assert.match(warning, /appendonly/, `${child.name} warning names the setting: ${warning}`);
      }
      assertRunning([worker, unsafeGateway]);
    } finally {
      await harness.stop(unsafeGateway);
      await harness.stop(worker);
    }
  } finally {
    await harness.stop(unsafe);
  }
});

test('work stream keeps entries in flight', { timeout: scaled(120000) }, async (t) => {
  // The slow responses must outlast publishing and delivering the fast
  // events, under the sanitizers too.
  const SLOW_MS = scaled(10000);
  const FAST = 400;
  const receiver = await receiverWith((index, record) => ({
    status: 200,
    delayMs: record.body.includes('trim.slow') ? SLOW_MS : 0,
  }));
  const worker = await harness.startWorker({
    ...WORKER_ENV,
    HOOKGATE_DELIVERY_TIMEOUT_MS: String(SLOW_MS * 2),
    HOOKGATE_VISIBILITY_TIMEOUT_MS: String(SLOW_MS * 2 + 10000),
  });
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'trim', receiver.url());
    const slowIds = await publishMany(id, apiKey, 'trim.slow', 3);
    await waitFor(() => slowIds.every((eventId) => receiver.requestsFor(eventId).length > 0), {
      timeoutMs: scaled(10000),
      description: 'the slow deliveries to be in flight',
    });
    const pending = await redisCommand(harness.redisPort, ['XPENDING', WORK_STREAM, DISPATCH_GROUP, '-', '+', '10']);
    assert.equal(pending.length, 3, `three entries in flight: ${JSON.stringify(pending)}`);

    // Later entries are acknowledged while the oldest ones are still in
    // flight, so every scheduler round tries to trim past them.
    const fastIds = await publishMany(id, apiKey, 'trim.fast', FAST);
    await waitFor(() => fastIds.every((eventId) => receiver.requestsFor(eventId).length > 0), {
      timeoutMs: scaled(30000),
      description: `the ${FAST} fast deliveries to arrive`,
    });
    await sleep(500);
    assert.ok(
      slowIds.every((eventId) => receiver.requestsFor(eventId).every((r) => r.answeredAt === null)),
      'the slow deliveries were still in flight after the fast ones arrived',
    );
    for (const [entryId] of pending) {
      const entry = await redisCommand(harness.redisPort, ['XRANGE', WORK_STREAM, entryId, entryId]);
      assert.equal(entry.length, 1, `work entry ${entryId} in flight is still in the stream`);
    }

    const events = await waitForAllSettled(api, id, apiKey, [...slowIds, ...fastIds], { timeoutMs: scaled(30000) });
    for (const event of events) {
      assert.equal(event.deliveries[0].status, 'succeeded', `event ${event.id}: delivery status`);
      assert.equal(receiver.requestsFor(event.id).length, 1, `event ${event.id} arrived once`);
    }
    // Trimming drops whole stream nodes (100 entries each by default), so
    // at most the newest node stays.
    const length = await waitFor(
      async () => {
        const n = await redisCommand(harness.redisPort, ['XLEN', WORK_STREAM]);
        return n <= 100 ? n : null;
      },
      { timeoutMs: scaled(10000), description: 'the acknowledged work entries to be trimmed' },
    );
    t.diagnostic(`work stream length after ${FAST + 3} deliveries: ${length}`);
    const left = await redisCommand(harness.redisPort, ['XPENDING', WORK_STREAM, DISPATCH_GROUP]);
    assert.equal(left[0], 0, 'nothing left unacknowledged');
    assertRunning([gateway, worker]);
  } finally {
    await harness.stop(worker);
  }
});

test('recreated group sends nothing twice', { timeout: scaled(60000) }, async (t) => {
  const receiver = await receiverWith((index, record) => ({
    status: record.body.includes('regroup.fail') ? 500 : 200,
  }));
  // The retry of the failing delivery falls due long after the test ends.
  const worker = await harness.startWorker({ ...WORKER_ENV, HOOKGATE_RETRY_SCHEDULE: '300,300' });
  const readyLine = `consumer group ${DISPATCH_GROUP} ready`;
  try {
    const { id, apiKey } = await createIntegrationWithEndpoint(api, 'regroup', receiver.url());
    const okId = await api.publishAccepted(id, apiKey, '{"type":"regroup.ok"}');
    const failId = await api.publishAccepted(id, apiKey, '{"type":"regroup.fail"}');
    const ok = await api.waitForSettled(id, apiKey, okId, { timeoutMs: scaled(10000) });
    assert.equal(ok.deliveries[0].status, 'succeeded', 'the first delivery succeeded');
    await waitFor(() => receiver.requestsFor(failId).length === 1, {
      timeoutMs: scaled(10000),
      description: 'the failing delivery to be attempted once',
    });
    const res = await api.redeliver(id, apiKey, ok.deliveries[0].id);
    assert.equal(res.status, 202, `redeliver status: ${res.describe()}`);
    await waitFor(() => receiver.requestsFor(okId).length === 2, {
      timeoutMs: scaled(10000),
      description: 'the manual redelivery to arrive',
    });
    await sleep(500);

    const before = countLogLines(worker.logFile, readyLine);
    await redisCommand(harness.redisPort, ['XGROUP', 'DESTROY', WORK_STREAM, DISPATCH_GROUP]);
    await waitFor(() => countLogLines(worker.logFile, readyLine) > before, {
      timeoutMs: scaled(10000),
      description: 'the worker to create the group again',
    });
    // The new group reads the stream from the start.
    await sleep(2000);
    const counts = [receiver.requestsFor(okId).length, receiver.requestsFor(failId).length];
    t.diagnostic(`requests after the group came back: redelivered ${counts[0]}, failing ${counts[1]}`);
    assert.equal(counts[0], 2, 'the manual redelivery was not sent again');
    assert.equal(counts[1], 1, 'the failing delivery waited for its retry');
    assertRunning([gateway, worker]);
  } finally {
    await harness.stop(worker);
  }
});

const JOBS_STREAM = 'hg:{jobs}:queue';
const WORKERS_KEY = 'hg:{status}:workers';
const JOBS_GROUP = 'hg-jobs';

/** Returns the names of a group's consumers. */
async function consumerNames(stream = WORK_STREAM, group = DISPATCH_GROUP) {
  const consumers = await redisCommand(harness.redisPort, ['XINFO', 'CONSUMERS', stream, group]);
  return consumers.map((fields) => fields[fields.indexOf('name') + 1]);
}

/** Creates a consumer group unless it exists. */
async function ensureGroup(stream, group) {
  try {
    await redisCommand(harness.redisPort, ['XGROUP', 'CREATE', stream, group, '$', 'MKSTREAM']);
  } catch (err) {
    assert.match(err.message, /BUSYGROUP/, `group ${group} on ${stream}`);
  }
}

// Each worker reads as the consumer "<host>:<pid>" in the dispatch and the
// jobs group, so restarts leave consumers behind. A worker deletes those
// that own no pending entry, were served nothing for a visibility timeout
// and send no heartbeat. One that still owns an entry stays until a live
// worker has claimed it, and an idle one with a heartbeat stays too.
test('consumers of gone workers deleted', { timeout: scaled(60000) }, async () => {
  const receiver = await receiverWith(always(200));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'prune', receiver.url());
  await ensureGroup(WORK_STREAM, DISPATCH_GROUP);
  await ensureGroup(JOBS_STREAM, JOBS_GROUP);

  // Consumers of gone workers: idle ones in both groups, and below one that
  // still owns the entry it read.
  await redisCommand(harness.redisPort, ['XGROUP', 'CREATECONSUMER', WORK_STREAM, DISPATCH_GROUP, 'gone:1']);
  await redisCommand(harness.redisPort, ['XGROUP', 'CREATECONSUMER', JOBS_STREAM, JOBS_GROUP, 'gone:3']);

  // Another worker that is alive but was served nothing for a while.
  await redisCommand(harness.redisPort, ['XGROUP', 'CREATECONSUMER', WORK_STREAM, DISPATCH_GROUP, 'alive:1']);
  const beat = () => redisCommand(harness.redisPort, ['ZADD', WORKERS_KEY, String(Date.now()), 'alive:1']);
  await beat();

  const eventId = await api.publishAccepted(id, apiKey, '{"type":"prune.test"}');
  // A worker that died after reading the entry: it stays pending on gone:2.
  await redisCommand(harness.redisPort, [
    'XREADGROUP', 'GROUP', DISPATCH_GROUP, 'gone:2', 'COUNT', '100', 'STREAMS', WORK_STREAM, '>',
  ]);

  const worker = await harness.startWorker(WORKER_ENV);
  try {
    const early = await consumerNames();
    assert.ok(early.includes('gone:1'), `a consumer idle for less than the visibility timeout stays: ${early}`);
    assert.ok(early.includes('gone:2'), `a consumer with a pending entry stays: ${early}`);
    assert.ok((await consumerNames(JOBS_STREAM, JOBS_GROUP)).includes('gone:3'), 'the idle jobs consumer stays at first');

    await waitFor(async () => {
      await beat();
      const names = await consumerNames();
      const jobs = await consumerNames(JOBS_STREAM, JOBS_GROUP);
      return !names.includes('gone:1') && !names.includes('gone:2') && !jobs.includes('gone:3');
    }, { timeoutMs: scaled(40000), description: 'the consumers of gone workers to be deleted' });
    assert.ok((await consumerNames()).includes('alive:1'), 'the idle consumer with a heartbeat stays');

    await waitFor(() => receiver.requestsFor(eventId).length >= 1, {
      timeoutMs: scaled(10000),
      description: 'the entry of the gone worker to be delivered',
    });
    await sleep(500);
    assert.equal(receiver.requestsFor(eventId).length, 1, 'the claimed entry was delivered once');
    const names = await consumerNames();
    assert.ok(names.some((name) => name.endsWith(`:${worker.pid}`)), `the live worker's consumer stays: ${names}`);
    assertRunning([gateway, worker]);
  } finally {
    await harness.stop(worker);
    await redisCommand(harness.redisPort, ['ZREM', WORKERS_KEY, 'alive:1']);
    await redisCommand(harness.redisPort, ['XGROUP', 'DELCONSUMER', WORK_STREAM, DISPATCH_GROUP, 'alive:1']);
  }
});
