"""Exercise checking for every lesson: ``check(id, answer)``, ``hint(id)``, ``solution(id)``.

Exercises are defined per lesson in ``course_helpers/exercises/lessonNN.py`` with
:func:`register`. A checker judges the learner's answer by its *behaviour* (it calls the
learner's function and looks at the responses and at the practice provider's stats),
never by reading source text. ``check`` prints Russian feedback and never raises.
Progress is kept in the course's state folder (git-ignored), shown by ``progress()``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import textwrap
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from course_helpers.provider import PracticeProvider, ProviderError
from course_helpers.session import current_course, practice_env, state_dir


class CheckFailed(Exception):
    """Raised by a checker: the answer is wrong; the message (Russian) says what is wrong."""


class NotAttempted(Exception):
    """Raised by a checker (or by the learner's stub): nothing to check yet."""


@dataclass
class Exercise:
    """One exercise: its checker, hints, reference solution and known-wrong answers.

    ``check(answer)`` returns an optional Russian success detail or raises CheckFailed.
    ``reference`` is the reference answer (usually a function); ``wrong_answers`` are
    answers the checker must reject (the tests run both).
    """

    id: str
    title: str
    check: Callable[[Any], str | None]
    reference: Any
    hints: list[str]
    wrong_answers: list[Any] = field(default_factory=list)


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
    """Import one lesson's exercises only, so a problem in another lesson cannot break this one."""
    if re.fullmatch(r"\d\d", lesson) and f"{lesson}." not in "".join(_REGISTRY):
        try:
            importlib.import_module(f"course_helpers.exercises.lesson{lesson}")
        except ModuleNotFoundError:
            pass


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
        return Result("not_attempted", "ещё не решено: замените `...` своим решением и запустите ячейку снова.")
    try:
        if current_course() is None:
            raise CheckFailed("сначала выполните ячейку с start_lesson(...) в начале урока.")
        current_course().provider.reset()  # every check starts from a clean provider
        with practice_env():
            detail = exercise.check(answer)
    except (NotAttempted, NotImplementedError) as e:
        return Result("not_attempted", f"ещё не решено{': ' + str(e) if str(e) else '.'}")
    except CheckFailed as e:
        return Result("failed", str(e))
    except ProviderError as e:  # not the learner's fault: the practice provider is gone
        return Result("error", str(e))
    except Exception as e:  # the learner's code raised: show where, not a raw traceback
        frame = traceback.extract_tb(e.__traceback__)[-1]
        return Result("failed", f"ваш код упал с ошибкой {type(e).__name__}: {e} (строка {frame.lineno}, "
                                f"{frame.name}). Исправьте и запустите снова.")
    return Result("passed", detail or "всё верно.")


def _progress_path():
    return state_dir() / "progress.json"


def _load_progress() -> dict[str, Any]:
    try:
        return json.loads(_progress_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _save_progress(exercise_id: str, result: Result) -> None:
    data = _load_progress()
    entry = data.setdefault(exercise_id, {"attempts": 0, "passed": False})
    entry["attempts"] += 1
    entry["passed"] = entry["passed"] or result.passed
    entry["last"] = result.status
    entry["at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _progress_path().write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def check(exercise_id: str, answer: Any = ...) -> None:
    """Check the learner's answer and print Russian feedback; never raises (all lessons).

    Use :func:`run_check` to get the result as a value."""
    result = run_check(exercise_id, answer)
    title = _REGISTRY[exercise_id].title if exercise_id in _REGISTRY else ""
    icon = {"passed": "✅", "failed": "❌", "not_attempted": "⏳", "error": "⚠️"}[result.status]
    print(f"{icon} Задание {exercise_id}{' «' + title + '»' if title else ''}: {result.message}")
    if result.status == "failed":
        print(f"   Подсказка: hint({exercise_id!r}); решение: solution({exercise_id!r}).")
    if result.status in ("passed", "failed"):
        _save_progress(exercise_id, result)


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


def solution(exercise_id: str) -> None:
    """Print the reference solution's source code."""
    try:
        exercise = get_exercise(exercise_id)
    except KeyError as e:
        print(f"⚠️ {e.args[0]}")
        return
    ref = exercise.reference
    source = inspect.getsource(ref) if callable(ref) else repr(ref)
    print(f"Эталонное решение задания {exercise_id}:\n\n{textwrap.dedent(source)}")


def progress(lesson: str | None = None) -> None:
    """Print each exercise's state: решено / есть попытки / ещё не решено."""
    data = _load_progress()
    if lesson is not None:
        _load_lesson(lesson)
    registry = dict(sorted(_REGISTRY.items())) if lesson is not None else exercises()
    for exercise_id, exercise in registry.items():
        if lesson is not None and not exercise_id.startswith(f"{lesson}."):
            continue
        entry = data.get(exercise_id)
        state = ("решено" if entry and entry["passed"] else
                 f"попыток: {entry['attempts']}" if entry else "ещё не решено")
        print(f"  {'✅' if state == 'решено' else '·'} {exercise_id} {exercise.title}: {state}")
