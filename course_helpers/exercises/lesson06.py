"""Lesson 06 (budgets): exercises, predictions and quiz.

* 06.1 (debug): a spend counter on ``CustomLogger`` that silently counts nothing. The checker
  calls the learner's methods the way LiteLLM does (by keyword) to name the real mistake —
  wrong parameter names, an exception inside the method (``completion_cost`` cannot price
  OpenRouter models on 1.108.14), a missing async method — then drives real traffic of four
  kinds and compares the total with the practice provider's bill.
* 06.2 (measure): the margin an estimate needs when the tokenizer is not the model's; judged
  against the provider's log on two traffic mixes.
* 06.3 (decide): a day budget for several processes: the learner chooses the per-process
  ``BudgetGuard`` limit and the key's credit limit; the checker runs the processes (waves of
  concurrent calls), restarts them, and judges the key's bill. Two scenarios with other
  numbers (prices, processes, callers) than the lesson's example.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

from course_helpers.budget import CALLBACK_LISTS, BudgetExceeded, BudgetGuard, callbacks_restored, max_cost, \
    restore_callbacks
from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register
from course_helpers.practice_data import prompt_tokens
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

MINI = "openrouter/openai/gpt-4o-mini"
GPT4O = "openrouter/openai/gpt-4o"
SONNET = "openrouter/anthropic/claude-3.5-sonnet"
STORY = [{"role": "user", "content": "Напиши длинный рассказ"}]
STREAM_USAGE = {"include_usage": True}


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


def restore_latency() -> None:
    """Back to the latency the course started with (checks may speed the provider up)."""
    provider().set_latency_scale(float(os.environ.get("COURSE_LATENCY_SCALE", "1")))


# --- predictions ------------------------------------------------------------------------------

register_prediction(Prediction(
    id="06.p1",
    question="litellm.max_budget = 0.002, а каждый вызов стоит около $0.001. Что будет в цикле из пяти вызовов?",
    options=["2-й или 3-й вызов получит BudgetExceededError", "все пять вызовов пройдут"],
    explanation="перед каждым вызовом LiteLLM сравнивает litellm._current_cost с max_budget, но сам счётчик растёт, "
                "только когда результат вызова — словарь с ключом \"content\" (старый текстовый формат). Для chat "
                "completion, acompletion и стримов он остаётся 0.0, и бюджет ничего не ограничивает — в 1.108.14 и в "
                "1.110.2.",
    judge=lambda passed: "все пять вызовов пройдут" if passed == 5 else "2-й или 3-й вызов получит BudgetExceededError",
))

register_prediction(Prediction(
    id="06.p2",
    question="Второй такой же вызов придёт из кэша. Что запишет CostLog за него?",
    options=["ту же стоимость, что за первый", "0.0", "ничего: на попадание в кэш колбэк не вызывается"],
    explanation="попадание в кэш не доходит до провайдера и ничего не стоит: LiteLLM всё равно зовёт колбэк, но с "
                "kwargs[\"response_cost\"] = 0.0 и kwargs[\"cache_hit\"] = True. Счётчик, который складывает "
                "response_cost, считает кэш правильно — бесплатным.",
    judge=lambda event: ("ничего: на попадание в кэш колбэк не вызывается" if event is None else
                         "0.0" if event[0] == 0.0 else "ту же стоимость, что за первый"),
))

register_prediction(Prediction(
    id="06.p3",
    question="Защита «проверить расход → вызвать → прибавить стоимость», лимит $0.003 — около трёх вызовов. "
             "20 запросов приходят одновременно. Сколько из них пройдёт?",
    options=["не больше трёх", "четыре: на один больше лимита", "все 20"],
    explanation="все 20 проверок выполнились раньше, чем пришёл первый ответ: пока запрос в пути, его стоимости нет "
                "ни в одном счётчике, и «потрачено 0 < лимита» видят все. Так же устроены бюджеты Router и "
                "BudgetManager — поэтому под одновременной нагрузкой они бюджет не держат.",
    judge=lambda ok: "не больше трёх" if ok <= 3 else "четыре: на один больше лимита" if ok == 4 else "все 20",
))

register_prediction(Prediction(
    id="06.p4",
    question="Четыре воркера (как четыре процесса сервиса), у каждого своя BudgetGuard(limit=0.004), шлют запросы "
             "волнами, пока их защиты не откажут. Сколько они потратят вместе?",
    options=["не больше $0.004: бюджет один на всех", "около $0.012: каждая защита тратит свой бюджет"],
    explanation="защита живёт в памяти своего процесса и не знает о других: четыре защиты пропустили по три вызова "
                "каждая — втрое больше бюджета одного воркера (по четвёртому не пустил запас 25 %). N процессов с "
                "отдельными защитами тратят до N бюджетов; общий предел держит только тот, кто видит все процессы "
                "сразу, — провайдер.",
    judge=lambda usage: ("около $0.012: каждая защита тратит свой бюджет" if usage > 0.006
                         else "не больше $0.004: бюджет один на всех"),
))


# --- 06.1 (debug): a spend counter that sees every call -----------------------------------------

COUNTER_NAMES = ("kwargs", "response_obj", "start_time", "end_time")


@dataclass
class Event:
    """One success event as LiteLLM delivers it to a CustomLogger."""

    path: str  # "sync" or "async"
    kwargs: dict[str, Any]
    response: Any
    start: Any
    end: Any

    @property
    def cost(self) -> float:
        return float(self.kwargs["response_cost"])

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments LiteLLM passes (it passes them by name)."""
        return dict(zip(COUNTER_NAMES, (self.kwargs, self.response, self.start, self.end)))


class _Recorder(CustomLogger):
    """The checker's own logger: records what LiteLLM passes to the learner's methods."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.events.append(Event("sync", kwargs, response_obj, start_time, end_time))

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.events.append(Event("async", kwargs, response_obj, start_time, end_time))


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Проверка 06.1, запрос {i}: что такое бюджет?" + " Подробнее." * i}]


async def _wait(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _new_logger(answer: Any) -> CustomLogger:
    expect(callable(answer), "ожидается класс-наследник CustomLogger (например, SpendCounter), а не объект "
                             f"{type(answer).__name__}: передайте в check сам класс, без скобок.")
    logger = answer()  # a stub raising NotImplementedError means "not attempted"
    expect(isinstance(logger, CustomLogger),
           f"класс должен наследовать litellm.integrations.custom_logger.CustomLogger; {getattr(answer, '__name__', 'этот класс')} его не "
           "наследует, и LiteLLM не узнает в нём колбэк.")
    try:
        total = logger.total
    except AttributeError:
        raise CheckFailed("у объекта нет атрибута total: заведите self.total = 0.0 в __init__.") from None
    expect(isinstance(total, (int, float)) and not isinstance(total, bool) and total == 0,
           f"новый счётчик должен начинать с total = 0.0, а у него {total!r}.")
    return logger


def _register(*loggers: CustomLogger) -> None:
    """Exactly these loggers, in every list LiteLLM keeps callbacks in (it copies ``litellm.callbacks``
    into its internal lists on the next call, and removing a logger from ``litellm.callbacks`` alone
    leaves it registered)."""
    restore_callbacks({name: [] for name in CALLBACK_LISTS})
    litellm.callbacks = list(loggers)


def _overridden(logger: CustomLogger, name: str) -> bool:
    return getattr(type(logger), name) is not getattr(CustomLogger, name)


async def _capture() -> dict[str, Event]:
    """One sync and one async call with the checker's recorder: real events to probe with."""
    recorder = _Recorder()
    _register(recorder)
    await asyncio.to_thread(lambda: litellm.completion(model=MINI, messages=_messages(0), max_tokens=30))
    await litellm.acompletion(model=MINI, messages=_messages(1), max_tokens=30)
    await GLOBAL_LOGGING_WORKER.flush()
    await _wait(lambda: {e.path for e in recorder.events} >= {"sync", "async"})
    _register()
    return {e.path: e for e in recorder.events}


async def _probe(logger: CustomLogger, name: str, event: Event) -> None:
    """Call one method of the learner's logger exactly as LiteLLM does; name what goes wrong."""
    path = "синхронные вызовы и стримы" if name == "log_success_event" else "вызовы через acompletion"
    if not _overridden(logger, name):
        if name == "async_log_success_event":
            raise CheckFailed("нет метода async_log_success_event: для acompletion LiteLLM зовёт его, а не "
                              "log_success_event, и асинхронные вызовы не посчитаны. Добавьте "
                              "async def async_log_success_event(self, kwargs, response_obj, start_time, end_time).")
        raise CheckFailed("нет метода log_success_event: синхронные вызовы и стримы не посчитаны.")
    before = float(logger.total)
    try:
        result = getattr(logger, name)(**event.arguments())
        if inspect.isawaitable(result):
            if name == "log_success_event":
                result.close()
                raise CheckFailed("log_success_event объявлен как async def: LiteLLM вызывает его без await, и "
                                  "код внутри не выполняется. async нужен только у async_log_success_event.")
            await result
    except TypeError as e:
        if "keyword argument" in str(e) or "positional argument" in str(e):
            raise CheckFailed(f"LiteLLM передаёт аргументы колбэку по имени — {', '.join(COUNTER_NAMES)}, — а "
                              f"{name} их не принимает ({e}). LiteLLM молча пропускает такой метод: "
                              f"{path} не посчитаны. Назовите параметры ровно так.") from None
        raise CheckFailed(_crash_message(name, e, path)) from None
    except CheckFailed:
        raise
    except Exception as e:
        raise CheckFailed(_crash_message(name, e, path)) from None
    added = float(logger.total) - before
    if abs(added - event.cost) > 1e-12:
        if added == 0:
            raise CheckFailed(f"{name} отработал без ошибок, но total не вырос: прибавляйте стоимость вызова — "
                              "kwargs['response_cost'].")
        raise CheckFailed(f"{name} прибавил к total ${added:.8f}, а вызов стоил ${event.cost:.8f} "
                          "(kwargs['response_cost']).")


def _crash_message(name: str, error: Exception, path: str) -> str:
    where = (" Это litellm.completion_cost: на LiteLLM 1.108.14 она не знает цен моделей openrouter/ "
             "(ModelNotMappedError). Стоимость уже посчитана — она в kwargs['response_cost']."
             if type(error).__name__ == "ModelNotMappedError" else "")
    text = str(error).split(" Add it")[0].rstrip(". ")[:160]
    return (f"{name} падает с {type(error).__name__}: {text}. LiteLLM глотает исключения колбэков, "
            f"поэтому {path} просто не посчитаны.{where}")


def _traffic() -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """One call of each kind, in order: (what, coroutine factory)."""
    async def sync_call() -> None:
        await asyncio.to_thread(lambda: litellm.completion(model=MINI, messages=_messages(2), max_tokens=30))

    async def sync_stream() -> None:
        await asyncio.to_thread(lambda: list(litellm.completion(
            model=MINI, messages=_messages(3), max_tokens=30, stream=True, stream_options=STREAM_USAGE)))

    async def async_call() -> None:
        await litellm.acompletion(model=MINI, messages=_messages(4), max_tokens=30)

    async def async_stream() -> None:
        stream = await litellm.acompletion(model=MINI, messages=_messages(5), max_tokens=30, stream=True,
                                           stream_options=STREAM_USAGE)
        async for _ in stream:
            pass

    return [("completion", sync_call), ("потоковый completion", sync_stream), ("acompletion", async_call),
            ("потоковый acompletion", async_stream)]


def check_spend_counter(answer: Any) -> str:
    probe = _new_logger(answer)
    p = provider()

    async def scenario() -> float:
        # async events an earlier event loop left undelivered arrive in the next loop (section 6.2):
        # deliver them before any logger of this check is registered
        await GLOBAL_LOGGING_WORKER.flush()
        events = await _capture()
        await _probe(probe, "log_success_event", events["sync"])
        await _probe(probe, "async_log_success_event", events["async"])
        counter = _new_logger(answer)
        _register(counter)
        total = 0.0
        for what, call in _traffic():
            seen = len(p.log())
            await call()
            await GLOBAL_LOGGING_WORKER.flush()
            billed = sum(e.get("cost", 0.0) for e in p.log()[seen:])
            total += billed
            await _wait(lambda: abs(float(counter.total) - total) <= 1e-12, 2.0)
            await asyncio.sleep(0.05)  # a double count shows up here
            counted = float(counter.total) - (total - billed)
            if abs(counted - billed) > 1e-12:
                raise CheckFailed(f"{what}: посчитано ${counted:.8f}, а провайдер списал ${billed:.8f}"
                                  f"{' — вызов посчитан дважды' if abs(counted - 2 * billed) < 1e-12 else ''}.")
        _register()
        after = float(counter.total)
        await asyncio.to_thread(lambda: litellm.completion(model=MINI, messages=_messages(6), max_tokens=30))
        await GLOBAL_LOGGING_WORKER.flush()
        await asyncio.sleep(0.2)
        expect(float(counter.total) == after,
               "total изменился, когда ваш счётчик уже не был зарегистрирован: считайте только события, которые "
               "LiteLLM передаёт в методы (kwargs['response_cost']), а не статистику провайдера.")
        return total

    with callbacks_restored(clear=True):  # a stale logger of the same class would shadow this one
        total = run_in_thread(scenario)
    return f"счётчик совпал со счётом провайдера: ${total:.8f} за completion, acompletion и два стрима."


class SpendCounter(CustomLogger):
    """Сколько сервис потратил на LLM, в долларах."""

    def __init__(self):
        super().__init__()
        self.total = 0.0
        self._lock = threading.Lock()  # синхронные колбэки LiteLLM идут в фоновых потоках

    def _add(self, kwargs):
        cost = kwargs.get("response_cost")  # уже посчитано LiteLLM; для openrouter/ — usage.cost из ответа
        if cost is not None:  # None — модель без цены: не выдумываем 0
            with self._lock:
                self.total += cost

    # имена параметров — ровно такие: LiteLLM передаёт их по имени
    def log_success_event(self, kwargs, response_obj, start_time, end_time):  # completion и стримы
        self._add(kwargs)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # acompletion
        self._add(kwargs)


class SeedStyleCounter(CustomLogger):
    """The buggy counter the exercise starts from: wrong names, completion_cost, no async method."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kw, response, start, end):
        self.total += litellm.completion_cost(completion_response=response)


class CompletionCostCounter(CustomLogger):
    """Names fixed, still prices with completion_cost (raises for openrouter/ on 1.108.14)."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += litellm.completion_cost(completion_response=response_obj)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += litellm.completion_cost(completion_response=response_obj)


class SyncOnlyCounter(CustomLogger):
    """Misses every acompletion."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs.get("response_cost") or 0.0


register(Exercise(
    id="06.1",
    title="Счётчик расходов, который ничего не считает",
    check=check_spend_counter,
    reference=SpendCounter,
    answer_name="SpendCounter",
    imports="import threading\n\nfrom litellm.integrations.custom_logger import CustomLogger",
    hints=[
        "Запустите check и читайте сообщение: LiteLLM глотает исключения в колбэках, поэтому ошибка видна только "
        "по тому, что total не растёт. Проверка вызывает ваши методы так же, как LiteLLM, и называет, что сломалось.",
        "Три ошибки: параметры должны называться ровно kwargs, response_obj, start_time, end_time (LiteLLM передаёт "
        "их по имени); стоимость уже есть в kwargs['response_cost'] — litellm.completion_cost на 1.108.14 не знает "
        "цен openrouter/; для acompletion нужен async def async_log_success_event с теми же параметрами.",
    ],
    wrong_answers=[SeedStyleCounter, CompletionCostCounter, SyncOnlyCounter],
))


# --- 06.3 (decide): a day budget for several processes --------------------------------------------

@dataclass(frozen=True)
class DayScenario:
    """What the service looks like: the day budget, processes, concurrent callers, one call."""

    day_usd: float
    processes: int
    callers: int
    model: str
    messages: tuple[tuple[tuple[str, str], ...], ...]
    max_tokens: int

    @property
    def chat(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.messages]

    @property
    def call_usd(self) -> float:
        return max_cost(self.model, self.chat, self.max_tokens)


def _scenario(day: float, processes: int, callers: int, model: str, content: str, max_tokens: int) -> DayScenario:
    return DayScenario(day, processes, callers, model, ((("role", "user"), ("content", content)),), max_tokens)


DAY_SCENARIOS = (
    _scenario(0.04, 2, 5, GPT4O, "Напиши длинный рассказ", 100),
    _scenario(0.003, 3, 3, MINI, "Проверка 06.3: перескажи длинный отчёт о расходах подробно.", 60),
)
WAVE_CAP = 60  # safety: a worker stops after this many waves whatever happens


def _plan_values(plan: Any, s: DayScenario) -> tuple[float | None, float | None]:
    try:
        guard_limit, key_limit = plan
    except (TypeError, ValueError):
        raise CheckFailed("budget_plan должна вернуть пару (guard_limit, key_limit).") from None
    if guard_limit is Ellipsis or key_limit is Ellipsis:
        raise NotAttempted("замените `...` в budget_plan своими формулами.")
    for name, value in (("guard_limit", guard_limit), ("key_limit", key_limit)):
        if value is None:
            continue
        expect(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
               f"{name} — число долларов (или None — «без лимита»), а не {value!r}.")
        expect(value > 0, f"{name} = {value:.6f} ≤ 0 при бюджете дня ${s.day_usd} ({s.processes} процесса, "
                          f"{s.callers} одновременных, вызов ≤ ${s.call_usd:.7f}): так сервис не сделает ни одного "
                          "вызова. Проверьте формулу.")
    return guard_limit, key_limit


async def _run_day(s: DayScenario, guard_limit: float | None, key: str, usage: Callable[[], float]) -> list[str]:
    """Every process sends waves of ``callers`` concurrent calls until a whole wave is refused."""
    async def call(guard: BudgetGuard | None) -> str:
        try:
            if guard is None:
                await litellm.acompletion(model=s.model, messages=s.chat, max_tokens=s.max_tokens, api_key=key)
            else:
                await guard.acompletion(model=s.model, messages=s.chat, max_tokens=s.max_tokens, api_key=key)
            return "ok"
        except BudgetExceeded:
            return "refused"
        except litellm.APIError as e:
            return f"status {e.status_code}"

    async def process() -> list[str]:
        guard = None if guard_limit is None else BudgetGuard(limit=guard_limit)
        outcomes: list[str] = []
        for _ in range(WAVE_CAP):
            wave = await asyncio.gather(*(call(guard) for _ in range(s.callers)))
            outcomes += wave
            if "ok" not in wave or usage() > 2 * s.day_usd:
                break
        return outcomes

    return [o for outcomes in await asyncio.gather(*(process() for _ in range(s.processes))) for o in outcomes]


def _judge_day(s: DayScenario, plan: Any) -> float:
    guard_limit, key_limit = _plan_values(plan, s)
    p = provider()
    key = p.create_key(f"06.3 · ${s.day_usd} в день", limit=key_limit)

    def usage() -> float:
        return float(p.key_info(key)["data"]["usage"])

    in_flight = s.processes * s.callers * s.call_usd
    setup = (f"(бюджет дня ${s.day_usd}; процессов: {s.processes}, одновременных запросов в каждом: {s.callers}; "
             f"вызов ≤ ${s.call_usd:.7f}; ваш план: защита в процессе — {_usd(guard_limit)}, лимит ключа — "
             f"{_usd(key_limit)})")
    normal = run_in_thread(lambda: _run_day(s, guard_limit, key, usage))
    day_one = usage()
    rejected = [o for o in normal if o.startswith("status")]
    if day_one > s.day_usd + 1e-12:
        why = ("в процессах нет защиты, и запросы ничто не остановило" if guard_limit is None and key_limit is None
               else f"лимит ключа ${key_limit:.6f} выше бюджета дня" if guard_limit is None
               else f"защиты {s.processes} процессов вместе пропускают до {s.processes} × ${guard_limit:.6f} = "
                    f"${s.processes * guard_limit:.6f}")
        raise CheckFailed(f"ещё до перезапусков счёт ключа ${day_one:.6f} больше бюджета дня: {why} {setup}.")
    if rejected:
        why = ("в процессах нет защиты (guard_limit = None), и отказывает только провайдер"
               if guard_limit is None else
               f"защиты {s.processes} процессов вместе пропускают {s.processes} × ${guard_limit:.6f} = "
               f"${s.processes * guard_limit:.6f}, больше лимита ключа")
        raise CheckFailed(f"при обычной работе пользователи получили {len(rejected)} ошибок {rejected[0]} от "
                          f"провайдера вместо понятного отказа защиты: {why}. Защита в каждом процессе должна "
                          f"отказывать раньше, чем кончится лимит ключа {setup}.")
    expect(day_one >= 0.5 * s.day_usd,
           f"до перезапусков потрачено только ${day_one:.6f} — меньше половины бюджета дня: лимиты осторожнее, "
           f"чем нужно, и бюджет простаивает {setup}.")
    run_in_thread(lambda: _run_day(s, guard_limit, key, usage))  # every process restarts: new guards
    total = usage()
    if total > s.day_usd + 1e-12:
        if key_limit is None:
            raise CheckFailed(f"после перезапуска защиты процессов начали с нуля, и счёт дошёл до ${total:.6f} при "
                              f"бюджете ${s.day_usd}: защита в памяти процесса не переживает перезапуск. Жёсткую "
                              f"границу даёт только кредитный лимит ключа у провайдера {setup}.")
        raise CheckFailed(f"счёт ключа дошёл до ${total:.6f} при бюджете ${s.day_usd} и лимите ключа "
                          f"${key_limit:.6f}: лимит проверяется до вызова, а списание — после ответа, поэтому "
                          f"запросы, которые уже в пути (до {s.processes} × {s.callers} × ${s.call_usd:.7f} = "
                          f"${in_flight:.6f}), проходят сверх лимита. Оставьте под них место {setup}.")
    # The run above overshoots only as far as this machine's timing lets requests overlap: on a busy
    # CPU fewer are in flight at once. The worst case does not depend on timing, so judge it as well.
    if key_limit is not None and key_limit + in_flight > s.day_usd * (1 + 1e-9):
        raise CheckFailed(f"в этот раз счёт ключа остановился на ${total:.6f}, но лимит ключа ${key_limit:.6f} "
                          f"не оставляет места запросам, которые уже в пути: лимит проверяется до вызова, и в "
                          f"худшем случае сверх него пройдут {s.processes} × {s.callers} × ${s.call_usd:.7f} = "
                          f"${in_flight:.6f} — счёт дойдёт до ${key_limit + in_flight:.6f} при бюджете ${s.day_usd} {setup}.")
    return total


def _usd(value: float | None) -> str:
    return "нет" if value is None else f"${value:.6f}"


def check_budget_plan(budget_plan: Any) -> str:
    expect(callable(budget_plan), "ожидается функция budget_plan(day_usd, processes, callers, call_usd).")
    p = provider()
    p.set_latency_scale(0.02)  # short answers that still overlap: the requests of a wave are in flight together
    try:
        totals = []
        for s in DAY_SCENARIOS:
            plan = budget_plan(s.day_usd, s.processes, s.callers, s.call_usd)
            totals.append((s, _judge_day(s, plan)))
    finally:
        restore_latency()
    return "; ".join(f"бюджет ${s.day_usd} (процессов: {s.processes}, одновременных: {s.callers}) — после "
                     f"перезапусков счёт ${total:.6f}" for s, total in totals) \
        + " — ни разу не больше бюджета, без 402 в обычной работе."


def budget_plan(day_usd, processes, callers, call_usd):
    # лимит ключа держит счёт при любых перезапусках, но пропускает запросы, которые уже в пути:
    # их не больше processes × callers, и каждый стоит не больше call_usd
    key_limit = day_usd - processes * callers * call_usd
    # защиты процессов вместе не должны дойти до лимита ключа: тогда в обычной работе 402 не бывает
    guard_limit = key_limit / processes
    return guard_limit, key_limit


def _guards_only(day_usd, processes, callers, call_usd):
    return day_usd / processes, None


def _key_equals_day(day_usd, processes, callers, call_usd):
    return day_usd / processes, day_usd


def _guard_not_divided(day_usd, processes, callers, call_usd):
    key_limit = day_usd - processes * callers * call_usd
    return key_limit, key_limit


register(Exercise(
    id="06.3",
    title="Бюджет дня для нескольких процессов",
    check=check_budget_plan,
    reference=budget_plan,
    answer_name="budget_plan",
    hints=[
        "Защита в процессе даёт понятный отказ, но живёт в его памяти: после перезапуска начинает с нуля. Лимит "
        "ключа у провайдера переживает всё, но проверяется до вызова, а списывает после ответа.",
        "Лимит ключа = бюджет дня − всё, что может быть в пути (processes × callers × call_usd). Защиты всех "
        "процессов вместе не должны дойти до лимита ключа: guard_limit = key_limit / processes.",
    ],
    wrong_answers=[_guards_only, _key_equals_day, _guard_not_divided],
))


# --- 06.2 (measure): the margin an estimate needs ---------------------------------------------------

def gpt4o_estimate(model: str, messages: list[dict[str, Any]], max_tokens: int) -> float:
    """The guard's estimate of lesson 06: every model counted with GPT-4o's tokenizer."""
    return max_cost(model, messages, max_tokens, encoding="o200k_base")


SUPPORT_RU = "Клиент пишет: списали деньги дважды, верните разницу и объясните, почему так вышло. "
COMPLAINT_RU = "Сотрудник просит объяснить, почему счёт за языковые модели вырос втрое за неделю, и что с этим делать. "
MARGIN_MIXES = (
    [[{"role": "user", "content": f"Вопрос {i}: " + COMPLAINT_RU * i}] for i in (2, 4, 6, 8)],
    [[{"role": "user", "content": "Where is my order #%d?" % i + " Please check." * i}] for i in range(1, 4)]
    + [[{"role": "user", "content": f"Жалоба {i}: " + SUPPORT_RU * i}] for i in range(1, 4)],
)
MARGIN_TOKENS = 40


def _margin_truth(log: list[dict[str, Any]], mix: list[list[dict[str, Any]]]) -> tuple[float, float]:
    """(worst, mean) bill/estimate − 1 over the calls, matched to the prompts by prompt size."""
    by_tokens = {prompt_tokens(m, "cl100k_base"): m for m in mix}
    ratios = [e["cost"] / gpt4o_estimate(SONNET, by_tokens[e["prompt_tokens"]], MARGIN_TOKENS) for e in log]
    return max(ratios) - 1, sum(ratios) / len(ratios) - 1


def check_measure_margin(measure_margin: Any) -> str:
    expect(callable(measure_margin), "ожидается функция measure_margin(requests).")
    p = provider()
    p.set_latency_scale(0)  # the bill is the point here, not the time
    found = []
    try:
        for mix in MARGIN_MIXES:
            seen = len(p.log())
            result = measure_margin([[dict(m) for m in messages] for messages in mix])
            log = [e for e in p.log()[seen:] if e["status"] == 200]
            expect(log, "провайдер не получил ни одного запроса: запас меряют на настоящих вызовах — отправьте "
                        "каждый запрос к модели SONNET и сравните response_cost с оценкой.")
            models = {e["model"] for e in log}
            expect(models == {"anthropic/claude-3.5-sonnet"},
                   f"запросы ушли к {sorted(models)}, а трафик переезжает на {SONNET}.")
            expect(len(log) == len(mix), f"провайдер получил {len(log)} запросов, а в requests их {len(mix)}: "
                                         "отправьте каждый ровно один раз.")
            expect(all("max_tokens" in e["request_keys"] and e["completion_tokens"] <= MARGIN_TOKENS for e in log),
                   f"вызовы без max_tokens={MARGIN_TOKENS}: оценка защиты считает ответ в {MARGIN_TOKENS} токенов, "
                   "и вызов должен быть тем же.")
            sizes = [e["prompt_tokens"] for e in log]
            expect(sorted(sizes) == sorted(prompt_tokens(m, "cl100k_base") for m in mix),
                   "отправлены не те запросы, что переданы в requests.")
            worst, mean = _margin_truth(log, mix)
            expect(isinstance(result, (int, float)) and not isinstance(result, bool),
                   f"верните запас числом (например, 0.2 — это +20 %), а не {result!r}.")
            if abs(result - worst) > 0.005:
                raise CheckFailed(_margin_mistake(float(result), worst, mean))
            found.append(worst)
    finally:
        restore_latency()
    return (f"запас по журналу провайдера: {found[0]:.1%} на длинных русских вопросах и {found[1]:.1%} на смешанном "
            "трафике — и ваш замер дал то же. Запас зависит от трафика: меряйте на своём.")


def _margin_mistake(result: float, worst: float, mean: float) -> str:
    if abs(result - mean) <= 0.005 < worst - mean:
        return (f"{result:.3f} — это среднее превышение, а запас нужен на худший вызов ({worst:.3f}): со средним "
                "запасом часть вызовов выходит за резерв.")
    if abs(result / 100 - worst) <= 0.005:
        return f"похоже на проценты ({result:g}): верните долю — {worst:.3f}, а не {worst * 100:.1f}."
    if result < -0.005:
        return (f"отрицательный запас {result:.3f}: отношение перевёрнуто — запас это счёт / оценка − 1, а не "
                "оценка / счёт − 1.")
    if abs(result) <= 0.005:
        return (f"запас 0: оценка совпала со счётом — значит, вы считали токены токенизатором самой модели. Защита "
                f"считает токенизатором GPT-4o: max_cost(SONNET, messages, {MARGIN_TOKENS}, encoding=\"o200k_base\").")
    return f"ваш запас {result:.3f}, а по журналу провайдера худший вызов дороже оценки на {worst:.3f}."


def measure_margin(requests):
    import litellm

    from course_helpers.budget import max_cost

    sonnet = "openrouter/anthropic/claude-3.5-sonnet"
    ratios = []
    for messages in requests:
        response = litellm.completion(model=sonnet, messages=messages, max_tokens=40)
        estimate = max_cost(sonnet, messages, 40, encoding="o200k_base")  # так считает защита
        ratios.append(response._hidden_params["response_cost"] / estimate)
    return max(ratios) - 1  # худший вызов: запас должен покрыть и его


def _mean_margin(requests):
    ratios = []
    for messages in requests:
        response = litellm.completion(model=SONNET, messages=messages, max_tokens=40)
        ratios.append(response._hidden_params["response_cost"] / gpt4o_estimate(SONNET, messages, 40))
    return sum(ratios) / len(ratios) - 1


def _own_tokenizer_margin(requests):
    ratios = []
    for messages in requests:
        response = litellm.completion(model=SONNET, messages=messages, max_tokens=40)
        ratios.append(response._hidden_params["response_cost"] / max_cost(SONNET, messages, 40))
    return max(ratios) - 1


def _inverted_margin(requests):
    ratios = []
    for messages in requests:
        response = litellm.completion(model=SONNET, messages=messages, max_tokens=40)
        ratios.append(gpt4o_estimate(SONNET, messages, 40) / response._hidden_params["response_cost"])
    return max(ratios) - 1


register(Exercise(
    id="06.2",
    title="Какой запас нужен оценке",
    check=check_measure_margin,
    reference=measure_margin,
    answer_name="measure_margin",
    hints=[
        "Для каждого запроса: ответ r = litellm.completion(model=SONNET, messages=..., max_tokens=40), счёт — "
        "r._hidden_params['response_cost'], оценка защиты — max_cost(SONNET, messages, 40, encoding='o200k_base').",
        "Запас — на худший вызов: max(счёт / оценка) − 1, долей (0.2 = +20 %). Среднее не годится: вызовы дороже "
        "среднего выйдут за свой резерв.",
    ],
    wrong_answers=[_mean_margin, _own_tokenizer_margin, _inverted_margin],
))


# --- quiz -----------------------------------------------------------------------------------------

register_question(Question(
    id="06.q1",
    text="Что делает litellm.max_budget = 10.0 на LiteLLM 1.108.14 для вызовов chat completion?",
    options=["останавливает вызовы с BudgetExceededError, когда расход дойдёт до $10",
             "ничего не ограничивает: счётчик расхода для них не растёт",
             "ограничивает только асинхронные вызовы"],
    correct=1,
    explanation="LiteLLM сравнивает litellm._current_cost с max_budget, но счётчик растёт только для результатов-"
                "словарей с ключом \"content\"; для chat completion, acompletion и стримов он остаётся 0.0.",
))
register_question(Question(
    id="06.q2",
    text="Какой метод CustomLogger LiteLLM вызывает после успешного litellm.acompletion?",
    options=["log_success_event", "async_log_success_event", "оба"],
    correct=1,
    explanation="для acompletion — async_log_success_event, для completion и синхронных стримов — "
                "log_success_event. Счётчику нужны оба, с параметрами ровно kwargs, response_obj, start_time, end_time.",
))
register_question(Question(
    id="06.q3",
    text="Сколько долларов стоит попадание в кэш? Введите kwargs[\"response_cost\"], который получит колбэк.",
    correct=0.0,
    tolerance=0.0,
    explanation="попадание не доходит до провайдера: response_cost = 0.0, а kwargs[\"cache_hit\"] = True.",
))
register_question(Question(
    id="06.q4",
    text="Сервис работает в четырёх процессах, в каждом BudgetGuard(limit=1.0). Сколько долларов сервис может "
         "потратить в худшем случае (без лимита ключа)?",
    correct=4.0,
    tolerance=0.0,
    explanation="защита держит бюджет своего процесса и не знает о других: N процессов — до N бюджетов, здесь $4. "
                "Общий предел — кредитный лимит ключа у провайдера.",
))
register_question(Question(
    id="06.q5",
    text="Бюджет развёртывания Router (max_budget + budget_duration) исчерпан. Что получит await router.acompletion(...)?",
    options=["litellm.BudgetExceededError", "ValueError «No deployments available - crossed budget»",
             "ответ — бюджеты Router проверяются только после вызова"],
    correct=1,
    explanation="Router отказывает обычным ValueError (не BudgetExceededError), и только в асинхронных вызовах; "
                "к тому же перерасход — около одного вызова, а одновременные запросы проходят все.",
))
register_question(Question(
    id="06.q6",
    text="Что держит общий бюджет при любом числе процессов и перезапусков?",
    options=["BudgetGuard с большим запасом", "litellm.max_budget",
             "кредитный лимит ключа у провайдера (после него — 402)"],
    correct=2,
    explanation="лимит ключа видит весь трафик ключа. Он проверяется до вызова, а списывает после ответа, поэтому "
                "сверх лимита проходят только запросы, которые уже были в пути.",
))
register_question(Question(
    id="06.q7",
    text="Функция в litellm.success_callback и потоковый ответ (stream=True): сколько раз она будет вызвана?",
    options=["один раз, в конце стрима", "на каждый кусок стрима с response_cost=None и ещё раз в конце со стоимостью",
             "ни разу: функции работают только без stream"],
    correct=1,
    explanation="функция-колбэк вызывается на каждый кусок с response_cost=None и в конце — со стоимостью; при "
                "сложении пропускайте None. CustomLogger.log_success_event вызывается один раз на стрим.",
))
