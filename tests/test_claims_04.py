"""Lesson 04 claims about LiteLLM's CustomLLM, each checked on the pinned version.

Every test registers its handlers under its own provider name and the module restores
``litellm.custom_provider_map`` after each test.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib.metadata import requires
from itertools import chain
from statistics import median
from typing import Any

import httpx
import litellm
import openai
import pytest
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from course_helpers.custom_provider import restored_provider_map

M = [{"role": "user", "content": "Что такое Python?"}]
GEN = "practice/generate"


@pytest.fixture(autouse=True)
def _restore_map():
    with restored_provider_map():
        yield


def use(name: str, handler: CustomLLM) -> None:
    litellm.custom_provider_map = [{"provider": name, "custom_handler": handler}]


def usage_of(data: dict[str, Any]) -> dict[str, int]:
    t = data["tokens"]
    return {"prompt_tokens": t["prompt"], "completion_tokens": t["completion"],
            "total_tokens": t["prompt"] + t["completion"]}


def answer(model: str, data: dict[str, Any], usage: bool = True) -> litellm.ModelResponse:
    return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant",
                                                                    "content": data["generated_text"]},
                                                        "finish_reason": data["finish_reason"]}],
                                 **({"usage": usage_of(data)} if usage else {}))


class Generate(CustomLLM):
    """The notebook's provider in short: ModelResponse + usage, errors as CustomLLMError."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.seen: dict[str, Any] = {}

    def _post(self, messages, api_base=None, optional_params=None, timeout=None, **kwargs):
        self.seen = {"api_base": api_base, "optional_params": dict(optional_params or {}), "timeout": timeout,
                     "kwargs": set(kwargs)}
        try:
            r = httpx.post(api_base or self.url, timeout=timeout or 5.0, json={
                "prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100)})
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=str(e))
        if r.status_code >= 400:
            raise CustomLLMError(status_code=r.status_code, message=r.json()["error"]["message"])
        return r.json()

    def completion(self, model, messages, *args, **kwargs):
        self.model_seen = model
        return answer(model, self._post(messages, **kwargs))

    async def acompletion(self, model, messages, *args, **kwargs):
        return answer(model, self._post(messages, **kwargs))

    def _lines(self, messages, api_base=None, optional_params=None, timeout=None, **kwargs):
        """The notebook's real stream: one GenericStreamingChunk per NDJSON line as it arrives."""
        payload = {"prompt": messages[-1]["content"], "max_tokens": (optional_params or {}).get("max_tokens", 100),
                   "stream": True}
        with httpx.stream("POST", api_base or self.url, json=payload, timeout=timeout or 5.0) as r:
            if r.status_code >= 400:
                r.read()
                raise CustomLLMError(status_code=r.status_code, message=r.json()["error"]["message"])
            for line in r.iter_lines():
                if line:
                    self.sent.append(time.perf_counter())
                    yield chunk_of(json.loads(line))

    def streaming(self, model, messages, *args, **kwargs):
        self.sent: list[float] = []
        chunks = self._lines(messages, **kwargs)
        return chain([next(chunks)], chunks)  # the request is made here: errors raise at call time

    async def astreaming(self, model, messages, *args, **kwargs):
        for chunk in self.streaming(model, messages, **kwargs):
            yield chunk


def chunk_of(item: dict[str, Any]) -> GenericStreamingChunk:
    done = item.get("done", False)
    return GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None, is_finished=done,
                                 finish_reason=item["finish_reason"] if done else "",
                                 usage=usage_of(item) if done else None)


# --- 4.1 httpx vs requests ---------------------------------------------------------------

def test_httpx_is_a_required_dependency_and_requests_is_not() -> None:
    required = [r for r in requires("litellm") if "extra ==" not in r]
    assert any(r.startswith("httpx") for r in required)
    assert not any(r.startswith("requests") for r in required)


# --- 4.2 the seed's provider -------------------------------------------------------------

def test_dict_return_comes_back_raw_and_choices_fails(provider) -> None:
    class Seed(CustomLLM):
        def completion(self, model, messages, **kwargs):
            result = httpx.post(provider.generate_url, json={"prompt": messages[-1]["content"],
                                                             "max_tokens": kwargs.get("max_tokens", 100)}).json()
            return {"choices": [{"message": {"content": result["generated_text"], "role": "assistant"}}]}

    use("claimseed", Seed())
    r = litellm.completion(model="claimseed/my-model", messages=[{"role": "user", "content": "Привет!"}],
                           max_tokens=5)
    assert type(r) is dict
    with pytest.raises(AttributeError):
        r.choices  # noqa: B018
    assert provider.log()[-1]["completion_tokens"] > 5  # max_tokens never reached the API


def test_max_tokens_is_in_optional_params_not_kwargs_and_model_has_no_prefix(provider) -> None:
    handler = Generate(provider.generate_url)
    use("claimargs", handler)
    r = litellm.completion(model="claimargs/generate", messages=M, max_tokens=20, temperature=0.3)
    assert handler.model_seen == "generate" and r.model == "generate"
    assert handler.seen["optional_params"] == {"max_tokens": 20, "temperature": 0.3}
    assert "max_tokens" not in handler.seen["kwargs"]
    assert handler.seen["timeout"] == 600.0 and handler.seen["api_base"] is None
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 20


def test_model_response_with_usage(provider) -> None:
    use("claimok", Generate(provider.generate_url))
    r = litellm.completion(model="claimok/generate", messages=M, max_tokens=20)
    truth = httpx.post(provider.generate_url, json={"prompt": M[0]["content"], "max_tokens": 20}).json()
    assert isinstance(r, litellm.ModelResponse)
    assert r.choices[0].message.content == truth["generated_text"]
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (truth["tokens"]["prompt"], 20)
    assert r.usage.total_tokens == r.usage.prompt_tokens + 20


def test_without_usage_there_is_no_usage_attribute_and_no_cost(provider) -> None:
    class NoUsage(CustomLLM):
        def completion(self, model, messages, *args, **kwargs):
            return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": "ок"}}])

    use("claimnousage", NoUsage())
    r = litellm.completion(model="claimnousage/x", messages=M)
    assert not hasattr(r, "usage")
    assert r._hidden_params.get("response_cost") is None


def test_async_and_stream_need_their_own_methods(provider) -> None:
    class OnlySync(CustomLLM):
        def completion(self, model, messages, *args, **kwargs):
            return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": "x"}}])

    use("claimonlysync", OnlySync())
    calls = [
        lambda: asyncio.run(litellm.acompletion(model="claimonlysync/x", messages=M)),
        lambda: litellm.completion(model="claimonlysync/x", messages=M, stream=True),
    ]
    for call in calls:
        with pytest.raises(litellm.InternalServerError, match="Not implemented yet!"):
            call()

    async def astream() -> None:
        stream = await litellm.acompletion(model="claimonlysync/x", messages=M, stream=True)
        async for _ in stream:
            pass

    # the base class's astreaming is a coroutine, not an async generator: a confusing error while iterating
    with pytest.raises(litellm.exceptions.MidStreamFallbackError, match="'coroutine' object is not an iterator"):
        asyncio.run(astream())


# --- 4.4 errors ----------------------------------------------------------------------------

def test_raise_for_status_loses_the_status(provider) -> None:
    class Raw(CustomLLM):
        def completion(self, model, messages, *args, **kwargs):
            r = httpx.post(provider.generate_url, json={"prompt": "x"})
            r.raise_for_status()
            return r.json()

    use("claimraw", Raw())
    provider.fail(GEN, 429, times=1)
    with pytest.raises(litellm.APIConnectionError) as info:
        litellm.completion(model="claimraw/x", messages=M)
    assert info.value.status_code == 500
    assert not isinstance(info.value, litellm.RateLimitError)


def test_raw_httpx_timeout_becomes_api_connection_error(provider) -> None:
    class Raw(CustomLLM):
        def completion(self, model, messages, *args, **kwargs):
            return httpx.post(provider.generate_url, json={"prompt": "x"}, timeout=0.3).json()

    use("claimrawtimeout", Raw())
    provider.fail(GEN, kind="hang", times=1)
    with pytest.raises(litellm.APIConnectionError) as info:
        litellm.completion(model="claimrawtimeout/x", messages=M)
    assert not isinstance(info.value, litellm.Timeout)


@pytest.mark.parametrize(("status", "expected"), [
    (429, litellm.RateLimitError), (503, litellm.ServiceUnavailableError), (500, litellm.InternalServerError),
    (502, litellm.BadGatewayError), (504, litellm.Timeout), (401, litellm.AuthenticationError),
])
def test_custom_llm_error_status_maps_to_litellm_exception(provider, status: int, expected: type) -> None:
    use("claimmap", Generate(provider.generate_url))
    provider.fail(GEN, status, times=1)
    with pytest.raises(expected) as info:
        litellm.completion(model="claimmap/generate", messages=M)
    assert info.value.status_code == status
    assert isinstance(info.value, openai.APIError)  # lesson 02's catch-all still catches it
    assert "Имитация сбоя" in str(info.value)
    assert provider.requests(model=GEN) == 1  # LiteLLM does not retry a custom provider by itself


def test_client_timeout_as_408_becomes_timeout(provider) -> None:
    use("claimhang", Generate(provider.generate_url))
    provider.fail(GEN, kind="hang", times=1)
    with pytest.raises(litellm.Timeout) as info:
        litellm.completion(model="claimhang/generate", messages=M, timeout=0.5)
    assert info.value.status_code == 408


# --- streaming -------------------------------------------------------------------------------

def test_stream_usage_only_with_include_usage(provider) -> None:
    use("claimstream", Generate(provider.generate_url))
    plain = list(litellm.completion(model="claimstream/generate", messages=M, max_tokens=15, stream=True))
    assert not any(hasattr(c, "usage") for c in plain)
    assert "".join(c.choices[0].delta.content or "" for c in plain).startswith("Python")
    built = litellm.stream_chunk_builder(plain).usage  # LiteLLM kept the last chunk's usage
    assert (built.prompt_tokens, built.completion_tokens) == (provider.log()[-1]["prompt_tokens"], 15)
    with_usage = list(litellm.completion(model="claimstream/generate", messages=M, max_tokens=15, stream=True,
                                         stream_options={"include_usage": True}))
    assert with_usage[-1].usage.completion_tokens == 15


def test_stream_usage_is_hidden_from_chunks_for_openrouter_too(provider) -> None:
    """"Так LiteLLM поступает с любым провайдером — даже с OpenRouter, который присылает usage в
    конце каждого потока": the raw stream ends with usage, LiteLLM's chunks do not carry it."""
    with httpx.stream("POST", provider.api_base() + "/chat/completions",
                      json={"model": "openai/gpt-4o-mini", "messages": M, "stream": True},
                      headers={"Authorization": f"Bearer {provider.key}"}) as raw:
        events = [line.removeprefix("data: ") for line in raw.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[-2])["usage"]["cost"] > 0
    chunks = list(litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=M, stream=True))
    assert not any(hasattr(c, "usage") for c in chunks)
    assert litellm.stream_chunk_builder(chunks).usage.completion_tokens == provider.log()[-1]["completion_tokens"]


def test_async_stream_and_acompletion(provider) -> None:
    use("claimastream", Generate(provider.generate_url))

    async def run() -> tuple[Any, list[Any]]:
        r = await litellm.acompletion(model="claimastream/generate", messages=M, max_tokens=15)
        stream = await litellm.acompletion(model="claimastream/generate", messages=M, max_tokens=15, stream=True,
                                           stream_options={"include_usage": True})
        return r, [c async for c in stream]

    r, chunks = asyncio.run(run())
    assert r.usage.completion_tokens == 15
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == r.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == 15


def test_generic_streaming_chunks_are_dicts_wrapped_into_model_response_stream(provider) -> None:
    handler = Generate(provider.generate_url)
    use("claimwrap", handler)
    raw = list(handler.streaming("generate", M, optional_params={"max_tokens": 15}))
    assert all(type(c) is dict for c in raw)  # GenericStreamingChunk is a TypedDict
    assert raw[-1]["is_finished"] and raw[-1]["text"] == "" and raw[-1]["finish_reason"] == "length"
    chunks = list(litellm.completion(model="claimwrap/generate", messages=M, max_tokens=15, stream=True))
    assert {type(c) for c in chunks} == {litellm.ModelResponseStream}
    assert [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content] == [c["text"] for c in raw[:-1]]
    assert chunks[-1].choices[0].finish_reason == "length"
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)


def test_litellm_passes_custom_stream_chunks_on_as_they_arrive(provider) -> None:
    provider.set_latency_scale(1.0)
    provider.set_latency(GEN, base_ms=50, per_token_ms=15, jitter=0)  # 40 tokens: ~0.6 s of generation
    handler = Generate(provider.generate_url)
    use("claimlive", handler)
    received = [time.perf_counter() for c in litellm.completion(model="claimlive/generate", messages=M,
                                                                max_tokens=40, stream=True)
                if c.choices[0].delta.content]
    assert len(received) == len(handler.sent) - 1 > 5  # one chunk per text line (the done line has no text)
    assert received[-1] - received[0] > 0.3  # not buffered until the end
    # each chunk right after its line (lines are >= 15 ms apart: holding one back would show)
    assert median(got - sent for got, sent in zip(received[1:], handler.sent[1:])) < 0.01


def test_plain_function_streaming_raises_at_call_time(provider) -> None:
    use("claimeager", Generate(provider.generate_url))
    provider.fail(GEN, 429, times=1)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="claimeager/generate", messages=M, stream=True)


def test_async_stream_error_surfaces_while_iterating_as_midstream_fallback_error(provider) -> None:
    use("claimastreamerr", Generate(provider.generate_url))
    provider.fail(GEN, 429, times=1)

    async def run() -> str:
        stream = await litellm.acompletion(model="claimastreamerr/generate", messages=M, stream=True)
        assert type(stream).__name__ == "CustomStreamWrapper"
        try:
            async for _ in stream:
                pass
        except litellm.ServiceUnavailableError as e:
            assert type(e).__name__ == "MidStreamFallbackError"
            assert e.status_code == 429
            assert isinstance(e.original_exception, litellm.RateLimitError)
            return "raised"
        return "not raised"

    assert asyncio.run(run()) == "raised"


def test_astreaming_must_be_an_async_generator(provider) -> None:
    class CoroutineStream(CustomLLM):
        async def astreaming(self, model, messages, *args, **kwargs):
            return iter([GenericStreamingChunk(text="x", is_finished=True, finish_reason="stop", index=0,
                                               tool_use=None, usage=None)])

    use("claimcoro", CoroutineStream())

    async def run() -> None:
        stream = await litellm.acompletion(model="claimcoro/x", messages=M, stream=True)
        async for _ in stream:
            pass

    with pytest.raises(litellm.ServiceUnavailableError, match="not an iterator"):
        asyncio.run(run())


# --- 4.6 price -------------------------------------------------------------------------------

def test_register_model_gives_response_cost_and_completion_cost_needs_the_provider(provider) -> None:
    use("claimprice", Generate(provider.generate_url))
    r = litellm.completion(model="claimprice/generate", messages=M, max_tokens=40)
    assert r._hidden_params.get("response_cost") is None
    litellm.register_model({"claimprice/generate": {"input_cost_per_token": 0.10e-6, "output_cost_per_token": 0.20e-6,
                                                    "litellm_provider": "claimprice", "mode": "chat"}})
    provider.reset()
    r = litellm.completion(model="claimprice/generate", messages=M, max_tokens=40)
    expected = r.usage.prompt_tokens * 0.10e-6 + r.usage.completion_tokens * 0.20e-6
    assert r._hidden_params["response_cost"] == pytest.approx(expected)
    assert r._hidden_params["response_cost"] == pytest.approx(provider.stats()["cost"])  # the provider's table
    with pytest.raises(litellm.BadRequestError, match="LLM Provider NOT provided"):
        litellm.completion_cost(completion_response=r)
    assert litellm.completion_cost(completion_response=r, model="claimprice/generate") == pytest.approx(expected)
    assert litellm.completion_cost(completion_response=r, custom_llm_provider="claimprice") == pytest.approx(expected)


# --- 4.7 Router -------------------------------------------------------------------------------

def test_custom_provider_in_router_as_fallback_target(provider) -> None:
    handler = Generate("http://127.0.0.1:9/unused")  # the URL must come from the deployment's api_base
    use("claimrouter", handler)
    router = litellm.Router(model_list=[
        {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o-mini"}},
        {"model_name": "reserve", "litellm_params": {"model": "claimrouter/generate", "api_base": provider.generate_url}},
    ], fallbacks=[{"main": ["reserve"]}], num_retries=0)
    provider.fail("openai/gpt-4o-mini", 503)
    r = router.completion(model="main", messages=M, max_tokens=30)
    assert r.model == "generate"
    assert r._hidden_params["additional_headers"]["x-litellm-model-group"] == "reserve"
    assert handler.seen["api_base"] == provider.generate_url
    by_model = provider.stats()["by_model"]
    assert by_model["openai/gpt-4o-mini"] == {**by_model["openai/gpt-4o-mini"], "requests": 1, "status_503": 1}
    assert by_model[GEN]["requests"] == 1 and by_model[GEN]["status_200"] == 1
    provider.clear_faults()
    provider.fail(GEN, 429, times=1)
    with pytest.raises(litellm.RateLimitError):
        router.completion(model="reserve", messages=M)


# --- added with the learning-by-doing rewrite (issue 10) -----------------------------------

def test_stream_usage_of_a_toy_handler_only_with_include_usage(provider) -> None:
    """§4.4 (prediction 04.p4): the Echo toy puts usage on its last chunk (together with the last word);
    the loop sees no usage without include_usage, stream_chunk_builder keeps it, include_usage shows it."""

    class Echo(CustomLLM):
        def streaming(self, model, messages, *args, **kwargs):
            words = messages[-1]["content"].split()
            for i, word in enumerate(words):
                last = i == len(words) - 1
                yield GenericStreamingChunk(text=word if last else word + " ", index=0, tool_use=None,
                                            is_finished=last, finish_reason="stop" if last else "",
                                            usage={"prompt_tokens": len(words), "completion_tokens": len(words),
                                                   "total_tokens": 2 * len(words)} if last else None)

    use("claimecho", Echo())
    chunks = list(litellm.completion(model="claimecho/x", messages=M, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == M[0]["content"]
    assert not any(getattr(c, "usage", None) for c in chunks)
    assert litellm.stream_chunk_builder(chunks).usage.total_tokens == 6
    last = list(litellm.completion(model="claimecho/x", messages=M, stream=True,
                                   stream_options={"include_usage": True}))[-1]
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (3, 3)


def test_stream_without_handler_usage_gets_litellms_own_estimate(provider) -> None:
    """04.2's checker message: with include_usage but no usage from the handler, LiteLLM estimates the
    tokens itself, and the estimate differs from the API's count."""

    class NoUsageStream(CustomLLM):
        def streaming(self, model, messages, *args, optional_params=None, **kwargs):
            body = {"prompt": messages[-1]["content"], "max_tokens": optional_params["max_tokens"], "stream": True}
            with httpx.stream("POST", provider.generate_url, json=body) as r:
                for line in r.iter_lines():
                    if line:
                        item = json.loads(line)
                        done = item.get("done", False)
                        yield GenericStreamingChunk(text=item.get("text", ""), index=0, tool_use=None,
                                                    is_finished=done, finish_reason=item.get("finish_reason", ""),
                                                    usage=None)

    use("claimestimate", NoUsageStream())
    prompt = "Проверка задания 04.2 (max_tokens=9): что такое Python?"
    last = list(litellm.completion(model="claimestimate/generate", messages=[{"role": "user", "content": prompt}],
                                   max_tokens=9, stream=True, stream_options={"include_usage": True}))[-1]
    api = provider.log()[-1]
    assert last.usage is not None and last.usage.prompt_tokens != api["prompt_tokens"]


class _RaiseForStatus(CustomLLM):
    def completion(self, model, messages, *args, api_base=None, **kwargs):
        r = httpx.post(api_base, json={"prompt": "x"})
        r.raise_for_status()
        return answer(model, r.json())


@pytest.mark.parametrize(("handler", "status", "expected", "requests"), [
    ("mapped", 400, litellm.BadRequestError, 1), ("mapped", 503, None, 2),
    ("mapped", 401, litellm.AuthenticationError, 2),
    ("raw", 400, litellm.APIConnectionError, 3),
])
def test_router_with_two_custom_deployments_retries_by_class(provider, handler, status, expected, requests) -> None:
    """04.3 and quiz 04.q7: Router(num_retries=2) over two deployments of the custom model retries a 503
    (once here: the second request answers), never a 400 raised as CustomLLMError(400); 401 tries the
    other deployment once; raise_for_status turns a 400 into APIConnectionError, retried to the end."""
    use("claimrouted", Generate(provider.generate_url) if handler == "mapped" else _RaiseForStatus())
    deployment = {"model_name": "internal", "litellm_params": {"model": "claimrouted/generate",
                                                               "api_base": provider.generate_url}}
    router = litellm.Router(model_list=[{**deployment, "model_info": {"id": "r1"}},
                                        {**deployment, "model_info": {"id": "r2"}}], num_retries=2)
    provider.set_latency_scale(0)
    provider.fail(GEN, status, times=1 if expected is None else None)
    if expected is None:
        assert router.completion(model="internal", messages=M).choices[0].message.content
    else:
        with pytest.raises(expected):
            router.completion(model="internal", messages=M)
    assert provider.requests(model=GEN) == requests


def test_the_lessons_recipe(provider) -> None:
    """«Рецепт» of lesson 04: usage and price from register_model, 429 -> RateLimitError, hang -> Timeout."""
    from recipes import run_recipe

    run_recipe("04")
    provider.set_latency_scale(0)
    r = litellm.completion(model="internal/generate", api_base=provider.generate_url, messages=M, max_tokens=20)
    assert r.usage.completion_tokens == 20 and r.choices[0].finish_reason == "length"
    assert r._hidden_params["response_cost"] == pytest.approx(r.usage.prompt_tokens * 1e-7 + 20 * 2e-7)
    provider.fail(GEN, 429, times=1)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="internal/generate", api_base=provider.generate_url, messages=M)
    provider.fail(GEN, kind="hang", times=1)
    with pytest.raises(litellm.Timeout):
        litellm.completion(model="internal/generate", api_base=provider.generate_url, messages=M, timeout=0.5)
