#!/usr/bin/env bash
# A CPU profile of the release billing-server under wrk (64 connections, 10,000 users with
# money and no free quota), summarized by bench/profile/summarize.py.
#   bench/profile/run.sh [deduct|check|batch, default deduct] [seconds, default 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
script="${1:-deduct}"
seconds="${2:-8}"
schema=profbench
port=8197
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product billing-server >/dev/null 2>&1
period="$(TZ=Asia/Shanghai date +%Y-%m)"
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_GRPC_PORT=9196 BILLING_REDIS_NAMESPACE=$schema \
  BILLING_LOG_LEVEL=warning .build/release/billing-server serve --config configs/config.yaml >/tmp/profbench-server.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
psql -X -q -c "SET search_path = $schema" \
  -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g" \
  -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g" \
  -c "ANALYZE"
# Warm tables and cache first (docs/benchmarks.md: the first seconds on new tables are slower).
PREFIX=w wrk -t2 -c64 -d8s -s bench/http/batch.lua "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c64 -d$((seconds + 2))s --latency -s "bench/http/$script.lua" "http://127.0.0.1:$port" >/tmp/profbench-wrk.txt &
load=$!
sleep 1
perf record -F 999 -g -p "$pid" -o /tmp/profbench.data -- sleep "$seconds" >/dev/null 2>&1
wait $load
grep -E "Requests/sec" /tmp/profbench-wrk.txt
perf script -i /tmp/profbench.data 2>/dev/null | swift demangle --simplified | bench/profile/summarize.py
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
