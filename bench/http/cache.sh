#!/usr/bin/env bash
# CheckQuota with the Redis cache, without it (PostgreSQL only), and redis-benchmark's GET
# on the same Redis as the ceiling, in one run. Prints a Markdown table.
#   bench/http/cache.sh [seconds per scenario, default 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-8}"
port=8198
schema=cachebench
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product billing-server >/dev/null 2>&1
period="$(TZ=Asia/Shanghai date +%Y-%m)"

latency() {
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }; printf "%.2f", v }' <<<"$1"
}

echo "| check | connections | requests/s | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|---:|"
for cache in true false; do
  psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
  redis-cli -p "$REDIS_PORT" --scan --pattern "$schema:*" | xargs -r redis-cli -p "$REDIS_PORT" del >/dev/null
  BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_REDIS_ENABLED=$cache BILLING_REDIS_NAMESPACE=$schema \
    BILLING_LOG_LEVEL=warning .build/release/billing-server serve --config configs/config.yaml >/tmp/cachebench-server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  psql -X -q -c "SET search_path = $schema" \
    -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000 FROM generate_series(0, 9999) g" \
    -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
  label=$([ "$cache" = true ] && echo "with Redis cache" || echo "PostgreSQL only")
  # Warm the cache with one pass, then measure at full load and at light load.
  wrk -t2 -c64 -d3s -s bench/http/check.lua "http://127.0.0.1:$port" >/dev/null
  for connections in 64 4; do
    out="$(wrk -t2 -c$connections -d"${seconds}s" --latency -s bench/http/check.lua "http://127.0.0.1:$port")"
    rps="$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
    echo "| $label | $connections | $rps | $(latency "$out" 50%) | $(latency "$out" 99%) |"
  done
  kill -TERM $pid; wait $pid || true
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
gets="$(redis-benchmark -p "$REDIS_PORT" -t get -n 200000 -c 64 -q | tr '\r' '\n' | awk '/requests per second/ { print $2 }')"
echo "| redis-benchmark GET (ceiling) | 64 | ${gets%.*} | | |"
