"""In a real notebook kernel: a wrong key, a dead provider port and a missing Redis each
give the learner a clear Russian message (not just an English traceback)."""

from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient


def run_cells(*sources: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()) -> list[str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for cell in nb.cells:
        cell.metadata["tags"] = ["raises-exception"]
    saved = dict(os.environ)
    os.environ.update(env or {})
    for name in unset:
        os.environ.pop(name, None)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    texts = []
    for cell in nb.cells:
        parts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
        parts += [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        texts.append("\n".join(parts))
    return texts


def test_wrong_key_dead_provider_and_missing_redis_messages(tmp_path) -> None:
    start, wrong_key, dead, restart, no_redis = run_cells(
        "from course_helpers import start_lesson\nimport litellm\ncourse = start_lesson('00')",
        "litellm.completion(model='openrouter/openai/gpt-4o-mini', api_key='wrong-key',\n"
        "                   messages=[{'role': 'user', 'content': 'Привет!'}])",
        "course.provider.stop()\n"
        "litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=[{'role': 'user', 'content': 'Привет!'}])",
        "course = start_lesson('00')\n"
        "print(litellm.completion(model='openrouter/openai/gpt-4o-mini',\n"
        "      messages=[{'role': 'user', 'content': 'Привет!'}]).choices[0].message.content)",
        "from course_helpers import redis_url\nredis_url()",
        env={"PATH": str(tmp_path), "REDIS_URL": ""},
    )
    assert "офлайн" in start
    assert "AuthenticationError" in wrong_key and "Неверный ключ API для практического провайдера" in wrong_key
    assert "APIConnectionError" in dead and "Практический провайдер не отвечает" in dead and "start_lesson" in dead
    assert "Привет! Я модель практического провайдера" in restart
    assert "RedisUnavailable" in no_redis and "apt-get install -y redis-server" in no_redis


def test_before_start_lesson_and_short_tracebacks(tmp_path) -> None:
    """A LiteLLM cell run before the setup cell (or after a restart): a Russian "run the setup
    cell", the local price map, and a traceback with the learner's line only; later errors are
    short too, a model-name typo gets a hint, and check() points at the learner's own line."""
    before, setup, typo, checked = run_cells(
        "import os, litellm\nprint('cost map local:', os.environ.get('LITELLM_LOCAL_MODEL_COST_MAP'))\n"
        "litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=[{'role': 'user', 'content': 'Привет!'}])",
        "from course_helpers import start_lesson, check\ncourse = start_lesson('00')",
        "litellm.completion(model='openrouter/openai/gpt-4o-mimi', messages=[{'role': 'user', 'content': 'Привет!'}])",
        "def first_call(prompt):\n"
        "    return litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=prompt)\n"
        "check('00.1', first_call)",
        # a fresh kernel of a learner: nothing points LiteLLM at a practice provider yet
        unset=("OPENROUTER_API_BASE", "OPENAI_API_BASE", "OPENROUTER_API_KEY", "OPENAI_API_KEY"),
    )
    assert "cost map local: True" in before and "Сначала выполните ячейку настройки урока" in before
    assert "скрыто" in before and "трассировки" in before
    assert "NotFoundError" in typo and "Такой модели нет" in typo
    assert "❌ неверно" in checked and "строка 2, first_call" in checked, checked


def test_tracebacks_keep_only_the_learners_frames() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from course_helpers import start_lesson\nimport litellm\n"
                                          "course = start_lesson('00', quiet=True)"),
                nbformat.v4.new_code_cell("course.provider.fail('openai/gpt-4o-mini', 503, times=1)\n"
                                          "litellm.completion(model='openrouter/openai/gpt-4o-mini',\n"
                                          "                   messages=[{'role': 'user', 'content': 'Привет!'}])")]
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    error = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    frames = [line for line in error.traceback if "site-packages" in line or "line " in line]
    assert error.ename == "ServiceUnavailableError"
    assert not any("site-packages" in line for line in error.traceback), "library frames are hidden"
    assert len(error.traceback) <= 8 and frames, error.traceback
