"""Exercise checking for every lesson: ``check(id, answer)``, ``hint(id)``, ``solution(id)``.

Exercises are defined per lesson in ``course_helpers/exercises/lessonNN.py`` with
:func:`register`. A checker judges the learner's answer by its *behaviour* (it calls the
learner's function and looks at the responses and at the practice provider's stats),
never by reading source text. ``check`` prints Russian feedback and never raises.
Progress is kept in the course's state folder (git-ignored, :mod:`progress_store`), shown by
``progress()`` together with the lesson's quiz and predictions.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from course_helpers import progress_store
from course_helpers.kernel import is_learner_frame
from course_helpers.provider import PracticeProvider, ProviderError
from course_helpers.session import current_course, learner_hint, practice_env


class CheckFailed(Exception):
    """Raised by a checker: the answer is wrong; the message (Russian) says what is wrong."""


class NotAttempted(Exception):
    """Raised by a checker (or by the learner's stub): nothing to check yet."""


@dataclass
class Exercise:
    """One exercise: its checker, hints, reference solution and known-wrong answers.

    ``check(answer)`` returns an optional Russian success detail or raises CheckFailed.
    ``reference`` is the reference answer (usually a function named ``answer_name``, the
    name the lesson asks for); ``imports`` are printed above its source by ``solution``,
    so the printed solution runs as-is when pasted after the lesson's setup cell.
    ``wrong_answers`` are answers the checker must reject (the tests run both).
    """

    id: str
    title: str
    check: Callable[[Any], str | None]
    reference: Any
    hints: list[str]
    wrong_answers: list[Any] = field(default_factory=list)
    answer_name: str | None = None
    imports: str = ""


@dataclass
class Result:
    """Outcome of a check: ``passed``, ``failed``, ``not_attempted`` or ``error``."""

    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


_REGISTRY: dict[str, Exercise] = {}
_loaded = False


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry (called at import of ``exercises/lessonNN.py``)."""
    if exercise.id in _REGISTRY and _REGISTRY[exercise.id] is not exercise:
        raise ValueError(f"exercise {exercise.id} registered twice")
    _REGISTRY[exercise.id] = exercise
    return exercise


def exercises() -> dict[str, Exercise]:
    """Every exercise of the course, by id (imports all lesson modules once)."""
    global _loaded
    if not _loaded:
        from course_helpers import exercises as package

        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
        _loaded = True
    return dict(sorted(_REGISTRY.items()))


def _load_lesson(lesson: str) -> None:
    """Import one lesson's module only, so a problem in another lesson cannot break this one."""
    if re.fullmatch(r"\d\d", lesson):
        try:
            importlib.import_module(f"course_helpers.exercises.lesson{lesson}")
        except ModuleNotFoundError as e:
            if e.name != f"course_helpers.exercises.lesson{lesson}":
                raise


def load_lessons(lesson: str | None = None) -> None:
    """Import one lesson's module (exercises, quiz, predictions), or all of them."""
    if lesson is None:
        exercises()
    else:
        _load_lesson(str(lesson).zfill(2))


def get_exercise(exercise_id: str) -> Exercise:
    """Look up an exercise; a Russian KeyError message lists the ids that exist."""
    _load_lesson(str(exercise_id).split(".")[0])
    if exercise_id not in _REGISTRY:
        known = exercises()
        raise KeyError(f"Нет задания {exercise_id!r}. Есть: {', '.join(known)}.")
    return _REGISTRY[exercise_id]


def provider() -> PracticeProvider:
    """Checker helper: the practice provider of this kernel (CheckFailed if not started)."""
    course = current_course()
    if course is None:
        raise CheckFailed("сначала выполните ячейку с start_lesson(...) в начале урока.")
    return course.provider


def expect(condition: bool, message: str) -> None:
    """Checker helper: raise CheckFailed(message) unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def run_check(exercise_id: str, answer: Any) -> Result:
    """Judge an answer without printing (tests use this; ``check`` prints it)."""
    try:
        exercise = get_exercise(exercise_id)
    except KeyError as e:
        return Result("error", str(e.args[0]))
    if answer is None or answer is Ellipsis:
        return Result("not_attempted", "замените `...` своим решением и запустите ячейку снова.")
    try:
        if current_course() is None:
            raise CheckFailed("сначала выполните ячейку с start_lesson(...) в начале урока.")
        current_course().provider.reset()  # every check starts from a clean provider
        with practice_env():
            detail = exercise.check(answer)
    except (NotAttempted, NotImplementedError) as e:
        return Result("not_attempted", str(e) or "замените заглушку `raise NotImplementedError` своим решением "
                                               "и запустите ячейку снова.")
    except CheckFailed as e:
        return Result("failed", str(e))
    except ProviderError as e:  # not the learner's fault: the practice provider is gone
        return Result("error", str(e))
    except Exception as e:  # the learner's code raised: show where (their line, not LiteLLM's)
        frames = traceback.extract_tb(e.__traceback__)
        frame = next((f for f in reversed(frames) if is_learner_frame(f.filename)), frames[-1])
        hint = learner_hint(e)
        return Result("failed", f"ваш код упал с ошибкой {type(e).__name__}: {e} (строка {frame.lineno}, "
                                f"{frame.name}). Исправьте и запустите снова.{' ' + hint if hint else ''}")
    return Result("passed", detail or "всё верно.")


def _save_progress(exercise_id: str, result: Result) -> None:
    """Record a check: the last verdict and its message (what the grading report shows); a pass or a
    failure counts as an attempt, «not attempted yet» and «error» only record that the check ran."""
    def change(entry: dict[str, Any]) -> None:
        attempted = result.status in ("passed", "failed")
        entry["attempts"] = entry.get("attempts", 0) + attempted
        entry["passed"] = entry.get("passed", False) or result.passed
        entry["last"] = result.status
        entry["message"] = result.message

    progress_store.update("exercises", exercise_id, change)


VERDICTS = {"passed": "✅ верно", "failed": "❌ неверно", "not_attempted": "⏳ ещё не решено", "error": "⚠️ ошибка"}


def check(exercise_id: str, answer: Any = ...) -> None:
    """Check the learner's answer and print Russian feedback; never raises (all lessons).

    Use :func:`run_check` to get the result as a value."""
    result = run_check(exercise_id, answer)
    title = _REGISTRY[exercise_id].title if exercise_id in _REGISTRY else ""
    print(f"{VERDICTS[result.status]} · Задание {exercise_id}{' «' + title + '»' if title else ''}: {result.message}")
    if result.status == "failed":
        print(f"   Подсказка: hint({exercise_id!r}); решение: solution({exercise_id!r}).")
    if exercise_id in _REGISTRY:
        _save_progress(exercise_id, result)


def passed(exercise_id: str) -> bool:
    """True if the *last* ``check(exercise_id, ...)`` accepted the answer: a lesson cell that runs the
    learner's own code waits for it (lesson 07 runs the learner's measurement). The last check, not
    any earlier one: a notebook reopened with the stub back in place must not call the stub."""
    return progress_store.load()["exercises"].get(exercise_id, {}).get("last") == "passed"


def hint(exercise_id: str, level: int = 1) -> None:
    """Print hint number ``level`` (1 = gentle, higher = more concrete)."""
    try:
        exercise = get_exercise(exercise_id)
    except KeyError as e:
        print(f"⚠️ {e.args[0]}")
        return
    level = max(1, min(level, len(exercise.hints)))
    more = f" Ещё подсказка: hint({exercise_id!r}, {level + 1})." if level < len(exercise.hints) else ""
    print(f"💡 Подсказка {level} из {len(exercise.hints)} к заданию {exercise_id}: {exercise.hints[level - 1]}{more}")


def solution_text(exercise_id: str) -> str:
    """The reference solution as runnable code: its imports, then its source."""
    exercise = get_exercise(exercise_id)
    ref = exercise.reference
    source = textwrap.dedent(inspect.getsource(ref)) if callable(ref) else f"{exercise.answer_name or 'answer'} = {ref!r}\n"
    return (exercise.imports.strip() + "\n\n\n" if exercise.imports.strip() else "") + source


def solution(exercise_id: str) -> None:
    """Print the reference solution: code that runs when pasted after the lesson's setup cell."""
    try:
        exercise = get_exercise(exercise_id)
    except KeyError as e:
        print(f"⚠️ {e.args[0]}")
        return
    name = exercise.answer_name
    usage = f"\n# проверка: check({exercise_id!r}, {name})" if name else ""
    print(f"Эталонное решение задания {exercise_id}:\n\n{solution_text(exercise_id)}{usage}")


def progress(lesson: str | None = None) -> None:
    """Print each exercise's state (решено / есть попытки / ещё не решено), then the quiz
    score and the predictions of the lesson (or of the whole course)."""
    from course_helpers import predictions, quizzes as quiz

    data = progress_store.load()["exercises"]
    load_lessons(lesson)
    registry = exercises() if lesson is None else dict(sorted(_REGISTRY.items()))
    for exercise_id, exercise in registry.items():
        if lesson is not None and not exercise_id.startswith(f"{lesson}."):
            continue
        entry = data.get(exercise_id)
        state = ("решено" if entry and entry.get("passed") else
                 f"попыток: {entry['attempts']}" if entry and entry.get("attempts") else "ещё не решено")
        print(f"  {'✅' if state == 'решено' else '·'} {exercise_id} {exercise.title}: {state}")
    total, answered, right = quiz.summary(lesson)
    if total:
        print(f"  Тест: отвечено {answered} из {total}, верно с первой попытки — {right}.")
    points, made, guessed = predictions.summary(lesson)
    if points:
        print(f"  Прогнозы: сделано {made} из {points}, верных — {guessed}.")
