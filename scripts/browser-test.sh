#!/usr/bin/env bash
# The browser test of `make test`: installs Chromium and its WebDriver if missing, makes sure
# PostgreSQL and Redis are up, and runs e2e/browser_recharge.py and e2e/browser_console.py against the built binaries.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
scripts/services.sh up >/dev/null
eval "$(scripts/services.sh env)"
# The same build as `make test` (a plain `swift build` would recompile every module without
# -enable-testing, and the next test run would recompile them again).
swift build --build-tests >/dev/null
python3 e2e/browser_recharge.py
exec python3 e2e/browser_console.py
