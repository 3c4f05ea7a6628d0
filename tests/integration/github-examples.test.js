'use strict';

// Real webhook payloads: every api.github.com example of
// @octokit/webhooks-examples, pretty-printed, published with its GitHub
// event name as X-Event-Type, must arrive byte-identical and correctly
// signed.

const assert = require('node:assert/strict');
const { before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');
const examples = require('@octokit/webhooks-examples/api.github.com/index.json');

const { Api, createIntegrationWithEndpoint } = require('./lib/api');
const { scaled, setupHarness, sleep } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const CONCURRENCY = 16;
// The number of api.github.com examples in @octokit/webhooks-examples 7.6.1.
const EXPECTED_EXAMPLES = 329;

const harness = setupHarness('github-examples');
let api;
let receiver;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_RETRY_SCHEDULE: '1,1' });
  api = harness.closeLater(new Api(gateway.port));
  receiver = harness.closeLater(await startReceiver(always(200)));
});

/** Runs worker(item) for all items with at most `limit` at a time. */
async function mapLimited(items, limit, worker) {
  const results = new Array(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

test('github examples delivered byte-identical', { timeout: scaled(120000) }, async () => {
  const cases = [];
  for (const group of examples) {
    for (const [i, example] of group.examples.entries()) {
      cases.push({ name: `${group.name}[${i}]`, type: group.name, body: JSON.stringify(example, null, 2) });
    }
  }
  assert.equal(cases.length, EXPECTED_EXAMPLES, 'number of example payloads in the package');

  const { id, apiKey, endpoint } = await createIntegrationWithEndpoint(api, 'github', receiver.url(), ['*']);
  const rejected = [];
  const eventIds = await mapLimited(cases, CONCURRENCY, async (c) => {
    const res = await api.publish(id, apiKey, c.body, { 'X-Event-Type': c.type });
    if (res.status !== 202) {
      rejected.push(`${c.name}: ${res.describe()}`);
      return null;
    }
    return res.json().id;
  });
  const published = eventIds.filter(Boolean).length;

  // Wait for the deliveries, then give late duplicates a moment to arrive.
  const deadline = Date.now() + scaled(60000);
  const expectedIds = new Set(eventIds.filter(Boolean));
  while (Date.now() < deadline) {
    const seen = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
    if ([...expectedIds].every((eventId) => seen.has(eventId))) {
      break;
    }
    await sleep(200);
  }
  await sleep(1000);

  const wh = new Webhook(endpoint.secret);
  let delivered = 0;
  let verified = 0;
  const problems = [];
  for (const [index, c] of cases.entries()) {
    const eventId = eventIds[index];
    if (!eventId) {
      continue;
    }
    const requests = receiver.requestsFor(eventId);
    if (requests.length === 0) {
      problems.push(`${c.name} (${eventId}): not delivered`);
      continue;
    }
    delivered++;
    if (requests.length > 1) {
      problems.push(`${c.name} (${eventId}): delivered ${requests.length} times`);
    }
    const request = requests[0];
    if (!request.body.equals(Buffer.from(c.body))) {
      problems.push(`${c.name} (${eventId}): delivered body differs from the published body`);
      continue;
    }
    try {
      wh.verify(request.body, request.headers);
      verified++;
    } catch (err) {
      problems.push(`${c.name} (${eventId}): signature does not verify: ${err.message}`);
    }
  }

  console.log(`published ${published}, delivered ${delivered}, verified ${verified}`);
  for (const line of [...rejected, ...problems].slice(0, 20)) {
    console.log(`  ${line}`);
  }
  assert.deepEqual(rejected, [], 'every example was accepted with 202');
  assert.equal(published, cases.length, 'published count');
  assert.equal(delivered, cases.length, 'delivered count');
  assert.equal(verified, cases.length, 'verified count (byte-identical body and valid signature)');
  assert.deepEqual(problems, [], 'no delivery problem');
});
