'use strict';

// Deployment files and release metadata. The build machine runs neither
// systemd as PID 1, nor a container runtime, nor Kubernetes, so the files
// under deploy/ are checked as far as that allows. Every YAML file is
// parsed. Every binary, path, port, variable, probe and package the files
// name is compared with the built binaries (whose --help lists the
// variables each reads), with deploy/common.sh and with the repository.
// The systemd units also go through `systemd-analyze verify` when it is
// installed. The container health check script and the placeholder Secret
// values run for real against the built binaries. The file also checks
// --version and the Server header of all three processes, which run on
// 127.0.0.1 with a private redis-server.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { before, test } = require('node:test');
const YAML = require('yaml');

const {
  ADMIN_KEY,
  BUILD_DIR,
  REPO_ROOT,
  freePort,
  getStatus,
  scaled,
  setupHarness,
  sleep,
} = require('./lib/harness');

const harness = setupHarness('deploy');

const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
const SYSTEMD_DIR = path.join(DEPLOY_DIR, 'systemd');
const CONTAINER_DIR = path.join(DEPLOY_DIR, 'container');
const KUBERNETES_DIR = path.join(DEPLOY_DIR, 'kubernetes');
const HEALTHCHECK_SCRIPT = path.join(CONTAINER_DIR, 'hookgate-healthcheck');

// Service name, build subdirectory and listen variable of each binary.
const SERVICES = {
  gateway: { binary: 'hookgate-gateway', addrVar: 'HOOKGATE_GATEWAY_ADDR' },
  retry: { binary: 'hookgate-retry', addrVar: 'HOOKGATE_RETRY_ADDR' },
  inspector: { binary: 'hookgate-inspector', addrVar: 'HOOKGATE_INSPECTOR_ADDR' },
};
const BINARY_NAMES = Object.values(SERVICES).map((s) => s.binary);
// The inspector serves at most this many live feed clients by default and
// keeps this many more descriptors for everything else (inspector/feed.c).
const FEED_DEFAULT_MAX_CLIENTS = 10000;
const FEED_FD_RESERVE = 256;

/** Returns the path of a built binary, such as hookgate-retry. */
function binaryPath(binary) {
  const subdir = binary.replace(/^hookgate-/, '');
  return path.join(BUILD_DIR, subdir, binary);
}

/** Runs a command and returns { status, stdout, stderr }; throws if it cannot start. */
function run(file, args, options = {}) {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: scaled(20000), ...options });
  if (result.error) {
    throw new Error(`${file} ${args.join(' ')} failed to run: ${result.error.message}`);
  }
  return result;
}

/** Returns the variables a binary lists in --help, as a Map of name to default. */
function helpVariables(binary) {
  const out = run(binaryPath(binary), ['--help']);
  assert.equal(out.status, 0, `${binary} --help exited with ${out.status}: ${out.stderr}`);
  const variables = new Map();
  const pattern = /^ {2}(HOOKGATE_[A-Z0-9_]+)\n\s+.*\(default: (.*)\)$/gm;
  for (const match of out.stdout.matchAll(pattern)) {
    variables.set(match[1], match[2]);
  }
  assert.ok(variables.size > 10, `${binary} --help lists only ${variables.size} variables:\n${out.stdout}`);
  return variables;
}

function projectVersion() {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');
  const match = /project\(hookgate VERSION (\d+\.\d+\.\d+)/.exec(text);
  assert.ok(match, 'CMakeLists.txt has no project(hookgate VERSION x.y.z)');
  return match[1];
}

const VERSION = projectVersion();
const IMAGE = `hookgate:${VERSION}`;
const HELP = Object.fromEntries(BINARY_NAMES.map((b) => [b, helpVariables(b)]));
const ALL_VARIABLES = new Set(Object.values(HELP).flatMap((vars) => [...vars.keys()]));

function shutdownDefaultMs() {
  const value = HELP['hookgate-gateway'].get('HOOKGATE_SHUTDOWN_TIMEOUT_MS');
  assert.ok(value !== undefined, 'hookgate-gateway --help does not list HOOKGATE_SHUTDOWN_TIMEOUT_MS');
  return Number(value);
}

/** Parses a systemd unit into { section: { key: [values] } }. */
function parseUnit(text) {
  const unit = {};
  let section = null;
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) {
      continue;
    }
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      unit[section] = unit[section] || {};
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section, `unit line before the first section: ${line}`);
    assert.ok(eq > 0, `unit line without '=': ${line}`);
    const key = line.slice(0, eq).trim();
    (unit[section][key] = unit[section][key] || []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

/** Returns the last value of a unit setting (systemd lets later lines win). */
function unitValue(unit, key) {
  const values = unit.Service[key];
  return values ? values[values.length - 1] : undefined;
}

function seconds(value) {
  const match = /^(\d+)(s|min)?$/.exec(value);
  assert.ok(match, `cannot read ${value} as seconds`);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
}

/** Parses a Dockerfile into stages of { from, name, instructions: [{ op, args }] }. */
function parseDockerfile(text) {
  const stages = [];
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n');
  for (const line of lines) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) {
      assert.equal(line.trim(), '', `unreadable Dockerfile line: ${line}`);
      continue;
    }
    const [, op, args] = match;
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.trim());
      stages.push({ from: from[1], name: from[2], instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `${op} before the first FROM`);
    stages[stages.length - 1].instructions.push({ op, args: args.trim().replace(/\s+/g, ' ') });
  }
  return stages;
}

/** Returns the packages of every `apt-get install` in a stage. */
function aptPackages(stage) {
  const packages = [];
  for (const { op, args } of stage.instructions) {
    if (op !== 'RUN') {
      continue;
    }
    for (const command of args.split('&&')) {
      const words = command.trim().split(' ');
      const at = words.indexOf('install');
      if (words.includes('apt-get') && at > 0) {
        packages.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
      }
    }
  }
  return packages;
}

function stageArgs(stage, op) {
  return stage.instructions.filter((i) => i.op === op).map((i) => i.args);
}

/** Returns the Debian packages of deploy/common.sh HOOKGATE_BUILD_PACKAGES. */
function commonBuildPackages() {
  const out = run('bash', [
    '-c',
    '. "$1/deploy/common.sh" && printf "%s\\n" "${HOOKGATE_BUILD_PACKAGES[@]}"',
    'bash',
    REPO_ROOT,
  ]);
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.split('\n').filter(Boolean);
}

/**
 * Returns a Map from each binary to the Debian packages that hold the
 * shared libraries it links directly (NEEDED). libc6 is left out because
 * every Debian image has it, and so are the sanitizer runtimes of an ASan
 * build. Returns null when readelf, ldd or dpkg is missing.
 */
function linkedPackages(binaries) {
  const tools = [['readelf', '--version'], ['ldd', '--version'], ['dpkg', '--version']];
  if (tools.some(([tool, arg]) => spawnSync(tool, [arg]).error)) {
    return null;
  }
  const libraries = new Map();
  for (const binary of binaries) {
    const file = binaryPath(binary);
    const ldd = run('ldd', [file]);
    const paths = new Map();
    for (const match of ldd.stdout.matchAll(/^\s*(\S+) => (\S+)/gm)) {
      paths.set(match[1], match[2]);
    }
    const needed = [];
    for (const match of run('readelf', ['-d', file]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)) {
      if (!/^lib(asan|ubsan)\.so/.test(match[1])) {
        assert.ok(paths.has(match[1]), `ldd does not resolve ${match[1]} of ${binary}`);
        needed.push(paths.get(match[1]));
      }
    }
    libraries.set(binary, needed);
  }

  // With merged /usr, dpkg may know a file under /lib or /usr/lib only, so
  // both spellings are looked up. One dpkg call does all, because each call
  // reads the whole package database.
  const spellings = (file) => {
    const real = fs.realpathSync(file);
    return [...new Set([file, real].flatMap((f) => [f, f.startsWith('/usr/') ? f.slice(4) : `/usr${f}`]))];
  };
  const allPaths = [...new Set([...libraries.values()].flat().flatMap(spellings))];
  const owners = new Map();
  for (const line of run('dpkg', ['-S', ...allPaths]).stdout.split('\n')) {
    const match = /^([^:,]+)(?::[a-z0-9]+)?: (\/.+)$/.exec(line);
    if (match) {
      owners.set(match[2], match[1]);
    }
  }

  const result = new Map();
  for (const [binary, files] of libraries) {
    const packages = new Set();
    for (const file of files) {
      const pkg = spellings(file).map((f) => owners.get(f)).find(Boolean);
      assert.ok(pkg, `no Debian package holds ${file} (linked by ${binary})`);
      if (pkg !== 'libc6') {
        packages.add(pkg);
      }
    }
    result.set(binary, packages);
  }
  return result;
}

/** Parses every YAML document of a file; fails on any error or warning. */
function parseYamlFile(file) {
  const text = fs.readFileSync(file, 'utf8');
  const docs = YAML.parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const values = [];
  for (const doc of list) {
    assert.deepEqual(doc.errors.map(String), [], `${path.relative(REPO_ROOT, file)} has YAML errors`);
    assert.deepEqual(doc.warnings.map(String), [], `${path.relative(REPO_ROOT, file)} has YAML warnings`);
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value !== null) {
      values.push(value);
    }
  }
  return values;
}

/** Returns the port of a host:port listen address. */
function addrPort(addr) {
  const match = /:(\d+)$/.exec(addr);
  assert.ok(match, `${addr} is not host:port`);
  return Number(match[1]);
}

/** Returns the variable names of an environment file (NAME=value lines). */
function envFileNames(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z]/.test(line))
    .map((line) => line.split('=')[0]);
}

/** Sends one GET and resolves with the response head (status and headers). */
function getHead(port, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false, timeout: 5000 }, (res) => {
      resolve({ status: res.statusCode, headers: res.headers });
      // A live feed never ends, so the response is cut after its head.
      req.destroy();
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', (err) => {
      if (err.code !== 'ECONNRESET') {
        reject(err);
      }
    });
  });
}

/** Sends raw bytes and returns everything the server sends before it closes. */
function rawExchange(port, bytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('raw exchange timed out')));
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

/** Runs the container health check script with the given environment. */
function runHealthcheck(args, env) {
  return run('sh', [HEALTHCHECK_SCRIPT, ...args], { env: { PATH: process.env.PATH, ...env } });
}

let processes;

before(async () => {
  await harness.startRedis();
  const gateway = await harness.startGateway();
  const retry = await harness.startWorker();
  const port = await freePort();
  const env = harness.serviceEnv({
    HOOKGATE_INSPECTOR_ADDR: `127.0.0.1:${port}`,
    HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${gateway.port}`,
    HOOKGATE_WEB_DIR: path.join(REPO_ROOT, 'web'),
  });
  const inspector = harness.spawnLogged('inspector', binaryPath('hookgate-inspector'), [], env, port);
  await harness.waitReady(inspector, async () => (await getStatus(port, '/readyz')) === 200);
  processes = { gateway, retry, inspector };
});

// ---- release metadata -----------------------------------------------------

test('--version prints the project version', () => {
  for (const binary of BINARY_NAMES) {
    const out = run(binaryPath(binary), ['--version']);
    assert.equal(out.status, 0, `${binary} --version: ${out.stderr}`);
    assert.equal(out.stdout.trim(), `${binary} ${VERSION}`);
  }
});

test('Server header on every process', async () => {
  const expected = `hookgate/${VERSION}`;
  for (const [name, child] of Object.entries(processes)) {
    for (const urlPath of ['/healthz', '/readyz', '/no-such-route']) {
      const head = await getHead(child.port, urlPath);
      assert.equal(head.headers.server, expected, `${name} GET ${urlPath} (status ${head.status})`);
    }
  }
  // A problem+json reply of a route, and one sent before any route runs.
  const unauthorized = await getHead(processes.gateway.port, '/api/v1/integrations');
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.server, expected, 'gateway 401 reply');
  const raw = await rawExchange(
    processes.gateway.port,
    'POST /api/v1/integrations HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
  );
  assert.match(raw, /^HTTP\/1\.1 400 /, `early reject: ${raw.slice(0, 200)}`);
  assert.match(raw, new RegExp(`\r\nServer: ${expected.replace(/\./g, '\\.')}\r\n`), `early reject head: ${raw.slice(0, 400)}`);
  // A streamed reply (the live feed) writes its head on another path.
  const feed = await getHead(processes.inspector.port, '/api/v1/inspector/stream', {
    Authorization: `Bearer ${ADMIN_KEY}`,
  });
  assert.equal(feed.status, 200);
  assert.equal(feed.headers.server, expected, 'inspector live feed');
});

test('changelog has the project version', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
  assert.match(text, /^## \[Unreleased\]$/m);
  assert.match(text, new RegExp(`^## \\[${VERSION.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
});

// ---- systemd ----------------------------------------------------------------

const UNIT_FILES = BINARY_NAMES.map((b) => path.join(SYSTEMD_DIR, `${b}.service`));
// Settings every unit must carry, with their exact values.
const REQUIRED_UNIT_SETTINGS = {
  User: 'hookgate',
  EnvironmentFile: '/etc/hookgate/hookgate.env',
  Restart: 'on-failure',
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  MemoryDenyWriteExecute: 'yes',
  SystemCallFilter: '@system-service',
  CapabilityBoundingSet: '',
  ExecReload: '/bin/kill -HUP $MAINPID',
};

test('systemd units name real binaries and settings', () => {
  const shutdownS = shutdownDefaultMs() / 1000;
  for (const file of UNIT_FILES) {
    const binary = path.basename(file, '.service');
    const unit = parseUnit(fs.readFileSync(file, 'utf8'));
    const where = path.relative(REPO_ROOT, file);

    assert.equal(unitValue(unit, 'ExecStart'), `/usr/local/bin/${binary}`, where);
    assert.ok(fs.existsSync(binaryPath(binary)), `${binary} is not built`);
    for (const [key, value] of Object.entries(REQUIRED_UNIT_SETTINGS)) {
      assert.equal(unitValue(unit, key), value, `${where}: ${key}`);
    }
    assert.ok(
      seconds(unitValue(unit, 'TimeoutStopSec')) > shutdownS,
      `${where}: TimeoutStopSec must exceed the ${shutdownS} s shutdown deadline`,
    );
    const nofile = Number(unitValue(unit, 'LimitNOFILE'));
    assert.ok(nofile >= FEED_DEFAULT_MAX_CLIENTS + FEED_FD_RESERVE, `${where}: LimitNOFILE=${nofile}`);

    // Each variable set here must be one the binary reads, and each path
    // it points at must be inside the read-only paths.
    const readOnly = (unitValue(unit, 'ReadOnlyPaths') || '').split(' ').filter(Boolean);
    for (const setting of unit.Service.Environment || []) {
      const [name, value] = setting.split('=');
      assert.ok(HELP[binary].has(name), `${where}: ${binary} --help does not list ${name}`);
      if (value.startsWith('/usr/local/share/hookgate/')) {
        assert.ok(
          readOnly.some((p) => value === p || value.startsWith(`${p}/`)),
          `${where}: ${value} is outside ReadOnlyPaths`,
        );
      }
    }
  }
});

test('SIGHUP keeps processes running', async () => {
  // ExecReload in the units sends SIGHUP, whose default action would end
  // the process.
  for (const [name, child] of Object.entries(processes)) {
    process.kill(child.pid, 'SIGHUP');
    await sleep(200);
    assert.ok(child.running, `${name} exited on SIGHUP (${child.exitSignal || child.exitCode})`);
    assert.equal(await getStatus(child.port, '/healthz'), 200, `${name} after SIGHUP`);
  }
});

test('systemd units pass systemd-analyze verify', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).error) {
    t.skip('systemd-analyze is not installed; only the parser checks ran');
    return;
  }
  // verify needs ExecStart to exist, so the copies start the built binaries.
  const dir = fs.mkdtempSync(path.join(harness.dir, 'units-'));
  const copies = UNIT_FILES.map((file) => {
    const binary = path.basename(file, '.service');
    const copy = path.join(dir, path.basename(file));
    const text = fs.readFileSync(file, 'utf8');
    const replaced = text.replace(`ExecStart=/usr/local/bin/${binary}`, `ExecStart=${binaryPath(binary)}`);
    assert.notEqual(replaced, text, `${file}: ExecStart not found`);
    fs.writeFileSync(copy, replaced);
    return copy;
  });
  const out = run('systemd-analyze', ['verify', ...copies], { cwd: dir });
  // verify reports unknown keys and values as warnings with status 0.
  assert.equal(out.stderr, '', `systemd-analyze verify reported:\n${out.stderr}`);
  assert.equal(out.status, 0);
});

// ---- container --------------------------------------------------------------

const DOCKERFILE = path.join(CONTAINER_DIR, 'Dockerfile');

test('Dockerfile stages match deploy/common.sh', () => {
  const stages = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  assert.deepEqual(
    stages.map((s) => s.name),
    ['build', 'runtime'],
  );
  for (const stage of stages) {
    assert.match(stage.from, /^debian:12(-slim)?$/, `stage ${stage.name}`);
  }
  const [build, runtime] = stages;
  const common = commonBuildPackages();
  const buildPackages = aptPackages(build);
  const toolchain = common.filter((p) => p.endsWith('-dev') || ['build-essential', 'cmake', 'pkg-config'].includes(p));
  for (const pkg of toolchain) {
    assert.ok(buildPackages.includes(pkg), `build stage does not install ${pkg} of deploy/common.sh`);
  }
  for (const pkg of buildPackages) {
    assert.ok(common.includes(pkg), `build stage installs ${pkg}, which deploy/common.sh does not list`);
  }
  const cmake = stageArgs(build, 'RUN').find((args) => args.includes('cmake -S'));
  assert.ok(cmake, 'build stage runs no cmake');
  if (!buildPackages.includes('check')) {
    assert.match(cmake, /-DHOOKGATE_TESTS=OFF/, 'Check is not installed, so the tests must be off');
  }

  // The build stage copies every directory CMakeLists.txt adds.
  const cmakeLists = fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');
  const copied = stageArgs(build, 'COPY').map((args) => args.split(' ')[0].replace(/\/$/, ''));
  for (const match of cmakeLists.matchAll(/^add_subdirectory\((\S+)\)/gm)) {
    assert.ok(copied.includes(match[1]), `build stage does not copy ${match[1]}`);
  }

  const runtimePackages = aptPackages(runtime);
  for (const pkg of runtimePackages) {
    assert.ok(!pkg.endsWith('-dev'), `runtime stage installs the -dev package ${pkg}`);
    assert.ok(!toolchain.includes(pkg), `runtime stage installs the build tool ${pkg}`);
  }
  assert.ok(runtimePackages.includes('ca-certificates'), 'runtime stage needs ca-certificates for TLS deliveries');
  assert.ok(runtimePackages.includes('curl'), 'the health check runs curl');
});

test('Dockerfile runtime has linked libraries', (t) => {
  const runtime = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'))[1];
  const runtimePackages = aptPackages(runtime);
  const linked = linkedPackages(BINARY_NAMES);
  if (linked === null) {
    t.skip('readelf, ldd or dpkg is missing');
    return;
  }
  for (const [binary, packages] of linked) {
    assert.ok(packages.size >= 5, `${binary} links only ${[...packages]}`);
    for (const pkg of packages) {
      assert.ok(runtimePackages.includes(pkg), `runtime stage lacks ${pkg}, linked by ${binary}`);
    }
  }
});

test('Dockerfile paths, variables and ports exist', () => {
  const runtime = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'))[1];
  const env = {};
  for (const args of stageArgs(runtime, 'ENV')) {
    for (const pair of args.split(' ')) {
      const [name, value] = pair.split('=');
      env[name] = value;
    }
  }
  for (const name of Object.keys(env)) {
    assert.ok(ALL_VARIABLES.has(name), `Dockerfile sets ${name}, which no binary lists in --help`);
  }

  // COPY sources exist in the repository or the build directory, and the
  // path variables point at what was copied.
  const destinations = new Map();
  for (const args of stageArgs(runtime, 'COPY')) {
    const words = args.split(' ');
    const fromBuild = words[0] === '--from=build';
    const sources = words.slice(fromBuild ? 1 : 0, -1);
    const dest = words[words.length - 1];
    for (const source of sources) {
      if (fromBuild) {
        const binary = path.basename(source);
        assert.ok(BINARY_NAMES.includes(binary), `unknown binary ${source}`);
        assert.equal(source, `/build/${path.relative(BUILD_DIR, binaryPath(binary))}`);
        destinations.set(path.join(dest, binary), binary);
      } else {
        assert.ok(fs.existsSync(path.join(REPO_ROOT, source)), `COPY source ${source} does not exist`);
        destinations.set(dest.endsWith('/') && !source.endsWith('/') ? path.join(dest, path.basename(source)) : dest.replace(/\/$/, ''), source);
      }
    }
  }
  for (const binary of [...BINARY_NAMES, 'hookgate-healthcheck']) {
    assert.ok(destinations.has(`/usr/local/bin/${binary}`), `image lacks /usr/local/bin/${binary}`);
  }
  assert.equal(destinations.get(env.HOOKGATE_WEB_DIR), 'web/');
  assert.equal(destinations.get(env.HOOKGATE_OPENAPI), 'docs/openapi.json');
  const catalogDir = path.dirname(env.HOOKGATE_CATALOG);
  assert.equal(destinations.get(catalogDir), 'catalog/');
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'catalog', path.basename(env.HOOKGATE_CATALOG))));

  const exposed = stageArgs(runtime, 'EXPOSE').join(' ').split(' ').map(Number).sort();
  const listened = Object.values(SERVICES).map((s) => addrPort(env[s.addrVar])).sort();
  assert.deepEqual(exposed, listened);

  const user = stageArgs(runtime, 'USER')[0];
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'USER must be a numeric non-root id for runAsNonRoot');
  assert.match(stageArgs(runtime, 'HEALTHCHECK')[0], /CMD \["hookgate-healthcheck"\]$/);
  const cmd = JSON.parse(stageArgs(runtime, 'CMD')[0]);
  assert.ok(BINARY_NAMES.includes(cmd[0]), `CMD ${cmd}`);
});

test('health check script probes each process', async () => {
  for (const [service, spec] of Object.entries(SERVICES)) {
    const port = processes[service].port;
    const ok = runHealthcheck([service], { [spec.addrVar]: `127.0.0.1:${port}` });
    assert.equal(ok.status, 0, `${service}: ${ok.stderr}`);
    // 0.0.0.0 (listening on every interface) is checked on loopback.
    const any = runHealthcheck([service], { [spec.addrVar]: `0.0.0.0:${port}` });
    assert.equal(any.status, 0, `${service} on 0.0.0.0: ${any.stderr}`);
  }
  const closedPort = await freePort();
  const down = runHealthcheck(['gateway'], { HOOKGATE_GATEWAY_ADDR: `127.0.0.1:${closedPort}` });
  assert.equal(down.status, 1, 'a closed port must fail with exit code 1');
  const unknown = runHealthcheck(['nothing'], {});
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /pass gateway, retry or inspector/);
});

const COMPOSE_FILE = path.join(CONTAINER_DIR, 'compose.yaml');

test('compose file matches hookgate', () => {
  const [compose] = parseYamlFile(COMPOSE_FILE);
  const shutdownS = shutdownDefaultMs() / 1000;
  const envExample = path.join(CONTAINER_DIR, 'hookgate.env.example');
  for (const name of envFileNames(envExample)) {
    assert.ok(ALL_VARIABLES.has(name), `hookgate.env.example sets ${name}, which no binary lists`);
  }

  const redis = compose.services.redis;
  const redisArgs = redis.command.join(' ');
  assert.match(redisArgs, /--appendonly yes/);
  assert.match(redisArgs, /--appendfsync everysec/);
  assert.match(redisArgs, /--maxmemory-policy noeviction/);
  assert.match(redisArgs, /--requirepass \$\{HOOKGATE_REDIS_PASSWORD:\?/, 'Redis requires a password');
  assert.equal(redis.environment.REDISCLI_AUTH, '${HOOKGATE_REDIS_PASSWORD}', 'the health check authenticates');
  assert.ok(redis.volumes.some((v) => v.endsWith(':/data')), 'Redis keeps no volume at /data');
  assert.ok(redis.healthcheck, 'Redis has no health check');

  for (const [service, spec] of Object.entries(SERVICES)) {
    const svc = compose.services[service];
    assert.ok(svc, `compose has no service ${service}`);
    assert.equal(svc.image, IMAGE, service);
    assert.equal(svc.build.dockerfile, 'deploy/container/Dockerfile');
    assert.equal(path.resolve(CONTAINER_DIR, svc.build.context), REPO_ROOT);
    assert.equal(svc.env_file, 'hookgate.env', `${service}: the file hookgate.env.example is copied to`);
    assert.deepEqual(svc.command, [spec.binary]);
    for (const name of Object.keys(svc.environment)) {
      assert.ok(HELP[spec.binary].has(name), `${service}: ${spec.binary} --help does not list ${name}`);
    }
    assert.match(svc.environment.HOOKGATE_REDIS_URL, /^redis:\/\/:\$\{HOOKGATE_REDIS_PASSWORD\}@redis:6379\//);
    const port = addrPort(svc.environment[spec.addrVar]);
    const healthUrl = svc.healthcheck.test.find((w) => w.startsWith('http://'));
    assert.equal(healthUrl, `http://127.0.0.1:${port}/readyz`, `${service} health check`);
    for (const mapping of svc.ports || []) {
      assert.ok(mapping.endsWith(`:${port}`), `${service} publishes ${mapping}, not port ${port}`);
    }
    assert.equal(svc.depends_on.redis.condition, 'service_healthy', service);
    assert.ok(seconds(svc.stop_grace_period) > shutdownS, `${service} stop_grace_period`);
    assert.equal(svc.read_only, true);
    assert.deepEqual(svc.cap_drop, ['ALL']);
  }
  assert.equal(compose.services.inspector.depends_on.gateway.condition, 'service_healthy');
  assert.equal(compose.services.inspector.environment.HOOKGATE_INSPECTOR_GATEWAY_URL, 'http://gateway:8080');
  assert.ok(compose.services.inspector.ulimits.nofile.hard >= FEED_DEFAULT_MAX_CLIENTS + FEED_FD_RESERVE);
});

// ---- Kubernetes -------------------------------------------------------------

/** Returns every object of every YAML file in deploy/kubernetes. */
function kubernetesObjects() {
  const objects = [];
  for (const name of fs.readdirSync(KUBERNETES_DIR).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const value of parseYamlFile(path.join(KUBERNETES_DIR, name))) {
      assert.ok(value.apiVersion, `${name}: object without apiVersion`);
      assert.ok(value.kind, `${name}: object without kind`);
      assert.ok(value.metadata?.name, `${name}: ${value.kind} without metadata.name`);
      objects.push({ file: name, ...value });
    }
  }
  return objects;
}

function matchesSelector(labels, selector) {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

test('Kubernetes manifests match hookgate', () => {
  const objects = kubernetesObjects();
  const ofKind = (kind) => objects.filter((o) => o.kind === kind);
  const configMaps = new Map(ofKind('ConfigMap').map((o) => [o.metadata.name, o]));
  const secrets = new Map(ofKind('Secret').map((o) => [o.metadata.name, o]));
  const shutdownS = shutdownDefaultMs() / 1000;

  for (const cm of configMaps.values()) {
    for (const name of Object.keys(cm.data)) {
      assert.ok(ALL_VARIABLES.has(name), `ConfigMap ${cm.metadata.name}: no binary lists ${name}`);
    }
  }
  const secretKeys = [...secrets.values()].flatMap((s) => Object.keys(s.stringData || s.data || {}));
  assert.deepEqual(secretKeys.sort(), ['HOOKGATE_ADMIN_KEY', 'HOOKGATE_SECRET_KEY']);

  const deployments = ofKind('Deployment');
  assert.deepEqual(
    deployments.map((d) => d.spec.template.spec.containers[0].command[0]).sort(),
    [...BINARY_NAMES].sort(),
  );
  for (const deployment of deployments) {
    const where = `${deployment.file} ${deployment.metadata.name}`;
    const pod = deployment.spec.template.spec;
    const labels = deployment.spec.template.metadata.labels;
    assert.ok(matchesSelector(labels, deployment.spec.selector.matchLabels), `${where}: selector`);
    assert.equal(pod.containers.length, 1, where);
    const container = pod.containers[0];
    const binary = container.command[0];
    const service = binary.replace(/^hookgate-/, '');
    assert.equal(container.image, IMAGE, where);

    // Variables, and the listen port that the probes and the Service use.
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    for (const name of Object.keys(env)) {
      assert.ok(HELP[binary].has(name), `${where}: ${binary} --help does not list ${name}`);
    }
    for (const source of container.envFrom) {
      if (source.configMapRef) {
        assert.ok(configMaps.has(source.configMapRef.name), `${where}: no ConfigMap ${source.configMapRef.name}`);
      } else {
        assert.ok(secrets.has(source.secretRef.name), `${where}: no Secret ${source.secretRef.name}`);
      }
    }
    const port = addrPort(env[SERVICES[service].addrVar]);
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: port }], where);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' }, where);
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' }, where);

    for (const kind of ['requests', 'limits']) {
      assert.ok(container.resources[kind].cpu, `${where}: resources.${kind}.cpu`);
      assert.ok(container.resources[kind].memory, `${where}: resources.${kind}.memory`);
    }
    assert.equal(pod.securityContext.runAsNonRoot, true, where);
    assert.ok(pod.securityContext.runAsUser > 0, where);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true, where);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false, where);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], where);

    const preStop = container.lifecycle?.preStop?.exec?.command;
    const preStopS = preStop ? Number(preStop[1]) : 0;
    assert.ok(
      pod.terminationGracePeriodSeconds > preStopS + shutdownS,
      `${where}: terminationGracePeriodSeconds must exceed the preStop sleep and the shutdown deadline`,
    );

    const services = ofKind('Service').filter((s) => matchesSelector(labels, s.spec.selector));
    assert.equal(services.length, 1, `${where}: Services selecting it`);
    assert.deepEqual(services[0].spec.ports.map((p) => p.targetPort), ['http'], where);
    const budgets = ofKind('PodDisruptionBudget').filter((p) => matchesSelector(labels, p.spec.selector.matchLabels));
    assert.equal(budgets.length, 1, `${where}: PodDisruptionBudgets selecting it`);
  }
});

test('placeholder Secret values are rejected', async () => {
  const [secret] = parseYamlFile(path.join(KUBERNETES_DIR, 'secret.yaml'));
  const cases = [
    ['HOOKGATE_ADMIN_KEY', secret.stringData.HOOKGATE_ADMIN_KEY],
    ['HOOKGATE_SECRET_KEY', secret.stringData.HOOKGATE_SECRET_KEY],
  ];
  for (const [name, value] of cases) {
    const result = await harness.runToExit('hookgate-gateway', { [name]: value });
    assert.notEqual(result.code, 0, `the gateway started with the placeholder ${name}`);
    assert.match(result.output, new RegExp(name), `the error names ${name}`);
    assert.ok(!result.output.includes(value), `the rejected ${name} value is logged`);
  }
});

/** Returns the GitHub anchors of a Markdown file's headings. */
function headingAnchors(file) {
  const anchors = new Set();
  for (const match of fs.readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)) {
    anchors.add(
      match[1]
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}

test('deployment docs link existing files', () => {
  const docs = [path.join(REPO_ROOT, 'docs', 'operations.md'), path.join(KUBERNETES_DIR, 'README.md')];
  for (const doc of docs) {
    const where = path.relative(REPO_ROOT, doc);
    const text = fs.readFileSync(doc, 'utf8');
    for (const match of text.matchAll(/\]\(([^)#\s]*)(?:#([^)]*))?\)/g)) {
      const [, target, anchor] = match;
      if (/^[a-z]+:/.test(target)) {
        continue;
      }
      const file = target === '' ? doc : path.resolve(path.dirname(doc), target);
      assert.ok(fs.existsSync(file), `${where} links ${target}, which does not exist`);
      if (anchor) {
        assert.ok(headingAnchors(file).has(anchor), `${where} links ${target}#${anchor}, which has no such heading`);
      }
    }
  }
});
