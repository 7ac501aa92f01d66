#!/usr/bin/env bash
# Two builds of billing-server compared on one schema, in alternating order (A B, B A, …), so
# the machine's drift and the tables' growth fall on both alike. Besides the rate, each row
# gives the CPU per request of the server process and of the whole machine (from /proc), a
# figure far steadier than the rate on these noisy machines.
#   bench/http/ab.sh BINARY_A BINARY_B [rounds, default 4] [seconds, default 8] [scenario]
#   scenario: deduct-10000 (default), deduct-1, batch, stream
# A binary may be a wrapper script that sets environment variables and execs the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
a="$1"; b="$2"; rounds="${3:-4}"; seconds="${4:-8}"; scenario="${5:-deduct-10000}"
schema=httpbench; port=8199; grpc=9199
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ "$scenario" = stream ] && swift build -c release --product StreamLoad >/dev/null
period="$(TZ=Asia/Shanghai date +%Y-%m)"
sql() { psql -X -q -t -A -c "SET search_path = $schema" -c "$1"; }

psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
BILLING_DATABASE_SCHEMA=$schema "$a" migrate --config configs/config.yaml >/dev/null 2>&1
sql "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g"
sql "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
sql "ANALYZE"

start() {
  BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_GRPC_PORT=$grpc BILLING_DEDUCTION_STRATEGY=lanes \
    BILLING_DATABASE_HOST="$PG_SOCKET_DIR" BILLING_REDIS_HOST="$REDIS_SOCKET" BILLING_DATABASE_POOL_SIZE=8 BILLING_REDIS_NAMESPACE=$schema BILLING_LOG_LEVEL=warning \
    "$1" serve --config configs/config.yaml >/tmp/httpbench-ab-server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; }
run() { # round, build -> requests (or deductions) per second
  case $scenario in
    deduct-*) USERS=${scenario#deduct-} wrk -t2 -c64 -d"${seconds}s" -s bench/http/deduct.lua "http://127.0.0.1:$port" \
      | awk '/Requests\/sec/ { printf "%d", $2 }' ;;
    batch) out="$(ITEMS=100 wrk -t2 -c64 -d"${seconds}s" -s bench/http/batch.lua "http://127.0.0.1:$port")"
      echo $(($(awk '/^items_charged/ { print $2 }' <<<"$out") / seconds)) ;;
    # Request ids of their own each time: the schema is shared, and a replay costs less.
    stream) PORT=$grpc PREFIX="s$1$2-" USERS=10000 SECONDS=$seconds STREAMS=8 CONNECTIONS=2 WINDOW=100 \
      .build/release/StreamLoad 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' ;;
  esac
}
jiffies() { awk '/^cpu / { busy = 0; for (i = 2; i <= NF; i++) if (i != 5 && i != 6) busy += $i; print busy }' /proc/stat; }

# Both designs' first seconds on new tables are slow: warm up once, with A.
start "$a"
PREFIX=w ITEMS=100 wrk -t2 -c64 -d6s -s bench/http/batch.lua "http://127.0.0.1:$port" >/dev/null
stop

rates_a=(); rates_b=()
echo "| round | build | rate/s | server CPU µs per request | machine CPU µs per request |"
echo "|---|---|---:|---:|---:|"
for round in $(seq 1 "$rounds"); do
  order="A B"; [ $((round % 2)) = 0 ] && order="B A"
  for which in $order; do
    binary="$a"; [ "$which" = B ] && binary="$b"
    start "$binary"
    server0=$(awk '{ print $14 + $15 }' /proc/$pid/stat); machine0=$(jiffies)
    rate=$(run "$round" "$which")
    server1=$(awk '{ print $14 + $15 }' /proc/$pid/stat); machine1=$(jiffies)
    stop
    # Jiffies are 10 ms: × 10,000 → µs.
    awk -v r="$round" -v w="$which" -v rate="$rate" -v s="$seconds" -v sv=$((server1 - server0)) -v m=$((machine1 - machine0)) \
      'BEGIN { n = rate * s; printf "| %d | %s | %d | %.1f | %.1f |\n", r, w, rate, sv * 10000 / n, m * 10000 / n }'
    if [ "$which" = A ]; then rates_a+=("$rate"); else rates_b+=("$rate"); fi
  done
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
awk -v a="${rates_a[*]}" -v b="${rates_b[*]}" 'BEGIN {
  n = split(a, x, " "); split(b, y, " "); sa = 0; sb = 0; pairs = ""
  for (i = 1; i <= n; i++) { sa += x[i]; sb += y[i]; pairs = pairs sprintf(" %.3f", y[i] / x[i]) }
  printf "\nB ÷ A: %.3f on average (%d vs %d/s); per round:%s\n", sb / sa, sb / n, sa / n, pairs }'
