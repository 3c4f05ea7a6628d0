'use strict';

// Servers that misbehave the way real webhook receivers do, for testing the
// delivery worker: one that accepts connections and never responds, one
// that streams a huge or endless response, and an https receiver with a
// self-signed certificate. A trap server records every connection it gets
// on a given address and port. Each listens only on the address the caller
// passes, which is loopback unless a test runs in a private network
// namespace.

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');

const { freePort } = require('./harness');

function listen(server, host, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address().port);
    });
  });
}

function closeServer(server, sockets) {
  for (const socket of sockets) {
    socket.destroy();
  }
  if (typeof server.closeAllConnections === 'function') {
    server.closeAllConnections();
  }
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Keeps every open socket of server in a set, so close() can destroy them. */
function trackSockets(server, onConnection = () => {}) {
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  return sockets;
}

/**
 * Starts a TCP server on 127.0.0.1 that accepts connections, reads what
 * arrives and never sends a byte, or only `greeting` once the first bytes
 * arrived. `connections` lists { openedAt, closedAt, bytesReceived } per
 * connection.
 */
async function startHangingServer({ greeting = null } = {}) {
  const connections = [];
  const server = net.createServer();
  const sockets = trackSockets(server, (socket) => {
    const record = { openedAt: Date.now(), closedAt: null, bytesReceived: 0 };
    connections.push(record);
    socket.on('data', (chunk) => {
      if (greeting !== null && record.bytesReceived === 0) {
        socket.write(greeting);
      }
      record.bytesReceived += chunk.length;
    });
    socket.on('close', () => {
      record.closedAt = Date.now();
    });
    socket.on('error', () => {});
  });
  const port = await listen(server, '127.0.0.1', 0);
  return {
    port,
    connections,
    url: (urlPath = '/hook') => `http://127.0.0.1:${port}${urlPath}`,
    close: () => closeServer(server, sockets),
  };
}

/**
 * Starts an HTTP server on 127.0.0.1 that responds to every request with
 * `status` and a body of `totalBytes` bytes (Infinity: until the client
 * hangs up), written in chunks of chunkBytes as fast as the client reads.
 * A finite body is sent with Content-Length, an endless one chunked. With
 * stallAfterBytes, the server stops writing after that many bytes and keeps
 * the connection open. `responses` lists { startedAt, bytesWritten,
 * finished, closedAt } per request, where finished means the whole body
 * went out and closedAt is when the connection closed.
 */
async function startStreamingServer({ status = 200, totalBytes, chunkBytes = 65536, stallAfterBytes = Infinity }) {
  const chunk = Buffer.alloc(chunkBytes, 'z');
  const responses = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const record = { startedAt: Date.now(), bytesWritten: 0, finished: false, closedAt: null };
      responses.push(record);
      res.on('close', () => {
        record.closedAt = Date.now();
      });
      res.on('error', () => {});
      const headers = { 'Content-Type': 'text/plain' };
      if (Number.isFinite(totalBytes)) {
        headers['Content-Length'] = String(totalBytes);
      }
      res.writeHead(status, headers);
      const pump = () => {
        const limit = Math.min(totalBytes, stallAfterBytes);
        while (!res.destroyed && record.bytesWritten < limit) {
          const size = Math.min(chunkBytes, limit - record.bytesWritten);
          const more = res.write(size === chunkBytes ? chunk : chunk.subarray(0, size));
          record.bytesWritten += size;
          if (!more) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed && record.bytesWritten === totalBytes) {
          res.end(() => {
            record.finished = true;
          });
        }
      };
      pump();
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return {
    port,
    responses,
    url: (urlPath = '/hook') => `http://127.0.0.1:${port}${urlPath}`,
    close: () => closeServer(server, sockets),
  };
}

function runOpenssl(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\nopenssl ${args.join(' ')}\n${stderr}`;
        reject(err);
        return;
      }
      resolve(stdout);
    });
  });
}

/**
 * Generates a self-signed RSA certificate for CN=localhost, valid one day,
 * into dir with the openssl command-line tool. Returns { keyFile, certFile }.
 */
async function createSelfSignedCertificate(dir) {
  const keyFile = path.join(dir, 'self-signed-key.pem');
  const certFile = path.join(dir, 'self-signed-cert.pem');
  await runOpenssl(
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
      '-subj', '/CN=localhost',
      '-days', '1',
      '-keyout', keyFile,
      '-out', certFile,
    ],
    30000,
  );
  return { keyFile, certFile };
}

/**
 * Starts an https receiver on 127.0.0.1 with the given key and certificate
 * that responds with 200. `handshakes` counts TLS handshakes that began, `tlsErrors`
 * lists the errors of those that failed, and `requests` lists the HTTP
 * requests that made it through.
 */
async function startTlsReceiver({ keyFile, certFile }) {
  const requests = [];
  const tlsErrors = [];
  let handshakes = 0;
  const server = https.createServer(
    { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        requests.push({ method: req.method, path: req.url, headers: { ...req.headers } });
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    },
  );
  server.on('connection', () => {
    handshakes += 1;
  });
  server.on('tlsClientError', (err) => tlsErrors.push(err.message));
  const sockets = trackSockets(server);
  const port = await listen(server, '127.0.0.1', 0);
  return {
    port,
    requests,
    tlsErrors,
    get handshakes() {
      return handshakes;
    },
    close: () => closeServer(server, sockets),
  };
}

/**
 * An HTTP server that responds with 200 to any request and records every
 * connection and request it gets, so a test can show that nothing reached
 * it. Listens on one address and port given by the caller.
 */
class Trap {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.connections = [];
    this.requests = [];
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          method: req.method,
          path: req.url,
          headers: { ...req.headers },
          body: Buffer.concat(chunks),
          receivedAt: Date.now(),
        });
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('trapped');
      });
    });
    this.sockets = trackSockets(this.server, (socket) => {
      this.connections.push({ remoteAddress: socket.remoteAddress, openedAt: Date.now() });
    });
  }

  async start() {
    await listen(this.server, this.host, this.port);
    return this;
  }

  /** Returns the requests whose webhook-id header equals webhookId. */
  requestsFor(webhookId) {
    return this.requests.filter((r) => r.headers['webhook-id'] === webhookId);
  }

  close() {
    return closeServer(this.server, this.sockets);
  }
}

/** Starts a Trap on host:port. */
function startTrap(host, port) {
  return new Trap(host, port).start();
}

/**
 * Starts a Trap on each of hosts, all on one port that was free on every
 * one of them. Tries new ports when another process uses the port on one
 * of the hosts. Returns { port, traps } with traps keyed by host.
 */
async function startTrapsOnOnePort(hosts, attempts = 20) {
  let lastError = null;
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    const traps = {};
    try {
      for (const host of hosts) {
        traps[host] = await startTrap(host, port);
      }
      return { port, traps };
    } catch (err) {
      lastError = err;
      await Promise.all(Object.values(traps).map((trap) => trap.close()));
      if (err.code !== 'EADDRINUSE') {
        throw err;
      }
    }
  }
  throw new Error(`no port was free on ${hosts.join(', ')} after ${attempts} tries: ${lastError.message}`);
}

/** Returns the resident set size of a process in KiB, from /proc/<pid>/status. */
function residentKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) {
    throw new Error(`no VmRSS line in /proc/${pid}/status`);
  }
  return Number(match[1]);
}

module.exports = {
  createSelfSignedCertificate,
  residentKiB,
  startHangingServer,
  startStreamingServer,
  startTlsReceiver,
  startTrap,
  startTrapsOnOnePort,
};
