#!/usr/bin/env bash
# Version-drift canary (`make canary`): what would change if the course took the newest versions that
# requirements*.txt allow, instead of requirements.lock. In a throwaway venv it installs them and
# reports which packages differ from the lock, which claims about LiteLLM (tests/test_claims_*.py)
# no longer hold, and which stored notebook outputs (nbval) would change. A report, not a CI failure:
# it exits 0 when the report was produced (written to .canary-venv/report.txt as well).
#   bash scripts/canary.sh                                   # LiteLLM stays pinned, everything else newest
#   LITELLM_SPEC='litellm[caching]' bash scripts/canary.sh   # LiteLLM's newest release too
#   CANARY_ONLY=claims bash scripts/canary.sh                # skip the notebooks (about 5 min less)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CANARY_VENV:-.canary-venv}
PY=${PYTHON:-python3}
rm -rf "$VENV"
"$PY" -m venv "$VENV"
uv_pin=$(grep -m1 '^uv==' requirements.lock)
"$VENV/bin/python" -m pip install -q "$uv_pin"
# The same requirements as the course; with LITELLM_SPEC, the LiteLLM line replaced.
awk -v spec="${LITELLM_SPEC:-}" 'spec != "" && /^litellm\[caching\]==/ {print spec; next} {print}' \
  requirements.txt > "$VENV/requirements.txt"
if [ -n "${LITELLM_SPEC:-}" ] && ! grep -qxF -- "$LITELLM_SPEC" "$VENV/requirements.txt"; then
  echo "canary: no 'litellm[caching]==…' line in requirements.txt to replace with $LITELLM_SPEC" >&2; exit 2
fi
"$VENV/bin/uv" pip compile -q --upgrade --python "$VENV/bin/python" \
  "$VENV/requirements.txt" requirements-proxy.txt -o "$VENV/newest.lock"
"$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -r "$VENV/newest.lock"
echo "Canary: the newest allowed versions are in $VENV; running the claims$( [ "${CANARY_ONLY:-}" = claims ] || echo ' and the notebooks')…"
"$VENV/bin/python" -m pytest tests/test_claims_*.py -q -p no:cacheprovider -o addopts="" -n auto \
  --junitxml="$VENV/claims.xml" >"$VENV/claims.log" 2>&1 || true
notebooks=()
if [ "${CANARY_ONLY:-}" != claims ]; then
  "$VENV/bin/python" -m pytest notebooks/ -q -p no:cacheprovider -n auto --dist loadscope \
    --junitxml="$VENV/notebooks.xml" >"$VENV/notebooks.log" 2>&1 || true
  notebooks=(--notebooks "$VENV/notebooks.xml")
fi
"$VENV/bin/python" scripts/canary_report.py --lock requirements.lock --claims "$VENV/claims.xml" \
  ${notebooks[@]+"${notebooks[@]}"} \
  | tee "$VENV/report.txt"
