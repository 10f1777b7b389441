#!/usr/bin/env bash
# Подготовка окружения курса (идемпотентно): .venv с пакетами точно по requirements.lock (это
# requirements.txt и requirements-proxy.txt — LiteLLM Proxy для урока 08 — со всеми зависимостями),
# а если мы root на Debian/Ubuntu — ещё redis-server (уроки 01 и 05), bubblewrap (песочница
# грейдера) и, с флагом --browser, chromium (браузерные тесты). Повторный запуск ставит только то, что
# разошлось с requirements.lock (обычно ничего: ~0,2 с).
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

fresh=0
[ -x .venv/bin/python ] || { "$PY" -m venv .venv; fresh=1; }
# Пакеты ставятся точно по requirements.lock (его делает `make lock` из requirements*.txt), и каждый
# запуск сверяет с ним .venv: пакет другой версии (обновлённый руками, скажем) возвращается к
# закреплённой. Ставит uv (секунды; версия — из того же lock-файла), а если uv не ставится — pip.
[ "$fresh" = 1 ] && echo "Ставлю пакеты Python в .venv по requirements.lock (первый раз — около минуты)…"
uv_pin=$(grep -m1 '^uv==' requirements.lock | tr -d '\r' || true)  # empty: no uv in the lock, pip installs
pinned_uv() { [ -n "$uv_pin" ] && [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" = "${uv_pin#uv==}" ]; }
if [ -n "$uv_pin" ] && ! pinned_uv; then
  .venv/bin/python -m pip install -q "$uv_pin" \
    || echo "uv не поставился — ставлю пакеты pip'ом (то же, только медленнее)." >&2
fi
if pinned_uv; then
  if ! out=$(.venv/bin/uv pip install --compile-bytecode --python .venv/bin/python -r requirements.lock 2>&1); then
    printf '%s\n' "$out" >&2; exit 1
  fi
  changed=$(printf '%s\n' "$out" | grep -E '^ [-+~] ' || true)
  if [ "$fresh" = 0 ] && [ -n "$changed" ]; then
    printf 'Пакеты .venv приведены к requirements.lock (− было, + стало):\n%s\n' "$changed"
  fi
else
  .venv/bin/python -m pip install -q -r requirements.lock
fi
# Ядро курса: короткие трассировки, русские подсказки и локальная таблица цен даже до start_lesson.
.venv/bin/python -m course_helpers.kernel --install-kernelspec >/dev/null
# JupyterLab этого .venv: без всплывающего вопроса о новостях и без проверки обновлений.
mkdir -p .venv/share/jupyter/lab/settings
cp scripts/jupyterlab-overrides.json .venv/share/jupyter/lab/settings/overrides.json
