#!/usr/bin/env bash
# PRODUCT_SETUP_CMD of the bench-peers harness for hookgate: creates the
# integration "bench" with one endpoint pointing at the harness's sink
# (SINK_URL) with the harness's secret (WEBHOOK_SECRET), then prints the
# ingest URL and the Authorization value for the harness's load. Needs
# HOOKGATE_ADMIN_KEY (run.sh exports it); the endpoint's max_concurrency is
# 100, the concurrency of the peer's worker.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
gateway=${PRODUCT_INGEST_URL%%/api/v1/*}
out=$(node "$dir/setup.js" --gateway "$gateway" --admin-key "$HOOKGATE_ADMIN_KEY" --integration bench \
  --endpoints 1 --url "$SINK_URL" --secret "$WEBHOOK_SECRET" --max-concurrency 100)
echo "INGEST_URL=$gateway/api/v1/integrations/bench/events"
echo "AUTH=Bearer $(sed -n 's/^KEY=//p' <<< "$out")"
