#!/usr/bin/env bash
# End-to-end throughput, all in one run on the local PostgreSQL (durable commits):
#   - the original design's per-call transaction driven by pgbench straight at PostgreSQL
#     (no HTTP, no server): the baseline every other row is divided by;
#   - the release billing-server with the lanes: /health (the framework's ceiling),
#     CheckQuota, DeductQuota per request, the batch endpoint with ITEMS-item requests and
#     the gRPC DeductQuotaStream, each batch/stream row checked against the ledger (the stream
#     driven by bench/StreamLoad, which costs the shared cores about what wrk does, and again
#     by the grpc-swift client GRPCLoad, which costs ~10 times more, for comparison);
#   - the same server with the per-call strategy (the original design behind HTTP).
# PostgreSQL and Redis are on this machine: pgbench and the server reach them over their Unix
# sockets (scripts/services.sh env), as a co-located deployment would.
# Prints a Markdown table and the ratios.
#   bench/http/run.sh [seconds per row, default 10] [connections, default 64]
#   (ITEMS items per batch request, default 100; WARMUP seconds per design, default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
connections="${2:-64}"
items="${ITEMS:-100}"
warmup="${WARMUP:-10}"
port=8199
grpc=9199
schema=httpbench
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product billing-server >/dev/null
swift build -c release --product GRPCLoad >/dev/null
swift build -c release --product StreamLoad >/dev/null
period="$(TZ=Asia/Shanghai date +%Y-%m)"
declare -A rate

sql() { psql -X -q -t -A -c "SET search_path = $schema" -c "$1"; }

latency() { # wrk --latency output, percentile label (50% / 99%) -> milliseconds
  awk -v p="$2" '$1 == p { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }; printf "%.2f", v }' <<<"$1"
}

seed() { # a fresh schema: 10,000 users with money and their passport free quota used up
  psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
}

fill() {
  sql "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g"
  sql "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
  sql "ANALYZE"
}

ledger() { # request-id prefix, items answered as charged -> a verdict
  local prefix="$1" acked="$2" records distinct requests drop last=-1
  # Requests in flight when the client stopped are still being committed: wait until the
  # ledger stops moving.
  for _ in $(seq 1 50); do
    records="$(sql "SELECT count(*) FROM billing_record")"
    [ "$records" = "$last" ] && break
    last=$records; sleep 0.5
  done
  records="$(sql "SELECT count(*) FROM billing_record WHERE request_id LIKE '$prefix%'")"
  distinct="$(sql "SELECT count(DISTINCT (user_id, request_id)) FROM billing_record WHERE request_id LIKE '$prefix%'")"
  requests="$(sql "SELECT count(*) FROM billing_record WHERE request_id LIKE '$prefix%' AND balance_after_fen IS NOT NULL")"
  drop="$(sql "SELECT 10000::bigint * 1000000000 - sum(balance_fen) - (SELECT count(*) FROM billing_record WHERE request_id NOT LIKE '$prefix%') FROM user_balance")"
  # Answers in flight when the client stopped were committed but not counted: at most one
  # request per connection.
  if [ "$records" = "$distinct" ] && [ "$records" = "$requests" ] && [ "$drop" = "$records" ] \
    && [ "$acked" -le "$records" ] && [ "$records" -le $((acked + connections * items)) ]; then
    echo "ledger exact: $acked answered charged, $records recorded once each, balances down $drop fen"
  else
    echo "LEDGER MISMATCH: answered $acked, records $records (distinct $distinct), requests $requests, balances down $drop"
  fi
}

row() { # strategy, scenario, requests/s, p50, p99, non-2xx, pid (or -)
  local rss=-
  [ "$7" != - ] && rss="$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' /proc/$7/status)"
  echo "| $1 | $2 | $3 | $4 | $5 | $6 | $rss |"
}

echo "| design | scenario | deductions (or requests)/s | p50 ms | p99 ms | non-2xx / failed | server peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|"

# The baseline: pgbench runs the original transaction straight at the same PostgreSQL.
seed
BILLING_DATABASE_SCHEMA=$schema .build/release/billing-server migrate --config configs/config.yaml >/dev/null 2>&1
fill
pgbench_run() { # users, seconds, extra flags
  (cd /tmp && PGHOST="$PG_SOCKET_DIR" PGOPTIONS="-c search_path=$schema" pgbench -n -M prepared -c "$connections" -j 2 -T "$2" \
    -D users="$1" -D period="$period" -f "$OLDPWD/bench/http/per-call.pgbench" ${3:-} 2>&1)
}
# Every design first runs on its new tables for a while: the first seconds on empty tables
# (and a cold cache) are up to 2× slower than the rest for the lanes (docs/benchmarks.md).
pgbench_run 10000 "$warmup" >/dev/null
for users in 10000 1; do
  rm -f /tmp/pgbench_log.*
  out="$(pgbench_run "$users" "$seconds" "-l --log-prefix=/tmp/pgbench_log")"
  tps="$(awk '/^tps/ { printf "%d", $3 }' <<<"$out")"
  read -r p50 p99 < <(cat /tmp/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n \
    | awk '{ v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')
  rate[pgbench-$users]=$tps
  row "pgbench, per-call transaction" "deduct, $users users" "$tps" "$p50" "$p99" 0 -
done

for strategy in lanes per_call; do
  # The per-call baseline needs a connection per concurrent caller; the lanes do not.
  pool=8; [ "$strategy" = per_call ] && pool=$connections
  seed
  BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_GRPC_PORT=$grpc BILLING_DEDUCTION_STRATEGY=$strategy \
    BILLING_DATABASE_HOST="$PG_SOCKET_DIR" BILLING_REDIS_HOST="$REDIS_SOCKET" BILLING_DATABASE_POOL_SIZE=$pool BILLING_REDIS_NAMESPACE=$schema BILLING_LOG_LEVEL=warning \
    .build/release/billing-server serve --config configs/config.yaml >/tmp/httpbench-server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  fill
  PREFIX=w ITEMS=$items wrk -t2 -c"$connections" -d"${warmup}s" -s bench/http/batch.lua "http://127.0.0.1:$port" >/dev/null
  scenarios="health check deduct-10000 deduct-1 batch stream stream-grpc-swift"
  [ "$strategy" = per_call ] && scenarios="deduct-10000 deduct-1"
  for scenario in $scenarios; do
    case $scenario in
      health) out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/health")" ;;
      check) out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/http/check.lua "http://127.0.0.1:$port")" ;;
      deduct-*) out="$(USERS=${scenario#deduct-} wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/http/deduct.lua "http://127.0.0.1:$port")" ;;
      batch) out="$(ITEMS=$items wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/http/batch.lua "http://127.0.0.1:$port")" ;;
      stream | stream-grpc-swift)
        # 8 streams over 2 connections, each keeping 100 deductions in flight.
        if [ "$scenario" = stream ]; then
          client=StreamLoad; prefix=s; label="gRPC DeductQuotaStream, 10000 users"
        else
          client=GRPCLoad; prefix=g; label="gRPC DeductQuotaStream, 10000 users, grpc-swift client"
        fi
        line="$(PORT=$grpc RPC=stream PREFIX=$prefix USERS=10000 SECONDS=$seconds STREAMS=8 CONNECTIONS=2 WINDOW=100 \
          .build/release/$client 2>/tmp/streamload.err)"
        IFS='|' read -r _ calls p50 p99 _ failed _ <<<"$line"
        calls="${calls// /}"; failed="${failed// /}"
        rate[lanes-$scenario]=$calls
        row "$strategy" "$label" "$calls" "${p50// /}" "${p99// /}" "$failed" $pid
        verdict="$(ledger $prefix "$(awk '/^charged/ { print $2 }' /tmp/streamload.err)")"
        if [ "$scenario" = stream ]; then stream_verdict="$verdict"; else grpc_swift_verdict="$verdict"; fi
        continue ;;
    esac
    rps="$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
    errors="$(awk '/Non-2xx/ { print $5 }' <<<"$out")"
    if [ "$scenario" = batch ]; then
      charged="$(awk '/^items_charged/ { print $2 }' <<<"$out")"
      per_second=$((charged / seconds))
      rate[lanes-batch]=$per_second
      row "$strategy" "batch of $items, 10000 users (items/s; $rps requests/s)" "$per_second" "$(latency "$out" 50%)" "$(latency "$out" 99%)" "${errors:-0}" $pid
      batch_verdict="$(ledger b "$charged")"
    else
      rate[$strategy-$scenario]=$rps
      row "$strategy" "$scenario" "$rps" "$(latency "$out" 50%)" "$(latency "$out" 99%)" "${errors:-0}" $pid
    fi
  done
  kill -TERM $pid; wait $pid || true
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }'; }
echo
echo "- batch ledger: $batch_verdict"
echo "- stream ledger: $stream_verdict"
echo "- stream (grpc-swift client) ledger: $grpc_swift_verdict"
echo "- per-request deduct ÷ pgbench baseline: $(ratio "${rate[lanes-deduct-10000]}" "${rate[pgbench-10000]}") on 10,000 users, $(ratio "${rate[lanes-deduct-1]}" "${rate[pgbench-1]}") on one hot user"
echo "- batch ÷ pgbench baseline: $(ratio "${rate[lanes-batch]}" "${rate[pgbench-10000]}"); batch ÷ per-request deduct: $(ratio "${rate[lanes-batch]}" "${rate[lanes-deduct-10000]}")"
echo "- gRPC stream ÷ pgbench baseline: $(ratio "${rate[lanes-stream]}" "${rate[pgbench-10000]}") ($(ratio "${rate[lanes-stream-grpc-swift]}" "${rate[pgbench-10000]}") with the grpc-swift client)"
echo "- per-request deduct, lanes ÷ per-call server: $(ratio "${rate[lanes-deduct-10000]}" "${rate[per_call-deduct-10000]}") on 10,000 users, $(ratio "${rate[lanes-deduct-1]}" "${rate[per_call-deduct-1]}") on one hot user"
