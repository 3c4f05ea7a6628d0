'use strict';
// Opens N live feed streams (GET /api/v1/inspector/stream with the admin key
// as bearer, one TCP connection each) and publishes one event through the
// gateway. Prints one JSON line with the time from the publish request until
// every stream carried a message with the event's id, the connect time of
// all streams, and the inspector's resident memory before, with all streams
// open and after the event.
//   node bench/sse.js --inspector URL --ingest URL --key K --admin-key A
//                     --clients 1000 --inspector-pid PID
const fs = require('node:fs');
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const clients = Number(args.clients || 1000);
const inspector = new URL('/api/v1/inspector/stream', args.inspector);
const TIMEOUT_MS = 30000;

const rssKiB = () => {
  const status = fs.readFileSync(`/proc/${args['inspector-pid']}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
};
const now = () => performance.now();

function openStream(onText) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: inspector.hostname, port: inspector.port, path: inspector.pathname, agent: false,
      headers: { authorization: `Bearer ${args['admin-key']}`, accept: 'text/event-stream' },
    }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`stream request returned ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', onText);
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  });
}

function publish() {
  return fetch(args.ingest, {
    method: 'POST',
    headers: { authorization: `Bearer ${args.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'booking.created', booking_id: 'bk_sse_probe' }),
  });
}

async function main() {
  // Warms the client's connection and the gateway's caches, so the timed
  // publish costs what a publish costs.
  await (await publish()).text();
  const rssBefore = rssKiB();
  const seen = new Array(clients).fill(null);
  const buffers = new Array(clients).fill('');
  let eventId = null;
  let t0 = 0;
  let seenCount = 0;
  let resolveAll;
  const allSeen = new Promise((resolve) => { resolveAll = resolve; });

  const check = (i) => {
    if (seen[i] === null && eventId && buffers[i].includes(eventId)) {
      seen[i] = now() - t0;
      buffers[i] = '';
      if (++seenCount === clients) resolveAll();
    }
  };
  const connectStart = now();
  const requests = [];
  for (let i = 0; i < clients; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 50); j++) {
      batch.push(openStream((text) => {
        if (seen[j] !== null) return;
        // Keeps the text since the publish; the id is matched once known.
        if (t0) buffers[j] += text;
        check(j);
      }));
    }
    requests.push(...(await Promise.all(batch)));
  }
  const connectMs = now() - connectStart;
  await new Promise((r) => setTimeout(r, 1000));
  const rssOpen = rssKiB();

  t0 = now();
  const res = await publish();
  const publishMs = now() - t0;
  eventId = (await res.json()).id;
  for (let i = 0; i < clients; i++) check(i);
  const timer = setTimeout(() => resolveAll(), TIMEOUT_MS);
  await allSeen;
  clearTimeout(timer);
  const rssAfter = rssKiB();
  for (const req of requests) req.destroy();

  const times = seen.filter((v) => v !== null).sort((a, b) => a - b);
  const pct = (p) => (times.length ? Math.round(times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)] * 10) / 10 : null);
  console.log(JSON.stringify({
    clients, connected: requests.length, saw_event: times.length, publish_status: res.status,
    publish_ms: Math.round(publishMs * 10) / 10,
    connect_all_ms: Math.round(connectMs),
    all_saw_event_ms: times.length === clients ? pct(100) : null,
    // Negative when every stream had the event before the 202 arrived.
    all_saw_event_after_202_ms: times.length === clients ? Math.round((pct(100) - publishMs) * 10) / 10 : null,
    first_ms: pct(0.1), p50_ms: pct(50), p99_ms: pct(99),
    inspector_rss_kib: { before: rssBefore, streams_open: rssOpen, after_event: rssAfter },
    rss_per_stream_kib: Math.round(((rssOpen - rssBefore) / clients) * 10) / 10,
  }));
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
