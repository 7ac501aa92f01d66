#!/usr/bin/env bash
# gRPC load: DeductQuota and CheckQuota against the release billing-server (lanes) and
# DeductQuota against the per-call baseline, 10,000 users and one hot user, in one run.
#   bench/grpc/run.sh [seconds, default 8] [streams, default 64] [connections, default 4]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-8}"; streams="${2:-64}"; connections="${3:-4}"
http=8197; grpc=9197; schema=grpcbench
eval "$(scripts/services.sh env)"
swift build -c release --product billing-server >/dev/null 2>&1
swift build -c release --product GRPCLoad >/dev/null 2>&1
period="$(TZ=Asia/Shanghai date +%Y-%m)"
echo "| strategy | RPC | users | calls/s | p50 ms | p99 ms | p99.9 ms | failed | server peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for strategy in lanes per_call; do
  pool=8; [ "$strategy" = per_call ] && pool=$streams
  psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
  BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$http BILLING_GRPC_PORT=$grpc BILLING_DEDUCTION_STRATEGY=$strategy \
    BILLING_DATABASE_POOL_SIZE=$pool BILLING_REDIS_NAMESPACE=$schema BILLING_LOG_LEVEL=warning \
    .build/release/billing-server serve --config configs/config.yaml >/tmp/grpcbench-server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http/health" >/dev/null && break; sleep 0.1; done
  psql -X -q -c "SET search_path = $schema" \
    -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g" \
    -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
  for case in "ping 1" "deduct 10000" "deduct 1" "check 10000"; do
    set -- $case
    [ "$strategy" = per_call ] && [ "$1" != deduct ] && continue
    row="$(PORT=$grpc RPC=$1 USERS=$2 SECONDS=$seconds STREAMS=$streams CONNECTIONS=$connections .build/release/GRPCLoad)"
    rss="$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' /proc/$pid/status)"
    echo "| $strategy | $1 | $2 $row $rss |"
  done
  kill -TERM $pid; wait $pid || true
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
