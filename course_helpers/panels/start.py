"""Lesson 00 panel: send a first request through LiteLLM, optionally with a fault."""

from __future__ import annotations

import time

import ipywidgets as widgets
import litellm

from course_helpers.panels.common import message_html, panel, table_html
from course_helpers.provider import PracticeProvider

MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-4o", "openrouter/anthropic/claude-3-haiku"]
FAULTS = {"без сбоя": None, "429 — лимит запросов": 429, "503 — сервис недоступен": 503,
          "401 — неверный ключ": 401, "500 — ошибка сервера": 500}


class FirstRequestPanel:
    """Prompt + model + fault -> answer or exception class, latency and provider stats."""

    def __init__(self, provider: PracticeProvider) -> None:
        self.provider = provider
        self.prompt = widgets.Text(value="Что такое Python?", description="Запрос:",
                                   layout=widgets.Layout(width="480px"))
        self.model = widgets.Dropdown(options=MODELS, value=MODELS[0], description="Модель:",
                                      layout=widgets.Layout(width="480px"))
        self.fault = widgets.Dropdown(options=list(FAULTS), value="без сбоя", description="Сбой:")
        self.button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.result = widgets.HTML(message_html("Нажмите «Отправить».", None))
        self.button.on_click(lambda _: self.send())
        self.widget = panel(widgets.VBox([self.prompt, self.model, self.fault, self.button, self.result]))

    def send(self) -> str:
        """Send one request (handler of the button); returns the outcome's class name or 'ok'."""
        status = FAULTS[self.fault.value]
        model_id = self.model.value.removeprefix("openrouter/")
        if status is not None:
            self.provider.fail(model_id, status, times=1)
        start = time.perf_counter()
        try:
            response = litellm.completion(model=self.model.value,
                                          messages=[{"role": "user", "content": self.prompt.value}])
        except Exception as e:  # shown to the learner: the class is the lesson
            outcome, text, ok = type(e).__name__, f"{type(e).__name__} (status_code={getattr(e, 'status_code', None)})", False
        else:
            outcome, text, ok = "ok", response.choices[0].message.content, True
        elapsed = (time.perf_counter() - start) * 1000
        served = self.provider.stats()["by_model"].get(model_id, {})
        self.result.value = message_html(text, ok) + table_html(
            ["время", "запросов к модели у провайдера", "из них 200"],
            [[f"{elapsed:.0f} мс", served.get("requests", 0), served.get("status_200", 0)]])
        return outcome
