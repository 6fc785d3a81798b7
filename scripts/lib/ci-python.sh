# shellcheck shell=bash
# Python tools for the checks (fuzz-api.sh, browser-check.sh): a virtual environment
# (default target/ci-venv, override with CI_VENV) with exactly the packages pinned in
# scripts/requirements-ci.txt (or the file CI_REQUIREMENTS names). It is reused while the
# requirements file and the Python version are unchanged.
#
#   source scripts/lib/ci-python.sh
#   VENV_BIN="$(ci_python_venv)"      # the venv's bin directory

CI_PYTHON_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

ci_python_venv() {
  local venv="${CI_VENV:-$CI_PYTHON_REPO_ROOT/target/ci-venv}"
  local req="${CI_REQUIREMENTS:-$CI_PYTHON_REPO_ROOT/scripts/requirements-ci.txt}" python="${PYTHON:-python3}" stamp
  if ! command -v "$python" >/dev/null 2>&1; then
    printf '[ci-python] %s not found\n' "$python" >&2
    return 1
  fi
  stamp="$({ "$python" --version 2>&1; cat "$req"; } | sha256sum | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.ci-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$venv/bin"
    return 0
  fi
  printf '[ci-python] creating %s from %s\n' "$venv" "${req#"$CI_PYTHON_REPO_ROOT"/}" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv" >&2 || return 1
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$req" >&2 || return 1
  echo "$stamp" >"$venv/.ci-stamp"
  echo "$venv/bin"
}
