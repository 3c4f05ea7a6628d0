'use strict';

// Hostile HTTP input against the shared server layer: pipelined requests,
// unknown methods, NUL bytes in the request line and headers, malformed
// framing, the inspector's sign-in body rules and the Cache-Control of JSON
// responses. Every case writes raw bytes to a socket and waits a bounded
// time, so a server that hangs fails the test instead of stalling it. Runs
// a private redis-server, hookgate-gateway and hookgate-inspector on
// 127.0.0.1.

const assert = require('node:assert/strict');
const net = require('node:net');
const { before, test } = require('node:test');

const { ADMIN_KEY, getStatus, scaled, setupHarness } = require('./lib/harness');
const { parseResponses, problemOf } = require('./lib/rawhttp');

const harness = setupHarness('http-hostile');
// How long a case waits for the server to respond and, where expected, to
// close the connection.
const WAIT_MS = scaled(3000);

let gateway;
let inspector;

async function startInspector() {
  return harness.startInspector({}, { gatewayPort: gateway.port });
}

/**
 * Writes data in one write and collects what comes back until the server
 * closes the connection, `expected` responses arrived, or WAIT_MS passed.
 * Returns { responses, closed, raw }.
 */
function exchange(port, data, { expected = Infinity } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    let done = false;
    const finish = (closed) => {
      if (done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses: parseResponses(raw), closed, raw });
    };
    const timer = setTimeout(() => finish(false), WAIT_MS);
    socket.on('data', (chunk) => {
      raw += chunk.toString('latin1');
      if (parseResponses(raw).length >= expected) {
        finish(false);
      }
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(Buffer.from(data, 'latin1'));
  });
}

function get(urlPath, extraHeaders = '') {
  return `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}\r\n`;
}

function post(urlPath, contentType, body) {
  return (
    `POST ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n\r\n${body}`
  );
}

before(async () => {
  await harness.startRedis();
  gateway = await harness.startGateway();
  inspector = await startInspector();
});

for (const name of ['gateway', 'inspector']) {
  test(`${name} answers three pipelined requests`, async () => {
    const port = name === 'gateway' ? gateway.port : inspector.port;
    const started = Date.now();
    const out = await exchange(port, get('/healthz').repeat(3), { expected: 3 });
    assert.equal(out.responses.length, 3, `responses: ${JSON.stringify(out.raw)}`);
    for (const response of out.responses) {
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), { status: 'ok' });
    }
    assert.ok(Date.now() - started < WAIT_MS, 'the answers came before the wait ran out');
  });
}

test('pipelined requests keep their order', async () => {
  const data =
    get('/healthz') +
    get('/no-such-route') +
    get('/api/v1/integrations', `Authorization: Bearer ${ADMIN_KEY}\r\n`) +
    get('/healthz', 'Connection: close\r\n');
  const out = await exchange(gateway.port, data, { expected: 4 });
  assert.deepEqual(
    out.responses.map((r) => r.status),
    [200, 404, 200, 200],
  );
});

test('request after Connection close is not served', async () => {
  const data = get('/healthz', 'Connection: close\r\n') + get('/healthz');
  const out = await exchange(gateway.port, data);
  assert.equal(out.closed, true);
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 200);
});

test('unknown method gets a readable 405', async () => {
  const out = await exchange(gateway.port, `FOO /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, {
    expected: 1,
  });
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  const response = out.responses[0];
  assert.equal(response.status, 405);
  assert.equal(response.headers.allow, 'GET, HEAD');
  const problem = problemOf(response);
  assert.equal(problem.code, 'METHOD_NOT_ALLOWED');
  assert.doesNotMatch(problem.detail, /null/);
  assert.match(problem.detail, /^this method is not allowed on \/healthz/);
});

test('extra slash gets a 404 with a hint', async () => {
  for (const [target, meant] of [
    ['/api/v1/integrations/acme/events/', '/api/v1/integrations/acme/events'],
    ['/api/v1//integrations', '/api/v1/integrations'],
  ]) {
    const out = await exchange(gateway.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, {
      expected: 1,
    });
    const response = out.responses[0];
    assert.equal(response.status, 404, `${target}: status`);
    assert.ok(problemOf(response).detail.endsWith(`did you mean ${meant} (without the extra slash)?`), `${target}: ${problemOf(response).detail}`);
  }
  const out = await exchange(gateway.port, 'GET /nothing/here/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', {
    expected: 1,
  });
  assert.equal(problemOf(out.responses[0]).detail, 'no route matches /nothing/here/', 'no hint without a similar route');
});

test('publish to the inspector points to the gateway', async () => {
  const out = await exchange(
    inspector.port,
    'POST /api/v1/integrations/acme/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    { expected: 1 },
  );
  const response = out.responses[0];
  assert.equal(response.status, 405, 'status');
  assert.equal(response.headers.allow, 'GET, HEAD', 'Allow');
  assert.match(problemOf(response).detail, /publish events .* at the gateway \(HOOKGATE_GATEWAY_ADDR\)/, 'the detail names the gateway');
});

test('NUL in bearer token is rejected at the gateway', async () => {
  const route = '/api/v1/integrations';
  const clean = await exchange(gateway.port, get(route, `Authorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n`), {
    expected: 1,
  });
  assert.equal(clean.responses[0].status, 200);

  const out = await exchange(
    gateway.port,
    get(route, `Authorization: Bearer ${ADMIN_KEY}\0junk\r\nConnection: close\r\n`),
    { expected: 1 },
  );
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 400);
  assert.equal(problemOf(out.responses[0]).code, 'BAD_REQUEST');
});

test('NUL in bearer token is rejected at the inspector', async () => {
  const route = '/inspector/api/session';
  const clean = await exchange(inspector.port, get(route, `Authorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n`), {
    expected: 1,
  });
  assert.equal(clean.responses[0].status, 200);

  const out = await exchange(
    inspector.port,
    get(route, `Authorization: Bearer ${ADMIN_KEY}\0junk\r\nConnection: close\r\n`),
    { expected: 1 },
  );
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 400);
  assert.equal(problemOf(out.responses[0]).code, 'BAD_REQUEST');
});

test('NUL in request target is rejected', async () => {
  const out = await exchange(inspector.port, get('/sink/sand\0box', 'Connection: close\r\n'), { expected: 1 });
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 400);
  assert.match(problemOf(out.responses[0]).detail, /NUL/);
});

test('NUL after a clean pipelined request is rejected', async () => {
  const data = get('/healthz') + get('/healthz', 'X-Note: a\0b\r\n');
  const out = await exchange(gateway.port, data, { expected: 2 });
  assert.deepEqual(
    out.responses.map((r) => r.status),
    [200, 400],
  );
});

test('NUL in a request split across writes is rejected', async () => {
  const socket = net.connect(gateway.port, '127.0.0.1');
  let raw = '';
  socket.on('data', (chunk) => {
    raw += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await new Promise((resolve) => socket.on('connect', resolve));
  const parts = ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a', '\0b\r\n', 'Connection: close\r\n\r\n'];
  for (const part of parts) {
    socket.write(Buffer.from(part, 'latin1'));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const timer = setTimeout(() => socket.destroy(), WAIT_MS);
  await closed;
  clearTimeout(timer);
  const responses = parseResponses(raw);
  assert.equal(responses.length, 1, `raw: ${JSON.stringify(raw)}`);
  assert.equal(responses[0].status, 400);
});

test('NUL in a body is not a head error', async () => {
  const body = 'a\0b';
  const out = await exchange(gateway.port, post('/healthz', 'application/octet-stream', body), { expected: 1 });
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 405);
});

// Malformed requests that libevhtp's parser rejects without calling any
// hook: the connection gets a 400 problem and closes promptly. Each case
// still checks that the server serves the next connection.
const PARSER_REJECTS = {
  'bad chunk size':
    'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  'bare LF line ends': 'GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n',
  'negative Content-Length': 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n',
  'lower-case method': 'get /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
};

for (const [name, data] of Object.entries(PARSER_REJECTS)) {
  test(`${name} gets 400 and a close`, async () => {
    const started = Date.now();
    const out = await exchange(gateway.port, data);
    assert.equal(out.closed, true, `raw: ${JSON.stringify(out.raw)}`);
    assert.ok(Date.now() - started < WAIT_MS);
    assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
    assert.equal(out.responses[0].status, 400);
    assert.equal(out.responses[0].headers.connection, 'close');
    assert.equal(problemOf(out.responses[0]).code, 'BAD_REQUEST');
    assert.equal(await getStatus(gateway.port, '/healthz'), 200);
  });
}

// Trailer fields after a chunked body: libevhtp would then never process
// the next request on the connection, so the request gets 400 and a close.
test('chunked trailer gets 400 and a close', async () => {
  for (const [name, port] of [['gateway', gateway.port], ['inspector', inspector.port]]) {
    const out = await exchange(
      port,
      'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n' +
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    assert.equal(out.responses.length, 1, `${name}: raw ${JSON.stringify(out.raw)}`);
    assert.equal(out.responses[0].status, 400, `${name}: status`);
    assert.match(problemOf(out.responses[0]).detail, /trailer fields/, `${name}: detail`);
    assert.equal(out.closed, true, `${name}: connection closed`);
  }
  // Without a trailer, the next request on the connection gets its response.
  const plain = await exchange(
    gateway.port,
    'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
  );
  assert.deepEqual(plain.responses.map((r) => r.status), [405, 200], `raw ${JSON.stringify(plain.raw)}`);
});

// Framings that libevhtp would read differently from a proxy in front:
// it reads no body for any Transfer-Encoding but exactly "chunked", and a
// space before the colon hides a Content-Length. Each request carries a
// second, smuggled request in what a proxy would call its body. The server
// must respond to the first with 400 and close, and never serve the second.
const SMUGGLED = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const SMUGGLING = {
  'Transfer-Encoding gzip': `Transfer-Encoding: gzip\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding gzip, chunked': `Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding chunked, chunked': `Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding CHUNKED': `Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'two Transfer-Encoding headers': `Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'space before the colon of Content-Length': `Content-Length : ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  'space before the colon of Transfer-Encoding': `Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding folded onto a second line': `Transfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Content-Length folded into another header': `X-Note: a\r\n\tContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
};

for (const [label, rest] of Object.entries(SMUGGLING)) {
  test(`${label} is not smuggled`, async () => {
    for (const [name, port] of [['gateway', gateway.port], ['inspector', inspector.port]]) {
      const out = await exchange(port, `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${rest}`);
      assert.equal(out.responses.length, 1, `${name}: raw ${JSON.stringify(out.raw)}`);
      assert.equal(out.responses[0].status, 400, `${name}: status`);
      assert.equal(problemOf(out.responses[0]).code, 'BAD_REQUEST', `${name}: code`);
      assert.equal(out.closed, true, `${name}: connection closed`);
    }
  });
}

test('folded header line gets 400', async () => {
  // RFC 9112 lets a server reject obsolete line folding or replace it with
  // spaces. hookgate rejects it, so no header depends on how a proxy in
  // front unfolded it.
  for (const [name, port] of [['gateway', gateway.port], ['inspector', inspector.port]]) {
    for (const fold of [' ', '\t']) {
      const out = await exchange(port, get('/healthz', `X-Note: first\r\n${fold}second\r\n`));
      const label = `${name}, ${JSON.stringify(fold)}`;
      assert.equal(out.responses.length, 1, `${label}: raw ${JSON.stringify(out.raw)}`);
      assert.equal(out.responses[0].status, 400, `${label}: status`);
      assert.match(problemOf(out.responses[0]).detail, /fold/, `${label}: detail`);
      assert.equal(out.closed, true, `${label}: connection closed`);
    }
  }
  assert.equal(await getStatus(gateway.port, '/healthz'), 200);
});

test('Transfer-Encoding Chunked is read as chunked', async () => {
  // libevhtp reads "Chunked" as chunked too, so it is accepted, and the
  // request after its body is an ordinary pipelined request.
  const out = await exchange(
    gateway.port,
    `POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    { expected: 2 },
  );
  assert.deepEqual(out.responses.map((r) => r.status), [405, 200], `raw: ${JSON.stringify(out.raw)}`);
});

test('HTTP/0.9 request gets 400', async () => {
  const out = await exchange(gateway.port, 'GET /healthz\r\n\r\n');
  assert.equal(out.closed, true);
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 400);
  assert.match(problemOf(out.responses[0]).detail, /HTTP\/0\.9/);
});

test('HTTP/2.0 and HTTP/9.9 heads get 400', async () => {
  for (const version of ['2.0', '9.9']) {
    const out = await exchange(gateway.port, `GET /healthz HTTP/${version}\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.equal(out.closed, true, `HTTP/${version}: closed, raw ${JSON.stringify(out.raw)}`);
    assert.equal(out.responses.length, 1, `HTTP/${version}: raw ${JSON.stringify(out.raw)}`);
    assert.equal(out.responses[0].status, 400, `HTTP/${version}: status`);
    assert.match(problemOf(out.responses[0]).detail, /HTTP\/1\.1/, `HTTP/${version}: detail`);
  }
});

test('CONNECT gets 400 and a close', async () => {
  const data = 'CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n' + get('/healthz');
  const out = await exchange(gateway.port, data);
  assert.equal(out.closed, true);
  assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw)}`);
  assert.equal(out.responses[0].status, 400);
  assert.equal(out.responses[0].headers.connection, 'close');
});

test('oversized URL and header get 414 and 431', async () => {
  const longUrl = get(`/healthz?${'a'.repeat(16 * 1024)}`, 'Connection: close\r\n');
  const longHeader = get('/healthz', `X-Big: ${'b'.repeat(100 * 1024)}\r\nConnection: close\r\n`);
  for (const [data, status, code] of [
    [longUrl, 414, 'URI_TOO_LONG'],
    [longHeader, 431, 'HEADERS_TOO_LARGE'],
  ]) {
    const started = Date.now();
    const out = await exchange(gateway.port, data);
    assert.equal(out.closed, true);
    assert.ok(Date.now() - started < WAIT_MS);
    assert.equal(out.responses.length, 1, `raw: ${JSON.stringify(out.raw.slice(0, 300))}`);
    assert.equal(out.responses[0].status, status);
    assert.equal(problemOf(out.responses[0]).code, code);
  }
  assert.equal(await getStatus(gateway.port, '/healthz'), 200);
});

test('sign-in rejects a non-JSON Content-Type', async () => {
  const body = JSON.stringify({ key: ADMIN_KEY });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
    const out = await exchange(inspector.port, post('/inspector/api/session', type, body), { expected: 1 });
    assert.equal(out.responses[0].status, 415, type);
    assert.equal(problemOf(out.responses[0]).code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(out.responses[0].headers['set-cookie'], undefined);
  }
  const ok = await exchange(
    inspector.port,
    post('/inspector/api/session', 'application/json; charset=utf-8', body),
    { expected: 1 },
  );
  assert.equal(ok.responses[0].status, 200);
  assert.match(ok.responses[0].headers['set-cookie'], /^hgs?_?|=/);
});

test('sign-in rejects a duplicate key member', async () => {
  const body = `{"key": "not-a-key", "key": "${ADMIN_KEY}"}`;
  const out = await exchange(inspector.port, post('/inspector/api/session', 'application/json', body), {
    expected: 1,
  });
  assert.equal(out.responses[0].status, 400);
  const problem = problemOf(out.responses[0]);
  assert.equal(problem.code, 'MALFORMED_JSON');
  assert.ok(!problem.detail.includes(ADMIN_KEY));
  assert.equal(out.responses[0].headers['set-cookie'], undefined);
});

test('JSON responses carry Cache-Control no-store', async () => {
  const cases = [
    [gateway.port, get('/healthz', 'Connection: close\r\n'), 200],
    [gateway.port, get('/no-such-route', 'Connection: close\r\n'), 404],
    [gateway.port, get('/api/v1/integrations', 'Connection: close\r\n'), 401],
    [inspector.port, get('/inspector/api/session', `Authorization: Bearer ${ADMIN_KEY}\r\nConnection: close\r\n`), 200],
    [inspector.port, post('/inspector/api/session', 'text/plain', '{}'), 415],
  ];
  for (const [port, data, status] of cases) {
    const out = await exchange(port, data, { expected: 1 });
    assert.equal(out.responses[0].status, status, data.split('\r\n')[0]);
    assert.equal(out.responses[0].headers['cache-control'], 'no-store', data.split('\r\n')[0]);
  }
});

test('route Cache-Control is kept', async () => {
  const out = await exchange(gateway.port, get('/openapi.json', 'Connection: close\r\n'), { expected: 1 });
  if (out.responses[0].status === 404) {
    assert.equal(out.responses[0].headers['cache-control'], 'no-store');
    return;
  }
  assert.equal(out.responses[0].status, 200);
  assert.equal(out.responses[0].headers['cache-control'], 'public, max-age=300');
});
