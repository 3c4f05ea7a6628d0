# shellcheck shell=bash
# Helpers of bench/run.sh: processes started and stopped by PID, free ports,
# resident memory sampling, wrk output parsing. Sourced, not executed.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../deploy/common.sh"

STARTED_PIDS=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z* ]]
}

track() { STARTED_PIDS+=("$1"); }

# Stops one process this script started: $1 PID, $2 signal (TERM), $3 seconds
# before KILL (10).
stop_pid() {
  local pid=$1 sig=${2:-TERM} t=${3:-10} i keep=() p
  [[ -z "$pid" ]] && return 0
  if alive "$pid"; then
    kill "-$sig" "$pid" 2>/dev/null
    for ((i = 0; i < t * 20; i++)); do alive "$pid" || break; sleep 0.05; done
    if alive "$pid"; then
      log "pid $pid still running ${t} s after SIG$sig; sending KILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  for p in "${STARTED_PIDS[@]}"; do [[ "$p" != "$pid" ]] && keep+=("$p"); done
  STARTED_PIDS=("${keep[@]}")
  return 0
}

stop_all() {
  local i
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED_PIDS[i]}"; done
}

# Waits up to $2 seconds for a TCP listener on 127.0.0.1:$1.
wait_port() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Resident memory of PID $1 and its direct children (nginx workers), in KiB.
rss_kib() {
  local total=0 q v
  for q in "$1" $(pgrep -P "$1" 2>/dev/null); do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$q/status" 2>/dev/null) && total=$((total + ${v:-0}))
  done
  echo "$total"
}

# CPU ticks (user + system) of the given PIDs.
cpu_ticks() {
  local t=0 p v
  for p in "$@"; do
    v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null) && t=$((t + ${v:-0}))
  done
  echo "$t"
}

# Starts a background sampler that appends "name max_rss_kib" lines for each
# name=PID argument to $1 every 0.5 s until stop_sampler; it keeps the
# maximum, so the figure is the peak under load.
start_sampler() {
  local out=$1
  shift
  (
    declare -A peak
    trap 'for k in "${!peak[@]}"; do echo "$k ${peak[$k]}"; done > "$out"; exit 0' TERM
    while :; do
      for spec in "$@"; do
        name=${spec%%=*} pid=${spec#*=}
        v=$(rss_kib "$pid")
        (( v > ${peak[$name]:-0} )) && peak[$name]=$v
      done
      sleep 0.5
    done
  ) &
  SAMPLER_PID=$!
  track "$SAMPLER_PID"
}
stop_sampler() { stop_pid "$SAMPLER_PID" TERM 5; SAMPLER_PID=""; }

# Appends "phase name rss_kib" for each name=PID argument to rss.txt.
record_rss() {
  local phase=$1 spec
  shift
  for spec in "$@"; do
    echo "$phase ${spec%%=*} $(rss_kib "${spec#*=}")" >> "$RESULTS/rss.txt"
  done
}

# Parses wrk --latency output $1 into one JSON object.
wrk_json() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /requests in/ { total = $1 }
    /Non-2xx or 3xx responses:/ { non2xx = $5 }
    /Socket errors:/ { serr = 1 }
    END {
      printf "{\"rate\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"requests\":%d,\"non_2xx\":%d,\"socket_errors\":%s}\n",
        rps, p50, p90, p99, total, non2xx + 0, serr ? "true" : "false"
    }' "$1"
}
