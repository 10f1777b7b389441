"""The learner's progress file (exercises, quiz, predictions): never lost, never silently reset,
and the prediction and quiz machinery that writes into it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from course_helpers import predictions, progress_store, quizzes as quiz
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    return tmp_path


def test_entries_merge_and_the_first_layout_is_read(own_state) -> None:
    (own_state / "progress.json").write_text(json.dumps({"00.1": {"attempts": 2, "passed": True}}))
    progress_store.update("quiz", "00.q1", lambda e: e.update(correct=True))
    data = progress_store.load()
    assert data["exercises"]["00.1"]["passed"] is True and data["quiz"]["00.q1"]["correct"] is True
    assert json.loads((own_state / "progress.json").read_text())["version"] == 2


@pytest.mark.parametrize("content", [b"[]", b"null", b"\xff\xfe bad utf-8", b'{"00.1": {"attempts": 1',
                                     b'{"version": 2, "quiz": []}'])
def test_a_corrupt_file_is_kept_aside_and_reported_never_raised(own_state, capsys, content) -> None:
    (own_state / "progress.json").write_bytes(content)
    progress_store.update("exercises", "00.1", lambda e: e.update(passed=True))
    out = capsys.readouterr().out
    backups = list(own_state.glob("progress.corrupt-*.json"))
    assert len(backups) == 1 and backups[0].read_bytes() == content
    assert "не читается" in out and backups[0].name in out
    assert progress_store.load()["exercises"]["00.1"]["passed"] is True


def test_two_processes_writing_at_once_lose_nothing(own_state) -> None:
    """The bug this replaces: two kernels checking at once kept 0 of 16 earlier results."""
    code = textwrap.dedent("""
        import sys
        from course_helpers import progress_store
        who = sys.argv[1]
        for i in range(40):
            progress_store.update("exercises", f"{who}.{i}", lambda e: e.update(passed=True))
    """)
    env = {**os.environ, "COURSE_STATE_DIR": str(own_state)}
    procs = [subprocess.Popen([sys.executable, "-c", code, who], env=env) for who in ("a", "b", "c")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert len(progress_store.load()["exercises"]) == 120
    assert not list(own_state.glob(".progress-*"))  # no temporary files left behind


def test_check_records_attempts_through_the_store(course, own_state) -> None:
    from course_helpers.checks import check

    check("00.1", lambda prompt: "не то")
    check("00.1", lambda prompt: "снова не то")
    entry = progress_store.load()["exercises"]["00.1"]
    assert entry["attempts"] == 2 and entry["passed"] is False and entry["last"] == "failed"


def test_passed_follows_the_last_check_not_any_earlier_one(course, own_state) -> None:
    """Lesson 07 runs the learner's measurement only if passed(): a stub back in place (the notebook
    reopened from the course, the browser suite after another test solved 07.6) must not be called."""
    from course_helpers.checks import check, passed

    def first_call(prompt: str) -> str:
        import litellm
        return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": prompt}]).choices[0].message.content

    def stub(prompt: str) -> str:
        raise NotImplementedError

    assert not passed("00.1")
    check("00.1", first_call)
    assert passed("00.1")
    check("00.1", stub)
    assert not passed("00.1") and progress_store.load()["exercises"]["00.1"]["passed"] is True


POINT = register_prediction(Prediction(
    id="98.p1", question="Сколько запросов дойдёт до провайдера?", options=["0", "1", "4"],
    explanation="первый вызов — промах, остальные — попадания.",
))
QUESTIONS = [
    register_question(Question(id="98.q1", text="Что вернёт промах в cache_hit?", options=["False", "None", "0"],
                               correct=1, explanation="у промаха ключа нет, .get() даёт None.")),
    register_question(Question(id="98.q2", text="Сколько записей держит LOCAL?", correct=200, tolerance=0,
                               explanation="max_size_in_memory = 200.")),
]


def test_prediction_by_widget_then_reveal_judges_by_the_observed_result(own_state, capsys) -> None:
    box = predictions.predict("98.p1")
    buttons = box.children[1]
    assert buttons.value is None and list(buttons.options) == ["0", "1", "4"]
    assert "промах" not in str(box)  # the explanation is not shown before the run
    buttons.value = "4"  # the learner clicks
    assert "записан: «4»" in box.children[2].value
    predictions.reveal("98.p1", 1)
    out = capsys.readouterr().out
    assert "Результат опыта: 1" in out and "«4» — ❌ неверно" in out and "промах" in out
    predictions.predict("98.p1", "1")  # changing one's mind after the reveal does not rewrite history
    predictions.reveal("98.p1", 1)
    assert "«1» — ✅ верно" in capsys.readouterr().out
    assert predictions.summary("98") == (1, 1, 0)


def test_reveal_without_a_prediction_still_explains(own_state, capsys) -> None:
    predictions.reveal("98.p1", 1)
    out = capsys.readouterr().out
    assert "не сделан" in out and "Почему так" in out
    assert predictions.summary("98") == (1, 0, 0)


def test_prediction_rejects_an_option_that_does_not_exist(own_state) -> None:
    with pytest.raises(ValueError, match="не из списка"):
        predictions.predict("98.p1", "2")
    with pytest.raises(KeyError, match="Нет прогноза"):
        predictions.predict("98.p9")


def test_quiz_answers_by_number_text_or_value_with_explanations(own_state, capsys) -> None:
    quiz.answer("98.q1", 1)  # "False": wrong
    quiz.answer("98.q1", "None")
    quiz.answer("98.q2", "200")
    quiz.answer("98.q2", "двести")
    out = capsys.readouterr().out.splitlines()
    assert "❌ неверно. Правильный ответ: «None»" in out[0] and ".get() даёт None" in out[0]
    assert "✅ верно" in out[1] and "✅ верно" in out[2]
    assert out[3].startswith("⚠️") and "число" in out[3]
    assert quiz.summary("98") == (2, 2, 1)  # q1 wrong at the first attempt, q2 right


def test_quiz_widget_click_answers_and_explains(own_state) -> None:
    box = quiz.quiz("98")
    first = box.children[0]
    radio, button, feedback = first.children[1:]
    button.click()
    assert "Сначала выберите" in feedback.value
    radio.value = "None"
    button.click()
    assert "✅ верно" in feedback.value and ".get() даёт None" in feedback.value
    text, button2, feedback2 = box.children[1].children[1:]
    text.value = "150"
    button2.click()
    assert "❌ неверно" in feedback2.value and "200" in feedback2.value


def test_progress_counts_quiz_and_predictions(course, own_state, capsys) -> None:
    from course_helpers.checks import progress

    quiz.answer("98.q2", 200)
    predictions.predict("98.p1", "1")
    predictions.reveal("98.p1", 1)
    capsys.readouterr()
    progress("98")
    out = capsys.readouterr().out
    assert "Тест: отвечено 1 из 2, верно с первой попытки — 1." in out
    assert "Прогнозы: сделано 1 из 1, верных — 1." in out
