'use strict';
// Publishes the 600-byte event of event.json over keep-alive HTTP (node:http,
// no dependencies) and prints one JSON line with the counts and the 202
// latency.
//   node bench/loadgen.js --url URL --auth 'Bearer K' --n 100000 --concurrency 64
//       closed loop: N events, at most `concurrency` in flight;
//   node bench/loadgen.js --url URL --auth 'Bearer K' --rate 5000 --duration 8 --warmup 3
//       open loop: events start on a fixed schedule whatever the answers,
//       first `warmup` seconds with tag w<TAG> (not counted), then
//       `duration` seconds with tag TAG.
// Body ids are "evt_<tag>_<salt>_<seq>" (tag padded to 5 characters, so the
// body stays 600 bytes); sent_at_ms is the send time in epoch milliseconds
// with microseconds, which the sink subtracts from its arrival time.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const url = new URL(args.url);
const total = Number(args.n || 0);
const concurrency = Number(args.concurrency || 64);
const rate = Number(args.rate || 0);
const durationS = Number(args.duration || 8);
const warmupS = Number(args.warmup || 0);
const timeoutMs = Number(args.timeout || 10000);
const auth = args.auth || '';
const tag = String(args.tag || 'x').replace(/[^A-Za-z0-9]/g, '').slice(0, 4);

const template = fs.readFileSync(path.join(__dirname, 'event.json'), 'utf8').trimEnd();
const [head, rest] = template.split('__ID__');
const [middle, tail] = rest.split('__TS__');
const nowMs = () => performance.timeOrigin + performance.now();
const salt = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
const agent = new http.Agent({ keepAlive: true, maxSockets: rate ? 512 : concurrency });

let seq = 0;
let sent = 0;
let accepted = 0;
let rejected = 0;
let errors = 0;
let warmupCount = 0;
const latencies = [];
const statuses = {};

function publish(onDone) {
  seq++;
  const warm = seq <= warmupCount;
  const id = `evt_${(warm ? 'w' : '') + tag}`.padEnd(9, 'x').slice(0, 9) +
    `_${salt}_${String(seq).padStart(10, '0')}`;
  const t0 = nowMs();
  const body = head + id + middle + t0.toFixed(3) + tail;
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (auth) headers.authorization = auth;
  sent++;
  const req = http.request({
    host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers, timeout: timeoutMs,
  }, (res) => {
    res.resume();
    res.on('end', () => {
      statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
      if (!warm) {
        if (res.statusCode >= 200 && res.statusCode < 300) {
          accepted++;
          latencies.push(nowMs() - t0);
        } else {
          rejected++;
        }
      }
      onDone();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { if (!warm) errors++; onDone(); });
  req.end(body);
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return Math.round(v * 1000) / 1000;
}

const start = nowMs();
let measureStart = start;
function report() {
  const elapsed = (nowMs() - measureStart) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    mode: rate ? 'paced' : 'bulk', target_rate: rate || null, tag,
    sent: sent - warmupCount, accepted, non_2xx: rejected, errors, status: statuses,
    elapsed_s: Math.round(elapsed * 1000) / 1000,
    accepted_per_s: Math.round(accepted / elapsed),
    ingest_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  }));
  agent.destroy();
}

if (rate > 0) {
  warmupCount = Math.round(rate * warmupS);
  measureStart = start + warmupS * 1000;
  const count = warmupCount + Math.round(rate * durationS);
  let done = 0;
  const onDone = () => { if (++done === count) report(); };
  const timer = setInterval(() => {
    const due = Math.min(count, Math.floor(((nowMs() - start) / 1000) * rate));
    while (sent < due) publish(onDone);
    if (sent >= count) clearInterval(timer);
  }, 1);
  // Bounded: answers missing timeoutMs after the schedule ended count as errors.
  setTimeout(() => {
    if (done < count) { errors += count - done; report(); process.exit(0); }
  }, (warmupS + durationS) * 1000 + timeoutMs + 1000).unref();
} else {
  let done = 0;
  const next = () => {
    done++;
    if (sent < total) publish(next);
    else if (done === total) report();
  };
  for (let i = 0; i < Math.min(concurrency, total); i++) publish(next);
}
