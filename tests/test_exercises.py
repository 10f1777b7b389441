"""Every exercise's checker rejects its wrong answers and greets a stub kindly; hints and solutions print.

That each checker accepts its reference solution is checked where a learner meets it: the reference's source
(what ``solution(id)`` prints), pasted into a real kernel after the lesson's setup cell, must pass ``check``
(``test_solutions_paste.py``); the same reference run in this process here as well cost ~50 s a run for no
extra assurance. Alternative right answers: ``test_checkers_NN.py``."""

from __future__ import annotations

import pytest

from course_helpers.checks import exercises, run_check

EXERCISES = exercises()


def test_every_lesson_has_exercises() -> None:
    lessons = {exercise_id.split(".")[0] for exercise_id in EXERCISES}
    assert "00" in lessons


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_wrong_answers_fail(course, exercise_id: str) -> None:
    wrong = EXERCISES[exercise_id].wrong_answers
    assert wrong, f"{exercise_id}: no wrong answers to prove the checker can fail"
    for answer in wrong:
        result = run_check(exercise_id, answer)
        assert result.status == "failed", (exercise_id, answer, result)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_not_attempted_is_friendly(course, exercise_id: str, capsys) -> None:
    from course_helpers.checks import check

    def stub(*args, **kwargs):
        raise NotImplementedError

    for answer in (..., stub):
        result = run_check(exercise_id, answer)
        assert result.status == "not_attempted", (exercise_id, result)
        assert "замените" in result.message, result.message
        check(exercise_id, answer)
        assert capsys.readouterr().out.startswith(f"⏳ ещё не решено · Задание {exercise_id}")


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_hints_and_solution_print(capsys, exercise_id: str) -> None:
    from course_helpers.checks import hint, solution

    hint(exercise_id)
    solution(exercise_id)
    out = capsys.readouterr().out
    assert "Подсказка 1" in out and "Эталонное решение" in out


def test_unknown_exercise_lists_known_ids() -> None:
    result = run_check("99.1", lambda: None)
    assert result.status == "error" and "Нет задания '99.1'" in result.message and "00.1" in result.message
