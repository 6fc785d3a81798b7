#!/usr/bin/env bash
# What REDIS_MIN_REPLICA_ACKS=1 costs over HTTP: two instances side by side on one Sentinel
# group (a primary, one replica, three Sentinels; tools/localstack, free loopback ports), one
# with acknowledgements off and one with them on, each loaded in turn by wrk with charged
# simulations (a new seed and idempotency key per request: every request computed, held,
# committed, its answer stored). Prints one Markdown row per instance: requests/s, p50, p99.
#
# Needs: wrk, redis-server, redis-cli. Environment (optional): DURATION (10 s), WARMUP (2 s),
# CONNECTIONS (32), THREADS (2), ITERATIONS (1000), TRICKSTER_BIN (default the release build,
# built when missing). `cargo bench --bench replica_acks` measures the same at the Redis level,
# with the way the pool avoids.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD_DIR="$ROOT/scripts/load"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
ITERATIONS="${ITERATIONS:-1000}"
export LOAD_DIR ITERATIONS

# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script replica-acks-bench wrk
service_bin="$(localstack_service_bin)"

common=(--env LOG_LEVEL=warn --env RATE_LIMIT_BURST=1000000 --env RATE_LIMIT_PER_MINUTE=6000000
  --env DAILY_TOKENS=1000000000 --env IDEMPOTENCY_MAX_KEYS=1000000 --env REDIS_TIMEOUT_MS=1000)
localstack_up --redis sentinel:1 --service-bin "$service_bin" "${common[@]}" \
  --group noacks --instances 1 --env REDIS_MIN_REPLICA_ACKS=0 --env REDIS_KEY_PREFIX=noacks \
  --group acks --instances 1 --env REDIS_MIN_REPLICA_ACKS=1 --env REDIS_KEY_PREFIX=acks

run() { # <label> <base url> <run id>
  local out
  RUN_ID="$3-warm" timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
    -s "$LOAD_DIR/charged-miss.lua" "$2" >/dev/null
  out="$(COUNT_STATUS=1 RUN_ID="$3" timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" \
    -d"${DURATION}s" --timeout 5s --latency -s "$LOAD_DIR/charged-miss.lua" "$2")"
  awk -v label="$1" '/^RESULT / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "| %s | %.0f | %.2f | %.2f | %d |\n", label, v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"] }
    /^STATUS / { print "  " $0 > "/dev/stderr" }' <<<"$out"
}

printf '| instance | charged simulations/s | p50 ms | p99 ms | non-2xx |\n|---|---:|---:|---:|---:|\n'
stamp="$(date +%s)"
run "REDIS_MIN_REPLICA_ACKS=0" "$NOACKS_BASE_URL" "$stamp-a"
run "REDIS_MIN_REPLICA_ACKS=1" "$ACKS_BASE_URL" "$stamp-b"
run "REDIS_MIN_REPLICA_ACKS=0 (again)" "$NOACKS_BASE_URL" "$stamp-c"
run "REDIS_MIN_REPLICA_ACKS=1 (again)" "$ACKS_BASE_URL" "$stamp-d"
