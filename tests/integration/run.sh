#!/usr/bin/env bash
# Runs the integration tests against built hookgate binaries, one test file
# at a time, each with its own redis-server and hookgate processes.
#
# Needs: Node.js 20+, /usr/bin/redis-server, `npm ci` already run in tests/,
# and a CMake build of hookgate in HOOKGATE_BUILD_DIR (default: <repo>/build).
# Extra arguments go to `node --test`, for example
#   tests/integration/run.sh --test-name-pattern=retry
# HOOKGATE_IT_KEEP_TMP=1 keeps each file's temporary directory (process logs
# and the Redis append-only file) instead of removing it.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${HOOKGATE_BUILD_DIR:-$repo_root/build}"
# The tests run from the repository root, so a build directory given
# relative to the caller's directory is made absolute first.
if [[ -d "$build_dir" ]]; then
  build_dir="$(cd "$build_dir" && pwd)"
fi
export HOOKGATE_BUILD_DIR="$build_dir"

for binary in gateway/hookgate-gateway retry/hookgate-retry; do
  if [[ ! -x "$HOOKGATE_BUILD_DIR/$binary" ]]; then
    echo "run.sh: $HOOKGATE_BUILD_DIR/$binary is missing; build hookgate or set HOOKGATE_BUILD_DIR" >&2
    exit 2
  fi
done
if [[ ! -d "$repo_root/tests/node_modules" ]]; then
  echo "run.sh: tests/node_modules is missing; run 'npm ci' in $repo_root/tests first" >&2
  exit 2
fi
if [[ ! -x /usr/bin/redis-server ]]; then
  echo "run.sh: /usr/bin/redis-server is missing; install the redis-server package" >&2
  exit 2
fi

cd "$repo_root"
# Per-test timeouts are set in the files, and this bound catches a test
# without one. HOOKGATE_TEST_SLOW=1 (sanitizer builds) triples it, as the
# files do.
timeout_ms=180000
if [[ "${HOOKGATE_TEST_SLOW:-}" == 1 ]]; then
  timeout_ms=$((timeout_ms * 3))
fi
exec node --test --test-concurrency=1 --test-timeout="$timeout_ms" "$@" tests/integration/*.test.js
