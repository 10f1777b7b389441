"""Lesson 01 panel «лаборатория кэша»: send a request through LiteLLM's active cache and
watch latency and hit / miss grow into a chart.

The panel never enables a cache itself: it uses whatever ``litellm.cache`` the notebook
set up, so the lesson's ``enable_cache`` calls stay visible. Unticking «кэш» sends one call
past the cache with ``cache={"no-cache": True, "no-store": True}`` (no read, no write).
``caching=False`` would not do: it skips the read but still writes the answer.
Calls go to the practice provider in either mode: the «reached the provider» column counts there.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass

import ipywidgets as widgets
import litellm

from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider
from course_helpers.session import current_course, practice_env
from matplotlib.figure import Figure
from matplotlib.patches import Patch

MODEL = "openrouter/openai/gpt-4o-mini"
HIT, MISS, OFF, ERROR = "попадание", "промах", "без кэша", "ошибка"
COLORS = {HIT: "#1a7f37", MISS: "#d4a72c", OFF: "#8c959f", ERROR: "#cf222e"}
BYPASS = {"no-cache": True, "no-store": True}  # per-call: neither read nor write the cache


@dataclass
class Shot:
    """One request sent from the panel."""

    outcome: str  # HIT / MISS / OFF / ERROR
    ms: float
    reached_provider: int


class CacheLab:
    """Prompt + temperature + max_tokens + cache on/off -> latency, hit / miss, chart."""

    def __init__(self, provider: PracticeProvider, model: str = MODEL) -> None:
        self.provider = provider
        self.model = model
        self.history: list[Shot] = []
        wide = widgets.Layout(width="520px")
        self.prompt = widgets.Text(value="Что такое кэширование?", description="Запрос:", layout=wide)
        self.temperature = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="temperature")
        self.max_tokens = widgets.IntSlider(value=128, min=16, max=512, step=16, description="max_tokens")
        self.use_cache = widgets.Checkbox(value=True, indent=False, layout=wide,
                                          description="кэш (снять — вызов мимо кэша: без чтения и без записи)")
        self.button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.reset_button = widgets.Button(description="Очистить график", icon="eraser")
        self.result = widgets.HTML(message_html("Нажмите «Отправить» два раза подряд.", None))
        self.chart = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
        self.button.on_click(lambda _: self.send())
        self.reset_button.on_click(lambda _: self.clear())
        self.widget = panel(widgets.VBox([
            self.prompt, self.temperature, self.max_tokens, self.use_cache,
            widgets.HBox([self.button, self.reset_button]), self.result, self.chart,
        ]))

    def send(self) -> str:
        """Send one request (the button's handler); return HIT, MISS, OFF or ERROR."""
        options: dict = {"temperature": self.temperature.value, "max_tokens": self.max_tokens.value}
        if not self.use_cache.value:
            options["cache"] = dict(BYPASS)  # a fresh dict for every call
        before = self.provider.stats()["requests"]
        start = time.perf_counter()
        try:
            with practice_env() if current_course() is not None else nullcontext():  # its counter is the witness
                response = litellm.completion(model=self.model, **options,
                                              messages=[{"role": "user", "content": self.prompt.value}])
        except Exception as e:  # shown to the learner: the class name is the lesson
            outcome, text = ERROR, f"{type(e).__name__}: {e}"
        else:
            hit = response._hidden_params.get("cache_hit") is True
            outcome = HIT if hit else (MISS if self.use_cache.value else OFF)
            text = response.choices[0].message.content or ""
        ms = (time.perf_counter() - start) * 1000
        shot = Shot(outcome, ms, self.provider.stats()["requests"] - before)
        self.history.append(shot)
        self._render(text, shot)
        return outcome

    def clear(self) -> None:
        """Forget the history and the chart (the cache itself is untouched)."""
        self.history.clear()
        self.chart.value = b""
        self.result.value = message_html("История очищена; кэш не тронут.", None)

    def _render(self, text: str, shot: Shot) -> None:
        cache = litellm.cache
        active = type(cache.cache).__name__ if cache is not None else "нет (litellm.cache is None)"
        self.result.value = message_html(text[:300], shot.outcome != ERROR) + table_html(
            ["№", "результат", "время", "дошло до провайдера", "активный кэш"],
            [[len(self.history), shot.outcome, f"{shot.ms:.0f} мс", shot.reached_provider, active]])
        self.chart.value = figure_png(self.figure())

    def figure(self) -> Figure:
        """Latency of every request so far, coloured by outcome, log scale."""
        fig = Figure(figsize=(6.5, 2.8))
        ax = fig.subplots()
        numbers = range(1, len(self.history) + 1)
        values = [max(s.ms, 0.1) for s in self.history]
        ax.bar(numbers, values, color=[COLORS[s.outcome] for s in self.history])
        ax.set_yscale("log")
        ax.set_ylim(0.1, max(values, default=1.0) * 3)
        ax.set_xlabel("запрос №")
        ax.set_ylabel("время, мс (лог. шкала)")
        ax.set_xticks(list(numbers))
        ax.legend(handles=[Patch(color=color, label=outcome) for outcome, color in COLORS.items()],
                  loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, ncols=4, frameon=False)
        ax.set_title("Лаборатория кэша: время ответа")
        return fig
