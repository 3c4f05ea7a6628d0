'use strict';

// Building blocks of the fault suite. A receiver fails on command and
// records each event it got. A publisher sends events at a steady rate to
// whichever gateways are running. The accounting compares what was accepted
// with what arrived.

const http = require('node:http');

const { sleep } = require('../../integration/lib/harness');

const PUBLISH_TIMEOUT_MS = 5000;
// A publish that got no 202 is sent again with the same Idempotency-Key,
// as a client should. The gateway then returns the same event id, so a
// retry never creates a second event.
const PUBLISH_ATTEMPTS = 4;
const PUBLISH_RETRY_DELAY_MS = 300;
// Maximum publishes waiting for a response at once. Past it a tick is
// skipped and counted, so a stalled gateway cannot make the suite queue
// without bound.
const MAX_OUTSTANDING = 2000;

/**
 * Webhook receiver with four modes: 'ok' (200), 'error' (500), 'hang'
 * (never responds) and 'reset' (destroys the socket). Only requests answered
 * in 'ok' mode count as delivered. For each event (the `uid` in the body)
 * it keeps the webhook-id headers and the number of 200 answers.
 */
class FaultReceiver {
  constructor() {
    this.mode = 'ok';
    this.events = new Map();
    this.requests = 0;
    this.answeredOk = 0;
    this.failedOnPurpose = 0;
    this.unparsable = 0;
    this.hung = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  url(urlPath = '/hook') {
    return `http://127.0.0.1:${this.port}${urlPath}`;
  }

  setMode(mode) {
    this.mode = mode;
    if (mode !== 'hang') {
      for (const res of this.hung) {
        res.socket?.destroy();
      }
      this.hung.clear();
    }
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      this.requests++;
      const mode = this.mode;
      if (mode === 'reset') {
        this.failedOnPurpose++;
        req.socket.destroy();
        return;
      }
      if (mode === 'hang') {
        this.failedOnPurpose++;
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        return;
      }
      if (mode === 'error') {
        this.failedOnPurpose++;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('failing on purpose');
        return;
      }
      this.record(req.headers['webhook-id'], Buffer.concat(chunks));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  }

  record(webhookId, body) {
    let uid;
    try {
      uid = JSON.parse(body.toString('utf8')).uid;
    } catch {
      uid = undefined;
    }
    if (typeof uid !== 'string') {
      this.unparsable++;
      return;
    }
    this.answeredOk++;
    let entry = this.events.get(uid);
    if (!entry) {
      entry = { webhookIds: new Set(), count: 0 };
      this.events.set(uid, entry);
    }
    entry.webhookIds.add(String(webhookId));
    entry.count++;
  }

  async close() {
    this.setMode('ok');
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Sends one publish; resolves { status, eventId } or { error }. */
function publishOnce(agent, port, integrationId, apiKey, body, key) {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/integrations/${integrationId}/events`,
        agent,
        timeout: PUBLISH_TIMEOUT_MS,
        headers: {
          Authorization: `Bearer ${apiKey}`,
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'Idempotency-Key': key,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          let eventId = null;
          if (res.statusCode === 202) {
            try {
              eventId = JSON.parse(Buffer.concat(chunks).toString('utf8')).id;
            } catch {
              eventId = null;
            }
          }
          resolve({ status: res.statusCode, eventId });
        });
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

/**
 * Publishes `rate` events per second, each with a unique uid, to a random
 * running gateway from gatewayPorts(). Records, per accepted uid, the event
 * id of the 202 and the time it arrived.
 */
class Publisher {
  constructor({ label, integrationId, apiKey, gatewayPorts, rate }) {
    this.label = label;
    this.integrationId = integrationId;
    this.apiKey = apiKey;
    this.gatewayPorts = gatewayPorts;
    this.rate = rate;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.accepted = new Map();
    this.sent = 0;
    this.gaveUp = 0;
    this.retries = 0;
    this.skippedTicks = 0;
    this.statuses = {};
    // Seconds since start in which at least one publish got no 202.
    this.failedSeconds = new Set();
    this.outstanding = new Set();
    this.timer = null;
  }

  start() {
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((this.rate * tickMs) / 1000));
    this.startedAt = Date.now();
    this.timer = setInterval(() => {
      if (this.outstanding.size >= MAX_OUTSTANDING) {
        this.skippedTicks++;
        return;
      }
      for (let i = 0; i < perTick; i++) {
        const promise = this.publishOne(this.sent++);
        this.outstanding.add(promise);
        promise.finally(() => this.outstanding.delete(promise));
      }
    }, tickMs);
  }

  /** Stops sending and waits for the publishes still in progress. */
  async stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.stoppedAt = Date.now();
    await Promise.all([...this.outstanding]);
    this.agent.destroy();
  }

  pickPort() {
    const ports = this.gatewayPorts();
    if (ports.length === 0) {
      return null;
    }
    return ports[Math.floor(Math.random() * ports.length)];
  }

  async publishOne(sequence) {
    const uid = `${this.label}-${sequence}-${Math.random().toString(36).slice(2, 10)}`;
    const body = JSON.stringify({ type: 'fault.test', uid, sequence });
    for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        this.retries++;
        await sleep(PUBLISH_RETRY_DELAY_MS);
      }
      const port = this.pickPort();
      if (port === null) {
        continue;
      }
      const result = await publishOnce(this.agent, port, this.integrationId, this.apiKey, body, uid);
      const label = result.error ? 'network error' : String(result.status);
      this.statuses[label] = (this.statuses[label] || 0) + 1;
      if (result.status !== 202) {
        this.failedSeconds.add(Math.floor((Date.now() - this.startedAt) / 1000));
      }
      if (result.status === 202 && typeof result.eventId === 'string') {
        this.accepted.set(uid, { eventId: result.eventId, ackedAt: Date.now() });
        return;
      }
    }
    this.gaveUp++;
  }
}

/**
 * Compares accepted events with the receiver's records. Returns the counts
 * and the uids that are missing or that arrived with more than one
 * webhook-id or with a webhook-id other than the event id of their 202.
 */
function account(publisher, receiver) {
  const missing = [];
  const mismatched = [];
  let delivered = 0;
  let duplicates = 0;
  for (const [uid, acceptance] of publisher.accepted) {
    const entry = receiver.events.get(uid);
    if (!entry) {
      missing.push(uid);
      continue;
    }
    delivered++;
    duplicates += entry.count - 1;
    if (entry.webhookIds.size !== 1 || !entry.webhookIds.has(acceptance.eventId)) {
      mismatched.push({ uid, eventId: acceptance.eventId, webhookIds: [...entry.webhookIds] });
    }
  }
  return { accepted: publisher.accepted.size, delivered, duplicates, missing, mismatched };
}

/** Polls until every accepted event arrived or timeoutMs passed; returns account(). */
async function waitDelivered(publisher, receiver, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = account(publisher, receiver);
    if (result.missing.length === 0 || Date.now() >= deadline) {
      return result;
    }
    await sleep(250);
  }
}

module.exports = { FaultReceiver, Publisher, account, waitDelivered };
