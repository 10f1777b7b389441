"""Lesson 07 exercises: the seed's practical task (07.1-07.5) and extensions (07.6-07.8).

Every checker judges behaviour: it runs the learner's function against the practice
provider with a fresh cache folder, reads the responses (``_hidden_params``) and the
provider's log, and restores ``litellm.cache`` (and callbacks, ``max_budget``) afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import litellm
from litellm.caching.caching import LiteLLMCacheType
from litellm.integrations.custom_logger import CustomLogger

from course_helpers.checks import CheckFailed, Exercise, expect, provider, register
from course_helpers.measure import is_cache_hit, timed
from course_helpers.practice_data import answer_for, resolve_model
from course_helpers.session import current_course

CHECK_MODEL = "openrouter/openai/gpt-4o-mini"
REFERENCE_MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]


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


class _NetworkSpy(CustomLogger):
    """Records the model of every request LiteLLM is about to send over the network."""

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = []

    def log_pre_api_call(self, model, messages, kwargs):  # noqa: ANN001 - LiteLLM's signature
        self.models.append(canonical(str(model)))


@contextmanager
def network_spy() -> Iterator[_NetworkSpy]:
    spy = _NetworkSpy()
    saved = list(litellm.callbacks)
    litellm.callbacks = [*saved, spy]
    try:
        yield spy
    finally:
        litellm.callbacks = saved


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
    except NotImplementedError:
        raise
    except CheckFailed:
        raise
    except Exception as e:
        raise CheckFailed(f"{what}: вызов упал с {type(e).__name__} "
                          f"(status_code={getattr(e, 'status_code', None)}).") from None


# --- 07.1 disk cache -------------------------------------------------------------------------

def reference_setup_disk_cache(directory) -> None:
    import litellm
    from litellm.caching.caching import LiteLLMCacheType

    litellm.disable_cache()  # enable_cache молча ничего не меняет, если кэш уже включён
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))


def check_setup_disk_cache(setup_disk_cache: Callable[[Any], Any]) -> str:
    expect(callable(setup_disk_cache), "ожидается функция setup_disk_cache(directory).")
    saved = litellm.cache
    litellm.disable_cache()
    directory = current_course().fresh_dir("check-07.1")
    try:
        setup_disk_cache(directory)
        cache = litellm.cache
        expect(cache is not None, "после вызова litellm.cache is None: кэш не включён (litellm.enable_cache).")
        kind = type(cache.cache).__name__
        expect(kind == "DiskCache", f"включён кэш {kind}, а нужен дисковый: type=LiteLLMCacheType.DISK.")
        prompt = "Проверка задания 07.1: дисковый кэш"
        first = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        second = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        expect(not is_cache_hit(first), "первый запрос уже оказался в кэше, хотя папка была пустой.")
        expect(is_cache_hit(second), "повтор того же запроса не попал в кэш (_hidden_params['cache_hit'] не True).")
        expect(provider().requests() == 1, f"провайдер получил {provider().requests()} запроса(ов), а должен 1: "
                                           "повтор обязан прийти из кэша.")
        expect((directory / "cache.db").exists(), "в переданной папке нет cache.db: кэш пишет в другое место. "
                                                  "Передайте её как disk_cache_dir=str(directory).")
    finally:
        _restore_cache(saved)
    return "дисковый кэш включён в нужной папке: повтор пришёл из cache.db, провайдер получил 1 запрос."


register(Exercise(
    id="07.1",
    title="Шаг 1: кэш на диске",
    check=check_setup_disk_cache,
    reference=reference_setup_disk_cache,
    hints=[
        "Нужен litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=...), "
        "LiteLLMCacheType — из litellm.caching.caching.",
        "Передайте папку как disk_cache_dir=str(directory). Если кэш уже был включён, enable_cache ничего "
        "не поменяет: сначала litellm.disable_cache().",
    ],
    wrong_answers=[
        lambda directory: None,  # nothing enabled
        lambda directory: (litellm.disable_cache(), litellm.enable_cache()),  # in-memory LOCAL, not disk
        lambda directory: (litellm.disable_cache(), litellm.enable_cache(  # another folder
            type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory / "elsewhere"))),
    ],
))


# --- 07.2 primary + fallbacks ----------------------------------------------------------------

def reference_ask(prompt: str, **kwargs: Any):
    import litellm

    models = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]  # MODELS
    return litellm.completion(model=models[0], fallbacks=models[1:],
                              messages=[{"role": "user", "content": prompt}], **kwargs)


def check_ask(ask: Callable[..., Any]) -> str:
    expect(callable(ask), "ожидается функция ask(prompt, **kwargs).")
    with no_cache():
        prompt = "Проверка задания 07.2: основная модель"
        response = ask(prompt)
        log = provider().log()
        expect(len(log) == 1 and log[0]["status"] == 200,
               f"при здоровой основной модели провайдер получил {len(log)} запрос(ов) "
               f"{[e['status'] for e in log]}; ожидался один успешный — к основной модели.")
        primary = log[0]["model"]
        expect(canonical(getattr(response, "model", "")) == primary and attempted_fallbacks(response) == 0,
               "при здоровой основной модели ответить должна она сама, без фолбэка.")
        expect(text_of(response) == answer_for(prompt), "ask вернула ответ не на тот запрос: передайте prompt.")
        provider().fail(primary, 503)  # outage of the primary model
        try:
            prompt = "Проверка задания 07.2: основная недоступна"
            response = _call_or_fail(f"основная модель {primary} недоступна (503), а ask не справилась — "
                                     "резервная модель не подключена (fallbacks=MODELS[1:]) или это та же модель, "
                                     "или она не существует", ask, prompt)
        finally:
            provider().clear_faults()
        answered = canonical(getattr(response, "model", ""))
        fallback_ok = [e for e in provider().log()[1:] if e["status"] == 200]
        expect(answered != primary and fallback_ok and fallback_ok[-1]["model"] == answered,
               f"при сбое основной ответ должен прийти от другой модели, а r.model = {response.model!r}.")
        expect(attempted_fallbacks(response) >= 1,
               "в ответе нет x-litellm-attempted-fallbacks ≥ 1: фолбэк сделан не средствами LiteLLM (fallbacks=...).")
    return f"основная {primary} отвечает сама, а при её сбое ответила резервная {answered}."


register(Exercise(
    id="07.2",
    title="Шаг 2: основная и резервные модели",
    check=check_ask,
    reference=reference_ask,
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

def reference_send_twice(prompt: str):
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


def check_send_twice(send_twice: Callable[[str], Any]) -> str:
    expect(callable(send_twice), "ожидается функция send_twice(prompt).")
    with fresh_disk_cache("check-07.3", warm_up=True):
        prompt = "Проверка задания 07.3: один и тот же запрос дважды"
        result, wall_ms = timed(send_twice, prompt)
        (r1, s1), (r2, s2) = _pairs(result)
        log = provider().log()
        expect(len(log) != 0, "ни один запрос не дошёл до модели: оба ответа из кэша? Первый должен уйти к модели.")
        expect(len(log) == 1, f"до модели дошло {len(log)} запроса(ов), а должен 1: второй обязан прийти из кэша "
                              "(тот же model, те же messages, без cache={'no-cache': True}).")
        expect(not is_cache_hit(r1) and is_cache_hit(r2),
               "первый ответ должен быть промахом, второй — попаданием (_hidden_params['cache_hit'] is True).")
        expect(text_of(r1) == text_of(r2) == answer_for(prompt), "ответы не на переданный prompt.")
        expect(s1 > 0 and s2 > 0, "время каждого запроса должно быть измерено (больше нуля).")
        expect(s1 + s2 <= wall_ms / 1000 + 0.05,
               f"сумма времён {s1 + s2:.3f} больше, чем длилась вся функция ({wall_ms / 1000:.3f}): "
               "время в секундах? каждый запрос замерен отдельно?")
        server_s = log[0].get("latency_ms", 0) / 1000
        expect(s1 >= 0.9 * server_s, "первое время меньше, чем модель готовила ответ: замер не охватывает вызов.")
        expect(s2 < s1, "второй запрос (из кэша) не быстрее первого: проверьте, что замеряете каждый вызов.")
    return "первый запрос ушёл к модели, второй пришёл из кэша; оба времени измерены честно."


register(Exercise(
    id="07.3",
    title="Шаг 3: один запрос дважды, с замером",
    check=check_send_twice,
    reference=reference_send_twice,
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

def reference_cache_explains_speedup(first, second, provider_requests: int) -> bool:
    (r1, s1), (r2, s2) = first, second
    return (s2 < s1                                           # второй быстрее
            and r1._hidden_params.get("cache_hit") is not True  # первый — к модели (промах: None)
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
        a = _timed_call(cached_prompt), _timed_call(cached_prompt)
        expect(_verdict(fn, *a, p.requests() - n0) is True,
               "случай «промах, затем попадание, 1 запрос к модели» — это ускорение из-за кэша, а функция "
               "ответила False.")
        n0 = p.requests()
        c = _timed_call(cached_prompt), _timed_call(cached_prompt)
        expect(_verdict(fn, *c, p.requests() - n0) is False,
               "оба запроса пришли из кэша (0 запросов к модели): первый не был «без кэша», "
               "сравнивать нечего — а функция ответила True. Так бывает, если кэш на диске остался "
               "от прошлого запуска.")
        n0 = p.requests()
        d = _timed_call(cached_prompt), _timed_call("Проверка задания 07.4: новый запрос")
        expect(_verdict(fn, *d, p.requests() - n0) is False,
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
               "True. Быстрее ≠ из кэша: проверьте _hidden_params['cache_hit'] is True.")
    return ("функция отличает ускорение из-за кэша от совпадения: смотрит на cache_hit обоих ответов, "
            "число запросов к модели и время.")


register(Exercise(
    id="07.4",
    title="Шаг 4: ускорение — из-за кэша?",
    check=check_cache_explains_speedup,
    reference=reference_cache_explains_speedup,
    hints=[
        "Одного «второй быстрее» мало: быстрее бывает и случайно. Нужны три факта: время, "
        "cache_hit обоих ответов и число запросов, дошедших до модели.",
        "Промах даёт _hidden_params['cache_hit'] равный None (не False!), попадание — True. "
        "Верните s2 < s1 and r1-не-попадание and r2-попадание and provider_requests == 1.",
    ],
    wrong_answers=[
        lambda first, second, n: second[1] < first[1],  # faster only
        lambda first, second, n: second[0]._hidden_params.get("cache_hit") is True,  # second hit only
        lambda first, second, n: (second[0]._hidden_params.get("cache_hit") is not False  # the None trap
                                  and second[1] < first[1]),
        lambda first, second, n: n == 1,  # provider stats only
    ],
))


# --- 07.5 the primary fails on purpose, the fallback answers -------------------------------------

def reference_break_primary_and_ask(prompt: str):
    import litellm

    from course_helpers.session import current_course

    provider = current_course().provider  # в ноутбуке это course.provider
    primary, *fallbacks = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]  # MODELS
    provider.fail(primary.removeprefix("openrouter/"), 503, times=1)  # основная «падает» один раз
    return litellm.completion(
        model=primary, fallbacks=fallbacks, messages=[{"role": "user", "content": prompt}],
        cache={"no-cache": True, "no-store": True},  # кэш не должен ни спрятать сбой, ни запомнить фолбэк
    )


def _judge_fallback(fn: Callable[[str], Any], prompt: str) -> tuple[Any, str, str]:
    """Run the learner's function once; return (response, primary id, answering model id)."""
    p = provider()
    seen = len(p.log())
    with network_spy() as spy:
        response = _call_or_fail("ни одна модель не ответила", fn, prompt)
    text_of(response)
    expect(not is_cache_hit(response),
           "ответ пришёл из кэша (cache_hit is True): основную модель даже не спросили, сбоя не было. "
           "Передайте cache={'no-cache': True, 'no-store': True}.")
    expect(bool(spy.models), "LiteLLM не отправил ни одного запроса по сети.")
    primary = spy.models[0]
    log = p.log()[seen:]
    answered = canonical(getattr(response, "model", ""))
    expect(not any(e["model"] == primary and e["status"] == 200 for e in log) and answered != primary,
           f"первая модель, которой LiteLLM отправил запрос ({primary}), ответила сама: сбоя не было. "
           "Сломайте основную модель через провайдер (fail / неверный ключ / лимит), а не несуществующим именем.")
    expect(any(e["model"] == answered and e["status"] == 200 for e in log),
           f"провайдер не видел успешного ответа модели {answered}.")
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
                   "ответ фолбэка записан под ключом основной. Добавьте 'no-store': True.")
            # now the primary's own answer is cached: the demonstration must not be fooled by it
            _judge_fallback(fn, prompt)
    finally:
        p.reset()
    return (f"основная {primary} по-настоящему отказала, ответила {answered} "
            "(r.model, x-litellm-attempted-fallbacks, статистика провайдера); кэш не спрятал сбой и не "
            "запомнил ответ фолбэка.")


def _seed_like(prompt: str):
    """The seed's idea: a nonexistent model fails, then the fallback is called by hand."""
    try:
        litellm.completion(model="несуществующая-модель", messages=messages(prompt))
    except Exception:
        return litellm.completion(model=REFERENCE_MODELS[1], messages=messages(prompt),
                                  cache={"no-cache": True, "no-store": True})


def _no_cache_bypass(prompt: str):
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    return litellm.completion(model=REFERENCE_MODELS[0], fallbacks=REFERENCE_MODELS[1:], messages=messages(prompt))


def _no_store_only(prompt: str):
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    return litellm.completion(model=REFERENCE_MODELS[0], fallbacks=REFERENCE_MODELS[1:], messages=messages(prompt),
                              cache={"no-store": True})


register(Exercise(
    id="07.5",
    title="Шаг 5: основная падает — отвечает резервная",
    check=check_break_primary_and_ask,
    reference=reference_break_primary_and_ask,
    hints=[
        "Сломайте основную модель через провайдер: course.provider.fail('openai/gpt-4o-mini', 503, times=1) "
        "(или api_key='wrong' только для основной, или course.provider.set_limits(..., rpm=1)), затем "
        "вызовите litellm.completion(model=MODELS[0], fallbacks=MODELS[1:], ...).",
        "Кэш мешает дважды: готовый ответ основной модели прячет сбой, а ответ фолбэка записывается под ключом "
        "основной. Передайте cache={'no-cache': True, 'no-store': True}.",
    ],
    wrong_answers=[
        _seed_like,
        lambda prompt: litellm.completion(model=REFERENCE_MODELS[0], fallbacks=REFERENCE_MODELS[1:],
                                          messages=messages(prompt), cache={"no-cache": True, "no-store": True}),
        _no_cache_bypass,
        _no_store_only,
    ],
))


# --- 07.6 extension: the same on Redis -------------------------------------------------------------

def reference_setup_redis_cache(url: str) -> None:
    from urllib.parse import urlparse

    import litellm
    from litellm.caching.caching import LiteLLMCacheType

    parsed = urlparse(url)
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=parsed.hostname, port=str(parsed.port),
                         ttl=3600)  # по умолчанию Redis-кэш LiteLLM живёт всего 60 с


def check_setup_redis_cache(setup: Callable[[str], Any]) -> str:
    import redis

    from course_helpers.redis_server import RedisUnavailable, redis_url

    expect(callable(setup), "ожидается функция setup_redis_cache(url).")
    try:
        url = redis_url()
    except RedisUnavailable as e:
        raise CheckFailed(f"Redis недоступен: {e}") from None
    client = redis.Redis.from_url(url)
    before = set(client.keys("*"))
    saved = litellm.cache
    litellm.disable_cache()
    new: set[bytes] = set()
    try:
        setup(url)
        kind = type(getattr(litellm.cache, "cache", None)).__name__
        expect(kind == "RedisCache", f"включён кэш {kind}, а нужен Redis: type=LiteLLMCacheType.REDIS.")
        prompt = "Проверка задания 07.6: кэш в Redis"
        first = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        second = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        new = set(client.keys("*")) - before
        expect(not is_cache_hit(first) and is_cache_hit(second) and provider().requests() == 1,
               "повтор не пришёл из кэша (или до модели дошло больше одного запроса).")
        expect(bool(new), f"в Redis по адресу {url} не появилось ключей: кэш пишет в другой Redis.")
        ttl = min(client.ttl(key) for key in new)
        expect(ttl == -1 or ttl > 60, f"ответ в Redis проживёт {ttl} с: это TTL по умолчанию (60 с). "
                                      "Передайте ttl=... в enable_cache.")
    finally:
        if new:
            client.delete(*new)
        _restore_cache(saved)
    return "ответы лежат в настоящем Redis дольше минуты, повтор пришёл из кэша."


register(Exercise(
    id="07.6",
    title="Дополнительно: тот же замер на Redis",
    check=check_setup_redis_cache,
    reference=reference_setup_redis_cache,
    hints=[
        "litellm.enable_cache(type=LiteLLMCacheType.REDIS, host=..., port=...); хост и порт достаньте из url "
        "(urllib.parse.urlparse).",
        "TTL Redis-кэша в LiteLLM по умолчанию — 60 секунд. Передайте ttl=3600.",
    ],
    wrong_answers=[
        lambda url: (litellm.disable_cache(), litellm.enable_cache()),  # in-memory
        lambda url: (litellm.disable_cache(), litellm.enable_cache(  # default TTL of 60 s
            type=LiteLLMCacheType.REDIS, host="127.0.0.1", port=url.rsplit(":", 1)[1])),
    ],
))


# --- 07.7 extension: a Router with two deployments and a fallback -------------------------------

def reference_build_router():
    from litellm import Router

    from course_helpers.session import current_course

    provider = current_course().provider  # в ноутбуке это course.provider

    def deployment(group: str, model: str, name: str) -> dict:
        return {"model_name": group, "litellm_params": {
            "model": model, "api_key": provider.key,
            "api_base": provider.api_base("openrouter", deployment=name)}}

    return Router(model_list=[deployment("main", "openrouter/openai/gpt-4o-mini", "d1"),
                              deployment("main", "openrouter/openai/gpt-4o-mini", "d2"),
                              deployment("backup", "openrouter/anthropic/claude-3-haiku", "b1")],
                  fallbacks=[{"main": ["backup"]}])


def check_build_router(build: Callable[[], Any]) -> str:
    from litellm import Router

    expect(callable(build), "ожидается функция build_router().")
    p = provider()
    with no_cache():
        router = build()
        expect(isinstance(router, Router), f"build_router должна вернуть litellm.Router, а вернула {type(router).__name__}.")
        rules = [rule for rule in (router.fallbacks or []) if isinstance(rule, dict)]
        expect(bool(rules), "у Router нет fallbacks=[{'группа': ['резервная группа']}].")
        group = next(iter(rules[0]))
        state = random.getstate()
        random.seed(7)  # simple-shuffle picks with the random module: a fixed seed, a fixed spread
        try:
            for i in range(12):
                router.completion(model=group, messages=messages(f"Проверка задания 07.7: запрос {i}"))
        finally:
            random.setstate(state)
        main = {e["deployment"] for e in p.log() if e["status"] == 200}
        expect(len(main) >= 2, f"все запросы группы {group!r} ушли в одно развёртывание {sorted(main)}: "
                               "дайте двум развёртываниям разные api_base (deployment='d1' и 'd2').")
        p.reset()
        for name in main:
            p.fail("*", 401, deployment=name)  # the group's key was revoked on both deployments
        response = _call_or_fail(f"обе части группы {group!r} отказали, а фолбэка не случилось", router.completion,
                                 group, messages("Проверка задания 07.7: фолбэк"))
        headers = response._hidden_params.get("additional_headers") or {}
        answered = {e["deployment"] for e in p.log() if e["status"] == 200}
        p.reset()
        expect(attempted_fallbacks(response) >= 1 and headers.get("x-litellm-model-group") != group
               and answered and not answered & main,
               "при отказе обоих развёртываний ответ должен прийти из резервной группы.")
    return (f"группа {group!r} делит трафик между {sorted(main)}, при их отказе отвечает "
            f"{headers.get('x-litellm-model-group')!r}.")


register(Exercise(
    id="07.7",
    title="Дополнительно: Router с двумя развёртываниями и фолбэком",
    check=check_build_router,
    reference=reference_build_router,
    hints=[
        "Два элемента model_list с одним model_name ('main') и разными api_base: "
        "course.provider.api_base('openrouter', deployment='d1') и ...'d2'; ключ — course.provider.key.",
        "Резервная группа — третий элемент с другим model_name ('backup'); Router(..., "
        "fallbacks=[{'main': ['backup']}]) — список словарей, не просто список.",
    ],
    wrong_answers=[
        lambda: litellm.Router(model_list=[  # one deployment only
            {"model_name": "main", "litellm_params": {"model": CHECK_MODEL}},
            {"model_name": "backup", "litellm_params": {"model": REFERENCE_MODELS[1]}}],
            fallbacks=[{"main": ["backup"]}]),
        lambda: litellm.Router(model_list=[  # two deployments, no fallback group
            {"model_name": "main", "litellm_params": {
                "model": CHECK_MODEL, "api_key": current_course().provider.key,
                "api_base": current_course().provider.api_base("openrouter", deployment=name)}}
            for name in ("d1", "d2")]),
    ],
))


# --- 07.8 extension: a budget guard that knows the cache is free ----------------------------------

def reference_make_guard(limit_usd: float):
    import litellm

    spent = 0.0

    def guarded_ask(prompt: str):
        nonlocal spent
        if spent >= limit_usd:  # проверяем ДО запроса: после — деньги уже потрачены
            raise litellm.BudgetExceededError(current_cost=spent, max_budget=limit_usd)
        response = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                      messages=[{"role": "user", "content": prompt}])
        spent += response._hidden_params.get("response_cost") or 0.0  # попадание в кэш стоит 0.0
        return response

    return guarded_ask


def check_make_guard(make_guard: Callable[[float], Callable[[str], Any]]) -> str:
    expect(callable(make_guard), "ожидается функция make_guard(limit_usd).")
    p = provider()
    saved_budget = litellm.max_budget
    try:
        with fresh_disk_cache("check-07.8"):
            base = p.stats()["cost"]
            probe = make_guard(1.0)
            probe("Проверка задания 07.8: пробный запрос")
            unit = p.stats()["cost"] - base
            expect(unit > 0, "пробный запрос ничего не стоил у провайдера: до модели он не дошёл?")
            limit = 3.5 * unit
            guard = make_guard(limit)
            base = p.stats()["cost"]
            requests = p.requests()
            for _ in range(5):
                _call_or_fail("повторы одного запроса идут из кэша и бесплатны, а сторож их остановил",
                              guard, "Проверка задания 07.8: повтор")
            expect(p.requests() - requests == 1, "повторы одного запроса должны приходить из кэша.")
            for i in range(12):
                spent = p.stats()["cost"] - base
                requests = p.requests()
                try:
                    guard(f"Проверка задания 07.8: вопрос {i}")
                except NotImplementedError:
                    raise
                except Exception:
                    expect(p.requests() == requests, "запрос, на котором сработал бюджет, всё же ушёл к модели: "
                                                     "проверяйте бюджет ДО вызова.")
                    expect(spent >= limit, f"бюджет сработал рано: потрачено ${spent:.7f} из ${limit:.7f}. "
                                           "Ответы из кэша стоят 0.0 (response_cost).")
                    return f"сторож остановил запрос №{i + 1}: потрачено ${spent:.7f} при лимите ${limit:.7f}."
                expect(spent < limit, f"запрос прошёл, хотя потрачено уже ${spent:.7f} при лимите ${limit:.7f}.")
            raise CheckFailed(f"сторож так и не остановил запросы: потрачено ${p.stats()['cost'] - base:.7f} "
                              f"при лимите ${limit:.7f}. litellm.max_budget сам ничего не считает — "
                              "складывайте response_cost сами.")
    finally:
        litellm.max_budget = saved_budget


def _seed_budget(limit_usd: float):
    litellm.max_budget = limit_usd  # the seed's approach: never accrues for chat completions
    return lambda prompt: litellm.completion(model=CHECK_MODEL, messages=messages(prompt))


def _count_calls(limit_usd: float):
    calls = []

    def ask(prompt: str):
        if len(calls) >= 3:
            raise RuntimeError("бюджет")
        calls.append(prompt)
        return litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
    return ask


def _check_after(limit_usd: float):
    spent = [0.0]

    def ask(prompt: str):
        response = litellm.completion(model=CHECK_MODEL, messages=messages(prompt))
        spent[0] += response._hidden_params.get("response_cost") or 0.0
        if spent[0] > limit_usd:
            raise RuntimeError("бюджет")
        return response
    return ask


register(Exercise(
    id="07.8",
    title="Дополнительно: сторож бюджета, который знает, что кэш бесплатен",
    check=check_make_guard,
    reference=reference_make_guard,
    hints=[
        "Верните функцию-замыкание: она хранит потраченное, до запроса сравнивает его с лимитом и бросает "
        "исключение, а после запроса прибавляет response._hidden_params['response_cost'].",
        "litellm.max_budget не работает для completion (урок 06). Попадание в кэш стоит 0.0 — его не "
        "останавливайте, пока лимит не исчерпан.",
    ],
    wrong_answers=[_seed_budget, _count_calls, _check_after],
))
