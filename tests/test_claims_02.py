"""Lesson 02 («Ошибки и исключения»): every claim the lesson makes about LiteLLM, on the pinned version.

The exception map (class, status_code, MRO, requests) for both ``openrouter/`` and ``openai/``,
the hierarchy traps, who retries how often, Retry-After, the ``tenacity`` dependency, and the
seed's error handler against injected faults.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import litellm
import openai
import pytest

from course_helpers.panels.errors import FAULTS, SEED_CLAUSES, inject, mro_names, seed_clause
from course_helpers.project import Request, ask, decide

ROOT = Path(__file__).resolve().parent.parent
OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Привет!"}]

# fault -> (class, status_code, requests) for openrouter/ and for openai/ with num_retries=0 (lesson 02, §2.2)
MAP = {
    "400": (("BadRequestError", 400, 1), ("BadRequestError", 400, 1)),
    "401": (("AuthenticationError", 401, 1), ("AuthenticationError", 401, 1)),
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


# --- hierarchy traps (§2.3) -----------------------------------------------------------------

def test_hierarchy_traps() -> None:
    assert not issubclass(litellm.Timeout, litellm.APIConnectionError)
    assert issubclass(litellm.Timeout, openai.APIConnectionError)
    assert not issubclass(litellm.RateLimitError, litellm.APIError)
    assert not issubclass(litellm.ServiceUnavailableError, litellm.APIError)
    assert issubclass(litellm.ContextWindowExceededError, litellm.BadRequestError)
    assert litellm.BudgetExceededError.__mro__[1] is Exception
    assert not issubclass(litellm.BudgetExceededError, openai.APIError)
    assert len(litellm.LITELLM_EXCEPTION_TYPES) == 21


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
    ("openrouter", "400"): 1, ("openrouter", "401"): 1, ("openrouter", "429"): 1, ("openrouter", "503"): 1,
    ("openrouter+2", "400"): 3, ("openrouter+2", "401"): 3, ("openrouter+2", "429"): 3, ("openrouter+2", "503"): 3,
    ("openai", "400"): 1, ("openai", "401"): 1, ("openai", "429"): 3, ("openai", "503"): 3,
    ("openai+2", "400"): 3, ("openai+2", "401"): 3, ("openai+2", "429"): 5, ("openai+2", "503"): 5,
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

def test_seed_tuple_lets_503_500_502_403_escape(provider) -> None:
    escaped = []
    for fault in ("429", "504", "drop", "503", "500", "502", "403", "400", "404"):
        error, _, _ = provoke(provider, OPENROUTER, fault)
        if seed_clause(error)[0] == "except Exception":
            escaped.append((fault, type(error).__name__))
    assert escaped == [("503", "ServiceUnavailableError"), ("500", "APIError"), ("502", "APIError"),
                       ("403", "APIError"), ("400", "BadRequestError"), ("404", "NotFoundError")]


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
    expected = {
        OPENROUTER: {"stop": ["400", "401", "422"], "retry": ["408", "429", "503", "504", "refused", "drop"],
                     "next": ["403", "404", "413", "500", "502", "malformed", "empty"]},
        OPENAI: {"stop": ["400", "401", "422"],
                 "retry": ["408", "429", "500", "503", "504", "refused", "malformed", "empty", "drop"],
                 "next": ["403", "404", "413", "502"]},
    }
    for model, options in ((OPENROUTER, {}), (OPENAI, {"num_retries": 0})):
        got: dict[str, list[str]] = {}
        for fault in MAP:
            if fault == "hang":
                continue  # a Timeout, like 408 and 504 (saves a second)
            error, _, _ = provoke(provider, model, fault, **options)
            got.setdefault(decide(error), []).append(fault)
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
