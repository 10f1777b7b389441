"""Lesson 03 panel «симулятор аварий»: the handler runs and the widgets show the result."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from course_helpers.panels.fallbacks import FAILED, CrashSimulator, draw_batch, summarize


pytestmark = pytest.mark.usefixtures("drain_litellm_logging")


@pytest.fixture
def simulator(provider):
    panel = CrashSimulator(provider)
    panel.count.value = 10
    return panel


def test_run_draws_chart_and_table_and_matches_provider_stats(simulator, provider) -> None:
    before = (simulator.summary.value, simulator.plot.value)
    simulator.sliders[0].value = 1.0  # the primary is down for good
    batch = simulator.run()
    assert (simulator.summary.value, simulator.plot.value) != before
    assert simulator.plot.value[:4] == b"\x89PNG"
    assert "Серия из 10: основная ответила 0" in simulator.summary.value
    assert batch.served_count("openai/gpt-4o") == 0 and len(batch.served) == 10
    by_model = provider.stats()["by_model"]
    assert by_model["openai/gpt-4o"]["requests"] == 10  # every request tried the primary first
    for model in batch.models:
        requests = by_model.get(model, {}).get("requests", 0)
        assert batch.served_count(model) + batch.failed_count(model) == requests
    import litellm

    r = litellm.completion(model="openrouter/openai/gpt-4o", messages=[{"role": "user", "content": "после серии"}])
    assert r.model == "openai/gpt-4o"  # the batch's faults were cleared


def test_same_sliders_same_picture(simulator) -> None:
    first = simulator.run().served
    second = simulator.run().served
    assert first == second and len(set(first)) >= 2


def test_everything_down_counts_lost_requests(simulator) -> None:
    for slider in simulator.sliders:
        slider.value = 1.0
    simulator.status.value = "429 — лимит запросов"
    batch = simulator.run()
    assert batch.served_count(None) == 10
    assert [FAILED, 10, "", ""] in batch.rows()
    assert "без ответа — 10" in simulator.summary.value


def test_button_click_runs_the_batch(simulator) -> None:
    simulator.count.value = 5
    simulator.button.click()
    assert "Серия из 5" in simulator.summary.value


def test_summarize_rejects_a_log_that_is_not_the_batch() -> None:
    with pytest.raises(ValueError, match="reset"):
        summarize(["openrouter/openai/gpt-4o"], ["openai/gpt-4o"], [])
    batch = summarize(["openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini"], [None, "openai/gpt-4o-mini"],
                      [{"model": "openai/gpt-4o", "status": 503}, {"model": "openai/gpt-4o-mini", "status": 503},
                       {"model": "openai/gpt-4o", "status": 503}, {"model": "openai/gpt-4o-mini", "status": 200}])
    assert batch.tried[0] == [("openai/gpt-4o", 503), ("openai/gpt-4o-mini", 503)]
    assert batch.failed_count("openai/gpt-4o") == 2 and batch.served_count(None) == 1
    assert len(draw_batch(Figure(), batch).axes) == 2
