# shellcheck shell=bash
# Starts a private Redis and one instance of the service on loopback, for the CI checks in
# scripts/ (fuzz-api.sh, browser-check.sh). Source it, then call `stack_start`:
#
#   source scripts/lib/run-local-stack.sh
#   stack_start            # exports BASE_URL, ADMIN_TOKEN, STACK_DIR; stops both on exit
#
# It also offers `ci_python_venv` (below), which prepares the Python virtual environment
# with the pinned packages of scripts/requirements-ci.txt that both checks use.
#
# Inputs (environment, all optional):
#   TRICKSTER_BIN   the service binary (default target/release/trickster-oracle in the repo,
#                   built with `cargo build --release --locked` when missing)
#   REDIS_SERVER    the redis-server binary (default: redis-server on PATH)
#   STACK_READY_TIMEOUT  seconds to wait for Redis and for /ready = 200 (default 60)
#   STACK_ADMIN_TOKEN    admin token to configure (default: a random one per run)
#   STACK_KEEP_LOGS      non-empty: keep the temporary directory with redis.log/service.log
#   STACK_MAX_ITERATIONS MAX_ITERATIONS of the instance (default 100000, keeps fuzzed
#                        simulations fast); the live OpenAPI document must agree with it
#
# Redis runs with no persistence in a temporary directory; the service runs with that
# directory as its working directory, so a developer's .env in the repo is not read.
# Limits are set high so that generated traffic is not throttled into 429s only.
# `stack_start` installs an EXIT/INT/TERM trap that stops both processes; a caller that needs
# its own EXIT trap calls `stack_stop` from it (stack_stop is idempotent).

STACK_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR=""
STACK_REDIS_PID=""
STACK_SERVICE_PID=""

stack_log() { printf '[local-stack] %s\n' "$*" >&2; }

# True when nothing accepts connections on 127.0.0.1:$1.
stack_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the first free loopback port in [$1, $1 + 200).
stack_free_port() {
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    if stack_port_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  stack_log "no free loopback port in $1..$(($1 + 199))"
  return 1
}

# Resolves TRICKSTER_BIN; builds the default binary when it is missing.
stack_resolve_binary() {
  if [ -n "${TRICKSTER_BIN:-}" ]; then
    if [ ! -x "$TRICKSTER_BIN" ]; then
      stack_log "TRICKSTER_BIN=$TRICKSTER_BIN is not an executable file"
      return 1
    fi
  else
    TRICKSTER_BIN="$STACK_REPO_ROOT/target/release/trickster-oracle"
    if [ ! -x "$TRICKSTER_BIN" ]; then
      stack_log "building $TRICKSTER_BIN (cargo build --release --locked)"
      (cd "$STACK_REPO_ROOT" && cargo build --release --locked) >&2 || return 1
    fi
  fi
  TRICKSTER_BIN="$(cd "$(dirname "$TRICKSTER_BIN")" && pwd)/$(basename "$TRICKSTER_BIN")"
  export TRICKSTER_BIN
}

# Sends SIGTERM, waits up to $2 seconds, then SIGKILL.
stack_kill() {
  local pid="$1" grace="$2" i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    stack_log "pid $pid did not stop within ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

stack_stop() {
  stack_kill "$STACK_SERVICE_PID" 10
  STACK_SERVICE_PID=""
  stack_kill "$STACK_REDIS_PID" 5
  STACK_REDIS_PID=""
  if [ -n "$STACK_DIR" ] && [ -d "$STACK_DIR" ]; then
    if [ -n "${STACK_KEEP_LOGS:-}" ]; then
      stack_log "logs kept in $STACK_DIR"
    else
      rm -rf "$STACK_DIR"
    fi
  fi
  STACK_DIR=""
}

stack_dump_logs() {
  local f
  for f in "$STACK_DIR/redis.log" "$STACK_DIR/service.log"; do
    if [ -s "$f" ]; then
      stack_log "---- last lines of $(basename "$f") ----"
      tail -n 40 "$f" >&2
    fi
  done
}

# Starts redis-server on a free port from 6390 up; retries a few ports if another process
# takes the chosen one first.
stack_start_redis() {
  local redis_bin="${REDIS_SERVER:-redis-server}" attempt port i
  if ! command -v "$redis_bin" >/dev/null 2>&1; then
    stack_log "redis-server not found (Debian: apt-get install -y redis-server)"
    return 1
  fi
  for ((attempt = 0; attempt < 5; attempt++)); do
    port="$(stack_free_port $((6390 + attempt * 7)))" || return 1
    "$redis_bin" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --dir "$STACK_DIR" --logfile "$STACK_DIR/redis.log" --daemonize no \
      --protected-mode yes >/dev/null 2>&1 &
    STACK_REDIS_PID=$!
    for ((i = 0; i < STACK_READY_TIMEOUT * 10; i++)); do
      if ! kill -0 "$STACK_REDIS_PID" 2>/dev/null; then
        break
      fi
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
        STACK_REDIS_PORT="$port"
        stack_log "redis-server pid $STACK_REDIS_PID on 127.0.0.1:$port"
        return 0
      fi
      sleep 0.1
    done
    stack_kill "$STACK_REDIS_PID" 2
    STACK_REDIS_PID=""
  done
  stack_log "redis-server did not start"
  return 1
}

stack_start_service() {
  local attempt port i code
  for ((attempt = 0; attempt < 3; attempt++)); do
    port="$(stack_free_port $((18080 + attempt * 11)))" || return 1
    (
      cd "$STACK_DIR" &&
        exec env \
          ENV=test HOST=127.0.0.1 PORT="$port" \
          REDIS_URL="redis://127.0.0.1:$STACK_REDIS_PORT" REDIS_CLUSTER_URLS= \
          REDIS_KEY_PREFIX=ci AUTH_MODE=header ADMIN_TOKEN="$ADMIN_TOKEN" \
          CORS_ORIGINS= TRUST_PROXY=false \
          LOG_FORMAT=json LOG_LEVEL=warn \
          RATE_LIMIT_BURST=100000 RATE_LIMIT_PER_MINUTE=6000000 \
          DAILY_TOKENS=1000000 MAX_ITERATIONS="${STACK_MAX_ITERATIONS:-100000}" \
          SHUTDOWN_GRACE_SECONDS=2 \
          "$TRICKSTER_BIN"
    ) >>"$STACK_DIR/service.log" 2>&1 &
    STACK_SERVICE_PID=$!
    for ((i = 0; i < STACK_READY_TIMEOUT * 5; i++)); do
      if ! kill -0 "$STACK_SERVICE_PID" 2>/dev/null; then
        break
      fi
      code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ready" || true)"
      if [ "$code" = "200" ]; then
        BASE_URL="http://127.0.0.1:$port"
        stack_log "service pid $STACK_SERVICE_PID ready at $BASE_URL"
        return 0
      fi
      sleep 0.2
    done
    stack_kill "$STACK_SERVICE_PID" 2
    STACK_SERVICE_PID=""
    if [ "$i" -ge $((STACK_READY_TIMEOUT * 5)) ]; then
      stack_log "service did not answer /ready with 200 within ${STACK_READY_TIMEOUT}s"
      return 1
    fi
  done
  stack_log "service exited before it was ready"
  return 1
}

stack_start() {
  STACK_READY_TIMEOUT="${STACK_READY_TIMEOUT:-60}"
  stack_resolve_binary || return 1
  STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/trickster-stack.XXXXXX")"
  trap 'stack_stop' EXIT
  trap 'stack_stop; exit 130' INT
  trap 'stack_stop; exit 143' TERM
  # A fresh admin token for this throwaway instance (never one from the caller's environment).
  ADMIN_TOKEN="${STACK_ADMIN_TOKEN:-ci-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
  export ADMIN_TOKEN
  if ! stack_start_redis || ! stack_start_service; then
    stack_dump_logs
    stack_stop
    return 1
  fi
  export BASE_URL STACK_DIR
}

# ---------------------------------------------------------------------------------------------
# Python tools for the checks: a virtual environment (default target/ci-venv, override with
# CI_VENV) with exactly the packages pinned in scripts/requirements-ci.txt. It is reused while
# the requirements file and the Python version are unchanged. Prints the venv's bin directory.
ci_python_venv() {
  local venv="${CI_VENV:-$STACK_REPO_ROOT/target/ci-venv}"
  local req="$STACK_REPO_ROOT/scripts/requirements-ci.txt" python="${PYTHON:-python3}" stamp
  if ! command -v "$python" >/dev/null 2>&1; then
    stack_log "$python not found"
    return 1
  fi
  stamp="$({ "$python" --version 2>&1; cat "$req"; } | sha256sum | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.ci-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$venv/bin"
    return 0
  fi
  stack_log "creating $venv from scripts/requirements-ci.txt"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2 || return 1
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$req" >&2 || return 1
  echo "$stamp" >"$venv/.ci-stamp"
  echo "$venv/bin"
}
