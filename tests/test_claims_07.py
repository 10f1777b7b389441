"""Lesson 07 (practical task): every claim the lesson makes about LiteLLM 1.108.14, as a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import litellm
import pytest
from litellm.caching.caching import LiteLLMCacheType

from course_helpers.measure import first_hits_in_new_process, is_cache_hit, measure_cache

PRIMARY = "openrouter/openai/gpt-4o-mini"
FALLBACK = "openrouter/anthropic/claude-3-haiku"
PRIMARY_ID, FALLBACK_ID = "openai/gpt-4o-mini", "anthropic/claude-3-haiku"
NO_CACHE = {"no-cache": True, "no-store": True}


def msgs(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def attempted(response) -> int:
    return response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]


def entries(provider, start: int = 0) -> list[tuple[str, object]]:
    return [(e["model"], e["status"]) for e in provider.log()[start:]]


@pytest.fixture
def no_cache() -> Iterator[None]:
    litellm.disable_cache()
    yield
    litellm.disable_cache()


@pytest.fixture
def disk_cache(tmp_path: Path, no_cache) -> Iterator[Path]:
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    yield tmp_path


# --- 7.2 the seed's example solution -----------------------------------------------------------

def test_seed_nonexistent_model_fails_before_the_network(provider, no_cache) -> None:
    with pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model="несуществующая-модель", messages=msgs("Что такое Python?"))
    assert info.value.status_code == 400
    assert "LLM Provider NOT provided" in str(info.value)
    assert provider.requests() == 0


def test_seed_example_solution_never_reaches_the_fallback(provider, disk_cache) -> None:
    """The seed's script, run as written (its disk cache, its models, its failure): no fallback."""
    models = [PRIMARY, "openrouter/openai/gpt-3.5-turbo"]
    messages = msgs("Что такое Python?")
    try:
        response = litellm.completion(model=models[0], messages=messages)
    except Exception:  # the seed's manual fallback: never taken, the primary is healthy
        response = litellm.completion(model=models[1], messages=messages)
    second = litellm.completion(model=models[0], messages=messages)
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model="несуществующая-модель", messages=messages)
    assert response.model == PRIMARY_ID and is_cache_hit(second)
    assert entries(provider) == [(PRIMARY_ID, 200)]  # the fallback model never got a request


def test_seed_disk_cache_persists_so_a_rerun_gets_two_hits(provider, tmp_path, no_cache) -> None:
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    litellm.completion(model=PRIMARY, messages=msgs("повторный запуск"))
    litellm.disable_cache()  # "a new run of the script": a new Cache object on the same folder
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    both = [litellm.completion(model=PRIMARY, messages=msgs("повторный запуск")) for _ in range(2)]
    assert all(is_cache_hit(r) for r in both) and provider.requests() == 1


# --- 7.3 step 1 -------------------------------------------------------------------------------------

def test_enable_cache_silently_keeps_an_existing_cache(tmp_path, no_cache) -> None:
    litellm.enable_cache()  # in-memory
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    assert type(litellm.cache.cache).__name__ == "InMemoryCache"
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    assert type(litellm.cache.cache).__name__ == "DiskCache"
    assert (tmp_path / "cache.db").exists()


# --- 7.5 / 7.6 steps 3 and 4 ----------------------------------------------------------------------

def test_miss_is_none_hit_is_true_one_request(provider, disk_cache) -> None:
    first = litellm.completion(model=PRIMARY, messages=msgs("Что такое Python?"))
    second = litellm.completion(model=PRIMARY, messages=msgs("Что такое Python?"))
    assert first._hidden_params.get("cache_hit") is None  # not False
    assert second._hidden_params.get("cache_hit") is True
    assert second._hidden_params["response_cost"] == 0.0 and first._hidden_params["response_cost"] > 0
    assert provider.requests() == 1


def test_fallbacks_kwarg_is_not_part_of_the_cache_key(provider, disk_cache) -> None:
    litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs("ключ кэша"))
    plain = litellm.completion(model=PRIMARY, messages=msgs("ключ кэша"))
    assert is_cache_hit(plain) and provider.requests() == 1


# --- 7.7 the measurement ------------------------------------------------------------------------------

def test_measurement_uncached_reach_the_model_cached_do_not(provider, disk_cache) -> None:
    def send(prompt: str, **kwargs):
        return litellm.completion(model=PRIMARY, messages=msgs(prompt), **kwargs)

    m = measure_cache(send, ["замер 1", "замер 2"], repeats=2, provider=provider)
    assert len(m.ms("uncached")) == 4 and len(m.ms("cached")) == 3 and len(m.ms("warmup")) == 1
    assert m.provider_requests == 4  # cache={"no-cache": True} skips the read and reaches the model
    assert m.always_faster and m.ratio > 10


def test_first_hit_in_a_new_process_pays_for_lazy_imports(provider, disk_cache) -> None:
    litellm.completion(model=PRIMARY, messages=msgs("новый процесс"))
    fresh = first_hits_in_new_process(disk_cache, PRIMARY, "новый процесс")
    assert fresh.all_hits and provider.requests() == 1
    assert {"fastapi", "orjson", "soundfile"} <= set(fresh.loaded_on_first_hit)
    assert fresh.hits_ms[0] > max(fresh.hits_ms[1:])


# --- 7.8 step 5: the primary fails ---------------------------------------------------------------------

def test_outage_falls_back_and_the_evidence(provider, no_cache) -> None:
    provider.fail(PRIMARY_ID, 503, times=1)
    r = litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs("сбой"))
    assert r.model == FALLBACK_ID and attempted(r) == 1
    assert r._hidden_params["litellm_model_name"] == PRIMARY  # misleading: still the primary
    assert entries(provider) == [(PRIMARY_ID, 503), (FALLBACK_ID, 200)]


def test_wrong_api_key_reaches_string_fallbacks_too(provider, no_cache) -> None:
    with pytest.raises(litellm.APIConnectionError) as info:
        litellm.completion(model=PRIMARY, api_key="wrong", fallbacks=[FALLBACK], messages=msgs("ключ"),
                           cache=NO_CACHE)
    assert info.value.status_code == 500
    r = litellm.completion(model=PRIMARY, api_key="wrong", messages=msgs("ключ"), cache=NO_CACHE,
                           fallbacks=[{"model": FALLBACK, "api_key": os.environ["OPENROUTER_API_KEY"]}])
    assert r.model == FALLBACK_ID and attempted(r) == 1
    assert (PRIMARY_ID, 200) not in entries(provider) and entries(provider)[-1] == (FALLBACK_ID, 200)
    # the lesson says the log shows the primary's refusal: the wrong key is counted as a 401 line
    assert entries(provider)[-2:] == [(PRIMARY_ID, 401), (FALLBACK_ID, 200)]


def test_rate_limit_429_falls_back(provider, no_cache) -> None:
    provider.set_limits(PRIMARY_ID, rpm=1)
    answered = [litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs(f"лимит {i}")).model
                for i in range(3)]
    assert answered == [PRIMARY_ID, FALLBACK_ID, FALLBACK_ID]
    assert entries(provider) == [(PRIMARY_ID, 200), (PRIMARY_ID, 429), (FALLBACK_ID, 200),
                                 (PRIMARY_ID, 429), (FALLBACK_ID, 200)]


def test_a_cached_answer_hides_the_outage(provider, disk_cache) -> None:
    litellm.completion(model=PRIMARY, messages=msgs("Что такое Python?"))
    provider.fail(PRIMARY_ID, 503)
    r = litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs("Что такое Python?"))
    assert is_cache_hit(r) and r.model == PRIMARY_ID and provider.requests() == 1


@pytest.mark.parametrize("options", [{}, {"cache": {"no-cache": True}}, {"caching": False}],
                         ids=["plain", "no-cache", "caching=False"])
def test_fallback_answer_is_stored_under_the_primary_key(provider, disk_cache, options) -> None:
    provider.fail(PRIMARY_ID, 503)
    litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs("ловушка 2"), **options)
    provider.clear_faults()
    after = litellm.completion(model=PRIMARY, messages=msgs("ловушка 2"))
    assert is_cache_hit(after) and after.model == FALLBACK_ID


def test_no_store_keeps_the_fallback_answer_out_of_the_cache(provider, disk_cache) -> None:
    provider.fail(PRIMARY_ID, 503)
    r = litellm.completion(model=PRIMARY, fallbacks=[FALLBACK], messages=msgs("no-store"), cache=NO_CACHE)
    assert r.model == FALLBACK_ID
    provider.clear_faults()
    after = litellm.completion(model=PRIMARY, messages=msgs("no-store"))
    assert not is_cache_hit(after) and after.model == PRIMARY_ID


# --- 7.10 extensions ----------------------------------------------------------------------------------

def test_redis_cache_default_ttl_is_60_seconds(provider, redis_url, no_cache) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    ttls = {}
    for ttl in (None, 3600):
        litellm.disable_cache()
        litellm.enable_cache(type=LiteLLMCacheType.REDIS, url=redis_url,
                             **({"ttl": ttl} if ttl else {}))
        before = set(client.keys("*"))
        litellm.completion(model=PRIMARY, messages=msgs(f"redis ttl {ttl}"))
        new = set(client.keys("*")) - before
        assert len(new) == 1
        ttls[ttl] = client.ttl(next(iter(new)))
        client.delete(*new)
    assert 55 <= ttls[None] <= 60 and ttls[3600] > 3500


def test_router_fallbacks_must_be_dicts_and_work_when_both_deployments_fail(provider, no_cache) -> None:
    from litellm import Router

    def dep(group: str, model: str, name: str) -> dict:
        return {"model_name": group, "litellm_params": {"model": model, "api_key": provider.key,
                                                         "api_base": provider.api_base("openrouter", deployment=name)}}

    model_list = [dep("main", PRIMARY, "d1"), dep("main", PRIMARY, "d2"), dep("backup", FALLBACK, "b1")]
    with pytest.raises(ValueError):
        Router(model_list=model_list, fallbacks=["backup"])
    router = Router(model_list=model_list, fallbacks=[{"main": ["backup"]}])
    for name in ("d1", "d2"):
        provider.fail("*", 401, deployment=name)
    r = router.completion(model="main", messages=msgs("router"))
    headers = r._hidden_params["additional_headers"]
    assert r.model == FALLBACK_ID and headers["x-litellm-model-group"] == "backup"
    assert headers["x-litellm-attempted-fallbacks"] == 1


def test_max_budget_does_not_stop_completion_calls(provider, no_cache) -> None:
    saved = litellm.max_budget
    litellm.max_budget = 1e-9
    try:
        for i in range(3):
            litellm.completion(model=PRIMARY, messages=msgs(f"бюджет {i}"))
    finally:
        litellm.max_budget = saved
    assert provider.stats()["by_model"][PRIMARY_ID]["status_200"] == 3


FIRST_CALL = """
import time, litellm
times = []
for _ in range(2):
    start = time.perf_counter()
    litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}], mock_response="ok")
    times.append(time.perf_counter() - start)
print(times[0], times[1])
"""


def test_first_completion_of_a_process_pays_a_one_time_price_without_network_or_cache() -> None:
    """7 «Для любопытных»: the first completion() of a process is several times slower than the second,
    with mock_response (no network) and no cache."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True, timeout=120)
    first, second = map(float, done.stdout.split()[-2:])
    assert first > 3 * second, (first, second)
