'use strict';

// Work queue split into shards (HOOKGATE_WORK_SHARDS=4 in every process):
// integrations land on different shards, and first attempts, scheduled
// retries and manual redeliveries must all be picked up from each shard.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint } = require('./lib/api');
const { redisCli, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { startReceiver } = require('./lib/receiver');

const SHARDS = '4';
const INTEGRATIONS = 8;

const harness = setupHarness('shards');
let api;
let receiver;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_WORK_SHARDS: SHARDS });
  await harness.startWorker({
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_WORK_SHARDS: SHARDS,
    HOOKGATE_RETRY_SCHEDULE: '1,1',
  });
  api = harness.closeLater(new Api(gateway.port));
  // The first request for each event fails, so every delivery needs a
  // scheduled retry from its own shard.
  const seen = new Set();
  receiver = harness.closeLater(
    await startReceiver((index, request) => {
      const id = request.headers['webhook-id'];
      const first = !seen.has(id);
      seen.add(id);
      return { status: first ? 500 : 200 };
    }),
  );
});

/**
 * Polls the event of every target until all deliveries are succeeded or
 * dead, or until timeoutMs passed, and returns the last events read, so
 * that the caller can report each unfinished one.
 */
async function latestWhenSettled(targets, timeoutMs) {
  const deadline = Date.now() + scaled(timeoutMs);
  const events = new Map();
  for (;;) {
    for (const target of targets) {
      events.set(target, await api.getEvent(target.id, target.apiKey, target.eventId));
    }
    const settled = [...events.values()].every((event) =>
      event.deliveries.every((d) => d.status === 'succeeded' || d.status === 'dead'),
    );
    if (settled || Date.now() >= deadline) {
      return events;
    }
    await sleep(250);
  }
}

test('retries and redeliveries on every shard', { timeout: scaled(60000) }, async () => {
  const targets = [];
  for (let i = 0; i < INTEGRATIONS; i++) {
    targets.push(await createIntegrationWithEndpoint(api, `shard${i}`, receiver.url(`/shard${i}`), ['*']));
  }
  // Publishing all at once makes the retries fall due together, so the
  // scheduler moves entries of several shards in the same millisecond. Such
  // entries get equal stream ids (ms-0) in their different streams.
  await Promise.all(
    targets.map(async (target, i) => {
      target.eventId = await api.publishAccepted(target.id, target.apiKey, `{"type":"shard.test","n":${i}}`);
    }),
  );

  const events = await latestWhenSettled(targets, 20000);
  for (const target of targets) {
    const delivery = events.get(target).deliveries[0];
    const state = `${delivery.status} after ${delivery.attempt_count} attempt(s)`;
    assert.equal(delivery.status, 'succeeded', `${target.id} (shard work entry of ${target.eventId}): ${state}`);
    assert.equal(delivery.attempt_count, 2, `${target.id}: one failure, then one retry; got ${state}`);
    target.deliveryId = delivery.id;
  }

  for (const target of targets) {
    const res = await api.redeliver(target.id, target.apiKey, target.deliveryId);
    assert.equal(res.status, 202, `${target.id}: redeliver status (${res.describe()})`);
  }
  for (const target of targets) {
    await waitFor(
      () => receiver.requestsFor(target.eventId).length >= 3,
      { timeoutMs: 10000, description: `the redelivery of ${target.eventId}` },
    );
    assert.equal(receiver.requestsFor(target.eventId).length, 3, `${target.id}: requests at the receiver`);
  }
});

test('another shard count refuses to run', { timeout: scaled(30000) }, async () => {
  assert.equal((await redisCli(harness.redisPort, ['GET', 'hg:work_shards'])).trim(), SHARDS, 'the count is stored');
  for (const binary of ['hookgate-gateway', 'hookgate-retry']) {
    const result = await harness.runToExit(binary, { HOOKGATE_WORK_SHARDS: '1' }, scaled(10000));
    assert.equal(result.code, 1, `${binary}: exit code; output: ${result.output}`);
    assert.match(result.output, /HOOKGATE_WORK_SHARDS is 1, but the processes on this Redis use 4/, `${binary}: message`);
  }
});
