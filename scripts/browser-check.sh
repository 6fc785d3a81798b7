#!/usr/bin/env bash
# Swagger UI in a real browser, used as a person would (scripts/browser-check.py): starts a
# private Redis and two instances on loopback (tools/localstack, through
# scripts/lib/localstack.sh), one with AUTH_MODE=header and one with AUTH_MODE=api_key; then
# headless Chromium (Debian's chromium and chromium-driver, driven by the pinned selenium in
# target/ci-venv) opens /docs on each, authorizes (the actor; the admin token, then an API key
# created on the page through POST /api/admin/api-keys), and runs POST /api/simulate with each
# named example, GET /api/balance and GET /api/ledger with "Try it out" / "Execute", reading
# the 200 of each from the page. No request may leave the service's origin. Screenshots:
# target/browser-check/. Exits non-zero on any failure.
#
#   bash scripts/browser-check.sh
#
# Environment (optional):
#   TRICKSTER_BIN          service binary (default target/release/trickster-oracle, built if missing)
#   CHROMIUM, CHROMEDRIVER browser and driver (default /usr/bin/chromium, /usr/bin/chromedriver;
#                          installed with apt-get when missing and running as root)
#   BROWSER_CHECK_TIMEOUT  seconds per explicit wait in the browser (default 30)
#   BROWSER_CHECK_OUT_DIR  where the screenshots go (default target/browser-check)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/localstack.sh
source scripts/lib/localstack.sh
# shellcheck source=scripts/lib/ci-python.sh
source scripts/lib/ci-python.sh

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
TIMEOUT="${BROWSER_CHECK_TIMEOUT:-30}"
OUT_DIR="${BROWSER_CHECK_OUT_DIR:-target/browser-check}"

if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser-check: installing chromium and chromium-driver (apt-get)" >&2
    timeout 120 apt-get update -q >&2 || echo "browser-check: apt-get update failed; trying the install anyway" >&2
    DEBIAN_FRONTEND=noninteractive timeout 600 \
      apt-get install -y -q --no-install-recommends chromium chromium-driver >&2
  fi
  if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    echo "browser-check: FAILED: $CHROMIUM or $CHROMEDRIVER missing (apt-get install -y chromium chromium-driver)" >&2
    exit 1
  fi
fi

VENV_BIN="$(ci_python_venv)"
localstack_up_for_checks \
  --group header --instances 1 \
  --group apikey --instances 1 --env AUTH_MODE=api_key --env REDIS_KEY_PREFIX=ci-apikey

# Screenshots of an earlier run would mix with this one's.
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.png
status=0
# The browser's wait bounds are per step; `timeout` bounds the whole run as well. The admin
# token reaches the check as ADMIN_TOKEN (exported by localstack_up_for_checks).
HOME="$LOCALSTACK_DIR" timeout --kill-after=10 300 "$VENV_BIN/python" scripts/browser-check.py \
  --header-url "$HEADER_BASE_URL" --api-key-url "$APIKEY_BASE_URL" \
  --out-dir "$OUT_DIR" --timeout "$TIMEOUT" \
  --chromium "$CHROMIUM" --chromedriver "$CHROMEDRIVER" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "browser-check: FAILED: did not finish within 300s" >&2
fi
exit "$status"
