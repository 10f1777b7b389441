"""Lesson 05 checkers are fair both ways: other correct answers pass, a learner's plausible
mistakes and gaming attempts fail with a message that names the mistake."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

import fairness
from course_helpers.checks import provider
from course_helpers.exercises import lesson05 as l5
from fairness import Case

pytestmark = pytest.mark.usefixtures("drain_litellm_logging")

MINI, HAIKU = "openai/gpt-4o-mini", "anthropic/claude-3-haiku"


def entry(name: str, group: str = "gpt-3.5-turbo", model: str = l5.MODEL, **params: Any) -> dict:
    """A deployment written out by hand, as a learner might, without the lesson's helper."""
    return {"model_name": group, "litellm_params": {"model": "openrouter/" + model,
                                                     "api_base": provider().api_base("openrouter", deployment=name),
                                                     "api_key": provider().key, **params}}


# --- 05.1: failures before a cooldown -------------------------------------------------------------
def measure_by_log(status: int, allowed_fails: int | None = None) -> int:
    """Hand-written deployments, kwargs spelled out, the count read from the provider's log."""
    p = provider()
    p.reset()
    p.set_latency_scale(0)
    p.fail(l5.MODEL, status, deployment="d1")
    settings: dict[str, Any] = {"num_retries": 0, "cooldown_time": 60}
    if allowed_fails is not None:
        settings["allowed_fails"] = allowed_fails
    router = litellm.Router(model_list=[entry("d1"), entry("d2")], **settings)
    for _ in range(30):
        try:
            router.completion(model="gpt-3.5-turbo", messages=l5.MSG)
        except Exception:  # noqa: BLE001 - the user's error is not what we count
            pass
    return sum(1 for e in p.log() if e["deployment"] == "d1")


def measure_by_errors(status: int, allowed_fails: int | None = None) -> int:
    """Without retries every request to d1 is a user-visible error: counting errors counts d1's requests."""
    l5.quiet_provider()
    l5.course.provider.fail(l5.MODEL, status, deployment="d1")
    extra = {"allowed_fails": allowed_fails} if allowed_fails is not None else {}
    router = litellm.Router(model_list=[l5.unique("d1"), l5.unique("d2")], num_retries=0, cooldown_time=60, **extra)
    return sum(l5.attempt(router) not in ("d1", "d2") for _ in range(30))


def measure_with_retries(status: int, allowed_fails: int | None = None) -> int:
    """Keeps the default retries: a retry that lands on d1 is one more failure, so d1's count is the same."""
    l5.quiet_provider()
    l5.course.provider.fail(l5.MODEL, status, deployment="d1")
    extra = {} if allowed_fails is None else {"allowed_fails": allowed_fails}
    router = litellm.Router(model_list=[l5.deployment("d1"), l5.deployment("d2")], cooldown_time=60, **extra)
    for _ in range(30):
        l5.attempt(router)
    return l5.served()["d1"]


def measure_both_broken(status: int, allowed_fails: int | None = None) -> int:
    """The fault on the model, not on d1: both deployments fail."""
    l5.quiet_provider()
    l5.course.provider.fail(l5.MODEL, status)
    extra = {} if allowed_fails is None else {"allowed_fails": allowed_fails}
    router = litellm.Router(model_list=[l5.deployment("d1"), l5.deployment("d2")], num_retries=0, cooldown_time=60,
                            **extra)
    for _ in range(30):
        l5.attempt(router)
    return l5.served().get("d1", 0)


def measure_one_router(status: int, allowed_fails: int | None = None, _cache: dict = {}) -> int:  # noqa: B006
    """One Router for every experiment: its cooldowns and counts carry over between cases."""
    l5.quiet_provider()
    l5.course.provider.fail(l5.MODEL, status, deployment="d1")
    if "router" not in _cache:
        _cache["router"] = litellm.Router(model_list=[l5.deployment("d1"), l5.deployment("d2")], num_retries=0,
                                          cooldown_time=60)
    for _ in range(30):
        l5.attempt(_cache["router"])
    return l5.served().get("d1", 0)


def rule_from_memory(status: int, allowed_fails: int | None = None) -> int:
    """The rule as remembered, no experiment."""
    if status == 401:
        return 1
    if allowed_fails is None or allowed_fails == 3:
        return 1 if status == 429 else 5
    return allowed_fails + 1


def rule_naive(status: int, allowed_fails: int | None = None) -> int:
    """«cooldown after allowed_fails + 1 failures», the default being 3."""
    return (3 if allowed_fails is None else allowed_fails) + 1


# --- 05.2: d1 dies, nobody notices ----------------------------------------------------------------
def resilient_by_policy() -> litellm.Router:
    return litellm.Router(model_list=[entry("d1"), entry("d2")], num_retries=3,
                          allowed_fails_policy={"ServiceUnavailableErrorAllowedFails": 0}, cooldown_time=1.5)


def resilient_first_failure() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d2"), l5.deployment("d1")], allowed_fails=0, cooldown_time=2.5)


def resilient_short_cooldown() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1"), l5.deployment("d2")], allowed_fails=1, cooldown_time=0.1)


def resilient_skewed() -> litellm.Router:
    """Avoids the outage by hardly ever sending anything to d1."""
    return litellm.Router(model_list=[l5.deployment("d1", weight=1), l5.deployment("d2", weight=99)],
                          allowed_fails=1, cooldown_time=2)


def resilient_d2_twice() -> litellm.Router:
    """Two deployments, both on d2."""
    return litellm.Router(model_list=[l5.unique("d2"), l5.unique("d2")], allowed_fails=1, cooldown_time=2)


def resilient_mocked() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1", mock_response="ок"), l5.deployment("d2", mock_response="ок")])


# --- 05.3: the assistant's group with a reserve -------------------------------------------------------
def assistant_by_rpm() -> litellm.Router:
    return litellm.Router(model_list=[entry("d1", "assistant", MINI, rpm=300), entry("d2", "assistant", MINI, rpm=100),
                                      entry("o1", "reserve", HAIKU)],
                          default_fallbacks=["reserve"])


def assistant_by_tpm() -> litellm.Router:
    main = [{**l5.deployment(name, group="assistant", model=MINI), "tpm": tpm} for name, tpm in (("d1", 3000),
                                                                                                 ("d2", 1000))]
    return litellm.Router(model_list=[*main, l5.deployment("o1", group="reserve", model=HAIKU)], num_retries=1,
                          fallbacks=[{"assistant": ["reserve"]}])


def assistant_reserve_in_group() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1", group="assistant", model=MINI, weight=3),
                                      l5.deployment("d2", group="assistant", model=MINI, weight=1),
                                      l5.deployment("o1", group="assistant", model=HAIKU, weight=1)])


def assistant_no_reserve() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1", group="assistant", model=MINI, weight=3),
                                      l5.deployment("d2", group="assistant", model=MINI, weight=1),
                                      l5.deployment("o1", group="reserve", model=HAIKU)])


def assistant_reversed() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1", group="assistant", model=MINI, weight=1),
                                      l5.deployment("d2", group="assistant", model=MINI, weight=3),
                                      l5.deployment("o1", group="reserve", model=HAIKU)],
                          fallbacks=[{"assistant": ["reserve"]}])


def assistant_context_window() -> litellm.Router:
    return litellm.Router(model_list=l5.build_assistant_router().model_list,
                          context_window_fallbacks=[{"assistant": ["reserve"]}])


def assistant_haiku_everywhere() -> litellm.Router:
    """Sends the assistant's traffic to the reserve model: no fault can reach it."""
    return litellm.Router(model_list=[l5.deployment("d1", group="assistant", model=HAIKU, weight=3),
                                      l5.deployment("d2", group="assistant", model=HAIKU, weight=1),
                                      l5.deployment("o1", group="reserve", model=HAIKU)],
                          fallbacks=[{"assistant": ["reserve"]}])


def assistant_mocked() -> litellm.Router:
    return litellm.Router(model_list=[l5.deployment("d1", group="assistant", model=MINI, weight=3, mock_response="ок"),
                                      l5.deployment("d2", group="assistant", model=MINI, weight=1, mock_response="ок"),
                                      l5.deployment("o1", group="reserve", model=HAIKU)],
                          fallbacks=[{"assistant": ["reserve"]}])


RIGHT: dict[str, list[Case]] = {
    "05.1": [Case(measure_by_log, why="hand-written deployments, count from the log"),
             Case(measure_by_errors, why="own ids, counts the user's errors without retries"),
             Case(measure_with_retries, why="default retries: d1 still fails the same number of times")],
    "05.2": [Case(resilient_by_policy, why="allowed_fails_policy, cooldown 1.5 s"),
             Case(resilient_first_failure, why="allowed_fails=0, cooldown 2.5 s")],
    "05.3": [Case(assistant_by_rpm, why="rpm as weights, default_fallbacks"),
             Case(assistant_by_tpm, why="tpm as weights, one retry")],
}

WRONG: dict[str, list[Case]] = {
    "05.1": [Case(l5._counting_user_errors, "из статистики провайдера", why="default retries hide the failures"),
             Case(l5._lone_deployment, "нужен Router из двух развёртываний", why="d1 alone"),
             Case(l5._ignores_allowed_fails, "allowed_fails передан", why="allowed_fails not passed"),
             Case(measure_both_broken, "сбой нужен только на d1", why="both deployments broken"),
             Case(measure_one_router, "новый Router в каждом опыте", why="one Router for all cases")],
    "05.2": [Case(l5._default_pair, "allowed_fails", why="the default rule"),
             Case(l5._only_d2, "делить трафик", why="d2 alone"),
             Case(l5._long_cooldown, "слишком велик", why="cooldown_time=30"),
             Case(l5._no_retries, "нужны повторы", why="num_retries=0"),
             Case(resilient_short_cooldown, "cooldown_time", why="cooldown_time=0.1")],
    "05.3": [Case(l5._plain_list_fallbacks, "только список словарей", why="fallbacks=['reserve']"),
             Case(l5._equal_weights, "около 75 %", why="no weights"),
             Case(l5._reserve_same_model, "нужна другая модель", why="reserve on the same model"),
             Case(assistant_reserve_in_group, "отдельная группа", why="reserve as a third deployment"),
             Case(assistant_no_reserve, "не подключена", why="no fallbacks"),
             Case(assistant_reversed, "около 75 %", why="weights 1 : 3"),
             Case(assistant_context_window, "не подключена", why="context_window_fallbacks")],
}

GAMING: dict[str, list[Case]] = {
    "05.1": [Case(rule_from_memory, "провайдер получил на d1 0", why="the rule's numbers, no experiment"),
             Case(rule_naive, "провайдер получил на d1 0", why="allowed_fails + 1, no experiment")],
    "05.2": [Case(resilient_skewed, "делить трафик", why="d1 hardly used"),
             Case(resilient_d2_twice, "делить трафик", why="two deployments on d2"),
             Case(resilient_mocked, "делить трафик", why="mock_response")],
    "05.3": [Case(assistant_haiku_everywhere, "должна быть модель", why="the reserve model for the main group"),
             Case(assistant_mocked, "должен идти на d1 и d2", why="mock_response")],
}


def test_counts() -> None:
    fairness.assert_counts(RIGHT, WRONG, GAMING, "05")


@pytest.mark.parametrize("exercise_id,kind,case",
                         fairness.cases("right", RIGHT) + fairness.cases("wrong", WRONG)
                         + fairness.cases("gaming", GAMING))
def test_checker_verdict(course, exercise_id: str, kind: str, case: Case) -> None:
    fairness.judge(exercise_id, kind, case)
