"""Lesson 01: caching — the exercises (debug a cache report, build the assistant's call with
per-call controls, decide a cache for two servers and two services), predictions and quiz.

``litellm.cache`` is global state. Every checker runs the learner's code inside
:func:`own_cache`, which saves the notebook's cache and restores it afterwards, so the
lesson's later cells (and other tests) see exactly the cache they had before. Checkers send
their own traffic without simulated latency (:func:`quick_provider`) and reset the practice
provider afterwards, which also restores its latency.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import litellm
from litellm.caching.caching import Cache, LiteLLMCacheType

from course_helpers.checks import CheckFailed, Exercise, NotAttempted, expect, provider, register
from course_helpers.practice_data import answer_for
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question
from course_helpers.redis_server import RedisUnavailable, redis_url

MODEL = "openrouter/openai/gpt-4o-mini"


@contextmanager
def own_cache(local: bool) -> Iterator[None]:
    """Run a check with no cache (``local=False``) or a fresh in-memory one; restore after."""
    saved = litellm.cache
    litellm.disable_cache()
    if local:
        litellm.enable_cache()
    try:
        yield
    finally:
        litellm.disable_cache()
        if saved is not None:
            litellm.cache = saved
            litellm.enable_cache()  # a cache is set: only re-adds the "cache" callbacks


@contextmanager
def quick_provider() -> Iterator[None]:
    """The check's traffic without simulated latency; afterwards the provider is reset (stats,
    faults and its start latency)."""
    provider().set_latency_scale(0)
    try:
        yield
    finally:
        provider().reset()


def _unique_prompt(exercise_id: str) -> str:
    """A prompt no cache has seen (a persistent disk or Redis cache survives between checks)."""
    return f"Проверка задания {exercise_id}: {uuid.uuid4().hex[:12]}"


def _requests() -> int:
    return provider().stats()["requests"]


def _hit(response: Any) -> bool:
    return getattr(response, "_hidden_params", {}).get("cache_hit") is True


def _expect_response(response: Any, prompt: str, who: str = "функция") -> None:
    expect(hasattr(response, "choices") and hasattr(response, "_hidden_params"),
           f"{who} должна вернуть ответ litellm.completion (ModelResponse), а вернула {type(response).__name__}.")
    expect(response.choices[0].message.content == answer_for(prompt),
           "в ответе не тот текст: отправьте модели именно переданный вопрос, без изменений.")


def _call(prompt: str) -> Any:
    return litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}])


# --- 01.1 · debug: the cache report ---------------------------------------------------------
def cache_report(responses):
    """Сколько ответов пришло из кэша, сколько от провайдера и сколько они стоили (USD)."""
    hits = misses = 0
    spent = 0.0
    for r in responses:
        if r._hidden_params.get("cache_hit"):
            hits += 1
        else:  # у промаха ключа cache_hit нет вовсе: .get даёт None
            misses += 1
            spent += r._hidden_params["response_cost"]
    return {"hits": hits, "misses": misses, "spent": spent}


def check_cache_report(cache_report: Callable[[list[Any]], dict[str, Any]]) -> str:
    expect(callable(cache_report), "ожидается функция cache_report(responses), а не значение.")
    prompts = [_unique_prompt("01.1") for _ in range(random.randint(2, 4))]
    responses = []
    with own_cache(local=True), quick_provider():
        for prompt in prompts:
            responses += [_call(prompt) for _ in range(random.randint(2, 4))]  # a miss, then hits
        responses.append(litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompts[0]}],
                                            cache={"no-cache": True}))  # a paid answer of a known question
        stats = provider().stats()
    random.shuffle(responses)
    misses, billed = stats["requests"], stats["cost"]
    hits = len(responses) - misses
    try:
        report = cache_report(list(responses))  # the provider is reset: the report must read the responses
    except KeyError as error:
        if error.args != ("cache_hit",):
            raise
        raise CheckFailed("r._hidden_params['cache_hit'] падает с KeyError на промахе: у промаха этого ключа нет "
                          "вовсе. Читайте его через .get('cache_hit').") from None
    expect(isinstance(report, dict) and {"hits", "misses", "spent"} <= set(report),
           f"функция должна вернуть словарь с ключами 'hits', 'misses', 'spent', а вернула {report!r:.120}.")
    expect(not (report["misses"] == 0 and report["hits"] == len(responses)),
           f"промахов 0, все ответы ({len(responses)}) посчитаны попаданиями, а запросов до провайдера дошло {misses}: "
           "у промаха cache_hit не False, а None (ключа нет), и сравнение == False не срабатывает.")
    expect(report["hits"] == hits and report["misses"] == misses,
           f"попаданий {report['hits']}, промахов {report['misses']}, а на деле {hits} и {misses} "
           "(каждый промах — запрос к провайдеру).")
    expect(isinstance(report["spent"], (int, float)) and math.isclose(report["spent"], billed, rel_tol=1e-6),
           f"потрачено {report['spent']!r}, а провайдер выставил ${billed:.8f}: сложите response_cost промахов "
           "(у попаданий он 0.0).")
    return f"попаданий: {hits}, промахов: {misses}, потрачено ${billed:.8f} — ровно как у провайдера."


# --- 01.2 · build: the assistant's call ----------------------------------------------------------
def ask(question: str, tenant: str, fresh: bool = False, private: bool = False):
    controls = {"namespace": tenant}  # у каждого клиента свои записи: ключ tenant:<sha256>
    if fresh or private:
        controls["no-cache"] = True  # не брать ответ из кэша
    if private:
        controls["no-store"] = True  # и не записывать новый
    return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                              messages=[{"role": "user", "content": question}],
                              cache=controls)


def check_ask(ask: Callable[..., Any]) -> str:
    expect(callable(ask), "ожидается функция ask(question, tenant, fresh=False, private=False), а не значение.")
    q, secret = _unique_prompt("01.2"), _unique_prompt("01.2")

    def call(*args: Any, **kwargs: Any) -> Any:
        before = _requests()
        response = ask(*args, **kwargs)
        expect(not (_hit(response) and _requests() > before),
               "ответ помечен попаданием (cache_hit=True), но запрос дошёл до провайдера, а попадание до него не "
               "доходит. Не меняйте _hidden_params: пусть кэш LiteLLM работает сам.")
        return response

    with own_cache(local=True), quick_provider():
        a1 = call(q, "alice")
        _expect_response(a1, q)
        expect(not _hit(a1) and _requests() == 1, "первый вопрос alice должен дойти до провайдера "
                                                  f"(дошло запросов: {_requests()}).")
        b1 = call(q, "bob")
        expect(not _hit(b1) and _requests() == 2,
               "bob получил ответ, закэшированный для alice: записи клиентов не разделены. Ключ кэша не учитывает "
               "api_key, api_base и metadata; разделяют user=tenant или cache={'namespace': tenant}.")
        a2 = call(q, "alice")
        expect(not _hit(a2) or a2.id == a1.id,
               "alice получила из кэша ответ, полученный для другого клиента: у клиентов один ключ, и свежий ответ "
               "bob записался поверх записи alice. Не читать кэш для одного клиента (no-cache или caching=False) — не "
               "разделение: ответ всё равно пишется в кэш. Сделайте ключи разными: user=tenant или "
               "cache={'namespace': tenant}.")
        b2 = call(q, "bob")
        expect(_hit(a2) and _hit(b2) and _requests() == 2,
               f"повтор клиента не попал в кэш (провайдер получил запросов: {_requests()}, а должен 2): для каждого "
               "клиента кэш должен работать.")
        expect(b2.id == b1.id, "bob получил из кэша ответ, полученный для другого клиента: у клиентов один ключ.")
        refreshed = call(q, "alice", fresh=True)
        _expect_response(refreshed, q, "ask(..., fresh=True)")
        expect(not _hit(refreshed) and _requests() == 3,
               "fresh=True вернул ответ из кэша, а нужен свежий ответ провайдера: не читайте кэш (no-cache).")
        a3, b3 = call(q, "alice"), call(q, "bob")
        expect(_hit(a3) and a3.id == refreshed.id and _requests() == 3,
               "после fresh=True следующий вопрос alice получил не новый ответ: свежий ответ нужно сохранить "
               "(только no-cache, без no-store) и под ключом alice — проверьте, что namespace или user не потерялись.")
        expect(_hit(b3) and b3.id == b1.id, "fresh=True для alice изменил запись bob: у клиентов общий ключ.")
        first_private = call(secret, "alice", private=True)
        _expect_response(first_private, secret, "ask(..., private=True)")
        after_private = call(secret, "alice")
        expect(not _hit(after_private) and _requests() == 5,
               "private=True записал ответ в кэш: следующий обычный вопрос получил его из кэша. caching=False и "
               "no-cache пропускают только чтение, а ответ записывают; не записывает no-store.")
        again_private = call(secret, "alice", private=True)
        expect(not _hit(again_private) and _requests() == 6,
               "private=True прочитал ответ из кэша: no-store только не записывает. Нужно и не читать: "
               "cache={'no-cache': True, 'no-store': True}.")
    return "клиенты разделены, повтор — попадание, fresh обновляет запись, private идёт мимо кэша."


# --- 01.3 · decide: a cache for two servers and two services ------------------------------------
def make_cache(service: str):
    return Cache(
        type=LiteLLMCacheType.REDIS,  # общий для всех серверов: в памяти и на диске у каждого свой
        url=redis_url(),
        ttl=3600,  # час; без ttl записи Redis живут 60 секунд
        namespace=service,  # ключи service:<sha256>: сервисы не видят записей друг друга
    )


def _server_cache(make_cache: Callable[[str], Any], service: str) -> Any:
    """One server starting up: a fresh process has no cache, so litellm.cache is None first."""
    litellm.cache = None
    cache = make_cache(service)
    expect(cache is not None, "make_cache вернула None: enable_cache ничего не возвращает. Верните объект "
                              "кэша — Cache(...) или litellm.cache.")
    expect(isinstance(cache, Cache), f"make_cache должна вернуть объект Cache, а вернула {type(cache).__name__}.")
    return cache


def _expect_login(cache: Any) -> None:
    """Log in to Redis once as the learner's RedisCache does, without redis-py's retries (each costs
    seconds, and LiteLLM has already retried at start-up): a missing password fails right away."""
    import redis

    settings = cache.redis_client.connection_pool.connection_kwargs
    client = redis.Redis(**{k: settings[k] for k in ("host", "port", "db", "username", "password") if k in settings},
                         socket_timeout=5)
    try:
        client.ping()
    except redis.AuthenticationError:
        raise CheckFailed("Redis курса защищён паролем, а ваш кэш подключается без него: передайте адрес "
                          "целиком — url=REDIS (пароль в нём), а не только host и port.") from None
    except redis.RedisError as error:
        raise CheckFailed(f"ваш кэш не может подключиться к Redis ({type(error).__name__}): "
                          "передайте адрес Redis курса — url=REDIS.") from None
    finally:
        client.close()


def check_make_cache(make_cache: Callable[[str], Any]) -> str:
    expect(callable(make_cache), "ожидается функция make_cache(service), а не значение.")
    try:
        url = redis_url()
    except RedisUnavailable as error:
        raise NotAttempted(f"для этого задания нужен Redis. {error}") from None
    import redis

    client = redis.Redis.from_url(url)
    question = _unique_prompt("01.3")
    messages = [{"role": "user", "content": question}]
    keys: list[str] = []
    with own_cache(local=False), quick_provider():
        try:
            first = _server_cache(make_cache, "assistant")
            kind = type(first.cache).__name__
            if kind == "RedisCache":  # LiteLLM swallows Redis errors: a refused login looks like a plain miss
                _expect_login(first.cache)
            second, search = (_server_cache(make_cache, service) for service in ("assistant", "search"))
            expect(first is not second, "оба сервера получили один и тот же объект Cache, а у каждого сервера "
                                        "свой процесс и свой объект: создавайте кэш внутри make_cache.")
            keys = [cache.get_cache_key(model=MODEL, messages=messages) for cache in (first, search)]
            litellm.cache = first
            answer = _call(question)
            _expect_response(answer, question, "вызов через ваш кэш")
            litellm.cache = second
            shared = _call(question)
            expect(_hit(shared) and shared.id == answer.id and _requests() == 1, {
                "InMemoryCache": "второй сервер не получил ответ первого: кэш в памяти живёт в процессе одного "
                                 "сервера. Нужен общий кэш — Redis.",
                "RedisCache": "второй сервер не получил ответ первого: оба сервера должны смотреть в один Redis "
                              "(url=REDIS) с одним namespace.",
            }.get(kind, f"второй сервер не получил ответ первого ({kind}): нужен общий для серверов кэш — Redis."))
            expect(kind == "RedisCache", f"{kind} — файл на диске одного сервера: здесь оба «сервера» на одной "
                                         "машине, а на двух у каждого свой диск. Нужен общий кэш — Redis.")
            litellm.cache = search
            other = _call(question)
            expect(not _hit(other) and _requests() == 2,
                   "поиск получил ответ ассистента: сервисы делят записи. Дайте каждому сервису своё пространство "
                   "имён: namespace=service (ключи service:<sha256>).")
            ttl = client.pttl(keys[0]) / 1000
            expect(ttl > 0, f"записи ассистента нет в Redis по ключу {keys[0]}: кэш пишет не в Redis курса.")
            expect(not 50 <= ttl <= 60, f"записи живут {ttl:.0f} с — это TTL Redis-кэша LiteLLM по умолчанию. "
                                        "Задайте ttl=3600 (или litellm.default_redis_ttl до создания кэша).")
            expect(3500 <= ttl <= 3600, f"записи живут {ttl:.0f} с, а нужен час (3600 с): ttl задаётся в секундах.")
        finally:
            for key in keys:
                client.delete(key)
            client.close()
    return "два сервера делят ответы через Redis, записи живут час, у сервисов свои пространства имён."


register(Exercise(
    id="01.1",
    title="Отчёт о кэше",
    check=check_cache_report,
    reference=cache_report,
    answer_name="cache_report",
    hints=[
        "Запустите проверку: она назовёт первую ошибку. Вспомните прогноз 01.p2: что лежит в cache_hit у промаха?",
        "У промаха ключа cache_hit нет: r._hidden_params['cache_hit'] падает, а .get('cache_hit') даёт None, не "
        "False. Попадание — .get('cache_hit') is True, промах — всё остальное (else).",
    ],
    wrong_answers=[
        lambda responses: {"hits": sum(1 for r in responses if r._hidden_params["cache_hit"]),  # KeyError on a miss
                           "misses": 0, "spent": 0.0},
        lambda responses: {  # == False never matches a miss
            "hits": sum(1 for r in responses if r._hidden_params.get("cache_hit") is not False),
            "misses": sum(1 for r in responses if r._hidden_params.get("cache_hit") == False),  # noqa: E712
            "spent": 0.0},
        lambda responses: {  # counts right, but the cost of the hits' zeros only
            "hits": sum(1 for r in responses if r._hidden_params.get("cache_hit")),
            "misses": sum(1 for r in responses if not r._hidden_params.get("cache_hit")),
            "spent": sum(r._hidden_params["response_cost"] for r in responses if r._hidden_params.get("cache_hit"))},
    ],
))

register(Exercise(
    id="01.2",
    title="Вызов ассистента",
    check=check_ask,
    reference=ask,
    answer_name="ask",
    imports="import litellm",
    hints=[
        "Три требования — три вещи из урока: что входит в ключ кэша (раздел 1.3) и что делают no-cache и no-store "
        "в параметре cache={...} (раздел 1.4). Все указания кэшу для одного вызова — в одном словаре.",
        "Клиенты: cache={'namespace': tenant} (или user=tenant). fresh: добавьте 'no-cache': True (не читать, "
        "но записать). private: 'no-cache': True и 'no-store': True. caching=False для private не годится: он "
        "записывает ответ.",
    ],
    wrong_answers=[
        lambda question, tenant, fresh=False, private=False: litellm.completion(  # tenants share entries
            model=MODEL, messages=[{"role": "user", "content": question}],
            cache={"no-cache": fresh or private, "no-store": private}),
        lambda question, tenant, fresh=False, private=False: litellm.completion(  # private writes
            model=MODEL, messages=[{"role": "user", "content": question}], user=tenant,
            caching=not (fresh or private)),
        lambda question, tenant, fresh=False, private=False: litellm.completion(  # fresh loses the namespace
            model=MODEL, messages=[{"role": "user", "content": question}],
            cache={"no-cache": True, "no-store": private} if fresh or private else {"namespace": tenant}),
    ],
))

register(Exercise(
    id="01.3",
    title="Кэш для двух серверов",
    check=check_make_cache,
    reference=make_cache,
    answer_name="make_cache",
    imports="from litellm.caching.caching import Cache, LiteLLMCacheType\n\nfrom course_helpers import redis_url",
    hints=[
        "Три требования — три решения: какой тип кэша виден с двух серверов (раздел 1.7), сколько живут записи "
        "этого типа по умолчанию и как разделить записи двух сервисов в одном хранилище.",
        "Cache(type=LiteLLMCacheType.REDIS, url=REDIS, ttl=3600, namespace=service) — и верните его.",
    ],
    wrong_answers=[
        lambda service: Cache(),  # in memory: every server has its own
        lambda service: Cache(type="redis", url=redis_url(), namespace=service),  # the default 60 s TTL
        lambda service: Cache(type="redis", url=redis_url(), ttl=3600),  # services share entries
    ],
))


# --- predictions -----------------------------------------------------------------------------------
register_prediction(Prediction(
    id="01.p1",
    question="Дисковый кэш включён. Тот же вопрос — четыре вызова подряд. Сколько запросов получит провайдер?",
    options=["4", "2", "1"],
    explanation="Первый вызов — промах: запрос к провайдеру, ответ записан в cache.db. Три следующих — попадания: "
                "ответ взят с диска, провайдер их не видит, и стоимость у них 0.0.",
))

register_prediction(Prediction(
    id="01.p2",
    question="Что вернёт r._hidden_params.get('cache_hit') у ответа-промаха?",
    options=["False", "None", "0"],
    explanation="У промаха ключа cache_hit в _hidden_params нет вовсе: .get даёт None, а r._hidden_params"
                "['cache_hit'] падает с KeyError. Сравнение == False не сработает никогда: попадание — "
                ".get('cache_hit') is True, промах — всё остальное.",
    judge=repr,
))

KEY_OPTIONS = ["попадание: ответ из кэша", "промах: запрос уйдёт к провайдеру", "ошибка 401: ключ неверный"]
register_prediction(Prediction(
    id="01.p3",
    question="Ответ на вопрос уже в кэше. Тот же вопрос с другим api_key — даже неверным. Что получит вызов?",
    options=KEY_OPTIONS,
    explanation="api_key не входит в ключ кэша: ответ, закэшированный для одного ключа, получит вызов с любым "
                "другим — даже неверным, а провайдер запроса не увидит. Без кэша тот же неверный ключ получает 401.",
    judge=lambda was_hit: KEY_OPTIONS[0] if was_hit else KEY_OPTIONS[1],
))

HIT_OPTIONS = ["попадание: ответ из кэша", "промах: запрос уйдёт к провайдеру"]
register_prediction(Prediction(
    id="01.p4",
    question="Новый вопрос отправлен с caching=False, а следующий такой же — обычным вызовом. "
             "Что получит второй вызов?",
    options=HIT_OPTIONS,
    explanation="caching=False только пропускает чтение из кэша, а ответ всё равно записывает (LiteLLM не пишет в "
                "кэш лишь при no-store). Поэтому следующий обычный вызов — попадание. Мимо кэша совсем: "
                "cache={'no-cache': True, 'no-store': True}.",
    judge=lambda was_hit: HIT_OPTIONS[0 if was_hit else 1],
))

RACE_OPTIONS = ["ни одного: ответ уже в кэше", "хотя бы один"]
register_prediction(Prediction(
    id="01.p5",
    question="Пять разных вопросов: каждый через await acompletion, и сразу, без паузы, он же ещё раз. "
             "Сколько немедленных повторов промахнутся?",
    options=RACE_OPTIONS,
    explanation="После асинхронного вызова запись в кэш идёт в фоне, отдельной задачей: ответ уже у вас, а в "
                "кэше его ещё нет. Немедленный повтор может промахнуться и заплатить ещё раз; через долю секунды "
                "запись на месте. Сколько именно промахнётся, зависит от того, что раньше выполнит цикл событий.",
    judge=lambda misses: RACE_OPTIONS[0 if misses == 0 else 1],
))


# --- quiz ------------------------------------------------------------------------------------------
register_question(Question(
    id="01.q1",
    text="Как проверить, что ответ r — промах кэша?",
    options=["r._hidden_params.get('cache_hit') == False", "not r._hidden_params.get('cache_hit')",
             "r._hidden_params['cache_hit'] is False"],
    correct=1,
    explanation="У промаха ключа cache_hit нет: .get даёт None (не False), а индексирование падает с KeyError.",
))
register_question(Question(
    id="01.q2",
    text="Что из этого НЕ входит в ключ кэша LiteLLM?",
    options=["temperature", "user", "api_key", "messages"],
    correct=2,
    explanation="В ключе: модель (точная строка), messages, temperature, max_tokens, seed, user, stream. Не в ключе: "
                "api_key, api_base, metadata, timeout, num_retries — поэтому клиентов разделяют сами.",
))
register_question(Question(
    id="01.q3",
    text="Нужен свежий ответ провайдера, и сохранять его в кэш нельзя. Что передать в вызов?",
    options=["caching=False", "cache={'no-cache': True}", "cache={'no-store': True}",
             "cache={'no-cache': True, 'no-store': True}"],
    correct=3,
    explanation="no-cache — не читать, no-store — не записывать; нужны оба. caching=False и no-cache ответ записывают, "
                "а no-store без no-cache вернёт запись из кэша, если она есть.",
))
register_question(Question(
    id="01.q4",
    text="Сколько секунд живёт запись Redis-кэша LiteLLM, если ttl не задан?",
    correct=60,
    explanation="По умолчанию 60 секунд: через минуту кэш пуст. Задайте ttl= в Cache/enable_cache или "
                "litellm.default_redis_ttl до создания кэша.",
))
register_question(Question(
    id="01.q5",
    text="Сколько записей самое большее держит кэш в памяти (LOCAL) LiteLLM?",
    correct=200,
    explanation="InMemoryCache хранит не больше 200 записей (и по 600 секунд); Cache(...) создаёт его без аргументов, "
                "так что предел не поменять. Для большего числа разных вопросов — Redis.",
))
register_question(Question(
    id="01.q6",
    text="Дисковый кэш уже включён. Что сделает litellm.enable_cache()?",
    options=["заменит его кэшем в памяти", "ничего: останется дисковый", "выключит кэш"],
    correct=1,
    explanation="enable_cache молча оставляет уже включённый кэш. Заменяют его litellm.cache = Cache(...) или "
                "update_cache; выключает — disable_cache.",
))
register_question(Question(
    id="01.q7",
    text="Диалог из шести сообщений (с системным), кэш с настройками по умолчанию. Повтор того же запроса будет…",
    options=["попаданием", "промахом"],
    correct=1,
    explanation="У Cache max_messages=4 по умолчанию: запрос, в котором больше четырёх сообщений, кэш не читает и не "
                "записывает. Снять предел: Cache(..., max_messages=None).",
))
