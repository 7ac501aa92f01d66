#!/usr/bin/env bash
# End-to-end HTTP benchmark: wrk against the release billing-server on the local
# PostgreSQL, for the lanes and for the per-call baseline, with a no-op route (/health)
# as the framework's ceiling, all in one run. Prints a Markdown table.
#   bench/http/run.sh [seconds per scenario, default 10] [connections, default 64]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
connections="${2:-64}"
port=8199
schema=httpbench
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product billing-server >/dev/null
period="$(TZ=Asia/Shanghai date +%Y-%m)"

latency() { # wrk --latency output, percentile label (50% / 99%) -> milliseconds
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }; printf "%.2f", v }' <<<"$1"
}

echo "| strategy | scenario | requests/s | p50 ms | p99 ms | non-2xx | server peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|"
for strategy in lanes per_call; do
  # The per-call baseline needs a connection per concurrent caller; the lanes do not.
  pool=8; [ "$strategy" = per_call ] && pool=$connections
  psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
  BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_DEDUCTION_STRATEGY=$strategy \
    BILLING_DATABASE_POOL_SIZE=$pool LOG_LEVEL=warning \
    .build/release/billing-server serve --config configs/config.yaml >/tmp/httpbench-server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  # 10,000 users with money and their passport free quota used up: every deduction is paid.
  psql -X -q -c "SET search_path = $schema" \
    -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g" \
    -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
  for scenario in health check deduct; do
    case $scenario in
      health) out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/health")" ;;
      *) out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "bench/http/$scenario.lua" "http://127.0.0.1:$port")" ;;
    esac
    rps="$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
    errors="$(awk '/Non-2xx/ { print $5 }' <<<"$out")"
    rss="$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' /proc/$pid/status)"
    echo "| $strategy | $scenario | $rps | $(latency "$out" 50%) | $(latency "$out" 99%) | ${errors:-0} | $rss |"
  done
  kill -TERM $pid; wait $pid || true
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
