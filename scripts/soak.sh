#!/usr/bin/env bash
# A bounded soak of two service instances on loopback (scripts/soak/driver.py does the work):
# mixed traffic for a fixed time — cache hits, misses, idempotent replays and key
# mismatches, 402s, 429s, reads, admin grants — with the hostile clients a–f alongside
# (oversized bodies over HTTP/1.1 length, chunked and h2c; invented methods; trickled heads,
# stalled bodies and idle connections; engine-queue bursts; admin and caller routes without
# credentials; an anonymous flood). Every ~30 s it samples each instance's RSS
# (/proc/<pid>/status) and Redis used_memory; at the end it waits out the hold lease and
# audits every actor it touched: the ledger (all pages) sums to the balance, no hold is open.
#
#   scripts/soak.sh                      # 600 s (the run in docs/BENCHMARKS.md)
#   SOAK_SECONDS=60 scripts/soak.sh      # the short form CI runs
#
# Instance A has ADMIN_TOKEN set, B has none (admin routes: 401 on A, 404 on B); both share
# one Redis and key prefix. Short timeouts and lifetimes (below) make the edge limits bite
# within seconds and let memory reach its steady state within two minutes.
#
# Environment (all optional):
#   TRICKSTER_BIN     service binary (default target/release/trickster-oracle, built when missing)
#   SOAK_SECONDS      seconds of traffic (default 600)
#   SOAK_SAMPLE       seconds between memory samples (default 30)
#   SOAK_OUT          directory for samples.csv, summary.json and the logs' tail
#                     (default target/soak; docs/soak/ holds a committed run)
#
# Exit status: 0 when every check holds, 1 when one fails, 2 on a setup failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOAK_SECONDS="${SOAK_SECONDS:-600}"
SOAK_SAMPLE="${SOAK_SAMPLE:-30}"
SOAK_OUT="${SOAK_OUT:-$ROOT/target/soak}"
# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script soak redis-server

# shellcheck source=scripts/lib/ci-python.sh
source "$ROOT/scripts/lib/ci-python.sh"
VENV_BIN="$(CI_VENV="$ROOT/target/soak-venv" CI_REQUIREMENTS="$ROOT/scripts/soak/requirements.txt" \
  ci_python_venv)" || die "could not prepare the Python environment"
SERVICE_BIN="$(localstack_service_bin)" || die "no service binary"

# The instances' settings; the driver is told the ones it checks against.
HOLD_LEASE_S=10 HEADER_S=2 BODY_S=2 IDLE_S=6
ADMIN="soak-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
localstack_up --redis single --service-bin "$SERVICE_BIN" --ready-timeout 30 \
  --env ENV=development --env LOG_LEVEL=warn --env LOG_FORMAT=json --env AUTH_MODE=header \
  --env REDIS_KEY_PREFIX=soak --env CORS_ORIGINS= --env TRUST_PROXY=false \
  --env RATE_LIMIT_BURST=20 --env RATE_LIMIT_PER_MINUTE=600 --env DAILY_TOKENS=5 \
  --env CACHE_TTL_SECONDS=60 --env IDEMPOTENCY_TTL_SECONDS=60 \
  --env REQUEST_TIMEOUT_MS=5000 --env CACHE_WAIT_MS=2000 \
  --env HOLD_LEASE_SECONDS=$HOLD_LEASE_S --env IDEMPOTENCY_LEASE_SECONDS=10 \
  --env HTTP_HEADER_READ_TIMEOUT_MS=$((HEADER_S * 1000)) \
  --env HTTP_BODY_READ_TIMEOUT_MS=$((BODY_S * 1000)) \
  --env HTTP_IDLE_TIMEOUT_MS=$((IDLE_S * 1000)) --env ENGINE_QUEUE_MAX=4 \
  --env SHUTDOWN_GRACE_SECONDS=2 \
  --group a --env "ADMIN_TOKEN=$ADMIN" \
  --group b || die "the local stack did not start"

mkdir -p "$SOAK_OUT"
echo "soak: $SOAK_SECONDS s against $A_BASE_URL (A) and $B_BASE_URL (B); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
status=0
SOAK_A_URL="$A_BASE_URL" SOAK_B_URL="$B_BASE_URL" SOAK_PIDS="$A_PIDS $B_PIDS" \
  SOAK_REDIS_PORT="$REDIS_PORT" SOAK_PREFIX=soak SOAK_ADMIN_TOKEN="$ADMIN" \
  SOAK_HOLD_LEASE_S=$HOLD_LEASE_S SOAK_HEADER_S=$HEADER_S SOAK_BODY_S=$BODY_S SOAK_IDLE_S=$IDLE_S \
  timeout $((SOAK_SECONDS + 300)) "$VENV_BIN/python" "$ROOT/scripts/soak/driver.py" \
  --duration "$SOAK_SECONDS" --sample "$SOAK_SAMPLE" --out "$SOAK_OUT" || status=$?
echo "soak: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# What the instances logged at warn or above (the soak runs them at LOG_LEVEL=warn).
# shellcheck disable=SC2086 # space-separated file names
cat $A_LOGS $B_LOGS | grep -c '"level":"\(WARN\|ERROR\)"' >"$SOAK_OUT/warnings.count" || true
# shellcheck disable=SC2086
cat $A_LOGS $B_LOGS | grep '"level":"\(WARN\|ERROR\)"' | tail -20 >"$SOAK_OUT/warnings.tail" || true
echo "soak: results in ${SOAK_OUT#"$ROOT"/}; $(cat "$SOAK_OUT/warnings.count") warn/error log lines" >&2
exit "$status"
