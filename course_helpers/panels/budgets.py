"""Lesson 06 panel: a budget slider, N concurrent requests through a BudgetGuard, a spend gauge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from course_helpers.budget import BudgetExceeded, BudgetGuard
from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider
from course_helpers.session import current_course, practice_env

MODEL = "openrouter/openai/gpt-4o"
PROMPT = [{"role": "user", "content": "Напиши длинный рассказ"}]
MAX_TOKENS = 100  # the story is longer: every answer is cut here, so each call costs its estimate exactly
WORKERS = 8


def gauge_png(limit: float, spent: float, provider_cost: float) -> bytes:
    """A horizontal bar: spend by the guard and by the provider against the limit."""
    fig = Figure(figsize=(6.4, 1.9))
    ax = fig.subplots()
    top = max(limit, spent, provider_cost) * 1.1 or 1.0
    ax.barh(["провайдер", "защита"], [provider_cost, spent], color=["#8c959f", "#2da44e"])
    ax.axvline(limit, color="#cf222e", linewidth=2, label=rf"бюджет \${limit:.4f}")
    ax.set_xlim(0, top)
    ax.set_xlabel(r"расход, \$")
    ax.legend(loc="lower right", fontsize=8)
    # "\$": a pair of plain dollar signs would switch matplotlib to math text
    ax.set_title(rf"Потрачено \${spent:.4f} из \${limit:.4f} ({spent / limit:.0%})" if limit else "Бюджет не задан")
    return figure_png(fig)


class BudgetPanel:
    """Budget slider + «run N requests» + a spend gauge; requests are refused once the budget is reached.

    The guard has the default margin (:data:`course_helpers.budget.DEFAULT_MARGIN`), so a request
    is refused when the rest of the budget is below its estimate plus the margin. The requests go
    to the practice provider in online mode too: its stats are what the panel compares with.

    The guard lives across runs: a second run continues from the money already spent. Moving
    the slider changes the limit of the same guard; «Сбросить» starts from zero.
    """

    def __init__(self, provider: PracticeProvider, budget: float = 0.005, requests: int = 8) -> None:
        self.provider = provider
        self.budget = widgets.FloatSlider(value=budget, min=0.001, max=0.02, step=0.0005, readout_format=".4f",
                                          description="Бюджет, $:", layout=widgets.Layout(width="420px"))
        self.count = widgets.IntSlider(value=requests, min=1, max=40, description="Запросов:",
                                       layout=widgets.Layout(width="420px"))
        self.run_button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.reset_button = widgets.Button(description="Сбросить", icon="undo")
        self.gauge = widgets.Image(format="png")
        self.result = widgets.HTML(message_html("Нажмите «Отправить»: запросы пойдут параллельно, "
                                                f"по {WORKERS} одновременно.", None))
        self.run_button.on_click(lambda _: self.run())
        self.reset_button.on_click(lambda _: self.reset())
        self.budget.observe(lambda _: self.set_budget(), names="value")
        self.widget = panel(widgets.VBox([self.budget, self.count, widgets.HBox([self.run_button, self.reset_button]),
                                    self.gauge, self.result]))
        self.reset()

    def reset(self) -> None:
        """Start a new guard with the slider's limit (handler of «Сбросить»)."""
        self.guard = BudgetGuard(limit=self.budget.value)
        self.sent = 0
        self.provider_cost = 0.0
        self._draw()

    def set_budget(self) -> None:
        """Apply the slider's value to the running guard (spend so far is kept)."""
        self.guard.limit = self.budget.value
        self._draw()

    def _one(self, _: int) -> str:
        try:
            self.guard.completion(model=MODEL, messages=PROMPT, max_tokens=MAX_TOKENS)
        except BudgetExceeded:
            return "refused"
        except Exception:  # a provider fault is shown as an error, not as a refusal
            return "error"
        return "ok"

    def run(self) -> dict[str, Any]:
        """Send ``count`` requests through the guard, 8 at a time (handler of «Отправить»)."""
        with practice_env() if current_course() is not None else nullcontext():  # its stats are the bill
            before = self.provider.stats()["cost"]
            with ThreadPoolExecutor(WORKERS) as pool:
                outcomes = list(pool.map(self._one, range(self.count.value)))
            self.provider_cost += self.provider.stats()["cost"] - before
        summary = {"отправлено": outcomes.count("ok"), "отказано": outcomes.count("refused"),
                   "ошибок": outcomes.count("error"), "потрачено, $": round(self.guard.spent(), 6),
                   "бюджет, $": self.guard.limit}
        self.sent += summary["отправлено"]
        self._draw(summary)
        return summary

    def _draw(self, summary: dict[str, Any] | None = None) -> None:
        spent, limit = self.guard.spent(), self.guard.limit or 0.0
        self.gauge.value = gauge_png(limit, spent, self.provider_cost)
        if summary is None:
            self.result.value = message_html(f"Бюджет ${limit:.4f}; потрачено ${spent:.6f}.", None)
            return
        refused = summary["отказано"]
        note = (f"Бюджет исчерпан: {refused} запрос(ов) не отправлено." if refused
                else "Все запросы уместились в бюджет.")
        self.result.value = message_html(note, not refused) + table_html(
            ["отправлено за прогон", "отказано", "ошибок", "всего отправлено", "потрачено (защита), $",
             "списал провайдер, $"],
            [[summary["отправлено"], refused, summary["ошибок"], self.sent, f"{spent:.6f}",
              f"{self.provider_cost:.6f}"]])
