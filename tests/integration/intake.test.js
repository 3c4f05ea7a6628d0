'use strict';

// Intake rules of POST /events and of the management routes: media type,
// JSON grammar, event type, nesting limit, body size limit, idempotency,
// URL policy and authorization.

const assert = require('node:assert/strict');
const net = require('node:net');
const { before, describe, test } = require('node:test');
const { Webhook } = require('standardwebhooks');

const { Api, createIntegrationWithEndpoint, uniqueId } = require('./lib/api');
const { ADMIN_KEY, scaled, setupHarness, sleep } = require('./lib/harness');
const { always, startReceiver } = require('./lib/receiver');

const MAX_PAYLOAD_BYTES = 1048576;
const harness = setupHarness('intake');
let api;
let strictApi;
let receiver;
// Integration with one endpoint on the receiver, subscribed to "*".
let main;
// A second integration, for authorization across integrations.
let other;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1' });
  // Same Redis, default URL policy: private and loopback targets rejected.
  const strictGateway = await harness.startGateway();
  await harness.startWorker({ HOOKGATE_ALLOW_PRIVATE_TARGETS: '1', HOOKGATE_RETRY_SCHEDULE: '1,1' });
  api = harness.closeLater(new Api(gateway.port));
  strictApi = harness.closeLater(new Api(strictGateway.port));
  receiver = harness.closeLater(await startReceiver(always(200)));
  main = await createIntegrationWithEndpoint(api, 'intake', receiver.url(), ['*']);
  other = await createIntegrationWithEndpoint(api, 'other', receiver.url('/other'), ['*']);
});

/** Asserts a problem+json response with the given status and code. */
function assertProblem(res, status, code, what) {
  assert.equal(res.status, status, `${what}: status (${res.describe()})`);
  assert.match(
    res.headers['content-type'] || '',
    /^application\/problem\+json/,
    `${what}: content type`,
  );
  assert.equal(res.json().code, code, `${what}: problem code`);
}

function publishMain(body, headers) {
  return api.publish(main.id, main.apiKey, body, headers);
}

/** Nested arrays under a top-level object, `levels` levels in all. */
function nestedBody(levels) {
  const inner = levels - 1;
  return `{"type":"intake.deep","a":${'['.repeat(inner)}${']'.repeat(inner)}}`;
}

describe('publish intake', () => {
  test('non-JSON content type gets 415', { timeout: scaled(10000) }, async () => {
    const body = '{"type":"intake.media"}';
    const cases = [
      { 'Content-Type': 'text/plain' },
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      { 'Content-Type': 'application/jsonx' },
    ];
    for (const headers of cases) {
      const res = await publishMain(body, headers);
      assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type ${headers['Content-Type']}`);
    }
    const missing = await api.request('POST', `/api/v1/integrations/${main.id}/events`, {
      key: main.apiKey,
      body,
    });
    assertProblem(missing, 415, 'UNSUPPORTED_MEDIA_TYPE', 'no Content-Type');
  });

  test('JSON media type variants accepted', { timeout: scaled(10000) }, async () => {
    const types = ['application/json; charset=utf-8', 'Application/JSON', 'application/cloudevents+json'];
    for (const contentType of types) {
      const res = await publishMain('{"type":"intake.media"}', { 'Content-Type': contentType });
      assert.equal(res.status, 202, `Content-Type ${contentType}: ${res.describe()}`);
    }
  });

  test('malformed JSON gets 400', { timeout: scaled(10000) }, async () => {
    const cases = [
      { what: 'unterminated object', body: '{"type":"intake.bad",' },
      { what: 'trailing text', body: '{"type":"intake.bad"} trailing' },
      { what: 'single quotes', body: "{'type':'intake.bad'}" },
      { what: 'leading zero', body: '{"type":"intake.bad","n":01}' },
      {
        what: 'invalid UTF-8',
        body: Buffer.concat([Buffer.from('{"type":"intake.bad","s":"'), Buffer.from([0xff]), Buffer.from('"}')]),
      },
      { what: 'byte order mark', body: '\ufeff{"type":"intake.bad"}' },
      { what: 'empty body', body: '' },
    ];
    for (const { what, body } of cases) {
      const res = await publishMain(body);
      assertProblem(res, 400, 'MALFORMED_JSON', what);
    }
  });

  test('invalid bodies and types get 422', { timeout: scaled(10000) }, async () => {
    const cases = [
      { what: 'array body', body: '[{"type":"intake.array"}]' },
      { what: 'string body', body: '"intake.string"' },
      { what: 'no type', body: '{"id":1}' },
      { what: 'type only in a nested object', body: '{"data":{"type":"intake.nested"}}' },
      { what: 'type with a space', body: '{"type":"bad type"}' },
      { what: 'empty type', body: '{"type":""}' },
      { what: 'type of 129 characters', body: `{"type":"${'a'.repeat(129)}"}` },
      { what: 'type not a string', body: '{"type":42}' },
      { what: 'two type members', body: '{"type":"a.b","type":"a.b"}' },
      {
        what: 'header type differs from body type',
        body: '{"type":"booking.created"}',
        headers: { 'X-Event-Type': 'booking.updated' },
      },
      { what: 'invalid header type', body: '{"id":1}', headers: { 'X-Event-Type': 'bad type' } },
      { what: '513 levels deep', body: nestedBody(513) },
    ];
    for (const { what, body, headers } of cases) {
      const res = await publishMain(body, headers);
      assertProblem(res, 422, 'VALIDATION_ERROR', what);
    }
  });

  test('type from header or equal header accepted', { timeout: scaled(10000) }, async () => {
    const fromHeader = await publishMain('{"id":1}', { 'X-Event-Type': 'intake.header' });
    assert.equal(fromHeader.status, 202, `type from X-Event-Type: ${fromHeader.describe()}`);
    const headerEvent = await api.getEvent(main.id, main.apiKey, fromHeader.json().id);
    assert.equal(headerEvent.type, 'intake.header', 'type taken from X-Event-Type');

    const same = await publishMain('{"type":"intake.same"}', { 'X-Event-Type': 'intake.same' });
    assert.equal(same.status, 202, `equal header and body type: ${same.describe()}`);
  });

  test('512 levels deep accepted byte-identical', { timeout: scaled(20000) }, async () => {
    const body = nestedBody(512);
    const res = await publishMain(body);
    assert.equal(res.status, 202, `512 levels: ${res.describe()}`);
    const eventId = res.json().id;

    const [request] = await receiver.waitForRequests(1, {
      timeoutMs: 10000,
      filter: (r) => r.headers['webhook-id'] === eventId,
    });
    assert.ok(request.body.equals(Buffer.from(body)), 'delivered body is byte-identical');
  });

  test('escaped NUL and 400-digit number byte-identical', { timeout: scaled(20000) }, async () => {
    const digits = '9'.repeat(200) + '1'.repeat(200);
    const body =
      `{\n  "type" : "intake.raw",\r\n\t"nul":"a\\u0000b",\n  "big": ${digits},\n` +
      `  "exp": -0.${digits}e-99999, "surrogates":"\\ud83d\\ude00", "slash":"\\/",\n` +
      '  "utf8": "caf\u00e9 \u65e5\u672c \ud83d\ude00"  \n}\n';
    const eventId = await api.publishAccepted(main.id, main.apiKey, body);

    const stored = await api.getPayload(main.id, main.apiKey, eventId);
    assert.equal(stored.status, 200, 'payload status');
    assert.ok(stored.body.equals(Buffer.from(body)), 'stored payload is byte-identical');

    const [request] = await receiver.waitForRequests(1, {
      timeoutMs: 10000,
      filter: (r) => r.headers['webhook-id'] === eventId,
    });
    assert.ok(request.body.equals(Buffer.from(body)), 'delivered body is byte-identical');
    assert.doesNotThrow(
      () => new Webhook(main.endpoint.secret).verify(request.body, request.headers),
      'signature verifies over the raw bytes',
    );
  });

  test('body of exactly the limit accepted', { timeout: scaled(20000) }, async () => {
    const prefix = '{"type":"intake.limit","pad":"';
    const suffix = '"}';
    const body = prefix + 'x'.repeat(MAX_PAYLOAD_BYTES - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(body), MAX_PAYLOAD_BYTES, 'test body size');

    const eventId = await api.publishAccepted(main.id, main.apiKey, body);
    const [request] = await receiver.waitForRequests(1, {
      timeoutMs: 10000,
      filter: (r) => r.headers['webhook-id'] === eventId,
    });
    assert.ok(request.body.equals(Buffer.from(body)), 'delivered body is byte-identical');
  });

  test('chunked body of exactly the limit accepted', { timeout: scaled(20000) }, async () => {
    const body = bodyOfSize(MAX_PAYLOAD_BYTES);
    const res = await rawExchange(
      publishHead({ 'Transfer-Encoding': 'chunked', Connection: 'close' }),
      chunkedPieces(body),
    );
    assert.equal(res.status, 202, `status line: ${res.statusLine} (socket error: ${res.socketError})`);
    const eventId = JSON.parse(res.body).id;

    const [request] = await receiver.waitForRequests(1, {
      timeoutMs: 10000,
      filter: (r) => r.headers['webhook-id'] === eventId,
    });
    assert.ok(request.body.equals(body), 'delivered body is byte-identical to the chunked body');
  });

  test('body over the limit gets 413 and close', { timeout: scaled(15000) }, async () => {
    // The response must come before the body, so this client sends none.
    const res = await rawExchange(publishHead({ 'Content-Length': MAX_PAYLOAD_BYTES + 1 }), []);
    assert.equal(res.status, 413, `status line: ${res.statusLine}`);
    assert.match(res.headers['content-type'] || '', /^application\/problem\+json/, 'content type');
    assert.equal((res.headers.connection || '').toLowerCase(), 'close', 'Connection header');
    assert.equal(JSON.parse(res.body).code, 'PAYLOAD_TOO_LARGE', 'problem code');
    assert.ok(res.closedByServer, 'the gateway closed the connection');
  });

  test('413 reaches a client that sends the whole body', { timeout: scaled(15000) }, async () => {
    // Clients such as Python's http.client write the whole body before they
    // read. A server that closes with unread input sends a TCP reset, which
    // makes such clients fail instead of reading the 413 (RFC 9112 9.6).
    // Whether the reset wins the race varies per connection, so one test
    // makes several and requires each to end cleanly.
    const body = bodyOfSize(MAX_PAYLOAD_BYTES + 1);
    for (let round = 1; round <= 10; round++) {
      const res = await rawExchange(publishHead({ 'Content-Length': body.length }), [body]);
      assert.equal(res.status, 413, `round ${round}: status line ${res.statusLine}, socket error ${res.socketError}`);
      assert.equal(res.socketError, null, `round ${round}: the connection ended without a reset`);
    }
  });

  test('chunked body over the limit gets 413', { timeout: scaled(15000) }, async () => {
    const body = bodyOfSize(MAX_PAYLOAD_BYTES + 1);
    const res = await rawExchange(publishHead({ 'Transfer-Encoding': 'chunked' }), chunkedPieces(body));
    assert.equal(res.status, 413, `status line: ${res.statusLine} (socket error: ${res.socketError})`);
    assert.equal((res.headers.connection || '').toLowerCase(), 'close', 'Connection header');
    assert.equal(JSON.parse(res.body).code, 'PAYLOAD_TOO_LARGE', 'problem code');
  });
});

/** Builds the request head of a publish to the main integration with extra headers. */
function publishHead(extraHeaders) {
  let head =
    `POST /api/v1/integrations/${main.id}/events HTTP/1.1\r\n` +
    'Host: 127.0.0.1\r\n' +
    `Authorization: Bearer ${main.apiKey}\r\n` +
    'Content-Type: application/json\r\n';
  for (const [name, value] of Object.entries(extraHeaders)) {
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** Splits body into chunks of 64 KiB in chunked transfer coding, with the last chunk. */
function chunkedPieces(body) {
  const pieces = [];
  for (let offset = 0; offset < body.length; offset += 65536) {
    const piece = body.subarray(offset, offset + 65536);
    pieces.push(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
  }
  pieces.push(Buffer.from('0\r\n\r\n'));
  return pieces;
}

/** Builds a valid event body of exactly size bytes. */
function bodyOfSize(size) {
  const prefix = '{"type":"intake.huge","pad":"';
  const suffix = '"}';
  return Buffer.concat([
    Buffer.from(prefix),
    Buffer.alloc(size - prefix.length - suffix.length, 'x'),
    Buffer.from(suffix),
  ]);
}

/**
 * Sends head and then the pieces over a raw socket, waiting for a full
 * write buffer to drain, and reads whatever the server sends until the
 * connection ends. Returns the parsed response, whether the server closed
 * the connection, and the socket error (such as ECONNRESET) or null.
 */
function rawExchange(head, pieces) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: api.port });
    const received = [];
    let closedByServer = false;
    let socketError = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway neither responded nor closed the connection within ${scaled(10000)} ms`));
    }, scaled(10000));

    socket.on('connect', async () => {
      for (const piece of [Buffer.from(head), ...pieces]) {
        if (socket.destroyed || closedByServer) {
          return;
        }
        if (!socket.write(piece)) {
          await new Promise((resume) => {
            socket.once('drain', resume);
            socket.once('close', resume);
          });
        }
      }
    });
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    socket.on('error', (err) => {
      socketError = err.code || err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const headText = split < 0 ? text : text.slice(0, split);
      const headers = {};
      for (const line of headText.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) {
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
      }
      const statusLine = headText.split('\r\n')[0];
      const length = Number(headers['content-length'] || 0);
      resolve({
        status: split < 0 ? null : Number(statusLine.split(' ')[1]),
        statusLine: JSON.stringify(statusLine),
        headers,
        body: split < 0 ? '' : text.slice(split + 4, split + 4 + length),
        closedByServer: closedByServer || socketError !== null,
        socketError,
      });
    });
  });
}

describe('idempotency', () => {
  test('repeat with same key returns first id', { timeout: scaled(20000) }, async () => {
    const target = await createIntegrationWithEndpoint(api, 'idem', receiver.url('/idem'), ['*']);
    const body = '{"type":"intake.idem","n":1}';
    const headers = { 'Idempotency-Key': 'order-4711' };

    const first = await api.publish(target.id, target.apiKey, body, headers);
    assert.equal(first.status, 202, `first publish: ${first.describe()}`);
    const second = await api.publish(target.id, target.apiKey, body, headers);
    assert.equal(second.status, 202, `repeated publish: ${second.describe()}`);
    assert.equal(second.json().id, first.json().id, 'the repeat returns the first event id');

    await api.waitForSettled(target.id, target.apiKey, first.json().id, { timeoutMs: 10000 });
    await sleep(1500);
    const requests = receiver.requests.filter((r) => r.path === '/idem');
    assert.equal(requests.length, 1, 'one delivery for both publishes');
    assert.equal(requests[0].headers['webhook-id'], first.json().id, 'delivered event id');

    const otherKey = await api.publish(target.id, target.apiKey, body, { 'Idempotency-Key': 'order-4712' });
    assert.equal(otherKey.status, 202, `publish with another key: ${otherKey.describe()}`);
    assert.notEqual(otherKey.json().id, first.json().id, 'another key creates another event');
  });

  test('same key with another body gets 422', { timeout: scaled(10000) }, async () => {
    const headers = { 'Idempotency-Key': 'invoice-99' };
    const first = await publishMain('{"type":"intake.idem","n":1}', headers);
    assert.equal(first.status, 202, `first publish: ${first.describe()}`);
    const conflict = await publishMain('{"type":"intake.idem","n":2}', headers);
    assertProblem(conflict, 422, 'IDEMPOTENCY_KEY_REUSED', 'same key, other body');
  });

  test('concurrent repeats share one event', { timeout: scaled(20000) }, async () => {
    const target = await createIntegrationWithEndpoint(api, 'idemrace', receiver.url('/idemrace'), ['*']);
    const body = '{"type":"intake.idem","race":true}';
    const headers = { 'Idempotency-Key': 'race-1' };
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => api.publish(target.id, target.apiKey, body, headers)),
    );
    for (const res of answers) {
      assert.equal(res.status, 202, `concurrent publish: ${res.describe()}`);
    }
    const ids = new Set(answers.map((res) => res.json().id));
    assert.equal(ids.size, 1, `all answers carry one event id, got ${[...ids].join(', ')}`);
    const [eventId] = ids;
    await api.waitForSettled(target.id, target.apiKey, eventId, { timeoutMs: 10000 });
    await sleep(1000);
    assert.equal(receiver.requests.filter((r) => r.path === '/idemrace').length, 1, 'one delivery in all');
  });

  test('invalid Idempotency-Key gets 422', { timeout: scaled(10000) }, async () => {
    const res = await publishMain('{"type":"intake.idem"}', { 'Idempotency-Key': 'k'.repeat(256) });
    assertProblem(res, 422, 'VALIDATION_ERROR', 'Idempotency-Key of 256 characters');
  });

  test('empty Idempotency-Key gets 422', { timeout: scaled(10000) }, async () => {
    // An empty value usually comes from an unset variable in the client; a
    // publish without the idempotency the caller asked for could duplicate.
    const body = '{"type":"intake.idem"}';
    for (const value of ['', '   ']) {
      const res = await rawExchange(
        publishHead({ 'Idempotency-Key': value, 'Content-Length': Buffer.byteLength(body), Connection: 'close' }),
        [Buffer.from(body)],
      );
      assert.equal(res.status, 422, `Idempotency-Key ${JSON.stringify(value)}: ${res.statusLine} ${res.text}`);
    }
  });

  test('same key in another integration is independent', { timeout: scaled(10000) }, async () => {
    const headers = { 'Idempotency-Key': 'shared-key-1' };
    const body = '{"type":"intake.idem"}';
    const a = await api.publish(main.id, main.apiKey, body, headers);
    const b = await api.publish(other.id, other.apiKey, body, headers);
    assert.equal(a.status, 202, `first integration: ${a.describe()}`);
    assert.equal(b.status, 202, `second integration: ${b.describe()}`);
    assert.notEqual(a.json().id, b.json().id, 'each integration gets its own event');
  });
});

describe('management and access', () => {
  test('unknown event and delivery get 404', { timeout: scaled(10000) }, async () => {
    const base = `/api/v1/integrations/${main.id}`;
    const missingEvent = 'evt_01M00000000000000000000000';
    const missingDelivery = 'dlv_01M00000000000000000000000_0';
    const cases = [
      ['GET', `${base}/events/${missingEvent}`],
      ['GET', `${base}/events/${missingEvent}/payload`],
      ['GET', `${base}/events/not-an-id`],
      ['GET', `${base}/deliveries/${missingDelivery}`],
      ['POST', `${base}/deliveries/${missingDelivery}/redeliver`],
    ];
    for (const [method, urlPath] of cases) {
      const res = await api.request(method, urlPath, { key: main.apiKey });
      assertProblem(res, 404, 'NOT_FOUND', `${method} ${urlPath}`);
    }
  });

  test('existing integration id gets 409', { timeout: scaled(10000) }, async () => {
    const res = await api.request('POST', '/api/v1/integrations', {
      key: ADMIN_KEY,
      json: { id: main.id, name: 'Again' },
    });
    assertProblem(res, 409, 'CONFLICT', 'second create');
  });

  test('private target rejected without the flag', { timeout: scaled(10000) }, async () => {
    const id = uniqueId('strict');
    const integration = await strictApi.createIntegration(id);
    const urls = [
      'http://127.0.0.1:9/hook',
      'http://127.1.2.3/hook',
      'http://[::1]:9/hook',
      'https://[::ffff:127.0.0.1]/hook',
    ];
    for (const url of urls) {
      const res = await strictApi.request('POST', `/api/v1/integrations/${id}/endpoints`, {
        key: integration.api_key,
        json: { url, event_types: ['*'] },
      });
      assertProblem(res, 422, 'TARGET_NOT_ALLOWED', url);
    }
  });

  test('missing or unknown key gets 401', { timeout: scaled(10000) }, async () => {
    const publishPath = `/api/v1/integrations/${main.id}/events`;
    const noKey = await api.request('POST', publishPath, {
      body: '{"type":"intake.auth"}',
      headers: { 'Content-Type': 'application/json' },
    });
    assertProblem(noKey, 401, 'UNAUTHORIZED', 'publish without a key');

    const badKey = await api.request('POST', publishPath, {
      key: 'hgk_not_a_real_key_000000000000',
      body: '{"type":"intake.auth"}',
      headers: { 'Content-Type': 'application/json' },
    });
    assertProblem(badKey, 401, 'UNAUTHORIZED', 'publish with an unknown key');

    const noAdmin = await api.request('POST', '/api/v1/integrations', { json: { id: uniqueId('nokey') } });
    assertProblem(noAdmin, 401, 'UNAUTHORIZED', 'create integration without a key');
  });

  /** Publishes to the other integration and returns its event and delivery ids. */
  async function settledEventOfOther() {
    const eventId = await api.publishAccepted(other.id, other.apiKey, '{"type":"intake.private"}');
    const event = await api.waitForSettled(other.id, other.apiKey, eventId, { timeoutMs: 10000 });
    return { eventId, deliveryId: event.deliveries[0].id };
  }

  test('key of another integration gets 403', { timeout: scaled(15000) }, async () => {
    const { eventId, deliveryId } = await settledEventOfOther();
    const base = `/api/v1/integrations/${other.id}`;
    const cases = [
      ['GET', base],
      ['GET', `${base}/events/${eventId}`],
      ['GET', `${base}/events/${eventId}/payload`],
      ['GET', `${base}/deliveries/${deliveryId}`],
      ['POST', `${base}/deliveries/${deliveryId}/redeliver`],
      ['GET', `${base}/endpoints/${other.endpoint.id}`],
    ];
    for (const [method, urlPath] of cases) {
      const res = await api.request(method, urlPath, { key: main.apiKey });
      assertProblem(res, 403, 'FORBIDDEN', `${method} ${urlPath} with another integration's key`);
    }

    const publish = await api.publish(other.id, main.apiKey, '{"type":"intake.cross"}');
    assertProblem(publish, 403, 'FORBIDDEN', 'publish with another integration\'s key');

    const endpoint = await api.request('POST', `${base}/endpoints`, {
      key: main.apiKey,
      json: { url: receiver.url('/cross'), event_types: ['*'] },
    });
    assertProblem(endpoint, 403, 'FORBIDDEN', 'endpoint creation with another integration\'s key');

    const create = await api.request('POST', '/api/v1/integrations', {
      key: main.apiKey,
      json: { id: uniqueId('bykey') },
    });
    assertProblem(create, 403, 'FORBIDDEN', 'integration creation with an integration key');

    await sleep(500);
    assert.equal(receiver.requestsFor(eventId).length, 1, 'the rejected redelivery sent nothing');
  });

  test('ids of another integration get 404', { timeout: scaled(15000) }, async () => {
    const { eventId, deliveryId } = await settledEventOfOther();
    const own = `/api/v1/integrations/${main.id}`;
    const cases = [
      ['GET', `${own}/events/${eventId}`],
      ['GET', `${own}/events/${eventId}/payload`],
      ['GET', `${own}/deliveries/${deliveryId}`],
      ['POST', `${own}/deliveries/${deliveryId}/redeliver`],
      ['GET', `${own}/endpoints/${other.endpoint.id}`],
    ];
    for (const [method, urlPath] of cases) {
      const res = await api.request(method, urlPath, { key: main.apiKey });
      assertProblem(res, 404, 'NOT_FOUND', `${method} ${urlPath} naming another integration's resource`);
    }

    await sleep(500);
    assert.equal(receiver.requestsFor(eventId).length, 1, 'the rejected redelivery sent nothing');
  });
});
