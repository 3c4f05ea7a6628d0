'use strict';
// Builds the table of one benchmark run from its results directory
// (summary.jsonl, rss*.txt, env.txt and, with the peer comparison,
// peers/table.tsv). Prints it as Markdown with the figures, the ratios to
// the limits of the same run and the targets with pass or miss. Also writes
// paced.dat (rate, p50, p99 in ms) for plot.sh.
//   node bench/report.js RESULTS_DIR > RESULTS_DIR/table.md
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const read = (name) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), 'utf8') : '');
const results = {};
for (const line of read('summary.jsonl').split('\n').filter(Boolean)) {
  const row = JSON.parse(line);
  results[row.name] = row.value;
}

const out = [];
const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a, b) => (a && b ? a / b : null);

out.push('## Environment', '', '```', read('env.txt').trim(), '```', '');

out.push('## Figures', '', '| measurement | rate/s | p50 ms | p99 ms | notes |', '| --- | ---: | ---: | ---: | --- |');
const row = (name, rate, p50, p99, notes) => out.push(`| ${name} | ${fmt(rate)} | ${fmt(p50, 2)} | ${fmt(p99, 2)} | ${notes || ''} |`);
const r = results;
if (r.limit_nginx_noop) row('limit: nginx no-op (1 worker, `return 202`) under wrk', r.limit_nginx_noop.rate, r.limit_nginx_noop.p50_ms, r.limit_nginx_noop.p99_ms, `non-2xx ${r.limit_nginx_noop.non_2xx}`);
if (r.limit_sink) row('limit: sink (nginx, body read and logged) under wrk', r.limit_sink.rate, r.limit_sink.p50_ms, r.limit_sink.p99_ms, `non-2xx ${r.limit_sink.non_2xx}`);
if (r.limit_xadd_p1) row('limit: redis-benchmark XADD 600 B, no pipeline', r.limit_xadd_p1.rate, r.limit_xadd_p1.p50_ms, r.limit_xadd_p1.p99_ms, '64 clients');
if (r.limit_xadd_p16) row('limit: redis-benchmark XADD 600 B, pipeline 16', r.limit_xadd_p16.rate, r.limit_xadd_p16.p50_ms, r.limit_xadd_p16.p99_ms, '64 clients');
for (const n of [1, 10]) {
  const v = r[`ingest_${n}ep`];
  if (v) row(`hookgate ingest, ${n} matching endpoint${n > 1 ? 's' : ''}, no worker`, v.rate, v.p50_ms, v.p99_ms, `non-2xx ${v.non_2xx}; gateway+redis CPU ${v.cpu_gateway_redis_pct} % of one core`);
}
if (r.drain_enqueue) row(`enqueue of the backlog (node client, 64 in flight)`, r.drain_enqueue.accepted_per_s, r.drain_enqueue.ingest_ms.p50, r.drain_enqueue.ingest_ms.p99, `accepted ${r.drain_enqueue.accepted} of ${r.drain_enqueue.sent}`);
if (r.drain) {
  const s = r.drain.signatures;
  row(`hookgate delivery of a ${fmt(r.drain.distinct)}-event backlog to the sink`, r.drain.rate, null, null,
    `delivered ${r.drain.deliveries}, missing ${r.drain.missing}, duplicates ${r.drain.duplicates}; all done ${fmt(r.drain.done_in_s, 1)} s after the worker started; signatures valid ${s ? `${s.valid}/${s.checked}` : 'n/a'}`);
}
const paced = Object.keys(r).filter((k) => k.startsWith('paced_')).map((k) => r[k]).sort((a, b) => a.rate_target - b.rate_target);
for (const p of paced) {
  row(`publish-to-delivery at ${fmt(p.rate_target)}/s (open model)`, p.publish.accepted_per_s, p.latency_ms.p50, p.latency_ms.p99,
    `sink-side; delivered ${p.distinct}, missing ${p.missing}, duplicates ${p.duplicates}; 202 p99 ${fmt(p.publish.ingest_ms.p99, 2)} ms`);
}
const plotted = paced.filter((p) => p.latency_ms.n > 0);
fs.writeFileSync(path.join(dir, 'paced.dat'), plotted.map((p) => `${p.rate_target} ${p.latency_ms.p50} ${p.latency_ms.p99}\n`).join(''));
if (r.retries) {
  const t = r.retries;
  const w = t.lag.worker_histogram;
  row(`scheduler lag with ${fmt(t.pending)} pending retries (worker histogram)`, null, w && w.p50_ms, w && w.p99_ms, w ? `${w.observations} retries` : 'histogram not exported');
  row(`scheduler lag with ${fmt(t.pending)} pending retries (receiver, upper bound)`, null, t.lag.receiver.p50_ms, t.lag.receiver.p99_ms, `${t.lag.receiver.retries} retries; max ${t.lag.receiver.max_ms} ms`);
}
if (r.sse) {
  const s = r.sse;
  row(`${fmt(s.clients)} live feed streams: until all saw a new event`, null, s.p50_ms, s.p99_ms,
    `all ${s.saw_event}/${s.clients} after ${fmt(s.all_saw_event_ms, 1)} ms from the publish request, ${fmt(s.all_saw_event_after_202_ms, 1)} ms after its 202 (${fmt(s.publish_ms, 1)} ms); connect all ${s.connect_all_ms} ms; inspector RSS ${fmt(s.inspector_rss_kib.before / 1024, 1)} MiB before, ${fmt(s.inspector_rss_kib.streams_open / 1024, 1)} MiB with the streams open`);
}
out.push('');

if (r.retries) {
  const t = r.retries;
  out.push('## Pending retries', '',
    `${fmt(t.real_path)} through the real path (${fmt(t.events)} events x ${t.endpoints_per_event} endpoints answering 500), ${fmt(t.copied)} copies of those records; copying took ${fmt(t.copy_ms)} ms.`, '',
    '| bytes per pending retry | value |', '| --- | ---: |',
    `| without its event (INFO used_memory over the copies) | ${fmt(t.bytes_per_retry_without_event)} |`,
    `| with its share of the event (real path, ${t.endpoints_per_event} deliveries per event) | ${fmt(t.bytes_per_retry_with_event_share)} |`,
    `| added by the failed attempt and the schedule entry (real path) | ${fmt(t.bytes_per_retry_attempt_and_schedule)} |`,
    `| sampled MEMORY USAGE: delivery hash | ${fmt(t.sampled.delivery_hash)} |`,
    `| sampled MEMORY USAGE: attempt list | ${fmt(t.sampled.attempt_list)} |`,
    `| sampled MEMORY USAGE: schedule entry (sorted set / members) | ${fmt(t.sampled.schedule_entry)} |`,
    `| sampled MEMORY USAGE: event hash (shared by ${t.endpoints_per_event} deliveries) | ${fmt(t.sampled.event_hash)} |`, '');
}

if (r.cost) {
  const c = r.cost;
  out.push('## Redis instructions per operation', '',
    `callgrind counts of \`redis-server\` while ${fmt(c.events)} events were published (one endpoint, no worker), then while the worker delivered the ${fmt(c.deliveries)} deliveries (the ${fmt(c.events)} and a warm-up of 200).`, '',
    '| operation | Redis instructions |', '| --- | ---: |',
    `| one publish (\`publish.lua\`, its call and its AOF writes) | ${fmt(c.redis_instructions_per_publish)} |`,
    `| one delivery (read, load, record, acknowledge) | ${fmt(c.redis_instructions_per_delivery)} |`, '');
}

const rss = read('rss.txt').trim().split('\n').filter(Boolean).map((l) => l.split(' '));
const peaks = fs.readdirSync(dir).filter((f) => /^rss-.*\.txt$/.test(f)).flatMap((f) =>
  read(f).trim().split('\n').filter(Boolean).map((l) => [`${f.slice(4, -4)} (peak)`, ...l.split(' ')]));
if (rss.length || peaks.length) {
  out.push('## Resident memory (RSS, MiB)', '', '| moment | process | RSS |', '| --- | --- | ---: |');
  for (const [phase, name, kib] of [...rss, ...peaks]) out.push(`| ${phase} | ${name} | ${fmt(kib / 1024, 1)} |`);
  out.push('');
}

// Peer comparison: rows of the bench-peers harness run with hookgate as the product.
const peers = {};
for (const line of read('peers/table.tsv').split('\n').filter(Boolean)) {
  const [name, rate, p50, p99, notes] = line.split('\t');
  peers[name.startsWith('peer-drain-') ? 'peer-drain' : name.startsWith('product-drain-') ? 'product-drain' : name] = { rate: Number(rate), p50, p99, notes };
}
if (Object.keys(peers).length) {
  out.push('## Peer comparison (bench-peers harness, hookgate as the product)', '', '```', read('peers/table.txt').trim(), '```', '');
}

const limitRatios = [
  ['ingest, 1 endpoint / nginx no-op', r.ingest_1ep, r.limit_nginx_noop],
  ['ingest, 10 endpoints / nginx no-op', r.ingest_10ep, r.limit_nginx_noop],
  ['ingest, 1 endpoint / XADD without pipeline', r.ingest_1ep, r.limit_xadd_p1],
  ['delivery / sink capacity', r.drain, r.limit_sink],
].filter(([, a, b]) => a && b && a.rate && b.rate);
if (limitRatios.length) {
  out.push('## Ratios to the limits of this run', '', '| ratio | rates/s | value |', '| --- | --- | ---: |');
  for (const [what, a, b] of limitRatios) out.push(`| ${what} | ${fmt(a.rate)} / ${fmt(b.rate)} | ${fmt(a.rate / b.rate, 3)} |`);
  out.push('');
}

const targets = [];
const target = (what, value, limit, pass, detail) => targets.push([what, value, limit, pass === null ? 'n/a' : pass ? 'pass' : 'miss', detail]);
const noop = r.limit_nginx_noop && r.limit_nginx_noop.rate;
const ingest = r.ingest_1ep && r.ingest_1ep.rate;
const sink = r.limit_sink && r.limit_sink.rate;
const drain = r.drain && r.drain.rate;
const peerIngest = peers['peer-ingest-fastify-bullmq'] && peers['peer-ingest-fastify-bullmq'].rate;
const peerDrain = peers['peer-drain'] && peers['peer-drain'].rate;
const missBy = (v, goal) => (v === null ? '' : v >= goal ? '' : `; missed by ${fmt((1 - v / goal) * 100)} % (needs ${fmt(goal / v, 1)}x)`);
let v = ratio(ingest, noop);
target('ingest / nginx no-op', v === null ? 'n/a' : `${fmt(ingest)} / ${fmt(noop)} = ${fmt(v, 3)}`, '>= 0.75', v === null ? null : v >= 0.75, missBy(v, 0.75));
// The peer targets compare the harness's own product and peer rows: same
// instrument, same harness phases, minutes apart at most.
const productIngest = peers['product-ingest'] && peers['product-ingest'].rate;
const productDrain = peers['product-drain'] && peers['product-drain'].rate;
v = ratio(productIngest, peerIngest);
target('ingest / peer ingest (harness rows)', v === null ? 'n/a' : `${fmt(productIngest)} / ${fmt(peerIngest)} = ${fmt(v, 2)}`, '>= 3.5', v === null ? null : v >= 3.5, missBy(v, 3.5));
v = ratio(drain, sink);
target('delivery / sink capacity', v === null ? 'n/a' : `${fmt(drain)} / ${fmt(sink)} = ${fmt(v, 3)}`, '>= 0.5', v === null ? null : v >= 0.5, missBy(v, 0.5));
v = ratio(productDrain, peerDrain);
target('delivery / peer drain (harness rows)', v === null ? 'n/a' : `${fmt(productDrain)} / ${fmt(peerDrain)} = ${fmt(v, 2)}`, '>= 5', v === null ? null : v >= 5, missBy(v, 5));
const p5000 = r.paced_5000 && r.paced_5000.latency_ms.p99;
target('publish-to-delivery p99 at 5,000/s', p5000 == null ? 'n/a' : `${fmt(p5000, 1)} ms`, '< 5 ms', p5000 == null ? null : p5000 < 5,
  (p5000 != null && p5000 >= 5 ? `; ${fmt(p5000 / 5, 1)}x the target` : '') +
  (r.paced_5000 && r.paced_5000.missing ? `; ${fmt(r.paced_5000.missing)} of ${fmt(r.paced_5000.missing + r.paced_5000.distinct)} measured events had not arrived 30 s after the schedule, so the real p99 is higher` : ''));
const bytes = r.retries && r.retries.bytes_per_retry_without_event;
target('Redis bytes per pending retry (without its event)', bytes == null ? 'n/a' : fmt(bytes), '<= 200', bytes == null ? null : bytes <= 200,
  bytes != null && bytes > 200 ? `; ${fmt(bytes / 200, 1)}x the target` : '');
const lagW = r.retries && r.retries.lag.worker_histogram;
const lag = lagW ? lagW.p99_ms : r.retries && r.retries.lag.receiver.p99_ms;
target(`scheduler lag p99 (${lagW ? 'worker histogram' : 'receiver'})`, lag == null ? 'n/a' : `${fmt(lag, 1)} ms`, '< 50 ms', lag == null ? null : lag < 50,
  lag != null && lag >= 50 ? `; ${fmt(lag / 50, 1)}x the target` : '');
out.push('## Targets', '', '| target | measured | goal | result |', '| --- | --- | --- | --- |');
for (const [what, value, limit, pass, detail] of targets) out.push(`| ${what} | ${value} | ${limit} | ${pass}${detail} |`);
out.push('');
console.log(out.join('\n'));
