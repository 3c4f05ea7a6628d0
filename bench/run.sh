#!/usr/bin/env bash
# Benchmarks hookgate on this machine in one bounded run (about 10 minutes,
# 13 with HOOKGATE_BENCH_PEERS) and measures the machine's limits in the same
# run. Everything listens on 127.0.0.1, and every process is started here and
# stopped by its PID. Results go to bench/results/<UTC time>/ (raw outputs,
# summary.json, table.md); docs/benchmarks.md explains the phases.
#
#   bench/run.sh
#   HOOKGATE_BENCH_PEERS=/tmp/bench-peers bench/run.sh   # also the peer comparison
#
# Settings (environment):
#   HOOKGATE_BUILD_DIR      build to measure (default build-bench/, built here
#                           with the project's default flags)
#   HOOKGATE_BENCH_PHASES   phases to run, in order (default: limits ingest
#                           drain paced retries sse)
#   HOOKGATE_BENCH_PEERS    a copy of the bench-peers harness; runs it with
#                           hookgate as the product (bench/peer-setup.sh)
#   BENCH_SKIP_BUILD=1      measure HOOKGATE_BUILD_DIR as it is
#   BENCH_KEEP_RUNDIR=1     keep the run's logs and Redis data in /tmp
#   BENCH_WRK_SECONDS (10)  BENCH_WRK_CONNS (64)  BENCH_DRAIN_EVENTS (100000)
#   BENCH_RETRIES (1000000) BENCH_SSE_CLIENTS (1000)
#   BENCH_PACED_SECONDS (8) BENCH_PACED_WARMUP (3)
set -euo pipefail

. "$(dirname "$0")/lib.sh"
cd "$HOOKGATE_ROOT"

: "${HOOKGATE_BENCH_PHASES=limits ingest drain paced retries sse cost}"
: "${BENCH_WRK_SECONDS:=10}"
: "${BENCH_WRK_CONNS:=64}"
: "${BENCH_DRAIN_EVENTS:=100000}"
: "${BENCH_RETRIES:=1000000}"
: "${BENCH_SSE_CLIENTS:=1000}"
: "${BENCH_PACED_SECONDS:=8}"
: "${BENCH_PACED_WARMUP:=3}"
: "${BENCH_COST_EVENTS:=2000}"

RESULTS=$HOOKGATE_ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)
RUNDIR=$(mktemp -d /tmp/hookgate-bench.XXXXXX)
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.jsonl
: > "$SUMMARY"
trap 'stop_all; [[ "${BENCH_KEEP_RUNDIR:-0}" == 1 ]] || rm -rf "$RUNDIR"' EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Appends one result to summary.jsonl: $1 name, $2 a JSON object.
result() {
  printf '{"name":"%s","value":%s}\n' "$1" "$2" >> "$SUMMARY"
  log "$1: $2"
}

# ---------------------------------------------------------------- setup

log "installing missing Debian packages"
hg_install_packages "${HOOKGATE_BUILD_PACKAGES[@]}" nginx-light libnginx-mod-http-echo \
  wrk redis-tools gnuplot-nox valgrind
[[ -d tests/node_modules/standardwebhooks ]] ||
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)

BUILD=${HOOKGATE_BUILD_DIR:-$HOOKGATE_ROOT/build-bench}
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  log "building $BUILD"
  hg_build "$BUILD" -DHOOKGATE_TESTS=OFF
fi
GATEWAY_BIN=$BUILD/gateway/hookgate-gateway
WORKER_BIN=$BUILD/retry/hookgate-retry
INSPECTOR_BIN=$BUILD/inspector/hookgate-inspector

REDIS_PORT=$(hg_free_port 19300)
NOOP_PORT=$(hg_free_port $((REDIS_PORT + 1)))
SINK_PORT=$(hg_free_port $((NOOP_PORT + 1)))
GATEWAY_PORT=$(hg_free_port $((SINK_PORT + 1)))
WORKER_PORT=$(hg_free_port $((GATEWAY_PORT + 1)))
INSPECTOR_PORT=$(hg_free_port $((WORKER_PORT + 1)))
SINK=http://127.0.0.1:$SINK_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
# A valid Standard Webhooks secret (whsec_ + base64 of 32 random bytes).
WEBHOOK_SECRET=whsec_$(openssl rand -base64 32)
ADMIN_KEY=$(openssl rand -hex 24)
export BENCH_EVENT=$BENCH_DIR/event.json

# Environment of the hookgate processes. The rate limits are far above the
# load, so the limiter runs on every request but never rejects one. Logs are
# at warn level during the whole run.
hookgate_env=(
  HOOKGATE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  HOOKGATE_ADMIN_KEY="$ADMIN_KEY"
  HOOKGATE_SECRET_KEY="$(openssl rand -hex 32)"
  HOOKGATE_GATEWAY_ADDR="127.0.0.1:$GATEWAY_PORT"
  HOOKGATE_RETRY_ADDR="127.0.0.1:$WORKER_PORT"
  HOOKGATE_INSPECTOR_ADDR="127.0.0.1:$INSPECTOR_PORT"
  HOOKGATE_ALLOW_PRIVATE_TARGETS=1
  HOOKGATE_API_RATE_LIMIT=100000000
  HOOKGATE_INTEGRATION_RATE_LIMIT=100000000
  HOOKGATE_LOG_LEVEL=warn
)

{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -srm)"
  echo "debian: $(cat /etc/debian_version)"
  echo "cpu: $(nproc) x $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "memory: $(free -m | awk '/Mem:/{print $2" MiB"}')"
  echo "hookgate: $("$GATEWAY_BIN" --version 2>&1 | head -1) ($(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ', with uncommitted changes'))"
  echo "redis: $(redis-server --version | awk '{print $3}' | sed 's/v=//')"
  echo "nginx: $(nginx -v 2>&1 | sed 's|.*nginx/||')"
  echo "wrk: $(wrk --version 2>&1 | head -1 | awk '{print $2}')"
  echo "node: $(node --version)"
  echo "gnuplot: $(gnuplot --version 2>/dev/null)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/env.txt"
cat "$RESULTS/env.txt" >&2

# ---------------------------------------------------------------- services

render() { # template output
  sed -e "s|@RUNDIR@|$RUNDIR|g" -e "s|@PORT@|$3|g" "$1" > "$2"
}

# REDIS_WRAP (an array, empty by default) prefixes the redis-server command;
# the cost phase sets it to run Redis under callgrind.
REDIS_WRAP=()
start_redis() {
  rm -rf "$RUNDIR/redis"
  mkdir -p "$RUNDIR/redis"
  "${REDIS_WRAP[@]}" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly yes \
    --appendfsync everysec --dir "$RUNDIR/redis" --logfile "$RUNDIR/redis.log" &
  REDIS_PID=$!
  track "$REDIS_PID"
  wait_port "$REDIS_PORT" 10 || die "redis-server did not start: $(tail -3 "$RUNDIR/redis.log")"
}
stop_redis() { stop_pid "$REDIS_PID" TERM 30; REDIS_PID=""; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
used_memory() { rcli INFO memory | awk -F: '/^used_memory:/{print $2+0}'; }

start_sink() {
  render "$BENCH_DIR/nginx-sink.conf.in" "$RUNDIR/nginx-sink.conf" "$SINK_PORT"
  nginx -p "$RUNDIR" -e "$RUNDIR/nginx-sink.error.log" -c "$RUNDIR/nginx-sink.conf" &
  SINK_PID=$!
  track "$SINK_PID"
  wait_port "$SINK_PORT" 10 || die "nginx sink did not start: $(tail -3 "$RUNDIR/nginx-sink.error.log")"
}
sink_size() { stat -c %s "$RUNDIR/sink.log" 2>/dev/null || echo 0; }

# start_hookgate NAME BINARY PORT: starts one hookgate process with
# hookgate_env and waits for /readyz.
start_hookgate() {
  local name=$1 bin=$2 port=$3
  env "${hookgate_env[@]}" HOOKGATE_LOG_FILE="$RUNDIR/$name.log" "$bin" \
    >> "$RUNDIR/$name.out" 2>&1 &
  eval "${name^^}_PID=$!"
  track "$!"
  hg_wait_ready "http://127.0.0.1:$port/readyz" 20 ||
    die "$name did not become ready: $(tail -3 "$RUNDIR/$name.log" "$RUNDIR/$name.out" 2>/dev/null)"
}
start_gateway() { start_hookgate gateway "$GATEWAY_BIN" "$GATEWAY_PORT"; }
start_worker() { start_hookgate worker "$WORKER_BIN" "$WORKER_PORT"; }
start_inspector() { start_hookgate inspector "$INSPECTOR_BIN" "$INSPECTOR_PORT"; }

# setup_integration ENDPOINTS PATH [extra setup.js arguments]: sets KEY.
setup_integration() {
  local out
  out=$(node "$BENCH_DIR/setup.js" --gateway "$GATEWAY" --admin-key "$ADMIN_KEY" \
    --endpoints "$1" --url "$SINK$2" --secret "$WEBHOOK_SECRET" "${@:3}") ||
    die "setup of the benchmark integration failed"
  KEY=$(sed -n 's/^KEY=//p' <<< "$out")
  INGEST_URL=$GATEWAY/api/v1/integrations/bench/events
}

# Stops every hookgate process and Redis, so the next phase starts empty.
reset_all() {
  local p
  for p in INSPECTOR_PID WORKER_PID GATEWAY_PID; do
    [[ -n "${!p:-}" ]] && stop_pid "${!p}" TERM 20
    eval "$p="
  done
  [[ -n "${REDIS_PID:-}" ]] && stop_redis
  return 0
}

# run_wrk LABEL URL [Authorization value]: wrk --latency for
# BENCH_WRK_SECONDS, 1 thread, BENCH_WRK_CONNS connections.
run_wrk() {
  local label=$1 url=$2 auth=${3:-} script_args=()
  [[ -n "$auth" ]] && script_args=(-- "$auth")
  timeout $((BENCH_WRK_SECONDS + 20)) wrk -t1 -c"$BENCH_WRK_CONNS" -d"${BENCH_WRK_SECONDS}s" \
    --latency -s "$BENCH_DIR/post-event.lua" "$url" "${script_args[@]}" > "$RESULTS/wrk-$label.txt" 2>&1
  wrk_json "$RESULTS/wrk-$label.txt"
}
warm_wrk() {
  local script_args=()
  [[ -n "${2:-}" ]] && script_args=(-- "$2")
  timeout 20 wrk -t1 -c"$BENCH_WRK_CONNS" -d2s -s "$BENCH_DIR/post-event.lua" "$1" "${script_args[@]}" > /dev/null 2>&1
}

# Waits (at most $3 seconds) until the sink log has $2 lines past byte
# offset $1; nginx flushes it every second.
wait_sink_lines() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    (($(tail -c +$(($1 + 1)) "$RUNDIR/sink.log" 2>/dev/null | wc -l) >= $2)) && return 0
    sleep 1
  done
  return 1
}

# Waits (at most $1 seconds) until the sink log stopped growing for 2 s.
wait_sink_quiet() {
  local deadline=$((SECONDS + $1)) size=-1
  while ((SECONDS < deadline)) && [[ "$(sink_size)" != "$size" ]]; do
    size=$(sink_size)
    sleep 2
  done
}

# ---------------------------------------------------------------- phases

phase_limits() {
  log "limits: nginx no-op (1 worker, return 202) under wrk"
  render "$BENCH_DIR/nginx-noop.conf.in" "$RUNDIR/nginx-noop.conf" "$NOOP_PORT"
  nginx -p "$RUNDIR" -e "$RUNDIR/nginx-noop.error.log" -c "$RUNDIR/nginx-noop.conf" &
  NOOP_PID=$!
  track "$NOOP_PID"
  wait_port "$NOOP_PORT" 10 || die "nginx no-op did not start"
  warm_wrk "http://127.0.0.1:$NOOP_PORT/api/v1/integrations/bench/events"
  result limit_nginx_noop "$(run_wrk nginx-noop "http://127.0.0.1:$NOOP_PORT/api/v1/integrations/bench/events")"
  stop_pid "$NOOP_PID"

  log "limits: the sink (nginx, body read and logged) under wrk"
  local off
  off=$(sink_size)
  result limit_sink "$(run_wrk sink "$SINK/hook")"
  sleep 1.2
  truncate -s 0 "$RUNDIR/sink.log"

  log "limits: redis-benchmark XADD of the 600-byte event"
  start_redis
  local payload pipe n out
  payload=$(sed -e 's/__ID__/evt_wrk01_00000000_0000000001/' -e 's/__TS__/1765000000000.000/' "$BENCH_DIR/event.json")
  for pipe in 1 16; do
    n=$((pipe == 1 ? 300000 : 600000))
    out=$RESULTS/xadd-P$pipe.csv
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$BENCH_WRK_CONNS" -n "$n" -P "$pipe" \
      --csv XADD bench:events '*' event "$payload" > "$out" 2>&1
    rcli DEL bench:events > /dev/null
    # CSV columns are "test","rps","avg","min","p50","p95","p99","max". The
    # test name contains the payload, so fields are counted from the end.
    result "limit_xadd_p$pipe" "$(awk -F'","' -v n="$n" 'NR > 1 && NF >= 8 { gsub(/"/, "", $NF);
      printf "{\"rate\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"requests\":%d,\"pipeline\":'"$pipe"'}\n", $(NF-6), $(NF-3), $(NF-1), n }' "$out")"
  done
  stop_redis
}

# ingest_run ENDPOINTS: durable ingest with ENDPOINTS matching endpoints and
# no delivery worker.
ingest_run() {
  local n=$1 c0 c1 t0 t1 w
  start_redis
  start_gateway
  setup_integration "$n" /hook
  record_rss "ingest-$n-rest" gateway="$GATEWAY_PID" redis="$REDIS_PID"
  warm_wrk "$INGEST_URL" "Bearer $KEY"
  start_sampler "$RESULTS/rss-ingest-$n.txt" gateway="$GATEWAY_PID" redis="$REDIS_PID"
  c0=$(cpu_ticks "$GATEWAY_PID" "$REDIS_PID"); t0=$(date +%s.%N)
  w=$(run_wrk "ingest-$n" "$INGEST_URL" "Bearer $KEY")
  t1=$(date +%s.%N); c1=$(cpu_ticks "$GATEWAY_PID" "$REDIS_PID")
  stop_sampler
  result "ingest_${n}ep" "$(node -e '
    const w = JSON.parse(process.argv[1]);
    w.endpoints = Number(process.argv[2]);
    w.cpu_gateway_redis_pct = Math.round((process.argv[4] - process.argv[3]) / 100 / (process.argv[6] - process.argv[5]) * 100);
    w.events_stored = Number(process.argv[7]);
    console.log(JSON.stringify(w));' "$w" "$n" "$c0" "$c1" "$t0" "$t1" "$(rcli XLEN 'hg:{bench}:events')")"
  reset_all
}

phase_ingest() {
  log "ingest: 1 matching endpoint, no worker"
  ingest_run 1
  log "ingest: 10 matching endpoints, no worker"
  ingest_run 10
}

phase_drain() {
  log "drain: enqueue $BENCH_DRAIN_EVENTS events with no worker running"
  local off js t0 i
  start_redis
  start_gateway
  setup_integration 1 /hook --max-concurrency "${BENCH_ENDPOINT_CONCURRENCY:-100}"
  js=$(node "$BENCH_DIR/loadgen.js" --url "$INGEST_URL" --auth "Bearer $KEY" \
    --n "$BENCH_DRAIN_EVENTS" --concurrency "$BENCH_WRK_CONNS" --tag dr)
  result drain_enqueue "$js"
  record_rss drain-rest gateway="$GATEWAY_PID" redis="$REDIS_PID"
  off=$(sink_size)
  t0=$(date +%s%3N)
  start_worker
  start_sampler "$RESULTS/rss-drain.txt" worker="$WORKER_PID" redis="$REDIS_PID" sink="$SINK_PID"
  wait_sink_lines "$off" "$BENCH_DRAIN_EVENTS" 180 || log "drain: not every event reached the sink within 180 s"
  sleep 1.3
  stop_sampler
  result drain "$(node "$BENCH_DIR/sinkstats.js" "$RUNDIR/sink.log" --offset "$off" --tag dr \
    --expect "$BENCH_DRAIN_EVENTS" --secret "$WEBHOOK_SECRET" --verify 1000 |
    node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
      s.worker_start_ms = Number(process.argv[1]); s.done_in_s = (s.last_ms - s.worker_start_ms) / 1000;
      delete s.latency_ms; console.log(JSON.stringify(s));' "$t0")"
  record_rss drain-after worker="$WORKER_PID"
  reset_all
}

phase_paced() {
  local rates="1000 5000" peak half r js off
  # Half of the peak the pipeline sustains: the lower of the measured ingest
  # (1 endpoint) and delivery rates of this run.
  peak=$(node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
    const get = (n) => (rows.find((r) => r.name === n) || {}).value;
    const ingest = (get("ingest_1ep") || {}).rate, drain = (get("drain") || {}).rate;
    const known = [ingest, drain].filter(Boolean);
    console.log(known.length ? Math.min(...known) : 0);' "$SUMMARY")
  half=$((peak / 2))
  ((half > 0)) && rates=$(printf '%s\n' $rates "$half" | sort -n | uniq | tr '\n' ' ')
  log "paced: open-loop arrivals at $rates events/s (half of the peak $peak)"
  start_redis
  start_gateway
  setup_integration 1 /hook --max-concurrency "${BENCH_ENDPOINT_CONCURRENCY:-100}"
  start_worker
  record_rss paced-rest gateway="$GATEWAY_PID" worker="$WORKER_PID" redis="$REDIS_PID"
  start_sampler "$RESULTS/rss-paced.txt" gateway="$GATEWAY_PID" worker="$WORKER_PID" redis="$REDIS_PID"
  local i=0
  for r in $rates; do
    i=$((i + 1))
    off=$(sink_size)
    js=$(node "$BENCH_DIR/loadgen.js" --url "$INGEST_URL" --auth "Bearer $KEY" --rate "$r" \
      --duration "$BENCH_PACED_SECONDS" --warmup "$BENCH_PACED_WARMUP" --tag "p$i")
    wait_sink_lines "$off" $((r * (BENCH_PACED_SECONDS + BENCH_PACED_WARMUP))) 30 ||
      log "paced $r/s: not every event reached the sink within 30 s"
    # A backlog left by an overloaded rate would delay the next one.
    wait_sink_quiet 30
    result "paced_$r" "$(node "$BENCH_DIR/sinkstats.js" "$RUNDIR/sink.log" --offset "$off" --tag "p$i" \
      --expect $((r * BENCH_PACED_SECONDS)) | node -e '
        const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
        s.rate_target = Number(process.argv[2]); s.publish = JSON.parse(process.argv[1]);
        console.log(JSON.stringify(s));' "$js" "$r")"
  done
  stop_sampler
  reset_all
}

phase_retries() {
  . "$BENCH_DIR/retries.sh"
  retries_run
}

phase_sse() {
  log "sse: $BENCH_SSE_CLIENTS live feed clients"
  start_redis
  start_gateway
  setup_integration 0 /hook
  start_inspector
  record_rss sse-rest inspector="$INSPECTOR_PID"
  result sse "$(node "$BENCH_DIR/sse.js" --inspector "http://127.0.0.1:$INSPECTOR_PORT" \
    --ingest "$INGEST_URL" --key "$KEY" --admin-key "$ADMIN_KEY" --clients "$BENCH_SSE_CLIENTS" \
    --inspector-pid "$INSPECTOR_PID")"
  reset_all
}

# Instructions Redis runs for one publish and for one delivery, counted by
# callgrind: unlike the rates, other jobs on the machine do not change them,
# so runs of two builds compare to within about 3 %.
phase_cost() {
  local n=$BENCH_COST_EVENTS cg=$RUNDIR/callgrind total t0 js d
  log "cost: Redis instructions per publish and per delivery ($n events, callgrind)"
  rm -rf "$cg"
  mkdir -p "$cg"
  REDIS_WRAP=(valgrind --tool=callgrind "--callgrind-out-file=$cg/out.%p")
  start_redis
  REDIS_WRAP=()
  start_gateway
  setup_integration 1 /hook --max-concurrency "${BENCH_ENDPOINT_CONCURRENCY:-100}"

  # A warm-up loads the scripts and the gateway's endpoint snapshot.
  node "$BENCH_DIR/loadgen.js" --url "$INGEST_URL" --auth "Bearer $KEY" --n 200 \
    --concurrency 16 --tag cw > /dev/null
  sleep 1
  callgrind_control -z "$REDIS_PID" > /dev/null
  js=$(node "$BENCH_DIR/loadgen.js" --url "$INGEST_URL" --auth "Bearer $KEY" --n "$n" \
    --concurrency 16 --tag cp)
  sleep 1
  local publish
  publish=$(cost_dump)

  total=$(rcli XLEN 'hg:{wq0}:work')
  local off
  off=$(sink_size)
  callgrind_control -z "$REDIS_PID" > /dev/null
  t0=$SECONDS
  start_worker
  wait_sink_lines "$off" "$total" 300 || log "cost: not every delivery reached the sink within 300 s"
  sleep 1.3
  local deliver
  deliver=$(cost_dump)

  d=$(tail -c +$((off + 1)) "$RUNDIR/sink.log" | wc -l)
  result cost "$(node -e '
    const [n, pub, d, del, js, s] = process.argv.slice(1);
    console.log(JSON.stringify({events: Number(n), redis_instructions_per_publish: Math.round(pub / n),
      deliveries: Number(d), redis_instructions_per_delivery: Math.round(del / d),
      publish: JSON.parse(js), drain_s: Number(s)}));' \
    "$n" "$publish" "$d" "$deliver" "$js" "$((SECONDS - t0))")"
  reset_all
}

# Dumps the callgrind counters of Redis and prints the instructions counted
# since the last zeroing.
cost_dump() {
  local before after i
  before=$(ls "$RUNDIR/callgrind" | wc -l)
  callgrind_control -d "$REDIS_PID" > /dev/null
  for ((i = 0; i < 100; i++)); do
    after=$(ls "$RUNDIR/callgrind" | wc -l)
    ((after > before)) && break
    sleep 0.1
  done
  sleep 0.5
  callgrind_annotate "$(ls -t "$RUNDIR"/callgrind/out.* | head -1)" 2>/dev/null |
    awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }'
}

phase_peers() {
  . "$BENCH_DIR/peers.sh"
  peers_run
}

# ---------------------------------------------------------------- main

started=$(date +%s)
start_sink
for phase in $HOOKGATE_BENCH_PHASES; do
  "phase_$phase"
done
[[ -n "${HOOKGATE_BENCH_PEERS:-}" && " $HOOKGATE_BENCH_PHASES " != *" peers "* ]] && phase_peers
record_rss end sink="$SINK_PID"
stop_all
echo "runtime: $(($(date +%s) - started)) s" >> "$RESULTS/env.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/env.txt"

node "$BENCH_DIR/report.js" "$RESULTS" > "$RESULTS/table.md"
"$BENCH_DIR/plot.sh" "$RESULTS" "$RESULTS/latency.svg" || log "plot.sh failed; the table is complete"
cat "$RESULTS/table.md"
log "results: $RESULTS"
