""""Our project": setup_caching, Request and ask, against the practice provider."""

from __future__ import annotations

import httpx
import litellm
import pydantic
import pytest

from course_helpers import Request, ask, setup_caching
from course_helpers.project import _retry_after, backoff, decide, provider_of

PRIMARY, FB1, FB2 = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-3.5-turbo", "openrouter/anthropic/claude-3-haiku"
M = [{"role": "user", "content": "Привет!"}]


class CustomAnswer(pydantic.BaseModel):
    answer: str
    confidence: float


@pytest.fixture
def fast(provider):
    provider.set_latency_scale(0.0)
    return provider


def no_sleep(seconds: float) -> None:
    no_sleep.calls.append(seconds)


def test_answer_model_is_parsed(fast) -> None:
    a = ask(Request(model=PRIMARY, messages=M, answer_model=CustomAnswer), verbose=False)
    assert isinstance(a.value, CustomAnswer) and a.value.answer and a.model == PRIMARY
    assert a.cost > 0 and [x.decision for x in a.attempts] == ["answered"]


@pytest.mark.parametrize("status", [503, 500, 502, 403, 404, 429])
def test_falls_back_on_provider_errors_that_the_seed_let_escape(fast, status, capsys) -> None:
    fast.fail("openai/gpt-4o", status)
    no_sleep.calls = []
    a = ask(Request(model=PRIMARY, fallbacks=[FB1], messages=M), sleep=no_sleep)
    assert a.model == FB1
    assert fast.requests("openai/gpt-4o") == len([x for x in a.attempts if x.model == PRIMARY])
    assert f"ответила {FB1}" in capsys.readouterr().out


def test_retry_honours_retry_after(fast) -> None:
    fast.fail("openai/gpt-4o", 429, times=1, retry_after=2)
    no_sleep.calls = []
    a = ask(Request(model=PRIMARY, messages=M, retries=1), sleep=no_sleep, verbose=False)
    assert a.model == PRIMARY and no_sleep.calls == [2.0] and fast.requests("openai/gpt-4o") == 2


@pytest.mark.parametrize("model", [PRIMARY, "openai/gpt-4o"])
def test_retry_after_is_read_from_either_header_type(fast, model) -> None:
    """openrouter/ keeps the headers in a dict, openai/ in httpx.Headers: both are read."""
    fast.fail("openai/gpt-4o", 429, times=1, retry_after=2)
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.completion(model=model, messages=M, num_retries=0)
    expected_type = dict if model.startswith("openrouter/") else httpx.Headers
    assert type(info.value.litellm_response_headers) is expected_type
    assert _retry_after(info.value) == 2.0 and backoff(info.value, 3) == 2.0


@pytest.mark.parametrize("model", [PRIMARY, "openai/gpt-4o"])
def test_missing_retry_after_falls_back_to_own_backoff(fast, model) -> None:
    fast.fail("openai/gpt-4o", 429, times=1)  # no Retry-After: OpenRouter only "may" send it
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.completion(model=model, messages=M, num_retries=0)
    assert _retry_after(info.value) is None
    assert [backoff(info.value, attempt) for attempt in range(5)] == [0.5, 1.0, 2.0, 4.0, 5.0]
    fast.reset()
    fast.set_latency_scale(0.0)
    fast.fail("openai/gpt-4o", 429, times=1)
    no_sleep.calls = []
    a = ask(Request(model=model, messages=M, retries=1, options={"num_retries": 0}), sleep=no_sleep, verbose=False)
    assert a.model == model and no_sleep.calls == [0.5] and fast.requests("openai/gpt-4o") == 2


def test_retry_after_edge_cases() -> None:
    def error(headers):
        e = litellm.RateLimitError("x", "openrouter", "m")
        e.litellm_response_headers = headers
        return e

    assert _retry_after(error(None)) is None
    assert _retry_after(error({})) is None
    assert _retry_after(error(httpx.Headers({"Retry-After": "3"}))) == 3.0
    assert _retry_after(error({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None  # an HTTP date


@pytest.mark.parametrize("how", ["fault", "credit_limit"])
def test_402_stops_when_every_fallback_uses_the_same_key(fast, how, capsys) -> None:
    """Another openrouter/ model bills the same key: after a 402 the client does not try it."""
    if how == "fault":
        fast.fail("openai/gpt-4o", 402)  # the fallbacks themselves would answer
    else:
        fast.set_credit_limit(0.0)
    with pytest.raises(litellm.APIError) as info:
        ask(Request(model=PRIMARY, fallbacks=[FB1, FB2], messages=M))
    assert info.value.status_code == 402 and fast.stats()["requests"] == 1
    assert [(a.model, a.decision) for a in info.value.attempts] == [(PRIMARY, "stop")]
    out = capsys.readouterr().out
    assert "останавливаемся" in out and "Кредиты кончились (HTTP 402)" in out and "тот же ключ" in out
    assert any("Кредиты кончились" in note for note in info.value.__notes__)


def test_402_goes_on_to_another_provider_and_skips_the_same_key(fast, capsys) -> None:
    fast.fail("openai/gpt-4o", 402)
    a = ask(Request(model=PRIMARY, fallbacks=[FB1, "openai/gpt-4o-mini"], messages=M))
    assert a.model == "openai/gpt-4o-mini"
    assert [(x.model, x.decision) for x in a.attempts] == [(PRIMARY, "next"), ("openai/gpt-4o-mini", "answered")]
    assert fast.requests("openai/gpt-3.5-turbo") == 0 and fast.stats()["requests"] == 2
    assert f"{FB1}: пропускаем" in capsys.readouterr().out


def test_403_key_limit_exceeded_counts_as_out_of_credits() -> None:
    """Real OpenRouter has been reported to answer a per-key cap with 403 "Key limit exceeded"."""
    key_limit = litellm.APIError(403, "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys",
                                 "openrouter", "openai/gpt-4o")
    moderation = litellm.APIError(403, "Your input was flagged", "openrouter", "openai/gpt-4o")
    assert decide(key_limit, [FB1]) == "stop" and decide(key_limit, ["openai/gpt-4o"]) == "next"
    assert decide(moderation, [FB1]) == "next"


def test_provider_of() -> None:
    assert [provider_of(m) for m in (PRIMARY, "openai/gpt-4o", "gpt-4o", "anthropic/claude-3-haiku")] == [
        "openrouter", "openai", "openai", "anthropic"]


def test_auth_error_stops_at_once(fast) -> None:
    fast.fail("openai/gpt-4o", 401)
    with pytest.raises(litellm.AuthenticationError):
        ask(Request(model=PRIMARY, fallbacks=[FB1], messages=M), verbose=False)
    assert fast.stats()["requests"] == 1


def test_all_fail_keeps_last_error_type_and_lists_attempts(fast) -> None:
    fast.fail("openai/gpt-4o", 503)
    fast.fail("openai/gpt-3.5-turbo", 429)
    no_sleep.calls = []
    with pytest.raises(litellm.RateLimitError) as info:
        ask(Request(model=PRIMARY, fallbacks=[FB1], messages=M, retries=0), sleep=no_sleep, verbose=False)
    assert "Все модели отказали" in info.value.__notes__[-1]
    assert fast.stats()["requests"] == 2  # bounded: one try each, no endless loop


def test_context_window_goes_to_next_model(fast) -> None:
    long = [{"role": "user", "content": "слово " * 20_000}]
    a = ask(Request(model="openai/gpt-3.5-turbo", fallbacks=["openai/gpt-4o-mini"], messages=long,
                    options={"num_retries": 0}), verbose=False)
    assert a.model == "openai/gpt-4o-mini" and a.attempts[0].error == "ContextWindowExceededError"


def test_decide_table() -> None:
    assert decide(ValueError("bug")) == "stop"
    assert decide(pydantic.ValidationError.from_exception_data("X", [])) == "next"
    assert decide(litellm.BadRequestError("x", "m", "openrouter")) == "stop"
    assert decide(litellm.ContextWindowExceededError("x", "m", "openai")) == "next"
    assert decide(litellm.RateLimitError("x", "openrouter", "m")) == "retry"


@pytest.mark.parametrize("kind", ["disk", "local"])
def test_setup_caching_serves_second_call_from_cache(fast, tmp_path, kind) -> None:
    try:
        setup_caching(kind, directory=tmp_path / "cache")
        m = [{"role": "user", "content": f"кэш {kind} проверка"}]
        first = litellm.completion(model=PRIMARY, messages=m)
        second = litellm.completion(model=PRIMARY, messages=m)
    finally:
        litellm.disable_cache()
    assert first._hidden_params.get("cache_hit") is None and second._hidden_params.get("cache_hit") is True
    assert fast.requests("openai/gpt-4o") == 1


def test_setup_caching_redis_uses_an_hour_ttl(fast, redis_url, monkeypatch) -> None:
    import redis

    monkeypatch.setenv("REDIS_URL", redis_url)
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    try:
        setup_caching("redis")
        litellm.completion(model=PRIMARY, messages=[{"role": "user", "content": "redis ttl"}])
    finally:
        litellm.disable_cache()
    keys = client.keys("*")
    assert len(keys) == 1 and 3500 < client.ttl(keys[0]) <= 3600


def test_setup_caching_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind должен быть"):
        setup_caching("mongodb")


def test_setup_caching_replaces_an_existing_cache(fast, tmp_path) -> None:
    try:
        disk = setup_caching("disk", directory=tmp_path / "cache")
        local = setup_caching("local")
        assert local is not disk and litellm.cache is local
    finally:
        litellm.disable_cache()
