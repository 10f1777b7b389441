"""End-of-lesson quizzes: 4–8 quick questions, checked offline, explained after each answer.

In a lesson: ``quiz("01")`` shows the questions as widgets; ``answer("01.q2", 3)`` answers
one in code (option number from 1, the option's text, or a number for numeric questions).
Questions live in ``course_helpers/exercises/lessonNN.py`` (:func:`register_question`).
Results go to the progress file and are counted by ``progress()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from course_helpers import progress_store


@dataclass
class Question:
    """One quiz question: options and the index of the right one, or a numeric answer."""

    id: str
    text: str
    explanation: str
    options: list[str] | None = None  # None: the answer is a number
    correct: int | float = 0  # index into options, or the number
    tolerance: float = 0.0  # for numeric answers: |answer - correct| <= tolerance


_REGISTRY: dict[str, Question] = {}


def register_question(question: Question) -> Question:
    """Add a quiz question (called at import of ``exercises/lessonNN.py``)."""
    if question.id in _REGISTRY and _REGISTRY[question.id] is not question:
        raise ValueError(f"question {question.id} registered twice")
    if question.options is not None and not 0 <= int(question.correct) < len(question.options):
        raise ValueError(f"question {question.id}: correct index out of range")
    _REGISTRY[question.id] = question
    return question


def questions(lesson: str | None = None) -> dict[str, Question]:
    """Registered questions (of one lesson), by id, in order."""
    from course_helpers.checks import load_lessons

    load_lessons(lesson)
    items = [(k, v) for k, v in _REGISTRY.items() if lesson is None or k.startswith(f"{lesson}.")]
    return dict(sorted(items, key=lambda kv: (kv[0].split(".q")[0], int(kv[0].split(".q")[1]))))


def _parse(question: Question, given: Any) -> int | float:
    """The learner's answer as an option index or a number; ValueError with a Russian message."""
    if question.options is None:
        try:
            value = float(str(given).replace(",", ".").strip())
        except ValueError:
            raise ValueError(f"Ответ на {question.id} — число, а не {given!r}.") from None
        if math.isnan(value):
            raise ValueError(f"Ответ на {question.id} — число, а не NaN.")
        return value
    if isinstance(given, str) and given in question.options:
        return question.options.index(given)
    if isinstance(given, int) and not isinstance(given, bool) and 1 <= given <= len(question.options):
        return given - 1
    raise ValueError(f"Ответ на {question.id} — номер варианта от 1 до {len(question.options)} "
                     "или его текст.")


def judge(question_id: str, given: Any) -> tuple[bool, str]:
    """Is the answer right, and the Russian feedback with the explanation (records progress)."""
    question = questions(question_id.split(".")[0]).get(question_id)
    if question is None:
        raise KeyError(f"Нет вопроса {question_id!r}.")
    value = _parse(question, given)
    if question.options is None:
        right = abs(value - float(question.correct)) <= question.tolerance
        expected = f"{question.correct:g}"
    else:
        right = value == question.correct
        expected = f"«{question.options[int(question.correct)]}»"

    def store(entry: dict[str, Any]) -> None:
        entry["attempts"] = entry.get("attempts", 0) + 1
        entry.setdefault("first_correct", right)
        entry["correct"] = right

    progress_store.update("quiz", question_id, store)
    verdict = "✅ верно." if right else f"❌ неверно. Правильный ответ: {expected}."
    return right, f"{verdict} {question.explanation}"


def answer(question_id: str, given: Any) -> None:
    """Answer one quiz question in code and print the verdict and the explanation."""
    try:
        _, feedback = judge(question_id, given)
    except (KeyError, ValueError) as e:
        print(f"⚠️ {e.args[0]}")
        return
    print(f"Вопрос {question_id}: {feedback}")


def quiz(lesson: str) -> Any:
    """The lesson's quiz as widgets: each question with its own «Ответить» button and feedback."""
    import ipywidgets as widgets

    lesson = str(lesson).zfill(2)
    blocks = []
    for number, (question_id, question) in enumerate(questions(lesson).items(), start=1):
        if question.options is None:
            field = widgets.Text(placeholder="число", layout=widgets.Layout(width="12em"))
        else:
            field = widgets.RadioButtons(options=question.options, value=None,
                                         layout=widgets.Layout(width="max-content"))
        button = widgets.Button(description="Ответить")
        feedback = widgets.HTML()

        def on_click(_: Any, question_id: str = question_id, field: Any = field, feedback: Any = feedback) -> None:
            if field.value in (None, ""):
                feedback.value = "<i>Сначала выберите ответ.</i>"
                return
            try:
                right, text = judge(question_id, field.value)
            except ValueError as e:
                feedback.value = f"<span>⚠️ {e.args[0]}</span>"
                return
            color = "#1a7f37" if right else "#cf222e"
            feedback.value = f"<div style='color:{color}'>{text}</div>"

        button.on_click(on_click)
        blocks.append(widgets.VBox([widgets.HTML(f"<b>{number}. {question.text}</b>"), field, button, feedback]))
    if not blocks:
        return widgets.HTML(f"В уроке {lesson} пока нет вопросов.")
    return widgets.VBox(blocks)


def summary(lesson: str | None = None) -> tuple[int, int, int]:
    """(questions, answered, right at the first attempt)."""
    known = questions(lesson)
    stored = progress_store.load()["quiz"]
    answered = [stored[q] for q in known if q in stored]
    return len(known), len(answered), sum(1 for entry in answered if entry.get("first_correct"))
