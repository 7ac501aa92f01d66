#!/usr/bin/env bash
# Plan stability (issue 19): the incident was a bulk load of 10,000 users into a new
# database right after the server started, its lanes running at ~1,900 deductions/s until
# autovacuum analyzed the tables. This reproduces it on purpose: the release server starts
# on empty tables, a few deductions cache the lane statements' plans, 10,000 users arrive in
# bulk with autovacuum off on those tables (the statistics stay stale for the whole run),
# and wrk deducts for a random user. Then the same after ANALYZE. auto_explain logs every
# lane statement slower than 20 ms, with its plan, to the PostgreSQL log.
#   bench/plans.sh [seconds, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
port=8198
schema=planbench
eval "$(scripts/services.sh env)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product billing-server >/dev/null 2>&1
period="$(TZ=Asia/Shanghai date +%Y-%m)"
log=.local/postgres.log  # scripts/services.sh starts PostgreSQL with its log here
sql() { psql -X -q -t -A -c "SET search_path = $schema" -c "$1"; }

psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
# auto_explain in every new session of this database while the bench runs.
psql -X -q -c "ALTER DATABASE $PGDATABASE SET session_preload_libraries = 'auto_explain'" \
  -c "ALTER DATABASE $PGDATABASE SET auto_explain.log_min_duration = '20ms'"
trap 'psql -X -q -c "ALTER DATABASE $PGDATABASE RESET session_preload_libraries" -c "ALTER DATABASE $PGDATABASE RESET auto_explain.log_min_duration"' EXIT
BILLING_DATABASE_SCHEMA=$schema BILLING_HTTP_PORT=$port BILLING_REDIS_NAMESPACE=$schema BILLING_LOG_LEVEL=warning \
  .build/release/billing-server serve --config configs/config.yaml >/tmp/planbench-server.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; psql -X -q -c "ALTER DATABASE $PGDATABASE RESET session_preload_libraries" -c "ALTER DATABASE $PGDATABASE RESET auto_explain.log_min_duration"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

# Tiny tables, analyzed; then enough deductions that each lane caches its generic plans.
sql "INSERT INTO user_balance (user_id, balance_fen) VALUES ('seed', 1000000)"
sql "ANALYZE"
for table in user_balance free_quota billing_record; do
  sql "ALTER TABLE $table SET (autovacuum_enabled = false)"
done
for round in $(seq 1 5); do
  callers=()
  for i in $(seq 1 8); do
    curl -sf -X POST "http://127.0.0.1:$port/internal/v1/billing/deduct" -H 'Authorization: Bearer dev-internal-token' \
      -H 'Content-Type: application/json' \
      -d "{\"user_id\":\"seed\",\"service_name\":\"passport\",\"count\":1,\"request_id\":\"seed-$round-$i\"}" >/dev/null &
    callers+=($!)
  done
  wait "${callers[@]}"
done
mark="$(date -u +%s)"

sql "INSERT INTO user_balance (user_id, balance_fen) SELECT 'u' || g, 1000000000 FROM generate_series(0, 9999) g"
sql "INSERT INTO free_quota (user_id, period, service_name, total, used) SELECT 'u' || g, '$period', 'passport', 10000, 10000 FROM generate_series(0, 9999) g"
# The migrations scanned these tables (constraints checked, indexes built): counted from here.
sleep 1  # the statistics collector's counters lag a little
seq_before="$(sql "SELECT sum(seq_scan) FROM pg_stat_user_tables WHERE schemaname = '$schema' AND relname IN ('user_balance', 'free_quota', 'billing_record')")"
echo "| statistics | deductions/s | p50 ms | p99 ms | lane statements over 20 ms (auto_explain) |"
echo "|---|---:|---:|---:|---:|"
for phase in ${PHASES:-stale analyzed}; do
  [ "$phase" = analyzed ] && sql "ANALYZE"
  before="$(grep -c 'duration: .* plan:' "$log" || true)"
  out="$(wrk -t2 -c64 -d"${seconds}s" --latency -s bench/http/deduct.lua "http://127.0.0.1:$port")"
  after="$(grep -c 'duration: .* plan:' "$log" || true)"
  rps="$(awk '/Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"; p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  echo "| $phase | $rps | $p50 | $p99 | $((after - before)) |"
done
seq_scans=$(( $(sql "SELECT sum(seq_scan) FROM pg_stat_user_tables WHERE schemaname = '$schema' AND relname IN ('user_balance', 'free_quota', 'billing_record')") - seq_before ))
echo
echo "- sequential scans of user_balance, free_quota and billing_record during the run: $seq_scans"
echo "- slow plans, if any, are in $log (auto_explain, since $(date -u -d @"$mark" +%H:%M:%S) UTC)"
kill -TERM $pid; wait $pid || true
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
