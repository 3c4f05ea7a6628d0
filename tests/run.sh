#!/usr/bin/env bash
# Runs every hookgate test: installs what is missing (Debian packages, npm
# packages), builds a normal and a sanitizer build, then runs the Check unit
# tests of both, the integration tests against both, and the browser test.
# Each stage starts and stops its own redis-server and hookgate processes on
# 127.0.0.1. Exits non-zero when anything failed.
set -euo pipefail

. "$(dirname "$0")/../deploy/common.sh"
cd "$HOOKGATE_ROOT"

started=$(date +%s)
results=$HOOKGATE_ROOT/tests/.results
rm -rf "$results"
mkdir -p "$results"

stage() {
  hg_note "[$(($(date +%s) - started)) s] $*"
}

stage "installing packages"
# iproute2 gives `ip`, which integration/run.sh needs to set up the private
# network namespace of ssrf.test.js; minimal Debian images leave it out.
# redis-sentinel runs the Sentinels of the fault suite.
# clang and libclang-rt-14-dev build and link the libFuzzer targets.
extra=(chromium iproute2 redis-sentinel clang libclang-rt-14-dev)
command -v node >/dev/null 2>&1 || extra+=(nodejs npm)
hg_install_packages "${HOOKGATE_BUILD_PACKAGES[@]}" "${extra[@]}"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

stage "building build-test and build-asan"
hg_build build-test -DHOOKGATE_TESTS=ON
hg_build build-asan -DHOOKGATE_TESTS=ON -DHOOKGATE_SANITIZE=ON

# Sanitizer reports go to files, so a report from any process (including
# servers that the tests stop with SIGTERM) is found and fails the run.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$results/ubsan"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:log_path=$results/asan"
# print_suppressions=0: a run whose leaks were all suppressed writes no
# report file, so only unsuppressed leaks fail the run.
export LSAN_OPTIONS="suppressions=$HOOKGATE_ROOT/tests/lsan.supp:print_suppressions=0"

check_sanitizer_reports() {
  local reports
  reports=$(find "$results" -maxdepth 1 -name 'asan.*' -o -maxdepth 1 -name 'ubsan.*')
  [ -z "$reports" ] && return 0
  hg_note "sanitizer reports found:"
  for f in $reports; do
    echo "== $f"
    head -60 "$f"
  done
  return 1
}

stage "unit tests (build-test)"
ctest --test-dir build-test --output-on-failure

stage "unit tests (build-asan)"
ctest --test-dir build-asan --output-on-failure
check_sanitizer_reports

stage "fuzz targets (build-fuzz)"
# 16 targets for 20 s each, two at a time: about 3 minutes with the build.
FUZZ_BUILD_DIR=$HOOKGATE_ROOT/build-fuzz FUZZ_SECONDS=20 tests/fuzz/run.sh

stage "integration tests (build-test)"
HOOKGATE_BUILD_DIR=$HOOKGATE_ROOT/build-test tests/integration/run.sh

stage "integration tests (build-asan)"
HOOKGATE_BUILD_DIR=$HOOKGATE_ROOT/build-asan HOOKGATE_TEST_SLOW=1 \
  tests/integration/run.sh
check_sanitizer_reports

stage "fault suite (build-test)"
# About 3 minutes; it writes tests/.results/fault-summary.json.
HOOKGATE_BUILD_DIR=$HOOKGATE_ROOT/build-test \
  node --test --test-concurrency=1 tests/fault/

stage "browser test"
HOOKGATE_BUILD_DIR=$HOOKGATE_ROOT/build-test \
  node --test --test-concurrency=1 tests/browser/

stage "all tests passed"
