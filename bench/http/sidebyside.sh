#!/usr/bin/env bash
# Two builds (or two schemas) compared at the same moments: both servers run at once, each on
# its own schema, Redis namespace and ports, and each round loads both with half of the
# connections. This machine's speed moves ±20 % within minutes (docs/benchmarks.md); rounds
# taken one after the other (`ab.sh`) need many pairs to see a few per cent, while two servers
# loaded together meet the same machine: the same build against itself gave 0.988 and 0.992.
# The ratio B ÷ A is what to read, not the rates (each server has about half the machine).
#   bench/http/sidebyside.sh BINARY_A BINARY_B [rounds, default 3] [seconds, default 10] [scenario]
#   scenario: deduct-10000 (default), deduct-1, batch, stream (gRPC DeductQuotaStream by
#   StreamLoad: 4 streams of 100 in flight a side)
#   SQL_A / SQL_B: a SQL file run on that side's schema after its migrations (a schema
#   variant: an index, a constraint, a collation), before the users are created.
set -euo pipefail
cd "$(dirname "$0")/../.."
a="$1"; b="$2"; rounds="${3:-3}"; seconds="${4:-10}"; scenario="${5:-deduct-10000}"
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ "$scenario" = stream ] && swift build -c release --product StreamLoad >/dev/null
period="$(TZ=Asia/Shanghai date +%Y-%m)"
half=32

prepare() { # schema, binary, SQL file or empty
  psql -X -q -c "DROP SCHEMA IF EXISTS $1 CASCADE" -c "CREATE SCHEMA $1" 2>/dev/null
  BILLING_DATABASE_SCHEMA=$1 "$2" migrate --config configs/config.yaml >/dev/null 2>&1
  [ -n "$3" ] && psql -X -q -v ON_ERROR_STOP=1 -c "SET search_path = $1" -f "$3" >/dev/null
  psql -X -q -c "SET search_path = $1" \
    -c "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g" \
    -c "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g" \
    -c "ANALYZE"
}
start() { # schema, binary, HTTP port, gRPC port -> pid
  BILLING_DATABASE_SCHEMA=$1 BILLING_HTTP_PORT=$3 BILLING_GRPC_PORT=$4 BILLING_DEDUCTION_STRATEGY=lanes \
    BILLING_DATABASE_HOST="$PG_SOCKET_DIR" BILLING_REDIS_HOST="$REDIS_SOCKET" BILLING_DATABASE_POOL_SIZE=8 \
    BILLING_REDIS_NAMESPACE=$1 BILLING_LOG_LEVEL=warning \
    "$2" serve --config configs/config.yaml >"/tmp/sidebyside-$1.log" 2>&1 &
  echo $!
}
load() { # HTTP port, seconds, output file, round: deductions (or items) per second
  case $scenario in
    deduct-*) USERS=${scenario#deduct-} wrk -t1 -c$half -d"$2s" -s bench/http/deduct.lua "http://127.0.0.1:$1" \
      | awk '/Requests\/sec/ { printf "%d", $2 }' >"$3" ;;
    batch) ITEMS=100 wrk -t1 -c$half -d"$2s" -s bench/http/batch.lua "http://127.0.0.1:$1" \
      | awk -v s="$2" '/^items_charged/ { printf "%d", $2 / s }' >"$3" ;;
    # The side's gRPC port is its HTTP port + 1000; request ids of their own each round.
    stream) PORT=$(($1 + 1000)) PREFIX="s$4-$1-" USERS=10000 SECONDS="$2" STREAMS=4 CONNECTIONS=1 WINDOW=100 \
      .build/release/StreamLoad 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); printf "%d", $2 }' >"$3" ;;
    *) echo "unknown scenario $scenario" >&2; exit 2 ;;
  esac
}

prepare sidebyside_a "$a" "${SQL_A:-}"
prepare sidebyside_b "$b" "${SQL_B:-}"
psql -X -q -c CHECKPOINT
pid_a=$(start sidebyside_a "$a" 8211 9211)
pid_b=$(start sidebyside_b "$b" 8212 9212)
trap 'kill -TERM $pid_a $pid_b 2>/dev/null; wait $pid_a $pid_b 2>/dev/null || true' EXIT
for port in 8211 8212; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
# Both sides' first seconds on new tables are slow: warm both up together.
for port in 8211 8212; do
  PREFIX=w ITEMS=100 wrk -t1 -c$half -d5s -s bench/http/batch.lua "http://127.0.0.1:$port" >/dev/null &
done
wait %1 %2 2>/dev/null || true

echo "| round | A/s | B/s | B ÷ A |"
echo "|---|---:|---:|---:|"
sum_a=0; sum_b=0
for round in $(seq 1 "$rounds"); do
  load 8211 "$seconds" /tmp/sidebyside-a.out "$round" &
  load 8212 "$seconds" /tmp/sidebyside-b.out "$round"
  wait %1 2>/dev/null || wait
  rate_a=$(cat /tmp/sidebyside-a.out); rate_b=$(cat /tmp/sidebyside-b.out)
  sum_a=$((sum_a + rate_a)); sum_b=$((sum_b + rate_b))
  awk -v r="$round" -v a="$rate_a" -v b="$rate_b" 'BEGIN { printf "| %d | %d | %d | %.3f |\n", r, a, b, b / a }'
done
psql -X -q -c "DROP SCHEMA IF EXISTS sidebyside_a CASCADE" -c "DROP SCHEMA IF EXISTS sidebyside_b CASCADE" 2>/dev/null
awk -v a="$sum_a" -v b="$sum_b" 'BEGIN { printf "\nB ÷ A over all rounds: %.3f\n", b / a }'
