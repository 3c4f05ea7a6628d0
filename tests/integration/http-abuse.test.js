'use strict';

// Connection abuse against the shared server layer on loopback: 10,000
// idle connections, slowloris clients that send a head one byte a second,
// stalled bodies, idle keep-alive connections, oversized heads and the
// connection limit. Normal requests must keep their latency meanwhile, and
// the inspector's live feed must outlive the idle timeout. Runs a private
// redis-server, hookgate-gateway processes and a hookgate-inspector on
// 127.0.0.1 only; every wait is bounded.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');

const { ADMIN_KEY, getStatus, scaled, setupHarness, sleep, waitFor } = require('./lib/harness');
const { Api, uniqueId } = require('./lib/api');
const { percentile } = require('./lib/flow');
const { parseResponses, problemOf } = require('./lib/rawhttp');

const harness = setupHarness('http-abuse');

// Limits of the strict gateway and the inspector: short, so the cases that
// wait for them stay quick.
const HEADER_TIMEOUT_MS = 2000;
const BODY_TIMEOUT_MS = 2000;
const IDLE_TIMEOUT_MS = 1500;
// How much later than its deadline a connection may be closed.
const CLOSE_SLACK_MS = scaled(1500);
const IDLE_FLOOD = 10000;
const SLOW_CLIENTS = 200;
const MEASURED_REQUESTS = 200;

let strict;
let integration;

/**
 * A raw client connection that records what arrives and when the server
 * closed it. `connected` resolves once the TCP connection is up.
 */
class RawClient {
  constructor(port) {
    this.raw = '';
    this.lastDataAt = null;
    this.openedAt = Date.now();
    this.closedAt = null;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => {
      this.raw += chunk.toString('latin1');
      this.lastDataAt = Date.now();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      this.socket.on('close', () => {
        this.closedAt = Date.now();
        resolve();
      });
    });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.openedAt = Date.now();
        resolve();
      });
      this.socket.once('error', reject);
    });
  }

  write(text) {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  get responses() {
    return parseResponses(this.raw);
  }

  /** Waits until the server closed the connection, or throws after ms. */
  async waitClosed(ms, label) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: still open after ${ms} ms; got ${JSON.stringify(this.raw.slice(0, 200))}`)), ms);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy() {
    this.socket.destroy();
  }
}

/** Asserts that client got exactly one response, a problem with status and code, and a close. */
function assertRejected(client, status, code, label) {
  const responses = client.responses;
  assert.equal(responses.length, 1, `${label}: ${JSON.stringify(client.raw.slice(0, 300))}`);
  assert.equal(responses[0].status, status, label);
  assert.equal(responses[0].headers.connection, 'close', label);
  const problem = problemOf(responses[0]);
  assert.equal(problem.code, code, label);
  assert.equal(problem.status, status, label);
  assert.equal(problem.request_id, responses[0].headers['x-request-id'], label);
  assert.ok(problem.detail.length > 0, label);
  return problem;
}

/**
 * Sends MEASURED_REQUESTS requests one after another over one keep-alive
 * connection, alternating GET /healthz and an authenticated publish, and
 * returns { p50, p99 } in milliseconds. Every response must be 200 or 202.
 */
async function measureLatency(port) {
  const api = new Api(port);
  api.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  try {
    for (let i = 0; i < MEASURED_REQUESTS; i++) {
      const started = process.hrtime.bigint();
      if (i % 2 === 0) {
        const res = await api.request('GET', '/healthz');
        assert.equal(res.status, 200, res.describe());
      } else {
        const res = await api.publish(integration.id, integration.apiKey, { type: 'abuse.latency', n: i });
        assert.equal(res.status, 202, res.describe());
      }
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    api.close();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Returns the number of open descriptors of a process. */
function openFiles(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Returns the soft open-file limit of this process. */
function ownFileLimit() {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return match[1] === 'unlimited' ? Infinity : Number(match[1]);
}

function assertLatencyKept(t, label, baseline, during) {
  const bound = Math.max(5 * baseline.p99, scaled(100));
  t.diagnostic(
    `${label}: p50 ${baseline.p50.toFixed(2)} ms -> ${during.p50.toFixed(2)} ms, ` +
      `p99 ${baseline.p99.toFixed(2)} ms -> ${during.p99.toFixed(2)} ms (bound ${bound.toFixed(1)} ms)`,
  );
  assert.ok(during.p99 < bound, `${label}: p99 ${during.p99} ms is not under ${bound} ms`);
}

async function startInspector(extraEnv) {
  return harness.startInspector(extraEnv, { gatewayPort: strict.port });
}

const STRICT_LIMITS = {
  HOOKGATE_HEADER_TIMEOUT_MS: String(HEADER_TIMEOUT_MS),
  HOOKGATE_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
  HOOKGATE_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
};

before(async () => {
  await harness.startRedis();
  strict = await harness.startGateway(STRICT_LIMITS);
  const api = new Api(strict.port);
  const id = uniqueId('abuse');
  const created = await api.createIntegration(id);
  integration = { id, apiKey: created.api_key };
  api.close();
});

test('idle flood keeps normal latency', { timeout: scaled(120000) }, async (t) => {
  const needed = IDLE_FLOOD + 200;
  assert.ok(
    ownFileLimit() >= needed,
    `this test needs an open-file limit of ${needed} (ulimit -n; tests/integration/run.sh raises it)`,
  );
  // Long enough that no idle connection reaches its header deadline here.
  const gateway = await harness.startGateway({ HOOKGATE_HEADER_TIMEOUT_MS: String(Math.min(600000, scaled(120000))) });
  const filesBefore = openFiles(gateway.pid);
  const baseline = await measureLatency(gateway.port);

  const flood = [];
  const started = Date.now();
  try {
    for (let i = 0; i < IDLE_FLOOD; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(IDLE_FLOOD, i + 500); j++) {
        const client = new RawClient(gateway.port);
        flood.push(client);
        batch.push(client.connected);
      }
      await Promise.all(batch);
    }
    // The gateway has a descriptor for every accepted connection. A few
    // descriptors counted before may belong to connections closing then.
    let files = 0;
    await waitFor(
      () => {
        files = openFiles(gateway.pid);
        return files >= filesBefore + IDLE_FLOOD - 10;
      },
      {
        timeoutMs: 20000,
        description: `the gateway to accept ${IDLE_FLOOD} connections (it has ${files} descriptors, ${filesBefore} before)`,
      },
    );
    t.diagnostic(`opened ${IDLE_FLOOD} idle connections in ${Date.now() - started} ms`);

    const during = await measureLatency(gateway.port);
    assertLatencyKept(t, 'idle flood', baseline, during);
    assert.equal(flood.filter((c) => c.closedAt !== null).length, 0, 'no idle connection was closed early');
    assert.equal(flood.filter((c) => c.raw !== '').length, 0, 'no idle connection got bytes');
  } finally {
    for (const client of flood) {
      client.destroy();
    }
  }
  await waitFor(() => openFiles(gateway.pid) < filesBefore + 100, {
    timeoutMs: 20000,
    description: 'the gateway to close the flood connections',
  });
  assert.equal(await getStatus(gateway.port, '/healthz'), 200);
  await harness.stop(gateway);
});

test('slowloris clients cut at header deadline', { timeout: scaled(60000) }, async (t) => {
  const baseline = await measureLatency(strict.port);
  const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
  const clients = [];
  for (let i = 0; i < SLOW_CLIENTS; i++) {
    clients.push(new RawClient(strict.port));
  }
  await Promise.all(clients.map((c) => c.connected));
  let sent = 0;
  const drip = () => {
    const byte = sent < head.length ? head[sent] : 'a';
    sent += 1;
    for (const client of clients) {
      if (client.closedAt === null) {
        client.write(byte);
      }
    }
  };
  drip();
  const timer = setInterval(drip, 1000);
  let during;
  try {
    during = await measureLatency(strict.port);
    await Promise.all(clients.map((c, i) => c.waitClosed(HEADER_TIMEOUT_MS + CLOSE_SLACK_MS + 1000, `slow client ${i}`)));
  } finally {
    clearInterval(timer);
    for (const client of clients) {
      client.destroy();
    }
  }
  assertLatencyKept(t, 'slowloris', baseline, during);
  const lifetimes = clients.map((c) => c.closedAt - c.openedAt).sort((a, b) => a - b);
  t.diagnostic(`slow clients closed after ${lifetimes[0]} to ${lifetimes[lifetimes.length - 1]} ms (${sent} bytes each)`);
  assert.ok(lifetimes[0] >= HEADER_TIMEOUT_MS - 100, `closed before the deadline: ${lifetimes[0]} ms`);
  assert.ok(
    lifetimes[lifetimes.length - 1] <= HEADER_TIMEOUT_MS + CLOSE_SLACK_MS,
    `closed too late: ${lifetimes[lifetimes.length - 1]} ms`,
  );
  for (const [i, client] of clients.entries()) {
    const problem = assertRejected(client, 408, 'REQUEST_TIMEOUT', `slow client ${i}`);
    assert.match(problem.detail, /headers did not arrive within 2000 ms/);
  }
  const log = fs.readFileSync(strict.logFile, 'utf8');
  assert.match(log, /closing a connection with 408/);
});

test('silent connection closed at header deadline', { timeout: scaled(20000) }, async () => {
  const client = new RawClient(strict.port);
  await client.connected;
  await client.waitClosed(HEADER_TIMEOUT_MS + CLOSE_SLACK_MS, 'silent connection');
  const lifetime = client.closedAt - client.openedAt;
  assert.ok(lifetime >= HEADER_TIMEOUT_MS - 100, `closed after ${lifetime} ms`);
  assert.equal(client.raw, '', 'a connection that sent nothing gets no response');
});

test('idle keep-alive connection closed', { timeout: scaled(20000) }, async () => {
  const client = new RawClient(strict.port);
  await client.connected;
  client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await waitFor(() => client.responses.length === 1, { timeoutMs: 5000, description: 'the response' });
  const answeredAt = client.lastDataAt;
  assert.equal(client.responses[0].status, 200);
  await client.waitClosed(IDLE_TIMEOUT_MS + CLOSE_SLACK_MS, 'idle keep-alive connection');
  const idle = client.closedAt - answeredAt;
  assert.ok(idle >= IDLE_TIMEOUT_MS - 100, `closed after ${idle} ms idle`);
  assert.equal(client.responses.length, 1, 'the idle close sends nothing');
});

test('later head deadline starts fresh', { timeout: scaled(20000) }, async () => {
  const client = new RawClient(strict.port);
  await client.connected;
  client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await waitFor(() => client.responses.length === 1, { timeoutMs: 5000, description: 'the first response' });
  // Idle for less than the idle timeout, but longer than what would be
  // left of a header deadline counted from the connection's start.
  await sleep(IDLE_TIMEOUT_MS - 500);
  const partialAt = Date.now();
  client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await client.waitClosed(HEADER_TIMEOUT_MS + CLOSE_SLACK_MS, 'stalled second request');
  const waited = client.closedAt - partialAt;
  assert.ok(waited >= HEADER_TIMEOUT_MS - 100, `closed ${waited} ms after the second head began`);
  const responses = client.responses;
  assert.deepEqual(
    responses.map((r) => r.status),
    [200, 408],
  );
  assert.equal(problemOf(responses[1]).code, 'REQUEST_TIMEOUT');
});

test('stalled body gets 408', { timeout: scaled(20000) }, async () => {
  const cases = {
    'Content-Length': 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789',
    chunked: 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n',
  };
  const clients = Object.entries(cases).map(([label, data]) => {
    const client = new RawClient(strict.port);
    client.connected.then(() => client.write(data));
    return { label, client };
  });
  for (const { label, client } of clients) {
    await client.connected;
    await client.waitClosed(BODY_TIMEOUT_MS + CLOSE_SLACK_MS + 500, label);
    const lifetime = client.closedAt - client.openedAt;
    assert.ok(lifetime >= BODY_TIMEOUT_MS - 100, `${label}: closed after ${lifetime} ms`);
    const problem = assertRejected(client, 408, 'REQUEST_TIMEOUT', label);
    assert.match(problem.detail, /body did not arrive within 2000 ms/, label);
  }
});

test('oversized chunk gets 413 at once', { timeout: scaled(20000) }, async () => {
  // Chunk sizes above the 1 MiB body limit, announced without their data:
  // 2 MiB, and 18 hex digits, which overflow 64 bits.
  for (const size of ['200000', 'ffffffffffffffffff']) {
    const client = new RawClient(strict.port);
    await client.connected;
    client.write(`POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nabc`);
    await client.waitClosed(BODY_TIMEOUT_MS + CLOSE_SLACK_MS + 500, size);
    const problem = assertRejected(client, 413, 'PAYLOAD_TOO_LARGE', `chunk size ${size}`);
    assert.match(problem.detail, /larger than the limit/, size);
  }
});

test('chunk size past 64 bits rejected', { timeout: scaled(20000) }, async () => {
  // 2^64 and 2^64 + 5: a parser that keeps the size in 64 bits reads 0
  // (the last chunk, so the rest would be a second request) and 5.
  const smuggled = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const cases = {
    '10000000000000000': smuggled,
    '00010000000000000005': `abcde\r\n0\r\n\r\n${smuggled}`,
  };
  const head = 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const [size, rest] of Object.entries(cases)) {
    const client = new RawClient(strict.port);
    await client.connected;
    client.write(`${head}${size}\r\n${rest}`);
    await client.waitClosed(BODY_TIMEOUT_MS + CLOSE_SLACK_MS + 500, size);
    const problem = assertRejected(client, 413, 'PAYLOAD_TOO_LARGE', `chunk size ${size}`);
    assert.match(problem.detail, /larger than the limit/, size);
  }
  // The same in pieces, after a first chunk of ordinary size: the scan
  // goes on across reads.
  const client = new RawClient(strict.port);
  await client.connected;
  for (const piece of [head, '3\r\nab', 'c\r', '\n1000', '0000000000000', `\r\n${smuggled}`]) {
    client.write(piece);
    await sleep(50);
  }
  await client.waitClosed(BODY_TIMEOUT_MS + CLOSE_SLACK_MS + 500, 'in pieces');
  assertRejected(client, 413, 'PAYLOAD_TOO_LARGE', 'in pieces');
});

test('chunk size leading zeros accepted', { timeout: scaled(20000) }, async () => {
  const client = new RawClient(strict.port);
  await client.connected;
  client.write('POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
               '00000000000000000005\r\nabcde\r\n0\r\n\r\n');
  await client.waitClosed(scaled(5000), 'leading zeros');
  assert.deepEqual(client.responses.map((r) => r.status), [405]);
});

test('timely body is served', { timeout: scaled(20000) }, async () => {
  const client = new RawClient(strict.port);
  await client.connected;
  client.write('POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n01234');
  await sleep(BODY_TIMEOUT_MS / 2);
  client.write('56789');
  await client.waitClosed(scaled(5000), 'body in time');
  assert.deepEqual(
    client.responses.map((r) => r.status),
    [405],
  );
});

// Each case: what is sent, the status and code expected, and a pattern the
// detail must match.
const HUGE_HEADS = {
  '64 KB header': [
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`,
    431,
    'HEADERS_TOO_LARGE',
    /header line is longer than 7999 bytes/,
  ],
  '10 KB URL': [
    `GET /healthz?q=${'u'.repeat(10 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    414,
    'URI_TOO_LONG',
    /request line is longer than 7999 bytes/,
  ],
  '1000 headers': [
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 1000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`,
    431,
    'HEADERS_TOO_LARGE',
    /more than 100 headers/,
  ],
  '40 KB of headers in 1 KB lines': [
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 40 }, (_, i) => `X-H${i}: ${'v'.repeat(1000)}\r\n`).join('')}\r\n`,
    431,
    'HEADERS_TOO_LARGE',
    /larger than 32768 bytes/,
  ],
};

for (const [label, [data, status, code, detail]] of Object.entries(HUGE_HEADS)) {
  test(`${label} gets ${status}`, { timeout: scaled(20000) }, async () => {
    const client = new RawClient(strict.port);
    await client.connected;
    const started = Date.now();
    client.write(data);
    await client.waitClosed(scaled(5000), label);
    assert.ok(client.closedAt - started < scaled(3000), `${label}: closed after ${client.closedAt - started} ms`);
    const problem = assertRejected(client, status, code, label);
    assert.match(problem.detail, detail);
    assert.equal(await getStatus(strict.port, '/healthz'), 200);
  });
}

test('bad request after pipelined one', { timeout: scaled(20000) }, async () => {
  const first = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const cases = [
    [`GET /healthz?q=${'u'.repeat(10 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 414],
    ['get /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400],
    ['POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n', 400],
  ];
  for (const [second, status] of cases) {
    const client = new RawClient(strict.port);
    await client.connected;
    client.write(first + second);
    await client.waitClosed(scaled(5000), second.slice(0, 20));
    assert.deepEqual(
      client.responses.map((r) => r.status),
      [200, status],
      second.slice(0, 20),
    );
  }
});

test('head inside limits is served', { timeout: scaled(20000) }, async () => {
  const headers = Array.from({ length: 98 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const data = `GET /healthz?q=${'u'.repeat(7900)} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`;
  const client = new RawClient(strict.port);
  await client.connected;
  client.write(data);
  await client.waitClosed(scaled(5000), 'head inside the limits');
  assert.deepEqual(
    client.responses.map((r) => r.status),
    [200],
  );
});

test('connection over limit gets 503', { timeout: scaled(30000) }, async () => {
  const limit = 20;
  const gateway = await harness.startGateway({ HOOKGATE_MAX_CONNECTIONS: String(limit) });
  // Lets the gateway close the connection of its readiness check.
  await sleep(scaled(500));
  const held = [];
  try {
    // Each held connection is served once and stays open (keep-alive), so
    // each counts against the limit.
    for (let i = 0; i < limit; i++) {
      held.push(new RawClient(gateway.port));
    }
    await Promise.all(held.map((c) => c.connected));
    for (const client of held) {
      client.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    }
    await waitFor(() => held.every((c) => c.responses.length === 1), {
      timeoutMs: 5000,
      description: 'a response on every held connection',
    });
    assert.deepEqual(
      [...new Set(held.map((c) => c.responses[0].status))],
      [200],
      'every held connection was served',
    );
    const extra = new RawClient(gateway.port);
    await extra.connected;
    extra.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await extra.waitClosed(scaled(5000), 'connection over the limit');
    const problem = assertRejected(extra, 503, 'UNAVAILABLE', 'over the limit');
    assert.match(problem.detail, /too many open connections/);
    assert.equal(extra.responses[0].headers['retry-after'], '1');

    held.pop().destroy();
    await waitFor(async () => (await getStatus(gateway.port, '/healthz')) === 200, {
      timeoutMs: 5000,
      description: 'a request once a connection closed',
    });
  } finally {
    for (const client of held) {
      client.destroy();
    }
  }
  await harness.stop(gateway);
});

test('inspector keeps live feed open', { timeout: scaled(30000) }, async () => {
  const limit = 1000;
  const inspector = await startInspector({
    HOOKGATE_HEADER_TIMEOUT_MS: String(limit),
    HOOKGATE_IDLE_TIMEOUT_MS: String(limit),
    HOOKGATE_FEED_KEEPALIVE_S: '1',
  });
  const comments = [];
  let ended = false;
  let status = null;
  const req = http.get(
    {
      host: '127.0.0.1',
      port: inspector.port,
      path: '/api/v1/inspector/stream',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      agent: false,
    },
    (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        for (const line of chunk.split('\n')) {
          if (line.startsWith(':')) {
            comments.push({ at: Date.now(), line });
          }
        }
      });
      res.on('end', () => {
        ended = true;
      });
      res.on('error', () => {
        ended = true;
      });
    },
  );
  req.on('error', () => {
    ended = true;
  });
  try {
    const slow = new RawClient(inspector.port);
    await slow.connected;
    slow.write('GET /healthz HTTP/1.1\r\n');
    await slow.waitClosed(limit + CLOSE_SLACK_MS, 'slow inspector client');
    assertRejected(slow, 408, 'REQUEST_TIMEOUT', 'slow inspector client');

    const openedAt = Date.now();
    await sleep(3 * limit + 500);
    assert.equal(status, 200);
    assert.equal(ended, false, 'the live feed is still open after three idle timeouts');
    const late = comments.filter((c) => c.at - openedAt > 2 * limit);
    assert.ok(late.length >= 1, `keep-alive comments kept arriving: ${JSON.stringify(comments)}`);
  } finally {
    req.destroy();
  }
  await harness.stop(inspector);
});
