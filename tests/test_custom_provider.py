"""Unit tests of course_helpers.custom_provider (lesson 04's «our project» provider)."""

from __future__ import annotations

import asyncio

import httpx
import litellm
import pytest
from litellm.llms.custom_llm import CustomLLMError

from course_helpers.custom_provider import (
    GenerateLLM, is_registered, messages_to_prompt, parse_body, register, restored_provider_map, to_chunks,
    to_model_response, upstream_error,
)

M = [{"role": "user", "content": "Что такое Python?"}]
GEN = "practice/generate"
DATA = {"generated_text": "раз два три", "finish_reason": "length", "tokens": {"prompt": 4, "completion": 3}}


@pytest.fixture(autouse=True)
def _restore_map():
    with restored_provider_map():
        yield


@pytest.fixture
def registered(provider):
    register(provider_name="unitgen", base_url=provider.generate_url)
    return provider


# --- pure pieces -------------------------------------------------------------------------

def test_messages_to_prompt_joins_text_and_content_parts() -> None:
    messages = [{"role": "system", "content": "Будь краток."},
                {"role": "user", "content": [{"type": "text", "text": "Что"}, {"type": "text", "text": "это?"}]},
                {"role": "assistant", "content": None}]
    assert messages_to_prompt(messages) == "Будь краток.\nЧто это?"


def test_upstream_error_keeps_status_and_message() -> None:
    e = upstream_error(httpx.Response(429, json={"error": {"message": "медленнее", "code": 429}}))
    assert isinstance(e, CustomLLMError) and e.status_code == 429 and e.message == "медленнее"
    e = upstream_error(httpx.Response(502, text="<html>bad gateway</html>"))
    assert e.status_code == 502 and "bad gateway" in e.message


@pytest.mark.parametrize("body", [b"{broken", b"{}", b'{"generated_text": 5}'])
def test_parse_body_turns_a_broken_answer_into_502(body: bytes) -> None:
    with pytest.raises(CustomLLMError) as info:
        parse_body(httpx.Response(200, content=body))
    assert info.value.status_code == 502


def test_to_model_response_and_chunks() -> None:
    r = to_model_response("generate", DATA)
    assert isinstance(r, litellm.ModelResponse)
    assert r.choices[0].message.content == "раз два три" and r.choices[0].finish_reason == "length"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (4, 3, 7)
    chunks = list(to_chunks(DATA))
    assert "".join(c["text"] for c in chunks) == "раз два три"
    assert [c["is_finished"] for c in chunks] == [False, False, True]
    assert chunks[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert chunks[-1]["finish_reason"] == "length" and chunks[0]["usage"] is None


# --- registration ------------------------------------------------------------------------

def test_register_replaces_its_own_entry_and_keeps_others() -> None:
    other = {"provider": "someone_else", "custom_handler": GenerateLLM()}
    litellm.custom_provider_map = [other]
    first = register(provider_name="unitreg", base_url="http://127.0.0.1:1/generate", price=False)
    second = register(provider_name="unitreg", base_url="http://127.0.0.1:2/generate", price=False)
    assert litellm.custom_provider_map == [other, {"provider": "unitreg", "custom_handler": second}]
    assert first is not second and is_registered("unitreg") and not is_registered("nobody")


def test_restored_provider_map_restores_after_an_error() -> None:
    before = list(litellm.custom_provider_map)
    with pytest.raises(RuntimeError), restored_provider_map():
        litellm.custom_provider_map = []
        raise RuntimeError
    assert litellm.custom_provider_map == before


# --- through LiteLLM --------------------------------------------------------------------

def test_completion_usage_max_tokens_and_price(registered) -> None:
    r = litellm.completion(model="unitgen/generate", messages=M, max_tokens=12)
    assert r.model == "generate" and r.usage.completion_tokens == 12 and r.choices[0].finish_reason == "length"
    assert registered.requests(model=GEN) == 1
    assert r._hidden_params["response_cost"] == pytest.approx(registered.stats()["cost"])


def test_async_stream_and_async_stream(registered) -> None:
    async def run():
        r = await litellm.acompletion(model="unitgen/generate", messages=M, max_tokens=12)
        s = await litellm.acompletion(model="unitgen/generate", messages=M, max_tokens=12, stream=True,
                                      stream_options={"include_usage": True})
        return r, [c async for c in s]

    r, achunks = asyncio.run(run())
    chunks = list(litellm.completion(model="unitgen/generate", messages=M, max_tokens=12, stream=True,
                                     stream_options={"include_usage": True}))
    for stream in (chunks, achunks):
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == r.choices[0].message.content
        assert stream[-1].usage.completion_tokens == 12
    assert registered.requests(model=GEN) == 3


def test_api_base_of_the_call_beats_base_url(provider) -> None:
    register(provider_name="unitbase", base_url="http://127.0.0.1:9/generate")
    r = litellm.completion(model="unitbase/generate", messages=M, api_base=provider.generate_url, max_tokens=5)
    assert r.usage.completion_tokens == 5


def test_no_url_at_all_is_a_bad_request() -> None:
    register(provider_name="unitnourl", price=False)
    with pytest.raises(litellm.BadRequestError, match="api_base"):
        litellm.completion(model="unitnourl/generate", messages=M)


@pytest.mark.parametrize(("fault", "expected"), [
    ({"status": 429}, litellm.RateLimitError), ({"status": 503}, litellm.ServiceUnavailableError),
    ({"status": 500}, litellm.InternalServerError), ({"status": 504}, litellm.Timeout),
    ({"kind": "hang"}, litellm.Timeout), ({"kind": "malformed"}, litellm.BadGatewayError),
    ({"kind": "empty"}, litellm.BadGatewayError), ({"kind": "drop"}, litellm.APIConnectionError),
])
def test_errors_are_mapped(registered, fault: dict, expected: type) -> None:
    registered.fail(GEN, times=1, **fault)
    with pytest.raises(expected):
        litellm.completion(model="unitgen/generate", messages=M, timeout=0.5)
    assert registered.requests(model=GEN) == 1


def test_stream_error_is_raised_at_call_time(registered) -> None:
    registered.fail(GEN, 429, times=1)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="unitgen/generate", messages=M, stream=True)


def test_fallback_from_an_openrouter_model(registered) -> None:
    router = litellm.Router(model_list=[
        {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o-mini"}},
        {"model_name": "reserve", "litellm_params": {"model": "unitgen/generate"}},
    ], fallbacks=[{"main": ["reserve"]}], num_retries=0)
    registered.fail("openai/gpt-4o-mini", 503)
    r = router.completion(model="main", messages=M)
    assert r.model == "generate" and r._hidden_params["response_cost"] > 0
