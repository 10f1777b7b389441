"""Lesson 07 panel and plot: the practical task's «стенд» and the course's cached-vs-uncached figure.

The learner draws the figure of their own measurement (exercise 07.7). Only after that check has
passed does :func:`compare_with_reference` draw the course's figure of the same samples, to
compare: :func:`draw_latency` draws a :class:`course_helpers.measure.CacheMeasurement` (log scale)
on two matplotlib axes; :func:`reference_figure` does it for the learner's samples.
:class:`FallbackStand` lets the learner pick how the primary model fails (outage, bad key,
rate limit), runs the pipeline (a request with fallbacks, then its repeat through the
cache) and shows who answered, what the provider saw and the latency bars. The stand runs on
the practice provider in either mode: faults and its log exist only there.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Sequence

import ipywidgets as widgets
import litellm
from matplotlib.figure import Figure

from course_helpers.measure import (CACHED, UNCACHED, WARMUP, CacheMeasurement, FreshProcessHits, Sample, fmt_ms,
                                   is_cache_hit)
from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider
from course_helpers.session import current_course, practice_env

COLORS = {UNCACHED: "#cf222e", CACHED: "#1a7f37", WARMUP: "#bf8700", "fresh": "#8250df"}


def draw_latency(axes: Sequence[Any], m: CacheMeasurement, fresh: FreshProcessHits | None = None) -> None:
    """Left: every sample by kind, medians marked; right: per-prompt medians. Log scale."""
    left, right = axes
    groups = [("без кэша\n(к модели)", m.ms(UNCACHED), COLORS[UNCACHED]),
              ("из кэша", m.ms(CACHED), COLORS[CACHED]),
              ("прогрев\nзамера", m.ms(WARMUP), COLORS[WARMUP])]
    if fresh is not None:
        groups.append(("1-е попадание\nнового\nпроцесса", fresh.hits_ms[:1], COLORS["fresh"]))
    for x, (_, values, color) in enumerate(groups):
        jitter = [x + 0.12 * ((i % 5) - 2) / 2 for i in range(len(values))]
        left.scatter(jitter, values, color=color, alpha=0.75, s=28, zorder=3)
        if values:
            med = statistics.median(values)
            left.hlines(med, x - 0.3, x + 0.3, color=color, linewidth=2.5, zorder=4)
            left.annotate(fmt_ms(med), (x + 0.32, med), va="center", fontsize=8, color=color)
    left.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("задержка, мс (логарифмическая шкала)")
    left.set_title(f"Кэш против модели: медианы различаются в ×{m.ratio:.0f}", fontsize=10)
    left.grid(axis="y", which="both", alpha=0.25)

    uncached, cached = m.by_prompt(UNCACHED), m.by_prompt(CACHED)
    prompts = list(uncached)
    width = 0.38
    right.bar([i - width / 2 for i in range(len(prompts))], [uncached[p] for p in prompts], width,
              color=COLORS[UNCACHED], label="без кэша")
    right.bar([i + width / 2 for i in range(len(prompts))], [cached.get(p, float("nan")) for p in prompts], width,
              color=COLORS[CACHED], label="из кэша")
    right.set_xticks(range(len(prompts)), [f"#{i + 1}" for i in range(len(prompts))])
    right.set_yscale("log")
    right.set_xlabel("запрос")
    right.set_title("Медианы по каждому запросу", fontsize=10)
    right.legend(fontsize=8, loc="center right")
    right.grid(axis="y", which="both", alpha=0.25)


def latency_figure(m: CacheMeasurement, fresh: FreshProcessHits | None = None) -> Figure:
    """The same picture as a standalone Figure (for PNG export and widgets)."""
    fig = Figure(figsize=(11, 4))
    draw_latency(fig.subplots(1, 2), m, fresh)
    fig.tight_layout()
    return fig


def measurement_of(samples: Sequence[dict[str, Any]]) -> tuple[CacheMeasurement, FreshProcessHits | None]:
    """Lesson 07's measurement records (``prompt``, ``kind``, ``ms``) as the course's measurement types."""
    kinds = {"без кэша": UNCACHED, "из кэша": CACHED}
    m = CacheMeasurement(samples=[Sample(s["prompt"], kinds[s["kind"]], float(s["ms"]), "")
                                  for s in samples if s["kind"] in kinds])
    fresh = [float(s["ms"]) for s in samples if s["kind"] == "новый процесс"]
    return m, (FreshProcessHits(first_call_ms=0.0, hits_ms=fresh, all_hits=True, loaded_on_first_hit=[])
               if fresh else None)


def reference_figure(samples: Sequence[dict[str, Any]]) -> Figure:
    """The course's figure of a learner's measurement records (marked: it is not the learner's own)."""
    fig = latency_figure(*measurement_of(samples))
    fig._course_reference = True  # type: ignore[attr-defined]  # the figure exercise refuses it
    return fig


def compare_with_reference(samples: Sequence[dict[str, Any]] | None) -> Figure | None:
    """After exercise 07.7 passed: the course's figure of the learner's own samples, to compare."""
    from course_helpers.checks import passed

    if not passed("07.7"):
        print("⏳ Эталонный график курса откроется, когда проверка 07.7 примет ваш: сначала свой.")
        return None
    if not samples:
        print("⏳ Нет замеров: сначала выполните ячейку с вашим замером (задание 7.6).")
        return None
    return reference_figure(samples)


FAILURES = {
    "без сбоя": "none",
    "сбой провайдера: 503 (course.provider.fail)": "outage",
    "неверный ключ у основной: 401 (api_key='wrong')": "bad_key",
    "лимит запросов: 429 (set_limits rpm=1)": "rate_limit",
}


@dataclass
class StandRun:
    """What one run of the stand found (also what the tests look at)."""

    mode: str
    answered_by: str
    attempted_fallbacks: int
    primary_statuses: list[Any]  # what the provider answered the primary during the request
    fallback_statuses: list[Any]
    request_ms: float
    repeat_ms: float
    repeat_cache_hit: bool
    repeat_model: str


class FallbackStand:
    """«Стенд»: pick how the primary fails, run the pipeline, see who answered and latencies."""

    def __init__(self, provider: PracticeProvider, models: Sequence[str],
                 prompt: str = "Что такое fallback?") -> None:
        if len(models) < 2:
            raise ValueError("нужны основная и хотя бы одна резервная модель")
        self.provider = provider
        self.models = list(models)
        self.prompt = widgets.Text(value=prompt, description="Запрос:", layout=widgets.Layout(width="480px"))
        self.failure = widgets.Dropdown(options=list(FAILURES), value="без сбоя", description="Сбой:",
                                        layout=widgets.Layout(width="480px"))
        self.button = widgets.Button(description="Запустить", button_style="primary", icon="play")
        self.result = widgets.HTML(message_html("Выберите, как сломать основную модель, и нажмите «Запустить».", None))
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="520px"))
        self.button.on_click(lambda _: self.run())
        self.widget = panel(widgets.VBox([widgets.HTML(f"<b>Основная:</b> {self.models[0]} · "
                                                 f"<b>резервные:</b> {', '.join(self.models[1:])}"),
                                    self.prompt, self.failure, self.button, self.result, self.image]))

    def _provider_id(self, model: str) -> str:
        return model.removeprefix("openrouter/")

    def _break_primary(self, mode: str) -> dict[str, Any]:
        """Make the primary fail; returns extra kwargs for the primary's call."""
        primary_id = self._provider_id(self.models[0])
        if mode == "outage":
            self.provider.fail(primary_id, 503)
        elif mode == "rate_limit":
            self.provider.set_limits(primary_id, rpm=1)
            litellm.completion(model=self.models[0], messages=[{"role": "user", "content": "расходуем лимит"}],
                               cache={"no-cache": True, "no-store": True})
        elif mode == "bad_key":
            return {"api_key": "wrong"}
        return {}

    def _heal_primary(self) -> None:
        self.provider.clear_faults()
        self.provider.set_limits(self._provider_id(self.models[0]))

    def run(self) -> StandRun:
        """Handler of the button: break the primary, send with fallbacks, repeat via the cache."""
        with practice_env() if current_course() is not None else nullcontext():  # faults live there
            return self._run()

    def _run(self) -> StandRun:
        mode = FAILURES[self.failure.value]
        messages = [{"role": "user", "content": self.prompt.value}]
        fallbacks: list[Any] = list(self.models[1:])
        if mode == "bad_key":  # api_key of the call would reach string fallbacks too: give them their own
            fallbacks = [{"model": m, "api_key": os.environ.get("OPENROUTER_API_KEY")} for m in self.models[1:]]
        try:
            extra = self._break_primary(mode)
            seen = len(self.provider.log())
            start = time.perf_counter()
            try:
                # no-cache: the cache must not hide the failure; the answer is stored, as in production
                response = litellm.completion(model=self.models[0], messages=messages, fallbacks=fallbacks,
                                              cache={"no-cache": True}, **extra)
            except Exception as e:  # every model failed: show the class, it is the lesson
                self.result.value = message_html(f"Ни одна модель не ответила: {type(e).__name__}", False)
                self.image.value = b""
                raise
            request_ms = (time.perf_counter() - start) * 1000
            log = self.provider.log()[seen:]
        finally:
            self._heal_primary()
        start = time.perf_counter()
        repeat = litellm.completion(model=self.models[0], messages=messages)
        repeat_ms = (time.perf_counter() - start) * 1000
        headers = response._hidden_params.get("additional_headers") or {}
        primary_id = self._provider_id(self.models[0])
        run = StandRun(
            mode=mode, answered_by=response.model,
            attempted_fallbacks=int(headers.get("x-litellm-attempted-fallbacks") or 0),
            primary_statuses=[e["status"] for e in log if e["model"] == primary_id],
            fallback_statuses=[e["status"] for e in log if e["model"] != primary_id],
            request_ms=request_ms, repeat_ms=repeat_ms,
            repeat_cache_hit=is_cache_hit(repeat), repeat_model=repeat.model,
        )
        self._show(run)
        return run

    def _show(self, run: StandRun) -> None:
        fell_back = run.attempted_fallbacks > 0 and run.answered_by != self._provider_id(self.models[0])
        text = (f"Ответила {'РЕЗЕРВНАЯ' if fell_back else 'основная'} модель: {run.answered_by}"
                f" (x-litellm-attempted-fallbacks = {run.attempted_fallbacks})")
        note = ""
        if run.mode == "bad_key":
            note = " (401 из-за ключа провайдер отклоняет до учёта в статистике)"
        rows = [
            ["основная у провайдера", ", ".join(map(str, run.primary_statuses)) or "нет запросов" + note],
            ["резервные у провайдера", ", ".join(map(str, run.fallback_statuses)) or "нет запросов"],
            ["время запроса с резервной", fmt_ms(run.request_ms)],
            ["повтор того же запроса", f"{fmt_ms(run.repeat_ms)}, из кэша: {run.repeat_cache_hit}, "
                                       f"модель в ответе: {run.repeat_model}"],
        ]
        self.result.value = message_html(text, True) + table_html(["что", "значение"], rows)
        fig = Figure(figsize=(5.5, 2.2))
        ax = fig.subplots()
        ax.barh(["повтор (кэш)" if run.repeat_cache_hit else "повтор", "запрос с резервной"],
                [run.repeat_ms, run.request_ms], color=["#1a7f37" if run.repeat_cache_hit else "#57606a", "#cf222e"])
        ax.set_xscale("log")
        ax.set_xlabel("мс (логарифмическая шкала)")
        fig.tight_layout()
        self.image.value = figure_png(fig)
