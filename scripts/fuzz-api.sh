#!/usr/bin/env bash
# Property-based API fuzzing: schemathesis generates requests from the served /openapi.json
# for every operation and checks every response against the document.
#
#   bash scripts/fuzz-api.sh
#
# Starts a private Redis and two instances of the service on loopback (tools/localstack,
# through scripts/lib/localstack.sh), one per AUTH_MODE, installs the pinned schemathesis into
# target/ci-venv, runs it against each, and exits non-zero on any failure.
#
# Environment (optional):
#   TRICKSTER_BIN       service binary (default target/release/trickster-oracle, built if missing)
#   FUZZ_MAX_EXAMPLES   cases per operation and phase (default 100; 13 operations give about
#                       1 800 cases per run, the count is printed in the summary)
#   FUZZ_SEED           schemathesis seed (default 1, so a CI failure reproduces locally; set
#                       another value to explore further)
#   FUZZ_TIME_LIMIT     seconds before each of the two runs is stopped (default 600)
#   FUZZ_REPORT_DIR     where the JUnit reports go (default target/fuzz-report)
#
# Checks: all of them (`--checks all`), among them not_a_server_error,
# status_code_conformance, content_type_conformance, response_headers_conformance,
# response_schema_conformance, negative_data_rejection, positive_data_acceptance,
# missing_required_header, unsupported_method, allow_header_conformance, use_after_free,
# ensure_resource_availability, ignored_auth. None is excluded but ignored_auth in header
# mode (below): a failure of any of them is either a defect of the service or an inaccuracy
# of the OpenAPI document, and both are ours. scripts/schemathesis.toml only lists the
# documented, state-dependent refusals (402, 409, 422) that positive_data_acceptance must
# accept for schema-valid data. A run also fails on the warnings that mean it tested less than
# it claims: credentials refused or unused, operations only ever answered 404 (the document's
# links and enums lead the generator to real data), references it could not resolve.
#
# Authentication: two instances on one Redis, fuzzed one after the other with the same
# settings, one per AUTH_MODE, so that every credential path of the gate is exercised:
#   api_key  the production default. A key for the actor `fuzzer` is created through the admin
#            API before the run. schemathesis authenticates by the document's security schemes
#            ([auth.openapi], added by this script to the run's copy of the settings):
#            ApiKeyBearer = that key, AdminBearer = the admin token. Every check runs, among
#            them ignored_auth: without credentials, and with invalid ones, each protected
#            operation must answer 401.
#   header   ActorHeader = `fuzzer`, AdminBearer as above. ignored_auth is
#            excluded here, and only here: in this mode the actor id is an identity claim, not
#            a secret, so every well-formed value (schemathesis's "invalid" one included) is a
#            valid credential by design. That a missing or malformed actor gets a 401 is
#            asserted by the integration tests (a_missing_or_malformed_actor_is_a_401_problem).
# Credentials are checked before the request is parsed (SPEC section 14), so a case without
# them is answered 401 whatever else is wrong with it; each operation documents its 401.
# The instances' limits are raised (localstack_up_for_checks in scripts/lib/localstack.sh)
# so that cases are not answered by 429 or 402 alone.
#
# Output is not sanitised: the reproduction commands then show the real header values
# (Idempotency-Key and the like), which matter for reproducing; the only secrets are the
# admin token and the API key of these throwaway loopback instances, which die with the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/localstack.sh
source scripts/lib/localstack.sh
# shellcheck source=scripts/lib/ci-python.sh
source scripts/lib/ci-python.sh

MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-100}"
SEED="${FUZZ_SEED:-1}"
TIME_LIMIT="${FUZZ_TIME_LIMIT:-600}"
REPORT_DIR="${FUZZ_REPORT_DIR:-target/fuzz-report}"
CONFIG_FILE="$(pwd)/scripts/schemathesis.toml"

VENV_BIN="$(ci_python_venv)"
localstack_up_for_checks \
  --group header --instances 1 \
  --group apikey --instances 1 --env AUTH_MODE=api_key --env REDIS_KEY_PREFIX=ci-apikey

mkdir -p "$REPORT_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"

# The API key of the api_key run, created as an administrator would.
key_json="$(curl -sS --fail-with-body --max-time 10 -X POST "$APIKEY_BASE_URL/api/admin/api-keys" \
  -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"actor_id": "fuzzer", "label": "schemathesis"}')" || {
  echo "fuzz-api: FAILED: could not create an API key: $key_json" >&2
  exit 1
}
FUZZ_API_KEY="$("$VENV_BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])' <<<"$key_json")"
# Read by the [auth.openapi] sections below (schemathesis interpolates ${...}).
export FUZZ_API_KEY FUZZ_ACTOR=fuzzer ADMIN_TOKEN

# fuzz <mode> <base url> <caller scheme> [schemathesis options]: one run, with the shared
# settings and the credentials of the caller scheme and the admin; JUnit report junit-<mode>.xml.
fuzz() {
  local mode="$1" base_url="$2" scheme="$3" work_dir="$LOCALSTACK_DIR/schemathesis-$1"
  shift 3
  mkdir -p "$work_dir"
  # shellcheck disable=SC2016 # ${...} is for schemathesis to interpolate, not the shell
  {
    cat "$CONFIG_FILE"
    case "$scheme" in
      ApiKeyBearer) printf '\n[auth.openapi.ApiKeyBearer]\nbearer = "${FUZZ_API_KEY}"\n' ;;
      ActorHeader) printf '\n[auth.openapi.ActorHeader]\napi_key = "${FUZZ_ACTOR}"\n' ;;
    esac
    printf '\n[auth.openapi.AdminBearer]\nbearer = "${ADMIN_TOKEN}"\n'
    printf '\n[warnings]\nfail-on = ["missing_auth", "unused_openapi_auth", "missing_test_data", "base_url_mismatch", "unresolvable_reference", "unsupported_regex"]\n'
  } >"$work_dir/schemathesis.toml"
  echo "fuzz-api: AUTH_MODE=$mode: $base_url/openapi.json, all operations, $MAX_EXAMPLES examples per operation and phase, seed $SEED" >&2
  # Run from the stack's temporary directory so that hypothesis/schemathesis leave no files
  # in the work tree; the example database is disabled so every run starts from the seed.
  (
    cd "$work_dir" &&
      timeout --kill-after=10 "$TIME_LIMIT" "$VENV_BIN/schemathesis" \
        --config-file "$work_dir/schemathesis.toml" run "$base_url/openapi.json" \
        --url "$base_url" \
        --checks all "$@" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --continue-on-failure \
        --request-timeout 10 \
        --wait-for-schema 30 \
        --generation-database none \
        --output-sanitize false \
        --no-color \
        --report junit --report-junit-path "$REPORT_DIR/junit-$mode.xml"
  )
}

status=0 failed=()
for mode in api_key header; do
  rc=0
  case "$mode" in
    api_key) fuzz api_key "$APIKEY_BASE_URL" ApiKeyBearer || rc=$? ;;
    header) fuzz header "$HEADER_BASE_URL" ActorHeader --exclude-checks ignored_auth || rc=$? ;;
  esac
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "fuzz-api: AUTH_MODE=$mode: schemathesis did not finish within ${TIME_LIMIT}s" >&2
  fi
  if [ "$rc" -ne 0 ]; then
    status=$rc
    failed+=("$mode (exit $rc)")
  fi
done

if [ "$status" -ne 0 ]; then
  echo "fuzz-api: FAILED: ${failed[*]}; the reproductions are above, the JUnit reports are in $REPORT_DIR" >&2
else
  echo "fuzz-api: passed in both auth modes" >&2
fi
exit "$status"
