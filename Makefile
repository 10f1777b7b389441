# Короткие имена для команд курса (те же, что в README).
.PHONY: lab test quick timings notebooks bench canary

lab:        ## открыть курс в JupyterLab
	bash scripts/lab.sh

test:       ## все тесты (как в CI)
	bash scripts/test.sh

quick:      ## быстрые тесты для авторов: всё, кроме браузера и Restart & Run All
	bash scripts/test.sh --quick

timings:    ## прогнать тесты как CI и показать, на что уходит время (этапы, ноутбуки)
	.venv/bin/python scripts/suite_timings.py

notebooks:  ## пересобрать и выполнить все ноутбуки из notebooks/src
	.venv/bin/python scripts/build_notebooks.py

bench:      ## замеры: провайдер, LiteLLM, кэш, ноутбуки, весь набор тестов
	.venv/bin/python scripts/bench.py --notebooks --suite

canary:     ## утверждения уроков на новейшем LiteLLM (отчёт, не падение CI)
	bash scripts/canary.sh
