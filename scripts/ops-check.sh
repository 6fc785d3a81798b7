#!/usr/bin/env bash
# Checks the operations files in ops/ offline, without a running Prometheus:
#
#   promtool check config  ops/prometheus/prometheus.yml  (the compose profile's Prometheus,
#                                                          its rule file included)
#   promtool check rules   ops/prometheus/alerts.yml      (rules parse, PromQL is valid)
#   promtool test rules    ops/prometheus/alerts.test.yml (each alert fires, or stays
#                                                          quiet, on made-up series)
#   scripts/ops-check.py   every query of the Grafana dashboard parses (promtool, through a
#                          throwaway rule file); every metric used in ops/ and the runbook is
#                          one src/metrics.rs exports; every alert fires in a test and has a
#                          runbook section; the README names every metric.
#
# promtool: $PROMTOOL, else `promtool` on PATH. Debian's prometheus package ships it; to
# get the binary without the package's service:
#   apt-get download prometheus && dpkg-deb -x prometheus_*.deb /tmp/p
#   PROMTOOL=/tmp/p/usr/bin/promtool scripts/ops-check.sh
# A check that cannot run fails: without promtool the script exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROMTOOL="${PROMTOOL:-$(command -v promtool || true)}"
if [ -z "$PROMTOOL" ] || [ ! -x "$PROMTOOL" ]; then
  echo "ops-check: promtool not found (set PROMTOOL, or see the header of $0)" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "ops-check: python3 is required" >&2; exit 1; }
echo "ops-check: $("$PROMTOOL" --version 2>&1 | head -n 1)"

failed=0
step() {
  local what="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    printf '  ok    %s\n' "$what"
  else
    printf '  FAIL  %s\n%s\n' "$what" "$(printf '%s\n' "$out" | sed 's/^/        /')"
    failed=1
  fi
}
step "promtool check config ops/prometheus/prometheus.yml" \
  "$PROMTOOL" check config ops/prometheus/prometheus.yml
step "promtool check rules ops/prometheus/alerts.yml" \
  "$PROMTOOL" check rules ops/prometheus/alerts.yml
step "promtool test rules ops/prometheus/alerts.test.yml" \
  "$PROMTOOL" test rules ops/prometheus/alerts.test.yml
python3 scripts/ops-check.py "$PROMTOOL" || failed=1

if [ "$failed" = 0 ]; then
  echo "ops-check passed"
else
  echo "ops-check FAILED"
fi
exit "$failed"
