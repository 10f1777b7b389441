"""Lesson 01 panel «лаборатория кэша»: handlers change the widgets' output."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import litellm
import pytest

from course_helpers.panels.caching import HIT, MISS, OFF, CacheLab


@pytest.fixture
def lab(provider) -> Iterator[CacheLab]:
    saved = litellm.cache
    litellm.disable_cache()
    litellm.enable_cache()  # the panel uses whatever cache the notebook enabled
    panel = CacheLab(provider)
    panel.prompt.value = f"test_panel_01 {uuid.uuid4().hex[:10]}"
    yield panel
    litellm.disable_cache()
    if saved is not None:
        litellm.cache = saved
        litellm.enable_cache()


def test_send_twice_is_miss_then_hit_and_chart_grows(lab: CacheLab, provider) -> None:
    initial_html, initial_chart = lab.result.value, lab.chart.value
    assert lab.send() == MISS
    assert lab.result.value != initial_html and "промах" in lab.result.value
    first_chart = lab.chart.value
    assert first_chart and first_chart != initial_chart and first_chart[:4] == b"\x89PNG"
    assert lab.send() == HIT
    assert "попадание" in lab.result.value and "InMemoryCache" in lab.result.value
    assert lab.chart.value != first_chart
    assert [s.reached_provider for s in lab.history] == [1, 0]
    assert provider.stats()["requests"] == 1


def test_parameters_change_the_key_and_checkbox_bypasses(lab: CacheLab, provider) -> None:
    lab.send()
    lab.temperature.value = 0.5
    assert lab.send() == MISS  # temperature is part of the cache key
    lab.temperature.value = 0.0
    assert lab.send() == HIT
    lab.use_cache.value = False
    assert lab.send() == OFF and "без кэша" in lab.result.value
    assert provider.stats()["requests"] == 3


def test_unticked_checkbox_neither_reads_nor_writes(lab: CacheLab, provider) -> None:
    lab.use_cache.value = False
    assert lab.send() == OFF
    lab.use_cache.value = True
    assert lab.send() == MISS  # caching=False would have written the answer: a HIT here
    assert lab.send() == HIT
    assert [s.reached_provider for s in lab.history] == [1, 1, 0]
    assert "caching=False" not in lab.use_cache.description


def test_button_click_and_clear(lab: CacheLab) -> None:
    lab.button.click()
    assert len(lab.history) == 1 and lab.chart.value
    lab.reset_button.click()
    assert lab.history == [] and lab.chart.value == b"" and "очищена" in lab.result.value


def test_error_is_shown_not_raised(lab: CacheLab, provider) -> None:
    provider.fail("openai/gpt-4o-mini", 503, times=1)
    assert lab.send() == "ошибка"
    assert "ServiceUnavailableError" in lab.result.value


def test_no_cache_enabled_is_reported(lab: CacheLab) -> None:
    litellm.disable_cache()
    assert lab.send() == MISS
    assert "litellm.cache is None" in lab.result.value
