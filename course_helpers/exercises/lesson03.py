"""Lesson 03 (fallbacks, SDK level): predictions, quiz and three exercises.

* 03.1 (debug): the seed's manual fallback loop, repaired;
* 03.2 (build): a fallback with its own key and parameters (a second account), judged by
  which key and how many tokens each model got at the practice provider;
* 03.3 (decide): the cheapest fallback chain that still answers under a fault mix; the
  checker drives the learner's ``litellm.completion`` settings with the faults and reads,
  request by request, which models the provider saw.

Every checker arms faults on the practice provider, judges from its log and leaves the
provider clean (``reset``) for the lesson's next cells.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import litellm
import openai

from course_helpers.checks import Exercise, NotAttempted, expect, provider, register
from course_helpers.practice_data import answer_for
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.provider import PracticeProvider
from course_helpers.quizzes import Question, register_question

GPT4O, MINI, HAIKU = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"


def model_id(model: str) -> str:
    """The provider's id of a LiteLLM model string (``openrouter/openai/gpt-4o`` -> ``openai/gpt-4o``)."""
    return model.removeprefix("openrouter/")


@contextmanager
def clean_check() -> Iterator[PracticeProvider]:
    """A check on a fast practice provider with no cache in the way; afterwards the provider is
    reset (no faults, credit caps or limits leak into the lesson's next cells) and LiteLLM's
    queued logging tasks are run. Outside a running event loop (tests, scripts) sync calls leave
    async success-logging tasks pending; they would reach the callbacks of a later check (lesson
    06 counts spend in one). In Jupyter the kernel's loop runs them by itself."""
    p = provider()
    saved, litellm.cache = litellm.cache, None
    p.reset()
    p.set_latency_scale(0)
    try:
        yield p
    finally:
        litellm.cache = saved
        p.reset()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

            asyncio.run(asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout=10))


def seen(p: PracticeProvider, since: int = 0) -> dict[str, list[Any]]:
    """Statuses the provider answered per model, in order (log entries from ``since`` on)."""
    received: dict[str, list[Any]] = {}
    for entry in p.log()[since:]:
        received.setdefault(entry["model"], []).append(entry["status"])
    return received


# --- predictions ------------------------------------------------------------------------
def _who_answered(observed: tuple[int, str]) -> str:
    requests, model = observed
    known = {(2, "anthropic/claude-3-haiku"): "2 запроса: основная и claude-3-haiku — она и ответит",
             (3, "openai/gpt-4o-mini"): "3 запроса: LiteLLM опросит все модели, ответит последняя",
             (4, "anthropic/claude-3-haiku"): "4 запроса: основную сначала повторят, потом ответит claude-3-haiku",
             (1, "anthropic/claude-3-haiku"): "1 запрос: сразу ответит claude-3-haiku"}
    return known.get((requests, model), f"{requests} запроса(ов), ответила {model}")


register_prediction(Prediction(
    id="03.p1",
    question="Основная gpt-4o лежит (503). Вызов: litellm.completion(model=gpt-4o, fallbacks=[claude-3-haiku, "
             "gpt-4o-mini]). Сколько запросов получит провайдер и кто ответит?",
    options=["1 запрос: сразу ответит claude-3-haiku",
             "2 запроса: основная и claude-3-haiku — она и ответит",
             "3 запроса: LiteLLM опросит все модели, ответит последняя",
             "4 запроса: основную сначала повторят, потом ответит claude-3-haiku"],
    explanation="LiteLLM пробует модели по порядку: основная ответила 503, первая резервная ответила — на этом "
                "всё. Сама по себе litellm.completion через openrouter/ не повторяет запрос, поэтому их ровно два. "
                "Кто ответил, видно в response.model.",
    judge=_who_answered,
))

register_prediction(Prediction(
    id="03.p2",
    question="Основная модель ответила 400 (неверный запрос). Перейдёт ли fallbacks= к резервной модели?",
    options=["Да: ответит резервная", "Нет: поднимется BadRequestError"],
    explanation="fallbacks= в litellm.completion переходит к резервной модели на любой ошибке, включая 400 и 401. "
                "На 401 это бывает полезно (у резервной модели может быть свой ключ), на 400 — обычно нет: "
                "неверный запрос резервная модель, скорее всего, отвергнет так же.",
    judge=lambda observed: "Да: ответит резервная" if observed == "answered" else "Нет: поднимется BadRequestError",
))

_ALL_FAILED = {"RateLimitError": "RateLimitError — ошибка последней модели", "APIConnectionError": "APIConnectionError",
               "ServiceUnavailableError": "ServiceUnavailableError", "NoneType": "Никакое: вернётся None"}
register_prediction(Prediction(
    id="03.p3",
    question="Все три модели отвечают 429. Какое исключение прилетит из litellm.completion(..., fallbacks=[...])?",
    options=list(_ALL_FAILED.values()),
    explanation="Когда отказали все модели, LiteLLM поднимает litellm.APIConnectionError со status_code 500, а текст "
                "последней ошибки только вклеивает в сообщение («All fallback attempts failed»). Настоящий класс "
                "потерян: except litellm.RateLimitError такую ошибку не поймает.",
    judge=lambda name: _ALL_FAILED.get(name, name),
))

_RETRY_COUNTS = {3: "3: по одному каждой модели", 5: "5: три основной, по одному резервным",
                 7: "7: по три основной и claude-3-haiku, один gpt-4o-mini", 9: "9: по три каждой"}
register_prediction(Prediction(
    id="03.p4",
    question="num_retries=2, fallbacks=[claude-3-haiku, gpt-4o-mini]. gpt-4o всегда отвечает 503, claude-3-haiku — "
             "500, gpt-4o-mini здорова. Сколько запросов получит провайдер?",
    options=list(_RETRY_COUNTS.values()),
    explanation="num_retries в litellm.completion действует на каждую модель цепочки: основная получает 1 + 2 "
                "запроса, claude-3-haiku — тоже 3, и только потом отвечает gpt-4o-mini. Повторы лечат короткий сбой; "
                "когда модель лежит, это лишние запросы перед резервной.",
    judge=lambda n: _RETRY_COUNTS.get(n, f"{n} запросов"),
))

# --- quiz -------------------------------------------------------------------------------
register_question(Question(
    id="03.q1",
    text="Цикл из исходного урока (for model in models_to_try: try … break; except Exception: print(…)) стоит в "
         "функции, за ним return response. Отказали все модели. Что будет?",
    options=["Функция вернёт ответ последней модели", "UnboundLocalError: response не задан",
             "Поднимется RateLimitError последней модели", "Функция вернёт None"],
    correct=1,
    explanation="response ни разу не получил значение, и return response падает с UnboundLocalError — о настоящей "
                "причине ни слова. В ячейке ноутбука ещё хуже: response остаётся от прошлого запроса.",
))
register_question(Question(
    id="03.q2",
    text="После litellm.completion(..., fallbacks=[...]) какое поле честно говорит, какая модель ответила?",
    options=["response._hidden_params['litellm_model_name']", "response.model",
             "параметр model= самого вызова"],
    correct=1,
    explanation="response.model — модель, которая ответила (имя у провайдера, без openrouter/). "
                "litellm_model_name показывает основную модель, даже если она отказала.",
))
register_question(Question(
    id="03.q3",
    text="Основная модель всегда отвечает 503. litellm.completion(..., fallbacks=[резервная], num_retries=2) через "
         "openrouter/. Сколько запросов всего получит провайдер?",
    correct=4,
    explanation="Основная: первый запрос и два повтора — 3; резервная отвечает с первого раза — итого 4.",
))
register_question(Question(
    id="03.q4",
    text="Запрос не влезает в окно gpt-3.5-turbo. litellm.completion(model='openrouter/openai/gpt-3.5-turbo', …, "
         "context_window_fallbacks=['openrouter/openai/gpt-4o-mini']). Что будет?",
    options=["Ответит gpt-4o-mini", "BadRequestError: параметр проигнорирован, перехода нет",
             "ContextWindowExceededError, а затем переход"],
    correct=1,
    explanation="litellm.completion параметр context_window_fallbacks игнорирует: один запрос и BadRequestError. "
                "Обычный fallbacks= переходит и на этой ошибке.",
))
register_question(Question(
    id="03.q5",
    text="В клиенте проекта цикл идёт по счётчику attempt, а неожиданные ошибки обрабатываются так: except "
         "Exception: continue. Что будет, если основная модель отвечает 503?",
    options=["Переход к следующей модели", "Бесконечный повтор той же модели", "Ошибка поднимется наверх"],
    correct=1,
    explanation="503 — ServiceUnavailableError, его нет в кортеже (RateLimitError, Timeout, APIConnectionError, "
                "BudgetExceededError), и он попадает в except Exception: continue. attempt не растёт — цикл снова "
                "берёт ту же модель.",
))
register_question(Question(
    id="03.q6",
    text="У всех моделей цепочки один и тот же ключ. Основная ответила 401. Что правильно сделать ручному циклу?",
    options=["Перейти к следующей модели", "Сразу поднять AuthenticationError", "Повторить ту же модель"],
    correct=1,
    explanation="Неверный ключ не исправят ни повтор, ни другая модель с тем же ключом: каждая лишняя попытка — "
                "запрос в никуда. Другое дело — резервная модель со своим ключом (задание 3.2).",
))


# --- 03.1 (debug): the seed's loop, repaired ---------------------------------------------------
LOOP_MODELS = [MINI, "openrouter/openai/gpt-3.5-turbo", HAIKU]
SPIN = 4  # faults last this many requests: a loop that repeats one model gets an answer at last


def fallback_loop(models: list[str], messages: list[dict]) -> litellm.ModelResponse:
    last_error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except litellm.ContextWindowExceededError as e:  # потомок BadRequestError, но модель побольше поможет
            last_error = e
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise  # ключ или запрос неверны: другая модель не поможет
        except openai.APIError as e:  # остальные ошибки провайдера: к следующей модели
            last_error = e
    raise last_error


def _loop_run(fallback_loop: Callable, p: PracticeProvider, faults: dict[str, int], label: str) -> tuple[Any, str, dict]:
    """One scenario: reset, arm ``faults`` (model -> status, SPIN times each), call; (outcome, prompt, seen)."""
    p.reset()
    p.set_latency_scale(0)
    for model, status in faults.items():
        p.fail(model_id(model), status, times=SPIN)
    prompt = f"Проверка задания 03.1: {label}"
    try:
        outcome = fallback_loop(list(LOOP_MODELS), [{"role": "user", "content": prompt}])
    except NotImplementedError:
        raise
    except Exception as e:  # judged below: which error escaped is the point
        outcome = e
    return outcome, prompt, seen(p)


def _no_model_repeated(received: dict[str, list[Any]]) -> None:
    for model, statuses in received.items():
        expect(len(statuses) == 1, f"модель {model} получила {len(statuses)} запроса(ов) подряд ({statuses}): цикл "
                                   "должен переходить к следующей модели, а не повторять ту же.")


def _expect_answer(outcome: Any, prompt: str, label: str) -> None:
    if isinstance(outcome, BaseException):
        raise_class = type(outcome).__name__
        status = getattr(outcome, "status_code", None)
        expect(False, f"{label}: из функции вылетел {raise_class}{f' ({status})' if status else ''}, а нужно перейти "
                      "к следующей модели. Временные ошибки провайдера ловите общим предком openai.APIError.")
    expect(hasattr(outcome, "choices") and hasattr(outcome, "model"),
           f"функция должна вернуть ответ litellm.completion (response), а вернула {type(outcome).__name__}.")
    expect(outcome.choices[0].message.content == answer_for(prompt),
           "в ответе не тот текст: верните ответ модели на переданные messages.")


def _expect_raised(outcome: Any, wanted: type, label: str, why: str) -> None:
    if isinstance(outcome, UnboundLocalError):
        expect(False, f"{label}: функция упала с UnboundLocalError — переменная response не задана, потому что ни "
                      f"одна модель не ответила. Поднимите саму ошибку ({wanted.__name__}).")
    if not isinstance(outcome, BaseException):
        expect(False, f"{label}: функция вернула {type(outcome).__name__}, а должна поднять {wanted.__name__}. {why}")
    expect(isinstance(outcome, wanted), f"{label}: поднят {type(outcome).__name__} вместо {wanted.__name__} — класс "
                                        f"ошибки потерян. {why}")


def check_fallback_loop(fallback_loop: Callable[[list[str], list[dict]], Any]) -> str:
    expect(callable(fallback_loop), "ожидается функция fallback_loop(models, messages).")
    with clean_check() as p:
        first, second, third = (model_id(m) for m in LOOP_MODELS)
        outcome, prompt, received = _loop_run(fallback_loop, p, {LOOP_MODELS[0]: 503}, "первая модель отвечает 503")
        expect(first in received, f"к первой модели списка ({first}) не было ни одного запроса: начинать нужно с неё.")
        _no_model_repeated(received)
        _expect_answer(outcome, prompt, "первая модель ответила 503")
        expect(received == {first: [503], second: [200]},
               f"при 503 первой модели должна ответить вторая; провайдер видел: {received}.")

        faults = {LOOP_MODELS[0]: 504, LOOP_MODELS[1]: 500}
        outcome, prompt, received = _loop_run(fallback_loop, p, faults, "таймаут и 500")
        _no_model_repeated(received)
        _expect_answer(outcome, prompt, "первая модель ответила 504 (Timeout), вторая — 500 (APIError)")
        expect(received == {first: [504], second: [500], third: [200]},
               f"после 504 и 500 должна ответить третья модель; провайдер видел: {received}.")

        outcome, _, received = _loop_run(fallback_loop, p, dict.fromkeys(LOOP_MODELS, 429), "все отвечают 429")
        _no_model_repeated(received)
        _expect_raised(outcome, litellm.RateLimitError, "все модели ответили 429",
                       "Когда отказали все, поднимите последнюю ошибку как есть: вызывающий код должен узнать, что "
                       "это лимит.")
        expect(received == {first: [429], second: [429], third: [429]},
               f"каждую модель нужно попробовать ровно один раз; провайдер видел: {received}.")

        for status, wanted, what in ((401, litellm.AuthenticationError, "неверный ключ"),
                                     (400, litellm.BadRequestError, "неверный запрос")):
            outcome, _, received = _loop_run(fallback_loop, p, {LOOP_MODELS[0]: status}, f"{status}")
            tried = sum(len(s) for s in received.values())
            expect(tried == 1, f"при {status} ({what}) функция отправила {tried} запроса(ов): {what} другая модель "
                               f"не исправит — поднимите {wanted.__name__} сразу, после первого запроса.")
            _expect_raised(outcome, wanted, f"первая модель ответила {status}",
                           "Поднимите эту ошибку как есть (raise).")
    return ("503, 504 и 500 — к следующей модели; все 429 — RateLimitError; 401 и 400 — сразу своим классом, "
            "после одного запроса.")


def _seed_loop(models_to_try: list[str], messages: list[dict]) -> Any:
    """The seed's loop as the lesson prints it (wrong: unbound response, 401 tried everywhere)."""
    for model in models_to_try:
        try:
            response = litellm.completion(model=model, messages=messages)
            break
        except Exception:
            pass
    return response  # noqa: F821 - unbound when every model failed: the bug the learner fixes


def _narrow_except_loop(models: list[str], messages: list[dict]) -> Any:
    """Catches only the seed client's tuple: a 503 escapes."""
    from litellm.exceptions import APIConnectionError, RateLimitError, Timeout

    last_error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except (RateLimitError, Timeout, APIConnectionError) as e:
            last_error = e
    raise last_error


register(Exercise(
    id="03.1",
    title="Починить цикл из исходного урока",
    check=check_fallback_loop,
    reference=fallback_loop,
    answer_name="fallback_loop",
    imports="import litellm\nimport openai",
    hints=[
        "Три ошибки цикла: когда отказали все, response не задан; except Exception ловит и 401; ошибка только "
        "печатается, её класс теряется. Запоминайте последнюю ошибку в переменной и поднимите её после цикла.",
        "Порядок except (урок 02): сначала (litellm.AuthenticationError, litellm.BadRequestError) — raise; потом "
        "openai.APIError — общий предок остальных ошибок провайдера: запомнить и перейти к следующей модели. "
        "После цикла — raise last_error. Ответ возвращайте сразу: return litellm.completion(...).",
    ],
    wrong_answers=[_seed_loop, _narrow_except_loop,
                   lambda models, messages: litellm.completion(model=models[0], fallbacks=models[1:],
                                                               messages=messages)],
))


# --- 03.2 (build): a fallback on a second account -------------------------------------------
RESERVE_MAX_TOKENS = 30


def ask_with_reserve(messages: list[dict], reserve_key: str) -> str:
    response = litellm.completion(
        model="openrouter/openai/gpt-4o",
        messages=messages,
        fallbacks=[{"model": "openrouter/openai/gpt-4o-mini", "api_key": reserve_key, "max_tokens": 30}],
    )
    return response.choices[0].message.content


def _entries(p: PracticeProvider, since: int, model: str) -> list[dict[str, Any]]:
    return [e for e in p.log()[since:] if e["model"] == model_id(model)]


def check_ask_with_reserve(ask_with_reserve: Callable[[list[dict], str], str]) -> str:
    expect(callable(ask_with_reserve), "ожидается функция ask_with_reserve(messages, reserve_key).")
    with clean_check() as p:
        reserve_key = p.create_key("reserve", limit=1.0)
        p.set_credit_limit(0.0)  # the project's own key: out of credits, every call gets 402
        prompt = "Проверка задания 03.2: у основного ключа кончились кредиты"
        try:
            text = ask_with_reserve([{"role": "user", "content": prompt}], reserve_key)
        except NotImplementedError:
            raise
        except Exception as e:
            text = e
        main, spare = _entries(p, 0, GPT4O), _entries(p, 0, MINI)
        expect(main, f"к основной модели {GPT4O} не было запроса: начинать нужно с неё.")
        expect(main[0]["key"] != "reserve", "основная модель ходила с резервным ключом: он только для резервной модели "
                                            "(api_key внутри словаря в fallbacks, а не в самом вызове).")
        expect(len(main) == 1, f"основная модель получила {len(main)} запроса(ов): 402 повтор не вылечит.")
        wrong_key = [e for e in spare if e["key"] != "reserve"]
        expect(not wrong_key, "резервная модель пошла с основным ключом и тоже получила 402: передайте ей ключ "
                              "резервного аккаунта — словарь {'model': ..., 'api_key': reserve_key} в fallbacks.")
        expect(spare, f"резервной модели {MINI} не было запроса; провайдер видел: {seen(p)}.")
        expect([e["status"] for e in spare] == [200], f"резервная модель должна ответить один раз; провайдер видел: "
                                                      f"{seen(p)}.")
        expect(not isinstance(text, BaseException), f"функция упала с {type(text).__name__}: {text}")
        tokens = spare[0]["completion_tokens"]
        expect(tokens <= RESERVE_MAX_TOKENS, f"резервная модель ответила {tokens} токенами, а резервный аккаунт "
                                             f"оплачивает не больше {RESERVE_MAX_TOKENS}: max_tokens — в словаре "
                                             "резервной модели.")
        expect(isinstance(text, str), f"функция должна вернуть текст ответа (str), а вернула {type(text).__name__}.")
        expect(bool(text) and answer_for(prompt).startswith(text[:20]), "вернулся не тот текст: нужен ответ модели "
                                                                         "на переданные messages.")

        p.set_credit_limit(None)  # the project's key is fine again
        since = len(p.log())
        prompt = "Проверка задания 03.2: основной ключ в порядке"
        text = ask_with_reserve([{"role": "user", "content": prompt}], reserve_key)
        main, spare = _entries(p, since, GPT4O), _entries(p, since, MINI)
        expect([(e["status"], e["key"]) for e in main] == [(200, "practice-key")] and not spare,
               "когда основной ключ в порядке, отвечать должна основная модель с основным ключом, а резервная не "
               f"должна получать запросов; провайдер видел: {seen(p, since)}, ключи: "
               f"{[e['key'] for e in p.log()[since:]]}.")
        expect(main[0]["completion_tokens"] > RESERVE_MAX_TOKENS,
               f"основная модель ответила всего {main[0]['completion_tokens']} токенами: ограничение max_tokens "
               "нужно только резервной модели, основная отвечает полностью.")
        expect(text == answer_for(prompt), "при здоровой основной модели вернулся не тот текст.")
    return (f"основной ключ без кредитов → 402 и ответ gpt-4o-mini через резервный ключ ({tokens} токенов); "
            "основной ключ в порядке → отвечает gpt-4o, резервный ключ не тронут.")


register(Exercise(
    id="03.2",
    title="Резервная модель на втором аккаунте",
    check=check_ask_with_reserve,
    reference=ask_with_reserve,
    answer_name="ask_with_reserve",
    imports="import litellm",
    hints=[
        "Элемент fallbacks может быть словарём: model плюс параметры вызова, которые действуют только для этой "
        "модели, — в том числе api_key и max_tokens.",
        "fallbacks=[{'model': 'openrouter/openai/gpt-4o-mini', 'api_key': reserve_key, 'max_tokens': 30}]; у "
        "основного вызова ни api_key, ни max_tokens не задавайте.",
    ],
    wrong_answers=[
        # a plain string: the reserve model goes with the project's key and gets 402 too
        lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages, fallbacks=[MINI],
                                                         max_tokens=30).choices[0].message.content,
        # the reserve key for the whole call
        lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages, api_key=reserve_key,
                                                         fallbacks=[{"model": MINI, "max_tokens": 30}]
                                                         ).choices[0].message.content,
        # no token cap for the reserve account
        lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages,
                                                         fallbacks=[{"model": MINI, "api_key": reserve_key}]
                                                         ).choices[0].message.content,
    ],
))


# --- 03.3 (decide): the cheapest chain that still answers ---------------------------------
PRICE_RANK = {model_id(MINI): 0, model_id(HAIKU): 1, model_id(GPT4O): 2}  # cheapest first
SERIES = 20  # requests under the mixed fault; then OUTAGE requests with gpt-4o-mini down
OUTAGE = 6
HAIKU_RPM = 2
MINI_FAILURE = 0.3


def _arm(p: PracticeProvider, mini_probability: float | None) -> None:
    p.reset()
    p.set_latency_scale(0)
    p.set_limits(model_id(HAIKU), rpm=HAIKU_RPM)
    p.fail(model_id(MINI), 503, probability=mini_probability)  # None: always


def _series(config: dict[str, Any], p: PracticeProvider, n: int, label: str) -> list[tuple[Any, str, list]]:
    """n calls with the learner's settings; per call (outcome, prompt, [(model, status), ...])."""
    out = []
    for i in range(1, n + 1):
        since = len(p.log())
        prompt = f"Проверка задания 03.3: {label}, запрос №{i}"
        try:
            outcome: Any = litellm.completion(**{**config, "messages": [{"role": "user", "content": prompt}]})
        except Exception as e:  # a user-visible error: judged below
            outcome = e
        out.append((outcome, prompt, [(e["model"], e["status"]) for e in p.log()[since:]]))
    return out


def _judge_series(results: list[tuple[Any, str, list]], label: str) -> None:
    for number, (outcome, prompt, attempts) in enumerate(results, start=1):
        expect(attempts, f"{label}: запрос №{number} не дошёл до провайдера — ответ получен без модели "
                         "(mock_response?). Нужны настоящие ответы.")
        tried: list[str] = []
        for model, status in attempts:
            expect(model in PRICE_RANK, f"{label}: запрос №{number} ушёл к {model}; в цепочке только "
                                        "gpt-4o-mini, claude-3-haiku и gpt-4o.")
            cheaper = [m for m, rank in PRICE_RANK.items() if rank < PRICE_RANK[model] and m not in tried]
            expect(not cheaper, f"{label}: запрос №{number} попал к {model.split('/')[-1]} раньше, чем к "
                                f"{', '.join(m.split('/')[-1] for m in cheaper)}: дорогая модель должна получать запрос, "
                                "только когда более дешёвые уже отказали.")
            tried.append(model)
    failed = [(n, o) for n, (o, _, _) in enumerate(results, start=1) if isinstance(o, BaseException)]
    if failed:
        last_models = {a[-1][0] for o, _, a in results if isinstance(o, BaseException) and a}
        why = (" claude-3-haiku пропускает только 2 запроса в минуту: последней в цепочке нужна модель без такого "
               "лимита." if last_models == {model_id(HAIKU)} else "")
        expect(False, f"{label}: {len(failed)} из {len(results)} запросов остались без ответа (запрос №{failed[0][0]}: "
                      f"{type(failed[0][1]).__name__}).{why}")
    for outcome, prompt, _ in results:
        expect(hasattr(outcome, "choices") and outcome.choices[0].message.content == answer_for(prompt),
               f"{label}: в ответе не тот текст — ответ должен прийти от модели на отправленный запрос.")


def check_chain_config(chain_config: dict[str, Any] | Callable[[], dict[str, Any]]) -> str:
    if callable(chain_config):  # a function that returns the settings is fine too
        chain_config = chain_config()
    if chain_config is None or chain_config == {}:
        raise NotAttempted("замените пустой словарь chain_config своими настройками и запустите ячейку снова.")
    expect(isinstance(chain_config, dict), f"chain_config — словарь параметров litellm.completion, а не "
                                           f"{type(chain_config).__name__}.")
    expect("model" in chain_config, "в chain_config нет 'model' — основной модели цепочки.")
    expect("messages" not in chain_config, "messages в chain_config не нужны: проверка подставит свои.")
    with clean_check() as p:
        _arm(p, MINI_FAILURE)
        mixed = _series(chain_config, p, SERIES, "gpt-4o-mini сбоит в 30 % случаев")
        _judge_series(mixed, "сбои 30 %")
        cost = p.stats()["cost"]
        by_model = {m.split("/")[-1]: sum(1 for o, _, a in mixed if a and a[-1] == (m, 200)) for m in PRICE_RANK}
        _arm(p, None)
        _judge_series(_series(chain_config, p, OUTAGE, "gpt-4o-mini лежит"), "gpt-4o-mini лежит")
    answered = ", ".join(f"{m} — {n}" for m, n in by_model.items())
    return (f"при сбоях ответили все {SERIES} запросов ({answered}; стоимость серии ${cost:.6f}), и ни одна дорогая "
            f"модель не получила запрос раньше дешёвой; когда gpt-4o-mini лежит, тоже ни одного отказа.")


register(Exercise(
    id="03.3",
    title="Самая дешёвая цепочка, которая всегда отвечает",
    check=check_chain_config,
    reference={"model": "openrouter/openai/gpt-4o-mini",
               "fallbacks": ["openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o"]},
    answer_name="chain_config",
    hints=[
        "Расставьте модели по цене: первой — самая дешёвая. У claude-3-haiku лимит 2 запроса в минуту: может ли она "
        "стоять последней?",
        "{'model': 'openrouter/openai/gpt-4o-mini', 'fallbacks': ['openrouter/anthropic/claude-3-haiku', "
        "'openrouter/openai/gpt-4o']} — и подумайте, что даст num_retries=1 для модели, которая сбоит в 30 % "
        "случаев.",
    ],
    wrong_answers=[
        {"model": MINI, "fallbacks": [GPT4O]},
        {"model": HAIKU, "fallbacks": [MINI, GPT4O]},
        {"model": MINI, "fallbacks": [HAIKU]},
    ],
))
