#!/usr/bin/env bash
# Runs hookgate on this machine: installs missing Debian packages, builds,
# starts a private redis-server (AOF on) unless HOOKGATE_REDIS_URL is set,
# and starts the gateway, the delivery worker and the inspector in sandbox
# mode. Stays in the foreground; Ctrl-C stops everything it started.
set -euo pipefail

. "$(dirname "$0")/common.sh"

state_dir=${HOOKGATE_STATE_DIR:-$HOOKGATE_ROOT/.hookgate}
build_dir=${HOOKGATE_BUILD_DIR:-$HOOKGATE_ROOT/build}
mkdir -p "$state_dir/logs"
# Redis data and logs can hold event payloads: keep them private.
umask 077

# One run per state directory: a second one would start another Redis on
# the same data.
exec 9>"$state_dir/run.lock"
if ! flock -n 9; then
  hg_note "another run.sh is using $state_dir; stop it first (or set HOOKGATE_STATE_DIR)"
  exit 1
fi

hg_install_packages "${HOOKGATE_BUILD_PACKAGES[@]}"
hg_note "building into $build_dir"
hg_build "$build_dir" -DHOOKGATE_TESTS=OFF

pids=()
redis_pid=
# Stops the hookgate processes first and Redis last: a worker finishing a
# delivery during its shutdown still records the attempt in Redis.
stop_all() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

export HOOKGATE_SANDBOX=${HOOKGATE_SANDBOX:-1}
export HOOKGATE_ALLOW_PRIVATE_TARGETS=${HOOKGATE_ALLOW_PRIVATE_TARGETS:-1}
export HOOKGATE_GATEWAY_ADDR=${HOOKGATE_GATEWAY_ADDR:-127.0.0.1:8080}
export HOOKGATE_INSPECTOR_ADDR=${HOOKGATE_INSPECTOR_ADDR:-127.0.0.1:8081}
export HOOKGATE_RETRY_ADDR=${HOOKGATE_RETRY_ADDR:-127.0.0.1:8082}
export HOOKGATE_WEB_DIR=${HOOKGATE_WEB_DIR:-$HOOKGATE_ROOT/web}

# A port already in use would make a process exit, and the readiness
# checks below could then reach whatever else listens there.
for setting in HOOKGATE_GATEWAY_ADDR HOOKGATE_INSPECTOR_ADDR HOOKGATE_RETRY_ADDR; do
  addr=${!setting}
  port=${addr##*:}
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    hg_note "port $port ($setting=$addr) is already in use; stop what listens there or set $setting to another address"
    exit 1
  fi
done

if [ -z "${HOOKGATE_REDIS_URL:-}" ]; then
  redis_port=$(hg_free_port "${HOOKGATE_REDIS_PORT:-6380}")
  mkdir -p "$state_dir/redis"
  # Other users of this machine can reach a loopback port too, so the
  # private Redis gets a password, made once and kept like the keys below.
  # It goes in a config file because a command line is visible to them.
  if [ ! -s "$state_dir/redis_password" ]; then
    (umask 077 && openssl rand -hex 24 >"$state_dir/redis_password")
  fi
  redis_password=$(cat "$state_dir/redis_password")
  printf 'requirepass %s\n' "$redis_password" >"$state_dir/redis.conf"
  redis-server "$state_dir/redis.conf" --bind 127.0.0.1 --port "$redis_port" \
    --dir "$state_dir/redis" --appendonly yes --appendfsync everysec \
    --save "" --logfile "$state_dir/logs/redis.log" &
  redis_pid=$!
  export HOOKGATE_REDIS_URL="redis://:$redis_password@127.0.0.1:$redis_port/0"
  for _ in $(seq 50); do
    REDISCLI_AUTH=$redis_password redis-cli -p "$redis_port" ping 2>/dev/null |
      grep -q PONG && break
    sleep 0.1
  done
  hg_note "private Redis on 127.0.0.1:$redis_port (AOF in $state_dir/redis, password in $state_dir/redis_password)"
fi

# The admin key is made once and kept, so it stays valid across runs.
if [ -z "${HOOKGATE_ADMIN_KEY:-}" ]; then
  if [ ! -s "$state_dir/admin_key" ]; then
    (umask 077 && openssl rand -hex 24 >"$state_dir/admin_key")
  fi
  HOOKGATE_ADMIN_KEY=$(cat "$state_dir/admin_key")
  export HOOKGATE_ADMIN_KEY
fi

# The key that encrypts endpoint secrets is made once and kept: a new key
# could not open the secrets stored under the old one.
if [ -z "${HOOKGATE_SECRET_KEY:-}" ]; then
  if [ ! -s "$state_dir/secret_key" ]; then
    (umask 077 && openssl rand -hex 32 >"$state_dir/secret_key")
  fi
  HOOKGATE_SECRET_KEY=$(cat "$state_dir/secret_key")
  export HOOKGATE_SECRET_KEY
fi

for service in gateway retry inspector; do
  "$build_dir/$service/hookgate-$service" >>"$state_dir/logs/$service.log" 2>&1 &
  pids+=($!)
done

gateway=http://$HOOKGATE_GATEWAY_ADDR
inspector=http://$HOOKGATE_INSPECTOR_ADDR
for url in "$gateway/readyz" "$inspector/readyz" "http://$HOOKGATE_RETRY_ADDR/readyz"; do
  if ! hg_wait_ready "$url" 20; then
    hg_note "$url did not become ready; logs are in $state_dir/logs"
    exit 1
  fi
done

sandbox_key=${HOOKGATE_SANDBOX_API_KEY:-hgk_sandbox_local_development_key}
cat <<EOF

  hookgate is running (logs in $state_dir/logs; Ctrl-C stops it)

  Gateway API     $gateway/api/v1
  Inspector       $inspector/#key=$sandbox_key
  Admin key       $HOOKGATE_ADMIN_KEY
  Sandbox API key $sandbox_key   (integration "sandbox")
  Sandbox secret  whsec_aG9va2dhdGUtc2FuZGJveC1zZWNyZXQtbG9jYWwtZGV2
                  (endpoint ep_sandbox, the inspector's /sink/sandbox)

  Try:
    curl -X POST $gateway/api/v1/integrations/sandbox/events \\
      -H 'Authorization: Bearer $sandbox_key' \\
      -H 'Content-Type: application/json' \\
      -d '{"type":"booking.created","booking_id":"bk_1"}'

EOF

wait -n "${pids[@]}" ${redis_pid:+"$redis_pid"} || true
hg_note "a hookgate process exited; stopping the others (see $state_dir/logs)"
exit 1
