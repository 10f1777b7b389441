"""Lesson 03 exercises: a fallback that really serves, and a Router fallback group.

Both checkers arm an outage on the practice provider and judge from its log which model
(or deployment) was tried and which one answered.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from course_helpers.checks import Exercise, NotAttempted, expect, provider, register
from course_helpers.practice_data import answer_for
from course_helpers.provider import PracticeProvider

PRIMARY, FALLBACK = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini"
PRIMARY_ID, FALLBACK_ID = "openai/gpt-4o", "openai/gpt-4o-mini"


def _tries(model: str | None = None, deployment: str | None = None) -> list[Any]:
    """Statuses the provider answered, in order, for one model or deployment."""
    return [e["status"] for e in provider().log()
            if (model is None or e["model"] == model) and (deployment is None or e["deployment"] == deployment)]


def _cleanup() -> None:
    """After a check: no outage left for the lesson's next cells, and no LiteLLM logging
    tasks left queued. Outside a running event loop (tests, scripts) sync calls leave async
    success-logging tasks pending; they would reach the callbacks of a later check
    (lesson 06 counts spend in one). In Jupyter the kernel's loop runs them by itself."""
    provider().clear_faults()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

        asyncio.run(asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout=10))


# --- 03.1 ---------------------------------------------------------------------------
def reference_answer_with_fallback(messages: list[dict]) -> str:
    import litellm

    response = litellm.completion(model="openrouter/openai/gpt-4o", messages=messages,
                                  fallbacks=["openrouter/openai/gpt-4o-mini"])
    return response.choices[0].message.content


def check_answer_with_fallback(answer_with_fallback: Callable[[list[dict]], str]) -> str:
    expect(callable(answer_with_fallback), "ожидается функция answer_with_fallback(messages), а не значение.")
    try:
        return _judge_answer_with_fallback(answer_with_fallback, provider())
    finally:
        _cleanup()


def _judge_answer_with_fallback(answer_with_fallback: Callable[[list[dict]], str], p: PracticeProvider) -> str:
    prompt = "Проверка задания 03.1: основная модель лежит"
    p.fail(PRIMARY_ID, 503)
    text = answer_with_fallback([{"role": "user", "content": prompt}])
    expect(isinstance(text, str), f"функция должна вернуть текст ответа (str), а вернула {type(text).__name__}.")
    primary, fallback = _tries(PRIMARY_ID), _tries(FALLBACK_ID)
    expect(len(primary) >= 1, f"к основной модели {PRIMARY} не было ни одного запроса: начинать нужно с неё.")
    expect(len(primary) == 1, f"основная модель получила {len(primary)} запроса(ов) при сбое 503, а нужен ровно 1: "
                              "при аварии сразу переходите к резервной (без повторов той же модели).")
    expect(fallback == [200], f"резервная модель {FALLBACK} должна была ответить один раз; провайдер видел: {fallback}.")
    expect(text == answer_for(prompt), "вернулся не тот текст: нужен ответ на переданные messages.")
    p.reset()
    prompt = "Проверка задания 03.1: основная модель здорова"
    text = answer_with_fallback([{"role": "user", "content": prompt}])
    expect(_tries(PRIMARY_ID) == [200] and not _tries(FALLBACK_ID),
           "когда основная модель здорова, отвечать должна она, а резервная не должна получать запросов; "
           f"провайдер видел: основная {_tries(PRIMARY_ID)}, резервная {_tries(FALLBACK_ID)}.")
    expect(text == answer_for(prompt), "при здоровой основной модели вернулся не тот текст.")
    return "при сбое основная модель получила 1 запрос, ответила резервная; без сбоя — только основная."


register(Exercise(
    id="03.1",
    title="Ответ, несмотря на сбой основной модели",
    check=check_answer_with_fallback,
    reference=reference_answer_with_fallback,
    hints=[
        "У litellm.completion есть параметр fallbacks=[...] — список резервных моделей.",
        "litellm.completion(model='openrouter/openai/gpt-4o', messages=messages, "
        "fallbacks=['openrouter/openai/gpt-4o-mini']) и верните response.choices[0].message.content.",
    ],
    wrong_answers=[
        # only the primary: the 503 escapes
        lambda messages: __import__("litellm").completion(model=PRIMARY, messages=messages).choices[0].message.content,
        # only the fallback: the primary is never tried
        lambda messages: __import__("litellm").completion(model=FALLBACK, messages=messages).choices[0].message.content,
        # the project's ask with its default retry: the primary gets 2 requests
        lambda messages: __import__("course_helpers").ask(__import__("course_helpers").Request(
            model=PRIMARY, fallbacks=[FALLBACK], messages=messages), verbose=False, sleep=lambda s: None).value,
    ],
))


# --- 03.2 ---------------------------------------------------------------------------
def reference_build_router(provider: PracticeProvider) -> "Router":
    from litellm import Router

    def deployment(group: str, model: str, name: str) -> dict:
        return {"model_name": group,
                "litellm_params": {"model": model, "api_key": provider.key,
                                   "api_base": provider.api_base("openrouter", deployment=name)}}

    return Router(
        model_list=[deployment("main", "openrouter/openai/gpt-4o", "d1"),
                    deployment("reserve", "openrouter/anthropic/claude-3-haiku", "d2")],
        fallbacks=[{"main": ["reserve"]}],
        num_retries=0,
    )


def check_build_router(build_router: Callable[[Any], Any]) -> str:
    expect(callable(build_router), "ожидается функция build_router(provider), которая возвращает Router.")
    try:
        return _judge_build_router(build_router, provider())
    finally:
        _cleanup()


def _judge_build_router(build_router: Callable[[Any], Any], p: PracticeProvider) -> str:
    from litellm import Router

    router = build_router(p)
    if router is None or router is Ellipsis:
        raise NotAttempted("функция пока ничего не возвращает")
    expect(isinstance(router, Router), f"build_router должна вернуть litellm.Router, а вернула {type(router).__name__}.")
    groups = set(router.get_model_names())
    expect({"main", "reserve"} <= groups, f"в Router нужны группы 'main' и 'reserve', а есть {sorted(groups)}.")
    messages = [{"role": "user", "content": "Проверка задания 03.2: авария на d1"}]
    p.fail("*", 503, deployment="d1")
    response = router.completion(model="main", messages=messages)
    d1, d2 = _tries(deployment="d1"), _tries(deployment="d2")
    expect(len(d1) >= 1, "при аварии Router не отправил ни одного запроса в d1: группа 'main' должна жить на "
                         "развёртывании d1 (api_base=provider.api_base('openrouter', deployment='d1')).")
    expect(len(d1) == 1, f"d1 получил {len(d1)} запроса(ов): Router повторял основную модель. "
                         "Нужен переход к резервной сразу: num_retries=0.")
    expect(d2 == [200], f"при аварии на d1 должна была ответить группа 'reserve' на d2; d2 видел: {d2}.")
    group = response._hidden_params.get("additional_headers", {}).get("x-litellm-model-group")
    expect(group == "reserve", f"ответ пришёл от группы {group!r}, а ожидалась 'reserve'.")
    expect(_tries(model="anthropic/claude-3-haiku") == [200],
           "в группе 'reserve' должна быть модель openrouter/anthropic/claude-3-haiku.")
    p.reset()
    response = router.completion(model="main", messages=[{"role": "user", "content": "Проверка задания 03.2: без аварии"}])
    expect(_tries(deployment="d1") == [200] and not _tries(deployment="d2"),
           "без аварии отвечать должна группа 'main' на d1, а резервная не должна получать запросов.")
    expect(_tries(model="openai/gpt-4o") == [200], "в группе 'main' должна быть модель openrouter/openai/gpt-4o.")
    return "авария на d1 → один запрос туда и ответ группы 'reserve' с d2; без аварии отвечает 'main'."


register(Exercise(
    id="03.2",
    title="Router с резервной группой",
    check=check_build_router,
    reference=reference_build_router,
    hints=[
        "Две записи в model_list: model_name='main' (gpt-4o на d1) и model_name='reserve' (claude-3-haiku на d2). "
        "Адрес развёртывания: provider.api_base('openrouter', deployment='d1'), ключ: provider.key.",
        "Router(model_list=..., fallbacks=[{'main': ['reserve']}], num_retries=0): fallbacks — список "
        "СЛОВАРЕЙ, а num_retries=0 убирает повторы перед переходом.",
    ],
    wrong_answers=[
        # a plain list: Router(...) raises ValueError
        lambda provider: __import__("litellm").Router(
            model_list=reference_build_router(provider).model_list, fallbacks=["reserve"], num_retries=0),
        # no fallbacks: the outage escapes
        lambda provider: __import__("litellm").Router(
            model_list=reference_build_router(provider).model_list, num_retries=0),
        # fallback group points back at the primary's own deployment
        lambda provider: __import__("litellm").Router(model_list=[
            {"model_name": "main", "litellm_params": {"model": "openrouter/openai/gpt-4o", "api_key": provider.key,
                                                      "api_base": provider.api_base("openrouter", deployment="d1")}},
            {"model_name": "reserve", "litellm_params": {"model": "openrouter/anthropic/claude-3-haiku",
                                                         "api_key": provider.key,
                                                         "api_base": provider.api_base("openrouter", deployment="d1")}},
        ], fallbacks=[{"main": ["reserve"]}], num_retries=0),
    ],
))
