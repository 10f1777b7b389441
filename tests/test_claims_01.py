"""Lesson 01 (caching): every claim the lesson makes about LiteLLM, on the pinned version.

``litellm.cache`` is global: the autouse fixture restores it (and ``default_redis_ttl``)
after every test, so other test files see the cache state they expect. Every test uses
its own prompts (a uuid), so a persistent cache never answers for another test.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import litellm
import pytest
from litellm.caching.caching import Cache, LiteLLMCacheType

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
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, url=sys.argv[2])
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


BLOCKED_IMPORT = """
import sys, tempfile, importlib.abc
blocked = sys.argv[1]


class Block(importlib.abc.MetaPathFinder):  # as if the package were not installed
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == blocked:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)


sys.meta_path.insert(0, Block())
import litellm
from litellm.caching.caching import LiteLLMCacheType
m = [{"role": "user", "content": sys.argv[2]}]
try:
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=tempfile.mkdtemp())
    litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
    litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=m)
except ModuleNotFoundError as error:
    print(error)
"""


@pytest.mark.parametrize("package,message", [("diskcache", "Please install litellm with `litellm[caching]`"),
                                             ("fastapi", "No module named 'fastapi'")])
def test_without_the_caching_packages_enable_or_the_first_hit_fails(provider, package, message) -> None:
    """1.1: a plain `pip install litellm` has no diskcache (enable_cache fails) and no fastapi (the first hit fails)."""
    assert message in run_child(BLOCKED_IMPORT, package, msgs("plain-install")[0]["content"])


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


def test_api_base_is_not_in_the_key(provider) -> None:
    litellm.enable_cache()
    m = msgs("api-base")
    call(m)  # the default deployment (OPENROUTER_API_BASE)
    r = call(m, api_base=provider.api_base("openrouter", deployment="d2"))
    assert hit(r) and provider.stats()["requests"] == 1
    call(m, cache={"no-cache": True}, api_base=provider.api_base("openrouter", deployment="d1"))
    r = call(m, api_base=provider.api_base("openrouter", deployment="d2"))
    assert hit(r) and provider.requests(deployment="d2") == 0  # d1's answer served for d2


def test_namespace_separates_tenants_with_a_prefixed_key(provider) -> None:
    litellm.enable_cache()
    m = msgs("namespace")
    alice = call(m, cache={"namespace": "alice"})
    bob = call(m, cache={"namespace": "bob"})
    assert not hit(alice) and not hit(bob) and provider.stats()["requests"] == 2
    again = call(m, cache={"namespace": "alice"})
    assert hit(again) and again.id == alice.id != bob.id  # alice's own stored answer
    plain_key = litellm.cache.get_cache_key(model=MODEL, messages=m)
    assert again._hidden_params["cache_key"] == f"alice:{plain_key}"
    assert litellm.cache.get_cache_key(model=MODEL, messages=m, cache={"namespace": "alice"}) == f"alice:{plain_key}"
    assert not hit(call(m))  # without a namespace: a third key
    assert provider.stats()["requests"] == 3


@contextmanager
def recording_proxy(target: str) -> Iterator[tuple[str, list[dict]]]:
    """A loopback proxy in front of the practice provider that records every JSON body it forwards."""
    bodies: list[dict] = []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no env proxies

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append(json.loads(data))
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            try:
                with opener.open(urllib.request.Request(target + self.path, data=data, headers=headers),
                                 timeout=60) as answer:
                    status, payload = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, payload = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", bodies
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("model,path,user_sent", [(MODEL, "/api/v1", False), ("openai/gpt-4o-mini", "/v1", True)],
                         ids=["openrouter", "openai"])
def test_namespace_never_changes_the_request_user_only_via_openai(provider, model, path, user_sent) -> None:
    litellm.enable_cache()
    m = msgs("request-body")
    with recording_proxy(provider.url) as (proxy, bodies):
        for options in ({}, {"cache": {"namespace": "alice"}}, {"user": "alice"}):
            assert not hit(call(m, model=model, api_base=proxy + path, **options))  # three keys: three requests
    plain, namespaced, with_user = bodies
    assert plain["messages"] == m
    assert namespaced == plain  # the namespace stays inside LiteLLM
    assert (with_user.pop("user", None) == "alice") is user_sent  # openrouter/ silently drops user=
    assert with_user == plain
    assert provider.stats()["requests"] == 3


def test_requests_with_more_than_4_messages_are_not_cached(provider) -> None:
    litellm.enable_cache()
    assert litellm.cache.max_messages == 4
    four = [{"role": "user", "content": f"{text} {uuid.uuid4().hex[:10]}"} for text in "abcd"]
    five = [{"role": "system", "content": "test_claims_01 max_messages"}, *four]  # the system message counts
    call(four)
    assert hit(call(four))
    call(five)
    assert not hit(call(five))  # neither read nor written
    assert provider.stats()["requests"] == 3
    litellm.cache = Cache(max_messages=None)
    call(five)
    assert hit(call(five))


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


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_caching_false_skips_the_read_but_still_writes(provider, tmp_path, kind) -> None:
    disk(tmp_path) if kind == "disk" else litellm.enable_cache()
    m = msgs("caching-false")
    assert not hit(call(m, caching=False))  # a new prompt: a miss...
    assert hit(call(m)) and provider.stats()["requests"] == 1  # ...but written: the next call is a hit
    assert not hit(call(m, caching=False))  # the read is skipped though the entry exists
    assert provider.stats()["requests"] == 2


def test_caching_false_also_writes_in_async_calls(provider) -> None:
    litellm.enable_cache()
    m = msgs("caching-false-async")

    async def scenario() -> tuple[bool, bool]:
        first = await litellm.acompletion(model=MODEL, messages=m, caching=False)
        await asyncio.sleep(0.5)  # the async write is a background task
        return hit(first), hit(await litellm.acompletion(model=MODEL, messages=m))

    assert asyncio.run(scenario()) == (False, True)
    assert provider.stats()["requests"] == 1


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_no_cache_plus_no_store_bypasses_the_cache_entirely(provider, tmp_path, kind) -> None:
    disk(tmp_path) if kind == "disk" else litellm.enable_cache()
    bypass = {"no-cache": True, "no-store": True}
    m = msgs("bypass")
    assert not hit(call(m, cache=dict(bypass)))
    assert not hit(call(m))  # nothing was written
    assert not hit(call(m, cache=dict(bypass)))  # and the entry written just now is not read
    assert provider.stats()["requests"] == 3


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


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_fractional_ttl_and_s_maxage_as_in_the_lesson(provider, tmp_path, kind) -> None:
    """1.4 uses ttl=0.5 / s-maxage=0.5 and a 0.6 s wait: fractions of a second work."""
    disk(tmp_path) if kind == "disk" else litellm.enable_cache()
    m_ttl, m_age = msgs("ttl-short"), msgs("s-maxage-short")
    call(m_ttl, cache={"ttl": 0.5})
    assert hit(call(m_ttl))
    call(m_age)
    time.sleep(0.6)
    assert not hit(call(m_ttl))
    assert hit(call(m_age, cache={"s-maxage": 60}))
    assert not hit(call(m_age, cache={"s-maxage": 0.5}))


CALLBACK_LISTS = ("input_callback", "success_callback", "_async_success_callback")


def cache_marks() -> list[bool]:
    return ["cache" in getattr(litellm, name) for name in CALLBACK_LISTS]


def test_disable_cache_sets_none_and_disk_survives_reenable(provider, tmp_path) -> None:
    disk(tmp_path)
    m = msgs("disable")
    call(m)
    litellm.disable_cache()
    assert litellm.cache is None
    assert not hit(call(m))
    disk(tmp_path)
    assert hit(call(m))


def test_disable_cache_drops_the_cache_marks_and_cache_constructor_restores_them(provider, tmp_path) -> None:
    disk(tmp_path)
    assert cache_marks() == [True, True, True]
    litellm.disable_cache()
    assert litellm.cache is None and cache_marks() == [False, False, False]
    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(tmp_path))
    assert cache_marks() == [True, True, True]


def test_cache_marks_do_not_decide_reads_and_writes(provider) -> None:
    litellm.enable_cache()
    cache = litellm.cache
    litellm.disable_cache()
    litellm.cache = cache  # an existing object back, without the marks
    assert cache_marks() == [False, False, False]
    m = msgs("no-marks")
    call(m)
    assert hit(call(m)) and provider.stats()["requests"] == 1


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_documented_cache_object_form_caches(provider, tmp_path, kind) -> None:
    options = {"type": LiteLLMCacheType.DISK, "disk_cache_dir": str(tmp_path)} if kind == "disk" else {}
    litellm.cache = Cache(**options)
    assert type(litellm.cache.cache).__name__ == ("DiskCache" if kind == "disk" else "InMemoryCache")
    m = msgs("cache-object")
    call(m)
    assert hit(call(m)) and provider.stats()["requests"] == 1
    litellm.cache = Cache(**options)  # replaces the cache: a new DISK object sees the same folder
    assert hit(call(m)) is (kind == "disk")


def test_default_off_caches_only_calls_with_use_cache(provider) -> None:
    litellm.cache = Cache(mode="default_off")
    m = msgs("opt-in")
    assert not hit(call(m)) and not hit(call(m))  # a plain call neither reads...
    assert not hit(call(m, cache={"use-cache": True}))  # ...nor writes: nothing stored yet
    assert hit(call(m, cache={"use-cache": True}))  # use-cache reads and writes
    assert not hit(call(m))  # the entry exists, a plain call still does not read it
    assert provider.stats()["requests"] == 4

    async def scenario() -> list[bool]:
        m = msgs("opt-in-async")
        hits = []
        for options in ({}, {"cache": {"use-cache": True}}, {"cache": {"use-cache": True}}):
            hits.append(hit(await litellm.acompletion(model=MODEL, messages=m, **options)))
            await asyncio.sleep(0.5)  # let a background write finish
        return hits

    assert asyncio.run(scenario()) == [False, False, True]


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


def test_local_cache_holds_at_most_200_entries(provider) -> None:
    provider.set_latency_scale(0)  # 200 quick misses; the provider fixture resets the scale
    litellm.enable_cache()
    assert litellm.cache.cache.max_size_in_memory == 200
    first = msgs("cap-first")
    call(first)
    for i in range(199):
        call(msgs(f"cap{i}"))
    assert hit(call(first))  # 200 entries: all still there
    call(msgs("cap-201st"))  # the 201st entry evicts the one that expires first: the oldest
    assert not hit(call(first))
    assert provider.stats()["requests"] == 202


def test_local_cache_cap_with_entries_written_by_add_cache(provider) -> None:
    """«Для любопытных»: 200 entries written with Cache.add_cache evict the first answer, as real calls do."""
    litellm.cache = Cache()
    first = msgs("add-cache-first")
    sample = call(first)
    for i in range(1, 201):
        litellm.cache.add_cache(sample, model=MODEL, messages=msgs(f"add-cache-{i}"))
    assert len(litellm.cache.cache.cache_dict) == 200
    assert not hit(call(first)) and provider.stats()["requests"] == 2


def test_local_cache_cap_cannot_be_set_through_cache_or_enable_cache() -> None:
    litellm.enable_cache(max_size_in_memory=10_000)
    assert litellm.cache.cache.max_size_in_memory == 200
    litellm.cache = Cache(max_size_in_memory=10_000)
    assert litellm.cache.cache.max_size_in_memory == 200


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
    """Enable a Redis cache the way the lesson does (the URL, which may carry a password)."""
    import redis

    litellm.enable_cache(type=LiteLLMCacheType.REDIS, url=redis_url, **options)
    return redis.Redis.from_url(redis_url)


def test_redis_keys_are_sha256_with_60s_default_ttl(provider, redis_url) -> None:
    client = redis_cache(redis_url)
    m = msgs("redis")
    call(m)
    r = call(m)
    assert hit(r) and provider.stats()["requests"] == 1
    key = r._hidden_params["cache_key"]
    assert len(key) == 64 and client.exists(key) and client.type(key) == b"string"
    assert round(client.pttl(key) / 1000) == 60


def test_redis_namespace_and_ttl_options(provider, redis_url) -> None:
    client = redis_cache(redis_url, namespace="claims01")
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
    client = redis_cache(redis_url, namespace="claims01")
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
    redis_cache(redis_url)
    prompt = msgs("redis-second")[0]["content"]
    call([{"role": "user", "content": prompt}])
    before = provider.stats()["requests"]
    out = run_child(CHILD, "redis", redis_url, prompt).split()
    assert out[0] == "True"
    assert provider.stats()["requests"] == before


def test_two_cache_objects_on_one_redis_share_entries(provider, redis_url) -> None:
    """1.7: two servers are two Cache objects (own connections) on one Redis: the second gets a hit."""
    server_1 = Cache(type=LiteLLMCacheType.REDIS, url=redis_url)
    server_2 = Cache(type=LiteLLMCacheType.REDIS, url=redis_url)
    assert server_1.cache is not server_2.cache
    m = msgs("two-servers")
    litellm.cache = server_1
    first = call(m)
    litellm.cache = server_2
    second = call(m)
    assert not hit(first) and hit(second) and second.id == first.id
    assert provider.stats()["requests"] == 1


def test_two_in_memory_caches_do_not_share(provider) -> None:
    """01.3's message: an in-memory cache lives in one server's process."""
    m = msgs("two-local")
    litellm.cache = Cache()
    call(m)
    litellm.cache = Cache()
    assert not hit(call(m)) and provider.stats()["requests"] == 2


def test_redis_namespace_on_the_cache_separates_services(provider, redis_url) -> None:
    """01.3: one Redis, two services: namespace= on the Cache gives each its own keys."""
    m = msgs("services")
    assistant = Cache(type=LiteLLMCacheType.REDIS, url=redis_url, namespace="assistant", ttl=3600)
    search = Cache(type=LiteLLMCacheType.REDIS, url=redis_url, namespace="search", ttl=3600)
    litellm.cache = assistant
    call(m)
    litellm.cache = search
    assert not hit(call(m))
    assert search.get_cache_key(model=MODEL, messages=m).startswith("search:")
    assert provider.stats()["requests"] == 2


def test_enable_cache_returns_none() -> None:
    """01.3's message for `return litellm.enable_cache(...)`."""
    assert litellm.enable_cache() is None and litellm.cache is not None


# --- 1.10 cache types, setup_caching ---------------------------------------------------------------
def test_real_cache_types() -> None:
    members = list(LiteLLMCacheType.__members__)
    assert members == ["LOCAL", "REDIS", "REDIS_SEMANTIC", "VALKEY_SEMANTIC", "S3", "DISK",
                       "QDRANT_SEMANTIC", "AZURE_BLOB", "GCS"]
    assert not {"MONGODB", "DYNAMODB", "CLOUDFLARE"} & set(members)


def test_setup_caching_local_and_redis_ttl(redis_url) -> None:
    from course_helpers import setup_caching

    local = setup_caching("local")
    assert type(local.cache).__name__ == "InMemoryCache"
    cache = setup_caching("redis")  # replaces the enabled cache (enable_cache would keep it)
    assert cache is litellm.cache and cache is not local
    assert type(cache.cache).__name__ == "RedisCache" and cache.ttl == 3600


def test_setup_caching_explains_a_litellm_without_disk(monkeypatch) -> None:
    """1.7: on a LiteLLM without DISK (1.109+), setup_caching('disk') says what to use instead of an AttributeError."""
    from course_helpers import project

    without_disk = type("LiteLLMCacheType", (), {"LOCAL": LiteLLMCacheType.LOCAL, "REDIS": LiteLLMCacheType.REDIS})
    monkeypatch.setattr(project, "LiteLLMCacheType", without_disk)
    with pytest.raises(RuntimeError, match="DISK удалён в 1.109.0"):
        project.setup_caching("disk")
