'use strict';

// A webhook receiver on 127.0.0.1 that records every request and responds
// as its script returns. A script maps the index of a request (0 for the
// first one this receiver got) and the request record to a response
// description { status, delayMs, body, headers }.

const http = require('node:http');

const { waitFor } = require('./harness');

/** Responds with statuses[i] to request i, and with the last status after that. */
function sequence(statuses, delayMs = 0) {
  return (index) => ({
    status: statuses[Math.min(index, statuses.length - 1)],
    delayMs,
  });
}

/** Responds to every request with the same status after delayMs. */
function always(status, delayMs = 0) {
  return () => ({ status, delayMs });
}

class Receiver {
  constructor(script = always(200)) {
    this.script = script;
    this.requests = [];
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    this.timers = new Set();
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  /** Returns the URL of this receiver. The path lets several endpoints share one receiver. */
  url(urlPath = '/hook') {
    return `http://127.0.0.1:${this.port}${urlPath}`;
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const index = this.requests.length;
      const record = {
        index,
        method: req.method,
        path: req.url,
        headers: { ...req.headers },
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
        answeredAt: null,
        status: null,
      };
      this.requests.push(record);

      const planned = { status: 200, delayMs: 0, body: '', headers: {}, ...this.script(index, record) };
      const reply = () => {
        this.timers.delete(timer);
        record.answeredAt = Date.now();
        record.status = planned.status;
        if (res.destroyed) {
          return;
        }
        res.writeHead(planned.status, { 'Content-Type': 'text/plain', ...planned.headers });
        res.end(planned.body);
      };
      const timer = setTimeout(reply, planned.delayMs);
      this.timers.add(timer);
    });
  }

  /** Returns the requests whose webhook-id header equals webhookId, in arrival order. */
  requestsFor(webhookId) {
    return this.requests.filter((r) => r.headers['webhook-id'] === webhookId);
  }

  /** Waits until at least count requests match filter (default: all). */
  waitForRequests(count, { timeoutMs, filter = () => true }) {
    return waitFor(
      () => {
        const matching = this.requests.filter(filter);
        return matching.length >= count ? matching : null;
      },
      { timeoutMs, intervalMs: 50, description: `${count} request(s) at the receiver on port ${this.port}` },
    );
  }

  async close() {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts a receiver with the given script. */
function startReceiver(script) {
  return new Receiver(script).start();
}

module.exports = { Receiver, always, sequence, startReceiver };
