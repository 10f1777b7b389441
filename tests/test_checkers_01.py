"""Lesson 01 checkers are fair both ways: other correct answers pass, a learner's plausible
mistakes and shortcuts fail with a message that names the mistake."""

from __future__ import annotations

import collections
import functools
import tempfile
from typing import Any
from urllib.parse import urlparse

import litellm
import pytest
from litellm.caching.caching import Cache, LiteLLMCacheType

from course_helpers.redis_server import redis_url
from course_helpers.session import current_course
from fairness import Case, assert_counts, cases, judge

MODEL = "openrouter/openai/gpt-4o-mini"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --- 01.1 cache_report -------------------------------------------------------------------------------
def report_counter(responses):
    kinds = collections.Counter("hit" if r._hidden_params.get("cache_hit") else "miss" for r in responses)
    spent = sum(r._hidden_params["response_cost"] for r in responses if not r._hidden_params.get("cache_hit"))
    return {"hits": kinds["hit"], "misses": kinds["miss"], "spent": spent}


def report_by_cost(responses):
    paid = [r._hidden_params["response_cost"] for r in responses if r._hidden_params["response_cost"] > 0]
    return {"hits": len(responses) - len(paid), "misses": len(paid), "spent": sum(paid)}


def report_key_absent(responses):
    misses = [r for r in responses if "cache_hit" not in r._hidden_params]
    return dict(hits=len(responses) - len(misses), misses=len(misses),
                spent=sum(r._hidden_params.get("response_cost", 0.0) for r in responses))


def report_key_error(responses):
    hits = sum(1 for r in responses if r._hidden_params["cache_hit"])
    return {"hits": hits, "misses": len(responses) - hits, "spent": 0.0}


def report_equals_false(responses):
    misses = [r for r in responses if r._hidden_params.get("cache_hit") == False]  # noqa: E712
    return {"hits": len(responses) - len(misses), "misses": len(misses),
            "spent": sum(r._hidden_params["response_cost"] for r in misses)}


def report_is_false(responses):
    misses = [r for r in responses if r._hidden_params.get("cache_hit") is False]
    return {"hits": len(responses) - len(misses), "misses": len(misses), "spent": 0.0}


def report_spent_of_hits(responses):
    hits = [r for r in responses if r._hidden_params.get("cache_hit")]
    return {"hits": len(hits), "misses": len(responses) - len(hits),
            "spent": sum(r._hidden_params["response_cost"] for r in hits)}


def report_tuple(responses):
    hits = sum(1 for r in responses if r._hidden_params.get("cache_hit"))
    return hits, len(responses) - hits, 0.0


def report_from_provider(responses):
    stats = current_course().provider.stats()
    return {"hits": len(responses) - stats["requests"], "misses": stats["requests"], "spent": stats["cost"]}


def report_forged_flags(responses):
    for r in responses:
        r._hidden_params["cache_hit"] = True
    return {"hits": len(responses), "misses": 0, "spent": 0.0}


# --- 01.2 ask -----------------------------------------------------------------------------------------
def ask_user_param(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question), user=tenant,
                              cache={"no-cache": fresh or private, "no-store": private})


def ask_caching_false_for_fresh(question, tenant, fresh=False, private=False):
    options: dict[str, Any] = {"cache": {"namespace": tenant}}
    if private:
        options["cache"].update({"no-cache": True, "no-store": True})
    elif fresh:
        options["caching"] = False  # skips the read, still writes: exactly "refresh"
    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=user(question), **options)


def ask_redis_namespace_metadata(question, tenant, fresh=False, private=False):
    controls = {"no-cache": True, "no-store": True} if private else {"no-cache": True} if fresh else {}
    return litellm.completion(model=MODEL, messages=user(question), metadata={"redis_namespace": tenant},
                              cache=controls)


def ask_shared(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question),
                              cache={"no-cache": fresh or private, "no-store": private})


def ask_metadata_tenant(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question), metadata={"tenant": tenant},
                              cache={"no-cache": fresh or private, "no-store": private})


def ask_private_caching_false(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question), cache={"namespace": tenant},
                              caching=not (fresh or private))


def ask_private_no_store_only(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question),
                              cache={"namespace": tenant, "no-cache": fresh, "no-store": private})


def ask_fresh_bypasses(question, tenant, fresh=False, private=False):
    bypass = fresh or private
    return litellm.completion(model=MODEL, messages=user(question),
                              cache={"namespace": tenant, "no-cache": bypass, "no-store": bypass})


def ask_fresh_loses_namespace(question, tenant, fresh=False, private=False):
    controls = {"namespace": tenant}
    if fresh:
        controls = {"no-cache": True}
    if private:
        controls = {"namespace": tenant, "no-cache": True, "no-store": True}
    return litellm.completion(model=MODEL, messages=user(question), cache=controls)


def ask_no_cache_for_bob(question, tenant, fresh=False, private=False):
    return litellm.completion(model=MODEL, messages=user(question),
                              cache={"no-cache": tenant == "bob" or fresh or private, "no-store": private})


def ask_fabricated(question, tenant, fresh=False, private=False):
    response = litellm.ModelResponse()
    response._hidden_params = {"cache_hit": True}
    return response


_seen: set[tuple[str, str]] = set()


def ask_forged_hits(question, tenant, fresh=False, private=False):
    response = litellm.completion(model=MODEL, messages=user(question), cache={"no-cache": True, "no-store": True})
    if (question, tenant) in _seen and not (fresh or private):
        response._hidden_params["cache_hit"] = True
    _seen.add((question, tenant))
    return response


# --- 01.3 make_cache ---------------------------------------------------------------------------------
def cache_default_redis_ttl(service):
    litellm.default_redis_ttl = 3600
    try:
        return Cache(type="redis", url=redis_url(), namespace=service)
    finally:
        litellm.default_redis_ttl = None


def cache_enable_then_return(service):
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, url=redis_url(), ttl=60 * 60, namespace=service)
    return litellm.cache


def cache_host_port(service):
    address = urlparse(redis_url())
    return Cache(type=LiteLLMCacheType.REDIS, host=address.hostname, port=str(address.port),
                 password=address.password, default_in_redis_ttl=3600, namespace=service)


def cache_host_port_no_password(service):
    address = urlparse(redis_url())
    return Cache(type=LiteLLMCacheType.REDIS, host=address.hostname, port=str(address.port), ttl=3600,
                 namespace=service)


_disk_dir = tempfile.mkdtemp(prefix="course-test-01-3-")


def cache_disk(service):
    return Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=_disk_dir)


def cache_ttl_in_ms(service):
    return Cache(type="redis", url=redis_url(), ttl=3600 * 1000, namespace=service)


def cache_enable_returns(service):
    return litellm.enable_cache(type="redis", url=redis_url(), ttl=3600, namespace=service)


def cache_late_default_ttl(service):
    cache = Cache(type="redis", url=redis_url(), namespace=service)
    litellm.default_redis_ttl = 3600  # too late: the cache exists
    litellm.default_redis_ttl = None
    return cache


@functools.cache
def cache_memoized(service):
    return Cache(type="redis", url=redis_url(), ttl=3600, namespace=service)


class NotACache:
    type = "redis"
    ttl = 3600


RIGHT = {
    "01.1": [Case(report_counter, why="Counter"), Case(report_by_cost, why="paid answers by cost"),
             Case(report_key_absent, why="key absent")],
    "01.2": [Case(ask_user_param, why="user=tenant"), Case(ask_caching_false_for_fresh, why="caching=False for fresh"),
             Case(ask_redis_namespace_metadata, why="metadata redis_namespace")],
    "01.3": [Case(cache_default_redis_ttl, why="default_redis_ttl before Cache"),
             Case(cache_enable_then_return, why="enable_cache, return litellm.cache"),
             Case(cache_host_port, why="host/port, default_in_redis_ttl")],
}
WRONG = {
    "01.1": [Case(report_key_error, "KeyError", why="indexing cache_hit"),
             Case(report_equals_false, "не False, а None", why="== False"),
             Case(report_is_false, "не False, а None", why="is False"),
             Case(report_spent_of_hits, "потрачено", why="cost of the hits"),
             Case(report_tuple, "словарь", why="a tuple")],
    "01.2": [Case(ask_shared, "bob получил ответ", why="tenants share entries"),
             Case(ask_metadata_tenant, "bob получил ответ", why="metadata is not in the key"),
             Case(ask_private_caching_false, "private=True записал", why="caching=False for private"),
             Case(ask_private_no_store_only, "private=True прочитал", why="no-store only for private"),
             Case(ask_fresh_bypasses, "не новый ответ", why="fresh neither reads nor writes"),
             Case(ask_fresh_loses_namespace, "не новый ответ", why="fresh drops the namespace"),
             Case(ask_no_cache_for_bob, "полученный для другого клиента", why="no-cache for bob only")],
    "01.3": [Case(lambda service: Cache(), "кэш в памяти", why="LOCAL"),
             Case(lambda service: Cache(type="redis", url=redis_url(), namespace=service), "60 с", why="default TTL"),
             Case(lambda service: Cache(type="redis", url=redis_url(), ttl=3600), "поиск получил ответ ассистента",
                  why="no namespace"),
             Case(cache_disk, "на диске одного сервера", why="DISK"),
             Case(cache_ttl_in_ms, "нужен час", why="ttl in milliseconds"),
             Case(cache_enable_returns, "вернула None", why="returns enable_cache()"),
             Case(cache_late_default_ttl, "60 с", why="default_redis_ttl after the Cache"),
             Case(cache_host_port_no_password, "защищён паролем", why="host and port without the password")],
}
GAMING = {
    "01.1": [Case(lambda responses: {"hits": 3, "misses": 2, "spent": 0.0001}, "а на деле", why="a literal"),
             Case(report_from_provider, "промахов 0", why="reads the provider"),
             Case(report_forged_flags, "промахов 0", why="forges cache_hit")],
    "01.2": [Case(ask_fabricated, "не тот текст", why="a fabricated response with cache_hit"),
             Case(ask_forged_hits, "дошёл до провайдера", why="forged cache_hit on real answers")],
    "01.3": [Case(cache_memoized, "один и тот же объект", why="one object for both servers"),
             Case(lambda service: NotACache(), "объект Cache", why="not a Cache")],
}


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "01")


@pytest.mark.usefixtures("redis_url")  # the session's redis-server: what the course's redis_url() returns
@pytest.mark.parametrize("exercise_id,kind,case", cases("right", RIGHT) + cases("wrong", WRONG) + cases("gaming", GAMING))
def test_checker_verdict(course, exercise_id: str, kind: str, case: Case) -> None:
    cache_memoized.cache_clear()
    _seen.clear()
    judge(exercise_id, kind, case)
    assert litellm.default_redis_ttl is None
