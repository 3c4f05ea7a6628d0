'use strict';
// Reads the sink's access log from a byte offset. Its lines are
// "$msec|webhook-id|webhook-timestamp|webhook-signature|body"
// (nginx-sink.conf.in). Prints one JSON line with the deliveries, distinct
// body ids and duplicates, the delivery rate between the first and the last
// arrival, and the publish-to-delivery latency, which is the arrival time
// minus the body's sent_at_ms.
//   node bench/sinkstats.js LOG [--offset BYTES] [--tag TAG] [--expect N]
//                               [--secret whsec_...] [--verify 500]
// --tag counts only bodies whose id starts with evt_<tag padded with x>_.
// --verify checks the Standard Webhooks signature of that many deliveries,
// spread over the log, with the standardwebhooks package of tests/.
// nginx's $msec has millisecond resolution and is taken when nginx wakes up
// for the request, so an arrival time is known to within 1 ms; 0.5 ms is
// added to each one (the middle of that interval).
const fs = require('node:fs');
const path = require('node:path');

const args = { offset: '0', verify: '0' };
for (let i = 3; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const file = process.argv[2];
const offset = Number(args.offset);
const expect = Number(args.expect || 0);
const prefix = args.tag ? `evt_${args.tag.slice(0, 4)}`.padEnd(9, 'x').slice(0, 9) + '_' : '';
const ARRIVAL_OFFSET_MS = 0.5;

const text = fs.existsSync(file) ? fs.readFileSync(file).subarray(offset).toString('utf8') : '';
const idPattern = /"id":"(evt_[^"]+)"/;
const sentPattern = /"sent_at_ms":([0-9.]+)/;
const ids = new Set();
const latencies = [];
const samples = [];
let deliveries = 0;
let duplicates = 0;
let first = Infinity;
let last = -Infinity;

for (const line of text.split('\n')) {
  if (!line) continue;
  const parts = line.split('|');
  if (parts.length < 5) continue;
  const body = parts.slice(4).join('|');
  const id = idPattern.exec(body);
  if (!id || (prefix && !id[1].startsWith(prefix))) continue;
  const arrival = Number(parts[0]) * 1000 + ARRIVAL_OFFSET_MS;
  deliveries++;
  if (ids.has(id[1])) duplicates++;
  else ids.add(id[1]);
  first = Math.min(first, arrival);
  last = Math.max(last, arrival);
  const sent = sentPattern.exec(body);
  // wrk sends a constant sent_at_ms, which is not a time.
  if (sent && Number(sent[1]) > 1.7e12 && Number(sent[1]) !== 1765000000000) latencies.push(arrival - Number(sent[1]));
  samples.push(parts);
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return Math.round(v * 100) / 100;
}

let verified = null;
const verifyCount = Math.min(Number(args.verify), samples.length);
if (verifyCount > 0 && args.secret) {
  const { Webhook } = require(path.join(__dirname, '..', 'tests', 'node_modules', 'standardwebhooks'));
  const hook = new Webhook(args.secret);
  verified = { checked: 0, valid: 0 };
  const step = samples.length / verifyCount;
  for (let i = 0; i < verifyCount; i++) {
    const [, webhookId, timestamp, signature, ...body] = samples[Math.floor(i * step)];
    verified.checked++;
    try {
      // verify() rejects timestamps older than 5 minutes, and the check
      // runs right after the deliveries.
      hook.verify(body.join('|'), {
        'webhook-id': webhookId, 'webhook-timestamp': timestamp, 'webhook-signature': signature,
      });
      verified.valid++;
    } catch {
      // Counted as invalid.
    }
  }
}

latencies.sort((a, b) => a - b);
const span = last - first;
console.log(JSON.stringify({
  deliveries,
  distinct: ids.size,
  duplicates,
  missing: expect ? Math.max(0, expect - ids.size) : null,
  first_ms: deliveries ? Math.round(first) : null,
  last_ms: deliveries ? Math.round(last) : null,
  rate: span > 0 ? Math.round((deliveries * 1000) / span) : null,
  latency_ms: {
    n: latencies.length, p50: percentile(latencies, 50), p90: percentile(latencies, 90),
    p99: percentile(latencies, 99), max: percentile(latencies, 100),
  },
  signatures: verified,
}));
