'use strict';

// The example receivers of examples/receivers (C, Python and Node.js)
// against a running gateway and worker: each verifies real deliveries,
// reports a redelivery as a duplicate and rejects a delivery signed with
// another secret. Each receiver's --verify mode is also run on the Standard
// Webhooks test vector and on the usual mistakes.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, uniqueId } = require('./lib/api');
const { BUILD_DIR, REPO_ROOT, freePort, getStatus, scaled, setupHarness, waitFor } = require('./lib/harness');

const harness = setupHarness('receivers');
let api;

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples', 'receivers');
const C_RECEIVER = path.join(BUILD_DIR, 'examples', 'receivers', 'c', 'hookgate-receiver-example');

// How each example receiver is started; the port and mode options follow.
const RECEIVERS = {
  c: { file: C_RECEIVER, args: [] },
  python: { file: 'python3', args: [path.join(EXAMPLES_DIR, 'python', 'receiver.py')] },
  node: { file: process.execPath, args: [path.join(EXAMPLES_DIR, 'node', 'receiver.js')] },
};
const LANGUAGES = Object.keys(RECEIVERS);

const WORKER_ENV = {
  HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
  // One retry after about a second, so a rejected delivery ends dead within
  // a few seconds.
  HOOKGATE_RETRY_SCHEDULE: '1',
};

// The Standard Webhooks test vector (the specification's examples and its
// reference libraries use it).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: '1614265330',
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const NO_MATCH = 'no signature in webhook-signature matches: check the secret and that the body is verified exactly as received';

// Bodies published as raw bytes: odd spacing, escapes, raw UTF-8 and a
// number no double can hold, so a receiver that re-serialised the body
// would fail to verify.
const EVENT_BODIES = [
  '{"type":"booking.created","booking_id":"bk_1"}',
  '{ "type" : "booking.updated",\n  "price": 12345678901234567890.500, "guest": "Zo\\u00eb \u00e9 \ud83d\ude00", "tags": [ ] }',
  '{"type":"booking.cancelled","note":"line\\nbreak \\"quoted\\" \\/ slash","n":-0.0e+0}',
];

/** Returns a new endpoint secret: "whsec_" and base64 of 32 random bytes. */
function newSecret() {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

/** Signs like hookgate: v1 and the base64 HMAC-SHA256 of "id.timestamp.body". */
function sign(key, id, timestamp, body) {
  const mac = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`);
  return `v1,${mac.digest('base64')}`;
}

/**
 * Starts an example receiver with the given secret on a free port and waits
 * until it answers (405 to a GET). The harness stops it by PID.
 */
async function startExample(language, secret) {
  const { file, args } = RECEIVERS[language];
  if (language === 'c' && !fs.existsSync(file)) {
    throw new Error(`${file} not found: build hookgate first or set HOOKGATE_BUILD_DIR`);
  }
  const port = await freePort();
  const env = { ...process.env, WEBHOOK_SECRET: secret };
  const child = harness.spawnLogged(`receiver-${language}`, file, [...args, '--port', String(port)], env, port);
  await harness.waitReady(child, async () => (await getStatus(port, '/')) === 405);
  return child;
}

/** Returns the output lines a receiver wrote so far (stdout and stderr). */
function outputLines(child) {
  return fs.readFileSync(child.logFile, 'utf8').split('\n');
}

/** Waits until the receiver wrote exactly `line`, and returns it. */
function waitForLine(child, line) {
  return waitFor(() => outputLines(child).includes(line), {
    timeoutMs: 10000,
    intervalMs: 50,
    description: `"${line}" in the output of ${child.name} (${child.logFile})`,
  });
}

/** Runs a receiver's --verify mode and returns { status, output }. */
function runVerify(language, { secret, id, timestamp, signature, body, now, extra = [] }) {
  const { file, args } = RECEIVERS[language];
  const options = ['--verify', '--id', id, '--timestamp', timestamp, '--signature', signature, ...extra];
  if (now !== undefined) {
    options.push('--now', String(now));
  }
  const result = spawnSync(file, [...args, ...options], {
    input: body,
    env: { ...process.env, WEBHOOK_SECRET: secret },
    timeout: scaled(10000),
    encoding: 'utf8',
  });
  // A receiver that rejects its secret exits before it reads the body, so
  // writing the body can fail with EPIPE while the exit status is valid.
  if (result.error && !(result.error.code === 'EPIPE' && result.status !== null)) {
    throw result.error;
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

// Every receiver process, by role and language.
const valid = {};
const wrong = {};
let integration;
const endpointLanguage = new Map();

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  await harness.startWorker(WORKER_ENV);
  api = harness.closeLater(new Api(gateway.port));

  const id = uniqueId('receivers');
  const created = await api.createIntegration(id, 'Example receivers');
  integration = { id, apiKey: created.api_key, secrets: {} };
  for (const language of LANGUAGES) {
    const secret = newSecret();
    valid[language] = await startExample(language, secret);
    // booking.* reaches every receiver, <language>.* only this one.
    const endpoint = await api.createEndpoint(id, integration.apiKey, {
      url: `${valid[language].url}/webhooks`,
      event_types: ['booking.*', `${language}.*`],
      secret,
      description: `${language} example receiver`,
    });
    assert.equal(endpoint.secret, secret, 'the endpoint keeps the supplied secret');
    integration.secrets[language] = secret;
    endpointLanguage.set(endpoint.id, language);

    // A receiver started with another secret than its endpoint's, which
    // is the valid receiver's.
    wrong[language] = await startExample(language, newSecret());
    await api.createEndpoint(id, integration.apiKey, {
      url: `${wrong[language].url}/webhooks`,
      event_types: [`wrong.${language}`],
      secret,
    });
  }
});

after(async () => {
  for (const child of [...Object.values(valid), ...Object.values(wrong)]) {
    await harness.stop(child);
  }
});

for (const language of LANGUAGES) {
  test(`${language} verify: test vector`, { timeout: scaled(20000) }, () => {
    const result = runVerify(language, { ...VECTOR, now: VECTOR.timestamp });
    assert.equal(result.output, 'verified', 'output for the test vector');
    assert.equal(result.status, 0, 'exit status for the test vector');
  });

  test(`${language} verify: rejected cases`, { timeout: scaled(30000) }, () => {
    const key = Buffer.from(VECTOR.secret.slice('whsec_'.length), 'base64');
    const ts = Number(VECTOR.timestamp);
    const cases = [
      {
        name: 'body re-serialised',
        change: { body: JSON.stringify(JSON.parse(VECTOR.body)) },
        output: `rejected: ${NO_MATCH}`,
      },
      {
        name: 'other secret',
        change: { secret: newSecret() },
        output: `rejected: ${NO_MATCH}`,
      },
      {
        name: 'whole whsec_ string as key',
        change: { signature: sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body) },
        output: `rejected: ${NO_MATCH}`,
      },
      {
        name: 'other id',
        change: { id: 'msg_other' },
        output: `rejected: ${NO_MATCH}`,
      },
      {
        name: 'timestamp too old',
        change: { now: ts + 301 },
        output: "rejected: webhook-timestamp is too old: more than the tolerance before this receiver's clock",
      },
      {
        name: 'timestamp too new',
        change: { now: ts - 301 },
        output: "rejected: webhook-timestamp is too new: more than the tolerance after this receiver's clock",
      },
      {
        name: 'timestamp not canonical',
        change: { timestamp: `0${VECTOR.timestamp}` },
        output: 'rejected: invalid webhook-timestamp: expected Unix time in seconds',
      },
      {
        name: 'timestamp in milliseconds',
        change: { timestamp: `${VECTOR.timestamp}000` },
        output: "rejected: webhook-timestamp is too new: more than the tolerance after this receiver's clock",
      },
      {
        name: 'signature missing',
        change: { signature: '' },
        output: 'rejected: missing webhook-signature header',
      },
      {
        name: 'id missing',
        change: { id: '' },
        output: 'rejected: missing webhook-id header',
      },
      {
        name: 'unknown version only',
        change: { signature: 'v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
        output: 'rejected: webhook-signature contains no v1 signature',
      },
      {
        name: 'rotation, second matches',
        change: { signature: `${sign(crypto.randomBytes(32), VECTOR.id, VECTOR.timestamp, VECTOR.body)} ${VECTOR.signature}` },
        output: 'verified',
      },
      {
        name: 'rotation, first matches',
        change: { signature: `${VECTOR.signature} v1,${crypto.randomBytes(32).toString('base64')}` },
        output: 'verified',
      },
      {
        name: 'unknown version before v1',
        change: { signature: `v2,abc ${VECTOR.signature}` },
        output: 'verified',
      },
      {
        name: 'edge of tolerance',
        change: { now: ts + 300 },
        output: 'verified',
      },
      {
        name: 'own key signs',
        change: { signature: sign(key, VECTOR.id, VECTOR.timestamp, VECTOR.body) },
        output: 'verified',
      },
    ];
    for (const c of cases) {
      const result = runVerify(language, { ...VECTOR, now: ts, ...c.change });
      assert.equal(result.output, c.output, `output for "${c.name}"`);
      assert.equal(result.status, c.output === 'verified' ? 0 : 1, `exit status for "${c.name}"`);
    }
  });

  test(`${language} verify: invalid tolerance`, { timeout: scaled(20000) }, () => {
    for (const tolerance of ['-5', '86401']) {
      const result = runVerify(language, { ...VECTOR, now: VECTOR.timestamp, extra: ['--tolerance', tolerance] });
      assert.equal(result.status, 2, `exit status for --tolerance ${tolerance}: ${result.output}`);
      assert.match(result.output, /--tolerance/, `message for --tolerance ${tolerance}`);
    }
  });

  test(`${language} verify: invalid secret`, { timeout: scaled(20000) }, () => {
    const cases = [
      { secret: VECTOR.secret.slice('whsec_'.length), reason: 'the secret must start with "whsec_"' },
      { secret: 'whsec_not*base64', reason: 'the part after "whsec_" is not valid padded base64' },
      { secret: `whsec_${crypto.randomBytes(12).toString('base64')}`, reason: 'the secret must encode 24 to 64 bytes' },
    ];
    for (const c of cases) {
      const result = runVerify(language, { ...VECTOR, secret: c.secret, now: VECTOR.timestamp });
      assert.match(result.output, /invalid WEBHOOK_SECRET: /, `message for ${c.secret}`);
      assert.ok(result.output.endsWith(c.reason), `reason for ${c.secret}: ${result.output}`);
      assert.equal(result.status, 2, `exit status for ${c.secret}`);
    }
  });
}

test('receivers verify deliveries', { timeout: scaled(60000) }, async () => {
  const { id, apiKey } = integration;
  const eventIds = [];
  for (const body of EVENT_BODIES) {
    eventIds.push(await api.publishAccepted(id, apiKey, body));
  }

  for (const [index, eventId] of eventIds.entries()) {
    const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
    assert.equal(event.deliveries.length, LANGUAGES.length, `event ${index} reaches every receiver`);
    for (const summary of event.deliveries) {
      const language = endpointLanguage.get(summary.endpoint_id);
      const label = `event ${index} at the ${language} receiver`;
      assert.ok(language, `${label}: delivery to a known endpoint`);
      assert.equal(summary.status, 'succeeded', `${label}: delivery status`);

      const delivery = await api.getDelivery(id, apiKey, summary.id);
      assert.equal(delivery.attempts.length, 1, `${label}: attempt count`);
      const attempt = delivery.attempts[0];
      assert.equal(attempt.http_status, 204, `${label}: attempt status`);
      assert.equal(attempt.error_class, null, `${label}: attempt error class`);
      assert.equal(attempt.request_headers['webhook-id'], eventId, `${label}: webhook-id`);

      await waitForLine(valid[language], `${eventId} verified`);
    }
  }
});

for (const language of LANGUAGES) {
  test(`${language} receiver reports duplicate`, { timeout: scaled(30000) }, async () => {
    const { id, apiKey } = integration;
    const eventId = await api.publishAccepted(id, apiKey, { type: `${language}.redelivered`, n: 1 });
    const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 15000 });
    assert.equal(event.deliveries.length, 1, 'only this receiver subscribes');
    const deliveryId = event.deliveries[0].id;
    await waitForLine(valid[language], `${eventId} verified`);

    const res = await api.redeliver(id, apiKey, deliveryId);
    assert.equal(res.status, 202, `redeliver response: ${res.describe()}`);
    const delivery = await waitFor(
      async () => {
        const d = await api.getDelivery(id, apiKey, deliveryId);
        return d.attempts.length >= 2 ? d : null;
      },
      { timeoutMs: 15000, intervalMs: 100, description: `a second attempt of ${deliveryId}` },
    );
    assert.equal(delivery.attempts[1].http_status, 204, 'redelivered attempt status');
    assert.equal(delivery.attempts[1].manual, true, 'redelivered attempt is manual');
    assert.equal(delivery.attempts[1].request_headers['webhook-id'], eventId, 'redelivery keeps the webhook-id');
    await waitForLine(valid[language], `${eventId} verified, duplicate ignored`);
  });

  test(`${language} receiver rejects wrong secret`, { timeout: scaled(30000) }, async () => {
    const { id, apiKey } = integration;
    const body = `{"type":"wrong.${language}","booking_id":"bk_2"}`;
    const eventId = await api.publishAccepted(id, apiKey, body);
    const event = await api.waitForSettled(id, apiKey, eventId, { timeoutMs: 20000 });
    assert.equal(event.deliveries.length, 1, 'only the wrong-secret receiver subscribes');
    assert.equal(event.deliveries[0].status, 'dead', 'delivery status after every attempt failed');

    const delivery = await api.getDelivery(id, apiKey, event.deliveries[0].id);
    assert.equal(delivery.reason, 'attempts_exhausted', 'dead reason');
    assert.equal(delivery.attempts.length, 2, 'attempts with a schedule of one retry');
    for (const attempt of delivery.attempts) {
      assert.equal(attempt.http_status, 400, `attempt ${attempt.attempt} status`);
      assert.equal(attempt.error_class, 'http_status', `attempt ${attempt.attempt} error class`);
      assert.equal(attempt.response_body, `${NO_MATCH}\n`, `attempt ${attempt.attempt} response body`);
      assert.match(attempt.response_headers['content-type'], /^text\/plain/, `attempt ${attempt.attempt} content type`);
    }

    // hookgate signed correctly: the endpoint's own secret verifies the
    // recorded request, so the receiver's secret is what differs.
    const headers = delivery.attempts[0].request_headers;
    assert.doesNotThrow(
      () => new Webhook(integration.secrets[language]).verify(body, headers),
      'the recorded request verifies with the endpoint secret',
    );

    await waitForLine(wrong[language], `${eventId} rejected: ${NO_MATCH}`);
    const lines = outputLines(wrong[language]).filter((l) => l.startsWith(`${eventId} `));
    assert.equal(lines.length, 2, 'one output line per attempt');
  });
}
