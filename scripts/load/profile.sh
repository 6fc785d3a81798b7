#!/usr/bin/env bash
# CPU profile of one service instance under a load-bench row: where the service's time goes
# per stage of a request (scripts/load/perf-classify.py), for the cache hit served from the
# instance's copy and for /health, in one run.
#
#   scripts/load/profile.sh               # both rows; prints the two classifications
#   ROWS=hit scripts/load/profile.sh      # one row (hit | nocopy | health)
#   PROFILE_OUT=dir scripts/load/profile.sh   # also keep each row's `perf script` text there
#
# Needs perf (Debian: linux-perf), wrk, redis-server; the release binary is built with debug
# information (Cargo.toml: [profile.release] debug), which the call graphs need. Loopback
# only: wrk runs 10 s per row at 32 connections, perf records 6 s of it at 499 Hz.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOAD_DIR="$ROOT/scripts/load"
ROWS="${ROWS:-hit health}"
# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script profile perf wrk redis-server curl
SERVICE_BIN="$(localstack_service_bin)" || die "no service binary"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/profile.XXXXXX")"
localstack_up --redis single --service-bin "$SERVICE_BIN" --ready-timeout 30 \
  --env ENV=development --env LOG_LEVEL=warn --env LOG_FORMAT=json --env AUTH_MODE=header \
  --env RATE_LIMIT_BURST=1000000 --env RATE_LIMIT_PER_MINUTE=6000000 \
  --env DAILY_TOKENS=1000000000 \
  --group main --env REDIS_KEY_PREFIX=main \
  --group nocopy --env REDIS_KEY_PREFIX=nocopy --env LOCAL_CACHE_BYTES=0 || die "no stack"
trap 'localstack_down; rm -rf "$TMP"' EXIT

HIT_BODY='{"event_id":"demo_001","seed":42,"iterations":10000}'
for base in "$MAIN_BASE_URL" "$NOCOPY_BASE_URL"; do
  for _ in 1 2; do
    curl -fsS -o /dev/null --max-time 10 -X POST "$base/api/simulate" \
      -H 'Content-Type: application/json' -H 'X-Actor-ID: load-hit' -d "$HIT_BODY"
  done
done
echo "profile: load average $(cut -d' ' -f1-3 /proc/loadavg)"
for row in $ROWS; do
  case "$row" in
    hit) base="$MAIN_BASE_URL" pid="$MAIN_PIDS" script=simulate-hit.lua path=/api/simulate ;;
    nocopy) base="$NOCOPY_BASE_URL" pid="$NOCOPY_PIDS" script=simulate-hit.lua path=/api/simulate ;;
    health) base="$MAIN_BASE_URL" pid="$MAIN_PIDS" script=get.lua path=/health ;;
    *) die "unknown row $row (hit | nocopy | health)" ;;
  esac
  LOAD_DIR="$LOAD_DIR" ACTOR=load-hit timeout 30 wrk -t2 -c32 -d10s -s "$LOAD_DIR/$script" \
    "$base$path" >"$TMP/$row.wrk" &
  load=$!
  sleep 2
  perf record -F 499 --call-graph dwarf,32768 -p "$pid" -o "$TMP/$row.data" -- sleep 6 \
    >/dev/null 2>"$TMP/$row.perf-err" || die "perf record failed: $(tail -2 "$TMP/$row.perf-err")"
  wait "$load"
  perf script -i "$TMP/$row.data" -F comm,tid,ip,sym --no-demangle >"$TMP/$row.script" 2>/dev/null
  echo
  echo "== $row ($(sed -n 's/^RESULT //p' "$TMP/$row.wrk" | tr ' ' '\n' | grep '^rps='))"
  python3 "$LOAD_DIR/perf-classify.py" "$TMP/$row.script"
  if [[ -n "${PROFILE_OUT:-}" ]]; then
    mkdir -p "$PROFILE_OUT" && cp "$TMP/$row.script" "$PROFILE_OUT/$row.script"
  fi
done
