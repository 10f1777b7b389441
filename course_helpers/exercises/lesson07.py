"""Lesson 07 (the practical task): the seed's five steps, the learner's measurement and figure.

Core: 07.1 disk cache, 07.2 primary + fallbacks, 07.3 the same request twice, timed, 07.4 is the
speed-up the cache's, 07.5 (debug) the seed's step 5 made to prove a fallback, 07.6 (measure)
the learner's own measurement of cached vs uncached latency, 07.7 (measure) the learner's figure.
Extensions: 07.8 a Router with two deployments and a fallback group, 07.9 a budget guard.

Every checker judges behaviour: it runs the learner's function against the practice provider
(a fresh cache folder where it matters), reads the responses (``_hidden_params``), what LiteLLM
itself saw (a logger of the checker's: every network request, every finished call with its
``cache_hit`` and duration) and the provider's log, and restores ``litellm.cache`` and the
callbacks afterwards. The figure is judged by :mod:`course_helpers.figure_check`.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import litellm
from litellm.caching.caching import LiteLLMCacheType
from litellm.integrations.custom_logger import CustomLogger
from matplotlib.figure import Figure

from course_helpers.budget import callbacks_restored, max_cost
from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register
from course_helpers.figure_check import FigureProblem, inspect_latency_figure
from course_helpers.measure import is_cache_hit, timed
from course_helpers.practice_data import answer_for, resolve_model
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question
from course_helpers.session import current_course

CHECK_MODEL = "openrouter/openai/gpt-4o-mini"
MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]  # the references' MODELS
# Kinds of a measurement record (exercise 07.6); the lesson's setup cell defines the same names.
UNCACHED, CACHED, FRESH = "без кэша", "из кэша", "новый процесс"


# --- helpers of the checkers ---------------------------------------------------------------

def _restore_cache(saved: Any) -> None:
    litellm.disable_cache()
    if saved is not None:
        litellm.cache = saved
        litellm.enable_cache()  # cache already set: only re-registers the "cache" callbacks


@contextmanager
def no_cache() -> Iterator[None]:
    """Run with ``litellm.cache`` off; the learner's cache comes back afterwards."""
    saved = litellm.cache
    litellm.disable_cache()
    try:
        yield
    finally:
        _restore_cache(saved)


@contextmanager
def fresh_disk_cache(name: str, warm_up: bool = False) -> Iterator[Any]:
    """Run with a disk cache in an empty folder ``course.fresh_dir(name)``; restore afterwards.

    ``warm_up``: pay the first-hit lazy-import cost of this process first (a miss and a hit
    on a prompt of its own, then the provider is reset), so that it does not distort timings.
    """
    saved = litellm.cache
    litellm.disable_cache()
    directory = current_course().fresh_dir(name)
    try:
        litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))
        if warm_up:
            for _ in range(2):
                litellm.completion(model=CHECK_MODEL, messages=messages("Прогрев кэша перед проверкой"))
            provider().reset()
        yield directory
    finally:
        _restore_cache(saved)


@dataclass
class Call:
    """One finished LiteLLM call, as LiteLLM reported it to the checker's logger."""

    prompt: str
    cache_hit: bool
    ms: float


class CallSpy(CustomLogger):
    """The checker's logger: every request LiteLLM sends over the network, every finished call."""

    def __init__(self) -> None:
        super().__init__()
        self.network: list[tuple[str, str]] = []  # (provider's model id, prompt)
        self.calls: list[Call] = []

    def log_pre_api_call(self, model, messages, kwargs):  # noqa: ANN001 - LiteLLM's signature
        self.network.append((canonical(str(model)), prompt_of(messages)))

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.calls.append(Call(prompt_of(kwargs.get("messages")), kwargs.get("cache_hit") is True,
                               (end_time - start_time).total_seconds() * 1000))

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.log_success_event(kwargs, response_obj, start_time, end_time)


@contextmanager
def call_spy() -> Iterator[CallSpy]:
    """The checker's logger next to the learner's callbacks; every callback list restored afterwards."""
    spy = CallSpy()
    with callbacks_restored():
        litellm.callbacks = [*litellm.callbacks, spy]
        yield spy


def prompt_of(chat: Any) -> str:
    try:
        return str(chat[-1]["content"])
    except (TypeError, IndexError, KeyError):
        return ""


def canonical(model: str) -> str:
    """Provider's id of a model string: ``openrouter/openai/gpt-4o-mini`` -> ``openai/gpt-4o-mini``."""
    name = model.removeprefix("openrouter/")
    spec = resolve_model(name) or resolve_model(name.removeprefix("openai/"))
    return spec.name if spec else name


def messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def text_of(response: Any) -> str:
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        raise CheckFailed(f"ожидался ответ LiteLLM (ModelResponse), а пришло {type(response).__name__}.") from None


def attempted_fallbacks(response: Any) -> int:
    headers = getattr(response, "_hidden_params", {}).get("additional_headers") or {}
    return int(headers.get("x-litellm-attempted-fallbacks") or 0)


def _call_or_fail(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run the learner's function; a LiteLLM error becomes a Russian CheckFailed."""
    try:
        return fn(*args)
    except (NotImplementedError, NotAttempted, CheckFailed):
        raise
    except Exception as e:
        raise CheckFailed(f"{what}: вызов упал с {type(e).__name__} "
                          f"(status_code={getattr(e, 'status_code', None)}).") from None


def _wait_for_calls(spy: CallSpy, count: int, idle_s: float = 5.0, limit_s: float = 60.0) -> None:
    """Success callbacks of sync calls run in LiteLLM's worker threads and come late on a busy machine:
    wait until ``count`` have come, as long as they keep coming (none for ``idle_s``: stop; ``limit_s`` at
    most). A fixed deadline could cut a slow trickle short and blame the learner for calls LiteLLM made."""
    start = last = time.monotonic()
    seen = len(spy.calls)
    while len(spy.calls) < count:
        now = time.monotonic()
        if len(spy.calls) > seen:
            seen, last = len(spy.calls), now
        elif now - last > idle_s or now - start > limit_s:
            return
        time.sleep(0.02)


# --- predictions ---------------------------------------------------------------------------------

register_prediction(Prediction(
    id="07.p1",
    question="В ядре уже включён кэш в памяти (litellm.enable_cache()). Вызываем "
             "litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...). Какой кэш будет работать?",
    options=["дисковый: DiskCache", "прежний, в памяти: InMemoryCache"],
    explanation="enable_cache создаёт кэш, только если litellm.cache ещё None; если кэш уже есть, вызов молча "
                "ничего не меняет — ни ошибки, ни предупреждения. Перед включением другого кэша — "
                "litellm.disable_cache() (или litellm.cache = Cache(...), как делает setup_caching проекта).",
    judge=lambda kind: "дисковый: DiskCache" if kind == "DiskCache" else "прежний, в памяти: InMemoryCache",
))

register_prediction(Prediction(
    id="07.p2",
    question="Что вернёт r._hidden_params.get('cache_hit') у ответа, который пришёл от модели (промах)?",
    options=["False", "None"],
    explanation="у промаха ключа cache_hit в _hidden_params нет вовсе, и .get('cache_hit') даёт None — не False; "
                "True — только у попадания. Поэтому проверка `cache_hit is not False` принимает промах за попадание; "
                "надёжно — `.get('cache_hit') is True`.",
    judge=str,
))

register_prediction(Prediction(
    id="07.p3",
    question="Шаг 5 исходного урока: litellm.completion(model='несуществующая-модель', ...). Сколько запросов "
             "получит провайдер и ответит ли резервная модель?",
    options=["2: основная откажет, ответит резервная", "1: основная откажет, резервной в коде нет",
             "0: ошибка ещё до сети, резервная не вызывается"],
    explanation="LiteLLM не знает, какому провайдеру отправить «несуществующая-модель», и бросает "
                "BadRequestError («LLM Provider NOT provided») ещё до сети: провайдер не получает ни одного "
                "запроса, а резервная модель в этом коде не вызывается вовсе. Шаг печатает ошибку и ничего не "
                "доказывает.",
    judge=lambda requests: {0: "0: ошибка ещё до сети, резервная не вызывается",
                            1: "1: основная откажет, резервной в коде нет"}.get(requests,
                                                                                "2: основная откажет, ответит резервная"),
))

register_prediction(Prediction(
    id="07.p4",
    question="Основная модель лежит, запрос с резервными моделями проходит через дисковый кэш. Потом основная "
             "ожила, и тот же запрос идёт к основной без резервных. Кто ответит?",
    options=["основная модель", "резервная — её ответ из кэша"],
    explanation="после переключения на резервную LiteLLM кладёт ответ резервной модели в кэш под ключом запроса к основной "
                "(fallbacks в ключ не входят). Сбой давно кончился, а кэш отвечает за основную резервной — на "
                "диске без срока годности. И наоборот: если ответ основной уже лежит в кэше, во время сбоя её "
                "даже не спросят, и «проверка резервной модели» ничего не проверит. Для проверок — "
                "cache={'no-cache': True, 'no-store': True}; caching=False не спасает: ответ всё равно "
                "записывается.",
    judge=lambda model: "основная модель" if model == "openai/gpt-4o-mini" else "резервная — её ответ из кэша",
))


# --- 07.1 disk cache -------------------------------------------------------------------------

def setup_disk_cache(directory):
    import litellm
    from litellm.caching.caching import LiteLLMCacheType

    litellm.disable_cache()  # enable_cache молча ничего не меняет, если кэш уже включён
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))


def check_setup_disk_cache(fn: Callable[[Any], Any]) -> str:
    expect(callable(fn), "ожидается функция setup_disk_cache(directory).")
    saved = litellm.cache
    litellm.disable_cache()
    directory = current_course().fresh_dir("check-07.1")
    try:
        litellm.enable_cache()  # a cache is already on, as in a running service
        before = litellm.cache
        fn(directory)
        cache = litellm.cache
        expect(cache is not None, "после вызова litellm.cache is None: кэш не включён (litellm.enable_cache).")
        expect(cache is not before,
               "работает прежний кэш в памяти: проверка включила его до вашей функции, а enable_cache молча "
               "ничего не меняет, если кэш уже есть. Сначала litellm.disable_cache().")
        kind = type(cache.cache).__name__
        expect(kind == "DiskCache", f"включён кэш {kind}, а нужен дисковый: type=LiteLLMCacheType.DISK.")
        expect((directory / "cache.db").exists(), "в переданной папке нет cache.db: кэш пишет в другое место. "
                                                  "Передайте её как disk_cache_dir=str(directory).")
        prompt = "Проверка задания 07.1: дисковый кэш"
        first = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        second = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        expect(not is_cache_hit(first), "первый запрос уже оказался в кэше, хотя папка была пустой.")
        expect(is_cache_hit(second), "повтор того же запроса не попал в кэш (_hidden_params.get('cache_hit') не True).")
        expect(provider().requests() == 1, f"провайдер получил {provider().requests()} запроса(ов), а должен 1: "
                                           "повтор обязан прийти из кэша.")
    finally:
        _restore_cache(saved)
    return "дисковый кэш включён в нужной папке, даже поверх прежнего: повтор пришёл из cache.db."


register(Exercise(
    id="07.1",
    title="Шаг 1: кэш на диске",
    check=check_setup_disk_cache,
    reference=setup_disk_cache,
    answer_name="setup_disk_cache",
    hints=[
        "Нужен litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...); LiteLLMCacheType — из "
        "litellm.caching.caching (он уже импортирован в начале урока).",
        "Передайте папку как disk_cache_dir=str(directory). Проверка включает кэш в памяти до вашей функции: "
        "enable_cache его молча оставит — сначала litellm.disable_cache().",
    ],
    wrong_answers=[
        lambda directory: None,  # nothing enabled
        lambda directory: litellm.enable_cache(  # the old cache silently stays
            type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory)),
        lambda directory: (litellm.disable_cache(), litellm.enable_cache(  # another folder
            type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory / "elsewhere"))),
    ],
))


# --- 07.2 primary + fallbacks ----------------------------------------------------------------

def ask(prompt, **kwargs):
    import litellm

    return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:],
                              messages=[{"role": "user", "content": prompt}], **kwargs)


def check_ask(fn: Callable[..., Any]) -> str:
    expect(callable(fn), "ожидается функция ask(prompt, **kwargs).")
    with no_cache():
        prompt = "Проверка задания 07.2: основная модель"
        response = fn(prompt)
        log = provider().log()
        expect(len(log) == 1 and log[0]["status"] == 200,
               f"при здоровой основной модели провайдер получил {len(log)} запрос(ов) "
               f"{[e['status'] for e in log]}; ожидался один успешный — к основной модели.")
        primary = log[0]["model"]
        expect(canonical(getattr(response, "model", "")) == primary and attempted_fallbacks(response) == 0,
               "при здоровой основной модели ответить должна она сама, без переключения на резервную.")
        expect(text_of(response) == answer_for(prompt), "ask вернула ответ не на тот запрос: передайте prompt.")
        provider().fail(primary, 503)  # outage of the primary model
        try:
            prompt = "Проверка задания 07.2: основная недоступна"
            response = _call_or_fail(f"основная модель {primary} недоступна (503), а ask не справилась — "
                                     "резервная модель не подключена (fallbacks=MODELS[1:]) или это та же модель, "
                                     "или она не существует", fn, prompt)
        finally:
            provider().clear_faults()
        answered = canonical(getattr(response, "model", ""))
        fallback_ok = [e for e in provider().log()[1:] if e["status"] == 200]
        expect(answered != primary and fallback_ok and fallback_ok[-1]["model"] == answered,
               f"при сбое основной ответ должен прийти от другой модели, а r.model = {response.model!r}.")
        expect(attempted_fallbacks(response) >= 1,
               "в ответе нет x-litellm-attempted-fallbacks ≥ 1: на резервную переключились не средствами LiteLLM (fallbacks=...).")
    return f"основная {primary} отвечает сама, а при её сбое ответила резервная {answered}."


register(Exercise(
    id="07.2",
    title="Шаг 2: основная и резервные модели",
    check=check_ask,
    reference=ask,
    answer_name="ask",
    imports='import litellm\n\nMODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]',
    hints=[
        "MODELS = [основная, резервная, ...]; в ask вызовите litellm.completion(model=MODELS[0], "
        "fallbacks=MODELS[1:], messages=..., **kwargs).",
        "Резервная модель должна быть ДРУГОЙ моделью: openrouter/openai/gpt-4o-mini и openai/gpt-4o-mini — "
        "одна и та же модель у провайдера, её сбой ударит по обеим. Несуществующая модель тоже не спасёт.",
    ],
    wrong_answers=[
        lambda prompt, **kw: litellm.completion(  # no fallbacks at all
            model="openrouter/openai/gpt-4o-mini", messages=messages(prompt), **kw),
        lambda prompt, **kw: litellm.completion(  # the "fallback" is the same model
            model="openrouter/openai/gpt-4o-mini", fallbacks=["openrouter/openai/gpt-4o-mini"],
            messages=messages(prompt), **kw),
        lambda prompt, **kw: litellm.completion(  # the seed's nonexistent model as the fallback
            model="openrouter/openai/gpt-4o-mini", fallbacks=["несуществующая-модель"],
            messages=messages(prompt), **kw),
    ],
))


# --- 07.3 the same request twice, timed ----------------------------------------------------------

def send_twice(prompt):
    import time

    import litellm

    results = []
    for _ in range(2):
        start = time.perf_counter()
        response = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                      messages=[{"role": "user", "content": prompt}])
        results.append((response, time.perf_counter() - start))
    return results[0], results[1]


def _pairs(result: Any) -> tuple[tuple[Any, float], tuple[Any, float]]:
    try:
        (r1, s1), (r2, s2) = result
    except (TypeError, ValueError):
        raise CheckFailed("верните два кортежа: (ответ1, секунды1), (ответ2, секунды2).") from None
    for s in (s1, s2):
        expect(isinstance(s, (int, float)) and not isinstance(s, bool), "время — число секунд (float).")
    return (r1, float(s1)), (r2, float(s2))


def check_send_twice(fn: Callable[[str], Any]) -> str:
    expect(callable(fn), "ожидается функция send_twice(prompt).")
    with fresh_disk_cache("check-07.3", warm_up=True):
        prompt = "Проверка задания 07.3: один и тот же запрос дважды"
        result, wall_ms = timed(fn, prompt)
        (r1, s1), (r2, s2) = _pairs(result)
        log = provider().log()
        expect(len(log) != 0, "ни один запрос не дошёл до модели: оба ответа из кэша? Первый должен уйти к модели.")
        expect(len(log) == 1, f"до модели дошло {len(log)} запроса(ов), а должен 1: второй обязан прийти из кэша "
                              "(тот же model, те же messages, без cache={'no-cache': True}).")
        expect(not is_cache_hit(r1) and is_cache_hit(r2),
               "первый ответ должен быть промахом, второй — попаданием (_hidden_params.get('cache_hit') is True).")
        expect(text_of(r1) == text_of(r2) == answer_for(prompt), "ответы не на переданный prompt.")
        expect(s1 > 0 and s2 > 0, "время каждого запроса должно быть измерено (больше нуля).")
        expect(s1 + s2 <= wall_ms / 1000 + 0.05,
               f"сумма времён {s1 + s2:.3f} больше, чем длилась вся функция ({wall_ms / 1000:.3f}): "
               "время в секундах? каждый запрос замерен отдельно?")
        server_s = log[0].get("latency_ms", 0) / 1000
        expect(s1 >= 0.9 * server_s, "первое время меньше, чем модель готовила ответ: секундомер не охватывает "
                                     "вызов (так выглядит и один секундомер на два вызова, поделённый пополам).")
        expect(s2 < s1, "второй запрос (из кэша) не быстрее первого: проверьте, что замеряете каждый вызов.")
    return "первый запрос ушёл к модели, второй пришёл из кэша; оба времени измерены честно."


register(Exercise(
    id="07.3",
    title="Шаг 3: один запрос дважды, с замером",
    check=check_send_twice,
    reference=send_twice,
    answer_name="send_twice",
    hints=[
        "Засеките time.perf_counter() до и после каждого litellm.completion(...) с одинаковыми model и messages.",
        "Верните ((ответ1, секунды1), (ответ2, секунды2)). Не передавайте cache={'no-cache': True}: "
        "второй запрос должен прочитать кэш.",
    ],
    wrong_answers=[
        lambda prompt: tuple((litellm.completion(model=CHECK_MODEL, messages=messages(prompt)), 0.0)
                             for _ in range(2)),  # nothing measured
        lambda prompt: tuple((litellm.completion(model=CHECK_MODEL, messages=messages(f"{prompt} #{i}")), 0.5)
                             for i in range(2)),  # two different requests
        lambda prompt: tuple((litellm.completion(model=CHECK_MODEL, messages=messages(prompt),
                                                 cache={"no-cache": True}), 0.5) for _ in range(2)),  # cache skipped
    ],
))


# --- 07.4 is the speed-up the cache? --------------------------------------------------------------

def cache_explains_speedup(first, second, provider_requests):
    (r1, s1), (r2, s2) = first, second
    return (s2 < s1                                             # второй быстрее
            and r1._hidden_params.get("cache_hit") is not True  # первый — к модели (у промаха None)
            and r2._hidden_params.get("cache_hit") is True      # второй — из кэша
            and provider_requests == 1)                         # и модель получила один запрос


def _timed_call(prompt: str, **kwargs: Any) -> tuple[Any, float]:
    response, ms = timed(litellm.completion, model=CHECK_MODEL, messages=messages(prompt), **kwargs)
    return response, ms / 1000


def _verdict(fn: Callable[..., Any], first: Any, second: Any, requests: int) -> bool:
    answer = fn(first, second, requests)
    expect(isinstance(answer, bool), f"функция должна вернуть True или False, а вернула {answer!r}.")
    return answer


def check_cache_explains_speedup(fn: Callable[..., Any]) -> str:
    expect(callable(fn), "ожидается функция cache_explains_speedup(first, second, provider_requests).")
    p = provider()
    with fresh_disk_cache("check-07.4", warm_up=True):
        cached_prompt = "Проверка задания 07.4: кэш"
        n0 = p.requests()
        honest = _timed_call(cached_prompt), _timed_call(cached_prompt)
        expect(_verdict(fn, *honest, p.requests() - n0) is True,
               "случай «промах, затем попадание, 1 запрос к модели, второй быстрее» — это ускорение из-за кэша, "
               "а функция ответила False.")
        (miss, _), (hit, _) = honest
        expect(_verdict(fn, (miss, 0.100), (hit, 0.240), 1) is False,
               "второй ответ из кэша, но он МЕДЛЕННЕЕ первого (так бывает с первым попаданием в процессе: ленивые "
               "импорты стоят ~200 мс, а быстрая модель отвечает за 100) — ускорения нет, а функция ответила "
               "True. Сравните и время.")
        n0 = p.requests()
        (hit1, _), (hit2, _) = _timed_call(cached_prompt), _timed_call(cached_prompt)
        # the times are set so that the second is faster: only cache_hit and the count can say no
        expect(_verdict(fn, (hit1, 0.002), (hit2, 0.001), p.requests() - n0) is False,
               "оба запроса пришли из кэша (0 запросов к модели): первый не был «без кэша», сравнивать нечего — "
               "а функция ответила True. Так бывает, если кэш на диске остался от прошлого запуска.")
        n0 = p.requests()
        (hit, _), (new, _) = _timed_call(cached_prompt), _timed_call("Проверка задания 07.4: новый запрос")
        expect(_verdict(fn, (hit, 0.300), (new, 0.200), p.requests() - n0) is False,
               "первый ответ из кэша, второй — от модели (1 запрос), а функция ответила True: "
               "смотрите на cache_hit каждого ответа, а не только на число запросов.")
    with no_cache():
        model_id = canonical(CHECK_MODEL)
        n0 = p.requests()
        first = _timed_call("Проверка задания 07.4: без кэша")
        p.set_latency(model_id, base_ms=0, per_token_ms=0)  # the second call is faster, but not thanks to a cache
        second = _timed_call("Проверка задания 07.4: без кэша")
        requests = p.requests() - n0
        p.reset()
        expect(second[1] < first[1], "внутренняя ошибка проверки: второй вызов без кэша оказался не быстрее.")
        expect(_verdict(fn, first, second, requests) is False,
               "кэш выключен, оба запроса дошли до модели, второй быстрее просто так — а функция ответила "
               "True. Быстрее ≠ из кэша: проверьте _hidden_params.get('cache_hit') is True.")
        expect(_verdict(fn, first, second, 1) is False,
               "счётчик насчитал 1 запрос (он считал только одну модель), второй ответ быстрее, но у обоих "
               "cache_hit не True — а функция ответила True. Одного счётчика мало: второй ответ должен быть "
               "попаданием (cache_hit is True).")
    return ("функция отличает ускорение из-за кэша от совпадения: смотрит на время, cache_hit обоих ответов "
            "и число запросов к модели.")


register(Exercise(
    id="07.4",
    title="Шаг 4: ускорение — из-за кэша?",
    check=check_cache_explains_speedup,
    reference=cache_explains_speedup,
    answer_name="cache_explains_speedup",
    hints=[
        "Одного «второй быстрее» мало, одного cache_hit и одного счётчика — тоже. Нужны три факта сразу: "
        "время, cache_hit обоих ответов и число запросов, дошедших до модели.",
        "У промаха _hidden_params.get('cache_hit') даёт None (не False!), у попадания — True. Верните "
        "s2 < s1 and первый-не-попадание and второй-попадание and provider_requests == 1.",
    ],
    wrong_answers=[
        lambda first, second, n: second[1] < first[1],  # faster only
        lambda first, second, n: (first[0]._hidden_params.get("cache_hit") is not True  # timing ignored
                                  and second[0]._hidden_params.get("cache_hit") is True and n == 1),
        lambda first, second, n: second[1] < first[1] and n == 1,  # cache_hit ignored
        lambda first, second, n: (second[0]._hidden_params.get("cache_hit") is not False  # the None trap
                                  and second[1] < first[1]),
    ],
))


# --- 07.5 (debug) the primary fails on purpose, the fallback answers -------------------------------

def break_primary_and_ask(prompt):
    import litellm

    from course_helpers.session import current_course

    provider = current_course().provider  # в ноутбуке это course.provider
    primary, *fallbacks = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]  # MODELS
    provider.fail(primary.removeprefix("openrouter/"), 503, times=1)  # основная по-настоящему откажет один раз
    return litellm.completion(
        model=primary, fallbacks=fallbacks, messages=[{"role": "user", "content": prompt}],
        cache={"no-cache": True, "no-store": True},  # кэш не должен ни спрятать сбой, ни запомнить ответ резервной
    )


def _generation(response: Any) -> int | None:
    """The provider's log number of the call that produced ``response`` (its ``gen-practice-N`` id)."""
    rid = str(getattr(response, "id", ""))
    return int(rid.rsplit("-", 1)[1]) if rid.startswith("gen-practice-") and rid.rsplit("-", 1)[1].isdigit() else None


def _judge_fallback(fn: Callable[[str], Any], prompt: str) -> tuple[Any, str, str]:
    """Run the learner's function once; return (response, primary id, answering model id)."""
    p = provider()
    seen = len(p.log())
    with call_spy() as spy:
        try:
            response = fn(prompt)
        except (NotImplementedError, NotAttempted, CheckFailed):
            raise
        except Exception as e:
            expect(bool(spy.network), f"вызов упал с {type(e).__name__}, и до провайдера не дошло ни одного запроса: "
                                      "несуществующая модель падает ещё до сети, резервная не вызывается.")
            raise CheckFailed(f"ни одна модель не ответила: вызов упал с {type(e).__name__} "
                              f"(status_code={getattr(e, 'status_code', None)}).") from None
    if is_cache_hit(response):
        raise CheckFailed("ответ пришёл из кэша (cache_hit is True): основную модель даже не спросили, сбоя не было. "
                          "Передайте cache={'no-cache': True, 'no-store': True}.")
    expect(bool(spy.network), "до провайдера не дошло ни одного запроса: несуществующая модель падает ещё до сети "
                              "(BadRequestError), и резервная модель не вызывается. Сломайте основную модель через "
                              "провайдер — course.provider.fail(...), неверный ключ или лимит запросов — и вызовите "
                              "её с fallbacks.")
    text_of(response)
    log = p.log()[seen:]
    number = _generation(response)
    answer_entry = next((e for e in log if e.get("n") == number), None)
    expect(answer_entry is not None and answer_entry["status"] == 200,
           "ответ пришёл не от практического провайдера в этой проверке.")
    answered = answer_entry["model"]
    before = [e for e in log if e["n"] < number]
    expect(bool(before) and before[-1]["status"] != 200 and before[-1]["model"] != answered,
           f"перед ответом {answered} провайдер не получил отказа основной модели: она ответила сама или её не "
           "спросили. Сломайте основную через провайдер (fail / неверный ключ / лимит — и израсходуйте его "
           "запросом с no-cache), а не несуществующим именем.")
    primary = before[-1]["model"]
    expect(attempted_fallbacks(response) >= 1,
           "нет x-litellm-attempted-fallbacks ≥ 1: резервную модель вызвали вручную, а не через fallbacks=.")
    expect(text_of(response) == answer_for(prompt), "ответ не на переданный prompt.")
    return response, primary, answered


def check_break_primary_and_ask(fn: Callable[[str], Any]) -> str:
    expect(callable(fn), "ожидается функция break_primary_and_ask(prompt).")
    p = provider()
    prompt = "Проверка задания 07.5: резервная модель"
    try:
        with fresh_disk_cache("check-07.5"):
            response, primary, answered = _judge_fallback(fn, prompt)
            primary_model = response._hidden_params.get("litellm_model_name") or primary
            p.reset()  # the outage is over
            after = litellm.completion(model=primary_model, messages=messages(prompt))
            expect(not (is_cache_hit(after) and canonical(after.model) == answered),
                   f"сбой кончился, а кэш отдаёт на запрос к основной модели ответ резервной ({answered}): "
                   "ответ резервной модели записан под ключом основной. Добавьте 'no-store': True.")
            # now the primary's own answer is cached: the demonstration must not be fooled by it
            _judge_fallback(fn, prompt)
    finally:
        p.reset()
    return (f"основная {primary} по-настоящему отказала, ответила {answered} (r.model, "
            "x-litellm-attempted-fallbacks, журнал провайдера); кэш не спрятал сбой и не запомнил ответ резервной модели.")


def _seed_step5(prompt: str):
    """The seed's step 5, as the exercise starts from it."""
    try:
        litellm.completion(model="несуществующая-модель", messages=messages(prompt))
    except Exception as e:
        print("Ожидаемая ошибка с некорректной моделью:", type(e).__name__)


def _no_cache_bypass(prompt: str):
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:], messages=messages(prompt))


def _no_store_only(prompt: str):
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:], messages=messages(prompt),
                              cache={"no-store": True})


register(Exercise(
    id="07.5",
    title="Шаг 5: основная падает — отвечает резервная",
    check=check_break_primary_and_ask,
    reference=break_primary_and_ask,
    answer_name="break_primary_and_ask",
    hints=[
        "Сломайте основную модель через провайдер: course.provider.fail('openai/gpt-4o-mini', 503, times=1); "
        "или api_key='wrong' только для основной (у резервной в fallbacks — свой ключ); или "
        "course.provider.set_limits('openai/gpt-4o-mini', rpm=1) и один запрос, который израсходует лимит. "
        "Затем вызовите litellm.completion(model=MODELS[0], fallbacks=MODELS[1:], ...).",
        "Кэш мешает дважды: готовый ответ основной модели прячет сбой, а ответ резервной модели записывается под ключом "
        "основной. Во всех запросах шага (и в том, что расходует лимит) — cache={'no-cache': True, "
        "'no-store': True}.",
    ],
    wrong_answers=[
        _seed_step5,
        lambda prompt: litellm.completion(model=MODELS[0], fallbacks=MODELS[1:],  # nothing broken
                                          messages=messages(prompt), cache={"no-cache": True, "no-store": True}),
        _no_cache_bypass,
        _no_store_only,
    ],
))


# --- 07.6 (measure) cached vs uncached, the learner's own measurement ------------------------------

MEASURE_PROMPTS = ["Проверка 07.6: что такое токен?", "Проверка 07.6: зачем нужен кэш?",
                   "Проверка 07.6: напиши длинный рассказ о задержках"]
MEASURE_REPEATS = 2  # the lesson measures with 3: a count hard-coded from the lesson shows up


def _records(result: Any) -> list[dict[str, Any]]:
    expect(isinstance(result, list) and result, "measure_latency должна вернуть список замеров — словарей "
                                                "{'prompt': ..., 'kind': ..., 'ms': ...}.")
    for r in result:
        expect(isinstance(r, dict) and {"prompt", "kind", "ms"} <= set(r),
               f"каждый замер — словарь с ключами prompt, kind, ms; а здесь {r!r:.120}.")
        expect(r["kind"] in (UNCACHED, CACHED, FRESH),
               f"kind = {r['kind']!r}: допустимы UNCACHED, CACHED, FRESH («{UNCACHED}», «{CACHED}», «{FRESH}»).")
        expect(isinstance(r["ms"], (int, float)) and not isinstance(r["ms"], bool) and r["ms"] > 0,
               f"ms — время в миллисекундах, число больше нуля; а здесь {r['ms']!r}.")
    return result


def _by(records: list[dict[str, Any]], prompt: str, kind: str) -> list[float]:
    return sorted(float(r["ms"]) for r in records if r["prompt"] == prompt and r["kind"] == kind)


def check_measure_latency(fn: Callable[..., Any]) -> str:
    expect(callable(fn), "ожидается функция measure_latency(cache_dir, prompts, repeats).")
    p = provider()
    saved = litellm.cache
    litellm.disable_cache()
    directory = current_course().fresh_dir("check-07.6")
    try:
        with call_spy() as spy:
            result, wall_ms = timed(fn, directory, list(MEASURE_PROMPTS), MEASURE_REPEATS)
            records = _records(result)
            kernel_side = [r for r in records if r["kind"] != FRESH]
            _wait_for_calls(spy, len(kernel_side))
            provider_log = p.log()
    finally:
        _restore_cache(saved)
    _judge_counts(records)
    _judge_against_litellm(records, spy, provider_log)
    _judge_timing(records, spy, wall_ms)
    fresh = [float(r["ms"]) for r in records if r["kind"] == FRESH]
    cached = [float(r["ms"]) for r in records if r["kind"] == CACHED]
    return (f"{len(records)} замеров сходятся с тем, что видели провайдер и LiteLLM: медиана без кэша "
            f"{statistics.median([float(r['ms']) for r in records if r['kind'] == UNCACHED]):.0f} мс, из кэша "
            f"{statistics.median(cached):.1f} мс, первое попадание в новом процессе {fresh[0]:.0f} мс.")


def _judge_counts(records: list[dict[str, Any]]) -> None:
    strangers = sorted({r["prompt"] for r in records if r["prompt"] not in MEASURE_PROMPTS})
    expect(not strangers, f"замеры по запросам, которых нет в prompts: {strangers[:2]}. Мерьте переданные prompts.")
    for prompt in MEASURE_PROMPTS:
        for kind in (UNCACHED, CACHED):
            n = len(_by(records, prompt, kind))
            expect(n == MEASURE_REPEATS, f"для «{prompt}» {n} замеров «{kind}», а нужно repeats = {MEASURE_REPEATS} "
                                         "(проверка передаёт своё число повторов).")
    expect(any(r["kind"] == FRESH for r in records),
           "нет замера FRESH: первое попадание в кэш в новом процессе Python (subprocess.run([sys.executable, "
           "'-c', код])) — там оно платит за ленивые импорты, а в этом ядре их уже оплатили.")


def _judge_against_litellm(records: list[dict[str, Any]], spy: CallSpy, provider_log: list[dict[str, Any]]) -> None:
    """Each measurement against what LiteLLM in this kernel did (the spy) and what reached the provider.

    Only the requests for the check's own prompts are counted at the provider (its log keeps each
    request's last message): a stray request of an earlier cell still in flight is not the answer's."""
    expect(spy.calls, "LiteLLM не сделал ни одного вызова: замеры придуманы, а не измерены.")
    for prompt in MEASURE_PROMPTS:
        sent = sum(1 for _, p in spy.network if p == prompt)
        uncached = len(_by(records, prompt, UNCACHED))
        hits = sum(1 for c in spy.calls if c.prompt == prompt and c.cache_hit)
        expect(hits >= len(_by(records, prompt, CACHED)),
               f"для «{prompt}» замеров «{CACHED}» {len(_by(records, prompt, CACHED))}, а попаданий в кэш по "
               f"LiteLLM только {hits}: часть замеров «из кэша» — вызовы модели (cache_hit не True).")
        expect(sent == uncached,
               f"для «{prompt}» до провайдера дошло {sent} запросов, а замеров «{UNCACHED}» {uncached}: каждый "
               "вызов, дошедший до модели, — это замер без кэша, и только он."
               + (" Проверьте, что «из кэша» действительно читают кэш." if sent > uncached else ""))
        received = sum(1 for e in provider_log if e.get("prompt") == prompt[:200])  # the log keeps 200 characters
        expect(received <= sent,
               f"для «{prompt}» провайдер получил {received} запросов, а LiteLLM этого ядра отправил {sent}: "
               "вызов в новом процессе дошёл до модели — он промахнулся мимо кэша (та же папка cache_dir, та же "
               "модель, тот же текст запроса?).")


def _judge_timing(records: list[dict[str, Any]], spy: CallSpy, wall_ms: float) -> None:
    total = sum(float(r["ms"]) for r in records if r["kind"] != FRESH)
    expect(total <= wall_ms + 50, f"сумма замеров в этом ядре {total:.0f} мс больше, чем длилась вся функция "
                                  f"({wall_ms:.0f} мс): время не в миллисекундах или придумано?")
    for prompt in MEASURE_PROMPTS:
        calls = [c for c in spy.calls if c.prompt == prompt]
        mine = _by(records, prompt, UNCACHED)
        real = sorted(c.ms for c in calls if not c.cache_hit)[:len(mine)]
        if mine and max(mine) < 5 <= min(real):
            raise CheckFailed(f"замеры «{UNCACHED}» для «{prompt}» — {mine}: похоже на секунды, а ms — миллисекунды "
                              "((time.perf_counter() - start) * 1000).")
        for got, call in zip(mine, real):
            expect(got >= 0.9 * call - 1,
                   f"замер «{UNCACHED}» для «{prompt}» — {got:.1f} мс, а сам вызов по LiteLLM шёл {call:.1f} мс: "
                   "секундомер должен охватывать ровно один вызов (один секундомер на два вызова, поделённый "
                   "пополам, так и выглядит).")
            expect(got <= call + max(100.0, call), f"замер «{UNCACHED}» для «{prompt}» — {got:.0f} мс, а вызов шёл "
                                                   f"{call:.0f} мс: в секундомер попало что-то кроме вызова.")
        mine = _by(records, prompt, CACHED)
        real = sorted(c.ms for c in calls if c.cache_hit)[:len(mine)]
        for got, call in zip(mine, real):
            expect(got >= 0.5 * call - 0.5,
                   f"замер «{CACHED}» для «{prompt}» — {got:.3f} мс, а само попадание по LiteLLM шло {call:.3f} мс: "
                   "время придумано или записано не в миллисекундах.")
    cached = [float(r["ms"]) for r in records if r["kind"] == CACHED]
    for ms in (float(r["ms"]) for r in records if r["kind"] == FRESH):
        expect(ms >= 20 and ms > 3 * statistics.median(cached),
               f"первое попадание «в новом процессе» — {ms:.1f} мс, как обычное попадание в этом ядре: в новом "
               "процессе оно платит за ленивые импорты (~200 мс). Замерьте вызов внутри subprocess.run(...), а "
               "не в этом ядре.")


def measure_latency(cache_dir, prompts, repeats):
    import subprocess
    import sys
    import time

    import litellm
    from litellm.caching.caching import LiteLLMCacheType

    model = "openrouter/openai/gpt-4o-mini"  # основная модель (MODELS[0])
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))

    def timed_call(prompt, **kwargs):
        start = time.perf_counter()
        response = litellm.completion(model=model, messages=[{"role": "user", "content": prompt}], **kwargs)
        return response, (time.perf_counter() - start) * 1000

    samples = []
    for round_no in range(repeats):
        for prompt in prompts:
            skip_read = {} if round_no == 0 else {"cache": {"no-cache": True}}  # не читать кэш: идти к модели
            response, ms = timed_call(prompt, **skip_read)
            assert response._hidden_params.get("cache_hit") is not True
            samples.append({"prompt": prompt, "kind": UNCACHED, "ms": ms})
            response, ms = timed_call(prompt)  # тот же запрос обычным вызовом — попадание
            assert response._hidden_params.get("cache_hit") is True
            samples.append({"prompt": prompt, "kind": CACHED, "ms": ms})

    # первое попадание в новом процессе: там LiteLLM впервые импортирует fastapi, orjson, soundfile...
    fresh_process = """
import sys, time
import litellm
from litellm.caching.caching import LiteLLMCacheType
litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[1])
start = time.perf_counter()
response = litellm.completion(model=sys.argv[2], messages=[{"role": "user", "content": sys.argv[3]}])
ms = (time.perf_counter() - start) * 1000
assert response._hidden_params.get("cache_hit") is True, "в новом процессе — промах"
print(ms)
"""
    done = subprocess.run([sys.executable, "-c", fresh_process, str(cache_dir), model, prompts[0]],
                          capture_output=True, text=True, check=True)
    samples.append({"prompt": prompts[0], "kind": FRESH, "ms": float(done.stdout.split()[-1])})
    return samples


def _one_stopwatch(cache_dir, prompts, repeats):
    """Wrong: a miss and a hit under one stopwatch, split in two."""
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    samples = []
    for round_no in range(repeats):
        for prompt in prompts:
            start = time.perf_counter()
            litellm.completion(model=CHECK_MODEL, messages=messages(prompt),
                               **({} if round_no == 0 else {"cache": {"no-cache": True}}))
            litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
            half = (time.perf_counter() - start) * 1000 / 2
            samples += [{"prompt": prompt, "kind": UNCACHED, "ms": half}, {"prompt": prompt, "kind": CACHED, "ms": half}]
    return samples + [{"prompt": prompts[0], "kind": FRESH, "ms": 250.0}]


def _fresh_in_this_kernel(cache_dir, prompts, repeats):
    """Wrong: every part right, but the "new process" hit is timed in this kernel."""
    samples = []
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    for round_no in range(repeats):
        for prompt in prompts:
            for kind, extra in ((UNCACHED, {} if round_no == 0 else {"cache": {"no-cache": True}}), (CACHED, {})):
                start = time.perf_counter()
                litellm.completion(model=CHECK_MODEL, messages=messages(prompt), **extra)
                samples.append({"prompt": prompt, "kind": kind, "ms": (time.perf_counter() - start) * 1000})
    start = time.perf_counter()
    litellm.completion(model=CHECK_MODEL, messages=messages(prompts[0]))
    return samples + [{"prompt": prompts[0], "kind": FRESH, "ms": (time.perf_counter() - start) * 1000}]


def _cached_reaches_the_model(cache_dir, prompts, repeats):
    """Wrong: "cached" calls sent with no-cache, so they all reach the model."""
    samples = []
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    for _ in range(repeats):
        for prompt in prompts:
            for kind in (UNCACHED, CACHED):
                start = time.perf_counter()
                litellm.completion(model=CHECK_MODEL, messages=messages(prompt), cache={"no-cache": True})
                samples.append({"prompt": prompt, "kind": kind, "ms": (time.perf_counter() - start) * 1000})
    return samples + [{"prompt": prompts[0], "kind": FRESH, "ms": 250.0}]


register(Exercise(
    id="07.6",
    title="Замер: кэш против модели",
    check=check_measure_latency,
    reference=measure_latency,
    answer_name="measure_latency",
    hints=[
        "Каждый вызов — в своём секундомере: start = time.perf_counter(); r = litellm.completion(...); "
        "ms = (time.perf_counter() - start) * 1000. В первом круге запрос — настоящий промах, в следующих — "
        "cache={'no-cache': True} (не читать кэш, идти к модели); после каждого — тот же запрос обычным "
        "вызовом: попадание.",
        "Новый процесс: subprocess.run([sys.executable, '-c', код, str(cache_dir), модель, prompts[0]], "
        "capture_output=True, text=True, check=True). Код включает дисковый кэш в sys.argv[1], замеряет один "
        "вызов и печатает миллисекунды (print(ms)); вы берёте последнее слово stdout.",
    ],
    wrong_answers=[_one_stopwatch, _fresh_in_this_kernel, _cached_reaches_the_model],
))


# --- 07.7 (measure) the learner's figure ---------------------------------------------------------

def figure_data(prompts: int, repeats: int, fresh: int, seed: int) -> list[dict[str, Any]]:
    """Measurements whose groups the checker knows: uncached 170–950 ms by prompt, cached 0.6–3.5 ms,
    one cache hit fewer than uncached calls (as when the warm-up hit is dropped), ``fresh`` new-process hits."""
    rng = random.Random(seed)  # seeded: the same data on every check
    bases = (180, 260, 380, 560, 820)
    samples = []
    for round_no in range(repeats):
        for i in range(prompts):
            prompt = f"запрос {i + 1}"
            samples.append({"prompt": prompt, "kind": UNCACHED, "ms": round(bases[i] * rng.uniform(0.95, 1.15), 1)})
            if (round_no, i) != (0, 0):
                samples.append({"prompt": prompt, "kind": CACHED, "ms": round(rng.uniform(0.6, 3.5), 2)})
    samples += [{"prompt": "запрос 1", "kind": FRESH, "ms": round(rng.uniform(250, 400), 1)} for _ in range(fresh)]
    return samples


FIGURE_DATA = (figure_data(5, 3, 1, seed=7), figure_data(4, 3, 2, seed=8))


def check_plot_latency(fn: Callable[[list[dict[str, Any]]], Any]) -> str:
    import matplotlib.pyplot as plt

    expect(callable(fn), "ожидается функция plot_latency(samples), которая возвращает Figure.")
    described = []
    for samples in FIGURE_DATA:
        groups = {kind: [s["ms"] for s in samples if s["kind"] == kind] for kind in (UNCACHED, CACHED)}
        fig = fn([dict(s) for s in samples])
        try:
            if getattr(fig, "_course_reference", False):
                raise CheckFailed("это эталонный график курса, а нужен ваш: нарисуйте замеры сами.")
            inspect_latency_figure(fig, groups)
        except FigureProblem as e:
            raise CheckFailed(f"{e} (данные проверки: без кэша n={len(groups[UNCACHED])}, из кэша "
                              f"n={len(groups[CACHED])})") from None
        finally:
            if isinstance(fig, Figure):
                plt.close(fig)
        described.append(f"n={len(groups[UNCACHED])}/{len(groups[CACHED])}")
    return ("на графике обе группы, все замеры, шкала, на которой видна разница в сотни раз, единицы на оси, "
            f"подписи групп и n ({', '.join(described)}).")


def plot_latency(samples):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for x, (kind, color) in enumerate([(UNCACHED, "#cf222e"), (CACHED, "#1a7f37"), (FRESH, "#8250df")]):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([x] * len(values), values, color=color, alpha=0.7, label=f"{kind} (n={len(values)})")
    ax.set_yscale("log")  # попадания (~1 мс) и модель (~500 мс) на одной оси
    ax.set_xticks(range(3), [UNCACHED, CACHED, FRESH])
    ax.set_ylabel("время ответа, мс (логарифмическая шкала)")
    ax.set_title("Кэш против модели: каждый замер — точка")
    ax.legend(loc="center")  # в середине графика пусто: легенда не закрывает точки
    return fig


def _no_units(samples):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for kind in (UNCACHED, CACHED):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([kind] * len(values), values, label=f"{kind} (n={len(values)})")
    ax.set_yscale("log")
    ax.set_ylabel("время ответа")
    ax.legend()
    return fig


def _linear_scale(samples):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for kind in (UNCACHED, CACHED):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([kind] * len(values), values, label=f"{kind} (n={len(values)})")
    ax.set_ylabel("время, мс")
    ax.legend()
    return fig


def _mean_bars(samples):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    kinds = (UNCACHED, CACHED)
    means = [statistics.mean(s["ms"] for s in samples if s["kind"] == kind) for kind in kinds]
    counts = [sum(1 for s in samples if s["kind"] == kind) for kind in kinds]
    ax.bar([f"{kind} (n={n})" for kind, n in zip(kinds, counts)], means)
    ax.set_yscale("log")
    ax.set_ylabel("среднее время, мс")
    return fig


register(Exercise(
    id="07.7",
    title="График замера",
    check=check_plot_latency,
    reference=plot_latency,
    answer_name="plot_latency",
    hints=[
        "fig, ax = plt.subplots(); для каждой группы — ax.scatter(x, значения, label=f'{kind} (n={len(values)})') "
        "(или ax.boxplot / ax.violinplot / ax.hist); ax.legend(); return fig.",
        "Попадания (~1 мс) и модель (сотни мс) на линейной оси не прочитать: ax.set_yscale('log'). Подпись оси — "
        "с единицами: ax.set_ylabel('время ответа, мс').",
    ],
    wrong_answers=[_no_units, _linear_scale, _mean_bars],
))


# --- 07.8 extension: a Router with two deployments and a fallback group -------------------------------

def build_router():
    from litellm import Router

    from course_helpers.session import current_course

    provider = current_course().provider  # в ноутбуке это course.provider

    def deployment(group, model, name):
        return {"model_name": group, "litellm_params": {
            "model": model, "api_key": provider.key,
            "api_base": provider.api_base("openrouter", deployment=name)}}

    return Router(model_list=[deployment("main", "openrouter/openai/gpt-4o-mini", "d1"),
                              deployment("main", "openrouter/openai/gpt-4o-mini", "d2"),
                              deployment("backup", "openrouter/anthropic/claude-3-haiku", "b1")],
                  fallbacks=[{"main": ["backup"]}])


def provider_base(deployment: str) -> str:
    return provider().api_base("openrouter", deployment=deployment)


def check_build_router(build: Callable[[], Any]) -> str:
    from litellm import Router

    expect(callable(build), "ожидается функция build_router().")
    p = provider()
    with no_cache():
        router = build()
        expect(isinstance(router, Router), f"build_router должна вернуть litellm.Router, а вернула {type(router).__name__}.")
        groups = {d["model_name"] for d in router.model_list}
        expect({"main", "backup"} <= groups, f"в Router группы {sorted(groups)}, а нужны «main» и «backup».")
        state = random.getstate()
        random.seed(7)  # simple-shuffle picks with the random module: a fixed seed, a fixed spread
        try:
            for i in range(12):
                router.completion(model="main", messages=messages(f"Проверка задания 07.8: запрос {i}"))
        finally:
            random.setstate(state)
        main = {e["deployment"] for e in p.log() if e["status"] == 200}
        expect(len(main) >= 2, f"все запросы группы «main» ушли в одно развёртывание {sorted(main)}: "
                               "дайте двум развёртываниям разные api_base (deployment='d1' и 'd2').")
        p.reset()
        same = [d["litellm_params"].get("api_base") for d in router.model_list if d["model_name"] == "backup"
                and d["litellm_params"].get("api_base") in {provider_base(name) for name in main}]
        expect(not same, f"группа «backup» идёт в те же развёртывания, что и «main» ({same[0] if same else ''}): "
                         "сбой развёртываний «main» достанется и ей. Резервная группа — другая модель.")
        for name in main:
            p.fail("*", 401, deployment=name)  # the group's key was revoked on both deployments
        response = _call_or_fail("обе части группы «main» отказали, а переключения на «backup» не случилось: резервная группа не "
                                 "подключена (fallbacks=[{'main': ['backup']}] или default_fallbacks=['backup'])",
                                 router.completion, "main", messages("Проверка задания 07.8: резервная группа"))
        headers = response._hidden_params.get("additional_headers") or {}
        answered = {e["deployment"] for e in p.log() if e["status"] == 200}
        p.reset()
        expect(attempted_fallbacks(response) >= 1 and headers.get("x-litellm-model-group") == "backup"
               and answered and not answered & main,
               "при отказе обоих развёртываний ответ должен прийти из резервной группы «backup».")
    return f"группа «main» делит трафик между {sorted(main)}, при их отказе отвечает «backup»."


register(Exercise(
    id="07.8",
    title="Дополнительно: Router с двумя развёртываниями и резервной группой",
    check=check_build_router,
    reference=build_router,
    answer_name="build_router",
    hints=[
        "Два элемента model_list с одним model_name ('main') и разными api_base: "
        "course.provider.api_base('openrouter', deployment='d1') и ...'d2'; ключ — course.provider.key.",
        "Резервная группа — третий элемент с model_name 'backup'; Router(..., fallbacks=[{'main': ['backup']}]) — "
        "список словарей, не просто список (или Router(..., default_fallbacks=['backup'])).",
    ],
    wrong_answers=[
        lambda: litellm.Router(model_list=[  # one deployment only
            {"model_name": "main", "litellm_params": {
                "model": CHECK_MODEL, "api_key": current_course().provider.key,
                "api_base": current_course().provider.api_base("openrouter", deployment="d1")}},
            {"model_name": "backup", "litellm_params": {"model": MODELS[1]}}],
            fallbacks=[{"main": ["backup"]}]),
        lambda: litellm.Router(model_list=[  # two deployments, no fallback group
            {"model_name": "main", "litellm_params": {
                "model": CHECK_MODEL, "api_key": current_course().provider.key,
                "api_base": current_course().provider.api_base("openrouter", deployment=name)}}
            for name in ("d1", "d2")]),
        lambda: litellm.Router(model_list=[  # the default route twice: one deployment in fact
            {"model_name": "main", "litellm_params": {"model": CHECK_MODEL}},
            {"model_name": "main", "litellm_params": {"model": CHECK_MODEL}},
            {"model_name": "backup", "litellm_params": {"model": MODELS[1]}}],
            fallbacks=[{"main": ["backup"]}]),
    ],
))


# --- 07.9 extension: a budget guard that knows the cache is free ------------------------------------

GUARD_MODEL, GUARD_TOKENS = "openrouter/openai/gpt-4o-mini", 50


def make_guard(limit_usd):
    from course_helpers.budget import BudgetGuard

    guard = BudgetGuard(limit=limit_usd)  # резерв максимума с запасом — до вызова

    def guarded_ask(prompt):
        # BudgetExceeded (это litellm.BudgetExceededError), если запрос может не поместиться — до отправки;
        # попадание в кэш рассчитывается по response_cost = 0.0 и бюджет не тратит
        return guard.completion(model="openrouter/openai/gpt-4o-mini",
                                messages=[{"role": "user", "content": prompt}], max_tokens=50)

    return guarded_ask


def check_make_guard(make: Callable[[float], Callable[[str], Any]]) -> str:
    expect(callable(make), "ожидается функция make_guard(limit_usd).")
    p = provider()
    saved_budget = litellm.max_budget
    results = []
    try:
        make(1.0)  # a factory makes no calls: a stub is "not attempted" before the tokenizer loads
        for units in (3.5, 6.5):  # two limits: a guard counting calls instead of money shows up
            with fresh_disk_cache(f"check-07.9-{units}"):
                results.append(_judge_guard(make, units, p))
            p.reset()
    finally:
        litellm.max_budget = saved_budget
    return "; ".join(results)


def _judge_guard(make: Callable[[float], Callable[[str], Any]], units: float, p: Any) -> str:
    prompts = [f"Проверка задания 07.9: вопрос {i} о бюджетах" for i in range(30)]
    unit = max_cost(GUARD_MODEL, messages(prompts[0]), GUARD_TOKENS)
    limit = units * unit
    guarded = make(limit)
    expect(callable(guarded), "make_guard(limit_usd) должна вернуть функцию guarded_ask(prompt).")
    base, sent = p.stats()["cost"], p.requests()
    for _ in range(4):
        _call_or_fail("повторы одного запроса идут из кэша и бесплатны, а сторож их остановил", guarded,
                      "Проверка задания 07.9: повтор")
    expect(p.requests() - sent == 1, "повторы одного запроса должны приходить из кэша: до модели дошёл не один.")
    for i, prompt in enumerate(prompts):
        spent, sent = p.stats()["cost"] - base, p.requests()
        next_cost = max_cost(GUARD_MODEL, messages(prompt), GUARD_TOKENS)
        try:
            guarded(prompt)
        except (NotImplementedError, NotAttempted):
            raise
        except Exception as e:
            expect(isinstance(e, litellm.BudgetExceededError),
                   f"отказ — litellm.BudgetExceededError (BudgetExceeded из course_helpers.budget им и является), "
                   f"а не {type(e).__name__}.")
            expect(p.requests() == sent, "запрос, на котором сработал бюджет, всё же ушёл к модели: отказывайте ДО "
                                         "вызова.")
            expect(limit - spent < 2 * next_cost,
                   f"сторож отказал рано: потрачено ${spent:.7f} из ${limit:.7f}, а запрос стоит не больше "
                   f"${next_cost:.7f}. Попадания в кэш бесплатны (response_cost = 0.0).")
            return f"лимит ${limit:.7f}: потрачено ${spent:.7f}, отказ на запросе №{i + 1} — до отправки"
        total = p.stats()["cost"] - base
        expect(total <= limit + 1e-12,
               f"потрачено ${total:.7f} при лимите ${limit:.7f}: сторож пропустил запрос, который не помещался. "
               "Проверка «потрачено < лимита» перед вызовом не знает, сколько будет стоить этот вызов: "
               "резервируйте его максимум (BudgetGuard или max_cost), а после — списывайте response_cost.")
    raise CheckFailed(f"сторож так и не остановил запросы: потрачено ${p.stats()['cost'] - base:.7f} при лимите "
                      f"${limit:.7f}. litellm.max_budget сам ничего не считает (урок 06).")


def _seed_budget(limit_usd: float):
    litellm.max_budget = limit_usd  # the seed's approach: never accrues for chat completions
    return lambda prompt: litellm.completion(model=GUARD_MODEL, messages=messages(prompt), max_tokens=50)


def _check_then_call(limit_usd: float):
    """Wrong (the old reference): stops only once the spend reached the limit — one call too late."""
    spent = [0.0]

    def ask_(prompt: str):
        if spent[0] >= limit_usd:
            raise litellm.BudgetExceededError(current_cost=spent[0], max_budget=limit_usd)
        response = litellm.completion(model=GUARD_MODEL, messages=messages(prompt), max_tokens=50)
        spent[0] += response._hidden_params.get("response_cost") or 0.0
        return response
    return ask_


def _count_calls(limit_usd: float):
    calls = []

    def ask_(prompt: str):
        if len(calls) >= 3:
            raise litellm.BudgetExceededError(current_cost=0.0, max_budget=limit_usd)
        calls.append(prompt)
        return litellm.completion(model=GUARD_MODEL, messages=messages(prompt), max_tokens=50)
    return ask_


register(Exercise(
    id="07.9",
    title="Дополнительно: сторож бюджета, который знает, что кэш бесплатен",
    check=check_make_guard,
    reference=make_guard,
    answer_name="make_guard",
    hints=[
        "Урок 06: BudgetGuard(limit=limit_usd) резервирует максимум вызова до отправки и списывает счёт после; "
        "guard.completion(model=..., messages=..., max_tokens=50) — тот же вызов через защиту.",
        "Попадание в кэш приходит с response_cost = 0.0: защита списывает ноль, и бюджет остаётся. "
        "litellm.max_budget не работает (урок 06).",
    ],
    wrong_answers=[_seed_budget, _check_then_call, _count_calls],
))


# --- quiz -----------------------------------------------------------------------------------------

register_question(Question(
    id="07.q1",
    text="Что вернёт r._hidden_params.get('cache_hit') у ответа, который пришёл от модели?",
    options=["False", "None", "0"],
    correct=1,
    explanation="у промаха ключа cache_hit нет, и get даёт None; у попадания — True. Проверяйте "
                "`.get('cache_hit') is True`: `is not False` примет промах за попадание.",
))
register_question(Question(
    id="07.q2",
    text="Почему шаг 5 исходного урока (completion с model='несуществующая-модель') не проверяет резервную модель?",
    options=["LiteLLM падает ещё до сети, а резервная модель в этом коде не вызывается",
             "провайдер отвечает 404, и LiteLLM не переключается на 404",
             "резервная модель ответила, но из кэша"],
    correct=0,
    explanation="«несуществующая-модель» без префикса провайдера — BadRequestError до сети: 0 запросов, и в коде "
                "нет fallbacks. Ломать основную надо через провайдер: сбой, неверный ключ, лимит запросов.",
))
register_question(Question(
    id="07.q3",
    text="Как отправить запрос при проверке резервной модели, чтобы кэш не спрятал сбой и не запомнил ответ резервной?",
    options=["caching=False", "cache={'no-cache': True, 'no-store': True}", "cache={'ttl': 0}"],
    correct=1,
    explanation="no-cache — не читать кэш (основную спросят по-настоящему), no-store — не записывать ответ. "
                "caching=False пропускает только чтение: ответ резервной модели всё равно ляжет в кэш под ключом основной.",
))
register_question(Question(
    id="07.q4",
    text="Промахи — 200–900 мс, попадания — около 1 мс. Какая шкала оси задержки покажет обе группы?",
    options=["линейная от 0", "логарифмическая (ax.set_yscale('log'))", "любая: это видно по медианам"],
    correct=1,
    explanation="на линейной оси до 900 мс всё, что меньше нескольких мс, сливается с нулём. На логарифмической "
                "каждый порядок — одинаковый шаг, и разница в сотни раз читается.",
))
register_question(Question(
    id="07.q5",
    text="Почему первое попадание в кэш меряют отдельно, в новом процессе Python?",
    options=["в новом процессе диск быстрее",
             "первое попадание в процессе платит за ленивые импорты LiteLLM (~200 мс), следующие — нет",
             "кэш доступен только из нового процесса"],
    correct=1,
    explanation="при первом попадании LiteLLM впервые импортирует fastapi, orjson, soundfile и их зависимости. "
                "Короткий скрипт платит это на каждом запуске, долгоживущий сервис — один раз.",
))
register_question(Question(
    id="07.q6",
    text="Какое поле ответа говорит, какая модель на самом деле ответила после переключения на резервную?",
    options=["r._hidden_params['litellm_model_name']", "r.model", "r._hidden_params['api_base']"],
    correct=1,
    explanation="r.model — модель, которая ответила; litellm_model_name после переключения на резервную по-прежнему показывает "
                "основную. Подтверждают x-litellm-attempted-fallbacks и журнал провайдера.",
))
register_question(Question(
    id="07.q7",
    text="Замер: 5 запросов × 3 повтора без кэша (первый круг — промах, дальше cache={'no-cache': True}) и "
         "после каждого — то же обычным вызовом. Сколько запросов получит провайдер?",
    correct=15,
    tolerance=0,
    explanation="каждый вызов без кэша доходит до модели (no-cache не читает кэш, но пишет в него), а каждый "
                "обычный повтор — попадание: 5 × 3 = 15.",
))
