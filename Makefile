# Короткие имена для команд курса (те же, что в README).
.PHONY: lab test quick lesson timings notebooks bench canary lock lock-upgrade

lab:        ## открыть курс в JupyterLab
	bash scripts/lab.sh

test:       ## все тесты (как в CI)
	bash scripts/test.sh

quick:      ## быстрые тесты для авторов: всё, кроме браузера и Restart & Run All
	bash scripts/test.sh --quick

lesson:     ## тесты одного урока: make lesson N=07 (всё о нём, с браузером; общие модули — только в make test)
	@test -n "$(N)" || { echo "Укажите урок: make lesson N=07"; exit 2; }
	bash scripts/test.sh --lesson $(N)

timings:    ## прогнать тесты как CI и показать, на что уходит время (этапы, ноутбуки)
	.venv/bin/python scripts/suite_timings.py

notebooks:  ## пересобрать и выполнить все ноутбуки из notebooks/src
	.venv/bin/python scripts/build_notebooks.py

bench:      ## замеры: провайдер, LiteLLM, кэш, ноутбуки, весь набор тестов
	.venv/bin/python scripts/bench.py --notebooks --suite

canary:     ## новейшие разрешённые версии пакетов во временном .venv: что изменится (отчёт, не падение CI)
	bash scripts/canary.sh

LOCK = .venv/bin/uv pip compile -q --universal --python-version 3.11 --custom-compile-command "make lock" \
	requirements.txt requirements-proxy.txt -o requirements.lock

# The lock's last line: a hash of what it was compiled from (tests/test_lock.py: a list changed, the lock not).
STAMP = .venv/bin/python -c "import hashlib; print('\# inputs sha256:', hashlib.sha256(b''.join(open(f, 'rb').read() \
	for f in ('requirements.txt', 'requirements-proxy.txt', 'pyproject.toml'))).hexdigest())" >> requirements.lock

lock:       ## requirements.lock заново из requirements*.txt (закреплённые версии остаются, если подходят)
	$(LOCK)
	$(STAMP)

lock-upgrade: ## requirements.lock с новейшими разрешёнными версиями (сначала make canary)
	$(LOCK) --upgrade
	$(STAMP)
