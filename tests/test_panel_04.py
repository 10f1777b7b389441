"""Lesson 04 panel: the handler runs and the widgets show the result."""

from __future__ import annotations

import time

import litellm
import pytest

from course_helpers.custom_provider import restored_provider_map
from course_helpers.panels.custom import CustomProviderPlayground


@pytest.fixture
def playground(provider):
    with restored_provider_map():
        litellm.custom_provider_map = []
        yield CustomProviderPlayground(provider)


def test_registers_the_project_provider_when_none_is_registered(playground) -> None:
    assert [item["provider"] for item in litellm.custom_provider_map] == ["practice"]


def test_stream_grows_the_answer_and_shows_tokens_cost_and_plot(playground, provider) -> None:
    before = (playground.answer.value, playground.summary.value, playground.plot.value)
    result = playground.send()
    assert result["outcome"] == "ok" and result["chunks"] > 3
    assert result["text"].startswith("Python") and result["text"] in playground.answer.value
    assert result["completion_tokens"] == 60 and result["cost"] > 0
    assert "потоковый" in playground.summary.value and "мс" in playground.summary.value
    assert playground.plot.value[:4] == b"\x89PNG"
    assert (playground.answer.value, playground.summary.value, playground.plot.value) != before
    assert provider.requests(model="practice/generate") == 1


def test_plain_mode_and_the_comparison_model(playground, provider) -> None:
    playground.mode.value = "обычный"
    playground.max_tokens.value = 20
    result = playground.send()
    assert result["chunks"] == 1 and result["completion_tokens"] == 20
    playground.model.value = "openrouter/openai/gpt-4o-mini — для сравнения"
    playground.mode.value = "потоковый"
    result = playground.send()
    assert result["outcome"] == "ok" and result["cost"] > 0
    assert provider.requests(model="openai/gpt-4o-mini") == 1


def test_stream_updates_the_answer_widget_as_the_pieces_arrive(playground, provider) -> None:
    provider.set_latency_scale(1.0)
    provider.set_latency("practice/generate", base_ms=100, per_token_ms=15, jitter=0)  # 100 ms + 40 x 15 ms
    playground.max_tokens.value = 40
    updates: list[tuple[float, str]] = []
    start = time.perf_counter()
    playground.answer.observe(lambda change: updates.append((time.perf_counter() - start, change["new"])),
                              names="value")
    result = playground.send()
    growing = [(t, v) for t, v in updates if "▌" in v]  # the answer so far, with a cursor
    assert len(growing) == result["chunks"] > 5
    assert len({v for _, v in growing}) == len(growing)  # every update shows more text
    assert growing[-1][0] - growing[0][0] > 0.3  # spread over the generation time, not all at once
    assert result["arrivals_ms"][0] < result["arrivals_ms"][-1] / 2
    assert "▌" not in playground.answer.value and result["text"] in playground.answer.value


@pytest.mark.parametrize(("fault", "outcome"), [("429 — лимит запросов", "RateLimitError"),
                                                ("зависание (таймаут клиента)", "Timeout")])
def test_fault_shows_the_exception(playground, fault: str, outcome: str) -> None:
    playground.timeout = 0.5
    playground.fault.value = fault
    result = playground.send()
    assert result["outcome"] == outcome
    assert outcome in playground.answer.value and playground.summary.value == ""
