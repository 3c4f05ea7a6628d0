'use strict';

// Starts and stops the processes of one integration test file: a private
// redis-server with an append-only file, hookgate-gateway and
// hookgate-retry. Every child is stopped by its PID. Children and temporary
// directories are removed in the file's `after` hook, and again from process
// exit hooks if the file ends early.

const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILD_DIR = path.resolve(
  process.env.HOOKGATE_BUILD_DIR || path.join(REPO_ROOT, 'build'),
);
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const ADMIN_KEY = 'it-admin-key-0123456789abcdef';
/** Key that encrypts endpoint secrets; shared by every process of a test. */
const SECRET_KEY = '6a0f5c9e1b3d7a2c4e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d';

// Sanitizer builds run several times slower, so HOOKGATE_TEST_SLOW=1
// multiplies every wait and test timeout (not the expected delays).
const TIME_SCALE = process.env.HOOKGATE_TEST_SLOW === '1' ? 3 : 1;

/** Returns ms multiplied by the time scale of this run. */
function scaled(ms) {
  return ms * TIME_SCALE;
}

const READY_TIMEOUT_MS = scaled(15000);
const STOP_GRACE_MS = 5000;
const KILL_WAIT_MS = 5000;
const LOG_TAIL_LINES = 60;

// Children and directories still alive, for the exit hooks.
const liveChildren = new Set();
const liveDirs = new Set();

function killAllSync() {
  for (const child of liveChildren) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // exited already
    }
  }
  liveChildren.clear();
  if (process.env.HOOKGATE_IT_KEEP_TMP === '1') {
    return;
  }
  for (const dir of liveDirs) {
    try {
      // A killed Redis may still be writing for a moment, hence the retries.
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (err) {
      process.stderr.write(`cannot remove ${dir}: ${err.message}\n`);
    }
  }
  liveDirs.clear();
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAllSync();
    process.exit(128 + os.constants.signals[signal]);
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls check() every intervalMs until it returns a truthy value, and
 * returns that value. Throws after scaled(timeoutMs) with `description` in the
 * message. Errors thrown by check() count as "not yet", and the last one is
 * reported, except errors with `fatal` set, which end the wait at once.
 */
async function waitFor(check, { timeoutMs: unscaledTimeoutMs, intervalMs = 100, description }) {
  const timeoutMs = scaled(unscaledTimeoutMs);
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
    } catch (err) {
      if (err.fatal) {
        throw err;
      }
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await sleep(intervalMs);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Sends one GET and returns the status code, or throws on a network error. */
function getStatus(port, urlPath, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

/** Returns the status of GET /readyz on 127.0.0.1:port. */
function getReady(port) {
  return getStatus(port, '/readyz');
}

/**
 * Sends one Redis command over a new connection and returns the raw RESP
 * reply text. Only used for PING and for diagnostics, so no full parser.
 */
function redisRaw(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`Redis ${args[0]} on port ${port} timed out`));
    }, timeoutMs);
    socket.on('connect', () => {
      let command = `*${args.length}\r\n`;
      for (const arg of args) {
        command += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
      }
      socket.write(command);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Runs redis-cli against the Redis on 127.0.0.1:port with args and returns
 * its standard output. Throws when redis-cli exits with an error.
 */
function redisCli(port, args, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    execFile(
      REDIS_CLI,
      ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message} ${stderr}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** Environment of the test process without any HOOKGATE_* variable. */
function baseEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('HOOKGATE_')) {
      env[name] = value;
    }
  }
  return env;
}

/** Returns the last `lines` lines of a file, or a note if it is missing. */
function tailFile(file, lines) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return `(cannot read ${file}: ${err.message})`;
  }
  const all = text.split('\n');
  if (all.length && all[all.length - 1] === '') {
    all.pop();
  }
  return all.slice(-lines).join('\n');
}

/** Returns true once child exits, or false after ms if it still runs. */
function exitedWithin(child, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([child.exited.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** A started child process with its log file. */
class Child {
  constructor({ name, proc, logFile, port }) {
    this.name = name;
    this.proc = proc;
    this.pid = proc.pid;
    this.logFile = logFile;
    this.port = port;
    this.exitCode = null;
    this.exitSignal = null;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        liveChildren.delete(this);
        resolve();
      });
    });
    this.running = true;
    this.exited.then(() => {
      this.running = false;
    });
    liveChildren.add(this);
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
}

/**
 * The processes of one test file. Each process gets its own port. Redis
 * keeps its port and directory across restarts, so that it reloads its AOF.
 */
class Harness {
  constructor(label) {
    this.label = label;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `hookgate-it-${label}-`));
    liveDirs.add(this.dir);
    this.children = [];
    this.closables = [];
    this.counters = {};
    this.redis = null;
    this.redisPort = null;
    this.redisDir = path.join(this.dir, 'redis');
    fs.mkdirSync(this.redisDir);
  }

  binary(name) {
    const subdirs = {
      'hookgate-gateway': 'gateway',
      'hookgate-inspector': 'inspector',
      'hookgate-retry': 'retry',
    };
    const subdir = subdirs[name] || 'retry';
    const file = path.join(BUILD_DIR, subdir, name);
    if (!fs.existsSync(file)) {
      throw new Error(
        `${file} not found: build hookgate first or set HOOKGATE_BUILD_DIR ` +
          'to the CMake build directory',
      );
    }
    return file;
  }

  logPath(name) {
    this.counters[name] = (this.counters[name] || 0) + 1;
    return path.join(this.dir, `${name}-${this.counters[name]}.log`);
  }

  spawnLogged(name, file, args, env, port) {
    const logFile = this.logPath(name);
    const fd = fs.openSync(logFile, 'a');
    let proc;
    try {
      proc = spawn(file, args, { env, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    const child = new Child({ name, proc, logFile, port });
    proc.on('error', (err) => {
      fs.appendFileSync(logFile, `\n(spawn failed: ${err.message})\n`);
    });
    this.children.push(child);
    return child;
  }

  /** Starts redis-server (on the previous port and directory if any). */
  async startRedis() {
    if (this.redisPort === null) {
      this.redisPort = await freePort();
    }
    const args = [
      '--port', String(this.redisPort),
      '--bind', '127.0.0.1',
      '--dir', this.redisDir,
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--daemonize', 'no',
    ];
    const child = this.spawnLogged('redis', REDIS_SERVER, args, baseEnv(), this.redisPort);
    this.redis = child;
    await this.waitReady(child, async () => {
      const reply = await redisRaw(this.redisPort, ['PING']);
      return reply.startsWith('+PONG');
    });
    return child;
  }

  get redisUrl() {
    return `redis://127.0.0.1:${this.redisPort}/0`;
  }

  /** Stops Redis by PID and starts it again on the same port and directory. */
  async restartRedis() {
    await this.stop(this.redis);
    return this.startRedis();
  }

  serviceEnv(extra) {
    return {
      ...baseEnv(),
      HOOKGATE_REDIS_URL: this.redisUrl,
      HOOKGATE_ADMIN_KEY: ADMIN_KEY,
      HOOKGATE_SECRET_KEY: SECRET_KEY,
      // The default limits would throttle the tests' bursts; the rate
      // limit tests set their own values.
      HOOKGATE_API_RATE_LIMIT: '100000',
      HOOKGATE_INTEGRATION_RATE_LIMIT: '100000',
      HOOKGATE_LOG_LEVEL: 'debug',
      HOOKGATE_THREADS: '2',
      ...extra,
    };
  }

  /**
   * Starts hookgate-gateway with extra environment and waits for /readyz,
   * or only for /healthz when waitPath is '/healthz' (Redis not running).
   */
  async startGateway(extraEnv = {}, { waitPath = '/readyz' } = {}) {
    const port = await freePort();
    const env = this.serviceEnv({ HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${port}`, ...extraEnv });
    const child = this.spawnLogged('gateway', this.binary('hookgate-gateway'), [], env, port);
    await this.waitReady(child, async () => (await getStatus(port, waitPath)) === 200);
    return child;
  }

  /** Starts hookgate-retry; waits for waitPath as startGateway does. */
  async startWorker(extraEnv = {}, { waitPath = '/readyz' } = {}) {
    const port = await freePort();
    const env = this.serviceEnv({ HOOKGATE_RETRY_ADDR: `127.0.0.1:${port}`, ...extraEnv });
    const child = this.spawnLogged('retry', this.binary('hookgate-retry'), [], env, port);
    await this.waitReady(child, async () => (await getStatus(port, waitPath)) === 200);
    return child;
  }

  /**
   * Starts hookgate-inspector with extra environment and waits until
   * `ready(port)` returns true, or by default until waitPath returns 200.
   * The inspector listens on `port`, or on a free port when it is null. It
   * serves the repository's web/ unless extraEnv sets HOOKGATE_WEB_DIR, and
   * gets HOOKGATE_GATEWAY_ADDR only when gatewayPort is given.
   */
  async startInspector(
    extraEnv = {},
    { port = null, gatewayPort = null, waitPath = '/readyz', ready = null } = {},
  ) {
    const listenPort = port === null ? await freePort() : port;
    const env = this.serviceEnv({
      HOOKGATE_WEB_DIR: path.join(REPO_ROOT, 'web'),
      HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${listenPort}`,
      ...(gatewayPort === null ? {} : { HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${gatewayPort}` }),
      ...extraEnv,
    });
    const file = this.binary('hookgate-inspector');
    const child = this.spawnLogged('inspector', file, [], env, listenPort);
    const check = ready
      ? () => ready(listenPort)
      : async () => (await getStatus(listenPort, waitPath)) === 200;
    await this.waitReady(child, check);
    return child;
  }

  /**
   * Runs a hookgate binary that is expected to exit by itself (such as on a
   * configuration error) and returns { code, signal, output }. Kills it
   * and throws if it still runs after timeoutMs.
   */
  async runToExit(binaryName, extraEnv, timeoutMs = 5000) {
    const env = this.serviceEnv(extraEnv);
    const child = this.spawnLogged(binaryName, this.binary(binaryName), [], env, null);
    if (!(await exitedWithin(child, timeoutMs))) {
      await this.kill9(child);
      throw new Error(`${binaryName} still ran after ${timeoutMs} ms:\n${tailFile(child.logFile, 20)}`);
    }
    return { code: child.exitCode, signal: child.exitSignal, output: fs.readFileSync(child.logFile, 'utf8') };
  }

  async waitReady(child, check) {
    try {
      await waitFor(
        async () => {
          if (!child.running) {
            const err = new Error(
              `${child.name} (pid ${child.pid}) exited with ` +
                `${child.exitSignal || child.exitCode} before it was ready`,
            );
            err.fatal = true;
            throw err;
          }
          return check();
        },
        { timeoutMs: READY_TIMEOUT_MS, description: `${child.name} (pid ${child.pid}) to be ready` },
      );
    } catch (err) {
      err.message += `\n--- ${child.logFile} ---\n${tailFile(child.logFile, LOG_TAIL_LINES)}`;
      throw err;
    }
  }

  /** Sends SIGTERM, then SIGKILL if the child still runs after 5 s. */
  async stop(child) {
    if (!child || !child.running) {
      return;
    }
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // exited already
    }
    const stopped = await exitedWithin(child, STOP_GRACE_MS);
    if (!stopped) {
      await this.kill9(child);
    }
  }

  /** Sends SIGKILL to the child's PID and waits until it is gone. */
  async kill9(child) {
    if (!child || !child.running) {
      return;
    }
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // exited already
    }
    const gone = await exitedWithin(child, KILL_WAIT_MS);
    if (!gone) {
      throw new Error(`${child.name} (pid ${child.pid}) still runs after SIGKILL`);
    }
  }

  /** Prints the tail of every log of this harness to stderr. */
  printLogTails(lines = LOG_TAIL_LINES) {
    for (const child of this.children) {
      process.stderr.write(
        `\n--- last ${lines} lines of ${child.logFile} (pid ${child.pid}) ---\n` +
          `${tailFile(child.logFile, lines)}\n`,
      );
    }
  }

  /**
   * Registers an object with a close() method (an API client, a receiver)
   * to be closed before the processes stop, and returns it. Closing
   * clients first lets the servers exit without open connections.
   */
  closeLater(closable) {
    this.closables.push(closable);
    return closable;
  }

  /**
   * Closes the registered objects, stops every child (hookgate first,
   * Redis last) and removes the temp dir.
   */
  async cleanup() {
    for (const closable of this.closables.reverse()) {
      try {
        await closable.close();
      } catch (err) {
        process.stderr.write(`closing a test client failed: ${err.message}\n`);
      }
    }
    this.closables = [];
    const order = [...this.children].reverse().sort((a, b) => {
      return (a.name === 'redis') - (b.name === 'redis');
    });
    for (const child of order) {
      await this.stop(child);
    }
    if (process.env.HOOKGATE_IT_KEEP_TMP === '1') {
      process.stderr.write(`kept ${this.dir}\n`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    liveDirs.delete(this.dir);
  }
}

/**
 * Creates a Harness for the calling test file and registers its hooks:
 * log tails after a failed test, and cleanup after the last test.
 */
function setupHarness(label) {
  const { after, afterEach } = require('node:test');
  const harness = new Harness(label);
  afterEach((t) => {
    // TestContext.passed exists from Node 20.12; without it, logs print always.
    if (t.passed !== true) {
      harness.printLogTails();
    }
  });
  after(() => harness.cleanup());
  return harness;
}

module.exports = {
  SECRET_KEY,
  ADMIN_KEY,
  BUILD_DIR,
  REPO_ROOT,
  Harness,
  freePort,
  getReady,
  getStatus,
  redisCli,
  redisRaw,
  scaled,
  setupHarness,
  sleep,
  tailFile,
  waitFor,
};
