"""Lesson 05 panel: «дашборд роутера».

Pick a routing strategy, each deployment's latency and fault rate (503 with a probability)
and a number of requests; the panel sends them concurrently through ``Router.acompletion``
to deployments d1 and d2 of the practice provider and shows, from the provider's log,
requests, statuses and latency per deployment and the traffic over time.
"""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ipywidgets as widgets
import litellm
from litellm import Router
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
from matplotlib.figure import Figure

from course_helpers.panels.common import figure_png, message_html, panel, table_html
from course_helpers.provider import PracticeProvider

MODEL = "openai/gpt-3.5-turbo"
DEPLOYMENTS = ("d1", "d2")
STRATEGIES = ["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2",
              "cost-based-routing"]
# d1 is cheap, d2 expensive: cost-based-routing needs explicit prices for openrouter/* models
PRICES = {"d1": (0.5e-6, 1.5e-6), "d2": (5e-6, 15e-6)}
GAP_S = 0.01  # request i starts at i * GAP_S


def traffic_figure(log: list[dict[str, Any]], title: str) -> Figure:
    """Cumulative successful requests per deployment over time, failures as red marks."""
    fig = Figure(figsize=(6.5, 2.8))
    ax = fig.subplots()
    t0 = log[0]["t"] if log else 0.0
    for dep, color in zip(DEPLOYMENTS, ("#4c72b0", "#dd8452")):
        times = [e["t"] - t0 for e in log if e["deployment"] == dep and e["status"] == 200]
        ax.step(times, range(1, len(times) + 1), where="post", color=color, label=f"{dep}: ответы 200")
    failed = [(e["t"] - t0, e["deployment"]) for e in log if e["status"] != 200]
    if failed:
        ax.scatter([t for t, _ in failed], [0] * len(failed), marker="|", s=120, color="#c44e52",
                   label="ошибки провайдера")
    ax.set_xlabel("время от первого запроса, с")
    ax.set_ylabel("ответов 200 (накопительно)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


class RouterDashboard:
    """Strategy + per-deployment latency and fault rate + N -> table and traffic chart."""

    def __init__(self, provider: PracticeProvider, seed: int = 5) -> None:
        self.provider = provider
        self.seed = seed
        self._latency_router: Router | None = None
        self.strategy = widgets.Dropdown(options=STRATEGIES, value=STRATEGIES[0], description="Стратегия:",
                                         layout=widgets.Layout(width="420px"))
        style = {"description_width": "170px"}
        self.latency_d1 = widgets.IntSlider(value=300, min=10, max=2000, step=10, style=style,
                                            description="задержка d1, мс:")
        self.latency_d2 = widgets.IntSlider(value=300, min=10, max=2000, step=10, style=style,
                                            description="задержка d2, мс:")
        self.fault_d1 = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, style=style,
                                            description="доля сбоев (503) d1:")
        self.fault_d2 = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, style=style,
                                            description="доля сбоев (503) d2:")
        self.requests = widgets.IntSlider(value=100, min=10, max=500, step=10, style=style,
                                          description="запросов:")
        self.button = widgets.Button(description="Запустить", button_style="primary", icon="play")
        self.summary = widgets.HTML(message_html("Настройте и нажмите «Запустить».", None))
        self.chart = widgets.Image(format="png")
        self.button.on_click(lambda _: self.run())
        self.widget = panel(widgets.VBox([
            self.strategy,
            widgets.HBox([widgets.VBox([self.latency_d1, self.fault_d1]),
                          widgets.VBox([self.latency_d2, self.fault_d2])]),
            widgets.HBox([self.requests, self.button]),
            self.summary, self.chart,
        ]))

    def model_list(self) -> list[dict[str, Any]]:
        """Deployments d1 and d2 of the group ``gpt-3.5-turbo`` (d1 cheap, d2 expensive)."""
        return [{"model_name": "gpt-3.5-turbo",
                 "litellm_params": {"model": f"openrouter/{MODEL}",
                                    "api_base": self.provider.api_base("openrouter", deployment=dep),
                                    "api_key": self.provider.key,
                                    "input_cost_per_token": PRICES[dep][0],
                                    "output_cost_per_token": PRICES[dep][1]}}
                for dep in DEPLOYMENTS]

    def build_router(self) -> Router:
        """A Router for the chosen strategy.

        latency-based-routing: LiteLLM keeps one latency handler per process in
        ``litellm.callbacks`` (a second one is never added), so the panel reuses a single
        latency Router; only the provider's latencies change between runs.
        """
        strategy = self.strategy.value
        if strategy == "latency-based-routing":
            if self._latency_router is None:
                stale = [c for c in litellm.callbacks if isinstance(c, LowestLatencyLoggingHandler)]
                for handler in stale:  # another Router's handler would keep ours from registering
                    litellm.callbacks.remove(handler)
                self._latency_router = Router(model_list=self.model_list(), routing_strategy=strategy,
                                              allowed_fails=1, cooldown_time=1)
            return self._latency_router
        return Router(model_list=self.model_list(), routing_strategy=strategy, allowed_fails=1, cooldown_time=1)

    def _configure_provider(self) -> None:
        self.provider.reset()
        for dep, latency, fault in ((DEPLOYMENTS[0], self.latency_d1.value, self.fault_d1.value),
                                    (DEPLOYMENTS[1], self.latency_d2.value, self.fault_d2.value)):
            self.provider.set_latency(MODEL, base_ms=latency, per_token_ms=0, jitter=0.1, deployment=dep)
            if fault > 0:
                self.provider.fail(MODEL, 503, probability=fault, deployment=dep)

    @staticmethod
    async def _send(router: Router, n: int) -> list[Any]:
        async def one(i: int) -> Any:
            await asyncio.sleep(i * GAP_S)
            try:
                return await router.acompletion(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "Привет!"}])
            except Exception as e:  # shown to the learner as a user-visible error
                return e
        return await asyncio.gather(*(one(i) for i in range(n)))

    def run(self) -> dict[str, Any]:
        """Send the traffic (handler of the button); returns a summary and updates the widgets."""
        self.button.disabled = True
        self.summary.value = message_html("Идут запросы…", None)
        try:
            self._configure_provider()
            router = self.build_router()
            random.seed(self.seed)  # simple-shuffle draws from `random`: the same picks every run
            n = self.requests.value
            # the button handler may run inside Jupyter's event loop: send from a thread with its own loop
            with ThreadPoolExecutor(max_workers=1) as pool:
                results = pool.submit(asyncio.run, self._send(router, n)).result()
            log = self.provider.log()
            self.provider.clear_faults()
        finally:
            self.button.disabled = False
        errors = [r for r in results if isinstance(r, Exception)]
        rows, by_dep = [], {}
        for dep in DEPLOYMENTS:
            entries = [e for e in log if e["deployment"] == dep]
            ok = [e for e in entries if e["status"] == 200]
            by_dep[dep] = len(entries)
            latency = sum(e["latency_ms"] for e in ok) / len(ok) if ok else 0.0
            rows.append([dep, len(entries), len(ok), len(entries) - len(ok), f"{latency:.0f} мс"])
        summary = {"strategy": self.strategy.value, "requests": n, "user_errors": len(errors),
                   "error_types": sorted({type(e).__name__ for e in errors}), "by_deployment": by_dep,
                   "provider_requests": len(log)}
        text = (f"{self.strategy.value}: {n} запросов, ошибок у пользователя: {len(errors)}"
                + (f" ({', '.join(summary['error_types'])})" if errors else "")
                + f"; провайдер получил {len(log)} (с ретраями).")
        self.summary.value = message_html(text, not errors) + table_html(
            ["развёртывание", "запросов", "ответов 200", "ошибок", "средняя задержка"], rows)
        self.chart.value = figure_png(traffic_figure(log, f"{self.strategy.value}: трафик по времени"))
        return summary
