'use strict';

// Helpers for the delivery engine tests: a small Redis client that parses
// whole replies, receivers that count requests in flight, endpoint and
// integration updates, and timing statistics.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const zlib = require('node:zlib');

const { ADMIN_KEY, freePort, waitFor } = require('./harness');
const { Receiver } = require('./receiver');

const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * Parses one RESP value from buf at offset. Returns { value, next }, or
 * null when buf ends before the value does. A Redis error reply becomes an
 * Error object in the value, so a caller can tell it from a string. With
 * raw, bulk strings stay Buffers, for binary values.
 */
function parseResp(buf, offset, raw = false) {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) {
    return null;
  }
  const kind = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (kind) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new Error(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) {
        return { value: null, next: afterLine };
      }
      if (buf.length < afterLine + length + 2) {
        return null;
      }
      const bytes = buf.subarray(afterLine, afterLine + length);
      return { value: raw ? Buffer.from(bytes) : bytes.toString('utf8'), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) {
        return { value: null, next: afterLine };
      }
      const items = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, next, raw);
        if (item === null) {
          return null;
        }
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(kind)} in a Redis reply`);
  }
}

/**
 * Sends one command to Redis on 127.0.0.1:port over a new connection and
 * returns the parsed reply. Unlike redisRaw of the harness, it waits for
 * the whole reply, so it suits INFO, KEYS and HGETALL. Throws on an error
 * reply. With raw, bulk strings come back as Buffers.
 */
function redisCommand(port, args, timeoutMs = 2000, { raw = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const fail = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`Redis ${args[0]} on port ${port} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      let command = `*${args.length}\r\n`;
      for (const arg of args) {
        command += `$${Buffer.byteLength(String(arg))}\r\n${arg}\r\n`;
      }
      socket.write(command);
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseResp(received, 0, raw);
      if (parsed === null) {
        return;
      }
      clearTimeout(timer);
      socket.end();
      if (parsed.value instanceof Error) {
        reject(new Error(`Redis ${args.join(' ').slice(0, 200)} failed: ${parsed.value.message}`));
      } else {
        resolve(parsed.value);
      }
    });
    socket.on('error', fail);
  });
}

/**
 * Runs MONITOR on a connection of its own and keeps every command line
 * Redis reports, in monitor.lines, until close(). MONITOR shows each
 * command as Redis executes it, with all its arguments.
 */
function startRedisMonitor(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const monitor = {
      lines: [],
      close() {
        socket.destroy();
      },
    };
    let pending = '';
    let started = false;
    socket.on('connect', () => socket.write('*1\r\n$7\r\nMONITOR\r\n'));
    socket.on('data', (chunk) => {
      pending += chunk.toString('utf8');
      let end;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!started) {
          started = true;
          if (line !== '+OK') {
            socket.destroy();
            reject(new Error(`MONITOR on port ${port} failed: ${line}`));
            return;
          }
          resolve(monitor);
        } else if (line.startsWith('+')) {
          monitor.lines.push(line.slice(1));
        }
      }
    });
    socket.on('error', (err) => {
      if (!started) {
        reject(err);
      }
    });
  });
}

/** Returns HGETALL of key as an object ({} when the key does not exist). */
async function redisHash(port, key) {
  const flat = await redisCommand(port, ['HGETALL', key]);
  const hash = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    hash[flat[i]] = flat[i + 1];
  }
  return hash;
}

/**
 * Returns the call counts of INFO commandstats by command name in lower
 * case, such as { xreadgroup: 12, 'xgroup|create': 2 }.
 */
async function redisCommandCalls(port) {
  const text = await redisCommand(port, ['INFO', 'commandstats']);
  const calls = {};
  for (const line of text.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) {
      calls[match[1]] = Number(match[2]);
    }
  }
  return calls;
}

/** Returns the key of the circuit breaker state of one endpoint. */
function healthKey(integrationId, endpointId) {
  return `hg:{${integrationId}}:ep:${endpointId}:health`;
}

/**
 * Starts a second redis-server, with its own port and directory under the
 * harness directory, and extra command-line arguments. The harness stops
 * it by PID in its cleanup.
 */
async function startExtraRedis(harness, label, extraArgs) {
  const port = await freePort();
  const dir = path.join(harness.dir, `redis-${label}`);
  fs.mkdirSync(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...extraArgs];
  const child = harness.spawnLogged(`redis-${label}`, REDIS_SERVER, args, { PATH: process.env.PATH }, port);
  await harness.waitReady(child, async () => (await redisCommand(port, ['PING'])) === 'PONG');
  return child;
}

/**
 * A receiver that also records, in maxInFlight, the highest number of
 * requests it kept open at the same time. A request counts until the
 * receiver responds or the client closes the connection (a sender's
 * timeout), so a request the sender gave up on does not count.
 */
class CountingReceiver extends Receiver {
  constructor(script) {
    super((index, record) => {
      // The new record is already in the list, open.
      const open = this.requests.filter((r) => r.answeredAt === null && !r.closedAt).length;
      this.maxInFlight = Math.max(this.maxInFlight, open);
      return script(index, record);
    });
    this.maxInFlight = 0;
  }

  handle(req, res) {
    super.handle(req, res);
    // Runs after the base class's 'end' listener, which adds the record.
    req.on('end', () => {
      const record = this.requests[this.requests.length - 1];
      res.on('close', () => {
        record.closedAt = Date.now();
      });
    });
  }
}

/** Starts a CountingReceiver that responds as script does. */
function startCountingReceiver(script) {
  return new CountingReceiver(script).start();
}

/** Sends PATCH to an endpoint and returns the endpoint record. */
async function patchEndpoint(api, integrationId, apiKey, endpointId, changes) {
  const res = await api.request('PATCH', `/api/v1/integrations/${integrationId}/endpoints/${endpointId}`, {
    key: apiKey,
    json: changes,
  });
  if (res.status !== 200) {
    throw new Error(`updating endpoint ${endpointId} failed: ${res.describe()}`);
  }
  return res.json();
}

/** Reads one endpoint record. */
async function getEndpoint(api, integrationId, apiKey, endpointId) {
  const res = await api.request('GET', `/api/v1/integrations/${integrationId}/endpoints/${endpointId}`, { key: apiKey });
  if (res.status !== 200) {
    throw new Error(`reading endpoint ${endpointId} failed: ${res.describe()}`);
  }
  return res.json();
}

/** Names the endpoint that receives the integration's operational events. */
async function setOperationalEndpoint(api, integrationId, endpointId) {
  const res = await api.request('PATCH', `/api/v1/integrations/${integrationId}`, {
    key: ADMIN_KEY,
    json: { operational_endpoint_id: endpointId },
  });
  if (res.status !== 200) {
    throw new Error(`setting the operational endpoint of ${integrationId} failed: ${res.describe()}`);
  }
  return res.json();
}

/**
 * Polls every event until each of its deliveries is succeeded or dead,
 * and returns the events in the order of eventIds.
 */
function waitForAllSettled(api, integrationId, apiKey, eventIds, { timeoutMs }) {
  return waitFor(
    async () => {
      const events = [];
      for (const eventId of eventIds) {
        const event = await api.getEvent(integrationId, apiKey, eventId);
        const settled =
          event.deliveries.length > 0 && event.deliveries.every((d) => d.status === 'succeeded' || d.status === 'dead');
        if (!settled) {
          return null;
        }
        events.push(event);
      }
      return events;
    },
    { timeoutMs, intervalMs: 250, description: `every delivery of ${eventIds.length} event(s) to end succeeded or dead` },
  );
}

/** Returns the p-th percentile (0 to 100, nearest rank) of numbers. */
function percentile(numbers, p) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Returns the CPU time (user plus system) of a process in milliseconds,
 * from /proc/<pid>/stat.
 */
function processCpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in field 2 may contain spaces, so fields are counted
  // from the closing parenthesis: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  // NOTE: assumes USER_HZ = 100, the value on Linux for x86-64 and arm64.
  return ticks * 10;
}

/** Counts the lines of a log file that contain text. */
function countLogLines(logFile, text) {
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes(text)).length;
}

/**
 * Returns the preset dictionary of stored attempt records, read from the
 * C source that defines it (the concatenated string literals of
 * `dictionary` in common/attempt_codec.c).
 */
function attemptDictionary() {
  const source = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'common', 'attempt_codec.c'), 'utf8');
  const start = source.indexOf('static const char dictionary[] =');
  // The text itself contains ';', so the declaration ends at '";'.
  const literal = source.slice(start, source.indexOf('";', start) + 1);
  const pieces = [...literal.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
  if (start < 0 || pieces.length === 0) {
    throw new Error('no attempt record dictionary in common/attempt_codec.c');
  }
  return Buffer.from(pieces.join(''), 'latin1');
}

/**
 * Returns the JSON text of one stored attempt record (a Buffer): a
 * "z1:<n>:" record inflated with the preset dictionary, or an older plain
 * JSON record as it is.
 */
function attemptText(record) {
  if (record.subarray(0, 3).toString('latin1') !== 'z1:') {
    return record.toString('utf8');
  }
  const colon = record.indexOf(':', 3);
  return zlib.inflateRawSync(record.subarray(colon + 1), { dictionary: attemptDictionary() }).toString('utf8');
}

module.exports = {
  attemptText,
  countLogLines,
  getEndpoint,
  healthKey,
  patchEndpoint,
  percentile,
  processCpuMs,
  redisCommand,
  redisCommandCalls,
  redisHash,
  setOperationalEndpoint,
  startCountingReceiver,
  startExtraRedis,
  startRedisMonitor,
  waitForAllSettled,
};
