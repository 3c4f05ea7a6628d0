'use strict';

// Sentinel discovery paths that a real failover does not drive on demand:
// an unreachable first Sentinel, Sentinels that name no primary, a Sentinel
// that names a replica (the ROLE check), and a primary demoted under a
// connected gateway (a write gets READONLY). A scripted Sentinel on
// 127.0.0.1 returns whatever address the test sets; the data nodes are real
// redis-server processes.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');

const { Api, createIntegrationWithEndpoint } = require('../integration/lib/api');
const { freePort, getReady, redisCli, redisRaw, scaled, setupHarness, sleep, waitFor } = require('../integration/lib/harness');

const MASTER_NAME = 'hgtest';
const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * Replies to SENTINEL get-master-addr-by-name with 127.0.0.1 and
 * this.primaryPort for MASTER_NAME, and nil for any other name or while
 * primaryPort is null. Counts the queries.
 */
class ScriptedSentinel {
  constructor() {
    this.primaryPort = null;
    this.queries = 0;
    this.otherNames = 0;
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  serve(socket) {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // One command per connection: *3, then three bulk strings.
      const parts = buffered.split('\r\n');
      if (parts.length < 8) {
        return;
      }
      this.queries++;
      const name = parts[6];
      if (name !== MASTER_NAME || this.primaryPort === null) {
        this.otherNames += name !== MASTER_NAME ? 1 : 0;
        socket.write('*-1\r\n');
        return;
      }
      const port = String(this.primaryPort);
      socket.write(`*2\r\n$9\r\n127.0.0.1\r\n$${port.length}\r\n${port}\r\n`);
    });
  }

  close() {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const harness = setupHarness('sentinel');
let sentinel;
let nodeA;
let nodeB;

async function startDataNode(name, replicaOf) {
  const port = await freePort();
  const dir = path.join(harness.dir, `${name}-${port}`);
  fs.mkdirSync(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''];
  if (replicaOf) {
    args.push('--replicaof', '127.0.0.1', String(replicaOf));
  }
  const child = harness.spawnLogged(name, REDIS_SERVER, args, process.env, port);
  await harness.waitReady(child, async () => (await redisRaw(port, ['PING'])).startsWith('+PONG'));
  return child;
}

async function sentinelEnv() {
  // Nothing listens on the first entry, so every lookup also checks that
  // an unreachable Sentinel is skipped.
  const deadPort = await freePort();
  return {
    HOOKGATE_ALLOW_PRIVATE_TARGETS: '1',
    HOOKGATE_REDIS_URL: 'redis://127.0.0.1:1/0',
    HOOKGATE_REDIS_SENTINELS: `127.0.0.1:${deadPort}, 127.0.0.1:${sentinel.port}`,
    HOOKGATE_REDIS_MASTER_NAME: MASTER_NAME,
  };
}

/** Waits until the replica on port has finished its first sync. */
function waitReplicaInSync(port) {
  return waitFor(async () => /master_link_status:up/.test(await redisCli(port, ['INFO', 'replication'])), {
    timeoutMs: 20000,
    intervalMs: 200,
    description: `the replica on port ${port} to sync`,
  });
}

function logOf(child) {
  return fs.readFileSync(child.logFile, 'utf8');
}

before(async () => {
  sentinel = harness.closeLater(await new ScriptedSentinel().start());
  nodeA = await startDataNode('redis-a', null);
  nodeB = await startDataNode('redis-b', nodeA.port);
  await waitReplicaInSync(nodeB.port);
});

test('invalid Sentinel settings stop the start', { timeout: scaled(20000) }, async () => {
  const cases = [
    [{ HOOKGATE_REDIS_SENTINELS: '127.0.0.1:26379' }, /HOOKGATE_REDIS_MASTER_NAME is missing/],
    [{ HOOKGATE_REDIS_MASTER_NAME: MASTER_NAME }, /HOOKGATE_REDIS_SENTINELS is missing/],
    [{ HOOKGATE_REDIS_SENTINELS: 'sentinel.example:26379', HOOKGATE_REDIS_MASTER_NAME: MASTER_NAME }, /invalid HOOKGATE_REDIS_SENTINELS/],
    [{ HOOKGATE_REDIS_SENTINELS: '127.0.0.1:26379', HOOKGATE_REDIS_MASTER_NAME: 'two words' }, /invalid HOOKGATE_REDIS_MASTER_NAME/],
  ];
  for (const [env, message] of cases) {
    const run = await harness.runToExit('hookgate-gateway', { HOOKGATE_REDIS_URL: 'redis://127.0.0.1:1/0', ...env });
    assert.notEqual(run.code, 0, `exit code with ${JSON.stringify(env)}`);
    assert.match(run.output, message, `message with ${JSON.stringify(env)}`);
  }
});

test('no primary named: not ready', { timeout: scaled(40000) }, async () => {
  sentinel.primaryPort = null;
  const gateway = await harness.startGateway(await sentinelEnv(), { waitPath: '/healthz' });
  await waitFor(() => /no Sentinel named the primary; last: Sentinel 127\.0\.0\.1:\d+: does not monitor a master named/.test(logOf(gateway)), {
    timeoutMs: 10000,
    description: 'the gateway to log that no Sentinel named the primary',
  });
  assert.equal(await getReady(gateway.port), 503, 'not ready while no primary is named');

  sentinel.primaryPort = nodeA.port;
  await waitFor(async () => (await getReady(gateway.port)) === 200, {
    timeoutMs: 10000,
    description: 'the gateway to connect once the primary is named',
  });
  await harness.stop(gateway);
});

test('replica named by Sentinel is not used', { timeout: scaled(40000) }, async () => {
  sentinel.primaryPort = nodeB.port;
  const gateway = await harness.startGateway(await sentinelEnv(), { waitPath: '/healthz' });
  await waitFor(() => /is not a primary \(ROLE: slave\)/.test(logOf(gateway)), {
    timeoutMs: 10000,
    description: 'the gateway to reject the replica',
  });
  assert.equal(await getReady(gateway.port), 503, 'not ready while only a replica is named');

  sentinel.primaryPort = nodeA.port;
  await waitFor(async () => (await getReady(gateway.port)) === 200, {
    timeoutMs: 10000,
    description: 'the gateway to connect to the primary once it is named',
  });
  assert.ok(sentinel.queries >= 2, `the gateway asked again after the replica (${sentinel.queries} queries)`);
  assert.equal(sentinel.otherNames, 0, 'every query named the configured master');
  await harness.stop(gateway);
});

test('READONLY after demotion finds the new primary', { timeout: scaled(60000) }, async () => {
  sentinel.primaryPort = nodeA.port;
  const gateway = await harness.startGateway(await sentinelEnv());
  const api = harness.closeLater(new Api(gateway.port));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'demote', 'http://127.0.0.1:9/hook', ['*']);
  await api.publishAccepted(id, apiKey, '{"type":"demote.before"}');
  const acked = await redisCli(nodeA.port, ['WAIT', '1', '5000']);
  assert.equal(acked.trim(), '1', 'the replica has every write before the swap');

  // Swap the roles as a failover would, but without closing the clients'
  // connections, so the gateway learns it only from a write's error.
  await redisCli(nodeB.port, ['REPLICAOF', 'NO', 'ONE']);
  await redisCli(nodeA.port, ['REPLICAOF', '127.0.0.1', String(nodeB.port)]);
  sentinel.primaryPort = nodeB.port;
  const queriesBefore = sentinel.queries;

  let last = null;
  const eventId = await waitFor(
    async () => {
      last = await api.publish(id, apiKey, '{"type":"demote.after"}');
      return last.status === 202 ? last.json().id : null;
    },
    { timeoutMs: 15000, intervalMs: 200, description: 'a publish to succeed on the new primary' },
  ).catch((err) => {
    err.message += `; last answer: ${last?.describe()}`;
    throw err;
  });
  assert.match(logOf(gateway), /a write got READONLY/, 'the gateway dropped the demoted server');
  assert.ok(sentinel.queries > queriesBefore, 'the gateway asked the Sentinel again');
  const stored = await redisCli(nodeB.port, ['KEYS', `*${eventId}*`]);
  assert.ok(stored.trim().length > 0, `event ${eventId} is stored on the new primary`);
  await sleep(100);
  await harness.stop(gateway);
});

test('new primary named while the old one accepts writes', { timeout: scaled(60000) }, async () => {
  // After the previous test B is the primary and A its replica.
  sentinel.primaryPort = nodeB.port;
  const gateway = await harness.startGateway(await sentinelEnv());
  const api = harness.closeLater(new Api(gateway.port));
  const { id, apiKey } = await createIntegrationWithEndpoint(api, 'planned', 'http://127.0.0.1:9/hook', ['*']);
  await api.publishAccepted(id, apiKey, '{"type":"planned.before"}');
  const acked = await redisCli(nodeB.port, ['WAIT', '1', '5000']);
  assert.equal(acked.trim(), '1', 'the replica has every write before the switch');

  // A planned failover promotes the replica first and reconfigures the old
  // primary seconds later; meanwhile the old one still accepts writes, so
  // only the Sentinels can tell the gateway to move.
  await redisCli(nodeA.port, ['REPLICAOF', 'NO', 'ONE']);
  sentinel.primaryPort = nodeA.port;
  await waitFor(() => new RegExp(`the Sentinels name 127\\.0\\.0\\.1:${nodeA.port} as the primary`).test(logOf(gateway)), {
    timeoutMs: 10000,
    description: 'the gateway to notice the new primary',
  });

  let last = null;
  const eventId = await waitFor(
    async () => {
      last = await api.publish(id, apiKey, '{"type":"planned.after"}');
      return last.status === 202 ? last.json().id : null;
    },
    { timeoutMs: 15000, intervalMs: 200, description: 'a publish to succeed on the new primary' },
  ).catch((err) => {
    err.message += `; last answer: ${last?.describe()}`;
    throw err;
  });
  assert.ok((await redisCli(nodeA.port, ['KEYS', `*${eventId}*`])).trim().length > 0, `event ${eventId} is on the new primary`);
  assert.match(logOf(gateway), /min-replicas-to-write 0: a planned Sentinel failover can lose/, 'the warning about the unguarded window');
  assert.equal((await redisCli(nodeB.port, ['KEYS', `*${eventId}*`])).trim(), '', `event ${eventId} is not on the old primary`);
  await harness.stop(gateway);
});
