"""Errors a learner easily causes in the first hour, and what the course tells them.

Each test is one mistake: what the learner does, and the Russian message that must say
what to do. Several of these found gaps in the review of the learner's first hour (a dead
provider blamed on the learner, an English "LLM Provider NOT provided", faults for misspelt
models accepted silently); the shared code was fixed and they now pass.

Covered elsewhere, not repeated here: a wrong key, a dead provider and no Redis as seen
in a real kernel (``test_notebook_messages.py``); online mode with a bad key or no network
(``test_session.py``); a wrong exercise answer in the real JupyterLab UI
(``browser/test_first_hour.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from types import ModuleType

import litellm
import pytest

from course_helpers import check, hint, solution
from course_helpers.checks import exercises, run_check
from course_helpers.provider import PracticeProvider, ProviderError

CYRILLIC = re.compile(r"[а-яё]{3,}", re.I)
M = [{"role": "user", "content": "Привет!"}]


def russian(text: str) -> bool:
    return bool(CYRILLIC.search(text))


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A kernel where start_lesson has not run yet; the shared course session comes back afterwards."""
    from course_helpers import session

    for name in (*session._REDIRECTS, "OPENROUTER_API_KEY", "OPENAI_API_KEY", "COURSE_MODE"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "_current", None)
    monkeypatch.setattr(session, "read_dotenv", lambda *args, **kwargs: {})  # the learner's .env is not ours
    yield session
    session.stop_lesson()


# --- exercises ------------------------------------------------------------------------

def test_value_instead_of_function(course, capsys) -> None:
    check("00.1", 42)
    out = capsys.readouterr().out
    assert "❌" in out and "ожидается функция first_call(prompt)" in out and "hint('00.1')" in out, out


@pytest.mark.parametrize("exercise_id", list(exercises()))
def test_every_exercise_explains_a_wrong_type_answer(course, capsys, exercise_id: str) -> None:
    """A value where a function or class is expected: a Russian ❌ saying what is expected, never a
    crash of the checker reported as 'your code failed'."""
    check(exercise_id, 42)
    out = capsys.readouterr().out
    assert out.startswith("❌") and russian(out), out
    assert "ваш код упал" not in out, f"the checker itself crashed on a non-function answer: {out}"
    assert "Traceback" not in out


def test_whole_response_instead_of_its_text(course) -> None:
    def first_call(prompt: str):
        return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": prompt}])

    result = run_check("00.1", first_call)
    assert result.status == "failed"
    assert "(str)" in result.message and "response.choices[0].message.content" in result.message


def test_function_with_wrong_signature_says_fix_it_in_russian(course) -> None:
    result = run_check("00.1", lambda: "ответ")
    assert result.status == "failed" and "TypeError" in result.message and "Исправьте" in result.message


def test_check_before_start_lesson(fresh_session, capsys) -> None:
    check("00.1", lambda prompt: "ответ")
    out = capsys.readouterr().out
    assert "start_lesson" in out and russian(out), out


def test_unknown_exercise_id_lists_the_real_ones(course, capsys) -> None:
    check("0.1", lambda prompt: "ответ")
    hint("0.1")
    solution("0.1")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("Нет задания '0.1'" in line and "00.1" in line for line in lines), lines


def test_nothing_written_yet_is_friendly(course, capsys) -> None:
    check("00.1")
    out = capsys.readouterr().out
    assert out.startswith("⏳") and "ещё не решено" in out


def test_check_with_a_stopped_provider_says_rerun_start_lesson(course, monkeypatch) -> None:
    dead = PracticeProvider("http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setattr(course, "provider", dead)
    result = run_check("00.1", lambda prompt: "ответ")
    assert "start_lesson" in result.message and russian(result.message), result.message


def test_check_with_a_stopped_provider_does_not_blame_the_learner(course, monkeypatch) -> None:
    monkeypatch.setattr(course, "provider", PracticeProvider("http://127.0.0.1:9"))
    result = run_check("00.1", lambda prompt: "ответ")
    assert "ваш код упал" not in result.message, result.message


# --- the environment ------------------------------------------------------------------

def test_no_redis_server_on_path(monkeypatch, tmp_path) -> None:
    from course_helpers import redis_server

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no redis-server anywhere
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(redis_server, "_started", {})  # not the server another test started
    with pytest.raises(redis_server.RedisUnavailable) as error:
        redis_server.redis_url()
    message = str(error.value)
    assert "apt-get install -y redis-server" in message and "brew install redis" in message
    assert "REDIS_URL" in message and "можно пропустить" in message


def test_stopped_provider_then_start_lesson_again(fresh_session, capsys) -> None:
    course = fresh_session.start_lesson("00")
    old = course.provider
    old.stop()
    with pytest.raises(ProviderError, match="start_lesson"):
        old.stats()
    again = fresh_session.start_lesson("00")  # what the message says to do
    assert again.provider.healthy() and again.provider.url != old.url
    assert litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M).choices[0].message.content


def test_online_mode_without_key_stays_offline_and_says_so(fresh_session, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSE_MODE", "online")
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    course = fresh_session.start_lesson("00")
    banner = capsys.readouterr().out
    assert course.mode == "offline"
    assert "Онлайн-режим не включён" in banner and "OPENROUTER_API_KEY" in banner and "офлайн" in banner, banner
    assert litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M).choices[0].message.content


# --- LiteLLM calls ----------------------------------------------------------------------

def test_typo_in_model_name_lists_available_models(provider) -> None:
    with pytest.raises(litellm.NotFoundError) as error:
        litellm.completion(model="openrouter/openai/gpt-4o-mni", messages=M)
    message = str(error.value)
    assert "Модель 'openai/gpt-4o-mni' не найдена" in message and "openai/gpt-4o-mini" in message, message


@pytest.mark.parametrize("model", ["openruoter/openai/gpt-4o-mini", "gpt4o-mini"])
def test_typo_in_provider_prefix_gets_a_russian_hint(provider, model: str) -> None:
    from course_helpers.session import learner_hint

    with pytest.raises(litellm.BadRequestError) as error:
        litellm.completion(model=model, messages=M)
    hint_text = learner_hint(error.value) or ""
    assert "openrouter/" in hint_text and russian(hint_text), str(error.value)


@pytest.mark.parametrize("status, kind, expected", [(999, "status", "status"), (503, "slow", "Неизвестный вид сбоя")])
def test_fault_with_bad_arguments_is_refused_in_russian(provider, status: int, kind: str, expected: str) -> None:
    with pytest.raises(ValueError, match="Практический провайдер отклонил команду") as error:
        provider.fail("openai/gpt-4o-mini", status, kind=kind)
    assert expected in str(error.value)


def test_fault_for_the_model_name_as_litellm_spells_it(provider) -> None:
    provider.fail("openrouter/openai/gpt-4o-mini", 429, times=1)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M)


def test_fault_for_a_misspelt_model_is_refused(provider) -> None:
    with pytest.raises(ValueError, match="не найдена"):
        provider.fail("openai/gpt-4o-mni", 429, times=1)



def test_a_forgotten_await_is_still_reported(tmp_path) -> None:
    """The course quiets LiteLLM's own noise, but not the learner's mistake: an `acompletion`
    called without `await` must still warn «coroutine ... was never awaited»."""
    import subprocess
    import sys

    code = ("import gc\nfrom course_helpers import start_lesson\nstart_lesson('00', quiet=True)\nimport litellm\n"
            "litellm.completion(model='openrouter/openai/gpt-4o-mini', messages=[{'role': 'user', 'content': 'Привет!'}])\n"
            "pending = litellm.acompletion(model='openrouter/openai/gpt-4o-mini', messages=[])\n"
            "del pending\ngc.collect()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "COURSE_LATENCY_SCALE": "0"})
    assert done.returncode == 0, done.stderr[-1000:]
    assert "coroutine 'acompletion' was never awaited" in done.stderr
    assert "_worker_loop" not in done.stderr  # LiteLLM's own unawaited logger stays hidden
