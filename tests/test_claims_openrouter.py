"""What LiteLLM 1.108.14 does with OpenRouter's documented behaviours, measured against the practice provider.

The provider models them after OpenRouter's own docs (FACTS §9; tests/test_conformance.py checks the
shapes): an error after the model started arrives in an HTTP 200 (in the body, in a choice, or as an
SSE event), ``: OPENROUTER PROCESSING`` keep-alive comments, 402 for an exhausted per-key credit limit,
429 with or without ``Retry-After``, OpenRouter's own context-length wording, and ``usage`` with
``cost`` in the last message of every stream. Each test asserts what the pinned LiteLLM did.
What lesson 02 teaches from these (class of an error in a 200 body and its retries, an error in a
choice, a mid-stream error and its retries, 402 on a capped key, 429 headers with and without
``Retry-After``) is pinned in ``tests/test_claims_02.py``, once; the rest stays here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError
from litellm.integrations.custom_logger import CustomLogger

from course_helpers import practice_data
from course_helpers.budget import callbacks_restored

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"
FALLBACK = "openrouter/openai/gpt-4o"
M = [{"role": "user", "content": "Что такое Python?"}]
FULL = practice_data.ANSWERS["что такое python?"]
pytestmark = pytest.mark.usefixtures("drain_litellm_logging")  # sync calls leave async logging tasks behind


@pytest.fixture(autouse=True)
def _fast(provider) -> Iterator[None]:
    provider.set_latency_scale(0.0)
    with callbacks_restored(clear=True):
        yield


def caught(call) -> BaseException:
    try:
        call()
    except Exception as e:  # noqa: BLE001 - the claim is which class arrives
        return e
    raise AssertionError("no exception was raised")


def streamed(**kwargs: Any) -> tuple[str, BaseException | None, list[Any]]:
    """Iterate a sync stream like a learner: (text received, exception or None, chunks)."""
    chunks: list[Any] = []
    try:
        for chunk in litellm.completion(**kwargs):
            chunks.append(chunk)
    except Exception as e:  # noqa: BLE001
        return text_of(chunks), e, chunks
    return text_of(chunks), None, chunks


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# --- an error after the model started: HTTP 200 -----------------------------------------------------

def test_error_in_200_body_falls_back(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body")
    answer = litellm.completion(model=OPENROUTER, messages=M, fallbacks=[FALLBACK])
    assert answer.model == "openai/gpt-4o" and provider.stats()["statuses"] == {"fault:error_in_body": 1, "200": 1}


def test_mid_stream_error_async_is_the_same(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body", times=1)

    async def run() -> tuple[str, BaseException | None]:
        chunks: list[Any] = []
        try:
            async for chunk in await litellm.acompletion(model=OPENROUTER, messages=M, stream=True):
                chunks.append(chunk)
        except Exception as e:  # noqa: BLE001
            return text_of(chunks), e
        return text_of(chunks), None

    text, e = asyncio.run(run())
    assert type(e) is MidStreamFallbackError and e.status_code == 429
    assert isinstance(e.original_exception, litellm.RateLimitError) and FULL.startswith(text) and text


def test_mid_stream_error_does_not_fall_back(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body")

    async def with_fallbacks() -> BaseException | None:
        try:
            async for _ in await litellm.acompletion(model=OPENROUTER, messages=M, stream=True, fallbacks=[FALLBACK]):
                pass
        except Exception as e:  # noqa: BLE001
            return e
        return None

    e = asyncio.run(with_fallbacks())
    assert type(e) is MidStreamFallbackError and provider.requests() == 1  # no request to the fallback


def test_sync_stream_with_fallbacks_fails_even_without_a_fault(provider) -> None:
    """A LiteLLM 1.108.14 bug, met while measuring the mid-stream case: ``completion(stream=True,
    fallbacks=[...])`` iterates an async generator synchronously."""
    text, e, _ = streamed(model=OPENROUTER, messages=M, stream=True, fallbacks=[FALLBACK])
    assert type(e) is MidStreamFallbackError and text == ""
    assert "'async_generator' object has no attribute '__next__'" in str(e)
    assert provider.stats()["statuses"] == {"200": 1}  # the provider answered fine


def test_openai_mid_stream_error_event_becomes_a_connection_error(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body", times=1)
    text, e, _ = streamed(model=OPENAI, messages=M, stream=True)
    assert type(e) is MidStreamFallbackError and (e.status_code, e.llm_provider) == (500, "openai")
    assert type(e.original_exception) is litellm.APIConnectionError
    assert FULL.startswith(text) and text and provider.requests() == 1


# --- keep-alive comments ---------------------------------------------------------------------------

def test_keepalive_comments_are_skipped_and_the_text_is_intact(provider) -> None:
    provider.set_latency_scale(0.25)
    provider.set_latency("openai/gpt-4o-mini", base_ms=2400, per_token_ms=0, jitter=0)
    with httpx.stream("POST", provider.api_base() + "/chat/completions", json={
            "model": "openai/gpt-4o-mini", "messages": M, "stream": True},
            headers={"Authorization": f"Bearer {provider.key}"}) as r:
        comments = [line for line in r.iter_lines() if line.startswith(": OPENROUTER PROCESSING")]
    assert len(comments) >= 2  # what LiteLLM is about to receive
    text, e, chunks = streamed(model=OPENROUTER, messages=M, stream=True)
    assert e is None and text == FULL and chunks[-1].choices[0].finish_reason == "stop"

    async def run() -> str:
        return text_of([c async for c in await litellm.acompletion(model=OPENROUTER, messages=M, stream=True)])

    assert asyncio.run(run()) == FULL


# --- 402: credits -----------------------------------------------------------------------------------

def test_402_fallbacks_try_the_next_model_with_the_same_key(provider) -> None:
    provider.set_credit_limit(0.0)
    e = caught(lambda: litellm.completion(model=OPENROUTER, messages=M, fallbacks=[FALLBACK]))
    assert type(e).__name__ == "APIConnectionError" and "All fallback attempts failed" in str(e)
    assert provider.stats()["statuses"] == {"402": 2}  # the key is empty for every model
    other = provider.create_key("запасной")
    answer = litellm.completion(model=OPENROUTER, messages=M, fallbacks=[{"model": FALLBACK, "api_key": other}])
    assert answer.model == "openai/gpt-4o" and [e["key"] for e in provider.log()][-2:] == ["practice-key", "запасной"]


def test_openai_quota_429_is_retried_by_the_sdk(provider) -> None:
    """On /v1 an exhausted quota is OpenAI's 429 insufficient_quota: a RateLimitError, so retried."""
    provider.set_credit_limit(0.0)
    e = caught(lambda: litellm.completion(model=OPENAI, messages=M))
    assert (type(e).__name__, e.status_code, e.llm_provider) == ("RateLimitError", 429, "openai")
    assert "exceeded your current quota" in str(e) and provider.requests() == 3
    caught(lambda: litellm.completion(model=OPENAI, messages=M, num_retries=0))
    assert provider.requests() == 4


# --- context length ---------------------------------------------------------------------------------

LONG = [{"role": "user", "content": "слово " * 20_000}]


def test_openrouter_context_wording_is_a_plain_bad_request(provider) -> None:
    """"This endpoint's maximum context length..." matches none of LiteLLM's context-window patterns."""
    for call in (lambda: litellm.completion(model="openrouter/openai/gpt-3.5-turbo", messages=LONG),
                 lambda: (provider.fail("openai/gpt-4o-mini", kind="context_length", times=1),
                          litellm.completion(model=OPENROUTER, messages=M))):
        e = caught(call)
        assert type(e) is litellm.BadRequestError and e.status_code == 400
        assert not isinstance(e, litellm.ContextWindowExceededError) and "middle-out" in str(e)


def test_openai_context_wording_is_context_window_exceeded(provider) -> None:
    e = caught(lambda: litellm.completion(model="openai/gpt-3.5-turbo", messages=LONG))
    assert type(e) is litellm.ContextWindowExceededError and e.status_code == 400
    assert isinstance(e, litellm.BadRequestError) and provider.requests() == 1


# --- usage and cost of streams without stream_options ----------------------------------------------

class CostLog(CustomLogger):
    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float | None] = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.costs.append(kwargs.get("response_cost"))


def test_openrouter_stream_cost_reaches_callbacks_but_not_the_chunks(provider) -> None:
    log = CostLog()
    litellm.callbacks = [log]
    _, _, chunks = streamed(model=OPENROUTER, messages=M, stream=True)
    _, _, openai_chunks = streamed(model=OPENAI, messages=M, stream=True)
    deadline = time.monotonic() + 5
    while len(log.costs) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    billed = [e["cost"] for e in provider.log()]
    assert sorted(log.costs) == [0.0, pytest.approx(billed[0])]  # openai/: silently 0.0; openrouter/: the cost
    assert not any(hasattr(c, "usage") for c in chunks + openai_chunks)  # the learner's loop sees no usage
    assert litellm.stream_chunk_builder(chunks).usage.cost == pytest.approx(billed[0])
    _, _, with_usage = streamed(model=OPENROUTER, messages=M, stream=True, stream_options={"include_usage": True})
    assert with_usage[-1].usage.cost == pytest.approx(billed[0])


def test_litellm_sends_usage_include_to_openrouter_only(provider) -> None:
    litellm.completion(model=OPENROUTER, messages=M)
    streamed(model=OPENROUTER, messages=M, stream=True)
    litellm.completion(model=OPENAI, messages=M)
    entries = provider.log()
    assert [e["usage_param"] for e in entries] == [{"include": True}, {"include": True}, None]
    assert [e["request_keys"] for e in entries] == [["messages", "model", "usage"],
                                                    ["messages", "model", "stream", "usage"], ["messages", "model"]]
