#!/usr/bin/env bash
# gRPC load with h2load (nghttp2, C): a client that costs the shared 2 cores far less than
# the Swift GRPCLoad, so the server's own ceiling shows. Both strategies in one run:
#   bench/grpc/h2load.sh [requests per row, default 60000]
# Rows: Ping (the transport alone), CheckQuota, and DeductQuota on one hot user (4
# connections x 16 streams) and on 64 users (64 h2load processes, one connection and one
# stream each, a user each: no two calls of one user at once). Latency from h2load's
# per-request log. After each DeductQuota row the ledger is checked: 1 fen per call.
set -euo pipefail
cd "$(dirname "$0")/../.."
requests="${1:-60000}"
http=8197; grpc=9197; schema=grpcbench
command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null; }
eval "$(scripts/services.sh env)"
swift build -c release --product billing-server >/dev/null 2>&1
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
python3 bench/grpc/h2load_helper.py bodies "$work"
period="$(TZ=Asia/Shanghai date +%Y-%m)"
grpc_headers=(-H 'content-type: application/grpc' -H 'te: trailers' -H 'authorization: Bearer dev-internal-token')
url="http://127.0.0.1:$grpc/billing.v1.BillingInternalService"

echo "| strategy | RPC | users | streams | calls | calls/s | p50 ms | p99 ms | p99.9 ms | fen charged = calls | server peak RSS MB |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|"
for strategy in lanes per_call; do
  pool=8; [ "$strategy" = per_call ] && pool=64
  psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
  BILLING_DEDUCTION_STRATEGY=$strategy BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$http BILLING_GRPC_PORT=$grpc \
    BILLING_DATABASE_POOL_SIZE=$pool BILLING_REDIS_NAMESPACE=$schema BILLING_LOG_LEVEL=warning \
    .build/release/billing-server serve --config configs/config.yaml >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http/health" >/dev/null && break; sleep 0.1; done
  psql -X -q -c "SET search_path = $schema" \
    -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g" \
    -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
  charged() { psql -X -q -At -c "SELECT 10000 * 1000000000::bigint - sum(balance_fen) FROM $schema.user_balance"; }
  rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' /proc/$pid/status; }
  for row in "ping hot 4 16" "check hot 4 4" "check hot 4 16" "deduct hot 4 16" "deduct many 64 1"; do
    set -- $row
    [ "$strategy" = per_call ] && [ "$1" != deduct ] && continue
    rpc=$(case $1 in ping) echo Ping ;; check) echo CheckQuota ;; deduct) echo DeductQuota ;; esac)
    before=$(charged)
    rm -f "$work"/*.log
    if [ "$2" = hot ]; then
      body="$work/hot.bin"; [ "$1" = ping ] && body="$work/ping.bin"
      h2load -n "$requests" -c "$3" -m "$4" --log-file="$work/0.log" "${grpc_headers[@]}" -d "$body" "$url/$rpc" >/dev/null
      users=1
    else
      for i in $(seq 0 $(($3 - 1))); do
        h2load -n $((requests / $3)) -c 1 -m "$4" --log-file="$work/$i.log" "${grpc_headers[@]}" -d "$work/user$i.bin" "$url/$rpc" >/dev/null &
      done
      wait $(jobs -p | grep -vx "$pid")
      users=$3
    fi
    stats="$(python3 bench/grpc/h2load_helper.py stats "$work"/*.log)"
    calls="${stats%% |*}"
    exact="-"; [ "$1" = deduct ] && exact=$([ $(( $(charged) - before )) -eq "$calls" ] && echo yes || echo "NO: $(( $(charged) - before ))")
    echo "| $strategy | $rpc | $users | $(( $3 * $4 )) | $stats | $exact | $(rss) |"
  done
  kill -TERM $pid; wait $pid || true
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
