#!/usr/bin/env bash
# What bounds a cache hit's rate against /health: the same hit measured with its admission
# as shipped, with a script of the same arguments that returns at once in its place, with a
# bare PING, and with no admission at all.
#
# The service must admit every /api request through Redis (SPEC §2, §8: the rate limit is a
# Lua script on Redis time), so the last three are not the service: they are a copy of HEAD
# with scripts/load/ceiling.patch applied (the hit reads CEILING_ADMISSION = eval | ping | none),
# built into ${CARGO_TARGET_DIR:-target}/ceiling and run from a temporary directory. The
# patch touches only the hit's admission call; everything else a hit does is unchanged.
#
#   scripts/load/ceiling.sh                 # ROUNDS=5 paired rounds of ROUND_SECONDS=4
#   CHECK=1 scripts/load/ceiling.sh         # only: the patch applies to HEAD and compiles
#
# Each round measures, for each variant in turn (the order alternates between rounds),
# /health and then the hit on one instance of the patched binary (wrk -t2 -c32, as
# scripts/load-bench.sh), and the CPU the instance and Redis spent per hit. Prints a
# Markdown table of the medians. Then, on the same Redis alone, what the admission script's
# parts cost per call (redis-benchmark -P 8 of EVALSHA with the hit's arguments, a new
# admission id each call; `usec_per_call` of INFO commandstats; and, when valgrind is
# installed, the instructions Redis runs per call, counted by callgrind). Loopback only;
# every wrk run is bounded by its duration, every redis-benchmark run by its count.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export LOAD_DIR="$ROOT/scripts/load"
PATCH="$LOAD_DIR/ceiling.patch"
ROUNDS="${ROUNDS:-5}"
ROUND_SECONDS="${ROUND_SECONDS:-4}"
REDIS_REQUESTS="${REDIS_REQUESTS:-200000}"
VARIANTS=(script eval ping none)
# shellcheck source=scripts/lib/localstack.sh
source "$ROOT/scripts/lib/localstack.sh"
localstack_script ceiling git tar cargo

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ceiling.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
git -C "$ROOT" archive HEAD | tar -x -C "$TMP" || die "cannot copy HEAD"
(cd "$TMP" && git apply --check "$PATCH") ||
  die "scripts/load/ceiling.patch no longer applies to HEAD: refresh it (see its hunk)"
(cd "$TMP" && git apply "$PATCH")
if [[ "${CHECK:-0}" == 1 ]]; then
  # The patched copy type-checks against the repository's target directory: only the
  # service crate itself is checked again.
  (cd "$TMP" && CARGO_TARGET_DIR="$(localstack_target_dir)" cargo check --locked --quiet) ||
    die "the patched copy does not compile: refresh scripts/load/ceiling.patch"
  echo "ceiling: the patch applies to HEAD ($(git -C "$ROOT" rev-parse --short HEAD)) and compiles"
  exit 0
fi
localstack_script ceiling wrk redis-server redis-cli redis-benchmark curl awk

TARGET="$(localstack_target_dir)/ceiling"
echo "ceiling: building the patched copy into $TARGET" >&2
(cd "$TMP" && CARGO_TARGET_DIR="$TARGET" timeout 1800 cargo build --release --locked --quiet) ||
  die "the patched build failed"
cp "$TARGET/release/trickster-oracle" "$TMP/trickster-oracle"

args=()
for v in "${VARIANTS[@]}"; do
  args+=(--group "$v" --env "REDIS_KEY_PREFIX=$v" --env "CEILING_ADMISSION=$v")
done
localstack_up --redis single --service-bin "$TMP/trickster-oracle" --ready-timeout 30 \
  --env ENV=development --env LOG_LEVEL=warn --env LOG_FORMAT=json --env AUTH_MODE=header \
  --env RATE_LIMIT_BURST=1000000 --env RATE_LIMIT_PER_MINUTE=6000000 \
  --env DAILY_TOKENS=1000000000 "${args[@]}" >/dev/null || die "the local stack did not start"
trap 'localstack_down; rm -rf "$TMP"' EXIT

base_of() { local n="${1^^}_BASE_URL"; echo "${!n}"; }
pid_of() { local n="${1^^}_PIDS"; echo "${!n%% *}"; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
field() { sed -n 's/^RESULT //p' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
wrk_run() { # wrk_run <out> <script> <url>
  timeout $((ROUND_SECONDS + 15)) wrk -t2 -c32 --timeout 2s --latency \
    -s "$LOAD_DIR/$2" -d"${ROUND_SECONDS}s" "$3" >"$1" 2>&1 || die "wrk failed: $(tail -3 "$1")"
  [[ "$(field "$1" non2xx)" == 0 ]] || die "non-2xx answers in $1"
}

BODY='{"event_id":"demo_001","seed":42,"iterations":10000}'
for v in "${VARIANTS[@]}"; do
  for _ in 1 2; do # the first computes and stores, the second fills the instance's copy
    curl -fsS -o /dev/null --max-time 10 -X POST "$(base_of "$v")/api/simulate" \
      -H 'Content-Type: application/json' -H 'X-Actor-ID: load-hit' -d "$BODY" ||
      die "the warm-up request of $v failed"
  done
done

for ((r = 1; r <= ROUNDS; r++)); do
  order=("${VARIANTS[@]}")
  ((r % 2 == 0)) && order=(none ping eval script)
  for v in "${order[@]}"; do
    base="$(base_of "$v")" pid="$(pid_of "$v")"
    wrk_run "$TMP/health.out" get.lua "$base/health"
    s0="$(cpu "$pid")" r0="$(cpu "$REDIS_PID")"
    wrk_run "$TMP/hit.out" simulate-hit.lua "$base/api/simulate"
    s1="$(cpu "$pid")" r1="$(cpu "$REDIS_PID")"
    awk -v v="$v" -v h="$(field "$TMP/health.out" rps)" -v x="$(field "$TMP/hit.out" rps)" \
      -v n="$(field "$TMP/hit.out" requests)" -v s0="$s0" -v s1="$s1" -v r0="$r0" -v r1="$r1" \
      'BEGIN {printf "%s %.1f %.1f %.4f %.1f %.1f\n", v, h, x, x / h, 1e6 * (s1 - s0) / n, 1e6 * (r1 - r0) / n}' \
      >>"$TMP/rounds"
  done
done

median() { # median <variant> <column>
  awk -v v="$1" -v c="$2" '$1 == v {print $c}' "$TMP/rounds" | sort -g |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), HEAD $(git -C "$ROOT" rev-parse --short HEAD)," \
  "$(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), load before" \
  "$(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS paired rounds of ${ROUND_SECONDS} s, medians:"
echo
echo "| the hit's admission | /health rps | hit rps | hit / health | service µs/hit | Redis µs/hit |"
echo "|---|---:|---:|---:|---:|---:|"
for v in "${VARIANTS[@]}"; do
  case "$v" in
    script) what="as shipped: the \`rate\` script (EVALSHA)" ;;
    eval) what="an EVAL of the same arguments that returns at once" ;;
    ping) what="a PING through the same store instead" ;;
    none) what="none (not the service: no rate limit)" ;;
  esac
  echo "| $what | $(median "$v" 2) | $(median "$v" 3) | $(median "$v" 4) | $(median "$v" 5) | $(median "$v" 6) |"
done
echo
echo "Each round's ratios (variant: ratio ...):"
for v in "${VARIANTS[@]}"; do
  echo "- $v: $(awk -v v="$v" '$1 == v {printf "%s ", $4}' "$TMP/rounds")"
done

# --- Redis alone: the parts of the admission script ------------------------------------
# Each body gets the hit's arguments (KEYS[1] the bucket; ARGV time override, admission id,
# capacity, refill); the last is rate.lua as the service composes it (src/store/scripts.rs).
# Every body answers as rate.lua does, so that the rows differ only in their calls.
REPLY="return {'admitted', 5, 0, 0}"
PARTS=(
  "reply only|$REPLY"
  "TIME|redis.call('TIME') $REPLY"
  "TIME, HMGET|redis.call('TIME') redis.call('HMGET', KEYS[1], 'level', 'ts', 'last') $REPLY"
  "TIME, HMGET, HSET, PEXPIRE (the bucket's four calls)|redis.call('TIME') redis.call('HMGET', KEYS[1], 'level', 'ts', 'last') redis.call('HSET', KEYS[1], 'level', 5, 'ts', 6, 'last', ARGV[2]) redis.call('PEXPIRE', KEYS[1], 100000) $REPLY"
  "TIME, GET, SET PX (a bucket kept as one string)|redis.call('TIME') redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], '5 6 ' .. ARGV[2], 'PX', 100000) $REPLY"
  "rate.lua as shipped|$(for f in lib/args lib/clock lib/bucket rate; do cat "$ROOT/lua/$f.lua"; echo; done)"
)
echo
echo "Redis alone: EVALSHA with the hit's arguments, \`redis-benchmark -c 32 -P 8 -n $REDIS_REQUESTS -r 100000000\`:"
echo
echo "| script body | calls/s | µs per call (commandstats) | instructions per call |"
echo "|---|---:|---:|---:|"
evalsha() { # evalsha <port> <sha> <calls> <clients>: the calls, with the hit's arguments
  timeout 600 redis-benchmark -h 127.0.0.1 -p "$1" -c "$4" -P 8 -n "$3" -r 100000000 --csv \
    EVALSHA "$2" 1 'ceiling:{a:x}:rate' '' __rand_int__ 1000000 6000000
}
# Instructions Redis executes per call, counted by callgrind (the same on a busy or a quiet
# machine, unlike µs): a server under valgrind that loads the body and runs CALLGRIND_CALLS
# calls, less one that only loads it.
CALLGRIND_CALLS="${CALLGRIND_CALLS:-20000}"
LOCALSTACK="$(localstack_bin)" || die "no localstack binary"
instructions() { # instructions <body> <calls>: the program's total instruction count
  local port out pid i sha
  port="$("$LOCALSTACK" free-port)" out="$TMP/callgrind.out"
  rm -f "$out"
  valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" \
    --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>"$TMP/valgrind.err" &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    redis-cli -p "$port" PING >/dev/null 2>&1 && break
    sleep 0.1
  done
  sha="$(redis-cli -p "$port" SCRIPT LOAD "$1")" ||
    die "redis-server under valgrind did not answer: $(tail -3 "$TMP/valgrind.err")"
  if [[ "$2" -gt 0 ]]; then evalsha "$port" "$sha" "$2" 4 >/dev/null; fi
  redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$pid" || true
  awk '/^(summary|totals):/ {print $2; found = 1; exit} END {if (!found) exit 1}' "$out" ||
    die "no instruction count from callgrind"
}
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
for part in "${PARTS[@]}"; do
  label="${part%%|*}" body="${part#*|}"
  sha="$(rcli SCRIPT LOAD "$body")" || die "SCRIPT LOAD of \"$label\" failed"
  rcli DEL 'ceiling:{a:x}:rate' >/dev/null
  rcli CONFIG RESETSTAT >/dev/null
  rps="$(evalsha "$REDIS_PORT" "$sha" "$REDIS_REQUESTS" 32 | awk -F'"' 'END {print $4}')" ||
    die "redis-benchmark of \"$label\" failed"
  usec="$(rcli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:.*usec_per_call=\([0-9.]*\).*/\1/p')"
  per_call="–"
  if command -v valgrind >/dev/null; then
    per_call="$(awk -v a="$(instructions "$body" 0)" -v b="$(instructions "$body" "$CALLGRIND_CALLS")" \
      -v n="$CALLGRIND_CALLS" 'BEGIN {printf "%.0f", (b - a) / n}')"
  fi
  echo "| $label | $rps | $usec | $per_call |"
done
command -v valgrind >/dev/null || echo "(instructions: valgrind not found)"
