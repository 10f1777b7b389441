"""Checkers that are fair both ways: the shared shape of ``tests/test_checkers_NN.py``.

Each lesson's file lists, per exercise, answers written differently from the reference that
must pass (``Case(answer)``), plausible wrong answers a learner would write and gaming
attempts that must fail (``Case(answer, "words the failure message must contain")``), and
hands them to :func:`cases`; the tests then run each case through ``run_check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from course_helpers.checks import run_check


@dataclass
class Case:
    """One answer for a checker; ``says``: a fragment the failure message must contain."""

    answer: Any
    says: str = ""
    why: str = ""  # what this answer does (shown in the test id)


def cases(kind: str, table: dict[str, list[Case]]) -> list[Any]:
    """pytest params ``(exercise_id, kind, case)`` with readable ids."""
    return [pytest.param(exercise_id, kind, case, id=f"{exercise_id}-{kind}-{i}-{case.why or 'case'}")
            for exercise_id, items in table.items() for i, case in enumerate(items)]


def judge(exercise_id: str, kind: str, case: Case) -> None:
    """Assert the checker's verdict for one case: ``right`` passes; ``wrong``/``gaming`` fail
    with a message that names the mistake."""
    result = run_check(exercise_id, case.answer)
    if kind == "right":
        assert result.status == "passed", f"{exercise_id} rejected a correct answer ({case.why}): {result.message}"
        return
    assert result.status == "failed", f"{exercise_id} accepted a {kind} answer ({case.why}): {result.message}"
    assert case.says.lower() in result.message.lower(), \
        f"{exercise_id}: the message for «{case.why}» does not name the mistake ({case.says!r}): {result.message}"


def assert_counts(right: dict[str, list[Case]], wrong: dict[str, list[Case]], gaming: dict[str, list[Case]],
                  lesson: str) -> None:
    """Every exercise of the lesson has ≥ 2 alternative correct answers and ≥ 3 wrong ones."""
    from course_helpers.checks import exercises

    for exercise_id in (e for e in exercises() if e.startswith(f"{lesson}.")):
        assert len(right.get(exercise_id, [])) >= 2, f"{exercise_id}: fewer than 2 alternative correct answers"
        assert len(wrong.get(exercise_id, [])) >= 3, f"{exercise_id}: fewer than 3 plausible wrong answers"
        assert all(c.says for c in wrong.get(exercise_id, []) + gaming.get(exercise_id, [])), \
            f"{exercise_id}: a wrong answer without the words its message must contain"
