#!/usr/bin/env bash
# Вторая команда README: все тесты курса — модули, утверждения уроков о LiteLLM,
# проверки заданий и nbval (каждый ноутбук выполняется заново и сравнивается с сохранённым).
# Аргументы передаются pytest, например: bash scripts/test.sh tests/test_practice.py -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
exec .venv/bin/python -m pytest "$@"
