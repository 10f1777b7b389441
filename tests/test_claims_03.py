"""Lesson 03 (fallbacks): every claim the lesson makes about LiteLLM, on the pinned version.

The practice provider is reset before each test (``provider`` fixture) and made fast
(latency scale 0.05) unless the test measures pauses. No cache is active during a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import litellm
import openai
import pydantic
import pytest
from litellm.exceptions import (APIConnectionError, AuthenticationError, BudgetExceededError, MidStreamFallbackError,
                               RateLimitError, Timeout)

from course_helpers import Request, ask
from course_helpers.panels.fallbacks import CHAIN, summarize

M = [{"role": "user", "content": "Что такое Python?"}]
PRIMARY, FB1, FB2 = CHAIN  # gpt-4o, claude-3-haiku, gpt-4o-mini (all openrouter/)
LONG = [{"role": "user", "content": "слово " * 20000}]  # ~40k cl100k tokens (over gpt-3.5-turbo's 16385), ~20k o200k


@pytest.fixture(autouse=True)
def _no_cache() -> Iterator[None]:
    saved, litellm.cache = litellm.cache, None
    yield
    litellm.cache = saved


pytestmark = pytest.mark.usefixtures("drain_litellm_logging")


@pytest.fixture
def fast(provider):
    provider.set_latency_scale(0.05)
    return provider


def seen(p, by: str = "model") -> dict[str, list]:
    out: dict[str, list] = {}
    for entry in p.log():
        out.setdefault(entry[by], []).append(entry["status"])
    return out


def fallbacks_of(response) -> int:
    return response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]


# --- 3.1 the seed's loops -------------------------------------------------------------
def seed_loop(models, messages):
    for model in models:
        try:
            response = litellm.completion(model=model, messages=messages)
            break
        except Exception:
            pass
    return response  # noqa: F821 - unbound when every model failed: that is the claim


def test_seed_loop_falls_back_on_503(fast) -> None:
    fast.fail("openai/gpt-4o-mini", 503)
    r = seed_loop(["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"], M)
    assert r.model == "openai/gpt-3.5-turbo"
    assert seen(fast) == {"openai/gpt-4o-mini": [503], "openai/gpt-3.5-turbo": [200]}


@pytest.mark.parametrize("status", [429, 401])
def test_seed_loop_all_failed_gives_unbound_response_and_tries_401_everywhere(fast, status: int) -> None:
    fast.fail("*", status)
    with pytest.raises(UnboundLocalError):
        seed_loop(["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"], M)
    assert seen(fast) == {"openai/gpt-4o-mini": [status], "openai/gpt-3.5-turbo": [status]}


def test_seed_client_loop_spins_on_503(fast) -> None:
    assert not issubclass(litellm.ServiceUnavailableError, (RateLimitError, Timeout, APIConnectionError,
                                                           BudgetExceededError, AuthenticationError))
    fast.fail("openai/gpt-4o-mini", 503)
    models, attempt, iterations = ["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"], 0, 0
    while attempt < len(models) and iterations < 5:
        iterations += 1
        try:
            litellm.completion(model=models[attempt], messages=M)
            break
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError):
            attempt += 1
        except Exception:
            continue
    assert attempt == 0 and seen(fast) == {"openai/gpt-4o-mini": [503] * 5}


# --- 3.2 the fixed loop -------------------------------------------------------------
def fixed_loop(models, messages):
    last_error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except litellm.ContextWindowExceededError as e:
            last_error = e
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except openai.APIError as e:
            last_error = e
    raise last_error


def test_fixed_loop_outcomes(fast) -> None:
    models = ["openrouter/openai/gpt-4o-mini", "openrouter/openai/gpt-3.5-turbo"]
    assert issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError)
    fast.fail("openai/gpt-4o-mini", 503)
    assert fixed_loop(models, M).model == "openai/gpt-3.5-turbo"
    fast.reset()
    fast.fail("*", 429)
    with pytest.raises(litellm.RateLimitError):
        fixed_loop(models, M)
    assert seen(fast) == {"openai/gpt-4o-mini": [429], "openai/gpt-3.5-turbo": [429]}
    fast.reset()
    fast.fail("*", 401)
    with pytest.raises(litellm.AuthenticationError):
        fixed_loop(models, M)
    assert seen(fast) == {"openai/gpt-4o-mini": [401]}


# --- 3.3 fallbacks= in litellm.completion --------------------------------------------------
def test_sdk_fallbacks_strings_and_who_answered(fast) -> None:
    fast.fail("openai/gpt-4o", 503)
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB1, FB2])
    assert r.model == "anthropic/claude-3-haiku"  # without the openrouter/ prefix
    assert fallbacks_of(r) == 1
    assert r._hidden_params["litellm_model_name"] == PRIMARY  # misleading: still the primary
    assert seen(fast) == {"openai/gpt-4o": [503], "anthropic/claude-3-haiku": [200]}


def test_sdk_no_fallback_when_primary_is_healthy(fast) -> None:
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    assert r.model == "openai/gpt-4o" and fallbacks_of(r) == 0
    assert seen(fast) == {"openai/gpt-4o": [200]}


def test_sdk_dict_fallback_overrides_params(fast) -> None:
    fast.fail("openai/gpt-4o", 503)
    plain = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[{"model": FB2, "max_tokens": 20}])
    assert r.model == "openai/gpt-4o-mini" and fallbacks_of(r) == 1
    assert r.usage.completion_tokens == 20 < plain.usage.completion_tokens


@pytest.mark.parametrize("status", [400, 401])
def test_sdk_fallbacks_on_any_error(fast, status: int) -> None:
    fast.fail("openai/gpt-4o", status)
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    assert r.model == "openai/gpt-4o-mini"
    assert seen(fast) == {"openai/gpt-4o": [status], "openai/gpt-4o-mini": [200]}


# --- 3.4 every model failed -------------------------------------------------------------
def test_sdk_all_failed_raises_api_connection_error_500_and_loses_the_class(fast) -> None:
    fast.fail("*", 429)
    with pytest.raises(litellm.APIConnectionError) as info:
        litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB1, FB2])
    e = info.value
    assert e.status_code == 500 and not isinstance(e, litellm.RateLimitError)
    assert "RateLimitError" in str(e) and "All fallback attempts failed" in str(e)
    assert seen(fast) == {"openai/gpt-4o": [429], "anthropic/claude-3-haiku": [429], "openai/gpt-4o-mini": [429]}


def test_sdk_fallback_calls_leave_stderr_clean_after_start_lesson(fast, capfd) -> None:
    fast.fail("openai/gpt-4o", 503)
    litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    fast.fail("*", 429)
    with pytest.raises(litellm.APIConnectionError):
        litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    assert capfd.readouterr().err == ""


# --- 3.5 a seeded batch is reproducible ----------------------------------------------------
def run_batch(p, n: int = 12) -> list[str | None]:
    p.reset()
    p.set_latency_scale(0.05)  # latency does not touch the fault sequence
    for model, prob in zip(CHAIN, (0.5, 0.3, 0.1)):
        p.fail(model.removeprefix("openrouter/"), 503, probability=prob)
    served: list[str | None] = []
    for n_ in range(n):
        try:
            r = litellm.completion(model=PRIMARY, fallbacks=[FB1, FB2], max_tokens=5,
                                   messages=[{"role": "user", "content": f"Запрос №{n_}"}])
            served.append(r.model)
        except litellm.APIConnectionError:
            served.append(None)
    return served


def test_seeded_probability_faults_repeat_after_reset(provider) -> None:
    first = run_batch(provider)
    batch = summarize(CHAIN, first, provider.log())
    second = run_batch(provider)
    assert first == second
    assert len(set(first)) >= 2  # the faults really fired: more than one model served
    assert batch.served_count("openai/gpt-4o") + batch.failed_count("openai/gpt-4o") == len(first)


# --- 3.6 the project's Request / ask ----------------------------------------------------
class CustomAnswer(pydantic.BaseModel):
    answer: str
    confidence: float


def test_ask_with_answer_model_retries_once_then_falls_back(fast) -> None:
    fast.fail("openai/gpt-4o", 503)
    a = ask(Request(model=PRIMARY, fallbacks=["openrouter/openai/gpt-3.5-turbo", FB1], messages=M,
                    answer_model=CustomAnswer), verbose=False, sleep=lambda s: None)
    assert isinstance(a.value, CustomAnswer)
    assert a.model == "openrouter/openai/gpt-3.5-turbo" and a.response.model == "openai/gpt-3.5-turbo"
    assert seen(fast) == {"openai/gpt-4o": [503, 503], "openai/gpt-3.5-turbo": [200]}


def test_ask_all_failed_keeps_the_last_error_class(fast) -> None:
    fast.fail("*", 429)
    with pytest.raises(litellm.RateLimitError) as info:
        ask(Request(model=PRIMARY, fallbacks=["openrouter/openai/gpt-3.5-turbo"], messages=M, retries=0),
            verbose=False)
    assert [(a.model, a.error) for a in info.value.attempts] == [
        (PRIMARY, "RateLimitError"), ("openrouter/openai/gpt-3.5-turbo", "RateLimitError")]


def test_sdk_mock_response_exception_with_mocked_fallback(fast) -> None:
    r = litellm.completion(model=PRIMARY, messages=M, mock_response="litellm.RateLimitError",
                           fallbacks=[{"model": FB2, "mock_response": "ответ фолбэка"}])
    assert r.choices[0].message.content == "ответ фолбэка" and r.model == "openai/gpt-4o-mini"
    assert fast.requests() == 0


def test_sdk_num_retries_with_fallbacks_counts(fast) -> None:
    fast.fail("openai/gpt-4o", 503)
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2], num_retries=2)
    assert r.model == "openai/gpt-4o-mini"
    assert seen(fast) == {"openai/gpt-4o": [503, 503, 503], "openai/gpt-4o-mini": [200]}
    times = [e["t"] for e in fast.log()]
    # The SDK's retries come without backoff pauses: LiteLLM's backoff (tenacity's wait_exponential, multiplier 1,
    # with retry_strategy="exponential_backoff_retry") would wait 1 s and then 2 s. Under 1 s holds on a busy CPU too.
    assert times[2] - times[0] < 1.0


def test_sdk_num_retries_apply_to_every_model_of_the_chain(fast) -> None:
    """Prediction 03.p4: the primary 503, the first fallback 500, num_retries=2 -> 3 + 3 + 1 requests."""
    fast.fail("openai/gpt-4o", 503)
    fast.fail("anthropic/claude-3-haiku", 500)
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB1, FB2], num_retries=2)
    assert r.model == "openai/gpt-4o-mini"
    assert seen(fast) == {"openai/gpt-4o": [503] * 3, "anthropic/claude-3-haiku": [500] * 3,
                          "openai/gpt-4o-mini": [200]}


def test_sdk_dict_fallback_with_its_own_key_and_cap(fast) -> None:
    """A dict's api_key and max_tokens apply to that fallback only (the second account of exercise 3.2)."""
    reserve = fast.create_key("reserve", limit=1.0)
    fast.set_credit_limit(0.0)  # the project's key is out of credits: 402
    r = litellm.completion(model=PRIMARY, messages=M,
                           fallbacks=[{"model": FB2, "api_key": reserve, "max_tokens": 30}])
    assert r.model == "openai/gpt-4o-mini" and r.usage.completion_tokens == 30
    assert [(e["model"], e["status"], e["key"]) for e in fast.log()] == [
        ("openai/gpt-4o", 402, "practice-key"), ("openai/gpt-4o-mini", 200, "reserve")]
    fast.set_credit_limit(None)
    fast.reset()
    fast.set_latency_scale(0.05)
    reserve = fast.create_key("reserve", limit=1.0)
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2], api_key=reserve)
    assert [(e["model"], e["key"]) for e in fast.log()] == [("openai/gpt-4o", "reserve")]  # a call's key: the primary's


def test_sdk_mock_testing_fallbacks_is_ignored(fast) -> None:
    r = litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2], mock_testing_fallbacks=True)
    assert r.model == "openai/gpt-4o" and fallbacks_of(r) == 0
    assert seen(fast) == {"openai/gpt-4o": [200]}


def test_sync_stream_with_fallbacks_fails_async_stream_falls_back(fast) -> None:
    """LiteLLM 1.108.14: completion(stream=True, fallbacks=[...]) iterates an async generator
    synchronously and fails even when the provider answered 200; acompletion works."""
    chunks = []
    with pytest.raises(MidStreamFallbackError, match="'async_generator' object has no attribute '__next__'"):
        for chunk in litellm.completion(model=PRIMARY, messages=M, stream=True, fallbacks=[FB2]):
            chunks.append(chunk)
    assert chunks == [] and fast.stats()["statuses"] == {"200": 1}
    for chunk in litellm.completion(model=PRIMARY, messages=M, stream=True):  # without fallbacks: fine
        chunks.append(chunk)
    assert chunks
    fast.reset()
    fast.set_latency_scale(0.05)
    fast.fail("openai/gpt-4o", 503)

    async def streamed() -> str:
        parts = [c.choices[0].delta.content or "" async for c in
                 await litellm.acompletion(model=PRIMARY, messages=M, stream=True, fallbacks=[FB2])]
        return "".join(parts)
    text = asyncio.run(streamed())
    assert text.startswith("Python") and seen(fast) == {"openai/gpt-4o": [503], "openai/gpt-4o-mini": [200]}


# --- 3.9 context-window fallbacks -------------------------------------------------------------
def test_practice_provider_context_length_400_is_bad_request_via_openrouter(fast) -> None:
    with pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=LONG,
                           context_window_fallbacks=["openrouter/openai/gpt-4o-mini"])
    assert not isinstance(info.value, litellm.ContextWindowExceededError)
    assert "maximum context length is 16385 tokens" in str(info.value)
    assert seen(fast) == {"openai/gpt-3.5-turbo": [400]}  # context_window_fallbacks ignored by the SDK


def test_sdk_plain_fallbacks_cover_context_length(fast) -> None:
    r = litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=LONG, max_tokens=5,
                           fallbacks=["openrouter/openai/gpt-4o-mini"])
    assert r.model == "openai/gpt-4o-mini" and r.usage.prompt_tokens > 16385
    assert seen(fast) == {"openai/gpt-3.5-turbo": [400], "openai/gpt-4o-mini": [200]}


def test_prompt_tokens_are_counted_by_the_answering_models_tokenizer(fast) -> None:
    import tiktoken

    text = LONG[0]["content"]
    o200k = len(tiktoken.get_encoding("o200k_base").encode(text))  # gpt-4o-mini
    cl100k = len(tiktoken.get_encoding("cl100k_base").encode(text))  # gpt-3.5-turbo
    assert round(o200k, -3) == 20000 and round(cl100k, -3) == 40000  # «около 20 / 40 тысяч»
    r = litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=LONG, max_tokens=5,
                           fallbacks=["openrouter/openai/gpt-4o-mini"])
    assert r.model == "openai/gpt-4o-mini"
    assert 0 < r.usage.prompt_tokens - o200k <= 10  # o200k count + the chat format's few tokens per message
    assert cl100k > 16385 > o200k / 2  # the same text: too long for gpt-3.5-turbo by its own tokenizer


def test_token_counter_counts_openrouter_names_with_the_default_tokenizer() -> None:
    by_openrouter_name = litellm.token_counter(model="openrouter/openai/gpt-4o-mini", messages=LONG)
    gpt35 = litellm.token_counter(model="gpt-3.5-turbo", messages=LONG)
    gpt4o_mini = litellm.token_counter(model="gpt-4o-mini", messages=LONG)
    assert by_openrouter_name == gpt35 > 16385
    assert 1.9 < by_openrouter_name / gpt4o_mini < 2.1  # «вдвое больше»


@pytest.mark.parametrize(("small", "big", "works"), [
    ("openrouter/openai/gpt-3.5-turbo", "openrouter/openai/gpt-4o-mini", False),
    ("openai/gpt-3.5-turbo", "openai/gpt-4o-mini", True)])
@pytest.mark.parametrize("overflow", ["fault", "long prompt"])
def test_sdk_context_window_fallback_dict_works_only_when_the_error_is_context_window_exceeded(
        fast, small: str, big: str, works: bool, overflow: str) -> None:
    if overflow == "fault":
        fast.fail("openai/gpt-3.5-turbo", kind="context_length")
    messages = M if overflow == "fault" else LONG
    refused = "fault:context_length" if overflow == "fault" else 400  # how the provider logs it
    if works:
        r = litellm.completion(model=small, messages=messages, max_tokens=5, context_window_fallback_dict={small: big})
        assert r.model == "gpt-4o-mini"
        assert seen(fast) == {"openai/gpt-3.5-turbo": [refused], "openai/gpt-4o-mini": [200]}
    else:
        with pytest.raises(litellm.BadRequestError) as info:
            litellm.completion(model=small, messages=messages, max_tokens=5, context_window_fallback_dict={small: big})
        assert not isinstance(info.value, litellm.ContextWindowExceededError)
        assert seen(fast) == {"openai/gpt-3.5-turbo": [refused]}


def test_context_length_fault_kind_maps_like_the_real_400(fast) -> None:
    fast.fail("openai/gpt-3.5-turbo", kind="context_length", times=1)
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.completion(model="openai/gpt-3.5-turbo", messages=M, num_retries=0)
    fast.fail("openai/gpt-3.5-turbo", kind="context_length", times=1)
    with pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=M)
    assert not isinstance(info.value, litellm.ContextWindowExceededError)
    assert "maximum context length" in str(info.value)


def test_without_silencing_each_failed_fallback_attempt_logs_an_error(fast, capfd) -> None:
    import logging

    logger = logging.getLogger("LiteLLM")
    saved = logger.level
    logger.setLevel(logging.ERROR)
    try:
        fast.fail("openai/gpt-4o", 503)
        litellm.completion(model=PRIMARY, messages=M, fallbacks=[FB2])
    finally:
        logger.setLevel(saved)
    err = capfd.readouterr().err
    assert "LiteLLM:ERROR" in err and "Fallback attempt failed for model openrouter/openai/gpt-4o" in err
