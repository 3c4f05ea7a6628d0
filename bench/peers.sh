# shellcheck shell=bash
# The peer comparison of bench/run.sh (sourced there; uses its helpers):
# runs a copy of the bench-peers harness (HOOKGATE_BENCH_PEERS) with
# hookgate as the product. The harness starts the gateway and the worker
# itself, once per phase on its own fresh Redis, and runs peer-setup.sh
# after each start. Its results land in RESULTS/peers/.
peers_run() {
  local harness=$HOOKGATE_BENCH_PEERS port worker_port redis_port peer_port noop_port sink_port
  [[ -x "$harness/run.sh" ]] || die "HOOKGATE_BENCH_PEERS=$harness has no run.sh"
  [[ -d "$harness/bullmq/node_modules" ]] ||
    (cd "$harness/bullmq" && npm ci --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed in $harness/bullmq"
  # The harness's own ports (6390, 18080 to 18082 by default) may be taken
  # on a shared machine, so free ones are passed in.
  redis_port=$(hg_free_port 19400)
  peer_port=$(hg_free_port $((redis_port + 1)))
  noop_port=$(hg_free_port $((peer_port + 1)))
  sink_port=$(hg_free_port $((noop_port + 1)))
  port=$(hg_free_port $((sink_port + 1)))
  worker_port=$(hg_free_port $((port + 1)))
  log "peers: bench-peers harness with hookgate as the product (about 3 minutes)"
  env "${hookgate_env[@]}" \
    HOOKGATE_GATEWAY_ADDR="127.0.0.1:$port" HOOKGATE_RETRY_ADDR="127.0.0.1:$worker_port" \
    HOOKGATE_LOG_FILE="$RUNDIR/peers-hookgate.log" \
    PRODUCT_START_CMD="$GATEWAY_BIN" PRODUCT_WORKER_START_CMD="$WORKER_BIN" \
    PRODUCT_SETUP_CMD="bash $BENCH_DIR/peer-setup.sh" \
    PRODUCT_INGEST_URL="http://127.0.0.1:$port/api/v1/integrations/bench/events" \
    RESULTS_DIR="$RESULTS/peers" REDIS_PORT="$redis_port" PEER_PORT="$peer_port" \
    NOOP_PORT="$noop_port" SINK_PORT="$sink_port" \
    "$harness/run.sh" > "$RESULTS/peers.out" 2>&1 ||
    log "peers: the harness failed; see $RESULTS/peers.out"
}
