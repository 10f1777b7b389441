"""Lesson 07 panel: the «стенд» handlers change the widgets; the latency figure renders."""

from __future__ import annotations

import litellm
import pytest
from litellm.caching.caching import LiteLLMCacheType

from course_helpers.measure import CACHED, UNCACHED, WARMUP, CacheMeasurement, FreshProcessHits, Sample
from course_helpers.panels.practical import FAILURES, FallbackStand, latency_figure

MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]


@pytest.fixture
def disk_cache(tmp_path):
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    yield tmp_path
    litellm.disable_cache()


@pytest.mark.parametrize("label", list(FAILURES), ids=list(FAILURES.values()))
def test_stand_run_shows_who_answered(provider, disk_cache, label: str) -> None:
    stand = FallbackStand(provider, MODELS, prompt=f"стенд: {label}")
    initial = stand.result.value
    stand.failure.value = label
    run = stand.run()
    assert stand.result.value != initial and bytes(stand.image.value).startswith(b"\x89PNG")
    assert run.answered_by in stand.result.value
    if FAILURES[label] == "none":
        assert run.answered_by == "openai/gpt-4o-mini" and run.attempted_fallbacks == 0
        assert run.repeat_model == "openai/gpt-4o-mini"
    else:
        assert run.answered_by == "anthropic/claude-3-haiku" and run.attempted_fallbacks == 1
        assert 200 not in run.primary_statuses and run.fallback_statuses == [200]
        assert run.repeat_model == "anthropic/claude-3-haiku"  # trap 2: the fallback's answer is cached
    assert run.repeat_cache_hit
    # the primary is healed after every run: no faults or limits left behind
    after = litellm.completion(model=MODELS[0], messages=[{"role": "user", "content": f"после {label}"}])
    assert after.model == "openai/gpt-4o-mini"


def test_stand_button_click_runs(provider, disk_cache) -> None:
    stand = FallbackStand(provider, MODELS, prompt="стенд: кнопка")
    stand.failure.value = "сбой провайдера: 503 (course.provider.fail)"
    stand.button.click()
    assert "РЕЗЕРВНАЯ" in stand.result.value


def test_stand_needs_a_fallback(provider) -> None:
    with pytest.raises(ValueError):
        FallbackStand(provider, MODELS[:1])


def test_latency_figure_renders() -> None:
    samples = [Sample(f"p{i}", UNCACHED, 500.0 + i, "m") for i in range(3)]
    samples += [Sample("p0", WARMUP, 2.0, "m")] + [Sample(f"p{i}", CACHED, 1.0, "m") for i in range(3)]
    m = CacheMeasurement(samples=samples, provider_requests=3)
    fresh = FreshProcessHits(first_call_ms=150, hits_ms=[200.0, 1.0, 1.2], all_hits=True,
                             loaded_on_first_hit=["fastapi", "orjson", "soundfile"])
    fig = latency_figure(m, fresh)
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    assert m.ratio == pytest.approx(501.0) and "×501" in m.report() and "1.0 мс" in m.report()
    assert fresh.import_cost_ms == pytest.approx(198.9) and "True" in fresh.report()
