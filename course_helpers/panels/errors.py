"""Lesson 02 («Ошибки и исключения»): the fault catalogue and the panel «консоль сбоев».

* :data:`FAULTS` and :func:`inject` arm one fault of the practice provider (the notebook's
  exception map, the claim tests and the exercise checkers use them);
* :func:`seed_clause` tells which ``except`` clause of the seed lesson's handler catches an
  exception (the seed's handler text is in :data:`SEED_CLAUSES`);
* :class:`FaultConsole` is the panel: pick a model and a fault, send, see the LiteLLM class,
  its path through the seed's handler and the course client, and what the provider received.
"""

from __future__ import annotations

import socket
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import litellm

from course_helpers.panels.common import message_html, panel, table_html
from course_helpers.project import decide
from course_helpers.provider import PracticeProvider
from course_helpers.session import current_course, practice_env


@dataclass(frozen=True)
class Fault:
    """One fault of the practice provider: an HTTP status or a ``kind`` (hang, drop, ...)."""

    label: str  # Russian, shown to the learner
    kind: str  # "status", "hang", "drop", "malformed", "empty", or "refused" (nothing listens)
    status: int = 0


FAULTS: dict[str, Fault] = {
    **{str(code): Fault(f"HTTP {code}", "status", code)
       for code in (400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504)},
    "hang": Fault("зависание (ответа нет)", "hang"),
    "refused": Fault("соединение отклонено", "refused"),
    "malformed": Fault("битый JSON в ответе 200", "malformed"),
    "empty": Fault("пустое тело {} в ответе 200", "empty"),
    "drop": Fault("обрыв соединения", "drop"),
}


def model_id(model: str) -> str:
    """The provider's (OpenRouter) id of a LiteLLM model string: stats and faults use it.

    ``openrouter/openai/gpt-4o-mini`` and ``openai/gpt-4o-mini`` both give ``openai/gpt-4o-mini``.
    """
    return model.removeprefix("openrouter/")


def closed_api_base(model: str) -> str:
    """An ``api_base`` on loopback where nothing listens: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/{'api/v1' if model.startswith('openrouter/') else 'v1'}"


def inject(provider: PracticeProvider, fault: str, model: str, *, times: int | None = None) -> dict[str, Any]:
    """Arm ``FAULTS[fault]`` for ``model``; return the extra ``completion`` kwargs it needs.

    Only ``refused`` needs one (``api_base`` pointing at a closed port); the others are
    faults of the provider itself, for every call until ``times`` runs out or faults are cleared.
    """
    spec = FAULTS[fault]
    if spec.kind == "refused":
        return {"api_base": closed_api_base(model)}
    provider.fail(model_id(model), spec.status or 503, kind=spec.kind, times=times)
    return {}


def mro_names(error_type: type, count: int = 3) -> list[str]:
    """The first ``count`` classes of the MRO, module-qualified (``litellm.X``, ``openai.Y``)."""
    return [f"{cls.__module__.split('.')[0]}.{cls.__name__}" for cls in error_type.__mro__[:count]]


# The seed's handler (``litellm_client.py``), clause by clause, with what each clause does.
SEED_CLAUSES: list[tuple[str, tuple[type[BaseException], ...], str]] = [
    ("except AuthenticationError", (litellm.AuthenticationError,), "raise ValueError('Invalid API key')"),
    ("except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError)",
     (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.BudgetExceededError),
     "attempt += 1 → следующая модель"),
    ("except Exception", (Exception,), "continue без attempt += 1 → та же модель снова, бесконечно"),
]
DECISIONS = {"stop": "остановиться и поднять ошибку", "retry": "повторить ту же модель",
             "next": "перейти к следующей модели"}


def seed_clause(error: BaseException) -> tuple[str, str]:
    """(clause, consequence) of the first ``except`` of the seed's handler that catches ``error``."""
    return next((clause, action) for clause, types, action in SEED_CLAUSES if isinstance(error, types))


def error_rows(error: BaseException) -> list[list[Any]]:
    """Table rows about one exception: class, status_code, MRO, the seed's clause, ``decide``."""
    clause, action = seed_clause(error)
    module = type(error).__module__.split(".")[0]
    return [
        ["класс", f"{module}.{type(error).__name__}"],
        ["status_code", getattr(error, "status_code", None)],
        ["MRO", " → ".join(mro_names(type(error), 4))],
        ["обработчик исходного урока", f"{clause}: {action}"],
        ["клиент курса, decide()", f"{decide(error)}: {DECISIONS[decide(error)]}"],
    ]


MODELS = ["openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini",
          "openrouter/anthropic/claude-3-haiku", "openai/gpt-4o"]
RETRIES = {"по умолчанию": None, "num_retries=0": 0, "num_retries=2": 2}
NO_FAULT = "без сбоя"
TIMEOUT_S = 2  # per attempt: a hang costs 2 s (x3 with the OpenAI SDK's retries)


class FaultConsole:
    """«Консоль сбоев» (lesson 02): model + fault + retries -> class, handler path, provider log.

    Every send arms the fault for the chosen model, calls ``litellm.completion(..., timeout=2)``
    against the practice provider (even in online mode) and clears the provider's faults
    afterwards. A history table keeps every send.
    """

    def __init__(self, provider: PracticeProvider) -> None:
        self.provider = provider
        wide = widgets.Layout(width="460px")
        self.model = widgets.Dropdown(options=MODELS, value=MODELS[0], description="Модель:", layout=wide)
        self.fault = widgets.Dropdown(options=[(NO_FAULT, NO_FAULT)] + [(f.label, key) for key, f in FAULTS.items()],
                                      value="503", description="Сбой:", layout=wide)
        self.retries = widgets.Dropdown(options=list(RETRIES), value="по умолчанию", description="Повторы:",
                                        layout=wide)
        self.button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.result = widgets.HTML(message_html("Выберите модель и сбой и нажмите «Отправить».", None))
        self.history = widgets.HTML("")
        self.rows: list[list[Any]] = []
        self.button.on_click(lambda _: self.send())
        self.widget = panel(widgets.VBox([self.model, self.fault, self.retries, self.button, self.result, self.history]))

    def send(self) -> str:
        """Send one request (the button's handler); returns the exception class name or ``"ok"``."""
        model, fault = self.model.value, self.fault.value
        kwargs: dict[str, Any] = {"timeout": TIMEOUT_S}
        if RETRIES[self.retries.value] is not None:
            kwargs["num_retries"] = RETRIES[self.retries.value]
        seen = max((entry["n"] for entry in self.provider.log()), default=0)
        if fault != NO_FAULT:
            kwargs.update(inject(self.provider, fault, model))
        start = time.perf_counter()
        try:
            with practice_env() if current_course() is not None else nullcontext():  # faults live there
                response = litellm.completion(model=model, messages=[{"role": "user", "content": "Привет!"}],
                                              **kwargs)
        except Exception as error:  # the class is what the panel shows
            outcome, rows, ok = type(error).__name__, error_rows(error), False
        else:
            outcome, ok = "ok", True
            rows = [["ответ", (response.choices[0].message.content or "")[:80]]]
        finally:
            self.provider.clear_faults()
        elapsed_ms = (time.perf_counter() - start) * 1000
        received = [entry["status"] for entry in self.provider.log() if entry["n"] > seen]
        rows += [
            ["провайдер получил", f"{len(received)} запрос(а): {received}"],
            ["время", f"{elapsed_ms:.0f} мс"],
        ]
        headline = "успех: 200" if ok else f"исключение {outcome}"
        self.result.value = message_html(headline, ok) + table_html(["", ""], rows)
        label = FAULTS[fault].label if fault in FAULTS else NO_FAULT
        self.rows.append([model, label, self.retries.value, outcome, len(received)])
        self.history.value = "<b>История отправок</b>" + table_html(
            ["модель", "сбой", "повторы", "результат", "запросов"], self.rows[-10:])
        return outcome
