"""Lesson 05 claims about LiteLLM's Router, each checked on the pinned version.

Deployments d1/d2 are prefixes of the practice provider's URL. Router usage counters are
shared per process by deployment id, so tests that count against a limit give their
deployments a unique ``model_info.id``. Claims about a fresh process (no asyncio loop,
nothing registered yet) and about several processes run real subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from typing import Any

import litellm
import pytest
from litellm import Router
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
from litellm.types.router import RouterRateLimitError

pytestmark = pytest.mark.usefixtures("drain_litellm_logging")  # sync calls leave async logging tasks behind

MODEL = "openai/gpt-3.5-turbo"
GROUP = "gpt-3.5-turbo"
MSG = [{"role": "user", "content": "Привет!"}]


@pytest.fixture(autouse=True)
def _isolated_router_handlers():
    """Router strategy handlers live in the global litellm.callbacks and act on every Router
    (a claim of the lesson): each test starts without them and the list is restored after."""
    from course_helpers.exercises.lesson05 import routers_forgotten

    with routers_forgotten():  # and the test's Routers leave no callbacks (at most 100 fit)
        litellm.callbacks[:] = [c for c in litellm.callbacks
                                if type(c).__module__.split(".")[1:2] not in (["router_strategy"], ["router_utils"])]
        yield


def dep(provider, name: str, flavor: str = "openrouter", unique: bool = False, **params: Any) -> dict[str, Any]:
    prefix = "openrouter/" if flavor == "openrouter" else ""
    d: dict[str, Any] = {"model_name": GROUP,
                         "litellm_params": {"model": prefix + MODEL, "api_base": provider.api_base(flavor, deployment=name),
                                            "api_key": provider.key, **params}}
    if unique:
        d["model_info"] = {"id": uuid.uuid4().hex}
    return d


def where(response) -> str:
    return response._hidden_params["api_base"].split("/")[3]


def served(provider) -> dict[str, int]:
    return {k: v["requests"] for k, v in provider.stats()["by_deployment"].items()}


def attempt(router: Router) -> str:
    try:
        return where(router.completion(model=GROUP, messages=MSG))
    except Exception as e:
        return type(e).__name__


async def traffic(router: Router, n: int, gap_s: float = 0.0, warmup: int = 0) -> list[Any]:
    first = [await router.acompletion(model=GROUP, messages=MSG) for _ in range(warmup)]

    async def one(i: int) -> Any:
        await asyncio.sleep(i * gap_s)
        try:
            return await router.acompletion(model=GROUP, messages=MSG)
        except Exception as e:
            return e
    return first + list(await asyncio.gather(*(one(i) for i in range(n))))


def fast(provider, base_ms: float = 5) -> None:
    provider.set_latency(MODEL, base_ms=base_ms, per_token_ms=0)


def slow_d1_fast_d2(provider) -> None:
    provider.set_latency(MODEL, base_ms=800, per_token_ms=0, jitter=0.1, deployment="d1")
    provider.set_latency(MODEL, base_ms=60, per_token_ms=0, jitter=0.1, deployment="d2")


def two_priced(provider) -> list[dict[str, Any]]:
    return [dep(provider, "d1", rpm=9000, input_cost_per_token=0.5e-6, output_cost_per_token=1.5e-6),
            dep(provider, "d2", "openai", rpm=1000, input_cost_per_token=5e-6, output_cost_per_token=15e-6)]


def not_near_minute_end(margin: int = 8) -> None:
    """Per-minute usage keys: do not start a limit test in the last seconds of a minute."""
    second = time.localtime().tm_sec
    if second > 59 - margin:
        time.sleep(61 - second)


def drop_latency_handlers() -> None:
    litellm.callbacks[:] = [c for c in litellm.callbacks if not isinstance(c, LowestLatencyLoggingHandler)]


# --- 5.1 the seed's Router ---------------------------------------------------------------

def test_seed_router_answers_from_a_deployment_of_the_group(provider) -> None:
    model_list = [{**dep(provider, "d1"), "tpm": 100000, "rpm": 10000},
                  {**dep(provider, "d2", "openai"), "tpm": 100000, "rpm": 10000}]
    router = Router(model_list=model_list)
    r = router.completion(model=GROUP, messages=MSG)
    assert r.choices[0].message.content.startswith("Привет!")
    assert where(r) in ("d1", "d2") and served(provider) == {where(r): 1}
    assert (router.routing_strategy, router.num_retries, router.allowed_fails, router.cooldown_time) == \
           ("simple-shuffle", 2, 3, 5)


# --- 5.2 weights -------------------------------------------------------------------------

@pytest.mark.parametrize("where_weights", ["litellm_params", "top_level", "weight_beats_rpm"])
def test_rpm_and_weight_are_shuffle_weights(provider, where_weights: str) -> None:
    fast(provider, 0)
    if where_weights == "litellm_params":
        ml = [dep(provider, "d1", rpm=900), dep(provider, "d2", "openai", rpm=100)]
    elif where_weights == "top_level":
        ml = [{**dep(provider, "d1"), "rpm": 900}, {**dep(provider, "d2", "openai"), "rpm": 100}]
    else:  # rpm says 1:9, weight says 9:1 -> weight wins
        ml = [dep(provider, "d1", rpm=100, weight=9), dep(provider, "d2", "openai", rpm=900, weight=1)]
    random.seed(5)
    router = Router(model_list=ml)
    assert all(attempt(router) in ("d1", "d2") for _ in range(200))
    by = served(provider)
    assert by["d1"] / 200 > 0.8 and by.get("d2", 0) > 0, by


def test_simple_shuffle_does_not_enforce_rpm(provider) -> None:
    fast(provider)
    router = Router(model_list=[dep(provider, "d1", unique=True, rpm=3)])
    assert [attempt(router) for _ in range(6)] == ["d1"] * 6
    assert served(provider) == {"d1": 6}


# --- 5.3 strategies on the same traffic ---------------------------------------------------

def run_strategy(provider, strategy: str, warmup: int = 3) -> dict[str, int]:
    """100 concurrent requests (after `warmup` sequential ones) to slow d1 and fast d2. For the latency
    strategy the HTTP clients are warmed first by another Router (a cold client adds ~0.5 s to one answer,
    which would skew the strategy's first measurements) and latencies are real (scale 1), so that
    LiteLLM's own overhead per call does not drown the difference."""
    provider.reset()
    if strategy == "latency-based-routing":
        warm = Router(model_list=two_priced(provider))
        for deployment in warm.model_list:
            asyncio.run(warm.acompletion(model=deployment["model_info"]["id"], messages=MSG))
        provider.reset()
        provider.set_latency_scale(1)
    slow_d1_fast_d2(provider)
    random.seed(5)
    router = Router(model_list=two_priced(provider), routing_strategy=strategy)
    results = asyncio.run(traffic(router, 100, gap_s=0.02, warmup=warmup))
    assert not any(isinstance(r, Exception) for r in results)
    return served(provider)


def test_least_busy_prefers_the_fast_deployment_under_concurrent_load(provider) -> None:
    assert run_strategy(provider, "least-busy").get("d2", 0) > 52


def test_usage_based_v2_balances_usage(provider) -> None:
    by = run_strategy(provider, "usage-based-routing-v2")
    assert min(by.get("d1", 0), by.get("d2", 0)) > 21, by


def test_cost_based_picks_the_cheap_deployment_with_explicit_prices(provider) -> None:
    assert run_strategy(provider, "cost-based-routing") == {"d1": 103}


def test_cost_based_fails_in_sync_completion(provider) -> None:
    router = Router(model_list=two_priced(provider), routing_strategy="cost-based-routing")
    with pytest.raises(RouterRateLimitError, match="No deployments available") as info:
        router.completion(model=GROUP, messages=MSG)
    assert isinstance(info.value, ValueError)
    assert provider.stats()["requests"] == 0


def test_latency_based_prefers_fast_after_warmup_and_a_second_router_is_random(provider) -> None:
    drop_latency_handlers()  # other tests of this session may have registered one
    first = run_strategy(provider, "latency-based-routing")
    assert first.get("d2", 0) > 68, first  # more than two thirds of 103
    second = run_strategy(provider, "latency-based-routing")  # a second latency Router in this process
    assert sum(isinstance(c, LowestLatencyLoggingHandler) for c in litellm.callbacks) == 1
    assert second.get("d2", 0) <= 68, second


def test_latency_based_treats_an_unmeasured_deployment_as_fastest(provider) -> None:
    drop_latency_handlers()
    by = run_strategy(provider, "latency-based-routing", warmup=0)
    assert by.get("d1", 0) >= 8, by  # everything goes to slow d1 until its first answer
    drop_latency_handlers()


def test_usage_based_v2_admits_at_most_rpm_in_sync(provider) -> None:
    not_near_minute_end()
    fast(provider)
    v2 = Router(model_list=[dep(provider, "d1", unique=True, rpm=3)], routing_strategy="usage-based-routing-v2")
    outcomes = [attempt(v2) for _ in range(5)]
    assert outcomes.count("d1") <= 3
    assert all(o in ("ValueError", "RateLimitError") for o in outcomes if o != "d1")


def test_a_v2_router_makes_every_router_in_the_process_enforce_rpm(provider) -> None:
    fast(provider)
    plain = Router(model_list=[dep(provider, "d1", unique=True, rpm=3)], num_retries=0)
    assert [attempt(plain) for _ in range(4)] == ["d1"] * 4
    Router(model_list=[dep(provider, "d2", unique=True, rpm=1000)], routing_strategy="usage-based-routing-v2")
    plain = Router(model_list=[dep(provider, "d1", unique=True, rpm=3)], num_retries=0)
    assert [attempt(plain) for _ in range(6)] == ["d1"] * 3 + ["RateLimitError"] * 3


# --- 5.4 limits ----------------------------------------------------------------------------

def two_bursts(provider, checks: list[str]) -> list[Counter]:
    not_near_minute_end()
    provider.reset()
    fast(provider, 50)
    router = Router(model_list=[dep(provider, "d1", unique=True, rpm=5)], optional_pre_call_checks=checks,
                    num_retries=0)

    async def main() -> list[Counter]:
        out = []
        for _ in range(2):
            burst = await asyncio.gather(*(router.acompletion(model=GROUP, messages=MSG) for _ in range(10)),
                                         return_exceptions=True)
            assert all(r.status_code == 429 for r in burst if isinstance(r, Exception))
            out.append(Counter("ok" if not isinstance(r, Exception) else type(r).__name__ for r in burst))
            await asyncio.sleep(1)
        return out
    return asyncio.run(main())


def test_rpm_caps_parallel_requests_even_without_checks(provider) -> None:
    first, second = two_bursts(provider, [])
    assert first == second == {"ok": 5, "RateLimitError": 5}
    assert served(provider) == {"d1": 10}  # not a per-minute limit


def test_enforce_model_rate_limits_holds_the_minute(provider) -> None:
    first, second = two_bursts(provider, ["enforce_model_rate_limits"])
    assert first == {"ok": 5, "RateLimitError": 5} and second == {"RateLimitError": 10}
    assert served(provider) == {"d1": 5}


def test_enforce_model_rate_limits_holds_in_sync_completion_too(provider) -> None:
    not_near_minute_end()
    fast(provider)
    router = Router(model_list=[dep(provider, "d1", unique=True, rpm=3)],
                    optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0)
    assert [attempt(router) for _ in range(6)] == ["d1"] * 3 + ["RateLimitError"] * 3
    assert served(provider) == {"d1": 3}


def test_with_default_retries_calls_rejected_by_the_router_hang(provider) -> None:
    not_near_minute_end()  # the burst's admissions and rejections happen in its first second
    fast(provider, 50)
    router = Router(model_list=[dep(provider, "d1", unique=True, rpm=5)],
                    optional_pre_call_checks=["enforce_model_rate_limits"])  # num_retries=2 by default

    async def bounded() -> str:
        try:
            await asyncio.wait_for(router.acompletion(model=GROUP, messages=MSG), timeout=4)
            return "ok"
        except asyncio.TimeoutError:
            return "still waiting after 4 s"

    async def main() -> list[str]:
        return list(await asyncio.gather(*(bounded() for _ in range(10))))
    assert Counter(asyncio.run(main())) == {"ok": 5, "still waiting after 4 s": 5}
    assert served(provider) == {"d1": 5}


def test_max_parallel_requests_message(provider) -> None:
    fast(provider, 200)
    router = Router(model_list=[dep(provider, "d1", unique=True, rpm=1)], num_retries=0)

    async def main() -> list[Any]:
        return await asyncio.gather(*(router.acompletion(model=GROUP, messages=MSG) for _ in range(2)),
                                    return_exceptions=True)
    errors = [r for r in asyncio.run(main()) if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], litellm.RateLimitError)
    assert "max_parallel_requests" in str(errors[0])


FRESH_SYNC = textwrap.dedent('''
    import json, sys, uuid
    from litellm import Router
    api_base, key = sys.argv[1:3]
    def dep(**p):
        return {"model_name": "g", "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo",
                "api_base": api_base, "api_key": key, **p}}
    def attempt(router):
        try:
            router.completion(model="g", messages=[{"role": "user", "content": "Привет!"}]); return "ok"
        except Exception as e:
            return type(e).__name__
    out = {}
    v2 = Router(model_list=[dep(rpm=3, timeout=30)], routing_strategy="usage-based-routing-v2")
    out["v2"] = [attempt(v2) for _ in range(5)]
    print(json.dumps(out))
''')


def run_script(source: str, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-c", source, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_in_a_fresh_script_sync_v2_admits_rpm_minus_one_then_value_error(provider) -> None:
    not_near_minute_end(margin=20)  # the subprocess needs seconds to import litellm
    fast(provider)
    out = run_script(FRESH_SYNC, provider.api_base("openrouter", deployment="d1"), provider.key)
    assert out["v2"] == ["ok", "ok", "ValueError", "ValueError", "ValueError"]  # rpm-1, bare ValueError


def test_provider_rate_limit_gives_429_with_retry_after(provider) -> None:
    fast(provider)
    provider.set_limits(MODEL, rpm=5, deployment="d1")
    router = Router(model_list=[dep(provider, "d1", unique=True)], num_retries=0)
    assert [attempt(router) for _ in range(7)] == ["d1"] * 5 + ["RateLimitError"] * 2
    with pytest.raises(litellm.RateLimitError) as info:
        router.completion(model=GROUP, messages=MSG)
    assert info.value.status_code == 429
    assert info.value.litellm_response_headers.get("retry-after") == "60"
    assert provider.stats()["by_deployment"]["d1"]["status_429"] == 3  # every one reached the provider


def test_one_429_cools_a_deployment_down_and_traffic_moves(provider) -> None:
    fast(provider)
    provider.set_limits(MODEL, rpm=5, deployment="d1")
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)])
    outcomes = [attempt(router) for _ in range(30)]
    assert set(outcomes) <= {"d1", "d2"}
    assert provider.stats()["by_deployment"]["d1"].get("status_429", 0) == 1


# --- 5.5 reliability -----------------------------------------------------------------------

def test_default_retries_twice_with_backoff(provider) -> None:
    fast(provider)
    provider.fail(MODEL, 503, deployment="d1")
    router = Router(model_list=[dep(provider, "d1", unique=True)])
    start = time.perf_counter()
    with pytest.raises(litellm.ServiceUnavailableError):
        router.completion(model=GROUP, messages=MSG)
    assert time.perf_counter() - start > 1.0
    assert served(provider) == {"d1": 3}


def test_retry_pauses_only_in_a_single_deployment_group(provider) -> None:
    """One 503 (with Retry-After: 2) on the first request: a lone deployment waits before the
    retry, a group of two retries at once (the pause is skipped before headers are even read)."""
    gaps = {}
    for size in (1, 2):
        provider.reset()
        fast(provider)
        provider.fail(MODEL, 503, times=1, retry_after=2)
        router = Router(model_list=[dep(provider, f"d{i + 1}", unique=True) for i in range(size)])
        r = router.completion(model=GROUP, messages=MSG)
        first, retry = provider.log()
        assert (first["status"], retry["status"]) == (503, 200)
        assert r._hidden_params["additional_headers"]["x-litellm-attempted-retries"] == 1
        gaps[size] = retry["t"] - first["t"]
    assert gaps[1] >= 2.0, gaps  # the backoff honours Retry-After
    assert gaps[2] < 1.0, gaps  # no sleep at all: only request latency and LiteLLM's overhead


def test_a_retry_may_land_on_the_same_deployment_without_a_pause(provider) -> None:
    fast(provider)
    provider.fail(MODEL, 503, times=2, deployment="d1")
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1", unique=True, weight=99), dep(provider, "d2", unique=True, weight=1)])
    router.completion(model=GROUP, messages=MSG)
    log = provider.log()
    assert [(e["deployment"], e["status"]) for e in log] == [("d1", 503), ("d1", 503), ("d1", 200)]
    assert log[-1]["t"] - log[0]["t"] < 1.0  # two retries, no backoff (0.5 s + 1 s at least)


@pytest.mark.parametrize(("status", "error"), [(401, litellm.AuthenticationError), (400, litellm.BadRequestError),
                                               (404, litellm.NotFoundError)])
def test_which_client_errors_are_retried(provider, status: int, error: type) -> None:
    fast(provider)
    provider.fail(MODEL, status, deployment="d1")
    with pytest.raises(error):  # a lone deployment: none of them is retried
        Router(model_list=[dep(provider, "d1", unique=True)]).completion(model=GROUP, messages=MSG)
    assert served(provider) == {"d1": 1}
    provider.reset()
    fast(provider)
    provider.fail(MODEL, status, deployment="d1")
    random.seed(5)
    pair = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)])
    outcomes = [attempt(pair) for _ in range(20)]
    if status == 401:  # retried on the other deployment, which the retry picks (d1 is skipped)
        assert set(outcomes) == {"d2"}
    else:  # 400 and 404 reach the user even with a healthy deployment next door
        assert error.__name__ in outcomes


def test_default_rule_counts_this_minutes_successes_too(provider) -> None:
    """A deployment that answered 20 requests this minute and then broke is cooled down only at its 21st
    failure: more than half of this minute's requests must have failed (the lesson's 5.6)."""
    not_near_minute_end(margin=5)
    fast(provider, 0)
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1", unique=True, weight=99), dep(provider, "d2", unique=True, weight=1)],
                    num_retries=0, cooldown_time=60)
    while provider.requests(deployment="d1") < 20:
        attempt(router)
    provider.fail(MODEL, 503, deployment="d1")
    for _ in range(60):
        attempt(router)
    assert provider.requests(deployment="d1") - 20 == 21


def test_a_second_latency_router_has_no_handler_in_the_callbacks(provider) -> None:
    drop_latency_handlers()
    first = Router(model_list=[dep(provider, "d1"), dep(provider, "d2")], routing_strategy="latency-based-routing")
    second = Router(model_list=[dep(provider, "d1"), dep(provider, "d2")], routing_strategy="latency-based-routing")
    handlers = [c for c in litellm.callbacks if isinstance(c, LowestLatencyLoggingHandler)]
    assert handlers == [first.lowestlatency_logger] and second.lowestlatency_logger not in handlers
    drop_latency_handlers()


def test_one_503_lone_deployment_pauses_a_pair_retries_at_once(provider) -> None:
    """Without Retry-After: a lone deployment waits at least 0.5 s before its retry, a pair retries at once."""
    gaps = {}
    for size in (1, 2):
        provider.reset()
        fast(provider, 0)
        provider.fail(MODEL, 503, times=1)
        Router(model_list=[dep(provider, f"d{i + 1}") for i in range(size)]).completion(model=GROUP, messages=MSG)
        first, retry = provider.log()
        gaps[size] = retry["t"] - first["t"]
    assert gaps[1] >= 0.5 and gaps[2] < 0.25, gaps


SYNC_WAITER = textwrap.dedent('''
    import sys
    from litellm import Router
    api_base, key = sys.argv[1:3]
    router = Router(model_list=[{"model_name": "g", "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo",
                    "api_base": api_base, "api_key": key, "rpm": 2}}],
                    optional_pre_call_checks=["enforce_model_rate_limits"])  # num_retries=2 by default
    for _ in range(3):
        router.completion(model="g", messages=[{"role": "user", "content": "Привет!"}])
        print("ok", flush=True)
''')


def test_with_default_retries_a_sync_call_rejected_by_the_router_waits(provider) -> None:
    """enforce_model_rate_limits and num_retries=2: the refused call sleeps (retry-after: 60) instead of failing.
    In a process of its own, killed afterwards: a waiting thread here would send its retry into a later test."""
    for _ in range(3):  # the two admitted calls and the refused one must fall into one minute
        provider.reset()
        fast(provider, 0)
        waiter = subprocess.Popen([sys.executable, "-c", SYNC_WAITER, provider.api_base("openrouter", deployment="d1"),
                                   provider.key], stdout=subprocess.PIPE, text=True)
        try:
            outcomes = [waiter.stdout.readline().strip()]
            minute = int(time.time() // 60)  # the first call has just been admitted
            outcomes.append(waiter.stdout.readline().strip())
            time.sleep(3)
            still_waiting = waiter.poll() is None
        finally:
            waiter.kill()
            waiter.wait()
        if int(time.time() // 60) == minute:
            break
    assert outcomes == ["ok", "ok"] and still_waiting  # the third call is still waiting after 3 s
    assert served(provider) == {"d1": 2}


def test_retry_policy_sets_retries_per_exception_class(provider) -> None:
    fast(provider)
    provider.fail(MODEL, 503)
    both = [dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)]  # retries without pauses
    more_503 = Router(model_list=both, num_retries=0, retry_policy={"ServiceUnavailableErrorRetries": 2})
    assert attempt(more_503) == "ServiceUnavailableError" and provider.stats()["requests"] == 3
    provider.reset()
    fast(provider)
    provider.fail(MODEL, 500)
    assert attempt(more_503) == "APIError" and provider.stats()["requests"] == 1  # other classes: num_retries
    provider.reset()
    fast(provider)
    provider.fail(MODEL, 503, deployment="d1")
    no_503 = Router(model_list=[dep(provider, "d1", unique=True)], retry_policy={"ServiceUnavailableErrorRetries": 0})
    assert attempt(no_503) == "ServiceUnavailableError" and served(provider) == {"d1": 1}  # not 3


def test_retry_policy_keys_follow_litellm_classes_openrouter_500_is_not_internal_server_error(provider) -> None:
    fast(provider)
    provider.fail(MODEL, 500)
    router = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)],
                    retry_policy={"InternalServerErrorRetries": 0})
    with pytest.raises(litellm.APIError) as info:
        router.completion(model=GROUP, messages=MSG)
    assert not isinstance(info.value, litellm.InternalServerError)
    assert provider.stats()["requests"] == 3  # num_retries=2 applied: the policy key did not match


def requests_to_broken_d1(provider, status: int, **options: Any) -> int:
    """d1 always answers `status`, d2 is healthy; 30 single-request calls. How many reached d1?"""
    not_near_minute_end(margin=5)  # the default rule counts this minute's requests
    provider.reset()
    fast(provider)
    provider.fail(MODEL, status, deployment="d1")
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)],
                    num_retries=0, cooldown_time=60, **options)  # a cooldown outlasts the experiment
    for _ in range(30):
        attempt(router)
    return served(provider)["d1"]


@pytest.mark.parametrize(("status", "options", "d1_requests"), [
    (503, {}, 5),  # default rule: > 50 % of at least 5 requests this minute
    (500, {}, 5),
    (503, {"allowed_fails": 3}, 5),  # equal to litellm.allowed_fails: still the default rule
    (503, {"allowed_fails": 2}, 3),  # the count rule: cooldown at the (N + 1)-th failure
    (503, {"allowed_fails": 5}, 6),
    (429, {}, 1),  # the first 429 in a group of several deployments
    (401, {}, 1),  # not retryable: at once
    (404, {}, 1),
    (429, {"allowed_fails_policy": {"RateLimitErrorAllowedFails": 3}}, 4),
    (503, {"allowed_fails_policy": {"RateLimitErrorAllowedFails": 3}}, 4),  # uncovered class: allowed_fails (3)
], ids=["503-default", "500-default", "503-allowed_fails=3", "503-allowed_fails=2", "503-allowed_fails=5",
        "429-default", "401-default", "404-default", "429-policy", "503-policy-for-429"])
def test_cooldown_rule_depends_on_allowed_fails(provider, status: int, options: dict, d1_requests: int) -> None:
    assert requests_to_broken_d1(provider, status, **options) == d1_requests


def test_past_100_routers_a_new_router_gets_no_cooldowns_and_discard_frees_a_place(provider) -> None:
    """Every Router adds its failure callback (the cooldown bookkeeping) to litellm.failure_callback, which
    holds at most LITELLM_MAX_CALLBACKS = 100 entries: a Router made after that never cools a deployment
    down; router.discard() takes a Router's callbacks out again."""
    fast(provider, 0)

    def d1_requests_with_401() -> int:
        provider.reset()
        provider.fail(MODEL, 401, deployment="d1")
        random.seed(5)
        router = Router(model_list=[dep(provider, "d1"), dep(provider, "d2")], num_retries=0, cooldown_time=60)
        for _ in range(20):
            attempt(router)
        return provider.requests(deployment="d1")

    assert d1_requests_with_401() == 1  # a 401 cools d1 down at once
    # 99 places taken (as by 99 Routers: each adds one failure callback), the last by one more Router
    litellm.failure_callback.extend(lambda *args, **kwargs: None for _ in range(99 - len(litellm.failure_callback)))
    last = Router(model_list=[dep(provider, "d2")])
    assert len(litellm.failure_callback) == 100
    assert d1_requests_with_401() > 5  # the same Router, made when the list is full: no cooldown
    last.discard()
    assert d1_requests_with_401() == 1


@pytest.mark.parametrize("status", [400, 403])
def test_400_and_403_never_cool_a_deployment_down(provider, status: int) -> None:
    assert requests_to_broken_d1(provider, status) >= 10  # d1 keeps getting its share of 30


@pytest.mark.parametrize(("options", "before", "after"), [({"allowed_fails": 1}, 2, 4), ({}, 5, 6)],
                         ids=["count-rule", "default-rule"])
def test_after_a_cooldown_the_count_starts_again(provider, options: dict, before: int, after: int) -> None:
    """The allowed_fails counter lives cooldown_time seconds after the last failure, so a deployment
    back from cooldown needs N + 1 new failures; the default rule's minute stats re-cool it at once."""
    not_near_minute_end(margin=12)
    fast(provider)
    provider.fail(MODEL, 503, deployment="d1")
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)],
                    num_retries=0, cooldown_time=2, **options)
    for _ in range(12):
        attempt(router)
    assert served(provider)["d1"] == before
    time.sleep(2.5)
    for _ in range(12):
        attempt(router)
    assert served(provider)["d1"] == after


def test_traffic_shifts_during_an_outage_without_user_errors(provider) -> None:
    """The lesson's live cooldown: 100 requests 8 ms apart, 5 ms answers (latency scale 1), d1 broken from
    0.2 to 0.5 s, allowed_fails=1, cooldown_time=0.2."""
    random.seed(5)
    router = Router(model_list=[dep(provider, "d1"), dep(provider, "d2")], allowed_fails=1, cooldown_time=0.2)
    asyncio.run(router.acompletion(model=GROUP, messages=MSG))  # a cold first call would hold the loop
    provider.reset()
    provider.set_latency_scale(1)
    provider.set_latency(MODEL, base_ms=5, per_token_ms=0)

    async def outage() -> None:
        await asyncio.sleep(0.2)
        provider.fail(MODEL, 503, deployment="d1")
        await asyncio.sleep(0.3)
        provider.clear_faults()

    async def main() -> list[Any]:
        results, _ = await asyncio.gather(traffic(router, 100, gap_s=0.008), outage())
        return results
    results = asyncio.run(main())
    log = provider.log()
    t0 = log[0]["t"]
    assert not any(isinstance(r, Exception) for r in results)
    assert any(e["status"] == 503 for e in log)
    assert any(e["deployment"] == "d1" and e["t"] - t0 > 0.6 for e in log)  # back after the repair


def test_all_deployments_cooling_down_raises_router_rate_limit_error(provider) -> None:
    fast(provider)
    provider.fail(MODEL, 503)
    router = Router(model_list=[dep(provider, "d1", unique=True), dep(provider, "d2", unique=True)],
                    allowed_fails=0, num_retries=0)
    errors = []
    for _ in range(4):
        with pytest.raises(Exception) as info:
            router.completion(model=GROUP, messages=MSG)
        errors.append(info.value)
    assert [type(e).__name__ for e in errors] == ["ServiceUnavailableError", "ServiceUnavailableError",
                                                  "RouterRateLimitError", "RouterRateLimitError"]
    last = errors[-1]
    assert isinstance(last, ValueError) and not isinstance(last, litellm.RateLimitError)
    assert last.status_code == 429
    assert served(provider) == {"d1": 1, "d2": 1}


# --- 5.7 fallback groups (moved from lesson 03 with the Router material) ------------------------

LONG = [{"role": "user", "content": "слово " * 20000}]  # ~40k cl100k tokens: over gpt-3.5-turbo's 16385


@pytest.fixture
def fb_fast(provider):
    provider.set_latency_scale(0.05)
    return provider


def group_dep(p, group: str, model: str, name: str, flavor: str = "openrouter") -> dict[str, Any]:
    return {"model_name": group, "litellm_params": {"model": model, "api_key": p.key,
                                                   "api_base": p.api_base(flavor, deployment=name)}}


def fallback_list(p) -> list[dict[str, Any]]:
    """A one-deployment group gpt-4o (d1) and its fallback group (claude-3-haiku on o1)."""
    return [group_dep(p, "gpt-4o", "openrouter/openai/gpt-4o", "d1"),
            group_dep(p, "other-group", "openrouter/anthropic/claude-3-haiku", "o1")]


def group_of(response) -> str:
    return response._hidden_params["additional_headers"]["x-litellm-model-group"]


def fallbacks_of(response) -> int:
    return response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]


def seen_by(p) -> dict[str, list]:
    out: dict[str, list] = {}
    for entry in p.log():
        out.setdefault(entry["deployment"], []).append(entry["status"])
    return out


def test_router_fallbacks_must_be_a_list_of_dicts(fb_fast) -> None:
    with pytest.raises(ValueError, match="is not a dictionary"):
        Router(model_list=fallback_list(fb_fast), fallbacks=["other-group"])


def test_router_fallback_group_answers_with_headers(fb_fast) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
    r = router.completion(model="gpt-4o", messages=MSG)
    assert r.model == "anthropic/claude-3-haiku" and group_of(r) == "other-group" and fallbacks_of(r) == 1
    assert seen_by(fb_fast) == {"d1": [503], "o1": [200]}


@pytest.mark.parametrize("where", ["per-call", "default_fallbacks"])
def test_router_plain_list_accepted_per_call_and_as_default(fb_fast, where: str) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    if where == "per-call":
        r = Router(model_list=fallback_list(fb_fast), num_retries=0).completion(
            model="gpt-4o", messages=MSG, fallbacks=["other-group"])
    else:
        r = Router(model_list=fallback_list(fb_fast), num_retries=0, default_fallbacks=["other-group"]).completion(
            model="gpt-4o", messages=MSG)
    assert group_of(r) == "other-group"
    assert seen_by(fb_fast) == {"d1": [503], "o1": [200]}


def test_mock_testing_fallbacks_in_the_router(fb_fast) -> None:
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
    r = router.completion(model="gpt-4o", messages=MSG, mock_testing_fallbacks=True)
    assert r.model == "anthropic/claude-3-haiku" and seen_by(fb_fast) == {"o1": [200]}
    # litellm.completion ignores it: tests/test_claims_03.py


def test_router_all_failed_raises_the_primary_groups_error(fb_fast) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    fb_fast.fail("anthropic/claude-3-haiku", 429)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
    with pytest.raises(litellm.ServiceUnavailableError) as info:
        router.completion(model="gpt-4o", messages=MSG)
    assert info.value.status_code == 503
    assert seen_by(fb_fast) == {"d1": [503], "o1": [429]}


def test_router_default_retries_twice_with_backoff_then_falls_back(fb_fast) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}])
    assert router.num_retries == 2
    r = router.completion(model="gpt-4o", messages=MSG)
    log = fb_fast.log()
    assert group_of(r) == "other-group"
    assert seen_by(fb_fast) == {"d1": [503, 503, 503], "o1": [200]}
    gaps = [b["t"] - a["t"] for a, b in zip(log, log[1:])]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0  # exponential backoff: 0.5 s, 1 s (+ jitter)
    assert gaps[2] >= 2.0  # and a third pause after the last retry, before the fallback



def test_a_two_deployment_group_retries_without_pauses_before_the_reserve(fb_fast) -> None:
    """Prediction 05.p4: both deployments 503, num_retries=2 -> three attempts in the group, then the reserve."""
    fb_fast.fail(MODEL, 503)
    router = Router(model_list=[dep(fb_fast, "d1"), dep(fb_fast, "d2"),
                                group_dep(fb_fast, "reserve", "openrouter/anthropic/claude-3-haiku", "o1")],
                    fallbacks=[{GROUP: ["reserve"]}])
    start = time.perf_counter()
    r = router.completion(model=GROUP, messages=MSG)
    assert group_of(r) == "reserve" and fallbacks_of(r) == 1 and r.model == "anthropic/claude-3-haiku"
    log = fb_fast.log()
    assert [e["status"] for e in log if e["deployment"] in ("d1", "d2")] == [503] * 3
    assert [(e["deployment"], e["status"]) for e in log][-1] == ("o1", 200)
    # No backoff: the group had another deployment. A backoff would sleep 0.5 s, then 1 s, plus up to 0.75 s of
    # jitter each (litellm.utils.calculate_retry_after): at least 1.5 s. Under 1 s holds on a busy CPU too.
    assert time.perf_counter() - start < 1.0

def test_router_retry_policy_sets_retries_for_one_exception_class(fb_fast) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}],
                    retry_policy={"ServiceUnavailableErrorRetries": 0})
    assert router.num_retries == 2
    r = router.completion(model="gpt-4o", messages=MSG)
    assert group_of(r) == "other-group"
    assert seen_by(fb_fast) == {"d1": [503], "o1": [200]}  # not [503, 503, 503]: the policy wins


@pytest.mark.parametrize(("options", "d1_requests"), [
    ({}, 6),
    ({"allowed_fails": 3}, 6),  # the global default: the same rule as no setting at all
    ({"allowed_fails": 1, "cooldown_time": 30}, 2),  # N != 3: cooldown at the (N + 1)-th failure
    ({"allowed_fails_policy": {"ServiceUnavailableErrorAllowedFails": 1}}, 2),
], ids=["default", "allowed_fails=3", "allowed_fails=1", "allowed_fails_policy"])
def test_cooldown_of_a_single_deployment_group(fb_fast, options: dict, d1_requests: int) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0, **options)
    for _ in range(6):
        assert group_of(router.completion(model="gpt-4o", messages=MSG, max_tokens=5)) == "other-group"
    assert len(seen_by(fb_fast)["d1"]) == d1_requests
    assert len(seen_by(fb_fast)["o1"]) == 6


@pytest.mark.parametrize(("status", "d1_requests"), [(429, 6), (500, 6), (401, 1), (404, 1)])
def test_default_cooldown_of_a_single_deployment_group_depends_on_the_error(fb_fast, status: int,
                                                                           d1_requests: int) -> None:
    fb_fast.fail("openai/gpt-4o", status)
    router = Router(model_list=fallback_list(fb_fast), fallbacks=[{"gpt-4o": ["other-group"]}], num_retries=0)
    for _ in range(6):
        router.completion(model="gpt-4o", messages=MSG, max_tokens=5)
    assert len(seen_by(fb_fast)["d1"]) == d1_requests


def test_count_rule_spares_a_lone_deployment_without_a_fallback_group(fb_fast) -> None:
    fb_fast.fail("openai/gpt-4o", 503)
    router = Router(model_list=fallback_list(fb_fast)[:1], allowed_fails=1, num_retries=0)
    for _ in range(6):
        with pytest.raises(litellm.ServiceUnavailableError):  # never RouterRateLimitError: no cooldown
            router.completion(model="gpt-4o", messages=MSG, max_tokens=5)
    assert seen_by(fb_fast) == {"d1": [503] * 6}


@pytest.mark.parametrize(("flavor", "prefix", "works"), [("openrouter", "openrouter/openai/", False),
                                                         ("openai", "openai/", True)])
@pytest.mark.parametrize("overflow", ["long prompt", "fault"])
def test_router_context_window_fallbacks_depend_on_the_error_class(fb_fast, flavor: str, prefix: str,
                                                                   works: bool, overflow: str) -> None:
    messages = LONG if overflow == "long prompt" else MSG
    if overflow == "fault":
        fb_fast.fail("openai/gpt-3.5-turbo", kind="context_length")
    refused = 400 if overflow == "long prompt" else "fault:context_length"
    router = Router(model_list=[group_dep(fb_fast, "small", prefix + "gpt-3.5-turbo", "d1", flavor),
                                group_dep(fb_fast, "big", prefix + "gpt-4o-mini", "o1", flavor)],
                    context_window_fallbacks=[{"small": ["big"]}], num_retries=0)
    if works:
        r = router.completion(model="small", messages=messages, max_tokens=5)
        assert group_of(r) == "big"
        assert seen_by(fb_fast) == {"d1": [refused], "o1": [200]}
    else:
        with pytest.raises(litellm.BadRequestError):
            router.completion(model="small", messages=messages, max_tokens=5)
        assert seen_by(fb_fast) == {"d1": [refused]}


# --- 5.6 several processes ------------------------------------------------------------------

WORKER = textwrap.dedent('''
    import asyncio, json, sys, time
    from litellm import Router
    api_base, key, redis, dep_id = sys.argv[1:5]
    extra = {"redis_url": redis} if redis != "-" else {}
    router = Router(model_list=[{"model_name": "g", "litellm_params": {"model": "openrouter/openai/gpt-3.5-turbo",
                    "api_base": api_base, "api_key": key, "rpm": 4}, "model_info": {"id": dep_id}}],
                    optional_pre_call_checks=["enforce_model_rate_limits"], num_retries=0, **extra)
    async def main():
        out = []
        for _ in range(4):
            try:
                await router.acompletion(model="g", messages=[{"role": "user", "content": "Привет!"}]); out.append("ok")
            except Exception as e:
                out.append(type(e).__name__)
        return out
    first_minute = int(time.time() // 60)
    outcomes = asyncio.run(main())
    print(json.dumps({"out": outcomes, "minutes": sorted({first_minute, int(time.time() // 60)})}))
''')


def two_workers(provider, redis: str) -> tuple[list[str], list[str]]:
    """Process a, then process b, in one minute (the counters are per minute: under load a fresh
    process may need many seconds to import LiteLLM, so a pair that straddles a minute runs again)."""
    for _ in range(3):
        provider.reset()
        fast(provider)
        args = (provider.api_base("openrouter", deployment="d1"), provider.key, redis, uuid.uuid4().hex)
        a, b = run_script(WORKER, *args), run_script(WORKER, *args)
        if len({*a["minutes"], *b["minutes"]}) == 1:
            return a["out"], b["out"]
    raise AssertionError("three pairs of processes straddled a minute")


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-memory"])
def test_rpm_counters_are_shared_across_processes_only_through_redis(provider, redis_url, shared: bool) -> None:
    a, b = two_workers(provider, redis_url if shared else "-")
    assert a == ["ok"] * 4
    if shared:
        assert b == ["RateLimitError"] * 4
        assert served(provider) == {"d1": 4}
    else:
        assert b == ["ok"] * 4
        assert served(provider) == {"d1": 8}


@pytest.mark.parametrize("stale_removed", [False, True], ids=["first-router-decides", "stale-handler-removed"])
def test_the_first_enforce_router_of_a_process_keeps_its_counters_for_every_router(provider, redis_url,
                                                                                   stale_removed: bool) -> None:
    """The rate-limit check is one callback per process in litellm.callbacks: after an in-memory enforce
    Router, a Router with redis_url counts in memory too, and another process sees nothing — unless the
    stale handler is removed before the Redis Router is built (the lesson's process A)."""
    from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

    not_near_minute_end(margin=25)
    fast(provider)
    Router(model_list=[dep(provider, "d1", unique=True, rpm=3)], optional_pre_call_checks=["enforce_model_rate_limits"],
           num_retries=0)
    if stale_removed:
        litellm.callbacks[:] = [c for c in litellm.callbacks if not isinstance(c, ModelRateLimitingCheck)]
    api_base = provider.api_base("openrouter", deployment="d1")
    worker_b = WORKER.replace('"model_name": "g"', f'"model_name": "{GROUP}"').replace('model="g"', f'model="{GROUP}"')
    for _ in range(3):  # a pair that straddles a minute runs again (per-minute counters)
        run_id = uuid.uuid4().hex
        router_a = Router(model_list=[{"model_name": GROUP, "litellm_params": {
            "model": "openrouter/" + MODEL, "api_base": api_base, "api_key": provider.key, "rpm": 4},
            "model_info": {"id": run_id}}], redis_url=redis_url, optional_pre_call_checks=["enforce_model_rate_limits"],
            num_retries=0)

        async def process_a() -> list[str]:
            out = []
            for _ in range(4):
                try:
                    out.append(where(await router_a.acompletion(model=GROUP, messages=MSG)))  # noqa: B023
                except Exception as e:  # noqa: BLE001
                    out.append(type(e).__name__)
            return out
        minute = int(time.time() // 60)
        assert asyncio.run(process_a()) == ["d1"] * 4
        b = run_script(worker_b, api_base, provider.key, redis_url, run_id)
        if set(b["minutes"]) == {minute}:
            break
    assert b["out"] == (["RateLimitError"] * 4 if stale_removed else ["ok"] * 4)
