#!/usr/bin/env bash
# The OpenAPI document as clients and generators read it (scripts/check-document.py):
# openapi-spec-validator finds no error, every example validates against its schema, every
# JSON request body and response has an example. Needs no service: it reads the committed
# document, which a test keeps equal to the served one.
#
#   bash scripts/check-document.sh [document]     # default docs/openapi.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/ci-python.sh
source scripts/lib/ci-python.sh

VENV_BIN="$(ci_python_venv)"
"$VENV_BIN/python" scripts/check-document.py "${1:-docs/openapi.json}"
