"""In a real notebook kernel: a wrong key, a dead provider port and a missing Redis each
give the learner a clear Russian message (not just an English traceback)."""

from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient


def run_cells(*sources: str, env: dict[str, str] | None = None) -> list[str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for cell in nb.cells:
        cell.metadata["tags"] = ["raises-exception"]
    saved = dict(os.environ)
    os.environ.update(env or {})
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
