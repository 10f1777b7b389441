"""Lesson 02 («Ошибки и исключения»): every claim the lesson makes about LiteLLM, on the pinned version.

The exception map (class, status_code, MRO, requests) for both ``openrouter/`` and ``openai/``,
402 on a key with a real credit cap, the hierarchy traps and ``LITELLM_EXCEPTION_TYPES``, who
retries how often, Retry-After (present or not, and the header types), the ``tenacity`` dependency,
OpenRouter's errors inside an HTTP 200 (body, choice, mid-stream), the seed's error handler against
injected faults, and the course client on 402.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import litellm
import openai
import pytest
from litellm.exceptions import MidStreamFallbackError

from course_helpers import practice_data

from course_helpers.panels.errors import FAULTS, SEED_CLAUSES, inject, mro_names, seed_clause
from course_helpers.project import Request, ask, decide

ROOT = Path(__file__).resolve().parent.parent
OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Привет!"}]

# fault -> (class, status_code, requests) for openrouter/ and for openai/ with num_retries=0 (lesson 02, §2.2)
MAP = {
    "400": (("BadRequestError", 400, 1), ("BadRequestError", 400, 1)),
    "401": (("AuthenticationError", 401, 1), ("AuthenticationError", 401, 1)),
    "402": (("APIError", 402, 1), ("APIError", 402, 1)),
    "403": (("APIError", 403, 1), ("APIError", 403, 1)),
    "404": (("NotFoundError", 404, 1), ("NotFoundError", 404, 1)),
    "408": (("Timeout", 408, 1), ("Timeout", 408, 1)),
    "413": (("APIError", 413, 1), ("APIError", 413, 1)),
    "422": (("BadRequestError", 422, 1), ("BadRequestError", 422, 1)),
    "429": (("RateLimitError", 429, 1), ("RateLimitError", 429, 1)),
    "500": (("APIError", 500, 1), ("InternalServerError", 500, 1)),
    "502": (("APIError", 502, 1), ("BadGatewayError", 502, 1)),
    "503": (("ServiceUnavailableError", 503, 1), ("ServiceUnavailableError", 503, 1)),
    "504": (("Timeout", 504, 1), ("Timeout", 504, 1)),
    "hang": (("Timeout", 408, 1), ("Timeout", 408, 1)),
    "refused": (("APIConnectionError", 500, 0), ("InternalServerError", 500, 0)),
    "malformed": (("APIError", 200, 1), ("InternalServerError", 500, 1)),
    "empty": (("APIError", 500, 1), ("InternalServerError", 500, 1)),
    "drop": (("APIConnectionError", 500, 1), ("InternalServerError", 500, 1)),
}
MRO = {  # first four MRO entries of every class on the map
    "APIConnectionError": "litellm.APIConnectionError openai.APIConnectionError openai.APIError openai.OpenAIError",
    "APIError": "litellm.APIError openai.APIError openai.OpenAIError builtins.Exception",
    "AuthenticationError": "litellm.AuthenticationError openai.AuthenticationError openai.APIStatusError openai.APIError",
    "BadGatewayError": "litellm.BadGatewayError openai.APIStatusError openai.APIError openai.OpenAIError",
    "BadRequestError": "litellm.BadRequestError openai.BadRequestError openai.APIStatusError openai.APIError",
    "InternalServerError": "litellm.InternalServerError openai.InternalServerError openai.APIStatusError openai.APIError",
    "NotFoundError": "litellm.NotFoundError openai.NotFoundError openai.APIStatusError openai.APIError",
    "RateLimitError": "litellm.RateLimitError openai.RateLimitError openai.APIStatusError openai.APIError",
    "ServiceUnavailableError": "litellm.ServiceUnavailableError openai.APIStatusError openai.APIError openai.OpenAIError",
    "Timeout": "litellm.Timeout openai.APITimeoutError openai.APIConnectionError openai.APIError",
}


@pytest.fixture(scope="module", autouse=True)
def _warm_paths(course) -> None:
    """One plain call on each path before the map: the map's calls have a 1 s timeout, and a cold
    process's first request (lazy imports in LiteLLM and in the provider) can exceed it on a busy machine."""
    course.provider.reset()
    for model in (OPENROUTER, OPENAI):
        litellm.completion(model=model, messages=MESSAGES)
    course.provider.reset()


def provoke(provider, model: str, fault: str, **options) -> tuple[BaseException | None, int, float]:
    """The notebook's ``provoke``: one call under one fault -> (exception, requests, seconds)."""
    extra = inject(provider, fault, model)
    start = time.perf_counter()
    error = None
    try:
        litellm.completion(model=model, messages=MESSAGES, timeout=options.pop("timeout", 1), **extra, **options)
    except Exception as e:
        error = e
    elapsed = time.perf_counter() - start
    provider.clear_faults()
    return error, provider.requests(), elapsed


def test_map_covers_every_fault_of_the_lesson() -> None:
    assert list(MAP) == list(FAULTS)


@pytest.mark.parametrize("fault", list(MAP))
def test_exception_map_openrouter(provider, fault: str) -> None:
    error, requests, elapsed = provoke(provider, OPENROUTER, fault)
    name, status, expected_requests = MAP[fault][0]
    assert type(error).__module__ == "litellm.exceptions" and type(error).__name__ == name, repr(error)
    assert error.status_code == status
    assert requests == expected_requests  # openrouter/ never retries by default
    assert " ".join(mro_names(type(error), 4)) == MRO[name]
    if fault == "hang":
        assert 0.9 <= elapsed < 3.0  # timeout=1 stops the hang after about a second


@pytest.mark.parametrize("fault", list(MAP))
def test_exception_map_openai_without_sdk_retries(provider, fault: str) -> None:
    error, requests, _ = provoke(provider, OPENAI, fault, num_retries=0)
    name, status, expected_requests = MAP[fault][1]
    assert type(error).__module__ == "litellm.exceptions" and type(error).__name__ == name, repr(error)
    assert error.status_code == status
    assert requests == expected_requests  # num_retries=0 -> exactly one request
    assert " ".join(mro_names(type(error), 4)) == MRO[name]


def test_exception_attributes(provider) -> None:
    error, _, _ = provoke(provider, OPENROUTER, "429")
    assert (error.status_code, error.llm_provider, error.model) == (429, "openrouter", "openai/gpt-4o-mini")


def test_context_length_differs_by_path(provider) -> None:
    for model, name in ((OPENROUTER, "BadRequestError"), (OPENAI, "ContextWindowExceededError")):
        provider.fail("openai/gpt-4o-mini", kind="context_length", times=1)
        with pytest.raises(litellm.BadRequestError) as info:
            litellm.completion(model=model, messages=MESSAGES, num_retries=0)
        assert type(info.value).__name__ == name


# --- 402: out of credits (§2.2) ---------------------------------------------------------------

def test_402_on_a_credit_capped_key_is_a_plain_apierror_for_every_model(provider) -> None:
    """The lesson's key with a $0.0001 cap: answers until the cap is used up, then 402 — a plain
    litellm.APIError (no APIStatusError, no BadRequestError/PaymentRequiredError), for another model too."""
    key = provider.create_key("урок 02", limit=0.0001)
    assert provider.key_info(key)["data"]["limit"] == 0.0001
    answered = 0
    with pytest.raises(openai.APIError) as info:
        while answered < 100:
            litellm.completion(model=OPENROUTER, messages=MESSAGES, api_key=key)
            answered += 1
    e = info.value
    assert answered > 0 and provider.key_info(key)["data"]["limit_remaining"] == 0.0
    assert (type(e), e.status_code, e.llm_provider) == (litellm.APIError, 402, "openrouter")
    assert not isinstance(e, (openai.APIStatusError, litellm.BadRequestError))
    assert issubclass(litellm.PaymentRequiredError, litellm.BadRequestError)  # exists, but is not raised here
    assert "Insufficient credits" in str(e)
    with pytest.raises(litellm.APIError) as other:
        litellm.completion(model="openrouter/anthropic/claude-3-haiku", messages=MESSAGES, api_key=key)
    assert other.value.status_code == 402  # num_retries repeats it anyway: RETRY_TABLE


# --- hierarchy traps (§2.3) -----------------------------------------------------------------

def test_hierarchy_traps() -> None:
    assert not issubclass(litellm.Timeout, litellm.APIConnectionError)
    assert issubclass(litellm.Timeout, openai.APIConnectionError)
    assert not issubclass(litellm.RateLimitError, litellm.APIError)
    assert not issubclass(litellm.ServiceUnavailableError, litellm.APIError)
    assert issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError)
    assert litellm.BudgetExceededError.__mro__[1] is Exception
    assert not issubclass(litellm.BudgetExceededError, openai.APIError)


def test_litellm_exception_types_is_not_openai_api_error() -> None:
    """21 entries, 20 classes (InternalServerError twice); litellm.OpenAIError is not an openai.APIError,
    so catching the tuple differs from ``except openai.APIError`` both ways."""
    types = litellm.LITELLM_EXCEPTION_TYPES
    assert (len(types), len(set(types))) == (21, 20)
    assert [t for t in dict.fromkeys(types) if types.count(t) > 1] == [litellm.InternalServerError]
    assert [t for t in dict.fromkeys(types) if not issubclass(t, openai.APIError)] == [litellm.OpenAIError]
    assert mro_names(litellm.OpenAIError, 3) == ["litellm.OpenAIError", "openai.OpenAIError", "builtins.Exception"]
    assert isinstance(litellm.OpenAIError(), tuple(types)) and not isinstance(litellm.OpenAIError(), openai.APIError)
    assert issubclass(openai.RateLimitError, openai.APIError) and not issubclass(openai.RateLimitError, tuple(types))


def test_every_mapped_class_derives_from_openai_api_error() -> None:
    for name in MRO:
        error_type = getattr(litellm, name)
        assert issubclass(error_type, openai.APIError), name
        assert issubclass(error_type, tuple(litellm.LITELLM_EXCEPTION_TYPES)), name


def test_max_budget_never_raises_budget_exceeded(provider) -> None:
    saved = litellm.max_budget
    litellm.max_budget = 1e-9  # far below the cost of one call
    try:
        for _ in range(3):
            litellm.completion(model=OPENROUTER, messages=MESSAGES)  # no BudgetExceededError
        assert litellm._current_cost == 0.0
    finally:
        litellm.max_budget = saved
    assert provider.requests() == 3


def test_wrong_except_order_catches_timeout_as_connection_error(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 504, times=1)
    try:
        litellm.completion(model=OPENROUTER, messages=MESSAGES)
    except openai.APIConnectionError as e:
        branch = type(e).__name__
    assert branch == "Timeout"


# --- retries (§2.4) -------------------------------------------------------------------------

RETRY_TABLE = {  # (setup, fault) -> requests the provider received
    **{("openrouter", f): 1 for f in ("400", "401", "402", "429", "503")},
    **{("openrouter+2", f): 3 for f in ("400", "401", "402", "429", "503")},
    ("openai", "400"): 1, ("openai", "401"): 1, ("openai", "402"): 1, ("openai", "429"): 3, ("openai", "503"): 3,
    ("openai+2", "400"): 3, ("openai+2", "401"): 3, ("openai+2", "402"): 3, ("openai+2", "429"): 5,
    ("openai+2", "503"): 5,
}
SETUPS = {"openrouter": (OPENROUTER, {}), "openrouter+2": (OPENROUTER, {"num_retries": 2}),
          "openai": (OPENAI, {}), "openai+2": (OPENAI, {"num_retries": 2})}


@pytest.mark.parametrize("setup,fault", list(RETRY_TABLE))
def test_who_retries_how_often(provider, setup: str, fault: str) -> None:
    model, options = SETUPS[setup]
    error, requests, elapsed = provoke(provider, model, fault, timeout=5, **options)
    assert type(error).__name__ == MAP[fault][0 if model == OPENROUTER else 1][0]  # the class survives retries
    assert requests == RETRY_TABLE[setup, fault]
    if setup == "openrouter+2":
        assert elapsed < 1.0  # num_retries: no backoff at all (the SDK alone waits over a second)
    if setup == "openai" and requests == 3:
        assert elapsed > 0.3  # the OpenAI SDK waits between its retries


@pytest.mark.parametrize("fault", ["408", "500", "drop"])
def test_openai_sdk_also_retries_timeouts_5xx_and_dropped_connections(provider, fault: str) -> None:
    error, requests, _ = provoke(provider, OPENAI, fault, timeout=5)
    assert type(error).__name__ == MAP[fault][1][0] and requests == 3


def test_openai_timeout_applies_per_attempt(provider) -> None:
    error, requests, elapsed = provoke(provider, OPENAI, "hang", timeout=1)
    assert isinstance(error, litellm.Timeout) and requests == 3
    assert elapsed >= 3.0  # three attempts of one second each, plus the SDK's pauses


def test_openai_num_retries_adds_to_sdk_retries(provider) -> None:
    error, requests, _ = provoke(provider, OPENAI, "429", timeout=5, num_retries=1)
    assert isinstance(error, litellm.RateLimitError) and requests == 3  # 2*N + 1


def test_max_retries_kwarg_does_nothing_on_openrouter(provider) -> None:
    _, requests, _ = provoke(provider, OPENROUTER, "429", max_retries=2)
    assert requests == 1


@pytest.mark.parametrize("retry_after", [True, False])
def test_429_headers_reach_the_exception_with_or_without_retry_after(provider, retry_after) -> None:
    """A real 429 (rpm limit), with ``Retry-After`` or without (OpenRouter only "may" send it): a dict with
    lower-case keys on openrouter/, httpx.Headers on openai/; ``.get("retry-after")`` works on both."""
    for model, headers_type in ((OPENROUTER, dict), (OPENAI, httpx.Headers)):
        provider.reset()
        provider.set_limits("openai/gpt-4o-mini", rpm=1, retry_after=retry_after)
        litellm.completion(model=model, messages=MESSAGES, num_retries=0)
        with pytest.raises(litellm.RateLimitError) as info:
            litellm.completion(model=model, messages=MESSAGES, num_retries=0)
        headers = info.value.litellm_response_headers
        assert type(headers) is headers_type
        assert (headers.get("retry-after") is not None) is retry_after
        assert headers.get("x-ratelimit-remaining-requests") == "0"
        assert provider.stats()["statuses"] == {"200": 1, "429": 1}
        if headers_type is dict and retry_after:
            assert "retry-after" in headers and "Retry-After" not in headers  # headers["Retry-After"]: KeyError
        if headers_type is httpx.Headers and retry_after:
            assert headers["Retry-After"] == headers["retry-after"]  # case-insensitive


def test_openai_sdk_waits_its_own_backoff_without_retry_after(provider) -> None:
    """No header: the OpenAI SDK still retries, after about 0.5 s and then about 1 s."""
    provider.fail("openai/gpt-4o-mini", 429)
    start = time.perf_counter()
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model=OPENAI, messages=MESSAGES)
    elapsed = time.perf_counter() - start
    times = [entry["t"] for entry in provider.log()]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 3 and 1.0 <= elapsed < 5
    assert 0.3 <= gaps[0] < 0.9 and 0.6 <= gaps[1] < 1.6, gaps


def test_retry_after_header_is_kept_and_honoured_only_by_the_sdk(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 429, retry_after=2)
    start = time.perf_counter()
    with pytest.raises(litellm.RateLimitError) as info:
        litellm.completion(model=OPENROUTER, messages=MESSAGES, num_retries=2)
    assert time.perf_counter() - start < 1.0 and provider.requests() == 3  # Retry-After ignored
    assert isinstance(info.value.litellm_response_headers, dict)
    assert info.value.litellm_response_headers.get("retry-after") == "2"
    provider.reset()
    provider.fail("openai/gpt-4o-mini", 429, retry_after=1)
    start = time.perf_counter()
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model=OPENAI, messages=MESSAGES)
    assert time.perf_counter() - start >= 2.0 and provider.requests() == 3  # 2 waits of Retry-After: 1


# --- errors after the model started: HTTP 200 (§2.5) ----------------------------------------

QUESTION = [{"role": "user", "content": "Что такое Python?"}]
FULL = practice_data.ANSWERS["что такое python?"]


@pytest.mark.parametrize("status, cls", [(400, "BadRequestError"), (401, "AuthenticationError"), (402, "APIError"),
                                         (429, "RateLimitError"), (502, "APIError"), (503, "ServiceUnavailableError")])
def test_error_in_200_body_raises_the_class_of_its_code(provider, status, cls) -> None:
    provider.fail("openai/gpt-4o-mini", status, kind="error_in_body", times=1)
    with pytest.raises(openai.APIError) as info:
        litellm.completion(model=OPENROUTER, messages=QUESTION)
    e = info.value
    assert (type(e).__name__, e.status_code, e.llm_provider) == (cls, status, "openrouter")
    assert "Имитация сбоя после начала ответа" in str(e)  # error.message, not the raw body
    assert provider.requests() == 1


def test_error_in_200_body_is_retried_by_num_retries(provider) -> None:
    """BerriAI/litellm#8448 (1.60.6: "a 429 inside a 200 body is never retried") no longer holds in 1.108.14."""
    provider.fail("openai/gpt-4o-mini", 429, kind="error_in_body")
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model=OPENROUTER, messages=QUESTION, num_retries=2)
    assert provider.requests() == 3


def test_error_in_choice_comes_back_as_a_normal_truncated_answer(provider) -> None:
    """The documented non-stream variant (partial content, finish_reason "error", choices[0].error):
    no exception, and LiteLLM reports finish_reason "stop" — the error survives only in
    ``provider_specific_fields``; the half answer is billed."""
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_choice", times=1)
    response = litellm.completion(model=OPENROUTER, messages=QUESTION)
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    assert FULL.startswith(choice.message.content) and 0 < len(choice.message.content) < len(FULL)
    assert choice.provider_specific_fields["native_finish_reason"] == "error"
    assert choice.provider_specific_fields["error"]["code"] == 502
    assert response._hidden_params["response_cost"] == provider.log()[-1]["cost"] > 0


def streamed_text(**kwargs) -> tuple[str, BaseException | None]:
    """Iterate a sync stream like a learner: (text shown so far, exception or None)."""
    shown = ""
    try:
        for chunk in litellm.completion(**kwargs):
            shown += chunk.choices[0].delta.content or ""
    except Exception as e:  # noqa: BLE001 - the claim is which class arrives, and when
        return shown, e
    return shown, None


def test_mid_stream_error_raises_after_the_text_already_shown(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body", times=1)
    shown, e = streamed_text(model=OPENROUTER, messages=QUESTION, stream=True)
    assert type(e) is MidStreamFallbackError and type(e).__mro__[1] is litellm.ServiceUnavailableError
    assert (e.status_code, e.llm_provider, e.is_pre_first_chunk) == (502, "openrouter", False)
    assert shown == e.generated_content and FULL.startswith(shown) and 0 < len(shown) < len(FULL)


def test_mid_stream_error_is_not_retried_by_num_retries(provider) -> None:
    provider.fail("openai/gpt-4o-mini", 502, kind="error_in_body")
    _, e = streamed_text(model=OPENROUTER, messages=QUESTION, stream=True, num_retries=2)
    assert type(e) is MidStreamFallbackError and provider.requests() == 1


def test_num_retries_without_tenacity_hides_the_real_error(course) -> None:
    """In a process where ``tenacity`` cannot be imported, the first failure becomes a bare Exception."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules["tenacity"] = None  # as after a plain `pip install litellm`
        from course_helpers import netguard
        netguard.install()
        import litellm
        litellm.suppress_debug_info = True
        from course_helpers.provider import PracticeProvider
        provider = PracticeProvider({course.provider.url!r}, {course.provider.key!r})
        provider.fail("openai/gpt-4o", 429)
        try:
            litellm.completion(model="openrouter/openai/gpt-4o", messages=[{{"role": "user", "content": "x"}}],
                               num_retries=2, api_base={course.provider.api_base('openrouter')!r},
                               api_key={course.provider.key!r})
        except Exception as e:
            print(type(e).__module__, type(e).__name__, "tenacity import failed" in str(e))
        provider.clear_faults()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.splitlines()[-1:] == ["builtins Exception True"], (result.stdout, result.stderr[-800:])


# --- the seed's handler and the corrected one (§2.5, §2.6) --------------------------------

def test_seed_tuple_lets_503_500_502_403_402_escape(provider) -> None:
    escaped = []
    for fault in ("429", "504", "drop", "503", "500", "502", "403", "402", "400", "404"):
        error, _, _ = provoke(provider, OPENROUTER, fault)
        if seed_clause(error)[0] == "except Exception":
            escaped.append((fault, type(error).__name__))
    assert escaped == [("503", "ServiceUnavailableError"), ("500", "APIError"), ("502", "APIError"),
                       ("403", "APIError"), ("402", "APIError"), ("400", "BadRequestError"), ("404", "NotFoundError")]


def test_seed_clauses_match_the_seed_text() -> None:
    assert [clause for clause, _, _ in SEED_CLAUSES] == [
        "except AuthenticationError",
        "except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError)",
        "except Exception",
    ]
    assert seed_clause(litellm.BudgetExceededError(current_cost=1, max_budget=0.5))[0].startswith("except (")


def test_seed_loop_spins_on_503(provider) -> None:
    """``except Exception: continue`` never advances ``attempt``: a persistent 503 repeats forever."""
    provider.fail("openai/gpt-4o", 503)
    attempt, iterations = 0, 0
    while attempt < 2 and iterations < 10:  # the guard the seed lacks
        iterations += 1
        try:
            litellm.completion(model="openrouter/openai/gpt-4o", messages=MESSAGES, timeout=1)
            break
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.BudgetExceededError):
            attempt += 1
        except Exception:
            continue
    assert (attempt, iterations, provider.requests(model="openai/gpt-4o")) == (0, 10, 10)


def test_decide_classification(provider) -> None:
    """The lesson's table: decide(e, [a fallback through the same path and key]) for every fault of the map."""
    expected = {
        OPENROUTER: {"stop": ["400", "401", "402", "422"], "retry": ["408", "429", "503", "504", "refused", "drop"],
                     "next": ["403", "404", "413", "500", "502", "malformed", "empty"]},
        OPENAI: {"stop": ["400", "401", "402", "422"],
                 "retry": ["408", "429", "500", "503", "504", "refused", "malformed", "empty", "drop"],
                 "next": ["403", "404", "413", "502"]},
    }
    same_key = {OPENROUTER: "openrouter/openai/gpt-4o", OPENAI: "openai/gpt-4o"}
    for model, options in ((OPENROUTER, {}), (OPENAI, {"num_retries": 0})):
        got: dict[str, list[str]] = {}
        for fault in MAP:
            if fault == "hang":
                continue  # a Timeout, like 408 and 504 (saves a second)
            error, _, _ = provoke(provider, model, fault, **options)
            got.setdefault(decide(error, [same_key[model]]), []).append(fault)
            if fault == "402":  # another provider's model bills another account
                assert decide(error, ["anthropic/claude-3-haiku" if model == OPENAI else "openai/gpt-4o"]) == "next"
        assert got == expected[model]


def test_ask_retries_503_once_then_falls_back(provider) -> None:
    provider.fail("openai/gpt-4o", 503)
    answer = ask(Request(model="openrouter/openai/gpt-4o", fallbacks=[OPENROUTER], messages=MESSAGES),
                 verbose=False, sleep=lambda s: None)
    assert answer.model == OPENROUTER
    assert [(a.error, a.decision) for a in answer.attempts] == [
        ("ServiceUnavailableError", "retry"), ("ServiceUnavailableError", "next"), (None, "answered")]
    assert provider.requests(model="openai/gpt-4o") == 2 and provider.requests(model="openai/gpt-4o-mini") == 1


def test_ask_stops_on_401_and_keeps_the_class(provider) -> None:
    provider.fail("openai/gpt-4o", 401)
    with pytest.raises(litellm.AuthenticationError):
        ask(Request(model="openrouter/openai/gpt-4o", fallbacks=[OPENROUTER], messages=MESSAGES), verbose=False)
    assert provider.requests() == 1


# --- added with the learning-by-doing rewrite (issue 10) -----------------------------------

def test_sdk_honours_a_fractional_retry_after(provider) -> None:
    """§2.4: the experiment asks for `Retry-After: 0.1` so the OpenAI SDK's retries do not wait long."""
    provider.fail("openai/gpt-4o-mini", 503, retry_after=0.1)
    start = time.perf_counter()
    with pytest.raises(litellm.ServiceUnavailableError):
        litellm.completion(model=OPENAI, messages=MESSAGES)
    times = [entry["t"] for entry in provider.log()]
    assert len(times) == 3 and time.perf_counter() - start < 0.8
    assert all(0.09 <= b - a < 0.4 for a, b in zip(times, times[1:]))


def test_num_retries_one_on_openrouter_is_two_requests(provider) -> None:
    """Quiz 02.q4: `num_retries=1` is 3 requests on openai/ (test above), 2 on openrouter/."""
    _, requests, _ = provoke(provider, OPENROUTER, "429", num_retries=1)
    assert requests == 2


def test_seed_tuple_misses_500_on_both_paths(provider) -> None:
    """Prediction 02.p2: the seed's (RateLimitError, Timeout, APIConnectionError) does not catch a 500."""
    seed_tuple = (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError)
    for model, options, name in ((OPENROUTER, {}, "APIError"), (OPENAI, {"num_retries": 0}, "InternalServerError")):
        provider.reset()
        error, _, _ = provoke(provider, model, "500", **options)
        assert type(error).__name__ == name and not isinstance(error, seed_tuple)


def test_hang_is_cut_by_a_short_timeout(provider) -> None:
    """§2.6: `timeout=0.5` ends a hang with Timeout after about half a second, one request."""
    provider.fail("openai/gpt-4o-mini", kind="hang")
    start = time.perf_counter()
    with pytest.raises(litellm.Timeout):
        litellm.completion(model=OPENROUTER, messages=MESSAGES, timeout=0.5)
    assert 0.4 <= time.perf_counter() - start < 1.5 and provider.requests() == 1


def test_hang_without_timeout_waits_long(provider) -> None:
    """§2.6: without `timeout=` a hung request is not cut within seconds (the provider's reset ends it)."""
    import threading

    provider.fail("openai/gpt-4o-mini", kind="hang", times=1)
    outcome: list[str] = []

    def call() -> None:
        try:
            litellm.completion(model=OPENROUTER, messages=MESSAGES)
            outcome.append("answered")
        except Exception as e:  # noqa: BLE001 - which class ends it does not matter here
            outcome.append(type(e).__name__)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(3)
    still_waiting = worker.is_alive()
    provider.reset()  # ends the hang
    worker.join(10)
    assert still_waiting and outcome and outcome[0] != "Timeout"


def test_the_lessons_recipe_survives_a_bad_day(provider) -> None:
    """«Рецепт» of lesson 02: 503 on the first model -> one retry, then the second answers;
    401 goes up at once with its class; 402 goes up without trying the other model."""
    from recipes import run_recipe

    complete = run_recipe("02")["complete"]
    provider.set_latency_scale(0)
    provider.fail("openai/gpt-4o", 503)
    models = ["openrouter/openai/gpt-4o", OPENROUTER]
    text = complete(models, MESSAGES)
    assert text == practice_data.answer_for(MESSAGES[0]["content"])
    assert (provider.requests(model="openai/gpt-4o"), provider.requests(model="openai/gpt-4o-mini")) == (2, 1)
    for status, cls in ((401, litellm.AuthenticationError), (402, litellm.APIError)):
        provider.reset()
        provider.fail("openai/gpt-4o", status)
        with pytest.raises(cls):
            complete(models, MESSAGES)
        assert provider.requests() == 1


def test_classes_that_exist_but_openrouter_does_not_raise() -> None:
    """§2.2: PermissionDeniedError and InternalServerError exist in LiteLLM, yet 403 and 500 via
    OpenRouter are plain APIError (MAP above)."""
    assert issubclass(litellm.PermissionDeniedError, openai.APIError)
    assert issubclass(litellm.InternalServerError, openai.APIError)
    assert MAP["403"][0][0] == MAP["500"][0][0] == "APIError"


def test_seed_tuple_lets_the_same_faults_escape_on_openai(provider) -> None:
    """§2.8 sidebar: through openai/ the escaping 500 and 502 are InternalServerError and BadGatewayError."""
    escaped = []
    for fault in ("429", "504", "503", "500", "502", "403", "402"):
        provider.reset()
        error, _, _ = provoke(provider, OPENAI, fault, num_retries=0)
        if seed_clause(error)[0] == "except Exception":
            escaped.append((fault, type(error).__name__))
    assert escaped == [("503", "ServiceUnavailableError"), ("500", "InternalServerError"),
                       ("502", "BadGatewayError"), ("403", "APIError"), ("402", "APIError")]
