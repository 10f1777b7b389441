"""course_helpers.budget: prices, reservations, per-user/per-day budgets, and the guard under load."""

from __future__ import annotations

import asyncio
import random
import threading

import litellm
import pytest

from course_helpers import practice_data
from course_helpers.budget import (DEFAULT_MARGIN, BudgetExceeded, BudgetGuard, callbacks_restored, max_cost,
                                   price_of, prompt_tokens)

MINI = "openrouter/openai/gpt-4o-mini"
GPT4O = "openrouter/openai/gpt-4o"
STORY = [{"role": "user", "content": "Напиши длинный рассказ"}]


def test_openrouter_prices_come_from_the_practice_table() -> None:
    price = price_of(GPT4O)
    spec = practice_data.MODELS["openai/gpt-4o"]
    assert (price.prompt, price.completion) == (spec.input_per_m / 1e6, spec.output_per_m / 1e6)
    assert practice_data.PRICES_AS_OF in price.source


def test_other_models_are_priced_from_litellm_map() -> None:
    price = price_of("gpt-4o-mini")
    assert price.prompt == litellm.model_cost["gpt-4o-mini"]["input_cost_per_token"]
    assert price.completion == litellm.model_cost["gpt-4o-mini"]["output_cost_per_token"]
    with pytest.raises(ValueError, match="нет цены"):
        price_of("no-such-provider/no-such-model")
    with pytest.raises(ValueError, match="таблице цен"):
        price_of("openrouter/nobody/unknown")


def test_max_tokens_is_required() -> None:
    for bad in (None, 0, True, 1.5):
        with pytest.raises(ValueError, match="max_tokens"):
            max_cost(MINI, STORY, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", [MINI, GPT4O, "openrouter/anthropic/claude-3-haiku", "gpt-4o-mini"])
def test_reservation_is_an_upper_bound_of_the_real_cost(provider, model: str) -> None:
    messages = [{"role": "user", "content": "Сколько стоит этот запрос? Ответь подробно."}]
    for max_tokens in (5, 400):
        response = litellm.completion(model=model, messages=messages, max_tokens=max_tokens)
        assert response._hidden_params["response_cost"] <= max_cost(model, messages, max_tokens) + 1e-15
    if model.startswith("openrouter/"):
        assert response.usage.prompt_tokens == prompt_tokens(model, messages)


def test_reserve_settle_release_and_refusal() -> None:
    guard = BudgetGuard(limit=3 * max_cost(GPT4O, STORY, 100), margin=0)
    one = max_cost(GPT4O, STORY, 100)
    a = guard.reserve(GPT4O, STORY, max_tokens=100)
    b = guard.reserve(GPT4O, STORY, max_tokens=100)
    assert guard.in_flight() == pytest.approx(2 * one)
    a.settle(0.0001)
    b.release()
    assert guard.spent() == pytest.approx(0.0001) and guard.in_flight() == pytest.approx(0.0)
    with pytest.raises(RuntimeError):
        a.settle(0.0)
    holds = [guard.reserve(GPT4O, STORY, max_tokens=100) for _ in range(2)]
    with pytest.raises(BudgetExceeded) as info:
        guard.reserve(GPT4O, STORY, max_tokens=100)
    error = info.value
    assert isinstance(error, litellm.BudgetExceededError)
    assert "Бюджет «общий» исчерпан" in str(error) and "Запрос не отправлен" in str(error)
    assert error.needed == pytest.approx(one) and guard.refused == 1
    for hold in holds:
        hold.settle(one)


def test_context_manager_outcomes() -> None:
    """Released only when the provider certainly refused the request; every other early exit
    (a bug after the call, a cancelled task, Ctrl+C, a timeout, leaving without settle) keeps
    the maximum charged — the provider may have billed it (issue: releases caused +181..321 %)."""
    guard = BudgetGuard(limit=1.0, margin=0)
    one = max_cost(MINI, STORY, 50)
    refused = [litellm.BadRequestError(message="b", model=MINI, llm_provider="openrouter"),
               litellm.AuthenticationError(message="a", model=MINI, llm_provider="openrouter"),
               litellm.APIError(status_code=402, message="no credits", model=MINI, llm_provider="openrouter")]
    for error in refused:
        with pytest.raises(type(error)):
            with guard.reserve(MINI, STORY, max_tokens=50):
                raise error
    assert guard.spent() == 0.0  # refused before generation: released
    import asyncio

    unknown = [ValueError("ошибка в коде после ответа"), asyncio.CancelledError(), KeyboardInterrupt(),
               litellm.Timeout(message="t", model=MINI, llm_provider="openrouter"),
               litellm.RateLimitError(message="r", model=MINI, llm_provider="openrouter")]
    for error in unknown:
        with pytest.raises(type(error)):
            with guard.reserve(MINI, STORY, max_tokens=50):
                raise error
    assert guard.spent() == pytest.approx(len(unknown) * one)  # unknown outcome: the maximum stays charged
    with guard.reserve(MINI, STORY, max_tokens=50):
        pass  # never settled: charged the maximum
    assert guard.spent() == pytest.approx((len(unknown) + 1) * one)

    class NoCost:
        _hidden_params = {"response_cost": None}

    with guard.reserve(MINI, STORY, max_tokens=50) as hold:
        assert hold.settle(NoCost()) == pytest.approx(one)  # unknown cost: the maximum
    assert guard.in_flight() == pytest.approx(0.0)


def test_per_user_and_per_day_budgets() -> None:
    one = max_cost(GPT4O, STORY, 100)
    clock = {"today": "2025-06-01"}
    guard = BudgetGuard(per_user={"alice": 2.5 * one}, per_day=3.5 * one, today=lambda: clock["today"], margin=0)
    for _ in range(2):
        guard.reserve(GPT4O, STORY, max_tokens=100, user="alice").settle(one)
    with pytest.raises(BudgetExceeded, match="пользователь alice"):
        guard.reserve(GPT4O, STORY, max_tokens=100, user="alice")
    guard.reserve(GPT4O, STORY, max_tokens=100, user="bob").settle(one)  # bob has no per-user limit
    with pytest.raises(BudgetExceeded, match="день 2025-06-01"):
        guard.reserve(GPT4O, STORY, max_tokens=100, user="bob")
    clock["today"] = "2025-06-02"
    guard.reserve(GPT4O, STORY, max_tokens=100, user="bob").settle(one)
    assert guard.spent(user="alice") == pytest.approx(2 * one)
    assert guard.spent(user="bob") == pytest.approx(2 * one)
    assert guard.spent(day="2025-06-01") == pytest.approx(3 * one)
    assert guard.spent() == pytest.approx(4 * one)
    shared = BudgetGuard(per_user=1.5 * one, margin=0)  # one limit for every user
    shared.reserve(GPT4O, STORY, max_tokens=100, user="carol")
    with pytest.raises(BudgetExceeded):
        shared.reserve(GPT4O, STORY, max_tokens=100, user="carol")
    shared.reserve(GPT4O, STORY, max_tokens=100, user="dave")


def test_threads_never_reserve_past_the_limit() -> None:
    one = max_cost(MINI, STORY, 50)
    guard = BudgetGuard(limit=10.5 * one, margin=0)
    admitted: list[int] = []
    barrier = threading.Barrier(40)

    def worker() -> None:
        barrier.wait()
        try:
            guard.reserve(MINI, STORY, max_tokens=50)
            admitted.append(1)
        except BudgetExceeded:
            pass

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 10 and guard.refused == 30
    assert guard.in_flight() <= guard.limit


def test_fifty_concurrent_acompletions_stay_within_the_limit(provider) -> None:
    """The lesson's claim: with 50 concurrent requests the provider bills no more than the limit."""
    rng = random.Random(6)
    burst = [([{"role": "user", "content": f"Вопрос {i}: " + "расскажи про бюджеты LLM. " * rng.randint(1, 12)}],
              rng.randint(20, 120)) for i in range(50)]
    limit = 0.01
    guard = BudgetGuard(limit=limit)  # the default margin
    biggest = max(guard.reservation(GPT4O, m, t) for m, t in burst)

    async def one(messages, max_tokens):
        with guard.reserve(GPT4O, messages, max_tokens=max_tokens) as hold:
            response = await litellm.acompletion(model=GPT4O, messages=messages, max_tokens=max_tokens)
            hold.settle(response)
            return response

    async def main():
        return await asyncio.gather(*(one(m, t) for m, t in burst), return_exceptions=True)

    results = asyncio.run(main())
    spent = provider.stats()["cost"]
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(ok) + len(refused) == 50 and ok and refused
    assert spent <= limit  # never over the limit at all
    # and wastes no more than the margin plus about one request (all 50 reserve before any is billed)
    assert spent > limit / (1 + guard.margin) - 2 * biggest
    # the lesson: "ответы часто короче max_tokens ... заметная часть бюджета осталась неистраченной"
    assert any(r.usage.completion_tokens < t for r, (_, t) in zip(results, burst) if not isinstance(r, Exception))
    assert spent < 0.8 * limit
    assert provider.stats()["requests"] == len(ok)
    assert guard.spent() == pytest.approx(spent, abs=1e-12)


# --- margin, estimate, settling with the billed cost -------------------------------------------------

def test_reservation_is_the_estimate_plus_the_margin() -> None:
    one = max_cost(GPT4O, STORY, 100)
    assert BudgetGuard().margin == DEFAULT_MARGIN == 0.25
    assert BudgetGuard().reservation(GPT4O, STORY, 100) == pytest.approx(one * 1.25)
    assert BudgetGuard(margin=0).reservation(GPT4O, STORY, 100) == pytest.approx(one)
    guard = BudgetGuard(limit=3 * one)  # three calls fit without a margin, two with it
    holds = [guard.reserve(GPT4O, STORY, max_tokens=100) for _ in range(2)]
    assert guard.in_flight() == pytest.approx(2 * 1.25 * one)
    with pytest.raises(BudgetExceeded) as info:
        guard.reserve(GPT4O, STORY, max_tokens=100)
    assert info.value.needed == pytest.approx(1.25 * one) and "резерв" in str(info.value)
    holds[0].settle(one)  # billed the estimate: the margin goes back to the budget
    holds[1].settle(one)
    assert guard.spent() == pytest.approx(2 * one) and guard.in_flight() == pytest.approx(0.0)
    with pytest.raises(BudgetExceeded):  # 2 + 1.25 > 3
        guard.reserve(GPT4O, STORY, max_tokens=100)
    assert guard.overruns == 0


@pytest.mark.parametrize("bad", [-0.1, "0.2", True, None])
def test_margin_must_be_a_non_negative_number(bad) -> None:
    with pytest.raises(ValueError, match="margin"):
        BudgetGuard(margin=bad)


def test_overruns_count_calls_billed_above_their_reservation() -> None:
    guard = BudgetGuard(limit=1.0, margin=0.1)
    amount = guard.reservation(GPT4O, STORY, 100)
    guard.reserve(GPT4O, STORY, max_tokens=100).settle(amount)  # equal: no overrun
    guard.reserve(GPT4O, STORY, max_tokens=100).settle(round(amount, 10) + 4e-11)  # the bill's rounding
    assert guard.overruns == 0
    guard.reserve(GPT4O, STORY, max_tokens=100).settle(amount * 1.5)
    assert guard.overruns == 1
    assert guard.spent() == pytest.approx(3.5 * amount)  # the bill is booked, not the reservation


def test_estimate_with_another_tokenizer() -> None:
    russian = [{"role": "user", "content": "Кратко перескажи отчёт о расходах на языковые модели за квартал. " * 3}]
    model = "openrouter/anthropic/claude-3.5-sonnet"  # billed with cl100k_base by the practice provider
    assert prompt_tokens(model, russian) == practice_data.prompt_tokens(russian, "cl100k_base")
    assert prompt_tokens(model, russian, "o200k_base") < prompt_tokens(model, russian)
    low = max_cost(model, russian, 40, encoding="o200k_base")
    assert low < max_cost(model, russian, 40)
    guard = BudgetGuard(margin=0, estimate=lambda m, msgs, t: max_cost(m, msgs, t, encoding="o200k_base"))
    assert guard.reservation(model, russian, 40) == pytest.approx(low)


def test_settle_books_the_billed_cost_not_the_estimate(provider) -> None:
    """The guard's estimate is off (another tokenizer), and LiteLLM's price map has another price:
    settle still books what the provider billed (OpenRouter's usage.cost)."""
    model = "openrouter/anthropic/claude-3.5-sonnet"
    litellm.register_model({model: {"input_cost_per_token": 1e-3, "output_cost_per_token": 1e-3,
                                    "litellm_provider": "openrouter", "mode": "chat"}})
    guard = BudgetGuard(limit=1.0, margin=0, estimate=lambda m, msgs, t: max_cost(m, msgs, t, encoding="o200k_base"))
    messages = [{"role": "user", "content": "Кратко перескажи отчёт о расходах на языковые модели. " * 3}]
    with guard.reserve(model, messages, max_tokens=40) as hold:
        response = litellm.completion(model=model, messages=messages, max_tokens=40)
        booked = hold.settle(response)
    billed = provider.log()[-1]["cost"]
    assert booked == response._hidden_params["response_cost"] == response.usage.cost == pytest.approx(billed)
    assert billed < 0.01  # LiteLLM's registered price (0.001 per token) would make it dearer
    assert guard.spent() == pytest.approx(billed) and guard.in_flight() == pytest.approx(0.0)
    assert billed > guard.reservation(model, messages, 40) and guard.overruns == 1  # the estimate was low


def test_callbacks_restored_puts_every_list_back() -> None:
    before = {name: list(getattr(litellm, name)) for name in ("callbacks", "success_callback",
                                                              "_async_success_callback")}

    def fn(kwargs, completion_response, start_time, end_time) -> None: ...

    with callbacks_restored(clear=True):
        assert litellm.success_callback == [] and litellm.callbacks == []
        litellm.callbacks.append(fn)
        litellm.success_callback.append(fn)
        litellm._async_success_callback.append(fn)
    after = {name: list(getattr(litellm, name)) for name in before}
    assert after == before
