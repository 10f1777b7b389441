"""Lesson 06 exercises: a spend logger that sees every call, and a budget that holds under concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

from course_helpers.budget import callbacks_restored
from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register

MODEL = "openrouter/openai/gpt-4o-mini"
STREAM_USAGE = {"include_usage": True}  # usage in the last chunk on every path (section 6.2, trap 1)


def run_in_thread(coro_factory: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine in a fresh event loop in a worker thread.

    Checkers are called from a notebook cell, where Jupyter's own loop is already
    running, so ``asyncio.run`` cannot be used directly.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro_factory())
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target, name="lesson06-check")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# --- 06.1: a CustomLogger that counts spend for sync, async and streaming calls ------------

def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Проверка 06.1, запрос {i}: что такое бюджет?"}]


def _make_logger(answer: Any) -> CustomLogger:
    expect(callable(answer), "ожидается класс-наследник CustomLogger (например, SpendCounter), а не значение.")
    logger = answer()  # a stub raising NotImplementedError means "not attempted"
    expect(isinstance(logger, CustomLogger),
           f"check ждёт класс, наследующий litellm.integrations.custom_logger.CustomLogger; получен "
           f"объект {type(logger).__name__}.")
    own = {name for klass in type(logger).__mro__ if klass is not CustomLogger and issubclass(klass, CustomLogger)
           for name in vars(klass)}
    if not own & {"log_success_event", "async_log_success_event"}:
        raise NotAttempted("в классе ещё нет log_success_event / async_log_success_event.")
    expect(isinstance(getattr(logger, "total", None), (int, float)),
           "у объекта должен быть атрибут total (число) — накопленный расход, начиная с 0.0.")
    return logger


async def _traffic() -> None:
    """One call of each kind: sync, sync stream, async, async stream (the sync ones in a thread)."""
    def sync_calls() -> None:
        litellm.completion(model=MODEL, messages=_messages(1), max_tokens=30)
        for _ in litellm.completion(model=MODEL, messages=_messages(2), max_tokens=30, stream=True,
                                    stream_options=STREAM_USAGE):
            pass

    await asyncio.to_thread(sync_calls)
    await litellm.acompletion(model=MODEL, messages=_messages(3), max_tokens=30)
    stream = await litellm.acompletion(model=MODEL, messages=_messages(4), max_tokens=30, stream=True,
                                       stream_options=STREAM_USAGE)
    async for _ in stream:
        pass


def check_spend_counter(answer: Any) -> str:
    logger = _make_logger(answer)
    start = float(logger.total)

    async def scenario() -> float:
        # async success events that an earlier event loop left undelivered arrive in the next
        # loop: deliver them before the learner's logger is registered (lesson 06, section 6.2)
        await GLOBAL_LOGGING_WORKER.flush()
        litellm.callbacks = [logger]
        await _traffic()
        await GLOBAL_LOGGING_WORKER.flush()
        expected = provider().stats()["cost"]
        deadline = time.monotonic() + 3.0  # callbacks run in the background: give them time
        while abs(float(logger.total) - start - expected) > 1e-12 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a double count would show up here
        return expected

    with callbacks_restored(clear=True):  # a stale logger of the same class would shadow this one
        expected = run_in_thread(scenario)
    counted = float(logger.total) - start
    expect(provider().stats()["requests"] == 4, "проверка должна была сделать 4 запроса; что-то пошло не так.")
    if abs(counted - expected) > 1e-12:
        if abs(counted) < 1e-15:
            raise CheckFailed("total остался 0: методы не вызывались. Имена параметров должны быть ровно "
                              "kwargs, response_obj, start_time, end_time — LiteLLM передаёт их по имени.")
        raise CheckFailed(f"насчитано ${counted:.8f}, а провайдер списал ${expected:.8f} за 4 вызова "
                          "(sync, sync-стрим, async, async-стрим). Нужны оба метода: log_success_event для "
                          "синхронных вызовов и async_log_success_event для асинхронных.")
    return f"счётчик совпал с провайдером: ${counted:.8f} за sync, async и два стрима."


class ReferenceSpendCounter(CustomLogger):
    """Reference solution of 06.1."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0.0
        self._lock = threading.Lock()

    def _add(self, kwargs: dict) -> None:
        cost = kwargs.get("response_cost")
        if cost is not None:  # unknown cost (a model LiteLLM has no price for) is skipped, not counted as 0
            with self._lock:
                self.total += cost

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._add(kwargs)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._add(kwargs)


class SyncOnlyCounter(CustomLogger):
    """Wrong: misses every async call."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs.get("response_cost") or 0.0


class WrongNamesCounter(CustomLogger):
    """Wrong: LiteLLM passes the arguments by keyword, so these methods are never called."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kw, response, start, end):
        self.total += kw.get("response_cost") or 0.0

    async def async_log_success_event(self, kw, response, start, end):
        self.total += kw.get("response_cost") or 0.0


register(Exercise(
    id="06.1",
    title="Счётчик расходов на CustomLogger",
    check=check_spend_counter,
    reference=ReferenceSpendCounter,
    hints=[
        "Унаследуйтесь от CustomLogger и заведите self.total = 0.0 в __init__ (не забудьте super().__init__()). "
        "Стоимость вызова — kwargs['response_cost'].",
        "Нужны два метода: log_success_event (sync completion и стримы) и async def async_log_success_event "
        "(acompletion). Параметры называются ровно kwargs, response_obj, start_time, end_time; "
        "response_cost бывает None (у модели, для которой LiteLLM не знает цены) — такие вызовы пропускайте.",
    ],
    wrong_answers=[SyncOnlyCounter, WrongNamesCounter],
))


# --- 06.2: a guard that refuses calls once the limit is reached ----------------------------

LIMIT = 0.0004  # USD; one check request costs at most about $0.00004
MAX_TOKENS = 40
CONCURRENT = 30


async def _fire(make_guard: Callable[[float], Callable[[str], Awaitable[str]]]) -> list[Any]:
    ask = make_guard(LIMIT)
    expect(callable(ask), "make_guard(limit) должна вернуть функцию ask(prompt).")
    prompts = [f"Проверка 06.2, вопрос {i}: " + "зачем нужен бюджет? " * (i % 5 + 1) for i in range(CONCURRENT)]

    async def one(prompt: str) -> Any:
        result = ask(prompt)
        expect(asyncio.iscoroutine(result), "ask(prompt) должна быть async-функцией (async def).")
        return await result

    return await asyncio.gather(*(one(p) for p in prompts), return_exceptions=True)


def check_guard(make_guard: Any) -> str:
    expect(callable(make_guard), "ожидается функция make_guard(limit), а не значение.")
    results = run_in_thread(lambda: _fire(make_guard))
    for r in results:
        if isinstance(r, (CheckFailed, NotAttempted, NotImplementedError)):
            raise r
    stats = provider().stats()
    spent, sent = stats["cost"], stats["requests"]
    refused = [r for r in results if isinstance(r, Exception)]
    other = [r for r in refused if not isinstance(r, litellm.BudgetExceededError)]
    expect(not other, f"вызов упал не с BudgetExceededError, а с {type(other[0]).__name__ if other else ''}: "
                      f"{other[0] if other else ''}. Отказ — raise litellm.BudgetExceededError(...) "
                      "или BudgetExceeded из course_helpers.budget.")
    expect(spent <= LIMIT + 1e-12,
           f"{CONCURRENT} одновременных запросов потратили ${spent:.6f} при бюджете ${LIMIT:.6f} "
           f"(провайдер получил {sent} запросов). Проверка «потрачено < лимита» перед вызовом не видит "
           "запросы, которые ещё в пути: резервируйте максимальную стоимость до вызова.")
    expect(refused, "ни один запрос не получил отказа, хотя все вместе они не помещаются в бюджет.")
    ok = [r for r in results if not isinstance(r, Exception)]
    expect(len(ok) >= 5, f"прошло только {len(ok)} запросов из {CONCURRENT}, а в бюджет ${LIMIT} помещается "
                         "больше девяти: защита отказывает слишком рано (резерв = токены запроса + max_tokens "
                         "по ценам модели).")
    expect(all(isinstance(r, str) for r in ok), "ask(prompt) должна возвращать текст ответа (str).")
    return (f"из {CONCURRENT} одновременных запросов прошло {len(ok)}, отказано {len(refused)}; "
            f"потрачено ${spent:.6f} из ${LIMIT:.6f}.")


def reference_make_guard(limit: float):
    import litellm

    from course_helpers.practice_data import MODELS, prompt_tokens

    spec = MODELS["openai/gpt-4o-mini"]  # prices of the provider's dated table, USD per 1M tokens
    state = {"spent": 0.0, "reserved": 0.0}

    async def ask(prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        most = (prompt_tokens(messages, spec.encoding) * spec.input_per_m + 40 * spec.output_per_m) / 1e6
        # check and reserve with no await in between: no other task can run here
        if state["spent"] + state["reserved"] + most > limit:
            raise litellm.BudgetExceededError(current_cost=state["spent"], max_budget=limit)
        state["reserved"] += most
        cost = most  # if the outcome is unknown, keep the maximum charged
        try:
            response = await litellm.acompletion(model="openrouter/openai/gpt-4o-mini", messages=messages,
                                                 max_tokens=40)
            cost = response._hidden_params["response_cost"]
            return response.choices[0].message.content
        finally:
            state["reserved"] -= most
            state["spent"] += cost

    return ask


def naive_make_guard(limit: float):
    """Wrong: checks the spend before the call; concurrent calls all pass the check."""
    import litellm

    state = {"spent": 0.0}

    async def ask(prompt: str) -> str:
        if state["spent"] >= limit:
            raise litellm.BudgetExceededError(current_cost=state["spent"], max_budget=limit)
        response = await litellm.acompletion(model="openrouter/openai/gpt-4o-mini",
                                             messages=[{"role": "user", "content": prompt}], max_tokens=40)
        state["spent"] += response._hidden_params["response_cost"]
        return response.choices[0].message.content

    return ask


def refuse_all_make_guard(limit: float):
    """Wrong: never overspends, because it never sends anything."""
    import litellm

    async def ask(prompt: str) -> str:
        raise litellm.BudgetExceededError(current_cost=0.0, max_budget=limit)

    return ask


register(Exercise(
    id="06.2",
    title="Бюджет, который держится под нагрузкой",
    check=check_guard,
    reference=reference_make_guard,
    hints=[
        "Проверка «потрачено < лимита» не видит запросов, которые уже отправлены, но ещё не оплачены. "
        "Перед вызовом резервируйте максимальную стоимость запроса, после — замените резерв настоящей.",
        "Максимум = токены запроса × цена входа + max_tokens × цена выхода; цены и токенизатор — "
        "course_helpers.practice_data.MODELS['openai/gpt-4o-mini'] и prompt_tokens(messages, spec.encoding). "
        "Проверку и резерв делайте без await между ними; отказ — raise litellm.BudgetExceededError(...). "
        "Здесь оценка совпадает со счётом провайдера; онлайн добавьте к ней запас (раздел 6.5).",
    ],
    wrong_answers=[naive_make_guard, refuse_all_make_guard],
))
