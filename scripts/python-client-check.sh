#!/usr/bin/env bash
# A Python client generated from the OpenAPI document, used against a live instance.
#
#   bash scripts/python-client-check.sh
#
# 1. openapi-python-client (pinned in scripts/requirements-ci.txt, installed into
#    target/ci-venv) generates a client from docs/openapi.json into target/python-client
#    (never committed). Any warning fails the check (--fail-on-warning): a warning means the
#    generator dropped part of the document, such as a schema it could not read.
# 2. A private Redis and one instance start on loopback (tools/localstack) with a small daily
#    allowance and a small burst, so that a 402 and a 429 are reached in a few calls.
# 3. scripts/python-client-check.py runs the smoke test through the generated client: simulate,
#    a replay with an Idempotency-Key, the other request shape, balance, every ledger page, a
#    402 and a 429, each read as the client's typed models.
#
# Environment (optional):
#   TRICKSTER_BIN   service binary (default target/release/trickster-oracle, built if missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/localstack.sh
source scripts/lib/localstack.sh
# shellcheck source=scripts/lib/ci-python.sh
source scripts/lib/ci-python.sh

CLIENT_DIR=target/python-client
PACKAGE=trickster_oracle_client
DAILY_TOKENS=3
BURST=20

VENV_BIN="$(ci_python_venv)"

echo "python-client-check: generating $CLIENT_DIR/$PACKAGE from docs/openapi.json" >&2
rm -rf "$CLIENT_DIR"
mkdir -p "$CLIENT_DIR"
# The generator formats its output with ruff, which the venv provides.
PATH="$VENV_BIN:$PATH" "$VENV_BIN/openapi-python-client" generate \
  --path docs/openapi.json --meta none --output-path "$CLIENT_DIR/$PACKAGE" --fail-on-warning

# The sustained rate is one request a minute, so the burst alone decides when the 429 comes.
localstack_up_for_checks \
  --env "DAILY_TOKENS=$DAILY_TOKENS" --env "RATE_LIMIT_BURST=$BURST" --env RATE_LIMIT_PER_MINUTE=1

timeout --kill-after=10 120 "$VENV_BIN/python" scripts/python-client-check.py \
  --client-dir "$CLIENT_DIR" --package "$PACKAGE" --base-url "$BASE_URL" \
  --daily-tokens "$DAILY_TOKENS" --burst "$BURST"
