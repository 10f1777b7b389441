"""A spending limit that holds under concurrency (lesson 06).

``litellm.max_budget`` never accrues spend, and every "check the spend, then call" guard
lets a burst of concurrent requests through before the first one is billed. This guard
*reserves* each request's estimated maximum cost before the call (prompt tokens plus
``max_tokens`` at the model's prices, times ``1 + margin``) and *settles* it with the
billed cost afterwards, so the money in flight is counted too::

    guard = BudgetGuard(limit=0.001, per_user=0.0005, per_day=0.01)
    with guard.reserve(MODEL, messages, max_tokens=100, user="alice") as hold:
        response = await litellm.acompletion(model=MODEL, messages=messages, max_tokens=100)
        hold.settle(response)

``reserve`` raises :class:`BudgetExceeded` (a ``litellm.BudgetExceededError``, Russian
message) when the request might not fit into one of the budgets: the total, the user's
or today's. ``settle`` books the response's ``_hidden_params["response_cost"]``: for
``openrouter/...`` models LiteLLM takes it from OpenRouter's ``usage.cost``, the amount the
key was billed, not a price it re-computes.

What the guard can and cannot promise. Spend stays under a limit only while the real cost
of each call is at most its reservation. Against the practice provider the estimate is
exact (it bills with the same tokenizer and dated price table :data:`course_helpers.
practice_data.MODELS`), which makes a demo of the guard circular. Online three things differ:

* upstream models count tokens with their own tokenizers, not the course's tiktoken
  encodings, so the prompt estimate can be low (completions are bounded by ``max_tokens``
  whatever the tokenizer);
* prices change after :data:`course_helpers.practice_data.PRICES_AS_OF`;
* the state lives in one process: N workers, each with its own guard, spend up to N × the budget.

``margin`` (default :data:`DEFAULT_MARGIN`, 25 %) covers the first two as far as they stay
within it; ``overruns`` counts the calls that cost more than their reservation, so the
margin can be checked against real traffic. The guarantee that holds across processes and
estimates is the provider's: an OpenRouter key with a credit limit gets 402 once its usage
reaches the limit (``GET /api/v1/key`` shows ``limit_remaining``); only calls already in
flight at that moment are still billed.

Prices: ``openrouter/...`` models are priced from the practice provider's dated table, other
models from LiteLLM's model cost map.
"""

from __future__ import annotations

import math
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import litellm
import openai

from course_helpers import practice_data

# Every list LiteLLM keeps callbacks in (``litellm.callbacks`` is copied into the others
# on the first call, and Router budgets add a limiter of their own).
CALLBACK_LISTS = ("callbacks", "input_callback", "success_callback", "failure_callback",
                  "_async_success_callback", "_async_failure_callback", "service_callback")

# HTTP statuses of a request the provider refused before generating anything: not billed.
# Everything else that ends a reserved call early — a timeout, a lost connection, a 429 or 5xx
# (OpenRouter may report those inside an HTTP 200 after the model started), a cancelled task,
# Ctrl+C, a bug in the code around the call — keeps the reservation: the call may have been billed.
REFUSED_STATUSES = frozenset({400, 401, 402, 403, 404, 413, 422})


def certainly_unbilled(error: BaseException) -> bool:
    """True only for errors that prove the provider did not bill the call."""
    if isinstance(error, BudgetExceeded):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(error, openai.APIError) and status in REFUSED_STATUSES

# Share added to every estimate. A starting point, not a measured constant: it covers an
# upstream tokenizer that counts the prompt somewhat differently and a moderate price change.
# Check it on real traffic (``BudgetGuard.overruns``) and raise it for text the course's
# tokenizers count badly (lesson 06 measures bills up to 20 % above the estimate for Russian
# prompts counted with GPT-4o's encoding but billed with another one).
DEFAULT_MARGIN = 0.25

Estimate = Callable[[str, list[dict[str, Any]], int], float]


@dataclass(frozen=True)
class Price:
    """USD per prompt token and per completion token of one model."""

    prompt: float
    completion: float
    source: str  # where the price comes from, in Russian (shown in the lesson)


def _practice_spec(model: str) -> practice_data.ModelSpec | None:
    """The practice table's entry of an ``openrouter/...`` model (ValueError if it has none)."""
    if not model.startswith("openrouter/"):
        return None
    spec = practice_data.resolve_model(model.removeprefix("openrouter/"))
    if spec is None:
        raise ValueError(f"Модели {model!r} нет в таблице цен практического провайдера.")
    return spec


def price_of(model: str) -> Price:
    """Prices of a LiteLLM model string: the practice table for ``openrouter/...``, else LiteLLM's map."""
    spec = _practice_spec(model)
    if spec is not None:
        return Price(spec.input_per_m / 1e6, spec.output_per_m / 1e6,
                     f"таблица практического провайдера на {practice_data.PRICES_AS_OF}")
    try:
        info = litellm.get_model_info(model)
    except Exception:
        raise ValueError(f"Для модели {model!r} нет цены ни в таблице провайдера, ни в карте цен LiteLLM.") from None
    return Price(info["input_cost_per_token"] or 0.0, info["output_cost_per_token"] or 0.0, "карта цен LiteLLM")


def prompt_tokens(model: str, messages: list[dict[str, Any]], encoding: str | None = None) -> int:
    """Prompt size: the provider's own tokenizer for its models, LiteLLM's counter otherwise;
    with ``encoding`` (a tiktoken name such as ``"o200k_base"``) that tokenizer for any model."""
    if encoding is not None:
        return practice_data.prompt_tokens(messages, encoding)
    spec = _practice_spec(model)
    if spec is not None:
        return practice_data.prompt_tokens(messages, spec.encoding)
    return litellm.token_counter(model=model, messages=messages)


def max_cost(model: str, messages: list[dict[str, Any]], max_tokens: int, encoding: str | None = None) -> float:
    """The most a call can cost: its prompt tokens plus ``max_tokens`` completion tokens.

    Exact for the practice provider; online it is an estimate (see the module docstring).
    ``encoding`` counts the prompt with another tokenizer (lesson 06 uses it to make the
    estimate differ from the bill, as it does online).
    """
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ValueError("Без max_tokens стоимость ответа не ограничена: передайте max_tokens (целое число ≥ 1).")
    price = price_of(model)
    return prompt_tokens(model, messages, encoding) * price.prompt + max_tokens * price.completion


def utc_today() -> str:
    """Today's date in UTC, ``YYYY-MM-DD``: the key of the per-day budget."""
    return datetime.now(timezone.utc).date().isoformat()


class BudgetExceeded(litellm.BudgetExceededError):
    """A request was refused before it was sent: it might not fit into a budget.

    A subclass of ``litellm.BudgetExceededError``, so ``except BudgetExceededError`` (as
    in the seed lesson) catches it. The message is in Russian.
    """

    def __init__(self, scope: str, spent: float, in_flight: float, limit: float, needed: float) -> None:
        self.scope = scope
        self.spent = spent
        self.in_flight = in_flight
        self.limit = limit
        self.needed = needed
        message = (f"Бюджет «{scope}» исчерпан: потрачено ${spent:.6f}, в работе ${in_flight:.6f} из "
                   f"${limit:.6f}, а запросу нужен резерв ${needed:.6f} (максимум с запасом). Запрос не отправлен.")
        super().__init__(current_cost=spent + in_flight, max_budget=limit, message=message)

    def __str__(self) -> str:
        return self.message


@dataclass
class Hold:
    """A reservation made by :meth:`BudgetGuard.reserve`; settle it with the real cost.

    As a context manager: leaving the block without ``settle`` keeps the whole reservation
    charged — after an exception too, unless the exception proves the provider refused the
    request (:func:`certainly_unbilled`: 400, 401, 402, 403, 404, 413, 422). A cancelled task,
    Ctrl+C, a timeout, a 429 or a bug after the call may all come after the provider billed it.
    """

    guard: BudgetGuard
    amount: float
    keys: tuple[str, ...]
    done: bool = field(default=False)

    def settle(self, result: Any) -> float:
        """Replace the reservation by the billed cost: a number or a response.

        A response's cost is ``_hidden_params["response_cost"]`` (for ``openrouter/...`` that is
        OpenRouter's ``usage.cost``); a response without a known cost (a model LiteLLM has no
        price for) is charged the reservation. A cost that is not a finite number ≥ 0 (NaN, a
        negative) is refused with ValueError and the reservation stays charged.
        """
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            cost: float | None = float(result)
        else:
            cost = (getattr(result, "_hidden_params", None) or {}).get("response_cost")
        if cost is not None and (not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0):
            raise ValueError(f"Стоимость {cost!r} — не конечное число ≥ 0: резерв остаётся списанным.")
        return self.guard._close(self, self.amount if cost is None else float(cost))

    def release(self) -> None:
        """Cancel the reservation: use it only when you know the call was not billed."""
        self.guard._close(self, 0.0)

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.done:
            return
        if error is not None and certainly_unbilled(error):
            self.release()
        else:
            self.guard._close(self, self.amount)


class BudgetGuard:
    """Total, per-user and per-day spending limits (USD) that hold under concurrency.

    A call reserves ``estimate(model, messages, max_tokens) * (1 + margin)``; ``estimate``
    defaults to :func:`max_cost`, ``margin`` to :data:`DEFAULT_MARGIN`. ``per_user`` is one
    limit for every user or a ``{user: limit}`` dict (users missing from the dict are not
    limited per user). ``today`` returns the day key (UTC date by default; tests inject a
    clock). ``refused`` counts refusals, ``overruns`` settled calls that cost more than their
    reservation (the margin was too small for them). Thread-safe, and safe for asyncio:
    nothing awaits under the lock. One guard guards one process: workers in several processes
    need a shared store or, better, the provider's per-key credit limit.
    """

    def __init__(self, limit: float | None = None, *, margin: float = DEFAULT_MARGIN, estimate: Estimate = max_cost,
                 per_user: float | dict[str, float] | None = None, per_day: float | None = None,
                 today: Callable[[], str] = utc_today) -> None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
            raise ValueError("margin — доля запаса, число ≥ 0 (например, 0.25 — это +25 %).")
        self.limit = limit
        self.margin = float(margin)
        self.estimate = estimate
        self.per_user = per_user
        self.per_day = per_day
        self.today = today
        self.refused = 0
        self.overruns = 0
        self._spent: dict[str, float] = {}
        self._in_flight: dict[str, float] = {}
        self._lock = threading.Lock()

    def _scopes(self, user: str | None) -> list[tuple[str, str, float | None]]:
        """(ledger key, Russian name, limit or None) of every ledger a request of ``user`` counts in."""
        day = self.today()
        scopes = [("total", "общий", self.limit), (f"day:{day}", f"день {day}", self.per_day)]
        if user is not None:
            user_limit = self.per_user.get(user) if isinstance(self.per_user, dict) else self.per_user
            scopes.append((f"user:{user}", f"пользователь {user}", user_limit))
        return scopes

    def reservation(self, model: str, messages: list[dict[str, Any]], max_tokens: int) -> float:
        """What :meth:`reserve` holds for a call: the estimated maximum times ``1 + margin``."""
        return self.estimate(model, messages, max_tokens) * (1 + self.margin)

    def reserve(self, model: str, messages: list[dict[str, Any]], *, max_tokens: int,
                user: str | None = None) -> Hold:
        """Reserve the call's :meth:`reservation` in every budget, or raise :class:`BudgetExceeded`."""
        amount = self.reservation(model, messages, max_tokens)
        with self._lock:
            scopes = self._scopes(user)
            for key, name, limit in scopes:
                spent, in_flight = self._spent.get(key, 0.0), self._in_flight.get(key, 0.0)
                if limit is not None and spent + in_flight + amount > limit:
                    self.refused += 1
                    raise BudgetExceeded(name, spent, in_flight, limit, amount)
            for key, _, _ in scopes:
                self._in_flight[key] = self._in_flight.get(key, 0.0) + amount
        return Hold(self, amount, tuple(key for key, _, _ in scopes))

    def completion(self, **kwargs: Any) -> Any:
        """``litellm.completion(**kwargs)`` under the budget: the reservation uses this call's own
        ``model``, ``messages``, ``max_tokens`` (required) and ``user``, so they cannot drift apart.
        With ``stream=True`` the returned iterator settles when the stream ends (a stream cut
        short keeps the reservation)."""
        hold = self._reserve_for(kwargs)
        with _closing_on_error(hold):
            response = litellm.completion(**kwargs)
        if kwargs.get("stream"):
            return self._settled_stream(response, hold)
        with hold:
            hold.settle(response)
        return response

    async def acompletion(self, **kwargs: Any) -> Any:
        """The async twin of :meth:`completion` (``await guard.acompletion(...)``)."""
        hold = self._reserve_for(kwargs)
        with _closing_on_error(hold):
            response = await litellm.acompletion(**kwargs)
        if kwargs.get("stream"):
            return self._settled_astream(response, hold)
        with hold:
            hold.settle(response)
        return response

    def _reserve_for(self, kwargs: dict[str, Any]) -> Hold:
        missing = [name for name in ("model", "messages", "max_tokens") if name not in kwargs]
        if missing:
            raise ValueError(f"Для вызова под бюджетом нужны {', '.join(missing)}: без max_tokens цена ответа не ограничена.")
        return self.reserve(kwargs["model"], kwargs["messages"], max_tokens=kwargs["max_tokens"],
                            user=kwargs.get("user"))

    def _settled_stream(self, stream: Any, hold: Hold) -> Iterator[Any]:
        chunks = []
        with hold:
            for chunk in stream:
                chunks.append(chunk)
                yield chunk
            hold.settle(_stream_cost(chunks))

    async def _settled_astream(self, stream: Any, hold: Hold) -> AsyncIterator[Any]:
        chunks = []
        with hold:
            async for chunk in stream:
                chunks.append(chunk)
                yield chunk
            hold.settle(_stream_cost(chunks))

    def _close(self, hold: Hold, cost: float) -> float:
        with self._lock:
            if hold.done:
                raise RuntimeError("Эта резервация уже закрыта.")
            hold.done = True
            if cost - hold.amount > 1e-10:  # the bill is rounded to 1e-10 USD: equal is no overrun
                self.overruns += 1
            for key in hold.keys:
                self._in_flight[key] -= hold.amount
                self._spent[key] = self._spent.get(key, 0.0) + cost
        return cost

    def spent(self, user: str | None = None, day: str | None = None) -> float:
        """Settled spend: in total, of one user, or of one day (``YYYY-MM-DD``)."""
        key = f"user:{user}" if user is not None else f"day:{day}" if day is not None else "total"
        with self._lock:
            return self._spent.get(key, 0.0)

    def in_flight(self) -> float:
        """Money reserved by calls that have not been settled yet."""
        with self._lock:
            return max(0.0, self._in_flight.get("total", 0.0))


@contextmanager
def _closing_on_error(hold: Hold) -> Iterator[None]:
    """Close ``hold`` by :meth:`Hold.__exit__`'s rule if the block raises (or is cancelled)."""
    try:
        yield
    except BaseException as error:
        hold.__exit__(type(error), error, error.__traceback__)
        raise


def _stream_cost(chunks: list[Any]) -> float | None:
    """The billed cost of a finished stream: OpenRouter's ``usage.cost`` in its last message
    (LiteLLM keeps it in the rebuilt response); None when the stream carried no cost."""
    if not chunks:
        return None
    usage = getattr(litellm.stream_chunk_builder(chunks), "usage", None)
    cost = getattr(usage, "cost", None)
    return float(cost) if isinstance(cost, (int, float)) else None


def save_callbacks() -> dict[str, list[Any]]:
    """A copy of every LiteLLM callback list, for :func:`restore_callbacks`."""
    return {name: list(getattr(litellm, name)) for name in CALLBACK_LISTS}


def restore_callbacks(saved: dict[str, list[Any]]) -> None:
    """Put LiteLLM's callback lists back as they were: no logger or Router limiter left behind."""
    for name, value in saved.items():
        setattr(litellm, name, list(value))


@contextmanager
def callbacks_restored(clear: bool = False) -> Iterator[None]:
    """Run a block, then restore every LiteLLM callback list (checkers and tests use it).

    ``clear=True`` empties the lists for the block. LiteLLM skips a logger when one of the
    same class is already registered, so a stale instance would shadow a new one.
    """
    saved = save_callbacks()
    if clear:
        restore_callbacks({name: [] for name in CALLBACK_LISTS})
    try:
        yield
    finally:
        restore_callbacks(saved)


__all__ = ["BudgetGuard", "BudgetExceeded", "Hold", "Price", "DEFAULT_MARGIN", "REFUSED_STATUSES", "certainly_unbilled",
           "price_of", "prompt_tokens", "max_cost",
           "utc_today", "save_callbacks", "restore_callbacks", "callbacks_restored", "CALLBACK_LISTS"]
