#!/usr/bin/env bash
# Property-based API fuzzing: schemathesis generates requests from the served /openapi.json
# for every operation and checks every response against the document.
#
#   bash scripts/fuzz-api.sh
#
# Starts a private Redis and the service on loopback (tools/localstack, through
# scripts/lib/localstack.sh), installs the pinned schemathesis into target/ci-venv, runs it,
# and exits non-zero on any failure.
#
# Environment (optional):
#   TRICKSTER_BIN       service binary (default target/release/trickster-oracle, built if missing)
#   FUZZ_MAX_EXAMPLES   cases per operation and phase (default 100; 11 operations give well over
#                       500 cases in total, the count is printed in the summary)
#   FUZZ_SEED           schemathesis seed (default 1, so a CI failure reproduces locally; set
#                       another value to explore further)
#   FUZZ_TIME_LIMIT     seconds before the whole run is stopped (default 600)
#   FUZZ_REPORT_DIR     where the JUnit report goes (default target/fuzz-report)
#
# Checks: all of them (`--checks all`), among them not_a_server_error,
# status_code_conformance, content_type_conformance, response_headers_conformance,
# response_schema_conformance, negative_data_rejection, positive_data_acceptance,
# missing_required_header, unsupported_method, allow_header_conformance, use_after_free,
# ensure_resource_availability, ignored_auth. None is excluded: a failure of any of them is
# either a defect of the service or an inaccuracy of the OpenAPI document, and both are ours.
# scripts/schemathesis.toml only lists the documented, state-dependent refusals (402, 409,
# 422) that positive_data_acceptance must accept for schema-valid data.
#
# Authentication: the instance runs with AUTH_MODE=header and a random ADMIN_TOKEN. Every
# request carries `X-Actor-ID: fuzzer` (the actor of /api/simulate, /api/balance,
# /api/ledger) and `Authorization: Bearer <ADMIN_TOKEN>` (the admin routes; in header mode the
# other routes ignore it), so generated cases reach the handlers instead of stopping at 401.
# The instance's limits are raised (localstack_up_for_checks in scripts/lib/localstack.sh) so
# that cases are not answered by 429 or 402 alone.
#
# Output is not sanitised: the reproduction commands then show the real header values
# (Idempotency-Key and the like), which matter for reproducing; the only secret is the admin
# token of this throwaway loopback instance, which dies with the run.
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
localstack_up_for_checks

mkdir -p "$REPORT_DIR"
WORK_DIR="$LOCALSTACK_DIR/schemathesis"
mkdir -p "$WORK_DIR"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"

echo "fuzzing $BASE_URL/openapi.json: all operations, all checks, $MAX_EXAMPLES examples per operation and phase, seed $SEED" >&2

status=0
# Run from the stack's temporary directory so that hypothesis/schemathesis leave no files in
# the work tree; the example database is disabled so every run starts from the seed alone.
(
  cd "$WORK_DIR" &&
    timeout --kill-after=10 "$TIME_LIMIT" "$VENV_BIN/schemathesis" \
      --config-file "$CONFIG_FILE" run "$BASE_URL/openapi.json" \
      --url "$BASE_URL" \
      --checks all \
      --header "X-Actor-ID: fuzzer" \
      --header "Authorization: Bearer $ADMIN_TOKEN" \
      --max-examples "$MAX_EXAMPLES" \
      --seed "$SEED" \
      --continue-on-failure \
      --request-timeout 10 \
      --wait-for-schema 30 \
      --generation-database none \
      --output-sanitize false \
      --no-color \
      --report junit --report-junit-path "$REPORT_DIR/junit.xml"
) || status=$?

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "fuzz-api: schemathesis did not finish within ${TIME_LIMIT}s" >&2
elif [ "$status" -ne 0 ]; then
  echo "fuzz-api: FAILED (schemathesis exit $status); the reproductions are above, the JUnit report is $REPORT_DIR/junit.xml" >&2
else
  echo "fuzz-api: passed" >&2
fi
exit "$status"
