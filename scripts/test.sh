#!/usr/bin/env bash
# Вторая команда README: все тесты курса — модули, утверждения уроков о LiteLLM,
# проверки заданий, nbval (каждый ноутбук выполняется заново и сравнивается с сохранённым),
# Restart & Run All и браузер. Тесты идут в нескольких процессах сразу (pytest-xdist, -n auto): на один
# больше, чем CPU, в быстром наборе — на два (tests/suite_plugin.py; на 2 CPU — 3 и 4). Набор упирается
# в процессор, а лишний процесс занимает CPU, пока другие ждут задержек провайдера.
#   bash scripts/test.sh --quick                    # для авторов: всё, кроме браузера и Restart & Run All
#   bash scripts/test.sh --lesson 07                # только тесты урока 07 (и --quick --lesson 07)
#   bash scripts/test.sh tests/test_practice.py -x  # остальные аргументы передаются pytest
#   COURSE_TEST_WORKERS=0 bash scripts/test.sh      # в одном процессе (N — в N процессах)
set -euo pipefail
cd "$(dirname "$0")/.."
select=()
setup_args=(--browser)
if [ "${1:-}" = "--quick" ]; then
  shift
  select=(-m "not slow")
  setup_args=()
fi
start=$(date +%s%N)
bash scripts/setup.sh "${setup_args[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
export COURSE_SETUP_SECONDS=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))  # for scripts/suite_timings.py
exec .venv/bin/python -m pytest -n "${COURSE_TEST_WORKERS:-auto}" --dist loadscope "${select[@]}" "$@"
