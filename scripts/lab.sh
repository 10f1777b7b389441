#!/usr/bin/env bash
# Первая команда README: подготовить окружение и открыть курс в JupyterLab на уроке 00.
# Ключ не нужен: уроки работают с практическим провайдером. Команда продолжает работать, пока
# открыт курс (это сервер JupyterLab); остановить: Ctrl+C. Тесты — во втором терминале.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m course_helpers.diagnostics --quick || true
# Доверять своим ноутбукам: иначе сохранённые панели показываются текстом до первого запуска.
.venv/bin/jupyter trust notebooks/[0-9][0-9]_*.ipynb >/dev/null 2>&1 || true

port=${COURSE_LAB_PORT:-$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
token=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
url="http://127.0.0.1:$port/lab/tree/00_start.ipynb?token=$token"
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
# Корень — папка notebooks/: слева только уроки (источники для авторов, notebooks/src, скрыты).
.venv/bin/jupyter lab notebooks/00_start.ipynb --ip=127.0.0.1 --port="$port" --port-retries=0 \
  --ServerApp.root_dir=notebooks --IdentityProvider.token="$token" \
  --ServerApp.default_url=/lab/tree/00_start.ipynb \
  "--ContentsManager.hide_globs=['__pycache__', '*.pyc', '.ipynb_checkpoints', 'src', '*.json', '.cache']" \
  "${extra[@]}" "$@" &
lab=$!
trap 'kill "$lab" 2>/dev/null; wait "$lab" 2>/dev/null' INT TERM
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/api/status?token=$token', timeout=1)" \
      >/dev/null 2>&1; then break; fi
  kill -0 "$lab" 2>/dev/null || break
  sleep 0.5
done
if ! kill -0 "$lab" 2>/dev/null; then
  echo "JupyterLab не запустился — сообщение об ошибке выше. Если порт занят: COURSE_LAB_PORT=8890 bash scripts/lab.sh" >&2
  exit 1
fi
cat <<MSG

==================================================================================
  Курс открыт. Если браузер не открылся сам, откройте ссылку (урок 00):
  $url
  Эта команда держит JupyterLab: не закрывайте терминал. Остановить — Ctrl+C.
  Тесты курса — во втором терминале: bash scripts/test.sh
==================================================================================

MSG
wait "$lab"
