"""Lesson 04 panel: a playground for the custom provider (``practice/generate``).

Sends a prompt through LiteLLM to the custom provider (or, for comparison, to the
OpenRouter-flavoured model), plainly or as a stream. In streaming mode the custom provider
really streams (``/generate`` NDJSON read line by line by ``GenerateLLM.streaming``), and the
answer's HTML widget is updated on every chunk as it arrives. Shows token counts, cost, time
to the first and last piece, and a plot of the pieces' arrival times.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets
import litellm
from matplotlib.figure import Figure

from course_helpers.custom_provider import is_registered, register
from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider

# label -> (LiteLLM model string, model id for the provider's faults)
MODELS: dict[str, tuple[str, str]] = {
    "practice/generate — свой провайдер": ("practice/generate", "practice/generate"),
    "openrouter/openai/gpt-4o-mini — для сравнения": ("openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"),
}
MODES = ["обычный", "потоковый"]
FAULTS: dict[str, int | str | None] = {"без сбоя": None, "429 — лимит запросов": 429,
                                       "503 — сервис недоступен": 503, "500 — ошибка сервера": 500,
                                       "зависание (таймаут клиента)": "hang"}


def arrivals_figure(arrivals_ms: list[float], title: str) -> Figure:
    """Chunk number against its arrival time since the request was sent."""
    fig = Figure(figsize=(5.5, 2.6))
    ax = fig.subplots()
    ax.step(arrivals_ms, range(1, len(arrivals_ms) + 1), where="post", marker="o", markersize=3)
    ax.set_xlim(left=0)
    ax.set_xlabel("время от отправки запроса, мс")
    ax.set_ylabel("кусков получено")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return fig


class CustomProviderPlayground:
    """Prompt + model + mode + fault -> the growing answer, tokens, cost and arrival times."""

    def __init__(self, provider: PracticeProvider, timeout: float = 2.0) -> None:
        self.provider = provider
        self.timeout = timeout
        if not is_registered():  # keep a handler the learner registered; else «our project» one
            register(base_url=provider.generate_url)
        self.prompt = widgets.Text(value="Что такое Python?", description="Запрос:",
                                   layout=widgets.Layout(width="520px"))
        self.model = widgets.Dropdown(options=list(MODELS), value=list(MODELS)[0], description="Модель:",
                                      layout=widgets.Layout(width="520px"))
        self.mode = widgets.ToggleButtons(options=MODES, value=MODES[1], description="Режим:")
        self.max_tokens = widgets.IntSlider(value=60, min=5, max=200, step=5, description="max_tokens:")
        self.fault = widgets.Dropdown(options=list(FAULTS), value="без сбоя", description="Сбой:")
        self.button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.answer = widgets.HTML(message_html("Нажмите «Отправить».", None))
        self.summary = widgets.HTML("")
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="560px"))
        self.button.on_click(lambda _: self.send())
        self.widget = panel(widgets.VBox([self.prompt, self.model, self.mode, self.max_tokens, self.fault,
                                    self.button, self.answer, self.summary, self.plot]))

    def _inject(self, model_id: str) -> None:
        fault = FAULTS[self.fault.value]
        if fault == "hang":
            self.provider.fail(model_id, kind="hang", times=1)
        elif fault is not None:
            self.provider.fail(model_id, int(fault), times=1)

    def _show(self, text: str, ok: bool | None = True) -> None:
        self.answer.value = ("<div style='font-family:monospace;white-space:pre-wrap;max-width:560px'>"
                             f"{html.escape(text)}</div>" if ok else message_html(text, ok))

    def send(self) -> dict[str, Any]:
        """Send one request (the button's handler); returns what happened, for tests and code."""
        model, model_id = MODELS[self.model.value]
        stream = self.mode.value == "потоковый"
        self._inject(model_id)
        messages = [{"role": "user", "content": self.prompt.value}]
        kwargs: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": self.max_tokens.value,
                                  "timeout": self.timeout}
        arrivals: list[float] = []
        start = time.perf_counter()
        try:
            if stream:
                text, usage = "", None
                for chunk in litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}):
                    if chunk.choices and chunk.choices[0].delta.content:  # a piece of text: show it now
                        arrivals.append((time.perf_counter() - start) * 1000)
                        text += chunk.choices[0].delta.content
                        self._show(text + "▌")
                    usage = getattr(chunk, "usage", None) or usage
                cost = getattr(usage, "cost", None)
            else:
                response = litellm.completion(**kwargs)
                arrivals.append((time.perf_counter() - start) * 1000)
                text, usage = response.choices[0].message.content, response.usage
                cost = response._hidden_params.get("response_cost")
        except Exception as e:  # the exception class is the lesson
            self._show(f"{type(e).__name__} (status_code={getattr(e, 'status_code', None)}): "
                       f"{str(e)[:160]}", ok=False)
            self.summary.value = ""
            return {"outcome": type(e).__name__, "chunks": len(arrivals)}
        if not arrivals:  # an empty answer: nothing arrived but the end of the stream
            arrivals.append((time.perf_counter() - start) * 1000)
        self._show(text)
        self.summary.value = table_html(
            ["режим", "кусков с текстом", "первый кусок", "последний кусок", "токены (запрос + ответ)",
             "стоимость, $"],
            [[self.mode.value, len(arrivals), f"{arrivals[0]:.0f} мс", f"{arrivals[-1]:.0f} мс",
              f"{usage.prompt_tokens} + {usage.completion_tokens}" if usage else "нет usage",
              f"{cost:.8f}" if cost is not None else "нет цены"]])
        self.plot.value = figure_png(arrivals_figure(arrivals, f"{model}, {self.mode.value} режим"))
        return {"outcome": "ok", "text": text, "chunks": len(arrivals), "arrivals_ms": arrivals,
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None, "cost": cost}
