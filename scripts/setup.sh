#!/usr/bin/env bash
# Подготовка окружения курса (идемпотентно): .venv с пакетами из requirements.txt и requirements-proxy.txt
# (LiteLLM Proxy для урока 08),
# а если мы root на Debian/Ubuntu — ещё redis-server (уроки 01 и 05), bubblewrap (песочница
# грейдера) и, с флагом --browser, chromium (браузерные тесты). Повторный запуск ничего не переустанавливает.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Нужен Python ≥ 3.11 (сейчас: $("$PY" --version 2>&1 || echo 'не найден')). Укажите другой: PYTHON=python3.12 $0" >&2
  exit 1
fi

apt_install() {  # apt_install <program> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Ставлю $2 через apt-get…"
    if [ ! -f /tmp/.course-apt-updated ]; then apt-get update -qq && touch /tmp/.course-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "Нет программы $1. Поставьте пакет $2 (например: sudo apt-get install -y $2)." >&2
    return 1
  fi
}

apt_install redis-server redis-server || echo "Уроки 01 и 05 покажут, как поставить Redis; остальное работает без него." >&2
# Песочница грейдера (python -m course_helpers.grade): без bubblewrap изоляция слабее; ставим, только если root.
if [ "$(id -u)" = 0 ]; then apt_install bwrap bubblewrap || true; fi
if [ "$want_browser" = 1 ]; then apt_install chromium chromium; fi
# Цветные эмодзи (✅ ❌ ⏳ в проверках): без шрифта Chromium в Debian рисует их пустыми квадратами.
if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then
  apt_install fc-emoji-font-not-a-program fonts-noto-color-emoji || true
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.requirements.sha256
sum=$(cat requirements.txt requirements-proxy.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  echo "Ставлю пакеты Python в .venv (первый раз — пара минут)…"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q -r requirements-proxy.txt  # урок 08: шлюз (+~45 МБ)
  echo "$sum" > "$stamp"
fi
# Ядро курса: короткие трассировки, русские подсказки и локальная таблица цен даже до start_lesson.
.venv/bin/python -m course_helpers.kernel --install-kernelspec >/dev/null
# JupyterLab этого .venv: без всплывающего вопроса о новостях и без проверки обновлений.
mkdir -p .venv/share/jupyter/lab/settings
cp scripts/jupyterlab-overrides.json .venv/share/jupyter/lab/settings/overrides.json
