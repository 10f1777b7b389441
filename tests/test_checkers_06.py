"""Lesson 06 checkers are fair both ways: other correct answers pass, plausible wrong answers and
gaming attempts fail with a message that names the mistake."""

from __future__ import annotations

import functools
import threading

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger

from course_helpers.budget import BudgetGuard, max_cost
from fairness import Case, assert_counts, cases, judge

SONNET = "openrouter/anthropic/claude-3.5-sonnet"


# --- 06.1: counters ----------------------------------------------------------------------------

class StandardLoggingCounter(CustomLogger):
    """Right: the cost from the standard logging payload, one shared method."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs["standard_logging_object"]["response_cost"] or 0.0

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.log_success_event(kwargs, response_obj, start_time, end_time)


class HiddenParamsCounter(CustomLogger):
    """Right: the cost read from the response object, with a lock, no super().__init__()."""

    def __init__(self):
        self.total = 0.0
        self.lock = threading.Lock()

    def _count(self, response):
        with self.lock:
            self.total += response._hidden_params.get("response_cost") or 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._count(response_obj)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._count(response_obj)


class Spending(CustomLogger):
    """Right: another name, the cost via kwargs.get with a None guard."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        if (cost := kwargs.get("response_cost")) is not None:
            self.total += cost

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        if (cost := kwargs.get("response_cost")) is not None:
            self.total += cost


class AsyncEverywhere(CustomLogger):
    """Wrong: both methods async; LiteLLM never awaits the sync one."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    async def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs["response_cost"]

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs["response_cost"]


class TokenCounter(CustomLogger):
    """Wrong: adds tokens, not dollars."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += response_obj.usage.total_tokens

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += response_obj.usage.total_tokens


class NotALogger:
    """Wrong: the right methods, but not a CustomLogger."""

    def __init__(self):
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs["response_cost"]

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += kwargs["response_cost"]


class ProviderStatsCounter(CustomLogger):
    """Gaming: total is whatever the practice provider billed."""

    @property
    def total(self):
        from course_helpers.session import current_course

        return current_course().provider.stats()["cost"] - self._start

    def __init__(self):
        super().__init__()
        from course_helpers.session import current_course

        self._start = current_course().provider.stats()["cost"]

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        pass

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        pass


class FixedPriceCounter(CustomLogger):
    """Gaming: a hard-coded price per call."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += 0.0000225

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.total += 0.0000225


# --- 06.3: plans ------------------------------------------------------------------------------

def plan_spelled_out(day_usd, processes, callers, call_usd):
    in_flight = processes * callers * call_usd  # the most that can be in flight when the key runs out
    key_limit = day_usd - in_flight
    return key_limit / processes, key_limit


def plan_cautious_guards(day_usd, processes, callers, call_usd):
    key_limit = day_usd - processes * callers * call_usd
    return 0.9 * key_limit / processes, key_limit


def plan_one_call_spare(day_usd, processes, callers, call_usd):
    key_limit = day_usd - processes * callers * call_usd
    return key_limit / processes - call_usd, key_limit


def plan_no_guards(day_usd, processes, callers, call_usd):
    return None, day_usd - processes * callers * call_usd


def plan_one_process_in_flight(day_usd, processes, callers, call_usd):
    key_limit = day_usd - callers * call_usd
    return key_limit / processes, key_limit


def plan_a_call_short(day_usd, processes, callers, call_usd):
    """Room for every request in flight but one: a run rarely shows the overshoot, the worst case does."""
    key_limit = day_usd - (processes * callers - 1) * call_usd
    return key_limit / processes, key_limit


def plan_too_cautious(day_usd, processes, callers, call_usd):
    return day_usd / 10 / processes, day_usd - processes * callers * call_usd


def plan_example_numbers(day_usd, processes, callers, call_usd):
    return 0.012557, 0.03767  # worked out for the lesson's example ($0.05, 3 processes, 4 callers)


def plan_nothing(day_usd, processes, callers, call_usd):
    return None, None


# --- 06.2: margins --------------------------------------------------------------------------------

def margin_from_usage_cost(requests):
    estimate = functools.partial(max_cost, encoding="o200k_base")
    worst = 0.0
    for messages in requests:
        r = litellm.completion(model=SONNET, messages=messages, max_tokens=40)
        worst = max(worst, r.usage.cost / estimate(SONNET, messages, 40) - 1)
    return worst


def margin_from_guard_reservation(requests):
    guard = BudgetGuard(margin=0, estimate=functools.partial(max_cost, encoding="o200k_base"))
    excess = [litellm.completion(model=SONNET, messages=m, max_tokens=40)._hidden_params["response_cost"]
              / guard.reservation(SONNET, m, 40) - 1 for m in requests]
    return sorted(excess)[-1]


def margin_in_percent(requests):
    ratios = [litellm.completion(model=SONNET, messages=m, max_tokens=40)._hidden_params["response_cost"]
              / max_cost(SONNET, m, 40, encoding="o200k_base") for m in requests]
    return (max(ratios) - 1) * 100


def margin_without_max_tokens(requests):
    ratios = [litellm.completion(model=SONNET, messages=m)._hidden_params["response_cost"]
              / max_cost(SONNET, m, 40, encoding="o200k_base") for m in requests]
    return max(ratios) - 1


def margin_mean(requests):
    ratios = [litellm.completion(model=SONNET, messages=m, max_tokens=40)._hidden_params["response_cost"]
              / max_cost(SONNET, m, 40, encoding="o200k_base") for m in requests]
    return sum(ratios) / len(ratios) - 1


def margin_without_calls(requests):
    """Gaming: the provider's tokenizers, no call at all."""
    from course_helpers.practice_data import MODELS, cost_usd, prompt_tokens

    spec = MODELS["anthropic/claude-3.5-sonnet"]
    return max(cost_usd(spec, prompt_tokens(m, "cl100k_base"), 40) / max_cost(SONNET, m, 40, encoding="o200k_base")
               for m in requests) - 1


RIGHT = {
    "06.1": [Case(StandardLoggingCounter, why="standard_logging_object"),
             Case(HiddenParamsCounter, why="response_obj._hidden_params, lock, no super"),
             Case(Spending, why="other name, walrus")],
    "06.3": [Case(plan_spelled_out, why="in-flight spelled out"),
             Case(plan_cautious_guards, why="guards at 90 %"),
             Case(plan_one_call_spare, why="one call spare per guard")],
    "06.2": [Case(margin_from_usage_cost, why="usage.cost"),
             Case(margin_from_guard_reservation, why="BudgetGuard(margin=0).reservation")],
}

WRONG = {
    "06.1": [Case(AsyncEverywhere, "без await", why="async log_success_event"),
             Case(TokenCounter, "прибавил", why="tokens instead of dollars"),
             Case(NotALogger, "наследовать", why="not a CustomLogger"),
             Case(lambda: CustomLogger(), "атрибута total", why="a bare CustomLogger")],
    "06.3": [Case(plan_no_guards, "нет защиты", why="key cap only"),
             Case(plan_one_process_in_flight, "в пути", why="in-flight of one process"),
             Case(plan_a_call_short, "в худшем случае", why="room for all in flight but one"),
             Case(plan_too_cautious, "простаивает", why="guards too small")],
    "06.2": [Case(margin_in_percent, "проценты", why="percent"),
             Case(margin_without_max_tokens, "max_tokens", why="no max_tokens"),
             Case(margin_mean, "среднее", why="mean")],
}

GAMING = {
    "06.1": [Case(ProviderStatsCounter, "не вырос", why="total from the provider's stats"),
             Case(FixedPriceCounter, "прибавил", why="hard-coded price per call")],
    "06.3": [Case(plan_example_numbers, "в пути", why="the example's numbers hard-coded"),
             Case(plan_nothing, "перезапуск", why="no limits at all")],
    "06.2": [Case(lambda requests: 0.2, "не получил ни одного запроса", why="literal 0.2"),
             Case(margin_without_calls, "не получил ни одного запроса", why="computed without calls")],
}


@pytest.mark.parametrize("exercise_id,kind,case",
                         cases("right", RIGHT) + cases("wrong", WRONG) + cases("gaming", GAMING))
def test_checker_is_fair(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "06")


def test_the_stub_of_the_debug_exercise_fails_naming_the_parameter_names(course) -> None:
    """06.1 starts from code that runs: its check fails at once, on the first real bug."""
    from course_helpers.checks import exercises, run_check

    result = run_check("06.1", exercises()["06.1"].wrong_answers[0])
    assert result.status == "failed" and "по имени" in result.message


def test_completion_cost_is_named_once_the_names_are_fixed(course) -> None:
    """The old checker blamed the parameter names when completion_cost raised inside the method."""
    from course_helpers.checks import exercises, run_check

    result = run_check("06.1", exercises()["06.1"].wrong_answers[1])
    assert result.status == "failed"
    assert "ModelNotMappedError" in result.message and "kwargs['response_cost']" in result.message
    assert "по имени" not in result.message
