"""Lesson 05 (routing): predictions, quiz and three exercises.

* 05.1 (measure): how many requests a broken deployment gets before the Router cools it down,
  for a status and an ``allowed_fails``; judged against the provider's stats of the learner's
  own run and against the same experiment run by the checker;
* 05.2 (decide): a Router that absorbs the death of deployment d1: d1 shares the traffic while
  healthy, no user-visible error, at most two requests to d1 during the outage, d1 back in the
  rotation within seconds after the repair;
* 05.3 (build): the assistant's group on two deployments (3 : 1) with a reserve group.

The small helpers below mirror the lesson's setup cell (same names, same code; the notebook has
Russian docstrings), so a reference solution reads the same here and pasted into the notebook.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import litellm
from litellm import Router

from course_helpers.checks import Exercise, NotAttempted, expect, provider, register
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.provider import PracticeProvider
from course_helpers.quizzes import Question, register_question

MODEL = "openai/gpt-3.5-turbo"  # the provider's id: stats, faults and limits use it
MSG = [{"role": "user", "content": "Привет!"}]


# --- mirror of the lesson's setup cell ------------------------------------------------------------
class _Course:
    """Stands for the notebook's ``course``: ``course.provider`` is this kernel's practice provider."""

    @property
    def provider(self) -> PracticeProvider:
        return provider()


course = _Course()


def deployment(name: str, flavor: str = "openrouter", group: str = "gpt-3.5-turbo", model: str = MODEL,
               **params: Any) -> dict:
    """A deployment of ``group`` on the practice provider (d1, d2, o1, …); ``params`` go to litellm_params."""
    prefix = "openrouter/" if flavor == "openrouter" else ""
    return {"model_name": group,
            "litellm_params": {"model": prefix + model, "api_base": course.provider.api_base(flavor, deployment=name),
                               "api_key": course.provider.key, **params}}


def unique(name: str, **options: Any) -> dict:
    """The same deployment with its own id: no limit counters inherited from other Routers of the process."""
    return {**deployment(name, **options), "model_info": {"id": uuid.uuid4().hex}}


def where(response: Any) -> str:
    """Which deployment answered: 'd1', 'd2', … (from api_base)."""
    return response._hidden_params["api_base"].split("/")[3]


def attempt(router: Any, group: str = "gpt-3.5-turbo") -> str:
    """One call: the deployment that answered, or the error's class name."""
    try:
        return where(router.completion(model=group, messages=MSG))
    except Exception as e:
        return type(e).__name__


def served() -> dict:
    """Requests each deployment received, from the provider's stats."""
    return {dep: s["requests"] for dep, s in course.provider.stats()["by_deployment"].items()}


def quiet_provider() -> None:
    """The provider without faults, limits or stats; no simulated latency."""
    course.provider.reset()
    course.provider.set_latency_scale(0)


_CALLBACK_LISTS = ("callbacks", "success_callback", "_async_success_callback", "failure_callback",
                   "_async_failure_callback", "input_callback", "service_callback")


@contextmanager
def routers_forgotten() -> Iterator[None]:
    """Every Router adds its callbacks (its cooldown bookkeeping among them) to LiteLLM's global lists,
    which hold at most LITELLM_MAX_CALLBACKS (100) entries: past that, a new Router gets no cooldowns.
    The Routers made inside the block leave nothing behind."""
    saved = {name: list(getattr(litellm, name)) for name in _CALLBACK_LISTS}
    try:
        yield
    finally:
        for name, items in saved.items():
            getattr(litellm, name)[:] = items


@contextmanager
def clean_check() -> Iterator[None]:
    """A check from a quiet provider; afterwards the provider is reset for the lesson's next cells, the
    check's Routers leave no callbacks behind, and LiteLLM's queued logging tasks are run (outside a
    running event loop sync calls leave them behind)."""
    saved, litellm.cache = litellm.cache, None
    quiet_provider()
    try:
        with routers_forgotten():
            yield
    finally:
        litellm.cache = saved
        provider().reset()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

            asyncio.run(asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout=10))


def _router_from(build: Callable[[], Any], name: str) -> Any:
    expect(callable(build), f"ожидается функция {name}() без аргументов, которая возвращает Router.")
    try:
        router = build()
    except ValueError as e:
        expect("is not a dictionary" not in str(e),
               "Router(fallbacks=...) принимает только список словарей {'группа': ['резервная группа']}: "
               f"простой список даёт ValueError ({e}).")
        raise
    if router is None or router is Ellipsis:
        raise NotAttempted("функция пока ничего не возвращает")
    expect(isinstance(router, Router), f"{name}() должна вернуть litellm.Router, а вернула {type(router).__name__}.")
    return router


# --- predictions ------------------------------------------------------------------------------------
_SHARES = ["Почти всё — d1, примерно 9 из 10", "Поровну: Router делит трафик пополам",
           "Всё — d1: d2 получит запросы, только когда d1 выберет свои 900 в минуту"]
register_prediction(Prediction(
    id="05.p1",
    question="Два развёртывания одной группы: d1 с rpm=900, d2 с rpm=100. Куда уйдут 100 запросов?",
    options=_SHARES,
    explanation="Стратегия по умолчанию simple-shuffle выбирает развёртывание случайно, а rpm (или weight, или tpm) "
                "служит весом: 900 к 100 — это примерно 9 запросов из 10 на d1. Никакого «сначала выбрать лимит "
                "d1» нет: d2 получает свою долю с первых запросов.",
    judge=lambda share: _SHARES[2] if share == 1.0 else _SHARES[0] if share > 0.75 else
    _SHARES[1] if 0.35 <= share <= 0.65 else f"d1 получил {share:.0%}",
))

_RPM = {6: "Все 6: rpm здесь только вес", 3: "3: остальные Router отклонит сам, до провайдера они не дойдут"}
register_prediction(Prediction(
    id="05.p2",
    question="Одно развёртывание с rpm=3, Router без дополнительных настроек, 6 вызовов подряд. Сколько запросов "
             "дойдёт до провайдера?",
    options=list(_RPM.values()) + ["3: остальные получат от провайдера 429"],
    explanation="Без проверки перед вызовом rpm — вес для simple-shuffle (и предел одновременных запросов), а не "
                "лимит в минуту: Router отправил все 6. Лимит соблюдается, только если его включить: "
                "optional_pre_call_checks=['enforce_model_rate_limits'].",
    judge=lambda n: _RPM.get(n, f"{n} запросов"),
))

_COOL = ["d1 сразу выходит из ротации: 1 запрос, у пользователя ошибок нет",
         "d1 терпит три неудачи (allowed_fails=3): 4 запроса",
         "d1 получает свою половину запросов, но повторы на d2 спасают каждый",
         "d1 получает свою половину, и часть пользователей видит RateLimitError"]


def _judge_cooldown(observed: tuple[int, int]) -> str:
    d1_requests, user_errors = observed
    if user_errors:
        return _COOL[3]
    return {1: _COOL[0], 4: _COOL[1]}.get(d1_requests, _COOL[2])


register_prediction(Prediction(
    id="05.p3",
    question="d1 и d2 — одна группа, настройки Router по умолчанию. d1 отвечает 429 на каждый запрос. Что будет "
             "за 20 вызовов?",
    options=_COOL,
    explanation="По правилу по умолчанию первый же 429 в группе из нескольких развёртываний отправляет развёртывание в "
                "cooldown, а повтор (num_retries=2) тут же уходит на d2: d1 получил один запрос, пользователь ошибок "
                "не видел. allowed_fails=3 — это значение по умолчанию, и неудачи поштучно оно не считает.",
    judge=_judge_cooldown,
))

_GROUP = {1: "1: сразу резервная группа", 2: "2: по одному запросу на каждое развёртывание",
          3: "3: первая попытка и два повтора", 6: "6: по три на каждое развёртывание"}
register_prediction(Prediction(
    id="05.p4",
    question="В группе два развёртывания, оба отвечают 503; есть резервная группа; num_retries по умолчанию. Сколько "
             "запросов получит основная группа, прежде чем ответит резервная?",
    options=list(_GROUP.values()),
    explanation="Резервная группа вступает, когда основная исчерпала повторы: первая попытка и num_retries=2 повтора — "
                "3 запроса, каждый раз с новым выбором развёртывания внутри группы. Пауз нет: в группе есть другое "
                "развёртывание, не ушедшее в cooldown.",
    judge=lambda n: _GROUP.get(n, f"{n} запросов"),
))

# --- quiz -------------------------------------------------------------------------------------------
register_question(Question(
    id="05.q1",
    text="В model_list у развёртывания записано \"rpm\": 10000, других настроек нет. Что это для Router?",
    options=["Лимит: больше 10000 запросов в минуту он не пропустит",
             "Вес для случайного выбора (и предел одновременных запросов), но не лимит в минуту",
             "Ничего: Router это поле не читает"],
    correct=1,
    explanation="simple-shuffle взвешивает выбор по weight, rpm или tpm; из rpm LiteLLM ещё выводит предел запросов «в "
                "полёте». Лимит в минуту — только с optional_pre_call_checks=['enforce_model_rate_limits'].",
))
register_question(Question(
    id="05.q2",
    text="Что заставит Router соблюдать rpm развёртывания и в router.completion, и в router.acompletion?",
    options=["enable_pre_call_checks=True", "optional_pre_call_checks=['enforce_model_rate_limits']",
             "routing_strategy='simple-shuffle'"],
    correct=1,
    explanation="enforce_model_rate_limits пропускает ровно rpm запросов в минуту, остальным — RateLimitError до сети; "
                "работает в sync и async. enable_pre_call_checks=True лимит не соблюдает.",
))
register_question(Question(
    id="05.q3",
    text="Router(model_list=[d1, d2], allowed_fails=3, num_retries=0). d1 всегда отвечает 503, d2 здоров, вызовы идут "
         "по одному. Сколько запросов получит d1, прежде чем уйдёт в cooldown?",
    correct=5,
    explanation="allowed_fails=3 совпадает со значением по умолчанию, поэтому действует правило по умолчанию: cooldown, "
                "когда больше половины запросов за минуту упали и их не меньше 5 — на пятой неудаче. Правило «на (N + 1)-й "
                "неудаче» включается только при N ≠ 3.",
))
register_question(Question(
    id="05.q4",
    text="Router(model_list=..., fallbacks=[\"reserve\"]) — простой список, как в litellm.completion. Что будет?",
    options=["Работает так же, как в litellm.completion", "ValueError: элемент списка не словарь",
             "Параметр молча игнорируется"],
    correct=1,
    explanation="В Router(...) fallbacks — список словарей {'группа': ['резервная группа']}. Простой список Router "
                "принимает только как default_fallbacks или в самом вызове router.completion(..., fallbacks=[...]).",
))
register_question(Question(
    id="05.q5",
    text="Все развёртывания группы ушли в cooldown. Какой except поймает ошибку router.completion?",
    options=["except litellm.RateLimitError", "except ValueError", "except litellm.ServiceUnavailableError"],
    correct=1,
    explanation="Router бросает RouterRateLimitError — подкласс ValueError со status_code 429, а не "
                "litellm.RateLimitError.",
))
register_question(Question(
    id="05.q6",
    text="Когда Router делает паузу перед повтором запроса?",
    options=["Всегда: 0,5 с, 1 с, 2 с…", "Только когда в группе нет другого развёртывания, не ушедшего в cooldown",
             "Никогда: повтор идёт сразу"],
    correct=1,
    explanation="Если в группе есть другое здоровое развёртывание, повтор идёт сразу; пауза (с Retry-After — длиннее) "
                "бывает, только когда повторять больше негде, например в группе из одного развёртывания.",
))
register_question(Question(
    id="05.q7",
    text="routing_strategy='cost-based-routing' и синхронный router.completion. Что будет?",
    options=["Выберет самое дешёвое развёртывание", "Ошибка «нет доступных развёртываний»",
             "Выберет случайно, как simple-shuffle"],
    correct=1,
    explanation="У cost-based-routing нет синхронной реализации: router.completion падает с RouterRateLimitError "
                "(«No deployments available»), не отправив ни одного запроса. Только acompletion.",
))
register_question(Question(
    id="05.q8",
    text="Два процесса сервиса, в каждом Router с rpm=4 и enforce_model_rate_limits, Redis не подключён. Сколько "
         "запросов в минуту пропустят оба вместе?",
    correct=8,
    explanation="Без Redis счётчики живут в памяти каждого процесса: по 4 на процесс. С Router(redis_url=...) "
                "процессы делят поминутные счётчики, и вместе пропустят 4.",
))


# --- 05.1 (measure): failures before a cooldown ------------------------------------------------------
MEASURE_CASES = [(503, None), (503, 3), (503, 1), (429, None), (429, 2), (500, 4), (401, None)]


def failures_before_cooldown(status: int, allowed_fails: int | None = None) -> int:
    quiet_provider()
    course.provider.fail(MODEL, status, deployment="d1")
    options = {} if allowed_fails is None else {"allowed_fails": allowed_fails}
    router = Router(model_list=[deployment("d1"), deployment("d2")], num_retries=0, cooldown_time=60, **options)
    for _ in range(30):
        attempt(router)
    return served()["d1"]


def _minute() -> int:
    return int(time.time() // 60)


def _measured_twice(fn: Callable[..., Any], status: int, allowed: int | None) -> tuple[int, Any, list[dict]]:
    """The learner's run and the checker's own, both inside one minute (the default rule counts per
    minute): (expected, learner's value, the provider's log of the learner's run)."""
    for _ in range(3):
        minute = _minute()
        quiet_provider()
        random.seed(5)
        got = fn(status, allowed)  # the learner's run first: a stub is "not attempted" at once
        log = provider().log()
        quiet_provider()
        random.seed(5)
        expected = failures_before_cooldown(status, allowed)
        if _minute() == minute:
            return expected, got, log
    return expected, got, log


def check_failures_before_cooldown(fn: Callable[[int, int | None], int]) -> str:
    expect(callable(fn), "ожидается функция failures_before_cooldown(status, allowed_fails=None).")
    rows = []
    with clean_check():
        for status, allowed in MEASURE_CASES:
            expected, got, log = _measured_twice(fn, status, allowed)
            setting = "по умолчанию" if allowed is None else f"allowed_fails={allowed}"
            case = f"status={status}, {setting}"
            expect(isinstance(got, int) and not isinstance(got, bool),
                   f"для {case} функция вернула {got!r}, а нужно число запросов к d1 (int).")
            d1 = sum(1 for e in log if e["deployment"] == "d1")
            expect(got == d1, f"для {case} вы вернули {got}, а провайдер получил на d1 {d1} запроса(ов) в этом опыте: "
                              "верните число запросов к d1 из статистики провайдера, а не из своего счётчика.")
            deployments = {e["deployment"] for e in log}
            expect("d2" in deployments or got == expected,
                   f"для {case} в опыте не было запросов к d2: нужен Router из двух развёртываний, d1 и d2 (у одиночного "
                   "развёртывания другие правила cooldown).")
            expect(all(e["status"] == 200 for e in log if e["deployment"] == "d2"),
                   f"для {case} d2 тоже отвечал ошибками: сбой нужен только на d1 (deployment='d1').")
            expect(all(e["status"] == status for e in log if e["deployment"] == "d1"),
                   f"для {case} d1 отвечал не {status}: включите сбой с переданным статусом.")
            expect(got == expected, f"для {case} опыт даёт {expected} запроса(ов) к d1, а ваша функция — {got}. "
                                    "Проверьте условия: новый Router в каждом опыте, num_retries=0, cooldown_time=60, "
                                    "allowed_fails передан (или не задан, если None), 30 вызовов.")
            rows.append(f"{status}/{setting}: {got}")
    return "; ".join(rows) + "."


def _counting_user_errors(status: int, allowed_fails: int | None = None) -> int:
    """Counts the errors the user saw, with the Router's default retries: they hide the failures."""
    quiet_provider()
    provider().fail(MODEL, status, deployment="d1")
    router = Router(model_list=[deployment("d1"), deployment("d2")], cooldown_time=60,
                    **({} if allowed_fails is None else {"allowed_fails": allowed_fails}))
    return sum(1 for _ in range(30) if attempt(router) not in ("d1", "d2"))


def _lone_deployment(status: int, allowed_fails: int | None = None) -> int:
    quiet_provider()
    provider().fail(MODEL, status, deployment="d1")
    router = Router(model_list=[deployment("d1")], num_retries=0, cooldown_time=60,
                    **({} if allowed_fails is None else {"allowed_fails": allowed_fails}))
    for _ in range(30):
        attempt(router)
    return served().get("d1", 0)


def _ignores_allowed_fails(status: int, allowed_fails: int | None = None) -> int:
    quiet_provider()
    provider().fail(MODEL, status, deployment="d1")
    router = Router(model_list=[deployment("d1"), deployment("d2")], num_retries=0, cooldown_time=60)
    for _ in range(30):
        attempt(router)
    return served().get("d1", 0)


register(Exercise(
    id="05.1",
    title="Сколько неудач терпит Router",
    check=check_failures_before_cooldown,
    reference=failures_before_cooldown,
    answer_name="failures_before_cooldown",
    imports="from litellm import Router",
    hints=[
        "Опыт из прогноза 05.p3 — в функцию: чистый провайдер (quiet_provider()), сбой только на d1 "
        "(course.provider.fail(MODEL, status, deployment='d1')), новый Router(model_list=[deployment('d1'), "
        "deployment('d2')], num_retries=0, cooldown_time=60), 30 вызовов attempt(router), ответ — served()['d1'].",
        "allowed_fails передавайте в Router, только если он не None: "
        "options = {} if allowed_fails is None else {'allowed_fails': allowed_fails}; Router(..., **options).",
    ],
    wrong_answers=[_counting_user_errors, _lone_deployment, _ignores_allowed_fails],
))


# --- 05.2 (decide): d1 dies, nobody notices ---------------------------------------------------------
OUTAGE_S = 1.0  # how long d1 is broken during the check
RETURN_S = 3.0  # d1 must be back in the rotation this soon after the repair
MAX_BROKEN = 2  # requests d1 may get while broken


def build_resilient_router() -> Router:
    return Router(
        model_list=[deployment("d1"), deployment("d2")],
        num_retries=2,  # повтор без паузы: в группе есть второе развёртывание
        allowed_fails=1,  # не 3: правило счёта — cooldown на второй неудаче
        cooldown_time=2,  # дольше аварии в проверке (1 с), короче 3 с после починки
    )


def check_resilient_router(build: Callable[[], Any]) -> str:
    with clean_check():
        router = _router_from(build, "build_resilient_router")
        random.seed(0)
        healthy = [attempt(router) for _ in range(20)]
        errors = [o for o in healthy if o not in ("d1", "d2")]
        expect(not errors, f"пока всё здорово, пользователь получил ошибки: {sorted(set(errors))}.")
        share = served()
        expect(share.get("d1", 0) >= 5, f"пока d1 здоров, он получил {share.get('d1', 0)} из 20 запросов: он должен "
                                         "делить трафик с d2 (в группе нужны оба развёртывания).")
        expect(share.get("d2", 0) >= 5, f"пока всё здорово, d2 получил {share.get('d2', 0)} из 20 запросов: "
                                         "нужны оба развёртывания в одной группе.")
        expect(set(share) <= {"d1", "d2"}, f"запросы ушли не только в d1 и d2: {sorted(share)}.")

        provider().fail(MODEL, 503, deployment="d1")
        since, start, broken = len(provider().log()), time.monotonic(), []
        while time.monotonic() - start < OUTAGE_S:
            outcome = attempt(router)
            if outcome not in ("d1", "d2"):
                broken.append(outcome)
        outage = [e for e in provider().log()[since:] if e["deployment"] == "d1"]
        seen = ", ".join(sorted(set(broken)))
        expect(not broken or len(outage) > len(broken),
               f"во время аварии пользователь увидел ошибки ({seen}): каждый запрос, попавший на сломанное d1, дошёл до "
               "пользователя — нужны повторы (num_retries), чтобы он повторился на d2.")
        expect(not broken, f"во время аварии пользователь увидел ошибки ({seen}): повторы снова попадали на сломанное d1 "
                           "— оно слишком долго остаётся в ротации. Выводите его из ротации быстрее (allowed_fails; 3 — "
                           "значение по умолчанию) и не возвращайте посреди аварии (cooldown_time).")
        expect(len(outage) <= MAX_BROKEN,
               f"за {OUTAGE_S:g} с аварии сломанное d1 получило {len(outage)} запроса(ов), а можно не больше "
               f"{MAX_BROKEN}: выводите его из ротации быстрее. Помните: allowed_fails=3 — это значение по умолчанию "
               "(правило «больше половины неудач за минуту»), а слишком короткий cooldown_time возвращает d1 в "
               "ротацию посреди аварии.")
        provider().clear_faults()
        fixed, back = time.monotonic(), None
        while time.monotonic() - fixed < RETURN_S and back is None:
            if attempt(router) == "d1":
                back = time.monotonic() - fixed
            time.sleep(0.02)
        expect(back is not None, f"d1 починили, но за {RETURN_S:g} с он не получил ни одного запроса: cooldown_time "
                                 "слишком велик (по умолчанию 5 с).")
    return (f"пока всё здорово, d1 и d2 делят трафик ({share.get('d1', 0)} : {share.get('d2', 0)}); авария — ни одной "
            f"ошибки у пользователя, d1 получил {len(outage)} запроса(ов); после починки d1 вернулся через "
            f"{back:.1f} с.")


def _default_pair() -> Router:
    return Router(model_list=[deployment("d1"), deployment("d2")])


def _only_d2() -> Router:
    return Router(model_list=[deployment("d2")])


def _long_cooldown() -> Router:
    return Router(model_list=[deployment("d1"), deployment("d2")], allowed_fails=1, cooldown_time=30)


def _no_retries() -> Router:
    return Router(model_list=[deployment("d1"), deployment("d2")], num_retries=0, allowed_fails=1, cooldown_time=2)


register(Exercise(
    id="05.2",
    title="Отказ без последствий",
    check=check_resilient_router,
    reference=build_resilient_router,
    answer_name="build_resilient_router",
    imports="from litellm import Router",
    hints=[
        "Три ручки: num_retries спасает запрос, попавший на сломанное d1; allowed_fails (или allowed_fails_policy) "
        "решает, после скольких неудач d1 уйдёт в cooldown; cooldown_time — на сколько секунд. Вспомните, что вы "
        "намерили в задании 5.1 для allowed_fails=3.",
        "Router(model_list=[deployment('d1'), deployment('d2')], num_retries=2, allowed_fails=1, cooldown_time=2): "
        "cooldown на второй неудаче, дольше секундной аварии и короче трёх секунд после починки.",
    ],
    wrong_answers=[_default_pair, _only_d2, _long_cooldown, _no_retries],
))


# --- 05.3 (build): the assistant's group with a reserve ----------------------------------------------
ASSISTANT, RESERVE = "assistant", "reserve"
MINI, HAIKU = "openai/gpt-4o-mini", "anthropic/claude-3-haiku"


def build_assistant_router() -> Router:
    return Router(
        model_list=[
            deployment("d1", group="assistant", model="openai/gpt-4o-mini", weight=3),
            deployment("d2", group="assistant", model="openai/gpt-4o-mini", weight=1),
            deployment("o1", group="reserve", model="anthropic/claude-3-haiku"),
        ],
        fallbacks=[{"assistant": ["reserve"]}],
    )


def _group(response: Any) -> str | None:
    return response._hidden_params.get("additional_headers", {}).get("x-litellm-model-group")


def check_assistant_router(build: Callable[[], Any]) -> str:
    with clean_check():
        router = _router_from(build, "build_assistant_router")
        groups = set(router.get_model_names())
        expect(ASSISTANT in groups, f"в Router нет группы '{ASSISTANT}': есть {sorted(groups)}.")
        random.seed(0)
        n = 100
        answered = [_group(router.completion(model=ASSISTANT, messages=MSG)) for _ in range(n)]
        by = served()
        expect(by.get("o1", 0) == 0 and set(answered) == {ASSISTANT},
               f"пока группа '{ASSISTANT}' здорова, резервное развёртывание o1 получило {by.get('o1', 0)} запросов: "
               "резерв — отдельная группа, а не третье развёртывание основной.")
        expect(by.get("d1", 0) and by.get("d2", 0), f"трафик группы '{ASSISTANT}' должен идти на d1 и d2; провайдер "
                                                    f"видел: {by}.")
        models = {e["model"] for e in provider().log()}
        expect(models == {MINI}, f"в группе '{ASSISTANT}' должна быть модель openrouter/{MINI}; провайдер видел {models}.")
        share = by["d1"] / n
        expect(0.65 <= share <= 0.85, f"d1 получил {share:.0%} трафика, а нужно около 75 % (3 : 1). Задайте веса: "
                                      "weight (или rpm) 3 и 1.")
        provider().fail(MINI, 503)  # both deployments of the group are down
        since = len(provider().log())
        for i in range(5):
            try:
                response = router.completion(model=ASSISTANT, messages=MSG)
            except Exception as e:  # a user-visible error
                reserve = [x for x in provider().log()[since:] if x["deployment"] == "o1"]
                expect(not reserve, f"группа '{ASSISTANT}' лежит, резерв o1 получил запрос, но ответил "
                                    f"{[x['status'] for x in reserve]}: в резервной группе нужна другая модель — "
                                    f"openrouter/{HAIKU}.")
                expect(False, f"группа '{ASSISTANT}' лежит, и пользователь получил {type(e).__name__}: резервная "
                              "группа не подключена (fallbacks=[{'assistant': ['reserve']}]).")
            expect(_group(response) == RESERVE and response.model == HAIKU,
                   f"при отказе группы '{ASSISTANT}' ответила группа {_group(response)!r} моделью {response.model}, "
                   f"а нужна группа '{RESERVE}' с {HAIKU}.")
        reserve = [x for x in provider().log()[since:] if x["status"] == 200]
        expect(all(x["deployment"] == "o1" for x in reserve), "резервная группа должна жить на развёртывании o1.")
    return (f"здоровая группа: d1 {by['d1']}, d2 {by['d2']} из {n} (около 3 : 1), резерв не тронут; группа лежит — "
            f"все 5 запросов ответила '{RESERVE}' ({HAIKU}) с o1.")


def _plain_list_fallbacks() -> Router:
    return Router(model_list=build_assistant_router().model_list, fallbacks=["reserve"])


def _equal_weights() -> Router:
    return Router(model_list=[deployment("d1", group="assistant", model=MINI), deployment("d2", group="assistant",
                                                                                          model=MINI),
                              deployment("o1", group="reserve", model=HAIKU)],
                  fallbacks=[{"assistant": ["reserve"]}])


def _reserve_same_model() -> Router:
    return Router(model_list=[deployment("d1", group="assistant", model=MINI, weight=3),
                              deployment("d2", group="assistant", model=MINI, weight=1),
                              deployment("o1", group="reserve", model=MINI)],
                  fallbacks=[{"assistant": ["reserve"]}])


register(Exercise(
    id="05.3",
    title="Группа ассистента с резервом",
    check=check_assistant_router,
    reference=build_assistant_router,
    answer_name="build_assistant_router",
    imports="from litellm import Router",
    hints=[
        "Три развёртывания в model_list: d1 и d2 с model_name 'assistant' (gpt-4o-mini, веса 3 и 1) и o1 с model_name "
        "'reserve' (claude-3-haiku). deployment(...) из первой ячейки урока принимает group= и model=.",
        "Router(model_list=[...], fallbacks=[{'assistant': ['reserve']}]) — в Router fallbacks только список "
        "словарей; простой список подойдёт в default_fallbacks.",
    ],
    wrong_answers=[_plain_list_fallbacks, _equal_weights, _reserve_same_model],
))
