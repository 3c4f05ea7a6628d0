# shellcheck shell=bash
# Helpers shared by deploy/run.sh and tests/run.sh: Debian packages and the
# build. Sourced, not executed.

HOOKGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages needed to build and run hookgate on Debian 12.
HOOKGATE_BUILD_PACKAGES=(
  build-essential cmake pkg-config
  libevent-dev libevhtp-dev libhiredis-dev libjansson-dev uuid-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev check
  redis-server openssl curl
)

hg_note() {
  printf '\033[1mhookgate:\033[0m %s\n' "$*" >&2
}

# Installs the given Debian packages that are not installed yet.
hg_install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      hg_note "missing packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
      return 1
    fi
  fi
  hg_note "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Copies the third-party files of the inspector page (uPlot, pinned in
# web/package-lock.json) into web/vendor/, which the inspector serves under
# /assets/vendor/. `npm ci` runs only when web/node_modules is missing or
# older than the lock file. Debian's nodejs and npm are installed only when
# there is no npm: a Node.js that brings its own npm (NodeSource) conflicts
# with Debian's npm package.
hg_build_web() {
  local web=$HOOKGATE_ROOT/web
  local installed=$web/node_modules/.package-lock.json
  local dist=$web/node_modules/uplot/dist
  if ! command -v npm >/dev/null 2>&1; then
    hg_install_packages nodejs npm
  fi
  if [ ! -f "$installed" ] || [ "$web/package-lock.json" -nt "$installed" ]; then
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  mkdir -p "$web/vendor"
  cp "$dist/uPlot.iife.min.js" "$dist/uPlot.min.css" "$web/vendor/"
}

# Configures and builds into $1 (a directory); extra arguments go to cmake.
# The page's third-party files are copied first (hg_build_web).
# The compiler's output goes to $dir/build.log; a failed build prints its
# end. While make runs, the progress it reached is noted every 15 s, so a
# first build (about a minute on 2 cores) does not look stuck.
hg_build() {
  local dir=$1 make_pid rc=0 waited=0
  shift
  hg_build_web
  cmake -S "$HOOKGATE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  make -C "$dir" -j"$(nproc)" --no-print-directory >"$dir/build.log" 2>&1 &
  make_pid=$!
  while kill -0 "$make_pid" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ $((waited % 15)) -eq 0 ]; then
      hg_note "still building ($(grep -o '^\[ *[0-9]*%\]' "$dir/build.log" | tail -n 1 | tr -d '[ ]' || true) of the targets done)"
    fi
  done
  wait "$make_pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$dir/build.log" >&2
    hg_note "the build failed; the whole log is $dir/build.log"
    return "$rc"
  fi
}

# Prints a free TCP port on 127.0.0.1 at or above $1.
hg_free_port() {
  local port=$1
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# Waits up to $2 seconds (default 15) for URL $1 to return 200.
hg_wait_ready() {
  local url=$1 tries=$(( ${2:-15} * 10 ))
  while [ "$tries" -gt 0 ]; do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
    tries=$((tries - 1))
  done
  return 1
}
