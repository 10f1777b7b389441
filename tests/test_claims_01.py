"""Lesson 01 (caching): every claim the lesson makes about LiteLLM, on the pinned version.

``litellm.cache`` is global: the autouse fixture restores it (and ``default_redis_ttl``)
after every test, so other test files see the cache state they expect. Every test uses
its own prompts (a uuid), so a persistent cache never answers for another test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import litellm
import pytest
from litellm.caching.caching import LiteLLMCacheType

MODEL = "openrouter/openai/gpt-4o-mini"


@pytest.fixture(autouse=True)
def _restore_cache() -> Iterator[None]:
    saved, saved_ttl = litellm.cache, litellm.default_redis_ttl
    litellm.disable_cache()
    yield
    litellm.disable_cache()
    litellm.default_redis_ttl = saved_ttl
    if saved is not None:
        litellm.cache = saved
        litellm.enable_cache()


def msgs(tag: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"test_claims_01 {tag} {uuid.uuid4().hex[:10]}"}]


def call(messages, **kwargs):
    return litellm.completion(model=kwargs.pop("model", MODEL), messages=messages, **kwargs)


def hit(response) -> bool:
    return response._hidden_params.get("cache_hit") is True


def disk(tmp_path: Path) -> Path:
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    return tmp_path


def run_child(code: str, *args: str) -> str:
    """Run python code in a fresh process with this environment (practice provider env vars)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# --- 1.2 disk cache as in the seed ---------------------------------------------------------
def test_disk_cache_miss_then_hits(provider, tmp_path) -> None:
    disk(tmp_path)
    assert type(litellm.cache.cache).__name__ == "DiskCache"
    assert "cache.db" in os.listdir(tmp_path)
    m = msgs("disk")
    first = call(m)
    assert "cache_hit" not in first._hidden_params  # a miss has no key at all: .get() gives None
    assert first._hidden_params.get("cache_hit") is None
    assert first._hidden_params["response_cost"] > 0
    for _ in range(3):
        again = call(m)
        assert again._hidden_params["cache_hit"] is True
        assert again._hidden_params["response_cost"] == 0.0
        assert again.choices[0].message.content == first.choices[0].message.content
    assert provider.stats()["requests"] == 1
    assert again._hidden_params["cache_key"] == litellm.cache.get_cache_key(model=MODEL, messages=m)
    assert len(again._hidden_params["cache_key"]) == 64  # sha256 hex


def test_miss_indexing_raises_key_error(provider, tmp_path) -> None:
    disk(tmp_path)
    with pytest.raises(KeyError):
        call(msgs("keyerror"))._hidden_params["cache_hit"]


# --- 1.3 the first hit's lazy imports, 1.4 persistence across processes -------------------
CHILD = """
import sys, time, litellm
from litellm.caching.caching import LiteLLMCacheType
if sys.argv[1] == "disk":
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[2])
else:
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=sys.argv[2], port=sys.argv[3])
m = [{"role": "user", "content": sys.argv[-1]}]
before = set(sys.modules)
r = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
new = set(sys.modules) - before
print(r._hidden_params.get("cache_hit"), *sorted(n for n in ("fastapi", "orjson", "soundfile") if n in new))
"""


def test_disk_cache_shared_with_a_second_process_and_first_hit_imports(provider, tmp_path) -> None:
    disk(tmp_path)
    prompt = msgs("second-process")[0]["content"]
    call([{"role": "user", "content": prompt}])
    before = provider.stats()["requests"]
    out = run_child(CHILD, "disk", str(tmp_path), prompt).split()
    assert out == ["True", "fastapi", "orjson", "soundfile"]  # a hit, and what the first hit imported
    assert provider.stats()["requests"] == before  # the provider got 0 new requests


def test_first_hit_is_slower_than_later_hits(provider, tmp_path) -> None:
    code = """
    import sys, time, litellm
    from litellm.caching.caching import LiteLLMCacheType
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[1])
    m = [{"role": "user", "content": sys.argv[2]}]
    litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
    times = []
    for _ in range(6):
        t = time.perf_counter(); litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
        times.append(time.perf_counter() - t)
    later = sorted(times[1:])
    print(times[0] > 10 * later[len(later) // 2])  # first hit vs the median later hit
    """
    assert run_child(code, str(tmp_path), msgs("lazy")[0]["content"]).strip() == "True"


# --- 1.5 the cache key -----------------------------------------------------------------------
KEY_VARIANTS = [
    ("same", {}, True),
    ("temperature", {"temperature": 0.7}, False),
    ("max_tokens", {"max_tokens": 50}, False),
    ("seed", {"seed": 1}, False),
    ("user", {"user": "u1"}, False),
    ("other model", {"model": "openrouter/openai/gpt-4o"}, False),
    ("openai/ prefix", {"model": "openai/gpt-4o-mini"}, False),
    ("metadata", {"metadata": {"team": "a"}}, True),
    ("timeout", {"timeout": 30}, True),
    ("num_retries", {"num_retries": 2}, True),
    ("wrong api_key", {"api_key": "wrong-practice-key"}, True),
]


@pytest.mark.parametrize("name,kwargs,expect_hit", KEY_VARIANTS, ids=[v[0] for v in KEY_VARIANTS])
def test_what_is_in_the_cache_key(provider, name, kwargs, expect_hit) -> None:
    litellm.enable_cache()
    m = msgs("key")
    call(m)
    before = provider.stats()["requests"]
    r = call(m, **kwargs)
    assert hit(r) is expect_hit
    assert provider.stats()["requests"] - before == (0 if expect_hit else 1)


def test_messages_are_compared_byte_exact(provider) -> None:
    litellm.enable_cache()
    m = msgs("space")
    call(m)
    spaced = [{"role": "user", "content": m[0]["content"] + " "}]
    assert not hit(call(spaced))


def test_wrong_key_gets_cached_answer_but_401_without_cache(provider) -> None:
    litellm.enable_cache()
    m = msgs("security")
    call(m)
    assert hit(call(m, api_key="wrong-practice-key"))
    with pytest.raises(litellm.AuthenticationError) as info:
        call(msgs("security-miss"), api_key="wrong-practice-key")
    assert info.value.status_code == 401


# --- 1.6 per-call controls, disable_cache ------------------------------------------------------
def test_no_cache_skips_read_and_stores_fresh_answer(provider) -> None:
    litellm.enable_cache()
    m = msgs("no-cache")
    call(m)
    assert not hit(call(m, cache={"no-cache": True}))
    assert hit(call(m))
    assert provider.stats()["requests"] == 2


def test_no_store_does_not_write(provider) -> None:
    litellm.enable_cache()
    m = msgs("no-store")
    call(m, cache={"no-store": True})
    assert not hit(call(m))
    assert provider.stats()["requests"] == 2


def test_caching_false_bypasses_cache(provider) -> None:
    litellm.enable_cache()
    m = msgs("caching-false")
    call(m)
    assert not hit(call(m, caching=False))
    assert provider.stats()["requests"] == 2


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_ttl_and_s_maxage(provider, tmp_path, kind) -> None:
    disk(tmp_path) if kind == "disk" else litellm.enable_cache()
    m_ttl, m_age = msgs("ttl"), msgs("s-maxage")
    call(m_ttl, cache={"ttl": 1})
    assert hit(call(m_ttl))
    call(m_age)
    time.sleep(1.5)
    assert not hit(call(m_ttl))  # expired
    assert hit(call(m_age, cache={"s-maxage": 60}))  # 1.5 s old is young enough
    assert not hit(call(m_age, cache={"s-maxage": 1}))  # too old: refetched


def test_disable_cache_sets_none_and_disk_survives_reenable(provider, tmp_path) -> None:
    disk(tmp_path)
    m = msgs("disable")
    call(m)
    litellm.disable_cache()
    assert litellm.cache is None
    assert not hit(call(m))
    disk(tmp_path)
    assert hit(call(m))


# --- 1.7 LOCAL, enable_cache does not replace ----------------------------------------------------
def test_local_cache_default_ttl_and_lost_on_recreate(provider) -> None:
    litellm.enable_cache()
    assert type(litellm.cache.cache).__name__ == "InMemoryCache"
    assert litellm.cache.cache.default_ttl == 600
    m = msgs("local")
    call(m)
    assert hit(call(m))
    litellm.disable_cache()
    litellm.enable_cache()
    assert not hit(call(m))


def test_enable_cache_keeps_an_existing_cache_update_cache_replaces(tmp_path) -> None:
    disk(tmp_path)
    existing = litellm.cache
    litellm.enable_cache()
    assert litellm.cache is existing and type(litellm.cache.cache).__name__ == "DiskCache"
    litellm.update_cache(type=LiteLLMCacheType.LOCAL)
    assert type(litellm.cache.cache).__name__ == "InMemoryCache"


# --- 1.8 async and streaming --------------------------------------------------------------------
def test_async_cached_shared_with_sync_and_write_is_background(provider) -> None:
    litellm.enable_cache()

    async def scenario() -> tuple[int, bool, bool]:
        misses = 0
        for i in range(3):
            m = msgs(f"race{i}")
            await litellm.acompletion(model=MODEL, messages=m)
            misses += not hit(await litellm.acompletion(model=MODEL, messages=m))
        m = msgs("async-later")
        await litellm.acompletion(model=MODEL, messages=m)
        await asyncio.sleep(0.5)
        later = hit(await litellm.acompletion(model=MODEL, messages=m))
        return misses, later, hit(litellm.completion(model=MODEL, messages=m))

    misses, later, sync_hit = asyncio.run(scenario())
    assert misses > 0  # an immediate repeat may miss: the cache write is a background task
    assert later and sync_hit


def test_concurrent_identical_requests_all_reach_the_provider(provider) -> None:
    litellm.enable_cache()
    m = msgs("gather")

    async def scenario():
        return await asyncio.gather(*[litellm.acompletion(model=MODEL, messages=m) for _ in range(5)])

    results = asyncio.run(scenario())
    assert sum(hit(r) for r in results) == 0
    assert provider.stats()["requests"] == 5


def test_stream_is_cached_replayed_as_stream_and_keyed_separately(provider) -> None:
    litellm.enable_cache()
    m = msgs("stream")

    def read(stream) -> str:
        return "".join(c.choices[0].delta.content or "" for c in stream)

    text = read(call(m, stream=True))
    time.sleep(1)  # the stream is written to the cache in the background
    replay = call(m, stream=True)
    assert type(replay).__name__ == "CustomStreamWrapper"
    assert read(replay) == text
    assert replay._hidden_params.get("cache_hit") is True
    assert provider.stats()["requests"] == 1
    assert not hit(call(m))  # stream=True is part of the key
    assert provider.stats()["requests"] == 2


# --- 1.9 Redis -----------------------------------------------------------------------------------
def redis_cache(redis_url: str, **options):
    import redis

    from course_helpers.redis_server import redis_host_port

    host, port = redis_host_port(redis_url)
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=host, port=str(port), **options)
    return redis.Redis(host=host, port=port), host, port


def test_redis_keys_are_sha256_with_60s_default_ttl(provider, redis_url) -> None:
    client, _, _ = redis_cache(redis_url)
    m = msgs("redis")
    call(m)
    r = call(m)
    assert hit(r) and provider.stats()["requests"] == 1
    key = r._hidden_params["cache_key"]
    assert len(key) == 64 and client.exists(key) and client.type(key) == b"string"
    assert round(client.pttl(key) / 1000) == 60


def test_redis_namespace_and_ttl_options(provider, redis_url) -> None:
    client, _, _ = redis_cache(redis_url, namespace="claims01")
    m = msgs("ns")
    key = litellm.cache.get_cache_key(model=MODEL, messages=m)
    call(m)
    assert key.startswith("claims01:") and client.exists(key)
    assert round(client.pttl(key) / 1000) == 60
    litellm.disable_cache()
    redis_cache(redis_url, namespace="claims01", ttl=3600)
    m = msgs("ttl3600")
    call(m)
    assert round(client.pttl(litellm.cache.get_cache_key(model=MODEL, messages=m)) / 1000) == 3600


def test_default_redis_ttl_is_read_when_the_cache_is_created(provider, redis_url) -> None:
    client, _, _ = redis_cache(redis_url, namespace="claims01")
    litellm.default_redis_ttl = 86400  # too late: the cache exists
    m = msgs("late")
    call(m)
    assert round(client.pttl(litellm.cache.get_cache_key(model=MODEL, messages=m)) / 1000) == 60
    litellm.disable_cache()
    redis_cache(redis_url, namespace="claims01")  # created after the setting
    m = msgs("early")
    call(m)
    assert round(client.pttl(litellm.cache.get_cache_key(model=MODEL, messages=m)) / 1000) == 86400


def test_redis_hit_shared_with_a_second_process(provider, redis_url) -> None:
    _, host, port = redis_cache(redis_url)
    prompt = msgs("redis-second")[0]["content"]
    call([{"role": "user", "content": prompt}])
    before = provider.stats()["requests"]
    out = run_child(CHILD, "redis", host, str(port), prompt).split()
    assert out[0] == "True"
    assert provider.stats()["requests"] == before


# --- 1.10 cache types, setup_caching ---------------------------------------------------------------
def test_real_cache_types() -> None:
    members = list(LiteLLMCacheType.__members__)
    assert members == ["LOCAL", "REDIS", "REDIS_SEMANTIC", "VALKEY_SEMANTIC", "S3", "DISK",
                       "QDRANT_SEMANTIC", "AZURE_BLOB", "GCS"]
    assert not {"MONGODB", "DYNAMODB", "CLOUDFLARE"} & set(members)


def test_setup_caching_local_and_redis_ttl(redis_url) -> None:
    from course_helpers import setup_caching

    assert type(setup_caching("local").cache).__name__ == "InMemoryCache"
    litellm.disable_cache()
    cache = setup_caching("redis")
    assert type(cache.cache).__name__ == "RedisCache" and cache.ttl == 3600
