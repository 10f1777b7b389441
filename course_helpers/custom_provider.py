"""«Our project» custom provider (lesson 04): the seed's ``providers/custom_provider.py`` done right.

:class:`GenerateLLM` wraps the practice provider's non-OpenAI API
``POST /generate {prompt, max_tokens} -> {generated_text, finish_reason, tokens: {prompt, completion}}``
(with ``"stream": true``: NDJSON lines ``{"text"}`` ... ``{"done", "finish_reason", "tokens"}``)
as a LiteLLM ``CustomLLM``: sync, async, real streaming and async streaming; ``httpx`` (which
LiteLLM already depends on); ``usage`` filled from the API's token counts; upstream errors
mapped to ``CustomLLMError`` so LiteLLM raises ``RateLimitError``, ``ServiceUnavailableError``,
``Timeout``... and lesson 02's handlers and lesson 03's fallbacks work with it.

    from course_helpers.custom_provider import register
    register(base_url=course.provider.generate_url)       # model "practice/generate"
    litellm.completion(model="practice/generate", messages=[...])
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import GenericStreamingChunk

from course_helpers.practice_data import GENERATE_MODEL

PROVIDER = "practice"
MODEL = "generate"  # LiteLLM model string: "practice/generate"
DEFAULT_MAX_TOKENS = 100
# USD per token, the practice provider's dated list price of /generate (practice_data).
INPUT_COST_PER_TOKEN = GENERATE_MODEL.input_per_m / 1_000_000
OUTPUT_COST_PER_TOKEN = GENERATE_MODEL.output_per_m / 1_000_000


def messages_to_prompt(messages: list[dict[str, Any]]) -> str:
    """Join the chat messages' text into one prompt (the API knows no roles)."""
    parts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # OpenAI "content parts"
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if content:
            parts.append(str(content))
    return "\n".join(parts)


def upstream_error(response: httpx.Response) -> CustomLLMError:
    """The API's 4xx/5xx ``{"error": {"message", "code"}}`` as a ``CustomLLMError`` with the same status.

    LiteLLM maps the status: 429 -> RateLimitError, 503 -> ServiceUnavailableError,
    500 -> InternalServerError, 408/504 -> Timeout, 401 -> AuthenticationError...
    """
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    return CustomLLMError(status_code=response.status_code, message=message)


def parse_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 200 answer; a broken body becomes a 502 (LiteLLM: BadGatewayError)."""
    try:
        data = response.json()
        if not isinstance(data["generated_text"], str):
            raise TypeError("generated_text is not a string")
        return data
    except (ValueError, KeyError, TypeError) as e:
        raise CustomLLMError(status_code=502, message=f"/generate вернул испорченный ответ: {e}") from None


def usage_of(data: dict[str, Any]) -> dict[str, int]:
    """OpenAI-style usage from the API's ``tokens`` (LiteLLM does not count them for custom providers)."""
    tokens = data.get("tokens") or {}
    prompt, completion = int(tokens.get("prompt", 0)), int(tokens.get("completion", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def to_model_response(model: str, data: dict[str, Any]) -> litellm.ModelResponse:
    """A ``/generate`` answer as the ``ModelResponse`` LiteLLM expects (never a plain dict)."""
    return litellm.ModelResponse(
        model=model,
        choices=[{"index": 0, "finish_reason": data.get("finish_reason") or "stop",
                  "message": {"role": "assistant", "content": data["generated_text"]}}],
        usage=usage_of(data),
    )


def chunk_of(item: dict[str, Any]) -> GenericStreamingChunk:
    """One NDJSON line of the stream as a ``GenericStreamingChunk``.

    ``{"text": "..."}`` is a piece of the answer; ``{"done": true, "finish_reason", "tokens"}``
    is the last chunk: ``is_finished=True``, the finish reason and ``usage`` from the token counts.
    """
    if item.get("done"):
        return GenericStreamingChunk(text="", index=0, tool_use=None, is_finished=True,
                                     finish_reason=item.get("finish_reason") or "stop", usage=usage_of(item))
    text = item.get("text")
    if not isinstance(text, str):
        raise CustomLLMError(status_code=502, message=f"/generate прислал в потоке испорченную строку: {item!r}"[:200])
    return GenericStreamingChunk(text=text, index=0, tool_use=None, is_finished=False, finish_reason="", usage=None)


def parse_line(line: str) -> dict[str, Any] | None:
    """A stream line as JSON (``None`` for an empty line); broken JSON becomes a 502."""
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except ValueError as e:
        raise CustomLLMError(status_code=502, message=f"/generate прислал в потоке не JSON: {e}") from None
    if not isinstance(item, dict):
        raise CustomLLMError(status_code=502, message="/generate прислал в потоке не JSON-объект")
    return item


def is_ndjson(response: httpx.Response) -> bool:
    """True if the answer is the NDJSON stream (not, say, a broken JSON body with status 200)."""
    return response.headers.get("content-type", "").startswith("application/x-ndjson")


def not_a_stream(response: httpx.Response) -> CustomLLMError:
    """A 200 answer that is not an NDJSON stream is a 502 (LiteLLM: BadGatewayError); read it first."""
    return CustomLLMError(status_code=502, message=f"/generate ответил не потоком NDJSON: {response.text[:120]!r}")


STREAM_ENDED = "/generate оборвал поток без последней строки {\"done\": true}"


class GenerateLLM(CustomLLM):
    """LiteLLM handler for the ``/generate`` API (lesson 04); register with :func:`register`.

    The URL comes from the call's ``api_base`` (e.g. a Router deployment) or ``base_url``;
    ``max_tokens`` from LiteLLM's ``optional_params`` (it is not a keyword argument of the
    handler); the client timeout from LiteLLM's ``timeout``.
    """

    def __init__(self, base_url: str | None = None, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        super().__init__()
        self.base_url = base_url
        self.default_max_tokens = default_max_tokens

    def _request(self, messages: list[dict[str, Any]], api_base: str | None,
                 optional_params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        url = api_base or self.base_url
        if not url:
            raise CustomLLMError(status_code=400, message="Не задан адрес /generate: передайте api_base "
                                                          "или register(base_url=...).")
        max_tokens = (optional_params or {}).get("max_tokens") or self.default_max_tokens
        return url, {"prompt": messages_to_prompt(messages), "max_tokens": max_tokens}

    def _post(self, messages: list[dict[str, Any]], api_base: str | None = None,
              optional_params: dict[str, Any] | None = None, timeout: Any = None, **_: Any) -> dict[str, Any]:
        url, payload = self._request(messages, api_base, optional_params)
        try:
            response = httpx.post(url, json=payload, timeout=_seconds(timeout))
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}") from None
        if response.status_code >= 400:
            raise upstream_error(response)
        return parse_body(response)

    async def _apost(self, messages: list[dict[str, Any]], api_base: str | None = None,
                     optional_params: dict[str, Any] | None = None, timeout: Any = None,
                     **_: Any) -> dict[str, Any]:
        url, payload = self._request(messages, api_base, optional_params)
        try:
            async with httpx.AsyncClient(timeout=_seconds(timeout)) as client:
                response = await client.post(url, json=payload)
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}") from None
        if response.status_code >= 400:
            raise upstream_error(response)
        return parse_body(response)

    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        return to_model_response(model, self._post(messages, **kwargs))

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> litellm.ModelResponse:
        return to_model_response(model, await self._apost(messages, **kwargs))

    def streaming(self, model: str, messages: list, *args: Any, api_base: str | None = None,
                  optional_params: dict[str, Any] | None = None, timeout: Any = None,
                  **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        # A plain function, not a generator: the connection is opened and the status checked at
        # call time, so an upstream 429 raises RateLimitError from completion(stream=True) itself,
        # as with real providers; the returned generator then reads the NDJSON lines as they arrive.
        url, payload = self._request(messages, api_base, optional_params)
        stack = ExitStack()
        try:
            response = stack.enter_context(httpx.stream("POST", url, json={**payload, "stream": True},
                                                        timeout=_seconds(timeout)))
            if response.status_code >= 400 or not is_ndjson(response):
                response.read()
        except httpx.TimeoutException as e:
            stack.close()
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}") from None
        except BaseException:
            stack.close()
            raise
        if response.status_code >= 400 or not is_ndjson(response):
            stack.close()
            raise upstream_error(response) if response.status_code >= 400 else not_a_stream(response)
        return self._read_stream(response, stack)

    @staticmethod
    def _read_stream(response: httpx.Response, stack: ExitStack) -> Iterator[GenericStreamingChunk]:
        with stack:  # closes the connection when the stream is read to the end or abandoned
            try:
                for line in response.iter_lines():
                    item = parse_line(line)
                    if item is not None:
                        yield chunk_of(item)
                        if item.get("done"):
                            return
            except httpx.TimeoutException as e:
                raise CustomLLMError(status_code=408, message=f"/generate замолчал посреди потока: {e}") from None
        raise CustomLLMError(status_code=502, message=STREAM_ENDED)

    async def astreaming(self, model: str, messages: list, *args: Any, api_base: str | None = None,
                         optional_params: dict[str, Any] | None = None, timeout: Any = None,
                         **kwargs: Any) -> AsyncIterator[GenericStreamingChunk]:
        # Must be an async generator; errors therefore surface while iterating (MidStreamFallbackError).
        url, payload = self._request(messages, api_base, optional_params)
        try:
            async with httpx.AsyncClient(timeout=_seconds(timeout)) as client, \
                    client.stream("POST", url, json={**payload, "stream": True}) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise upstream_error(response)
                if not is_ndjson(response):
                    await response.aread()
                    raise not_a_stream(response)
                async for line in response.aiter_lines():
                    item = parse_line(line)
                    if item is not None:
                        yield chunk_of(item)
                        if item.get("done"):
                            return
        except httpx.TimeoutException as e:
            raise CustomLLMError(status_code=408, message=f"/generate не ответил вовремя: {e}") from None
        raise CustomLLMError(status_code=502, message=STREAM_ENDED)


def _seconds(timeout: Any) -> float | httpx.Timeout:
    """LiteLLM passes a float (600 s by default) or an httpx.Timeout; keep httpx's default otherwise."""
    if isinstance(timeout, (int, float, httpx.Timeout)) and not isinstance(timeout, bool):
        return timeout
    return 30.0


def register_price(provider_name: str = PROVIDER) -> None:
    """Tell LiteLLM the price of ``<provider_name>/generate``, so ``response_cost`` is filled."""
    litellm.register_model({f"{provider_name}/{MODEL}": {
        "input_cost_per_token": INPUT_COST_PER_TOKEN, "output_cost_per_token": OUTPUT_COST_PER_TOKEN,
        "litellm_provider": provider_name, "mode": "chat"}})


def register(provider_name: str = PROVIDER, base_url: str | None = None, *, price: bool = True) -> GenerateLLM:
    """Register a :class:`GenerateLLM` as ``provider_name`` (model ``<provider_name>/generate``).

    Replaces an earlier entry with the same provider name in ``litellm.custom_provider_map``
    and keeps the others; with ``price=True`` also registers the model's price.
    """
    handler = GenerateLLM(base_url=base_url)
    litellm.custom_provider_map = [item for item in litellm.custom_provider_map
                                   if item["provider"] != provider_name]
    litellm.custom_provider_map.append({"provider": provider_name, "custom_handler": handler})
    if price:
        register_price(provider_name)
    return handler


def is_registered(provider_name: str = PROVIDER) -> bool:
    """True if ``litellm.custom_provider_map`` has a handler for ``provider_name``."""
    return any(item["provider"] == provider_name for item in litellm.custom_provider_map)


@contextmanager
def restored_provider_map() -> Iterator[None]:
    """Run a block that changes ``litellm.custom_provider_map`` and put the old list back after it
    (lesson 04's checkers and tests)."""
    saved = list(litellm.custom_provider_map)
    try:
        yield
    finally:
        litellm.custom_provider_map = saved


__all__ = ["GenerateLLM", "register", "register_price", "is_registered", "restored_provider_map",
           "to_model_response", "chunk_of", "parse_line", "upstream_error", "usage_of", "messages_to_prompt",
           "PROVIDER", "MODEL"]
