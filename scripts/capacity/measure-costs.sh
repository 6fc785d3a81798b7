#!/usr/bin/env bash
# Measures the capacity model's unit costs on this machine: CPU per request of the service
# and of Redis, Redis commands, server-side time and bytes per request, each script's time,
# and the memory each kind of key holds. Loopback only; every run is bounded in requests
# and time (about 2 minutes in all).
#
#   scripts/capacity/measure-costs.sh            # writes target/capacity/costs.json
#   UPDATE=1 scripts/capacity/measure-costs.sh   # also refreshes the "measured" block of
#                                                # scripts/capacity/inputs.json
#   SCALE=0.25 scripts/capacity/measure-costs.sh  # a quarter of the time, for a quick look
#
# One Redis process and four instances (tools/localstack): MAIN (limits out of the way,
# tokens plenty), NOCOPY (the same without the in-process copy of results), LIMITED (a
# bucket of one token: 429s) and POOR (no daily tokens: 402s). Needs wrk, redis-server,
# python3. TRICKSTER_BIN names the service binary (default target/release/trickster-oracle).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${OUT:-$ROOT/target/capacity/costs.json}"
# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script "measure-costs" wrk redis-server python3
SERVICE_BIN="$(localstack_service_bin)" || die "no service binary"
ADMIN="cap-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
common=(--env RATE_LIMIT_BURST=1000000 --env RATE_LIMIT_PER_MINUTE=6000000
  --env DAILY_TOKENS=1000000000)
localstack_up --redis single --service-bin "$SERVICE_BIN" --ready-timeout 30 \
  --env ENV=development --env LOG_LEVEL=warn --env LOG_FORMAT=json --env AUTH_MODE=header \
  --group main --env REDIS_KEY_PREFIX=main "${common[@]}" --env "ADMIN_TOKEN=$ADMIN" \
  --group nocopy --env REDIS_KEY_PREFIX=nocopy "${common[@]}" --env LOCAL_CACHE_BYTES=0 \
  --group limited --env REDIS_KEY_PREFIX=limited --env RATE_LIMIT_BURST=1 \
  --env RATE_LIMIT_PER_MINUTE=1 \
  --group poor --env REDIS_KEY_PREFIX=poor --env RATE_LIMIT_BURST=1000000 \
  --env RATE_LIMIT_PER_MINUTE=6000000 --env DAILY_TOKENS=0 || die "the local stack did not start"

mkdir -p "$(dirname "$OUT")"
args=(--out "$OUT" --scale "${SCALE:-1}")
[[ "${UPDATE:-0}" == 1 ]] && args+=(--update "$ROOT/scripts/capacity/inputs.json")
CAP_MAIN_URL="$MAIN_BASE_URL" CAP_MAIN_PID="$MAIN_PIDS" \
  CAP_NOCOPY_URL="$NOCOPY_BASE_URL" CAP_NOCOPY_PID="$NOCOPY_PIDS" \
  CAP_LIMITED_URL="$LIMITED_BASE_URL" CAP_LIMITED_PID="$LIMITED_PIDS" \
  CAP_POOR_URL="$POOR_BASE_URL" CAP_POOR_PID="$POOR_PIDS" \
  CAP_REDIS_PORT="$REDIS_PORT" CAP_REDIS_PID="$REDIS_PID" CAP_ADMIN_TOKEN="$ADMIN" \
  timeout 1200 python3 "$ROOT/scripts/capacity/measure_costs.py" "${args[@]}"
echo "measure-costs: wrote ${OUT#"$ROOT"/}" >&2
