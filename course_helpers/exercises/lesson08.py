"""Lesson 08 (the gateway): exercises, predictions and quiz.

* 08.1 (build): the ``router_settings`` of config.yaml for what lessons 02–05 built in Python
  (retries, a fallback group, enforced rpm). The proxy passes ``router_settings`` to
  ``litellm.Router`` as keyword arguments, and ignores (with a warning) any key Router does not
  take; the checker does the same in this kernel, then drives the Router with faults and a burst.
* 08.2 (decide): rpm per deployment for a provider limit, with and without a shared Redis; judged
  on scenarios with other numbers than the lesson's figure.
* 08.3 (debug): a client of the gateway with three real mistakes (URL, model, key); the checker
  calls it against a live replica and reads the provider's log to see that it went through it.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import litellm
from litellm.router_utils.pre_call_checks.model_rate_limit_check import ModelRateLimitingCheck

from course_helpers import gateway
from course_helpers.checks import CheckFailed, Exercise, expect, provider, register
from course_helpers.exercises.lesson05 import clean_check
from course_helpers.exercises.lesson06 import run_in_thread
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

# --- predictions ------------------------------------------------------------------------------
register_prediction(Prediction(
    id="08.p1",
    question="Запрос к шлюзу с model=\"assistant\". Что окажется в поле model ответа?",
    options=["assistant", "gpt-4o-mini", "openai/gpt-4o-mini"],
    explanation="прокси отвечает именем группы, которое прислал клиент, а не именем модели у провайдера. Какая "
                "модель и какое развёртывание ответили на самом деле, видно по заголовкам x-litellm-model-name и "
                "x-litellm-model-id.",
))

register_prediction(Prediction(
    id="08.p2",
    question="Развёртывание d1 группы assistant отвечает 503. Что получит клиент шлюза?",
    options=["200: ответ резервной группы", "503 от шлюза", "500 от шлюза"],
    explanation="Router внутри прокси делает то же, что в уроке 03: повтор (num_retries: 1) в той же группе, потом "
                "резервная группа backup из fallbacks. Клиент видит обычный 200, а заголовок "
                "x-litellm-attempted-fallbacks: 1 честно говорит, что ответила резервная модель.",
    judge=lambda status: "200: ответ резервной группы" if status == 200 else f"{status} от шлюза",
))

register_prediction(Prediction(
    id="08.p3",
    question="У группы free лимит rpm: 4. Две реплики шлюза без общего Redis, 12 запросов по очереди то в одну, "
             "то в другую. Сколько из них дойдёт до провайдера?",
    options=["4", "8", "12"],
    explanation="счётчики rpm живут в памяти каждой реплики: каждая пропускает свои 4 запроса в минуту, две — 8. "
                "N реплик без общего состояния пропускают до N×rpm. С общим Redis счётчик один (ключ с id "
                "развёртывания и минутой), и обе реплики вместе пропускают 4.",
))

register_prediction(Prediction(
    id="08.p4",
    question="Реплика A ответила на вопрос и записала ответ в кэш. Тот же вопрос задают реплике B. "
             "Ответит ли B из кэша?",
    options=["да, с Redis; без Redis — нет", "да, всегда", "нет, никогда"],
    explanation="кэш type: redis — общий для всех реплик: B находит запись A (заголовок x-litellm-cache-key, "
                "провайдер запрос не получил). Кэш в памяти (type: local) у каждой реплики свой.",
    judge=lambda hits: {(True, False): "да, с Redis; без Redis — нет", (True, True): "да, всегда"}.get(
        tuple(hits), "нет, никогда"),
))

# --- 08.1 (build): router_settings ----------------------------------------------------------------
MSG = [{"role": "user", "content": "Привет!"}]


def _model_list(p: Any) -> list[dict[str, Any]]:
    """The model_list of config.yaml with the practice provider's URLs put in (fresh ids: counters start at 0).

    Without the deployment budget: a Router with one needs a running event loop (lesson 06), and the
    exercise is about router_settings."""
    env = gateway.gateway_env(p)
    deployments = []
    for entry in gateway.load_config()["model_list"]:
        params = {k: env[v.split("/", 1)[1]] if isinstance(v, str) and v.startswith("os.environ/") else v
                  for k, v in entry["litellm_params"].items() if k not in ("max_budget", "budget_duration")}
        deployments.append({**entry, "litellm_params": params, "model_info": {"id": f"{entry['model_info']['id']}-"
                                                                              f"{uuid.uuid4().hex[:8]}"}})
    return deployments


def _router(settings: dict[str, Any], p: Any) -> litellm.Router:
    """What the proxy does with router_settings: Router(**valid keys); unknown keys are ignored."""
    expect(isinstance(settings, dict), "router_settings — это словарь (в YAML — раздел с ключами).")
    valid = set(litellm.Router.get_valid_args())
    unknown = [k for k in settings if k not in valid]
    expect(not unknown, f"ключ(и) {', '.join(map(str, unknown))} не аргумент(ы) litellm.Router: прокси их "
                        "проигнорирует с предупреждением в журнале. Сверьте имена с уроками 02, 03 и 05.")
    expect("model_list" not in settings, "model_list — отдельный раздел config.yaml, не часть router_settings.")
    return litellm.Router(model_list=_model_list(p), **settings)


def check_router_settings(settings: Any) -> str:
    if callable(settings):  # a function that builds the dict is fine too
        settings = settings()
    with clean_check():
        # a rate-limit handler left by an earlier Router would keep this Router from adding its own
        litellm.callbacks[:] = [c for c in litellm.callbacks if not isinstance(c, ModelRateLimitingCheck)]
        return run_in_thread(lambda: _drive_router(settings, provider()))


async def _drive_router(settings: Any, p: Any) -> str:
    """Async, as in the proxy: a one-off failure, a group down for good, a burst on free."""
    router = _router(settings, p)
    # 1. one failure of assistant is retried in the group: the user gets the answer of assistant
    p.fail("openai/gpt-4o-mini", 503, times=1, deployment="d1")
    await router.acompletion(model="assistant", messages=MSG)
    expect(p.requests(deployment="d1") >= 2,
           "сбой d1 не повторили: нужен повтор (retry) в той же группе — num_retries (урок 02).")
    expect(p.requests(deployment="d2") == 0,
           "после одного сбоя ответила резервная группа: сначала повтор в группе assistant (num_retries ≥ 1).")
    # 2. assistant down for good: the answer comes from backup
    p.reset()
    p.set_latency_scale(0)
    p.fail("openai/gpt-4o-mini", 503, deployment="d1")
    try:
        await router.acompletion(model="assistant", messages=MSG)
    except Exception as e:
        raise CheckFailed(f"assistant лежит, и пользователь получил {type(e).__name__}: нужна резервная группa backup "
                          "для assistant — fallbacks: [{\"assistant\": [\"backup\"]}] (урок 03).") from None
    expect(p.requests(deployment="d2") == 1, "при отказе assistant ответ пришёл не из группы backup: проверьте "
                                             "fallbacks — группа assistant → группа backup.")
    # 3. the free group's rpm: 4 is a limit, not a weight
    p.reset()
    p.set_latency_scale(0)
    statuses = []
    for i in range(6):
        try:
            await router.acompletion(model="free", messages=[{"role": "user", "content": f"лимит {i}"}])
            statuses.append("ok")
        except litellm.RateLimitError:
            statuses.append("429")
    expect(p.requests(deployment="d3") == 4,
           f"группа free (rpm: 4) пропустила к провайдеру {p.requests(deployment='d3')} запросов из 6: rpm в "
           "model_list — только вес для выбора развёртывания, пока его не включает "
           "optional_pre_call_checks: [\"enforce_model_rate_limits\"] (урок 05).")
    return "Router с вашими router_settings повторил сбой, перешёл на backup и удержал rpm 4 у free."


# the reference: the router_settings of the lesson's config.yaml, without Redis
ROUTER_SETTINGS: dict[str, Any] = {
    "num_retries": 1,
    "fallbacks": [{"assistant": ["backup"]}],
    "optional_pre_call_checks": ["enforce_model_rate_limits"],
}


def _no_fallbacks() -> dict[str, Any]:
    return {"num_retries": 1, "optional_pre_call_checks": ["enforce_model_rate_limits"]}


def _rpm_as_weight() -> dict[str, Any]:
    return {"num_retries": 2, "fallbacks": [{"assistant": ["backup"]}], "routing_strategy": "simple-shuffle"}


def _misspelled() -> dict[str, Any]:
    return {"retries": 1, "fallbacks": [{"assistant": ["backup"]}],
            "optional_pre_call_checks": ["enforce_model_rate_limits"]}


register(Exercise(
    id="08.1",
    title="router_settings для шлюза",
    check=check_router_settings,
    reference=ROUTER_SETTINGS,
    answer_name="router_settings",
    hints=[
        "Раздел router_settings — это аргументы litellm.Router: прокси передаёт их как Router(**router_settings). "
        "Нужны три: повтор в группе, резервная группа, лимит rpm как настоящий лимит.",
        "num_retries: 1; fallbacks: [{\"assistant\": [\"backup\"]}]; "
        "optional_pre_call_checks: [\"enforce_model_rate_limits\"].",
    ],
    wrong_answers=[_no_fallbacks(), _rpm_as_weight(), _misspelled()],
))

# --- 08.2 (decide): rpm per deployment -------------------------------------------------------------
SCENARIOS = [(60, 3, False), (60, 3, True), (100, 4, False), (20, 2, True), (50, 3, False), (7, 2, False)]


def check_rpm_plan(plan: Any) -> str:
    expect(callable(plan), "нужна функция rpm_for(provider_rpm, replicas, shared_redis) -> int.")
    for provider_rpm, replicas, shared in SCENARIOS:
        got = plan(provider_rpm, replicas, shared)
        expect(isinstance(got, int) and not isinstance(got, bool),
               f"rpm_for({provider_rpm}, {replicas}, {shared}) вернула {got!r}: rpm в config.yaml — целое число.")
        through = got if shared else got * replicas
        expect(through <= provider_rpm,
               f"провайдер даёт {provider_rpm} запросов в минуту, реплик {replicas}, общий Redis: {shared}. "
               f"С rpm: {got} шлюз пропустит до {through} в минуту — провайдер ответит 429. "
               + ("Без Redis каждая реплика считает сама: делите лимит на число реплик." if not shared else ""))
        best = provider_rpm if shared else provider_rpm // replicas
        expect(got == best,
               f"провайдер даёт {provider_rpm}, реплик {replicas}, общий Redis: {shared}: rpm {got} оставляет "
               f"неиспользованной часть лимита ({through} из {provider_rpm}). "
               + ("С общим Redis счётчик один на все реплики: ставьте весь лимит." if shared
                  else "Возьмите наибольшее целое, при котором реплики вместе не превысят лимит."))
    return "на каждом сценарии шлюз использует лимит провайдера целиком и не превышает его."


def rpm_for(provider_rpm: int, replicas: int, shared_redis: bool) -> int:
    """rpm for the deployment in config.yaml so that all replicas together stay within provider_rpm."""
    if shared_redis:
        return provider_rpm
    return provider_rpm // replicas


register(Exercise(
    id="08.2",
    title="Какой rpm записать в config.yaml",
    check=check_rpm_plan,
    reference=rpm_for,
    answer_name="rpm_for",
    hints=[
        "Посмотрите на график раздела 8.4: без Redis две реплики с rpm 4 пропустили 8, с Redis — 4.",
        "Без Redis N реплик пропускают N × rpm, значит rpm = provider_rpm // replicas (округление вниз). "
        "С общим Redis счётчик один: rpm = provider_rpm.",
    ],
    wrong_answers=[lambda rpm, n, shared: rpm, lambda rpm, n, shared: -(-rpm // n) if not shared else rpm,
                   lambda rpm, n, shared: rpm // n],
))

# --- 08.3 (debug): a client of the gateway ---------------------------------------------------------


def check_gateway_client(ask: Any) -> str:
    import openai

    expect(callable(ask), "нужна функция ask_gateway(url, key, question) -> str.")
    p = provider()
    p.set_latency_scale(0)
    replica = gateway.running_replica(p)
    question = f"Сколько будет {random.randint(100, 999)} + {random.randint(100, 999)}?"
    try:
        text = ask(replica.url, replica.key, question)
    except openai.NotFoundError:
        raise CheckFailed("шлюз ответил 404: base_url — это адрес шлюза (url), путь /chat/completions SDK "
                          "добавляет сам.") from None
    except (openai.BadRequestError, openai.InternalServerError, openai.AuthenticationError) as e:
        message = str(e)
        if "Invalid model name" in message:
            raise CheckFailed("шлюз не знает такой модели: model — это имя группы из model_list в config.yaml "
                              "(model_name), а не имя модели у провайдера.") from None
        if "No connected db" in message or "Internal Server Error" in message:
            raise CheckFailed("шлюз не принял ключ: клиент шлюза предъявляет мастер-ключ шлюза (key), а не ключ "
                              "провайдера. Ключи провайдера знает только config.yaml.") from None
        raise CheckFailed(f"шлюз ответил ошибкой: {message[:200]}") from None
    log = p.log()
    through = [e for e in log if e.get("deployment") == "d1"]
    expect(bool(through), "провайдер не получил запрос через шлюз (группа assistant → развёртывание d1): "
                          "функция должна спрашивать шлюз, а не провайдера напрямую и не возвращать готовый текст.")
    expect(len(through) == len(log), "часть запросов ушла к провайдеру в обход шлюза.")
    expect(isinstance(text, str) and question in text,
           f"функция вернула {str(text)[:80]!r}: нужен текст ответа — choices[0].message.content.")
    return "запрос прошёл через шлюз: группа assistant, мастер-ключ, адрес без лишнего пути."


def ask_gateway(url: str, key: str, question: str) -> str:
    """Ask the gateway's group ``assistant``; the answer's text."""
    import openai

    client = openai.OpenAI(base_url=url, api_key=key)
    response = client.chat.completions.create(model="assistant",
                                              messages=[{"role": "user", "content": question}])
    return response.choices[0].message.content


def _with_path(url: str, key: str, question: str) -> str:
    import openai

    client = openai.OpenAI(base_url=url + "/chat/completions", api_key=key)
    return client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": question}]
                                          ).choices[0].message.content


def _provider_model(url: str, key: str, question: str) -> str:
    import openai

    client = openai.OpenAI(base_url=url, api_key=key)
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
                                          ).choices[0].message.content


def _provider_key(url: str, key: str, question: str) -> str:
    import openai

    from course_helpers.practice import PRACTICE_KEY

    client = openai.OpenAI(base_url=url, api_key=PRACTICE_KEY)
    return client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": question}]
                                          ).choices[0].message.content


register(Exercise(
    id="08.3",
    title="Клиент шлюза",
    check=check_gateway_client,
    reference=ask_gateway,
    answer_name="ask_gateway",
    imports="import openai",
    hints=[
        "Три ошибки, по одной в адресе, в имени модели и в ключе. Запустите check: он называет первую.",
        "base_url=url (без /chat/completions); model=\"assistant\" — группа из config.yaml; api_key=key — мастер-ключ "
        "шлюза, не ключ провайдера.",
    ],
    wrong_answers=[_with_path, _provider_model, _provider_key],
))

# --- quiz -------------------------------------------------------------------------------------------
register_question(Question(
    id="08.q1", text="Где в config.yaml задаётся резервная модель для группы?",
    options=["router_settings.fallbacks", "litellm_settings.fallbacks", "model_list[].litellm_params.fallbacks",
             "general_settings.fallbacks"],
    correct=0,
    explanation="fallbacks — аргумент litellm.Router, а router_settings прокси передаёт в Router как есть.",
))
register_question(Question(
    id="08.q2", text="Четыре реплики без Redis, у развёртывания rpm: 10. Сколько запросов в минуту может "
                     "дойти до провайдера?",
    correct=40,
    explanation="каждая реплика считает rpm в своей памяти: 4 × 10 = 40. С общим Redis — 10.",
))
register_question(Question(
    id="08.q3", text="Что из этого шлюз здесь, без базы данных, делает?",
    options=["держит бюджет развёртывания (max_budget + budget_duration)", "выдаёт виртуальные ключи /key/generate",
             "хранит журнал расходов /spend/logs", "держит бюджет команды"],
    correct=0,
    explanation="бюджет развёртывания считает Router в памяти (и в Redis); ключи, команды, пользователи и журнал "
                "расходов — это таблицы Postgres, к которым прокси ходит через Prisma.",
))
register_question(Question(
    id="08.q4", text="Клиент не прислал ключ. Что ответит прокси 1.108.14, поставленный без prisma?",
    options=["500 Internal Server Error", "401 Unauthorized", "403 Forbidden", "400 Bad Request"],
    correct=0,
    explanation="обработчик ошибок авторизации импортирует prisma, которого нет (его нет и в extra [proxy]), и "
                "падает сам: клиент видит голый 500. С неверным ключом — 400 «No connected db.».",
))
register_question(Question(
    id="08.q5", text="Какой заголовок ответа шлюза говорит, что ответила резервная модель?",
    options=["x-litellm-attempted-fallbacks", "x-litellm-attempted-retries", "x-litellm-model-group",
             "x-litellm-cache-key"],
    correct=0,
    explanation="x-litellm-attempted-fallbacks: 1 — была одна попытка резервной группы; model-group при этом "
                "тоже меняется на backup, но сам по себе о переходе не говорит.",
))
