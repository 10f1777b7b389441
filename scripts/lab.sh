#!/usr/bin/env bash
# Первая команда README: подготовить окружение и открыть курс в JupyterLab на уроке 00.
# Ключ не нужен: уроки работают с практическим провайдером. Остановить: Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m course_helpers.diagnostics --quick || true
# Доверять своим ноутбукам: иначе сохранённые панели показываются текстом до первого запуска.
.venv/bin/jupyter trust notebooks/[0-9][0-9]_*.ipynb >/dev/null 2>&1 || true
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
exec .venv/bin/jupyter lab notebooks/00_start.ipynb --ip=127.0.0.1 "${extra[@]}" "$@"
