'use strict';
// Scheduler lag of the retry phase, from two sources, as one JSON line:
//   worker: the histogram hookgate_retry_schedule_lag_seconds of two /metrics
//           scrapes (before and after the probe), p50 and p99 interpolated
//           linearly within the bucket, as Prometheus' histogram_quantile
//           does; null when the worker does not export it;
//   receiver: the /later log of the sink ("$msec|webhook-id"). /later
//           answers 503 with Retry-After: 1, so consecutive attempts of one
//           delivery are 1 s plus the lag apart. The gap minus 1000 ms also
//           contains the worker's handling of the 503 answer, so it is an
//           upper bound of the lag, at the log's 1 ms resolution.
//   node bench/lag.js METRICS_BEFORE METRICS_AFTER LATER_LOG
const fs = require('node:fs');

const [beforeFile, afterFile, laterLog] = process.argv.slice(2);
const NAME = 'hookgate_retry_schedule_lag_seconds';

function buckets(file) {
  const out = new Map();
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const pattern = new RegExp(`^${NAME}_bucket\\{(?:.*,)?le="([^"]+)"(?:,.*)?\\} ([0-9.eE+-]+)`);
  for (const line of text.split('\n')) {
    const m = pattern.exec(line);
    if (m) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      out.set(le, (out.get(le) || 0) + Number(m[2]));
    }
  }
  return out;
}

function quantile(cumulative, q) {
  const total = cumulative[cumulative.length - 1][1];
  if (!total) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of cumulative) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return null;
}

const before = buckets(beforeFile);
const after = buckets(afterFile);
let worker = null;
if (after.size > 0) {
  const cumulative = [...after.keys()].sort((a, b) => a - b).map((le) => [le, after.get(le) - (before.get(le) || 0)]);
  const count = cumulative[cumulative.length - 1][1];
  const ms = (v) => (v === null ? null : Math.round(v * 1000 * 100) / 100);
  worker = {
    observations: count,
    p50_ms: ms(quantile(cumulative, 0.5)),
    p99_ms: ms(quantile(cumulative, 0.99)),
    buckets: Object.fromEntries(cumulative.map(([le, c]) => [String(le), c])),
  };
}

const arrivals = new Map();
const text = fs.existsSync(laterLog) ? fs.readFileSync(laterLog, 'utf8') : '';
for (const line of text.split('\n')) {
  const [t, id] = line.split('|');
  if (!id || id === '-') continue;
  if (!arrivals.has(id)) arrivals.set(id, []);
  arrivals.get(id).push(Number(t) * 1000);
}
const gaps = [];
for (const times of arrivals.values()) {
  times.sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) gaps.push(times[i] - times[i - 1] - 1000);
}
gaps.sort((a, b) => a - b);
const pct = (p) => (gaps.length ? Math.round(gaps[Math.min(gaps.length - 1, Math.ceil((p / 100) * gaps.length) - 1)] * 10) / 10 : null);

console.log(JSON.stringify({
  worker_histogram: worker,
  receiver: { deliveries: arrivals.size, retries: gaps.length, p50_ms: pct(50), p99_ms: pct(99), max_ms: pct(100) },
}));
