#!/usr/bin/env bash
# Checks the files in deploy/ with the tools that read them: promtool (the alert rules'
# syntax, and their unit tests: each alert fires when it must and stays quiet when it must
# not) and systemd-analyze (the units, with ExecStart pointing at the built binaries).
# Installs Debian's prometheus package (for promtool) when it is missing. The metric
# names the dashboard and the rules read are checked against a real /metrics by
# DeployFilesTests in `swift test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v promtool >/dev/null; then
  echo "installing prometheus (for promtool)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules deploy/prometheus/alerts.yaml
promtool test rules deploy/prometheus/alerts.test.yaml
python3 -c 'import json, sys; json.load(open("deploy/grafana/billing.json")); print("deploy/grafana/billing.json: valid JSON")'
if command -v systemd-analyze >/dev/null; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  for unit in deploy/systemd/*.service; do
    sed "s#/opt/billing/bin/#$root/.build/debug/#g" "$unit" >"$work/$(basename "$unit")"
  done
  out="$(systemd-analyze verify "$work"/*.service 2>&1 || true)"
  # Lines about the machine (no such user here, no journal) are not the units' fault.
  problems="$(grep -v -e "^$" -e "User=billing" -e "Failed to connect" -e "not executable" <<<"$out" || true)"
  if [ -n "$problems" ]; then
    echo "$problems" >&2
    exit 1
  fi
  echo "deploy/systemd: systemd-analyze verify found nothing"
else
  echo "systemd-analyze not installed: units not verified (DeployFilesTests still checks their commands)"
fi
