"""Unit tests of course_helpers.custom_provider (lesson 04's «our project» provider)."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import httpx
import litellm
import pytest
from litellm.llms.custom_llm import CustomLLMError

from course_helpers.custom_provider import (
    GenerateLLM, chunk_of, is_registered, messages_to_prompt, parse_body, parse_line, register,
    restored_provider_map, to_model_response, upstream_error,
)
from litellm.types.utils import GenericStreamingChunk

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


def test_to_model_response() -> None:
    r = to_model_response("generate", DATA)
    assert isinstance(r, litellm.ModelResponse)
    assert r.choices[0].message.content == "раз два три" and r.choices[0].finish_reason == "length"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (4, 3, 7)


def test_ndjson_lines_become_generic_streaming_chunks() -> None:
    piece = chunk_of(parse_line('{"text": "раз "}'))
    assert piece == GenericStreamingChunk(text="раз ", index=0, tool_use=None, is_finished=False,
                                          finish_reason="", usage=None)
    last = chunk_of(parse_line('{"done": true, "finish_reason": "length", "tokens": {"prompt": 4, "completion": 3}}'))
    assert last["is_finished"] is True and last["finish_reason"] == "length" and last["text"] == ""
    assert last["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert parse_line("") is None and parse_line("  ") is None


@pytest.mark.parametrize("line", ['{"text": ', "[1, 2]", '{"text": 5}', '{"other": "x"}'])
def test_a_broken_stream_line_is_a_502(line: str) -> None:
    with pytest.raises(CustomLLMError) as info:
        chunk_of(parse_line(line))
    assert info.value.status_code == 502


def test_a_stream_that_ends_without_done_is_a_502() -> None:
    response = httpx.Response(200, content=iter([b'{"text": "a "}\n', b'{"text": "b"}\n']),
                              headers={"content-type": "application/x-ndjson"})
    chunks = GenerateLLM._read_stream(response, ExitStack())
    assert next(chunks)["text"] == "a " and next(chunks)["text"] == "b"
    with pytest.raises(CustomLLMError, match="done") as info:
        next(chunks)
    assert info.value.status_code == 502


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
        assert [c.choices[0].finish_reason for c in stream if c.choices and c.choices[0].finish_reason] == ["length"]
        assert stream[-1].usage.completion_tokens == 12 and stream[-1].usage.prompt_tokens == r.usage.prompt_tokens
        assert sum(1 for c in stream if c.choices and c.choices[0].delta.content) > 3  # piece by piece
    assert registered.requests(model=GEN) == 3


def test_stream_usage_only_with_include_usage(registered) -> None:
    plain = list(litellm.completion(model="unitgen/generate", messages=M, max_tokens=12, stream=True))
    assert not any(hasattr(c, "usage") for c in plain)
    assert plain[-1].choices[0].finish_reason == "length"


def _arrivals(chunks) -> list[float]:
    start, out = time.perf_counter(), []
    for _ in chunks:
        out.append(time.perf_counter() - start)
    return out


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_pieces_really_arrive_over_time(registered, mode: str) -> None:
    registered.set_latency_scale(1.0)
    registered.set_latency(GEN, base_ms=100, per_token_ms=15, jitter=0)  # 100 ms + 40 tokens x 15 ms

    async def collect() -> tuple[list[float], list]:
        start, out, chunks = time.perf_counter(), [], []
        stream = await litellm.acompletion(model="unitgen/generate", messages=M, max_tokens=40, stream=True)
        async for chunk in stream:
            out.append(time.perf_counter() - start)
            chunks.append(chunk)
        return out, chunks

    if mode == "sync":
        start, arrivals, chunks = time.perf_counter(), [], []
        for chunk in litellm.completion(model="unitgen/generate", messages=M, max_tokens=40, stream=True):
            arrivals.append(time.perf_counter() - start)
            chunks.append(chunk)
    else:
        arrivals, chunks = asyncio.run(collect())
    with_text = [t for t, c in zip(arrivals, chunks) if c.choices and c.choices[0].delta.content]
    assert len(with_text) > 5
    assert with_text[-1] - with_text[0] > 0.3  # the whole answer takes 0.6 s to generate
    assert with_text[0] < 0.5 * with_text[-1]  # the first piece comes long before the last
    assert with_text == sorted(with_text)


def test_stream_is_one_request_with_stream_true(registered) -> None:
    list(litellm.completion(model="unitgen/generate", messages=M, max_tokens=12, stream=True))
    assert registered.requests(model=GEN) == 1
    assert registered.log()[-1]["completion_tokens"] == 12


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


@pytest.mark.parametrize(("fault", "expected"), [
    ({"status": 429}, litellm.RateLimitError), ({"status": 503}, litellm.ServiceUnavailableError),
    ({"status": 500}, litellm.InternalServerError), ({"status": 504}, litellm.Timeout),
    ({"kind": "hang"}, litellm.Timeout), ({"kind": "malformed"}, litellm.BadGatewayError),
    ({"kind": "empty"}, litellm.BadGatewayError), ({"kind": "drop"}, litellm.APIConnectionError),
])
def test_stream_errors_are_mapped_and_raised_at_call_time(registered, fault: dict, expected: type) -> None:
    registered.fail(GEN, times=1, **fault)
    with pytest.raises(expected) as info:
        litellm.completion(model="unitgen/generate", messages=M, stream=True, timeout=0.5)
    if "status" in fault:
        assert info.value.status_code == fault["status"] and "Имитация сбоя" in str(info.value)
    assert registered.requests(model=GEN) == 1


def test_async_stream_error_is_mapped_while_iterating(registered) -> None:
    registered.fail(GEN, 429, times=1)

    async def run():
        stream = await litellm.acompletion(model="unitgen/generate", messages=M, stream=True)
        async for _ in stream:
            pass

    with pytest.raises(litellm.ServiceUnavailableError) as info:
        asyncio.run(run())
    assert info.value.status_code == 429 and isinstance(info.value.original_exception, litellm.RateLimitError)


def test_fallback_from_an_openrouter_model(registered) -> None:
    router = litellm.Router(model_list=[
        {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o-mini"}},
        {"model_name": "reserve", "litellm_params": {"model": "unitgen/generate"}},
    ], fallbacks=[{"main": ["reserve"]}], num_retries=0)
    registered.fail("openai/gpt-4o-mini", 503)
    r = router.completion(model="main", messages=M)
    assert r.model == "generate" and r._hidden_params["response_cost"] > 0
