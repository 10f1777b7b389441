"""Lesson 06 panel: handlers run, the gauge and the result change, refusals start at the budget."""

from __future__ import annotations

from course_helpers.panels.budgets import BudgetPanel


def test_run_spends_up_to_the_budget_then_refuses(provider) -> None:
    panel = BudgetPanel(provider, budget=0.005, requests=8)
    gauge, text = panel.gauge.value, panel.result.value
    summary = panel.run()
    # each call costs $0.0010275 and reserves 25 % more: three reservations fit into $0.005, not four
    assert summary["отправлено"] == 3 and summary["отказано"] == 5 and summary["ошибок"] == 0
    assert panel.gauge.value != gauge and panel.result.value != text
    assert "Бюджет исчерпан" in panel.result.value
    assert provider.stats()["cost"] <= 0.005
    assert abs(panel.guard.spent() - provider.stats()["cost"]) < 1e-12

    again = panel.run()  # the same guard: the margins came back, one more call fits
    assert again["отправлено"] == 1 and again["отказано"] == 7
    assert panel.run()["отправлено"] == 0
    assert provider.stats()["cost"] <= 0.005


def test_online_mode_runs_on_the_practice_provider(course, provider, monkeypatch) -> None:
    """In online mode LiteLLM points elsewhere; the panel still sends to the practice provider,
    whose stats it compares with."""
    monkeypatch.setenv("OPENROUTER_API_BASE", "http://127.0.0.1:9/api/v1")  # nothing listens there
    panel = BudgetPanel(provider, budget=0.005, requests=2)
    assert panel.run()["отправлено"] == 2 and provider.stats()["requests"] == 2
    assert abs(panel.guard.spent() - provider.stats()["cost"]) < 1e-12


def test_slider_and_reset(provider) -> None:
    panel = BudgetPanel(provider, budget=0.002, requests=3)
    panel.run()
    spent = panel.guard.spent()
    gauge = panel.gauge.value
    panel.budget.value = 0.004  # observer: same guard, new limit
    assert panel.guard.limit == 0.004 and panel.guard.spent() == spent
    assert panel.gauge.value != gauge
    assert panel.run()["отправлено"] >= 1
    panel.reset()
    assert panel.guard.spent() == 0.0 and "потрачено $0.000000" in panel.result.value
