"""Lesson 06 claims about LiteLLM 1.108.14 budgets and cost tracking, each checked live.

If an upgrade changes one of these behaviours, the lesson's text is wrong: fix the lesson.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import litellm
import pytest
from litellm import BudgetManager, Router
from litellm.integrations.custom_logger import CustomLogger
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
from litellm.router_strategy.budget_limiter import RouterBudgetLimiting

from course_helpers import practice_data
from course_helpers.budget import DEFAULT_MARGIN, BudgetExceeded, BudgetGuard, callbacks_restored, max_cost

MINI = "openrouter/openai/gpt-4o-mini"
GPT4O = "openrouter/openai/gpt-4o"
Q = [{"role": "user", "content": "Что такое кэширование?"}]
STORY = [{"role": "user", "content": "Напиши длинный рассказ"}]
USAGE = {"include_usage": True}
STORY_COST = 0.0010275  # gpt-4o, 11 prompt tokens + 100 completion tokens at the practice table's prices


@pytest.fixture(autouse=True)
def _clean_callbacks() -> Iterator[None]:
    """Every test starts with no callbacks and leaves none behind."""
    with callbacks_restored(clear=True):
        yield


async def _settle() -> None:
    await asyncio.sleep(0.4)  # success callbacks run in the background (a thread or a task)


async def _deliver_stale_events() -> None:
    """Async success events left over by an earlier event loop are delivered in the next one
    (see test_async_event_of_a_finished_loop_goes_to_the_next_loops_callbacks): flush them
    before this test registers its own callbacks or Router budgets."""
    await GLOBAL_LOGGING_WORKER.flush()


# --- 6.1 litellm.max_budget -------------------------------------------------------------------

def test_max_budget_never_accrues_and_never_blocks(provider) -> None:
    saved = litellm.max_budget
    litellm.max_budget = 0.00001
    try:
        for _ in range(2):
            litellm.completion(model=MINI, messages=Q, max_tokens=20)
        for _ in litellm.completion(model=MINI, messages=Q, max_tokens=20, stream=True, stream_options=USAGE):
            pass

        async def main() -> None:
            await _deliver_stale_events()
            await litellm.acompletion(model=MINI, messages=Q, max_tokens=20)
            await _settle()

        asyncio.run(main())
        time.sleep(0.3)
        assert litellm._current_cost == 0.0
        assert provider.stats()["requests"] == 4 and provider.stats()["cost"] > litellm.max_budget
    finally:
        litellm.max_budget, litellm._current_cost = saved, 0.0


def test_pre_call_check_works_when_the_counter_is_set_by_hand(provider) -> None:
    saved = litellm.max_budget
    litellm.max_budget, litellm._current_cost = 0.002, 0.0025
    try:
        with pytest.raises(litellm.BudgetExceededError, match="Budget has been exceeded! Current cost: 0.0025"):
            litellm.completion(model=MINI, messages=Q)
        assert provider.stats()["requests"] == 0
    finally:
        litellm.max_budget, litellm._current_cost = saved, 0.0
    assert litellm.BudgetExceededError.__mro__[1] is Exception  # not an openai.APIError


# --- 6.2 response_cost in callbacks ---------------------------------------------------------

class Recorder(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, bool, float | None, bool | None]] = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.events.append(("sync", bool(kwargs.get("stream")), kwargs.get("response_cost"), kwargs.get("cache_hit")))

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.events.append(("async", bool(kwargs.get("stream")), kwargs.get("response_cost"), kwargs.get("cache_hit")))


def test_custom_logger_sees_cost_on_sync_async_and_stream_paths(provider) -> None:
    recorder = Recorder()

    async def main() -> None:
        await _deliver_stale_events()
        litellm.callbacks = [recorder]
        await asyncio.to_thread(lambda: litellm.completion(model=MINI, messages=Q))
        for _ in await asyncio.to_thread(lambda: list(litellm.completion(
                model=MINI, messages=Q, stream=True, stream_options=USAGE))):
            pass
        await litellm.acompletion(model=MINI, messages=Q)
        stream = await litellm.acompletion(model=MINI, messages=Q, stream=True, stream_options=USAGE)
        async for _ in stream:
            pass
        await _settle()

    asyncio.run(main())
    kinds = sorted((path, stream) for path, stream, _, _ in recorder.events)
    assert kinds == [("async", False), ("async", True), ("sync", False), ("sync", True)]
    assert sum(e[2] for e in recorder.events) == pytest.approx(provider.stats()["cost"], abs=1e-12)


def test_cache_hit_costs_zero_with_cache_hit_true(provider) -> None:
    recorder = Recorder()
    litellm.callbacks = [recorder]
    saved_cache = litellm.cache
    litellm.enable_cache()
    try:
        messages = [{"role": "user", "content": "Проверка 06: кэш и стоимость"}]
        litellm.completion(model=MINI, messages=messages)
        litellm.completion(model=MINI, messages=messages)
    finally:
        litellm.disable_cache()
        litellm.cache = saved_cache
    time.sleep(0.4)
    assert [(e[2] > 0, e[3]) for e in recorder.events] == [(True, None), (False, True)]
    assert recorder.events[1][2] == 0.0
    assert provider.stats()["requests"] == 1


def test_wrong_parameter_names_are_silently_skipped(provider) -> None:
    calls: list[str] = []

    class WrongNames(CustomLogger):
        def log_success_event(self, kw, response, start, end):
            calls.append("sync")

        async def async_log_success_event(self, kw, response, start, end):
            calls.append("async")

    async def main() -> None:
        await _deliver_stale_events()
        litellm.callbacks = [WrongNames()]
        litellm.completion(model=MINI, messages=Q)
        await litellm.acompletion(model=MINI, messages=Q)
        await _settle()

    asyncio.run(main())  # no exception reaches the caller
    assert calls == [] and provider.stats()["requests"] == 2


def _stream_and_wait(recorder: Recorder, **kwargs) -> list:
    """A sync stream, then wait for its success event (callbacks run in a background thread)."""
    seen = len(recorder.events)
    chunks = list(litellm.completion(messages=Q, stream=True, **kwargs))
    deadline = time.monotonic() + 5
    while len(recorder.events) == seen and time.monotonic() < deadline:
        time.sleep(0.02)
    return chunks


def test_stream_without_include_usage_has_no_cost_on_openai_only(provider) -> None:
    """Trap 1, line by line. OpenRouter always sends usage with cost in a stream's last message
    (usage-accounting.mdx; the practice provider does since t11), so only ``openai/`` streams
    report a silent 0.0. The earlier claim "``openrouter/`` gives None" was an artefact of the
    practice provider."""
    recorder = Recorder()
    litellm.callbacks = [recorder]
    chunks = _stream_and_wait(recorder, model=MINI)
    billed = provider.log()[-1]["cost"]
    assert billed > 0 and recorder.events[-1][2] == pytest.approx(billed)  # the callback has the bill
    assert not any(hasattr(c, "usage") for c in chunks)  # the loop does not see it
    assert litellm.stream_chunk_builder(chunks).usage.cost == pytest.approx(billed)
    chunks = _stream_and_wait(recorder, model="openai/gpt-4o-mini")
    assert provider.log()[-1]["cost"] > 0 and recorder.events[-1][2] == 0.0  # billed, reported as 0.0
    assert not any(hasattr(c, "usage") for c in chunks)
    built = litellm.stream_chunk_builder(chunks).usage
    assert getattr(built, "cost", None) is None and built.total_tokens == 0
    # LiteLLM still asks OpenRouter for usage the deprecated way; the OpenAI path gets no such field
    assert [e["usage_param"] for e in provider.log()] == [{"include": True}, None]


def test_include_usage_gives_usage_and_cost_on_both_paths(provider) -> None:
    recorder = Recorder()
    litellm.callbacks = [recorder]
    for model in (MINI, "openai/gpt-4o-mini"):
        chunks = _stream_and_wait(recorder, model=model, stream_options=USAGE)
        assert chunks[-1].usage.completion_tokens == provider.log()[-1]["completion_tokens"]
        assert recorder.events[-1][2] > 0
    assert recorder.events[0][2] == pytest.approx(provider.log()[0]["cost"])  # openrouter/: the bill itself


def _run_script(body: str) -> str:
    """A fresh interpreter (LiteLLM initialises function callbacks once per process)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip().splitlines()[-1]


def test_function_callback_fires_per_stream_chunk_and_never_for_async(course) -> None:
    out = _run_script("""
        import asyncio, time, litellm
        seen = []
        def fn(kwargs, completion_response, start_time, end_time):
            seen.append(kwargs.get("response_cost"))
        litellm.success_callback.append(fn)
        for _ in litellm.completion(model="openrouter/openai/gpt-4o-mini", stream=True,
                                    messages=[{"role": "user", "content": "Что такое кэширование?"}],
                                    stream_options={"include_usage": True}):
            pass
        time.sleep(0.5)
        stream_calls, nones, last = len(seen), seen.count(None), seen[-1]
        seen.clear()
        asyncio.run(litellm.acompletion(model="openrouter/openai/gpt-4o-mini",
                                        messages=[{"role": "user", "content": "x"}]))
        time.sleep(0.5)
        print(stream_calls, nones, last, len(seen))
    """)
    stream_calls, nones, last, async_calls = out.split()
    assert int(stream_calls) == int(nones) + 1 and int(nones) > 5
    assert float(last) > 0 and int(async_calls) == 0


def test_function_callback_added_after_first_callback_setup_is_never_called(course) -> None:
    out = _run_script("""
        import time, litellm
        from litellm.integrations.custom_logger import CustomLogger
        class Counter(CustomLogger):
            calls = 0
            def log_success_event(self, kwargs, response_obj, start_time, end_time):
                Counter.calls += 1
        seen = []
        litellm.callbacks = [Counter()]
        M = [{"role": "user", "content": "x"}]
        litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M)
        litellm.success_callback.append(lambda kwargs, completion_response, start_time, end_time: seen.append(1))
        litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M)
        time.sleep(0.5)
        print(Counter.calls, len(seen))
    """)
    assert out.split() == ["2", "0"]


def test_async_event_of_a_finished_loop_goes_to_the_next_loops_callbacks(provider) -> None:
    class Count(CustomLogger):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            self.calls += 1

    first, second = Count(), Count()

    async def call_and_leave() -> None:
        await _deliver_stale_events()
        litellm.callbacks = [first]
        await litellm.acompletion(model=MINI, messages=Q)  # the loop ends right after the answer

    async def next_run() -> None:
        litellm.callbacks = [second]
        await litellm.acompletion(model=MINI, messages=Q)
        await _settle()

    asyncio.run(call_and_leave())
    with callbacks_restored(clear=True):
        asyncio.run(next_run())
    # nothing is lost: an event the first loop did not deliver goes to the next loop's logger
    # (whether the first loop manages to deliver it depends on scheduling)
    assert first.calls + second.calls == 2 and second.calls >= 1
    assert provider.stats()["requests"] == 2


# --- 6.3 BudgetManager --------------------------------------------------------------------------

def test_budget_manager_cannot_price_openrouter_and_never_blocks(provider, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    bm = BudgetManager(project_name="course-test")
    bm.create_budget(total_budget=0.00001, user="alice")
    with pytest.raises(litellm.exceptions.ModelNotMappedError):
        bm.projected_cost(model=MINI, messages=Q, user="alice")
    response = litellm.completion(model=MINI, messages=Q, user="alice")  # not blocked
    assert response._hidden_params["response_cost"] > 0.00001
    with pytest.raises(litellm.exceptions.ModelNotMappedError, match="custom_llm_provider=openrouter"):
        bm.update_cost(user="alice", completion_obj=response)
    assert bm.get_current_cost("alice") == 0
    assert not (tmp_path / "user_cost.json").exists()  # create_budget without duration does not save
    bm.save_data()
    assert (tmp_path / "user_cost.json").exists()  # ./user_cost.json in the current directory
    (tmp_path / "user_cost.json").unlink()
    bm.create_budget(total_budget=1.0, user="bob", duration="daily")  # saves in a background thread
    for _ in range(50):
        if (tmp_path / "user_cost.json").exists():
            break
        time.sleep(0.05)
    assert (tmp_path / "user_cost.json").exists()
    for thread in [t for t in threading.enumerate() if t.name.endswith("(save_data)")]:
        thread.join()  # finish writing before the test's folder goes away
    assert "bob" in (tmp_path / "user_cost.json").read_text()


# --- 6.4 Router budgets ----------------------------------------------------------------------

def _deployment(provider, name: str, **budget) -> dict:
    return {"model_name": "story", "litellm_params": {
        "model": GPT4O, "api_base": provider.api_base("openrouter", deployment=name), "api_key": provider.key,
        "max_tokens": 100, **budget}}


async def _ask(router: Router, n: int, pause: float = 0.2) -> list[str]:
    out = []
    for _ in range(n):
        try:
            await router.acompletion(model="story", messages=STORY)
            out.append("ok")
        except ValueError as e:
            assert type(e) is ValueError and "crossed budget" in str(e)
            out.append("ValueError")
        await asyncio.sleep(pause)
    return out


def _spend(provider, name: str) -> float:
    return provider.stats()["by_deployment"].get(name, {}).get("cost", 0.0)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_router_budget_needs_a_running_event_loop(provider) -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        Router(model_list=[_deployment(provider, "c06x", max_budget=1.0, budget_duration="1d")])
    gc.collect()  # the never-awaited coroutine is reported here, not in a later test


def test_deployment_budget_overshoots_by_about_one_call_and_raises_value_error(provider) -> None:
    async def main():
        await _deliver_stale_events()
        router = Router(model_list=[_deployment(provider, "c06a", max_budget=0.003, budget_duration="1d")],
                        num_retries=0)
        first = await _ask(router, 5)
        again = Router(model_list=[_deployment(provider, "c06a", max_budget=0.003, budget_duration="1d")],
                       num_retries=0)
        return first, await _ask(again, 2)

    first, again = asyncio.run(main())
    assert first == ["ok", "ok", "ok", "ValueError", "ValueError"]
    assert 0.003 < _spend(provider, "c06a") < 0.003 + STORY_COST  # over the budget by less than one call
    assert again == ["ValueError", "ValueError"]  # spend is shared in the process


def test_budget_error_names_the_period_not_the_limit(provider) -> None:
    async def main():
        await _deliver_stale_events()
        router = Router(model_list=[_deployment(provider, "c06h", max_budget=0.001, budget_duration="1d")],
                        num_retries=0)
        await _ask(router, 1)
        with pytest.raises(ValueError) as info:
            await router.acompletion(model="story", messages=STORY)
        return str(info.value)

    message = asyncio.run(main())
    assert "No deployments available - crossed budget" in message
    assert message.strip().endswith(">= 1d")


def test_second_router_budget_is_ignored_while_the_first_limiter_is_registered(provider) -> None:
    async def main():
        await _deliver_stale_events()
        first = Router(model_list=[_deployment(provider, "c06b", max_budget=0.003, budget_duration="1d")],
                       num_retries=0)
        second = Router(model_list=[_deployment(provider, "c06c", max_budget=0.003, budget_duration="1d")],
                        num_retries=0)
        limiters = [cb for cb in litellm.callbacks if isinstance(cb, RouterBudgetLimiting)]
        ignored = await _ask(second, 5)
        for limiter in limiters:  # remove the first router's limiter: a new router's budget works
            litellm.logging_callback_manager.remove_callback_from_all_lists(limiter)
        third = Router(model_list=[_deployment(provider, "c06d", max_budget=0.003, budget_duration="1d")],
                       num_retries=0)
        return len(limiters), ignored, await _ask(third, 5), first

    count, ignored, enforced, _ = asyncio.run(main())
    assert count == 1
    assert ignored == ["ok"] * 5 and _spend(provider, "c06c") > 0.003
    assert enforced == ["ok", "ok", "ok", "ValueError", "ValueError"]


def test_provider_budget_async_only(provider) -> None:
    async def main():
        await _deliver_stale_events()
        router = Router(model_list=[_deployment(provider, "c06e")], num_retries=0,
                        provider_budget_config={"openrouter": {"budget_limit": 0.003, "time_period": "1d"}})
        outcomes = await _ask(router, 5)
        sync_ok = router.completion(model="story", messages=STORY)  # sync call: budget not checked
        return outcomes, sync_ok

    outcomes, sync_ok = asyncio.run(main())
    assert outcomes == ["ok", "ok", "ok", "ValueError", "ValueError"]
    assert sync_ok.choices[0].message.content
    assert provider.stats()["by_deployment"]["c06e"]["requests"] == 4


def test_router_budget_does_not_hold_under_concurrency(provider) -> None:
    async def main():
        await _deliver_stale_events()
        router = Router(model_list=[_deployment(provider, "c06f", max_budget=0.003, budget_duration="1d")],
                        num_retries=0)
        return await asyncio.gather(*(router.acompletion(model="story", messages=STORY) for _ in range(20)),
                                    return_exceptions=True)

    results = asyncio.run(main())
    assert not any(isinstance(r, Exception) for r in results)
    assert _spend(provider, "c06f") > 6 * 0.003


def test_budget_refusal_is_retried_by_default(provider) -> None:
    async def main():
        await _deliver_stale_events()
        router = Router(model_list=[_deployment(provider, "c06g", max_budget=0.001, budget_duration="1d")])
        await _ask(router, 1)
        start = time.perf_counter()
        with pytest.raises(ValueError, match="crossed budget"):
            await router.acompletion(model="story", messages=STORY)
        slow = time.perf_counter() - start
        fast_router = Router(model_list=[_deployment(provider, "c06g", max_budget=0.001, budget_duration="1d")],
                             num_retries=0)
        start = time.perf_counter()
        with pytest.raises(ValueError, match="crossed budget"):
            await fast_router.acompletion(model="story", messages=STORY)
        return slow, time.perf_counter() - start

    slow, fast = asyncio.run(main())
    assert slow > 1.5 and fast < 0.5


# --- 6.5 check-then-call vs reserve-then-call -------------------------------------------------------

def test_check_then_call_lets_a_concurrent_burst_through_and_reservation_does_not(provider) -> None:
    limit = 3 * STORY_COST

    async def main():
        await _deliver_stale_events()
        spent = {"value": 0.0}

        async def naive():
            if spent["value"] >= limit:
                raise litellm.BudgetExceededError(current_cost=spent["value"], max_budget=limit)
            r = await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100)
            spent["value"] += r._hidden_params["response_cost"]

        await asyncio.gather(*(naive() for _ in range(10)))
        naive_cost = provider.stats()["cost"]
        guard = BudgetGuard(limit=limit, margin=0)  # the estimate is exact here: the point is concurrency

        async def reserved():
            with guard.reserve(GPT4O, STORY, max_tokens=100) as hold:
                hold.settle(await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100))

        results = await asyncio.gather(*(reserved() for _ in range(10)), return_exceptions=True)
        return naive_cost, provider.stats()["cost"] - naive_cost, results

    naive_cost, guarded_cost, results = asyncio.run(main())
    assert naive_cost == pytest.approx(10 * STORY_COST)
    assert guarded_cost == pytest.approx(3 * STORY_COST) and guarded_cost <= limit + 1e-12
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 7


def test_openrouter_response_cost_is_the_billed_usage_cost_not_a_price_map_price(provider) -> None:
    """BudgetGuard settles with ``response_cost``: for ``openrouter/`` LiteLLM takes it from the
    answer's ``usage.cost`` even when its own price map knows (another) price for the model."""
    litellm.register_model({GPT4O: {"input_cost_per_token": 1e-3, "output_cost_per_token": 1e-3,
                                    "litellm_provider": "openrouter", "mode": "chat"}})
    response = litellm.completion(model=GPT4O, messages=STORY, max_tokens=100)
    assert response._hidden_params["response_cost"] == response.usage.cost == STORY_COST
    assert provider.log()[-1]["cost"] == STORY_COST


# --- 6.5 the margin, the per-key credit limit ---------------------------------------------------

SONNET = "openrouter/anthropic/claude-3.5-sonnet"
REPORT = "Кратко перескажи отчёт о расходах на языковые модели за квартал. "
REQUESTS = [[{"role": "user", "content": f"Заявка {i}: " + REPORT * (i % 5 + 1)}] for i in range(30)]


def _gpt4o_estimate(model: str, messages: list, max_tokens: int) -> float:
    return max_cost(model, messages, max_tokens, encoding="o200k_base")


def test_a_low_estimate_overshoots_without_a_margin_and_the_default_margin_holds(provider) -> None:
    limit = 0.006
    for messages in REQUESTS[:5]:  # Russian text: cl100k_base (the provider's Claude) counts more
        assert practice_data.prompt_tokens(messages, "cl100k_base") > 1.4 * practice_data.prompt_tokens(
            messages, "o200k_base")

    async def burst(guard: BudgetGuard) -> list:
        async def one(messages):
            with guard.reserve(SONNET, messages, max_tokens=40) as hold:
                response = await litellm.acompletion(model=SONNET, messages=messages, max_tokens=40)
                hold.settle(response)
                return response._hidden_params["response_cost"] / _gpt4o_estimate(SONNET, messages, 40)

        return await asyncio.gather(*(one(m) for m in REQUESTS), return_exceptions=True)

    outcomes = []
    for margin in (0.0, DEFAULT_MARGIN):
        guard = BudgetGuard(limit=limit, margin=margin, estimate=_gpt4o_estimate)
        before = provider.stats()["cost"]
        results = asyncio.run(burst(guard))
        ratios = [r for r in results if not isinstance(r, Exception)]
        assert all(isinstance(r, (float, BudgetExceeded)) for r in results)
        outcomes.append((len(ratios), provider.stats()["cost"] - before, guard.overruns, ratios))
    (sent0, spent0, over0, _), (sent25, spent25, over25, ratios) = outcomes
    assert spent0 > limit and over0 == sent0 == 7  # every call cost more than its reservation
    assert spent25 <= limit and over25 == 0 and sent25 == 6
    assert f"{min(ratios) - 1:.0%}…{max(ratios) - 1:.0%}" == "6%…20%"  # the printed mismatch
    assert max(ratios) < 1 + DEFAULT_MARGIN


def test_per_process_guards_add_up_and_the_key_credit_limit_stops_them_all(provider) -> None:
    one_call, worker_budget, key_limit = max_cost(GPT4O, STORY, 100), 0.004, 0.005
    assert one_call == STORY_COST

    async def call(guard: BudgetGuard, key: str) -> str:
        try:
            with guard.reserve(GPT4O, STORY, max_tokens=100) as hold:
                hold.settle(await litellm.acompletion(model=GPT4O, messages=STORY, max_tokens=100, api_key=key))
            return "ok"
        except BudgetExceeded:
            return "отказ защиты"
        except litellm.APIError as e:
            return f"{type(e).__name__} {e.status_code}"

    async def four_workers(key: str) -> list[list[str]]:
        guards = [BudgetGuard(limit=worker_budget) for _ in range(4)]
        return [await asyncio.gather(*(call(g, key) for g in guards)) for _ in range(4)]

    free_key = provider.create_key("4 воркера, без лимита")
    waves = asyncio.run(four_workers(free_key))
    assert waves == [["ok"] * 4] * 3 + [["отказ защиты"] * 4]
    usage = provider.key_info(free_key)["data"]["usage"]
    assert usage == pytest.approx(12 * one_call) and f"{usage / worker_budget:.1f}" == "3.1"  # «втрое»

    capped_key = provider.create_key("4 воркера, общий лимит", limit=key_limit)
    waves = asyncio.run(four_workers(capped_key))
    assert waves == [["ok"] * 4] * 2 + [["APIError 402"] * 4] * 2
    info = provider.key_info(capped_key)["data"]
    assert (info["limit"], info["limit_remaining"]) == (key_limit, 0.0)
    assert info["usage"] == pytest.approx(8 * one_call)  # the second wave left at $0.0041 of $0.005
    assert 0 < info["usage"] - key_limit < 4 * one_call  # over the limit by what was in flight


def test_402_is_an_apierror_retried_by_num_retries_and_the_same_key_fails_the_fallback(provider) -> None:
    key = provider.create_key("пустой", limit=0.0)
    with pytest.raises(litellm.APIError) as info:
        litellm.completion(model=MINI, messages=Q, api_key=key, num_retries=2)
    assert info.value.status_code == 402 and not isinstance(info.value, litellm.BudgetExceededError)
    assert provider.stats()["statuses"] == {"402": 3}  # retried, although it cannot succeed
    with pytest.raises(Exception) as info:
        litellm.completion(model=MINI, messages=Q, api_key=key, fallbacks=[GPT4O])
    assert "All fallback attempts failed" in str(info.value)
    assert provider.stats()["statuses"] == {"402": 5}  # the fallback model got the same 402


def test_custom_logger_gets_none_for_a_model_without_a_price(provider) -> None:
    """Exercise 06.1's hint: response_cost is None when LiteLLM knows no price (here: a model the
    provider serves on the OpenAI path, which sends no cost, and LiteLLM's map does not list)."""
    recorder = Recorder()
    litellm.callbacks = [recorder]
    litellm.completion(model="openai/anthropic/claude-3-haiku", messages=Q, max_tokens=20)
    deadline = time.monotonic() + 5
    while not recorder.events and time.monotonic() < deadline:
        time.sleep(0.02)
    assert recorder.events[0][2] is None and provider.log()[-1]["cost"] > 0


def test_a_callback_that_raises_is_swallowed_and_a_sync_only_logger_misses_acompletion(provider) -> None:
    """Exercise 06.1: the seed-style counter runs "without a single error" and counts nothing —
    completion_cost cannot price openrouter/ on 1.108.14, LiteLLM swallows what the callback raises,
    and a logger without async_log_success_event never sees acompletion."""
    calls: list[str] = []

    class PricesItself(CustomLogger):
        def log_success_event(self, kwargs, response_obj, start_time, end_time):
            calls.append("sync")
            litellm.completion_cost(completion_response=response_obj)  # raises inside LiteLLM's worker
            calls.append("priced")

    async def main() -> None:
        await _deliver_stale_events()
        litellm.callbacks = [PricesItself()]
        response = await asyncio.to_thread(lambda: litellm.completion(model=MINI, messages=Q))
        await litellm.acompletion(model=MINI, messages=Q)  # no async method: never reaches the logger
        await _settle()
        with pytest.raises(litellm.exceptions.ModelNotMappedError):
            litellm.completion_cost(completion_response=response)

    asyncio.run(main())  # nothing reaches the caller
    assert calls == ["sync"] and provider.stats()["requests"] == 2
