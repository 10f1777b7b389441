"""Lesson 08 panel: send a request through a chosen gateway replica, see its ``x-litellm-*`` headers."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from course_helpers.gateway import Gateway
from course_helpers.panels.common import message_html, panel, table_html

GROUPS = ["assistant", "backup", "free"]


class GatewayPanel:
    """Replica + group + question → «Отправить»: the status, the answer and the gateway's headers."""

    def __init__(self, replicas: dict[str, Gateway], question: str = "Что такое LiteLLM?") -> None:
        self.replicas = replicas
        self.replica = widgets.Dropdown(options=list(replicas), description="Реплика:")
        self.group = widgets.Dropdown(options=GROUPS, description="Группа (model):")
        self.question = widgets.Text(value=question, description="Вопрос:", layout=widgets.Layout(width="420px"))
        self.send_button = widgets.Button(description="Отправить", button_style="primary", icon="paper-plane")
        self.result = widgets.HTML(message_html("Выберите реплику и группу и нажмите «Отправить».", None))
        self.sent = 0
        self.send_button.on_click(lambda _: self.send())
        self.widget = panel(widgets.VBox([widgets.HBox([self.replica, self.group]), self.question,
                                          self.send_button, self.result]))

    def send(self) -> dict[str, Any]:
        """One request through the chosen replica (handler of «Отправить»); status and headers."""
        import openai

        replica = self.replicas[self.replica.value]
        raw = replica.client(max_retries=0).chat.completions.with_raw_response
        try:
            response = raw.create(model=self.group.value, messages=[{"role": "user", "content": self.question.value}])
            status, text, headers = response.http_response.status_code, response.parse().choices[0].message.content, \
                response.headers
        except openai.APIStatusError as e:
            status, text, headers = e.status_code, str(e)[:300], e.response.headers
        shown = {k: v for k, v in headers.items() if k.startswith("x-litellm-")
                 and k not in ("x-litellm-call-id", "x-litellm-response-duration-ms", "x-litellm-overhead-duration-ms")}
        self.sent += 1
        note = f"Запрос №{self.sent} · реплика {self.replica.value} · группа {self.group.value} → {status}: {text}"
        self.result.value = message_html(note, status == 200) + table_html(
            ["заголовок", "значение"], sorted(shown.items()))
        return {"status": status, "headers": shown}
