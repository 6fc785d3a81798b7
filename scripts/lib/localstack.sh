# shellcheck shell=bash
# The scripts' way to start local processes: `localstack up` (tools/localstack, built here in
# release mode) runs in the background, and the environment file it writes once everything
# is ready is read into this shell. The process logic lives in the tool; this only wires it
# to a script's lifetime.
#
#   source scripts/lib/localstack.sh
#   localstack_up --redis cluster:3x0                  # any `localstack up` options
#   echo "$REDIS_CLUSTER_URLS"                         # see `localstack help` for the names
#
#   localstack_up_for_checks                           # one Redis + one instance for the
#   echo "$BASE_URL $ADMIN_TOKEN"                      # API checks (fuzz-api, browser-check)
#
# localstack_up installs an EXIT/INT/TERM trap that stops the stack; a script that needs its
# own EXIT trap calls localstack_down from it (it is idempotent). The stack also stops by
# itself when the script's shell ends (--watch-pid), even if the trap never runs.
#
# Environment (all optional):
#   TRICKSTER_BIN             the service binary (default target/release/trickster-oracle,
#                             built with `cargo build --release --locked` when missing)
#   LOCALSTACK_START_TIMEOUT  seconds to wait for the stack (default 300; the tool bounds
#                             each of its own waits too)
#   LOCALSTACK_KEEP_LOGS      non-empty: keep the stack's directory (logs) after it stops
#   STACK_ADMIN_TOKEN         admin token of the checks' instance (default: random per run)
#   STACK_MAX_ITERATIONS      MAX_ITERATIONS of the checks' instance (default 100000, keeps
#                             fuzzed simulations fast; the live OpenAPI document follows it)
#   STACK_DAILY_TOKENS        DAILY_TOKENS of the checks' instance (default 1000000; a check
#                             that must spend the allowance sets it low)

LOCALSTACK_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCALSTACK_UP_PID=""
LOCALSTACK_WORK=""

localstack_log() { printf '[localstack] %s\n' "$*" >&2; }

# localstack_script <name> <tool>...: defines die() (message prefixed with <name>, exit 2)
# and dies naming the first tool that is not on the PATH.
localstack_script() {
  LOCALSTACK_SCRIPT_NAME="$1"
  shift
  die() {
    echo "$LOCALSTACK_SCRIPT_NAME: $*" >&2
    exit 2
  }
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install wrk redis-tools curl linux-perf)"
  done
}

localstack_target_dir() {
  local dir="${CARGO_TARGET_DIR:-target}"
  case "$dir" in
    /*) echo "$dir" ;;
    *) echo "$LOCALSTACK_REPO_ROOT/$dir" ;;
  esac
}

# Builds tools/localstack (release; quick after the first time) and prints the binary.
localstack_bin() {
  (cd "$LOCALSTACK_REPO_ROOT" && cargo build --release --locked --quiet -p localstack) >&2 ||
    return 1
  echo "$(localstack_target_dir)/release/localstack"
}

# Prints the service binary: $TRICKSTER_BIN, or the release build (built when missing).
localstack_service_bin() {
  local bin="${TRICKSTER_BIN:-}"
  if [ -n "$bin" ]; then
    if [ ! -x "$bin" ]; then
      localstack_log "TRICKSTER_BIN=$bin is not an executable file"
      return 1
    fi
  else
    bin="$(localstack_target_dir)/release/trickster-oracle"
    if [ ! -x "$bin" ]; then
      localstack_log "building $bin (cargo build --release --locked)"
      (cd "$LOCALSTACK_REPO_ROOT" && cargo build --release --locked) >&2 || return 1
    fi
  fi
  echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}

# Starts `localstack up <options>` and reads its environment file into this shell.
localstack_up() {
  local bin env_file timeout="${LOCALSTACK_START_TIMEOUT:-300}" i status
  bin="$(localstack_bin)" || return 1
  LOCALSTACK_WORK="$(mktemp -d "${TMPDIR:-/tmp}/localstack-env.XXXXXX")"
  env_file="$LOCALSTACK_WORK/stack.env"
  trap 'localstack_down' EXIT
  trap 'localstack_down; exit 130' INT
  trap 'localstack_down; exit 143' TERM
  "$bin" up --watch-pid "$$" --env-file "$env_file" ${LOCALSTACK_KEEP_LOGS:+--keep-logs} \
    "$@" </dev/null &
  LOCALSTACK_UP_PID=$!
  for ((i = 0; i < timeout * 10; i++)); do
    [ -f "$env_file" ] && break
    if ! kill -0 "$LOCALSTACK_UP_PID" 2>/dev/null; then
      status=0
      wait "$LOCALSTACK_UP_PID" || status=$?
      LOCALSTACK_UP_PID=""
      localstack_log "localstack up failed (exit $status; its message is above)"
      localstack_down
      return 1
    fi
    sleep 0.1
  done
  if [ ! -f "$env_file" ]; then
    localstack_log "the stack was not ready within ${timeout}s"
    localstack_down
    return 1
  fi
  # shellcheck disable=SC1090
  source "$env_file"
}

# Stops the stack (the tool stops the instances, then Redis, each with a bounded grace).
localstack_down() {
  if [ -n "$LOCALSTACK_UP_PID" ]; then
    kill -TERM "$LOCALSTACK_UP_PID" 2>/dev/null || true
    wait "$LOCALSTACK_UP_PID" 2>/dev/null || true
    LOCALSTACK_UP_PID=""
  fi
  if [ -n "$LOCALSTACK_WORK" ]; then
    rm -rf "$LOCALSTACK_WORK"
    LOCALSTACK_WORK=""
  fi
}

# One private Redis and one instance for the API checks: header auth, a fresh random admin
# token (exported as ADMIN_TOKEN; never one from the caller's environment), limits high
# enough that generated traffic is not answered by 429 or 402 alone. Arguments are further
# `localstack up` options, after these: `--env KEY=VALUE` overrides a setting, `--group`
# adds instances configured otherwise on the same Redis.
localstack_up_for_checks() {
  local service_bin
  service_bin="$(localstack_service_bin)" || return 1
  ADMIN_TOKEN="${STACK_ADMIN_TOKEN:-ci-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
  export ADMIN_TOKEN
  localstack_up --redis single --service-bin "$service_bin" \
    --env ENV=test --env REDIS_KEY_PREFIX=ci --env AUTH_MODE=header \
    --env "ADMIN_TOKEN=$ADMIN_TOKEN" --env CORS_ORIGINS= --env TRUST_PROXY=false \
    --env LOG_FORMAT=json --env LOG_LEVEL=warn \
    --env RATE_LIMIT_BURST=100000 --env RATE_LIMIT_PER_MINUTE=6000000 \
    --env "DAILY_TOKENS=${STACK_DAILY_TOKENS:-1000000}" \
    --env "MAX_ITERATIONS=${STACK_MAX_ITERATIONS:-100000}" \
    --env SHUTDOWN_GRACE_SECONDS=2 "$@"
}
