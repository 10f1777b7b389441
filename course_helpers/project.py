""""Our project" from the seed lesson, done right (lessons 01, 02, 03, 07).

The seed keeps pointing at ``config.py`` (``setup_caching()``), ``litellm_client.py``
(error handling and a fallback loop) and a ``Request(model, fallbacks, messages,
answer_model)`` class. Here they are without the seed's bugs:

* errors are classified by the *real* LiteLLM exception map (a 503 or a 500 through
  OpenRouter no longer escapes the handler);
* every attempt advances the loop (no ``except Exception: continue`` that spins forever);
* an authentication error or a bad request stops at once (another model will not help);
* out of credits (402) stops too when every remaining fallback bills the same account
  (same provider prefix, same key); fallbacks on that account are skipped otherwise;
* Retry-After is honoured when the provider sends it (OpenRouter only *may*), with the
  client's own exponential backoff when it does not;
* when every model fails, the *last error itself* is raised, its type kept, with the
  list of attempts attached as a note.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable

import litellm
import openai
import pydantic
from litellm.caching.caching import Cache, LiteLLMCacheType

from course_helpers.redis_server import redis_url
from course_helpers.session import package_version, state_dir

RETRYABLE = (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
             litellm.ServiceUnavailableError, litellm.InternalServerError)
MAX_BACKOFF_S = 5.0


def setup_caching(kind: str = "disk", directory: str | Path | None = None, ttl: float | None = None,
                  reset: bool = False) -> Any:
    """The seed's ``config.setup_caching()``: enable LiteLLM's cache and return it.

    ``kind``: ``"disk"`` (the seed's choice; exists only up to LiteLLM 1.108.x),
    ``"local"`` (in-memory: at most 200 entries, a cap ``Cache`` does not let you change)
    or ``"redis"`` (a real server from :func:`redis_url`). For Redis the default TTL is
    raised from LiteLLM's 60 s to one hour unless ``ttl`` is given. ``reset=True`` deletes
    the disk cache folder first: the way out of a corrupted cache.

    An existing cache is replaced (``litellm.cache = Cache(...)``, LiteLLM's documented
    form), unlike ``enable_cache``, which silently keeps it.
    """
    kinds = {"disk": "DISK", "local": "LOCAL", "redis": "REDIS"}
    if kind not in kinds:
        raise ValueError(f"kind должен быть одним из {list(kinds)}, а не {kind!r}.")
    if not hasattr(LiteLLMCacheType, kinds[kind]):
        raise RuntimeError(f"В LiteLLM {package_version('litellm')} нет кэша {kinds[kind]} (DISK удалён в 1.109.0): "
                           "используйте kind='local' или kind='redis'.")
    options: dict[str, Any] = {"type": getattr(LiteLLMCacheType, kinds[kind])}
    if kind == "disk":
        folder = Path(directory or state_dir() / "cache")
        if reset:
            shutil.rmtree(folder, ignore_errors=True)
        options["disk_cache_dir"] = str(folder)
    elif kind == "redis":
        options.update(url=redis_url(), ttl=ttl or 3600)  # the URL carries a password if the server has one
    if ttl is not None:
        options["ttl"] = ttl
    try:
        litellm.cache = Cache(**options)
    except ModuleNotFoundError as e:
        raise RuntimeError(f"Для кэша {kind} не хватает пакета ({e}). Выполните в терминале "
                           "bash scripts/setup.sh (или pip install -r requirements.lock)") from None
    except sqlite3.DatabaseError as e:
        raise RuntimeError(f"Дисковый кэш в {options['disk_cache_dir']} повреждён ({e}). Выход: "
                           f"setup_caching('disk', {str(options['disk_cache_dir'])!r}, reset=True) удалит его "
                           "и создаст заново (или удалите папку вручную).") from None
    return litellm.cache


@dataclass
class Request:
    """A request to the LLM, as in the seed: a model, its fallbacks, the messages and the
    pydantic model the answer must fit (``answer_model``; ``None`` for plain text)."""

    model: str
    messages: list[dict[str, Any]]
    fallbacks: list[str] = field(default_factory=list)
    answer_model: type[pydantic.BaseModel] | None = None
    timeout: float = 30.0
    retries: int = 1  # extra tries of the same model for transient errors, with backoff
    options: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, ...


@dataclass
class Attempt:
    """One call made while serving a Request."""

    model: str
    error: str | None  # exception class name, None if it answered
    status: int | None
    decision: str  # answered / retry / next / stop


@dataclass
class Answer:
    """What :func:`ask` returns: the parsed answer, who answered, and every attempt."""

    value: Any  # an ``answer_model`` instance, or the text
    model: str
    response: Any
    attempts: list[Attempt]

    @property
    def cost(self) -> float:
        """Cost of the answering call in USD (0.0 for a cache hit)."""
        return float(self.response._hidden_params.get("response_cost") or 0.0)


def provider_of(model: str) -> str:
    """The LiteLLM provider of a model string (``openrouter/openai/gpt-4o`` -> ``openrouter``).

    A :class:`Request`'s models all go through that provider's one key (from the environment
    or ``options``): the same provider means the same account billed.
    """
    try:
        return litellm.get_llm_provider(model)[1]
    except litellm.BadRequestError:  # a model LiteLLM cannot route; the call itself will say so
        return model.partition("/")[0]


def out_of_credits(error: BaseException) -> bool:
    """The account or the key's credit cap is used up: OpenRouter's documented 402, or the 403
    "Key limit exceeded" that real OpenRouter has been reported to answer for a per-key cap."""
    status = getattr(error, "status_code", None)
    return status == 402 or (status == 403 and "key limit exceeded" in str(error).lower())


def account_of(error: BaseException, model: str) -> str:
    """The account (provider) whose refusal ``error`` is: LiteLLM's ``llm_provider``, else the model's."""
    return getattr(error, "llm_provider", None) or provider_of(model)


def decide(error: BaseException, remaining: Sequence[str] = (), model: str = "") -> str:
    """What to do after an error: ``stop``, ``retry`` (same model) or ``next`` (fallback).

    ``remaining``: the fallbacks not tried yet; ``model``: the one that failed (for errors without
    ``llm_provider``). Order matters: ContextWindowExceededError is a
    BadRequestError but a bigger model can help; out of credits (402) stops unless a remaining
    model bills another account; every mapped provider error derives from ``openai.APIError``.
    """
    if isinstance(error, litellm.ContextWindowExceededError):
        return "next"
    if isinstance(error, (litellm.AuthenticationError, litellm.BadRequestError)):
        return "stop"
    if out_of_credits(error):
        account = account_of(error, model)
        return "next" if any(provider_of(other) != account for other in remaining) else "stop"
    if isinstance(error, RETRYABLE):
        return "retry"
    if isinstance(error, (openai.APIError, pydantic.ValidationError)):
        return "next"  # 403/404/500/502 via OpenRouter, malformed bodies, answers that do not parse
    return "stop"  # a bug in our code, not a provider problem: never retry it blindly


def _retry_after(error: BaseException) -> float | None:
    """Seconds from the provider's Retry-After header, ``None`` when there is none (OpenRouter
    only *may* send it) or it is not a number (an HTTP date). LiteLLM keeps the real headers in
    ``litellm_response_headers``: a ``dict`` with lower-case keys on ``openrouter/``, an
    ``httpx.Headers`` (case-insensitive) on ``openai/``; ``.get`` works on both.
    ``error.response`` is a synthetic response without them."""
    headers = getattr(error, "litellm_response_headers", None) or {}
    value = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def backoff(error: BaseException, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt + 1``: Retry-After if the provider sent it,
    else our own exponential backoff (0.5 s, 1 s, 2 s...); at most ``MAX_BACKOFF_S``."""
    retry_after = _retry_after(error)
    return min(MAX_BACKOFF_S, 0.5 * 2 ** attempt if retry_after is None else retry_after)


def credits_note(error: BaseException, remaining: Sequence[str]) -> str:
    """Russian explanation of a stop on 402: why no fallback was tried."""
    where = (f"резервные модели ({', '.join(remaining)}) идут через тот же ключ — им откажут так же"
             if remaining else "резервных моделей больше нет")
    return (f"Кредиты кончились (HTTP {getattr(error, 'status_code', '?')}): ключ больше не оплачивает запросы, а {where}. "
            "Пополните баланс или поднимите лимит ключа (GET /api/v1/key покажет limit_remaining).")


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(text)


def ask(request: Request, *, verbose: bool = True, sleep: Callable[[float], None] = time.sleep) -> Answer:
    """Send a :class:`Request`, falling back model by model; return an :class:`Answer`.

    Prints (Russian) which model answered and why others were skipped. Raises the last
    error (its own type) when every model failed, or at once for auth / bad-request errors
    and for a 402 when no remaining model bills another account.
    """
    attempts: list[Attempt] = []
    last_error: BaseException | None = None
    broke: set[str] = set()  # providers that answered "out of credits": their models are skipped
    extra = dict(request.options)
    if request.answer_model is not None:
        extra["response_format"] = request.answer_model
    models = [request.model, *request.fallbacks]
    for index, model in enumerate(models):
        if broke and provider_of(model) in broke:
            _say(verbose, f"  – {model}: пропускаем, кредиты ключа {provider_of(model)}/ кончились")
            continue
        remaining = models[index + 1:]
        for attempt in range(request.retries + 1):
            try:
                response = litellm.completion(model=model, messages=request.messages,
                                              timeout=request.timeout, **extra)
                text = response.choices[0].message.content or ""
                value = request.answer_model.model_validate_json(text) if request.answer_model else text
            except Exception as error:  # classified right below: nothing is swallowed
                last_error = error
                action = decide(error, remaining, model)
                if action == "retry" and attempt == request.retries:
                    action = "next"
                status = getattr(error, "status_code", None)
                attempts.append(Attempt(model, type(error).__name__, status, action))
                _say(verbose, f"  ✗ {model}: {type(error).__name__}"
                              f"{f' ({status})' if status else ''} → "
                              f"{ {'stop': 'останавливаемся', 'retry': 'повторяем', 'next': 'следующая модель'}[action] }")
                if out_of_credits(error):
                    broke.add(account_of(error, model))
                if action == "stop":
                    error.attempts = attempts  # type: ignore[attr-defined]
                    if out_of_credits(error):
                        error.add_note(credits_note(error, remaining))
                        _say(verbose, f"    {error.__notes__[-1]}")
                    error.add_note(f"Попытки: {[(a.model, a.error) for a in attempts]}")
                    raise
                if action == "next":
                    break
                sleep(backoff(error, attempt))
                continue
            attempts.append(Attempt(model, None, 200, "answered"))
            _say(verbose, f"  ✓ ответила {model}")
            return Answer(value=value, model=model, response=response, attempts=attempts)
    assert last_error is not None
    last_error.attempts = attempts  # type: ignore[attr-defined]
    last_error.add_note(f"Все модели отказали. Попытки: {[(a.model, a.error) for a in attempts]}")
    raise last_error
