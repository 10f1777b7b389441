"""Lesson 03 («Резервные модели»): the batch chart and the panel «симулятор аварий».

* :func:`summarize` turns a batch of fallback calls (who served each request, from
  ``response.model``) and the practice provider's log into a :class:`Batch`;
* :func:`draw_batch` draws it: a timeline (which model served each request, which were
  tried and failed) and per-model bars of served / failed requests at the provider. The
  notebook uses it with ``plt.figure()``, the panel with a PNG in an ``Image`` widget;
* :class:`CrashSimulator` is the panel: a failure probability per model, a batch of
  ``litellm.completion(..., fallbacks=[...])`` calls, the chart and a table.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import litellm
from matplotlib.figure import Figure

from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider
from course_helpers.session import current_course, practice_env

CHAIN = ["openrouter/openai/gpt-4o", "openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o-mini"]
FAILED = "все отказали"
STATUSES = {"503 — сервис недоступен": 503, "429 — лимит запросов": 429, "500 — ошибка сервера": 500}
PROMPT = "Симулятор аварий: запрос №{n}"


def model_id(model: str) -> str:
    """Provider id of a LiteLLM model string (``openrouter/openai/gpt-4o`` -> ``openai/gpt-4o``)."""
    return model.removeprefix("openrouter/")


@dataclass
class Batch:
    """A batch of requests sent with fallbacks: who served each one and what the provider saw."""

    models: list[str]  # provider ids, in fallback order
    served: list[str | None]  # per request: provider id of the serving model, None if all failed
    tried: list[list[tuple[str, Any]]]  # per request: (provider id, status) of every attempt, in order

    def served_count(self, model: str | None) -> int:
        return sum(1 for s in self.served if s == model)

    def failed_count(self, model: str) -> int:
        """Failed attempts of ``model`` at the provider (every status other than 200)."""
        return sum(1 for attempts in self.tried for m, status in attempts if m == model and status != 200)

    def rows(self) -> list[list[Any]]:
        """Table rows: model, served, failed attempts, requests at the provider."""
        rows = [[m, self.served_count(m), self.failed_count(m), self.served_count(m) + self.failed_count(m)]
                for m in self.models]
        return rows + [[FAILED, self.served_count(None), "", ""]]


def summarize(models: list[str], served: list[str | None], log: list[dict[str, Any]]) -> Batch:
    """Split the provider's log into the attempts of each request of a sequential batch.

    A request ends with the first 200 or after every model of the chain failed; the log
    must hold only this batch (reset the provider before it).
    """
    ids = [model_id(m) for m in models]
    tried: list[list[tuple[str, Any]]] = []
    current: list[tuple[str, Any]] = []
    for entry in log:
        current.append((entry["model"], entry["status"]))
        if entry["status"] == 200 or len(current) == len(ids):
            tried.append(current)
            current = []
    served_ids = [model_id(s) if s else None for s in served]
    if len(tried) != len(served_ids):
        raise ValueError(f"в логе провайдера {len(tried)} запросов серии, а ответов {len(served_ids)}: "
                         "сбросьте провайдер (course.provider.reset()) перед серией.")
    return Batch(ids, served_ids, tried)


def draw_batch(fig: Figure, batch: Batch) -> Figure:
    """Timeline (left) and per-model served / failed bars (right) of a batch."""
    timeline, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.4]})
    rows = [*batch.models, FAILED]
    y = {name: len(rows) - 1 - i for i, name in enumerate(rows)}
    for n, (attempts, served) in enumerate(zip(batch.tried, batch.served), start=1):
        failed = [y[m] for m, status in attempts if status != 200 and m in y]
        timeline.scatter([n] * len(failed), failed, marker="x", color="#cf222e", s=30, zorder=3)
        timeline.scatter([n], [y[served] if served else y[FAILED]], marker="o", s=40, zorder=3,
                         color="#1a7f37" if served else "#57606a")
    timeline.set_yticks(list(y.values()), list(y))
    timeline.set_ylim(-0.6, len(rows) - 0.4)
    timeline.set_xlabel("номер запроса")
    timeline.set_title("кто ответил (●) и кто отказал (×)")
    timeline.grid(axis="x", alpha=0.3)
    served = [batch.served_count(m) for m in batch.models]
    failed = [batch.failed_count(m) for m in batch.models]
    ys = [y[m] for m in batch.models]
    bars.barh(ys, served, color="#1a7f37", label="ответила")
    bars.barh(ys, failed, left=served, color="#cf222e", label="отказала")
    bars.set_yticks(ys, [m.split("/")[-1] for m in batch.models])
    bars.set_ylim(-0.6, len(rows) - 0.4)
    bars.set_xlabel("запросов у провайдера")
    bars.set_title("статистика провайдера")
    bars.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


class CrashSimulator:
    """«Симулятор аварий» (lesson 03): failure probability per model → a batch through
    ``litellm.completion(..., fallbacks=[...])`` → who served each request.

    Every run resets the practice provider first (its faults are seeded, so the same
    sliders give the same picture), then arms ``provider.fail(model, status, probability=p)``.
    The batch runs without simulated latency (who served matters here, not how fast); the
    course's latency scale (``COURSE_LATENCY_SCALE``) is restored afterwards.
    """

    def __init__(self, provider: PracticeProvider, chain: list[str] | None = None) -> None:
        self.provider = provider
        self.chain = list(chain or CHAIN)
        defaults = [0.5, 0.3, 0.1]
        self.sliders = [
            widgets.FloatSlider(value=defaults[i] if i < len(defaults) else 0.0, min=0.0, max=1.0, step=0.05,
                                description=f"P(сбоя) {model_id(m).split('/')[-1]}:",
                                style={"description_width": "190px"}, layout=widgets.Layout(width="480px"))
            for i, m in enumerate(self.chain)]
        self.status = widgets.Dropdown(options=list(STATUSES), value=list(STATUSES)[0], description="Сбой:",
                                       style={"description_width": "190px"}, layout=widgets.Layout(width="480px"))
        self.count = widgets.IntSlider(value=30, min=5, max=60, step=5, description="Запросов в серии:",
                                       style={"description_width": "190px"}, layout=widgets.Layout(width="480px"))
        self.button = widgets.Button(description="Запустить серию", button_style="primary", icon="play")
        self.summary = widgets.HTML(message_html("Задайте вероятности сбоев и нажмите «Запустить серию».", None))
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.button.on_click(lambda _: self.run())
        self.widget = panel(widgets.VBox([*self.sliders, self.status, self.count, self.button, self.summary, self.plot]))

    def run(self) -> Batch:
        """Run one batch (the button's handler); returns the :class:`Batch` it drew."""
        self.provider.reset()  # clean stats, and the seeded random faults start over
        self.provider.set_latency_scale(0)
        status = STATUSES[self.status.value]
        for model, slider in zip(self.chain, self.sliders):
            if slider.value > 0:
                self.provider.fail(model_id(model), status, probability=slider.value)
        served: list[str | None] = []
        try:
            with practice_env() if current_course() is not None else nullcontext():  # faults live there
                for n in range(1, self.count.value + 1):
                    self.summary.value = message_html(f"запрос {n} из {self.count.value}…", None)
                    try:
                        response = litellm.completion(model=self.chain[0], fallbacks=self.chain[1:], max_tokens=20,
                                                      messages=[{"role": "user", "content": PROMPT.format(n=n)}])
                        served.append(response.model)
                    except litellm.APIConnectionError:  # what SDK fallbacks raise when every model failed
                        served.append(None)
        finally:
            self.provider.clear_faults()
            self.provider.set_latency_scale(float(os.environ.get("COURSE_LATENCY_SCALE", "1")))
        batch = summarize(self.chain, served, self.provider.log())
        lost = batch.served_count(None)
        headline = (f"Серия из {len(served)}: основная ответила {batch.served_count(batch.models[0])}, "
                    f"резервные — {len(served) - lost - batch.served_count(batch.models[0])}, без ответа — {lost}.")
        self.summary.value = message_html(headline, lost == 0) + table_html(
            ["модель", "ответила", "отказала", "запросов у провайдера"], batch.rows())
        self.plot.value = figure_png(draw_batch(Figure(figsize=(10, 3.2)), batch))
        return batch
