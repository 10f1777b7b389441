"""Lesson 08 checkers are fair both ways: other correct answers pass, plausible wrong answers and
gaming attempts fail with a message that names the mistake. 08.3 talks to a real gateway replica
(started once for the module by the checker itself, as in a learner's kernel)."""

from __future__ import annotations

import openai
import pytest

from course_helpers import gateway
from fairness import Case, assert_counts, cases, judge


@pytest.fixture(scope="module", autouse=True)
def _replica(course):
    """The replica 08.3's checker uses; started here once, stopped after the module."""
    replica = gateway.running_replica(course.provider)
    yield replica
    replica.stop()


# --- 08.1 ---------------------------------------------------------------------------------------
def settings_more_retries():
    return {"num_retries": 3, "fallbacks": [{"assistant": ["backup"]}],
            "optional_pre_call_checks": ["enforce_model_rate_limits"], "allowed_fails": 2, "cooldown_time": 10}


def settings_with_strategy():
    return {"routing_strategy": "simple-shuffle", "num_retries": 1, "retry_after": 0,
            "fallbacks": [{"assistant": ["backup"]}], "optional_pre_call_checks": ["enforce_model_rate_limits"]}


def settings_retries_zero():
    return {"num_retries": 0, "fallbacks": [{"assistant": ["backup"]}],
            "optional_pre_call_checks": ["enforce_model_rate_limits"]}


def settings_fallback_to_self():
    return {"num_retries": 1, "fallbacks": [{"assistant": ["free"]}],
            "optional_pre_call_checks": ["enforce_model_rate_limits"]}


# --- 08.2 ---------------------------------------------------------------------------------------
def rpm_floor(provider_rpm, replicas, shared_redis):
    import math

    return provider_rpm if shared_redis else math.floor(provider_rpm / replicas)


def rpm_loop(provider_rpm, replicas, shared_redis):
    rpm = provider_rpm
    while not shared_redis and rpm * replicas > provider_rpm:
        rpm -= 1
    return rpm


# --- 08.3 ---------------------------------------------------------------------------------------
def ask_with_litellm(url, key, question):
    import litellm

    return litellm.completion(model="litellm_proxy/assistant", api_base=url, api_key=key,
                              messages=[{"role": "user", "content": question}]).choices[0].message.content


def ask_with_raw_http(url, key, question):
    import httpx

    r = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "assistant", "messages": [{"role": "user", "content": question}]}, timeout=30)
    return r.json()["choices"][0]["message"]["content"]


def ask_returns_object(url, key, question):
    client = openai.OpenAI(base_url=url, api_key=key)
    return client.chat.completions.create(model="assistant", messages=[{"role": "user", "content": question}])


def ask_provider_directly(url, key, question):
    from course_helpers.checks import provider

    client = openai.OpenAI(base_url=provider().api_base("openai"), api_key=provider().key)
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
                                          ).choices[0].message.content


RIGHT = {
    "08.1": [Case(settings_more_retries(), why="more retries, cooldown settings"),
             Case(settings_with_strategy(), why="explicit strategy")],
    "08.2": [Case(rpm_floor, why="math.floor"), Case(rpm_loop, why="loop down")],
    "08.3": [Case(ask_with_litellm, why="litellm_proxy/"), Case(ask_with_raw_http, why="raw HTTP")],
}

WRONG = {
    "08.1": [Case(settings_retries_zero(), "повтор", why="no retries"),
             Case(settings_fallback_to_self(), "backup", why="fallback to the wrong group"),
             Case({"num_retries": 1, "fallbacks": [{"assistant": ["backup"]}]}, "enforce_model_rate_limits",
                  why="rpm left a weight")],
    "08.2": [Case(lambda rpm, n, shared: rpm, "делите лимит", why="ignores replicas"),
             Case(lambda rpm, n, shared: round(rpm / n) if not shared else rpm, "провайдер ответит 429", why="rounds up"),
             Case(lambda rpm, n, shared: rpm // n, "весь лимит", why="divides with Redis too")],
    "08.3": [Case(ask_returns_object, "choices[0].message.content", why="returns the response object"),
             Case(lambda url, key, q: gateway_module_wrong(url, key, q, model="gpt-4o-mini"), "имя группы",
                  why="model name of the provider"),
             Case(lambda url, key, q: gateway_module_wrong(url, key, q, key_override="sk-learner"), "мастер-ключ",
                  why="a made-up key")],
}

GAMING = {
    "08.1": [Case("num_retries: 1", "словарь", why="a YAML string"),
             Case({"num_retries": 1, "fallbacks": [{"assistant": ["backup"]}], "rpm": 4}, "не аргумент",
                  why="rpm at the router level")],
    "08.2": [Case(lambda rpm, n, shared: 4, "провайдер даёт", why="the figure's number"),
             Case(lambda rpm, n, shared: 2.0 if shared else 2, "целое", why="a float")],
    "08.3": [Case(lambda url, key, q: "Ответ на запрос", "не получил запрос через шлюз", why="a literal"),
             Case(ask_provider_directly, "не получил запрос через шлюз", why="the provider directly")],
}


def gateway_module_wrong(url, key, question, model="assistant", key_override=None):
    client = openai.OpenAI(base_url=url, api_key=key_override or key)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}]
                                          ).choices[0].message.content


@pytest.mark.parametrize("exercise_id,kind,case",
                         cases("right", RIGHT) + cases("wrong", WRONG) + cases("gaming", GAMING))
def test_checker_is_fair(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "08")


def test_the_stub_of_the_debug_exercise_fails_naming_the_url(course) -> None:
    from course_helpers.checks import exercises, run_check

    result = run_check("08.3", exercises()["08.3"].wrong_answers[0])
    assert result.status == "failed" and "/chat/completions" in result.message
