#!/usr/bin/env bash
# Version-drift canary: run the lessons' claim tests (tests/test_claims_*.py) against the
# NEWEST LiteLLM release in a separate environment and report which claims still hold.
# A report, not a CI failure: it exits 0 when the report was produced.
#   bash scripts/canary.sh              # newest release
#   LITELLM_SPEC='litellm==1.110.2' bash scripts/canary.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CANARY_VENV:-.canary-venv}
SPEC=${LITELLM_SPEC:-litellm[caching]}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Same requirements as the course, with the LiteLLM pin replaced by the newest release.
grep -v '^litellm' requirements.txt | grep -v '^-e' > "$VENV/requirements-canary.txt"
"$VENV/bin/python" -m pip install -q --upgrade "$SPEC" -r "$VENV/requirements-canary.txt"
"$VENV/bin/python" -m pip install -q --no-deps -e .
version=$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("litellm"))')
echo "Canary: LiteLLM $version (the course pins 1.108.14)"
report="$VENV/claims.xml"
"$VENV/bin/python" -m pytest tests/test_claims_*.py -q -p no:cacheprovider -o addopts="" \
  --junitxml="$report" >"$VENV/pytest.log" 2>&1 || true
"$VENV/bin/python" scripts/canary_report.py "$report" "$version"
