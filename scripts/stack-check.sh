#!/usr/bin/env bash
# End-to-end check of the container stack (Dockerfile + docker-compose.yml +
# HAProxy): builds the API image, starts Redis, three instances and the load
# balancer, and proves through the load balancer (on a free loopback port) that
# the instances share one state and that losing an instance is invisible to
# clients:
#
#   1. a simulation is computed (cache miss) and the same request is then
#      served from the cache by a different instance (identified by the
#      request id in the instances' access logs);
#   2. an idempotent replay (same Idempotency-Key twice) across instances;
#   3. one shared rate limit: N requests of one actor spread over the three
#      instances, exactly RATE_LIMIT_BURST admitted, the rest 429;
#   4. the token balance after step 1 (ledger shared by the instances);
#   5. load from several concurrent clients while api2 is stopped: no request
#      may fail once the load balancer's health check has reacted
#      (fall x inter + margin), and api2 rejoins after a restart;
#   6. Redis stopped: every instance turns not ready, and the load balancer
#      answers a problem+json 503 with Retry-After (not an HTML page); all
#      instances are back once Redis is started again;
#   7. the compose profile `observability`: Prometheus scrapes all three
#      instances (every target up), has loaded the alert rules, and every query
#      of the Grafana dashboard (ops/grafana) returns data.
# The image carries its build identity as OCI labels (revision, version, title,
# licenses, source), checked before the stack starts.
#
# Every check must run and pass: one that cannot run (a feature missing, a
# request that never reaches another instance) is a failure, never a skip.
#
# Image: built with the Dockerfile's default target when the Rust builder
# image (rust:1.95-slim-bookworm) is present or can be pulled; otherwise the
# binary is built on the host with cargo and packaged with the
# runtime-prebuilt target. STACK_BUILD=docker|prebuilt forces one way,
# TRICKSTER_BINARY=<path> packages an existing binary (no cargo run).
# Base images (redis, haproxy, debian): scripts/build-images.sh provides them
# (pulled, or built locally without a registry) and says which names to use;
# the prefix reaches compose and the Dockerfile as TRICKSTER_IMAGE_PREFIX.
#
# Everything listens on the loopback interface only, on ports chosen free by
# tools/localstack (or TRICKSTER_LB_PORT / TRICKSTER_STATS_PORT /
# TRICKSTER_PROMETHEUS_PORT when set). The
# stack runs as a compose project of its own (STACK_PROJECT, default
# trickster-stack-check-<pid>) from an image of its own (STACK_IMAGE, default
# trickster-oracle:stack-check-<pid>), so two runs on one machine do not meet;
# both are removed on exit (volumes included; an image given in STACK_IMAGE is
# kept). Exit status 0 only if every check passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PROJECT="${STACK_PROJECT:-trickster-stack-check-$$}"
readonly IMAGE="${STACK_IMAGE:-trickster-oracle:stack-check-$$}"
readonly RUST_IMAGE=rust:1.95-slim-bookworm
# stack settings for the checks (override file below)
readonly BURST=5
readonly DAILY_TOKENS=5
readonly SIMULATION_COST=1
# load test: duration, workers, when api2 is stopped (seconds from start)
readonly LOAD_SECONDS="${LOAD_SECONDS:-10}"
readonly LOAD_WORKERS="${LOAD_WORKERS:-4}"
readonly STOP_AT=3
# how api2 goes away: stop (SIGTERM, graceful drain) or kill (SIGKILL, crash)
readonly STOP_MODE="${STOP_MODE:-stop}"
case "$STOP_MODE" in stop | kill) ;; *) echo "STOP_MODE must be stop or kill" >&2 && exit 1 ;; esac
# HAProxy health check (docker/haproxy/haproxy.cfg): inter 1s, fall 2; the
# margin covers the check timeout (1 s) and a connect timeout (1 s)
readonly CHECK_INTER=1 CHECK_FALL=2 REACTION_MARGIN=2
readonly REACTION_WINDOW=$((CHECK_FALL * CHECK_INTER + REACTION_MARGIN))

RUN_ID="$(date +%s)-$$"
BUILD_COMMIT="${BUILD_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
# the image's OCI labels: the crate's version, and where the source is when the clone
# came from a public URL (a local path says nothing to someone reading the label)
BUILD_VERSION="${BUILD_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)}"
if [ -z "${SOURCE_URL+set}" ]; then
	SOURCE_URL="$(git remote get-url origin 2>/dev/null || true)"
	case "$SOURCE_URL" in https://* | git@*) ;; *) SOURCE_URL="" ;; esac
fi
export BUILD_COMMIT BUILD_VERSION SOURCE_URL TRICKSTER_IMAGE="$IMAGE"

started=$SECONDS
stage_name=""
stage_start=$SECONDS
TIMINGS=()
stage() {
	end_stage
	stage_name="$1"
	stage_start=$SECONDS
	printf '\n=== %s\n' "$1"
}
end_stage() {
	if [ -n "$stage_name" ]; then
		TIMINGS+=("$(printf '%4ss  %s' "$((SECONDS - stage_start))" "$stage_name")")
		stage_name=""
	fi
}
FAILURES=0
pass() { printf '  ok    %s\n' "$*"; }
fail() {
	printf '  FAIL  %s\n' "$*"
	FAILURES=$((FAILURES + 1))
}
info() { printf '        %s\n' "$*"; }
die() {
	printf 'stack-check: error: %s\n' "$*" >&2
	exit 1
}

for tool in docker curl python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
if docker compose version >/dev/null 2>&1; then
	COMPOSE_BIN=(docker compose)
elif command -v docker-compose >/dev/null; then
	COMPOSE_BIN=(docker-compose)
else
	die "neither 'docker compose' nor 'docker-compose' is installed"
fi

# Ports of the load balancer (API, stats) and Prometheus: free loopback ports unless given.
# shellcheck source=scripts/lib/localstack.sh
source scripts/lib/localstack.sh
LOCALSTACK="$(localstack_bin)" || die "cannot build tools/localstack"
if [ -z "${TRICKSTER_LB_PORT:-}" ] || [ -z "${TRICKSTER_STATS_PORT:-}" ] ||
	[ -z "${TRICKSTER_PROMETHEUS_PORT:-}" ]; then
	read -r -d '' TRICKSTER_LB_PORT TRICKSTER_STATS_PORT TRICKSTER_PROMETHEUS_PORT \
		< <("$LOCALSTACK" free-port 3) || true
fi
[ -n "$TRICKSTER_LB_PORT" ] && [ -n "$TRICKSTER_STATS_PORT" ] && [ -n "$TRICKSTER_PROMETHEUS_PORT" ] ||
	die "no free ports for the load balancer and Prometheus"
export TRICKSTER_LB_PORT TRICKSTER_STATS_PORT TRICKSTER_PROMETHEUS_PORT
readonly LB="http://127.0.0.1:$TRICKSTER_LB_PORT"
readonly STATS="http://127.0.0.1:$TRICKSTER_STATS_PORT"
readonly PROM="http://127.0.0.1:$TRICKSTER_PROMETHEUS_PORT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/stack-check.XXXXXX")"
# Settings for the checks on top of docker-compose.yml: a small burst so the
# rate limit is reached quickly, and a slow refill so no token comes back
# during the check.
cat >"$WORK/override.yml" <<EOF
x-check-env: &check-env
  environment:
    RATE_LIMIT_BURST: "$BURST"
    RATE_LIMIT_PER_MINUTE: "1"
    DAILY_TOKENS: "$DAILY_TOKENS"
    SIMULATION_COST: "$SIMULATION_COST"
    LOG_LEVEL: info
services:
  api1: *check-env
  api2: *check-env
  api3: *check-env
EOF
COMPOSE=("${COMPOSE_BIN[@]}" -p "$PROJECT" -f docker-compose.yml -f "$WORK/override.yml"
	--profile observability)
compose() { timeout 120 "${COMPOSE[@]}" "$@"; }

STACK_UP=0
teardown() {
	local rc=$?
	end_stage
	if [ "$STACK_UP" = 1 ]; then
		if [ "$rc" != 0 ] || [ "$FAILURES" != 0 ]; then
			printf '\n--- last log lines of the stack ---\n'
			timeout 30 "${COMPOSE[@]}" logs --no-color --tail=15 2>&1 | tail -n 90 || true
		fi
		printf '\n=== teardown\n'
		local t=$SECONDS
		timeout 120 "${COMPOSE[@]}" down -v --remove-orphans -t 10 >/dev/null 2>&1 ||
			printf '  warning: docker compose down failed; run: %s down -v\n' "${COMPOSE[*]}"
		TIMINGS+=("$(printf '%4ss  %s' "$((SECONDS - t))" "teardown")")
	fi
	if [ -z "${STACK_IMAGE:-}" ]; then
		docker image rm "$IMAGE" >/dev/null 2>&1 || true
	fi
	rm -rf -- "$WORK"
	printf '\n=== stage times\n'
	local line
	for line in "${TIMINGS[@]}"; do printf '%s\n' "$line"; done
	printf '%4ss  total\n' "$((SECONDS - started))"
	if [ "$rc" = 0 ] && [ "$FAILURES" = 0 ]; then
		printf '\nstack check passed\n'
	else
		printf '\nstack check FAILED (%s failed assertion(s), exit %s)\n' "$FAILURES" "$rc"
		[ "$rc" = 0 ] && rc=1
	fi
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# HTTP helpers: every request goes through the load balancer.
# request METHOD PATH NAME [curl args...] -> status in $STATUS, headers and
# body in $WORK/NAME.h / $WORK/NAME.b
# ---------------------------------------------------------------------------
STATUS=""
request() {
	local method="$1" path="$2" name="$3"
	shift 3
	STATUS="$(curl -sS -m 20 -X "$method" -o "$WORK/$name.b" -D "$WORK/$name.h" \
		-w '%{http_code}' "$@" "$LB$path" 2>"$WORK/$name.err" || true)"
	[ -n "$STATUS" ] || STATUS=000
}
# header NAME HEADER -> value (empty when absent)
header() {
	grep -i "^$2:" "$WORK/$1.h" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true
}
# json NAME dotted.path -> value as JSON text (empty when absent)
json() {
	python3 - "$WORK/$1.b" "$2" <<'EOF'
import json, sys
try:
    value = json.load(open(sys.argv[1]))
    for part in sys.argv[2].split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    print(json.dumps(value))
except Exception:
    print("")
EOF
}
simulate() { # NAME ACTOR REQUEST_ID SEED [extra curl args...]
	local name="$1" actor="$2" rid="$3" seed="$4"
	shift 4
	request POST /api/simulate "$name" -H 'content-type: application/json' \
		-H "X-Actor-ID: $actor" -H "X-Request-ID: $rid" "$@" \
		-d "{\"event_id\":\"demo_001\",\"iterations\":10000,\"seed\":$seed}"
}

# instance_of REQUEST_ID -> api1|api2|api3 (the instance whose access log has
# the id), "?" when not found within 5 s
declare -A CONTAINER=()
instance_of() {
	local rid="$1" svc
	for _ in $(seq 1 25); do
		for svc in api1 api2 api3; do
			# grep -c reads all input (grep -q could end the pipe early,
			# which pipefail would report as a failure)
			if [ "$(docker logs "${CONTAINER[$svc]}" 2>&1 | grep -cF "\"$rid\"")" -gt 0 ]; then
				echo "$svc"
				return 0
			fi
		done
		sleep 0.2
	done
	echo "?"
}

# HAProxy's view of the instances: "api1=UP(1234 req) ..." plus the
# backend's retry and redispatch counters (stats CSV: status, stot, wretr,
# wredis)
lb_csv() { curl -sS -m 5 "$STATS/;csv" 2>/dev/null || true; }
lb_status() {
	lb_csv | awk -F, '
		$1 == "instances" && $2 ~ /^api/ { printf "%s=%s(%s req) ", $2, $18, $8 }
		$1 == "instances" && $2 == "BACKEND" { printf "retries=%s redispatches=%s", $16, $17 }'
}
# all three instances fully UP (not "UP 1/2", i.e. not failing checks)
all_up() { [ "$(lb_csv | awk -F, '$1 == "instances" && $2 ~ /^api/ && $18 == "UP"' | wc -l)" = 3 ]; }
# wait_all_up <tries>: polls all_up every 0.5 s, at most <tries> times.
wait_all_up() {
	local _
	for _ in $(seq 1 "$1"); do
		all_up && return 0
		sleep 0.5
	done
	return 1
}

# ---------------------------------------------------------------------------
stage "preflight"
info "compose: ${COMPOSE_BIN[*]} ($("${COMPOSE_BIN[@]}" version --short 2>/dev/null || true)), project $PROJECT"
info "load balancer on $LB, stats on $STATS"
info "Prometheus on $PROM"
TRICKSTER_IMAGE_PREFIX="$(scripts/build-images.sh --print-prefix debian redis haproxy prometheus)" ||
	die "the base images are missing (scripts/build-images.sh says why above)"
export TRICKSTER_IMAGE_PREFIX
pass "base images present (TRICKSTER_IMAGE_PREFIX='$TRICKSTER_IMAGE_PREFIX')"
compose config -q || die "docker-compose.yml (with the check's override) is not valid"
pass "docker-compose.yml is valid"
if curl -s -m 2 -o /dev/null "$LB/health"; then
	die "something already answers on $LB; stop it first (e.g. docker compose down)"
fi

# ---------------------------------------------------------------------------
stage "image"
mode="${STACK_BUILD:-auto}"
if [ "$mode" = auto ]; then
	if [ -n "${TRICKSTER_BINARY:-}" ]; then
		mode=prebuilt
	elif docker image inspect "$RUST_IMAGE" >/dev/null 2>&1 ||
		timeout 60 docker pull -q "$RUST_IMAGE" >/dev/null 2>&1; then
		mode=docker
	else
		mode=prebuilt
		info "$RUST_IMAGE cannot be pulled: packaging a host-built binary (target runtime-prebuilt)"
	fi
fi
case "$mode" in
	docker)
		info "docker build (default target, $RUST_IMAGE builder), BUILD_COMMIT=$BUILD_COMMIT"
		docker build -q --build-arg "BUILD_COMMIT=$BUILD_COMMIT" \
			--build-arg "BUILD_VERSION=$BUILD_VERSION" --build-arg "SOURCE_URL=$SOURCE_URL" \
			--build-arg "TRICKSTER_IMAGE_PREFIX=$TRICKSTER_IMAGE_PREFIX" -t "$IMAGE" . >/dev/null
		;;
	prebuilt)
		binary="${TRICKSTER_BINARY:-}"
		if [ -z "$binary" ]; then
			command -v cargo >/dev/null || die "cargo is needed to build the binary (or set TRICKSTER_BINARY)"
			info "cargo build --release --locked (target dir ${CARGO_TARGET_DIR:-target})"
			cargo build --release --locked --quiet
			binary="${CARGO_TARGET_DIR:-target}/release/trickster-oracle"
		fi
		[ -x "$binary" ] || die "no executable binary at $binary"
		# a minimal build context: the binary and the file the Dockerfile's
		# runtime-prebuilt COPY always names
		mkdir -p "$WORK/context/dist"
		cp Cargo.toml "$WORK/context/"
		cp "$binary" "$WORK/context/dist/trickster-oracle"
		info "docker build --target runtime-prebuilt, BUILD_COMMIT=$BUILD_COMMIT"
		docker build -q --target runtime-prebuilt --build-arg "BUILD_COMMIT=$BUILD_COMMIT" \
			--build-arg "BUILD_VERSION=$BUILD_VERSION" --build-arg "SOURCE_URL=$SOURCE_URL" \
			--build-arg "TRICKSTER_IMAGE_PREFIX=$TRICKSTER_IMAGE_PREFIX" \
			-f Dockerfile -t "$IMAGE" "$WORK/context" >/dev/null
		rm -rf -- "$WORK/context"
		;;
	*) die "STACK_BUILD must be auto, docker or prebuilt, got $mode" ;;
esac
user="$(docker image inspect -f '{{.Config.User}}' "$IMAGE")"
if [ "$user" = "10001:10001" ]; then
	pass "image $IMAGE runs as $user"
else
	fail "image user is '$user', expected 10001:10001"
fi
if docker run --rm "$IMAGE" openapi >/dev/null 2>&1; then
	pass "the binary runs inside the image"
else
	fail "the binary does not run inside the image"
	exit 1
fi
info "image size $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
label() { docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$IMAGE"; }
labels_ok=1 labels_report=""
for pair in "revision=$BUILD_COMMIT" "version=$BUILD_VERSION" "title=trickster-oracle" \
	"licenses=MIT" "source=$SOURCE_URL"; do
	key="${pair%%=*}" want="${pair#*=}"
	got="$(label "$key")"
	if [ "$got" = "$want" ]; then
		labels_report+="$key='$got' "
	else
		labels_ok=0
		labels_report+="$key='$got' (expected '$want') "
	fi
done
if [ "$labels_ok" = 1 ]; then
	pass "OCI labels: $labels_report"
else
	fail "OCI labels: $labels_report"
fi

# ---------------------------------------------------------------------------
stage "compose up"
STACK_UP=1
compose up -d --no-build 2>&1 | sed 's/^/        /'
for svc in api1 api2 api3; do
	CONTAINER[$svc]="$(compose ps -q "$svc")"
	[ -n "${CONTAINER[$svc]}" ] || die "no container for $svc"
done

stage "wait for the load balancer"
ready=0
for _ in $(seq 1 120); do
	code="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$LB/ready" || true)"
	if [ "$code" = 200 ] && all_up; then
		ready=1
		break
	fi
	sleep 0.5
done
if [ "$ready" = 1 ]; then
	pass "GET /ready = 200 through the load balancer; $(lb_status)"
else
	fail "the stack did not become ready within 60 s (last /ready: $code; $(lb_status))"
	exit 1
fi
request GET /version version
commit="$(json version build_commit)"
if [ "$STATUS" = 200 ] && [ "$commit" = "\"$BUILD_COMMIT\"" ] &&
	[ "$(json version version)" = "\"$BUILD_VERSION\"" ]; then
	pass "GET /version reports build_commit $commit and version $(json version version), as the image's labels"
else
	fail "GET /version: status $STATUS, build_commit $commit, version $(json version version) (expected \"$BUILD_COMMIT\", \"$BUILD_VERSION\")"
fi

# ---------------------------------------------------------------------------
stage "shared cache across instances"
SEED=$((RANDOM * 32768 + RANDOM))
sim_actor="sim-$RUN_ID"
simulate sim0 "$sim_actor" "sc-$RUN_ID-sim-0" "$SEED"
first_instance="$(instance_of "sc-$RUN_ID-sim-0")"
if [ "$STATUS" = 200 ] && [ "$(json sim0 meta.cache_hit)" = false ]; then
	pass "first simulation: 200, cache_hit false, served by $first_instance ($(header sim0 Cache-Status))"
else
	fail "first simulation: status $STATUS, cache_hit $(json sim0 meta.cache_hit): $(head -c 300 "$WORK/sim0.b")"
fi
hit_ok=0
for n in 1 2 3; do
	rid="sc-$RUN_ID-sim-$n"
	simulate "sim$n" "$sim_actor" "$rid" "$SEED"
	inst="$(instance_of "$rid")"
	if [ "$inst" != "$first_instance" ] && [ "$inst" != "?" ]; then
		if [ "$STATUS" = 200 ] && [ "$(json "sim$n" meta.cache_hit)" = true ] &&
			[ "$(json "sim$n" meta.fingerprint)" = "$(json sim0 meta.fingerprint)" ]; then
			pass "same request on $inst (first was $first_instance): 200, cache_hit true, same fingerprint ($(header "sim$n" Cache-Status))"
			hit_ok=1
		else
			fail "same request on $inst: status $STATUS, cache_hit $(json "sim$n" meta.cache_hit)"
			hit_ok=2
		fi
		break
	fi
	info "attempt $n served by $inst again"
done
[ "$hit_ok" = 0 ] && fail "the repeated request never reached another instance"

# ---------------------------------------------------------------------------
stage "idempotent replay across instances"
idem_actor="idem-$RUN_ID"
key="stack-check-$RUN_ID"
simulate idem1 "$idem_actor" "sc-$RUN_ID-idem-1" "$((SEED + 1))" -H "Idempotency-Key: $key"
s1="$STATUS"
simulate idem2 "$idem_actor" "sc-$RUN_ID-idem-2" "$((SEED + 1))" -H "Idempotency-Key: $key"
replayed="$(header idem2 Idempotent-Replayed)"
where="$(instance_of "sc-$RUN_ID-idem-1") then $(instance_of "sc-$RUN_ID-idem-2")"
if [ "$s1" = 200 ] && [ "$STATUS" = 200 ] && [ "$replayed" = true ] &&
	[ "$(header idem1 Idempotent-Replayed)" != true ]; then
	pass "same Idempotency-Key twice ($where): 200 then 200 with Idempotent-Replayed: true, meta.idempotency_replay $(json idem2 meta.idempotency_replay)"
else
	fail "idempotent replay ($where): statuses $s1/$STATUS, Idempotent-Replayed '$replayed': $(head -c 300 "$WORK/idem2.b")"
fi

# ---------------------------------------------------------------------------
stage "shared rate limit"
# cached simulations (the seed from above) cost no tokens, so only the rate
# limit can refuse them
rl_actor="rl-$RUN_ID"
total=$((BURST * 3))
admitted=0 limited=0 other=0 has_headers=0 retry_after_ok=1
declare -A SERVED=()
for n in $(seq 1 "$total"); do
	simulate "rl$n" "$rl_actor" "sc-$RUN_ID-rl-$n" "$SEED"
	case "$STATUS" in
		200) admitted=$((admitted + 1)) ;;
		429)
			limited=$((limited + 1))
			ra="$(header "rl$n" Retry-After)"
			[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || retry_after_ok=0
			;;
		*) other=$((other + 1)) ;;
	esac
	[ -n "$(header "rl$n" RateLimit)$(header "rl$n" RateLimit-Policy)" ] && has_headers=1
done
for n in $(seq 1 "$total"); do
	inst="$(instance_of "sc-$RUN_ID-rl-$n")"
	SERVED[$inst]=$((${SERVED[$inst]:-0} + 1))
done
spread="$(for k in "${!SERVED[@]}"; do printf '%s:%s ' "$k" "${SERVED[$k]}"; done)"
if [ "$has_headers" = 1 ] && [ "$admitted" = "$BURST" ] && [ "$limited" = $((total - BURST)) ] && [ "$retry_after_ok" = 1 ] &&
	[ "${#SERVED[@]}" -ge 2 ]; then
	pass "$total requests of one actor over instances ($spread): $admitted admitted (burst $BURST), $limited got 429 with Retry-After"
else
	fail "rate limit: $admitted admitted (expected $BURST), $limited x 429, $other other, RateLimit headers: $has_headers, Retry-After ok: $retry_after_ok, spread $spread"
fi

# ---------------------------------------------------------------------------
stage "shared ledger"
# The simulation's actor was charged once (one computed simulation, cache hits free):
# check_sim_balance <response name> <what a pass says>
check_sim_balance() {
	local name="$1" what="$2" expected="$((DAILY_TOKENS - SIMULATION_COST))"
	request GET /api/balance "$name" -H "X-Actor-ID: $sim_actor"
	if [ "$STATUS" = 200 ] && [ "$(json "$name" balance)" = "$expected" ]; then
		pass "$what: balance $(json "$name" balance) (daily $DAILY_TOKENS, one computed simulation, cache hits free)"
	else
		fail "$what: GET /api/balance status $STATUS, balance $(json "$name" balance), expected $expected: $(head -c 300 "$WORK/$name.b")"
	fi
}
check_sim_balance bal "the simulation's actor"

# ---------------------------------------------------------------------------
stage "load with an instance loss (docker compose $STOP_MODE api2 after ${STOP_AT}s)"
info "$LOAD_WORKERS workers for ${LOAD_SECONDS}s: GET /health, /version, /ready, POST /api/simulate (cached, one actor per request)"
before="$(lb_status)"
set +e
python3 - "$LOAD_SECONDS" "$LOAD_WORKERS" "$STOP_AT" "$REACTION_WINDOW" "$SEED" "$RUN_ID" "$STOP_MODE" \
	"$TRICKSTER_LB_PORT" "${COMPOSE[@]}" <<'EOF'
import http.client, json, subprocess, sys, threading, time

duration, workers, stop_at, window = (float(sys.argv[i]) for i in range(1, 5))
seed, run_id, mode, lb_port, compose = sys.argv[5], sys.argv[6], sys.argv[7], int(sys.argv[8]), sys.argv[9:]
lock = threading.Lock()
results = []  # (t_start, t_end, ok, what)
stop = {"issued": None, "done": None, "rc": None}
t0 = time.monotonic()

def worker(wid):
    conn = None
    n = 0
    while time.monotonic() - t0 < duration:
        n += 1
        kind = n % 4
        headers = {"X-Request-ID": f"load-{run_id}-{wid}-{n}"}
        body = None
        if kind == 0:
            method, path = "POST", "/api/simulate"
            headers["content-type"] = "application/json"
            headers["X-Actor-ID"] = f"load-{run_id}-{wid}-{n}"
            body = json.dumps({"event_id": "demo_001", "iterations": 10000, "seed": int(seed)})
        else:
            method, path = "GET", ("/health", "/version", "/ready")[kind - 1]
        start = time.monotonic() - t0
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", lb_port, timeout=15)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            ok = 200 <= resp.status < 300
            what = f"{method} {path} -> {resp.status}"
            if resp.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as exc:  # connection errors count as failures
            ok, what = False, f"{method} {path} -> {type(exc).__name__}: {exc}"
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            results.append((start, time.monotonic() - t0, ok, what))

def stopper():
    time.sleep(stop_at)
    stop["issued"] = time.monotonic() - t0
    action = ["stop", "-t", "10", "api2"] if mode == "stop" else ["kill", "-s", "SIGKILL", "api2"]
    stop["rc"] = subprocess.run(compose + action,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    stop["done"] = time.monotonic() - t0

threads = [threading.Thread(target=worker, args=(i,)) for i in range(int(workers))]
threads.append(threading.Thread(target=stopper))
for t in threads:
    t.start()
for t in threads:
    t.join()

issued = stop["issued"]
react_end = issued + window
before = [r for r in results if r[1] < issued]
during = [r for r in results if r[1] >= issued and r[0] < react_end]
after = [r for r in results if r[0] >= react_end]
def failed(rs):
    return [r for r in rs if not r[2]]
total_failed = failed(results)
print(f"        requests: {len(results)} in {duration:.0f}s "
      f"({len(results) / duration:.0f}/s), failed: {len(total_failed)}")
print(f"        api2 {mode} issued at {issued:.2f}s, stopped at {stop['done']:.2f}s (rc {stop['rc']}); "
      f"reaction window {issued:.2f}s..{react_end:.2f}s ({window:.0f}s = fall x inter + margin)")
print(f"        before the stop: {len(before)} requests, {len(failed(before))} failed")
print(f"        reaction window: {len(during)} requests, {len(failed(during))} failed")
print(f"        after the window: {len(after)} requests, {len(failed(after))} failed")
slow = max((r[1] - r[0] for r in results), default=0)
print(f"        slowest request: {slow * 1000:.0f} ms")
for r in total_failed[:5]:
    print(f"        failed at {r[0]:.2f}s: {r[3]}")
if stop["rc"] != 0:
    print("        could not stop api2")
    sys.exit(3)
if not after:
    print("        no request after the reaction window (load too short)")
    sys.exit(4)
sys.exit(2 if failed(after) else 0)
EOF
load_rc=$?
set -e
info "load balancer before: $before"
info "load balancer after:  $(lb_status)"
case "$load_rc" in
	0) pass "no failed request after the health check reacted (window ${REACTION_WINDOW}s)" ;;
	2) fail "requests failed after the health check reacted (window ${REACTION_WINDOW}s)" ;;
	*) fail "load test did not run as planned (exit $load_rc)" ;;
esac
lb_after="$(lb_status)"
if [[ "$lb_after" =~ api2=(DOWN|MAINT) ]]; then
	pass "the load balancer took api2 out"
else
	fail "the load balancer still shows api2 as available: $lb_after"
fi

stage "api2 rejoins"
compose start api2 2>&1 | sed 's/^/        /'
if wait_all_up 60; then
	pass "api2 is back in rotation: $(lb_status)"
else
	fail "api2 did not come back within 30 s: $(lb_status)"
fi

# ---------------------------------------------------------------------------
stage "Redis lost: every instance not ready, the load balancer answers problem+json"
# all three instances taken out by their failing /ready checks
all_down() { [ "$(lb_csv | awk -F, '$1 == "instances" && $2 ~ /^api/ && $18 ~ /^DOWN/' | wc -l)" = 3 ]; }
compose stop -t 5 redis 2>&1 | sed 's/^/        /'
down=0
for _ in $(seq 1 40); do
	if all_down; then
		down=1
		break
	fi
	sleep 0.5
done
if [ "$down" = 1 ]; then
	pass "Redis stopped: the load balancer took every instance out ($(lb_status))"
else
	fail "Redis stopped, but the load balancer still has instances in rotation after 20 s: $(lb_status)"
fi
trace_id="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
request GET /api/events nolb -H "X-Request-ID: sc-$RUN_ID-no-instance" \
	-H "traceparent: 00-$trace_id-00f067aa0ba902b7-01"
ctype="$(header nolb Content-Type)"
retry="$(header nolb Retry-After)"
if [ "$STATUS" = 503 ] && [ "$ctype" = application/problem+json ] && [[ "$retry" =~ ^[1-9][0-9]*$ ]] &&
	[ "$(header nolb X-Request-ID)" = "sc-$RUN_ID-no-instance" ] &&
	[ "$(json nolb status)" = 503 ] && [ "$(json nolb code)" = '"service_unavailable"' ] &&
	[ "$(json nolb request_id)" = "\"sc-$RUN_ID-no-instance\"" ] &&
	[ "$(json nolb trace_id)" = "\"$trace_id\"" ] && [ "$(json nolb instance)" = '"/api/events"' ]; then
	pass "no instance ready: 503 $ctype, Retry-After $retry, code service_unavailable, the request's id and trace id"
else
	fail "no instance ready: status $STATUS, Content-Type '$ctype', Retry-After '$retry': $(head -c 400 "$WORK/nolb.b")"
fi
compose start redis 2>&1 | sed 's/^/        /'
if wait_all_up 80; then
	pass "Redis started again: every instance back in rotation without a restart ($(lb_status))"
else
	fail "the instances did not come back within 40 s of Redis: $(lb_status)"
fi
check_sim_balance bal2 "the ledger after the Redis restart (append-only file)"

# ---------------------------------------------------------------------------
stage "observability profile: Prometheus scrapes every instance, the dashboard's queries return data"
# fresh work for the engine and cache panels (api2 restarted above and lost its histograms):
# computed simulations by new actors, then the same requests again from the cache
for n in 1 2 3 4 5 6; do
	simulate "obs$n" "obs-$RUN_ID-$n" "sc-$RUN_ID-obs-$n" "$((SEED + 100 + n))"
	simulate "obsh$n" "obs-$RUN_ID-$n" "sc-$RUN_ID-obsh-$n" "$((SEED + 100 + n))"
done
set +e
python3 - "$PROM" ops/grafana/trickster-oracle.json <<'EOF'
import json, sys, time, urllib.parse, urllib.request

prom, dashboard = sys.argv[1], sys.argv[2]
failed = 0

def get(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)

def wait(what, probe, timeout):
    """Polls probe() until it returns (True, detail) or the time is up."""
    global failed
    deadline, detail = time.monotonic() + timeout, "no answer"
    while True:
        try:
            ok, detail = probe()
        except Exception as exc:  # not up yet, or a bad answer
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        if ok or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(f"  {'ok  ' if ok else 'FAIL'}  {what}: {detail}")
    failed += not ok
    return ok

def ready():
    with urllib.request.urlopen(prom + "/-/ready", timeout=5) as resp:
        return resp.status == 200, f"{prom} answers /-/ready"

def targets():
    active = [t for t in get("/api/v1/targets", state="active")["data"]["activeTargets"]
              if t["labels"].get("job") == "trickster-api"]
    health = sorted(f"{t['labels']['instance']}={t['health']}" for t in active)
    return len(active) == 3 and all(t["health"] == "up" for t in active), ", ".join(health)

def rules():
    groups = get("/api/v1/rules", type="alert")["data"]["groups"]
    loaded = [r for g in groups if g["name"] == "trickster-oracle" for r in g["rules"]]
    healthy = [r for r in loaded if r.get("health") == "ok"]
    firing = [r["name"] for r in loaded if r.get("state") == "firing"]
    return (len(loaded) >= 7 and len(healthy) == len(loaded),
            f"{len(loaded)} alert rules loaded, {len(healthy)} evaluated without error"
            f"{', firing: ' + ', '.join(firing) if firing else ', none firing'}")

if not wait("Prometheus is ready", ready, 60):
    sys.exit(1)
wait("every instance is a healthy target of job trickster-api", targets, 60)
wait("the alert rules of ops/prometheus/alerts.yml are loaded", rules, 30)

board = json.load(open(dashboard))
queries = [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])
           if t.get("expr")]
for title, expr in queries:
    concrete = expr.replace("$__rate_interval", "1m")
    def probe(concrete=concrete):
        result = get("/api/v1/query", query=concrete)["data"]["result"]
        return len(result) > 0, f"{len(result)} series"
    wait(f"dashboard '{title}': {concrete[:70]}{'...' if len(concrete) > 70 else ''}", probe, 60)
sys.exit(1 if failed else 0)
EOF
obs_rc=$?
set -e
if [ "$obs_rc" = 0 ]; then
	pass "Prometheus: all targets up, alert rules loaded, every dashboard query returns data"
else
	fail "the observability profile: see the FAIL lines above"
fi

stage "done"
