"""Lesson 00 («Старт»): every claim the lesson (its text, predictions, quiz and checker messages)
makes about LiteLLM, on the pinned version."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import litellm
import pytest

from course_helpers.exercises.lesson00 import openrouter_only

MODEL = "openrouter/openai/gpt-4o-mini"


def msgs(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_cache_is_off_by_default_so_every_identical_call_reaches_the_provider() -> None:
    """00.p1, 00.q3: a fresh process after start_lesson has litellm.cache None; two identical calls, two requests."""
    code = textwrap.dedent("""
        from course_helpers import start_lesson
        course = start_lesson("00", quiet=True, latency_scale=0)
        import litellm
        print(litellm.cache is None)
        for _ in range(3):
            litellm.completion(model="openrouter/openai/gpt-4o-mini",
                               messages=[{"role": "user", "content": "Что такое Python?"}])
        print(course.provider.stats()["requests"])
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_BASE", "OPENAI_API_BASE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "3"]


def test_text_is_in_choices_message_content_dict_access_too(provider) -> None:
    """0.4, 00.q1, 00.2: the text; dict access works; ['message'] alone is a Message, not a str."""
    response = litellm.completion(model=MODEL, messages=msgs("Что такое Python?"))
    text = response.choices[0].message.content
    assert isinstance(text, str) and text.startswith("Python")
    assert response["choices"][0]["message"]["content"] == text
    message = response["choices"][0]["message"]
    assert type(message).__name__ == "Message" and not isinstance(message, str)
    assert response.model == "openai/gpt-4o-mini"


def test_openrouter_cost_comes_from_usage_cost_not_the_price_map(provider) -> None:
    """0.4, 00.q4, 00.3: response_cost is the provider's usage.cost; openrouter/* has no price in LiteLLM."""
    response = litellm.completion(model=MODEL, messages=msgs(f"cost {uuid.uuid4().hex}"))
    billed = provider.log()[-1]["cost"]
    assert billed > 0
    assert response._hidden_params["response_cost"] == pytest.approx(billed, rel=1e-9)
    assert response.usage.cost == pytest.approx(billed, rel=1e-9)
    assert MODEL not in litellm.model_cost
    assert not [name for name in litellm.model_cost if name.startswith("openrouter/")]  # q4: no openrouter/* at all
    with pytest.raises(Exception) as info:
        litellm.completion_cost(response)
    assert type(info.value).__name__ == "ModelNotMappedError" and "isn't mapped" in str(info.value)


def test_a_longer_question_costs_more(provider) -> None:
    """00.p3 with the lesson's two questions: more prompt tokens, a higher cost."""
    short = "Что такое кэш?"
    long = short + " Учти контекст нашего сервиса: ответы ассистента повторяются. " * 12
    a, b = (litellm.completion(model=MODEL, messages=msgs(text)) for text in (short, long))
    assert b.usage.prompt_tokens > 5 * a.usage.prompt_tokens
    assert b._hidden_params["response_cost"] > a._hidden_params["response_cost"]


def test_429_is_rate_limit_error_without_a_retry_on_openrouter(provider) -> None:
    """00.p2 and 0.7: class, status, the model name without the openrouter/ prefix, one request."""
    provider.fail("openai/gpt-4o-mini", 429, times=1, retry_after=2)
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.completion(model=MODEL, messages=msgs("Что такое Python?"))
    assert info.value.status_code == 429 and info.value.model == "openai/gpt-4o-mini"
    assert provider.stats()["requests"] == 1
    assert litellm.completion(model=MODEL, messages=msgs("Привет!")).choices[0].message.content


def test_messages_as_a_string_fail_inside_litellm(provider) -> None:
    """00.2's first mistake: LiteLLM fails on a string before any request."""
    for messages in ("Привет!", ["Привет!"]):
        with pytest.raises(AttributeError, match="'str' object has no attribute"):
            litellm.completion(model=MODEL, messages=messages)
    assert provider.stats()["requests"] == 0


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "gpt-4o-mini"])
def test_openai_models_without_an_openai_key_fail_before_any_request(provider, model: str) -> None:
    """00.2's second mistake and «Модель без префикса»: openai/ and a bare name go to OpenAI directly."""
    assert litellm.get_llm_provider(model)[1] == "openai"
    with openrouter_only(), pytest.raises(Exception, match="Missing credentials"):
        litellm.completion(model=model, messages=msgs("Привет!"))
    assert provider.stats()["requests"] == 0
    assert os.environ.get("OPENAI_API_KEY")  # restored after the block


def test_get_llm_provider_splits_the_openrouter_name() -> None:
    assert litellm.get_llm_provider(MODEL)[:2] == ("openai/gpt-4o-mini", "openrouter")


def test_401_is_authentication_error(provider) -> None:
    """The glossary's example of an exception LiteLLM maps a provider error to."""
    provider.fail("openai/gpt-4o-mini", 401, times=1)
    with pytest.raises(litellm.AuthenticationError) as info:
        litellm.completion(model=MODEL, messages=msgs("Привет!"))
    assert info.value.status_code == 401
