"""Lesson 05 exercises: Router weights (05.1) and a Router that survives an outage (05.2).

Both checkers call the learner's builder, send traffic through the returned Router to the
practice provider's deployments d1 and d2 and judge by the provider's stats.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from course_helpers.checks import Exercise, expect, provider, register

GROUP = "gpt-3.5-turbo"
MODEL = "openai/gpt-3.5-turbo"
MESSAGES = [{"role": "user", "content": "Привет!"}]


def _deployment(name: str, **params: Any) -> dict[str, Any]:
    p = provider()
    return {"model_name": GROUP,
            "litellm_params": {"model": f"openrouter/{MODEL}", "api_base": p.api_base("openrouter", deployment=name),
                               "api_key": p.key, **params}}


def _router_from(build: Callable[[], Any]) -> Any:
    from litellm import Router

    expect(callable(build), "ожидается функция без аргументов, которая возвращает Router.")
    router = build()
    expect(isinstance(router, Router), f"функция должна вернуть litellm.Router, а вернула {type(router).__name__}.")
    return router


def _served() -> dict[str, int]:
    return {dep: s["requests"] for dep, s in provider().stats()["by_deployment"].items()}


# --- 05.1 ------------------------------------------------------------------------------

def reference_weighted_router():
    from litellm import Router

    return Router(model_list=[_deployment("d1", weight=9), _deployment("d2", weight=1)])


def check_weighted_router(build: Callable[[], Any]) -> str:
    router = _router_from(build)
    provider().set_latency(MODEL, base_ms=0, per_token_ms=0)
    random.seed(0)  # simple-shuffle draws from `random`: the check is reproducible
    n = 200
    for _ in range(n):
        router.completion(model=GROUP, messages=MESSAGES)
    served = _served()
    expect(set(served) <= {"d1", "d2"},
           f"запросы ушли не только в d1 и d2: {sorted(served)}. Адреса: "
           "course.provider.api_base('openrouter', deployment='d1') и 'd2'.")
    share = served.get("d1", 0) / n
    expect(served.get("d2", 0) > 0, "d2 не получил ни одного запроса: нужны оба развёртывания в одной группе.")
    expect(0.8 <= share <= 0.97,
           f"d1 получил {share:.0%} запросов, а нужно около 90%. Задайте развёртываниям веса 9 : 1.")
    return f"из {n} запросов d1 получил {served['d1']}, d2 — {served['d2']} (около 90 : 10)."


# --- 05.2 ------------------------------------------------------------------------------

def reference_resilient_router():
    from litellm import Router

    return Router(model_list=[_deployment("d1"), _deployment("d2")],
                  num_retries=2,      # two deployments in the group: retries without a pause
                  allowed_fails=1,    # != 3, so the count rule: cooldown at d1's second failure
                  cooldown_time=30)


def check_resilient_router(build: Callable[[], Any]) -> str:
    router = _router_from(build)
    p = provider()
    p.set_latency(MODEL, base_ms=5, per_token_ms=0)
    p.fail(MODEL, 503, deployment="d1")
    random.seed(0)
    n, errors = 40, []
    for _ in range(n):
        try:
            router.completion(model=GROUP, messages=MESSAGES)
        except Exception as e:  # a user-visible error
            errors.append(type(e).__name__)
            if len(errors) >= 3:  # enough to judge; a single deployment would wait out every backoff
                break
    p.clear_faults()
    served = _served()
    expect(not errors, f"пользователь увидел ошибки ({', '.join(sorted(set(errors)))}), а их быть не должно. "
                       "Нужны второе развёртывание и повтор запроса.")
    expect(served.get("d2", 0) >= n, "d2 ответил не на все запросы — проверьте, что он в той же группе.")
    expect(served.get("d1", 0) <= 10,
           f"сломанное d1 получило {served.get('d1', 0)} запросов: Router продолжает в него ходить. "
           "Выводите его из ротации быстрее (allowed_fails, cooldown_time).")
    return f"{n} запросов без единой ошибки; сломанное d1 получило всего {served.get('d1', 0)}."


def _hammering_router():
    """Wrong answer of 05.2: never cools d1 down."""
    from litellm import Router

    return Router(model_list=[_deployment("d1"), _deployment("d2")], allowed_fails=1000)


def _no_retries_router():
    """Wrong answer of 05.2: the first failure reaches the user."""
    from litellm import Router

    return Router(model_list=[_deployment("d1"), _deployment("d2")], num_retries=0, allowed_fails=1000)


def _equal_router():
    from litellm import Router

    return Router(model_list=[_deployment("d1"), _deployment("d2")])


def _only_d1_router():
    from litellm import Router

    return Router(model_list=[_deployment("d1")])


register(Exercise(
    id="05.1",
    title="Девять к одному",
    check=check_weighted_router,
    reference=reference_weighted_router,
    hints=[
        "simple-shuffle выбирает развёртывание случайно, но с весами: weight, а если его нет — rpm, затем tpm.",
        "Два развёртывания с одинаковым model_name 'gpt-3.5-turbo' и litellm_params "
        "{'model': 'openrouter/openai/gpt-3.5-turbo', 'api_base': ..., 'api_key': course.provider.key, "
        "'weight': 9} и 'weight': 1.",
    ],
    wrong_answers=[_equal_router, _only_d1_router, lambda: "Router"],
))

register(Exercise(
    id="05.2",
    title="Отказ без последствий",
    check=check_resilient_router,
    reference=reference_resilient_router,
    hints=[
        "Запрос, попавший на сломанное развёртывание, спасает повтор (ретрай): Router выбирает развёртывание "
        "группы заново, а сломанное нужно поскорее вывести из ротации (cooldown).",
        "Router(model_list=[d1, d2], num_retries=2, allowed_fails=1, cooldown_time=30): ретраи включены, "
        "а после второй ошибки d1 выводится из ротации на 30 секунд. (allowed_fails=3 ничего не меняет: "
        "это значение по умолчанию, и с ним d1 уходит в cooldown только после пяти неудач.)",
    ],
    wrong_answers=[_no_retries_router, _hammering_router],
))
