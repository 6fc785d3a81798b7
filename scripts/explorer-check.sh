#!/usr/bin/env bash
# The explorer page (/explore) in a real browser: starts a private Redis and the service on
# loopback (tools/localstack, through scripts/lib/localstack.sh) with a daily allowance small
# enough to spend, then scripts/explorer-check.py drives Debian's headless Chromium through
# the page (a catalogue run compared with the API, the share link, an expired link, a 400,
# the 402) while a DevTools session watches every request and console message. Screenshots
# (desktop and phone) land in target/explorer-check/. Exits non-zero on any failure.
#
#   bash scripts/explorer-check.sh
#
# Environment (optional):
#   TRICKSTER_BIN           service binary (default target/release/trickster-oracle, built if missing)
#   CHROMIUM, CHROMEDRIVER  browser and driver (default /usr/bin/chromium, /usr/bin/chromedriver;
#                           Debian packages chromium and chromium-driver)
#   EXPLORER_CHECK_TIMEOUT  seconds per wait in the browser (default 30)
#   EXPLORER_CHECK_DIR      where the screenshots go (default target/explorer-check)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/localstack.sh
source scripts/lib/localstack.sh
# shellcheck source=scripts/lib/ci-python.sh
source scripts/lib/ci-python.sh

chromium="${CHROMIUM:-/usr/bin/chromium}"
chromedriver="${CHROMEDRIVER:-/usr/bin/chromedriver}"
for binary in "$chromium" "$chromedriver"; do
  if [ ! -x "$binary" ]; then
    echo "explorer-check: FAILED: $binary is missing (apt-get install -y chromium chromium-driver)" >&2
    exit 1
  fi
done

python_bin="$(ci_python_venv)/python"
# Five tokens a day: the check spends them and must see the 402 that follows.
STACK_DAILY_TOKENS=5 localstack_up_for_checks

rc=0
HOME="$LOCALSTACK_DIR" timeout --kill-after=10 300 "$python_bin" scripts/explorer-check.py \
  --base-url "$BASE_URL" --out-dir "${EXPLORER_CHECK_DIR:-target/explorer-check}" \
  --timeout "${EXPLORER_CHECK_TIMEOUT:-30}" --chromium "$chromium" --chromedriver "$chromedriver" ||
  rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "explorer-check: FAILED: no result within 300s" >&2
fi
exit "$rc"
