#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DHOOKGATE_FUZZ=ON) and runs each
# for FUZZ_SECONDS seconds (default 20), two at a time, on a temporary copy
# of its seed corpus, so a normal run leaves tests/fuzz/corpus unchanged.
# Exits non-zero when a target finds a crash, a leak, a timeout or an
# out-of-memory input, and prints the path of the saved reproducer.
#
#   tests/fuzz/run.sh                      every target, 20 s each
#   FUZZ_SECONDS=600 tests/fuzz/run.sh query trace
#                                          the longer run of two targets
#   tests/fuzz/run.sh --merge [target...]  also adds the new inputs that
#                                          reach new coverage, minimized,
#                                          to tests/fuzz/corpus
#
# FUZZ_BUILD_DIR sets the build directory (default build-fuzz in the
# repository) and FUZZ_JOBS the number of targets run at once (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_dir=$root/tests/fuzz
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
merge=false

note() {
  printf '\033[1mfuzz:\033[0m %s\n' "$*" >&2
}

targets=()
for arg in "$@"; do
  case $arg in
    --merge) merge=true ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      note "unknown option $arg; see $0 --help"
      exit 2
      ;;
    *) targets+=("$arg") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for dir in "$fuzz_dir"/corpus/*/; do
    targets+=("$(basename "$dir")")
  done
fi
for t in "${targets[@]}"; do
  if [ ! -f "$fuzz_dir/fuzz_$t.c" ]; then
    note "no target \"$t\": expected $fuzz_dir/fuzz_$t.c"
    exit 2
  fi
done

note "building the fuzz targets in $build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DHOOKGATE_FUZZ=ON \
  -DHOOKGATE_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target hookgate-fuzz -j"$(nproc)" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/hookgate-fuzz.XXXXXX")
keep_work=false
cleanup() {
  $keep_work || rm -rf "$work"
}
trap cleanup EXIT

# Reports go to each target's log, whatever the calling test run set.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"

# Runs one target on a copy of its corpus; returns libFuzzer's status.
run_target() {
  local t=$1 dir=$work/$1
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
              -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$fuzz_dir/corpus/$t"/* "$dir/corpus/" 2>/dev/null || true
  [ -f "$fuzz_dir/$t.dict" ] && args+=(-dict="$fuzz_dir/$t.dict")
  "$build/tests/fuzz/fuzz_$t" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1
}

# Reports one finished target; returns 1 when it failed.
report() {
  local t=$1 status=$2 dir=$work/$1 runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  if [ "$status" -eq 0 ]; then
    note "$t: passed, ${runs:-?} inputs in ${seconds} s"
    return 0
  fi
  keep_work=true
  note "$t: FAILED (libFuzzer exit status $status); last lines of its log:"
  grep -v '^#' "$dir/log" | tail -40 >&2
  for f in "$dir"/artifacts/*; do
    [ -e "$f" ] || continue
    note "$t: reproducer $f"
    note "  rerun with: $build/tests/fuzz/fuzz_$t $f"
  done
  note "$t: full log $dir/log"
  return 1
}

failed=0
declare -A pid_target=()
for t in "${targets[@]}"; do
  while [ ${#pid_target[@]} -ge "$jobs" ]; do
    status=0
    wait -n -p done_pid "${!pid_target[@]}" || status=$?
    report "${pid_target[$done_pid]}" "$status" || failed=1
    unset "pid_target[$done_pid]"
  done
  run_target "$t" &
  pid_target[$!]=$t
done
while [ ${#pid_target[@]} -gt 0 ]; do
  status=0
  wait -n -p done_pid "${!pid_target[@]}" || status=$?
  report "${pid_target[$done_pid]}" "$status" || failed=1
  unset "pid_target[$done_pid]"
done

if [ "$failed" -ne 0 ]; then
  note "failed; the reproducers above stay in $work"
  exit 1
fi

if $merge; then
  for t in "${targets[@]}"; do
    before=$(find "$fuzz_dir/corpus/$t" -type f | wc -l)
    # Only new edges count, not new hit counts of known edges, so a merge
    # adds a handful of inputs instead of hundreds.
    "$build/tests/fuzz/fuzz_$t" -set_cover_merge=1 -use_counters=0 \
      "$fuzz_dir/corpus/$t" "$work/$t/corpus" >"$work/$t/merge.log" 2>&1
    after=$(find "$fuzz_dir/corpus/$t" -type f | wc -l)
    note "$t: merged $((after - before)) new inputs into tests/fuzz/corpus/$t"
  done
fi
note "all ${#targets[@]} targets passed"
