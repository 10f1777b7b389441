"""Predict → run → explain: the learner commits a prediction before an experiment (every lesson).

In a lesson::

    predict("01.p1")                 # a question with options; a click records the prediction
    ...the experiment...
    reveal("01.p1", served() - b)    # what the run observed, the learner's prediction, why

The question, its options and the explanation live in the lesson's module
(``course_helpers/exercises/lessonNN.py``, :func:`register_prediction`), so the stored
notebook shows no explanation above the experiment. The correct option is not stored at
all: :func:`reveal` derives it from what the run itself observed. Without widgets (Colab,
grading, tests) ``predict("01.p1", "1")`` records the choice directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from course_helpers import progress_store


@dataclass
class Prediction:
    """One prediction point: a question, its options, and the explanation shown after the run.

    ``judge`` turns what the run observed into the text of an option (default ``str``).
    """

    id: str
    question: str
    options: list[str]
    explanation: str
    judge: Callable[[Any], str] = str


_REGISTRY: dict[str, Prediction] = {}


def register_prediction(prediction: Prediction) -> Prediction:
    """Add a prediction point (called at import of ``exercises/lessonNN.py``)."""
    if prediction.id in _REGISTRY and _REGISTRY[prediction.id] is not prediction:
        raise ValueError(f"prediction {prediction.id} registered twice")
    if len(set(prediction.options)) != len(prediction.options) or len(prediction.options) < 2:
        raise ValueError(f"prediction {prediction.id}: at least two distinct options")
    _REGISTRY[prediction.id] = prediction
    return prediction


def predictions(lesson: str | None = None) -> dict[str, Prediction]:
    """Registered prediction points (of one lesson), by id."""
    from course_helpers.checks import load_lessons

    load_lessons(lesson)
    return {k: v for k, v in sorted(_REGISTRY.items()) if lesson is None or k.startswith(f"{lesson}.")}


def get_prediction(prediction_id: str) -> Prediction:
    """Look up a prediction point; a Russian KeyError lists the ids of its lesson."""
    lesson = str(prediction_id).split(".")[0]
    known = predictions(lesson)
    if prediction_id not in known:
        raise KeyError(f"Нет прогноза {prediction_id!r}. В уроке {lesson}: {', '.join(known) or 'нет прогнозов'}.")
    return known[prediction_id]


def record_choice(prediction_id: str, choice: str) -> None:
    """Store the learner's prediction (before the run); a later choice replaces it."""
    prediction = get_prediction(prediction_id)
    if choice not in prediction.options:
        raise ValueError(f"Вариант {choice!r} не из списка: {prediction.options}.")
    progress_store.update("predictions", prediction_id, lambda entry: entry.update(choice=choice))


def _choice(prediction_id: str) -> str | None:
    return progress_store.load()["predictions"].get(prediction_id, {}).get("choice")


def predict(prediction_id: str, choice: str | None = None) -> Any:
    """Show the prediction widget (a click records the choice), or record ``choice`` directly."""
    prediction = get_prediction(prediction_id)
    if choice is not None:
        record_choice(prediction_id, choice)
        print(f"Прогноз {prediction_id} записан: «{choice}».")
        return None
    import ipywidgets as widgets

    current = _choice(prediction_id)
    buttons = widgets.ToggleButtons(options=prediction.options, value=current,
                                    style={"button_width": "auto"})
    status = widgets.HTML(_status(current))

    def on_change(change: dict[str, Any]) -> None:
        if change["new"] is not None:
            record_choice(prediction_id, change["new"])
            status.value = _status(change["new"])

    buttons.observe(on_change, names="value")
    return widgets.VBox([widgets.HTML(f"<b>Прогноз {prediction_id}.</b> {prediction.question}"), buttons, status])


def _status(choice: str | None) -> str:
    if choice is None:
        return "<i>Выберите вариант — прогноз запишется сразу. Потом выполните ячейку с опытом.</i>"
    return f"<i>Прогноз записан: «{choice}». Теперь выполните ячейку с опытом.</i>"


def reveal(prediction_id: str, observed: Any) -> None:
    """After the experiment: what the run observed, the learner's prediction, and why."""
    prediction = get_prediction(prediction_id)
    outcome = prediction.judge(observed)
    choice = _choice(prediction_id)
    print(f"Результат опыта: {outcome}")
    if choice is None:
        print(f"Ваш прогноз: не сделан. В следующий раз выберите вариант в ячейке predict({prediction_id!r}) "
              "до запуска опыта.")
    else:
        right = choice == outcome

        def settle(entry: dict[str, Any]) -> None:
            entry.update(outcome=outcome, correct=right)
            entry.setdefault("first_correct", right)

        progress_store.update("predictions", prediction_id, settle)
        print(f"Ваш прогноз: «{choice}» — {'✅ верно' if right else '❌ неверно'}.")
    print(f"Почему так: {prediction.explanation}")


def summary(lesson: str | None = None) -> tuple[int, int, int]:
    """(prediction points, predictions made and revealed, right at the first reveal)."""
    points = predictions(lesson)
    stored = progress_store.load()["predictions"]
    revealed = [stored[p] for p in points if "first_correct" in stored.get(p, {})]
    return len(points), len(revealed), sum(1 for entry in revealed if entry["first_correct"])
