#!/usr/bin/env bash
# The monthly reset over many users: seeds USERS (default 1,000,000) balance rows in a
# scratch schema, then times `billing-cron once reset-free-quota` (release build) creating
# one period's rows for every user × every catalog service, and reports its peak RSS.
#   bench/reset.sh [users]
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
schema=resetbench
eval "$(scripts/services.sh env)"
swift build -c release --product billing-cron >/dev/null 2>&1
swift build -c release --product billing-server >/dev/null 2>&1
command -v bc >/dev/null && [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq bc time >/dev/null; }
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" 2>/dev/null
BILLING_DATABASE_SCHEMA=$schema .build/release/billing-server migrate --config configs/config.yaml >/dev/null
psql -X -q -c "SET search_path = $schema" \
  -c "INSERT INTO user_balance (user_id) SELECT 'u' || g FROM generate_series(1, $users) g" -c "ANALYZE"
for run in first second; do
  start=$(date +%s.%N)
  out="$( { /usr/bin/time -v env BILLING_DATABASE_SCHEMA=$schema .build/release/billing-cron once reset-free-quota --period 2099-01 --config configs/config.yaml; } 2>&1 )"
  end=$(date +%s.%N)
  rss="$(awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' <<<"$out")"
  report="$(grep -o '2099-01: .*' <<<"$out")"
  printf '| %s run | %s users | %.1f s | %s MB | %s |\n' "$run" "$users" "$(echo "$end - $start" | bc)" "$rss" "$report"
done
psql -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
