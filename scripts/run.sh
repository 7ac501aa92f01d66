#!/usr/bin/env bash
# `make run`: the payment sandbox in the background (log in logs/payment-sandbox.log), the
# billing server in the foreground with the development config. Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p logs
.build/debug/payment-sandbox >logs/payment-sandbox.log 2>&1 &
sandbox=$!
trap 'kill -TERM $sandbox 2>/dev/null || true; wait $sandbox 2>/dev/null || true' EXIT

cat <<'TEXT'

Billing Service  http://127.0.0.1:8107   (gRPC 127.0.0.1:9107, metrics /metrics, API /openapi.yaml)
Payment sandbox  http://127.0.0.1:9102   (gRPC 127.0.0.1:9101; log in logs/payment-sandbox.log)

A recharge, paid in your browser:
  curl -s -X POST 'http://127.0.0.1:8107/api/v1/billing/recharge?user_id=u1' -H 'Content-Type: application/json' \
       -d '{"amount":"50.00","payment_method":"alipay","return_url":"http://127.0.0.1:8107/api/v1/billing/account?user_id=u1"}'
  open the paymentUrl it prints, press Pay, then follow "Back to where you came from" to see the balance.
A deduction, as the gateway sends it:
  curl -s -X POST http://127.0.0.1:8107/internal/v1/billing/deduct -H 'Authorization: Bearer dev-internal-token' \
       -H 'Content-Type: application/json' -d '{"user_id":"u1","service_name":"payment","count":1,"request_id":"r1"}'

TEXT
.build/debug/billing-server serve --config configs/config.yaml
