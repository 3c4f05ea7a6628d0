# shellcheck shell=bash
# The pending-retry phase of bench/run.sh (sourced there; uses its helpers).
#
# 1. Real path: BENCH_RETRIES_REAL deliveries (events published through the
#    gateway, each to 10 endpoints whose receiver returns 500 at once) are
#    attempted once by hookgate-retry, which schedules their retry in about
#    an hour (HOOKGATE_RETRY_SCHEDULE=3600,3600, so nothing falls due during
#    the run). INFO used_memory before publishing, after publishing and
#    after the attempts gives the memory of a pending retry with its share
#    of the event, and the part that the failed attempt added.
# 2. Copies: clone-retries.lua copies those records under new ids until the
#    schedule has BENCH_RETRIES entries. A copy shares its source's event, so
#    used_memory after minus before, divided by the copies, is the memory of
#    one pending retry without its event.
# 3. Lag probe: with the full schedule in place, events published at 500/s
#    for 10 s to an endpoint that returns 503 with Retry-After: 1 produce
#    retries due one second after each attempt; lag.js reads the scheduler
#    lag from the worker's histogram and from the receiver's arrival times.

retries_metrics() {
  curl -fsS "http://127.0.0.1:$WORKER_PORT/metrics" > "$1" 2>/dev/null || : > "$1"
}

retries_run() {
  local endpoints=10 real=${BENCH_RETRIES_REAL:-20000} total=$BENCH_RETRIES
  local events m0 m1 m2 m3 m4 sched copies batch i js lag_key saved_env
  events=$((real / endpoints))
  real=$((events * endpoints))
  log "retries: $real pending retries through the real path ($events events x $endpoints endpoints)"

  saved_env=("${hookgate_env[@]}")
  # The breaker would hold the endpoints after 10 failures in a row, which
  # parks deliveries without an attempt.
  hookgate_env+=(HOOKGATE_RETRY_SCHEDULE=3600,3600 HOOKGATE_BREAKER_FAILURES=100000)
  start_redis
  start_gateway
  setup_integration "$endpoints" /fail
  lag_key=$(node "$BENCH_DIR/setup.js" --gateway "$GATEWAY" --admin-key "$ADMIN_KEY" --integration lag \
    --endpoints 1 --url "$SINK/later" --secret "$WEBHOOK_SECRET" --max-concurrency 200 | sed -n 's/^KEY=//p')
  m0=$(used_memory)
  js=$(node "$BENCH_DIR/loadgen.js" --url "$INGEST_URL" --auth "Bearer $KEY" --n "$events" \
    --concurrency "$BENCH_WRK_CONNS" --tag rt)
  m1=$(used_memory)
  start_worker
  for ((i = 0; i < 240; i++)); do
    sched=$(rcli ZCARD 'hg:{wq0}:sched')
    ((sched >= real)) && break
    sleep 0.5
  done
  sleep 1
  sched=$(rcli ZCARD 'hg:{wq0}:sched')
  ((sched >= real)) || log "retries: only $sched of $real deliveries were scheduled for a retry within 120 s"
  m2=$(used_memory)
  record_rss "retries-$sched" worker="$WORKER_PID" redis="$REDIS_PID"

  # MEMORY USAGE of sampled keys of the real path, for the breakdown on the
  # page (before the copies lengthen the events' "deliveries" field).
  local breakdown
  breakdown=$(rcli EVAL "
    local m = redis.call('ZRANGE', KEYS[1], 0, 199)
    local dlv, att = 0, 0
    for _, member in ipairs(m) do
      local id = member:match(' (%S+)$')
      dlv = dlv + (redis.call('MEMORY', 'USAGE', 'hg:{bench}:dlv:' .. id, 'SAMPLES', '0') or 0)
      att = att + (redis.call('MEMORY', 'USAGE', 'hg:{bench}:att:' .. id, 'SAMPLES', '0') or 0)
    end
    local evt = redis.call('MEMORY', 'USAGE', 'hg:{bench}:evt:' .. redis.call('HGET', 'hg:{bench}:dlv:' .. m[1]:match(' (%S+)$'), 'event_id'), 'SAMPLES', '0')
    return {math.floor(dlv / #m), math.floor(att / #m), redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', '0'), evt}" 1 'hg:{wq0}:sched' | tr '\n' ' ')

  log "retries: copying them up to $total schedule entries"
  # Each doubling of the AOF would start a rewrite, which forks a Redis that
  # grows past 2 GB here. Automatic rewrites stay off for the rest of this
  # phase, so neither the copies nor the lag probe run beside one.
  rcli CONFIG SET auto-aof-rewrite-percentage 0 > /dev/null
  for ((i = 0; i < 120; i++)); do
    rcli INFO persistence | grep -q '^aof_rewrite_in_progress:1' || break
    sleep 0.5
  done
  rcli EVAL "local m = redis.call('ZRANGE', KEYS[1], 0, -1)
    for i = 1, #m, 1000 do redis.call('RPUSH', KEYS[2], unpack(m, i, math.min(i + 999, #m))) end
    return #m" 2 'hg:{wq0}:sched' 'bench:sources' > /dev/null
  m3=$(used_memory)
  copies=$(((total - sched) / sched))
  batch=500
  local t0 t1 clone_sha
  clone_sha=$(rcli SCRIPT LOAD "$(cat "$BENCH_DIR/clone-retries.lua")")
  t0=$(date +%s%3N)
  for ((i = 0; i < sched; i += batch)); do
    rcli EVALSHA "$clone_sha" 2 bench:sources 'hg:{wq0}:sched' \
      "$i" $((i + batch - 1)) "$copies" 1 > /dev/null
  done
  t1=$(date +%s%3N)
  m4=$(used_memory)
  rcli DEL bench:sources > /dev/null
  local final
  final=$(rcli ZCARD 'hg:{wq0}:sched')
  record_rss "retries-$final" worker="$WORKER_PID" redis="$REDIS_PID"

  # The copies appended about 2 GB to the AOF. The probe starts once the
  # background fsync has caught up (at most 30 s), so it measures the
  # scheduler, not the disk flushing the copies.
  for ((i = 0; i < 60; i++)); do
    rcli INFO persistence | grep -q '^aof_pending_bio_fsync:0' && break
    sleep 0.5
  done
  sleep 2

  log "retries: lag probe, 500 events/s for 10 s, each retried 1 s after its 503"
  retries_metrics "$RESULTS/worker-metrics-before.txt"
  local later_off
  later_off=$(stat -c %s "$RUNDIR/later.log" 2>/dev/null || echo 0)
  node "$BENCH_DIR/loadgen.js" --url "$GATEWAY/api/v1/integrations/lag/events" --auth "Bearer $lag_key" \
    --rate 500 --duration 10 --tag lg > "$RESULTS/loadgen-lag.json"
  sleep 5
  retries_metrics "$RESULTS/worker-metrics-after.txt"
  tail -c +$((later_off + 1)) "$RUNDIR/later.log" > "$RESULTS/later.log" 2>/dev/null || true
  record_rss "retries-lag" worker="$WORKER_PID" redis="$REDIS_PID"

  result retries "$(node -e '
    const [real, sched, final, m0, m1, m2, m3, m4, copies, ms, events, endpoints] = process.argv.slice(1, 13).map(Number);
    const [dlv, att, zset, evt] = process.argv[13].trim().split(/\s+/).map(Number);
    const added = final - sched;
    console.log(JSON.stringify({
      pending: final, real_path: sched, copied: added, events, endpoints_per_event: endpoints,
      used_memory: { empty: m0, published: m1, real_pending: m2, before_copies: m3, after_copies: m4 },
      bytes_per_retry_with_event_share: Math.round((m2 - m0) / sched),
      bytes_per_retry_attempt_and_schedule: Math.round((m2 - m1) / sched),
      bytes_per_retry_without_event: Math.round((m4 - m3) / added),
      sampled: { delivery_hash: dlv, attempt_list: att, schedule_entry: Math.round(zset / sched), event_hash: evt },
      copy_ms: ms, aof_auto_rewrite: "off from the copies on", lag: JSON.parse(process.argv[14]),
    }));' "$real" "$sched" "$final" "$m0" "$m1" "$m2" "$m3" "$m4" "$copies" "$((t1 - t0))" "$events" "$endpoints" \
    "$breakdown" "$(node "$BENCH_DIR/lag.js" "$RESULTS/worker-metrics-before.txt" "$RESULTS/worker-metrics-after.txt" "$RESULTS/later.log")")"
  reset_all
  hookgate_env=("${saved_env[@]}")
}
