#!/usr/bin/env bash
# The capacity model's small-scale check (scripts/capacity/check.py): paced mixes against
# one and two instances on loopback, predicted against measured service CPU, Redis CPU and
# memory growth. About 3 minutes; every run bounded in time.
#
#   scripts/capacity/check.sh                 # all runs; exit 1 when one is off the margin
#   MARGIN=0.3 scripts/capacity/check.sh
#
# Needs wrk, redis-server, python3; TRICKSTER_BIN names the service binary (default
# target/release/trickster-oracle).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script "capacity check" wrk redis-server python3
SERVICE_BIN="$(localstack_service_bin)" || die "no service binary"
localstack_up --redis single --service-bin "$SERVICE_BIN" --ready-timeout 30 --instances 2 \
  --env ENV=development --env LOG_LEVEL=warn --env LOG_FORMAT=json --env AUTH_MODE=header \
  --env REDIS_KEY_PREFIX=check --env RATE_LIMIT_BURST=50 --env RATE_LIMIT_PER_MINUTE=600 \
  --env DAILY_TOKENS=1000000000 || die "the local stack did not start"
mkdir -p "$ROOT/target/capacity"
echo "capacity check: load average before $(cut -d' ' -f1-3 /proc/loadavg)" >&2
CHECK_URLS="$INSTANCE_URLS" CHECK_PIDS="$SERVICE_PIDS" CHECK_REDIS_PORT="$REDIS_PORT" \
  CHECK_REDIS_PID="$REDIS_PID" CHECK_PREFIX=check \
  timeout 900 python3 "$ROOT/scripts/capacity/check.py" --margin "${MARGIN:-0.25}" \
  --out "$ROOT/target/capacity/check.json" "$@"
