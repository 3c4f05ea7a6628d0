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
# http-abuse.test.js keeps 10,000 connections open from the test process,
# and Node cannot raise its own open-file limit. So the soft limit is raised
# to the hard limit here; the file fails with a message if it is still low.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Per-test timeouts are set in the files, and this bound catches a test
# without one. HOOKGATE_TEST_SLOW=1 (sanitizer builds) triples it, as the
# files do.
timeout_ms=180000
if [[ "${HOOKGATE_TEST_SLOW:-}" == 1 ]]; then
  timeout_ms=$((timeout_ms * 3))
fi
node_args=(--test --test-concurrency=1 --test-timeout="$timeout_ms" "$@")

# ssrf.test.js runs on its own, in a private network namespace that has only
# loopback, plus 169.254.169.254 on lo so that a trap server can listen
# there. If hookgate's address policy were broken, its requests to the
# metadata address, to 0.0.0.0 or to a name it resolves would then stay on
# this machine. The file runs those cases only with HOOKGATE_IT_NETNS=1.
# Without root, a user namespace (--map-root-user) is tried instead.
ssrf_file=tests/integration/ssrf.test.js
other_files=()
for file in tests/integration/*.test.js; do
  [[ "$file" == "$ssrf_file" ]] || other_files+=("$file")
done

netns_setup='ip link set lo up && ip addr add 169.254.169.254/32 dev lo'
netns=()
if command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
  if unshare --net sh -c "$netns_setup" >/dev/null 2>&1; then
    netns=(unshare --net)
  elif unshare --user --map-root-user --net sh -c "$netns_setup" >/dev/null 2>&1; then
    netns=(unshare --user --map-root-user --net)
  fi
fi

status=0
node "${node_args[@]}" "${other_files[@]}" || status=$?

if [[ ${#netns[@]} -gt 0 ]]; then
  HOOKGATE_IT_NETNS=1 "${netns[@]}" sh -c "$netns_setup"' && exec "$@"' sh \
    node "${node_args[@]}" "$ssrf_file" || status=$?
else
  echo "run.sh: WARNING: cannot create a private network namespace (needs" \
    "'unshare' from util-linux, 'ip' from iproute2, and root or user" \
    "namespaces); running $ssrf_file without one, so its cases that could" \
    "leave loopback are skipped" >&2
  node "${node_args[@]}" "$ssrf_file" || status=$?
fi
exit "$status"
