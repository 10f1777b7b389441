"""Lesson 03 checkers are fair both ways: other correct answers pass, a learner's plausible
mistakes and gaming attempts fail with a message that names the mistake."""

from __future__ import annotations

from typing import Any

import litellm
import openai
import pytest

import fairness
from fairness import Case

pytestmark = pytest.mark.usefixtures("drain_litellm_logging")

GPT4O, MINI, HAIKU = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"


# --- 03.1: the manual loop --------------------------------------------------------------------
def loop_with_status_check(models: list[str], messages: list[dict]) -> Any:
    """Decides by status code instead of by class."""
    error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except openai.APIStatusError as e:
            if e.status_code in (400, 401):
                raise
            error = e
        except openai.APIError as e:  # timeouts and connection errors carry no HTTP status class
            error = e
    raise error


def loop_with_index(models: list[str], messages: list[dict]) -> Any:
    """The seed client's counter loop, repaired: every branch advances the counter."""
    attempt, errors = 0, []
    while attempt < len(models):
        try:
            return litellm.completion(model=models[attempt], messages=messages)
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except Exception as e:  # noqa: BLE001 - any other provider error: next model
            errors.append(e)
            attempt += 1
    raise errors[-1]


def seed_loop_with_runtime_error(models: list[str], messages: list[dict]) -> Any:
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except Exception as e:  # noqa: BLE001
            print(f"Ошибка с моделью {model}: {e}")
    raise RuntimeError("все модели отказали")


def catch_everything_loop(models: list[str], messages: list[dict]) -> Any:
    """Keeps the class, but tries a wrong key on every model."""
    last = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except openai.APIError as e:
            last = e
    raise last


def seed_client_loop(models: list[str], messages: list[dict]) -> Any:
    """The seed client's handler: ValueError for a wrong key, a tuple that misses 503."""
    from litellm.exceptions import APIConnectionError, AuthenticationError, BudgetExceededError, RateLimitError, Timeout

    attempt = 0
    while attempt < len(models):
        try:
            return litellm.completion(model=models[attempt], messages=messages)
        except AuthenticationError:
            raise ValueError("Invalid API key")
        except (RateLimitError, Timeout, APIConnectionError, BudgetExceededError):
            attempt += 1
        except Exception:  # noqa: BLE001
            continue  # the seed's bug: the same model again
    raise RuntimeError("все модели отказали")


def narrow_tuple_loop(models: list[str], messages: list[dict]) -> Any:
    """Advances on every caught error, but catches only the seed client's tuple."""
    from litellm.exceptions import APIConnectionError, RateLimitError, Timeout

    last = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages)
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except (RateLimitError, Timeout, APIConnectionError) as e:
            last = e
    raise last


def returns_text_loop(models: list[str], messages: list[dict]) -> Any:
    return fallback_reference(models, messages).choices[0].message.content


def fallback_reference(models: list[str], messages: list[dict]) -> Any:
    from course_helpers.exercises.lesson03 import fallback_loop

    return fallback_loop(models, messages)


def skip_to_the_last(models: list[str], messages: list[dict]) -> Any:
    return litellm.completion(model=models[-1], messages=messages)


def fake_response(models: list[str], messages: list[dict]) -> Any:
    return litellm.completion(model=models[0], messages=messages, mock_response="Python — язык программирования.")


# --- 03.2: a fallback on a second account -------------------------------------------------------
def reserve_with_dict_model_first(messages: list[dict], reserve_key: str) -> str:
    spare = {"max_tokens": 25, "api_key": reserve_key, "model": MINI}
    return litellm.completion(messages=messages, model=GPT4O, fallbacks=[spare])["choices"][0]["message"]["content"]


def reserve_by_hand(messages: list[dict], reserve_key: str) -> str:
    """A hand-written fallback is as good, as long as the keys and the cap are right."""
    try:
        response = litellm.completion(model=GPT4O, messages=messages)
    except openai.APIError:
        response = litellm.completion(model=MINI, messages=messages, api_key=reserve_key, max_tokens=30)
    return response.choices[0].message.content


def reserve_returns_response(messages: list[dict], reserve_key: str) -> Any:
    return litellm.completion(model=GPT4O, messages=messages,
                              fallbacks=[{"model": MINI, "api_key": reserve_key, "max_tokens": 30}])


def reserve_only(messages: list[dict], reserve_key: str) -> str:
    return litellm.completion(model=MINI, messages=messages, api_key=reserve_key,
                              max_tokens=30).choices[0].message.content


def reserve_literal(messages: list[dict], reserve_key: str) -> str:
    from course_helpers.practice_data import answer_for

    return answer_for(messages[0]["content"])


def reserve_cap_everywhere(messages: list[dict], reserve_key: str) -> str:
    return litellm.completion(model=GPT4O, messages=messages, max_tokens=30,
                              fallbacks=[{"model": MINI, "api_key": reserve_key}]).choices[0].message.content


RIGHT: dict[str, list[Case]] = {
    "03.1": [Case(loop_with_status_check, why="by status code"), Case(loop_with_index, why="counter loop")],
    "03.2": [Case(reserve_with_dict_model_first, why="dict in another order, 25 tokens"),
             Case(reserve_by_hand, why="hand-written fallback")],
    "03.3": [Case({"model": MINI, "fallbacks": [HAIKU, GPT4O], "num_retries": 1}, why="one retry on mini"),
             Case({"model": MINI, "fallbacks": [MINI, HAIKU, GPT4O], "max_tokens": 200}, why="mini twice"),
             Case(lambda: {"model": MINI, "fallbacks": [HAIKU, GPT4O]}, why="a function returning the settings")],
}

WRONG: dict[str, list[Case]] = {
    "03.1": [
        Case(seed_loop_with_runtime_error, "класс ошибки потерян", why="RuntimeError when all failed"),
        Case(catch_everything_loop, "при 401", why="a wrong key tried on every model"),
        Case(seed_client_loop, "повторять ту же", why="the seed client's continue spins on 503"),
        Case(narrow_tuple_loop, "ServiceUnavailableError", why="the seed client's tuple misses 503"),
        Case(lambda models, messages: litellm.completion(model=models[0], fallbacks=models[1:], messages=messages),
             "APIConnectionError", why="SDK fallbacks lose the class"),
        Case(returns_text_loop, "вернуть ответ litellm.completion", why="returns the text"),
    ],
    "03.2": [
        Case(lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages, fallbacks=[MINI],
                                                              max_tokens=30).choices[0].message.content,
             "с основным ключом", why="plain string: the project's key"),
        Case(lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages, api_key=reserve_key,
                                                              fallbacks=[{"model": MINI, "max_tokens": 30}]
                                                              ).choices[0].message.content,
             "резервным ключом", why="the reserve key for the primary too"),
        Case(lambda messages, reserve_key: litellm.completion(model=GPT4O, messages=messages,
                                                              fallbacks=[{"model": MINI, "api_key": reserve_key}]
                                                              ).choices[0].message.content,
             "max_tokens", why="no cap for the reserve"),
        Case(reserve_cap_everywhere, "max_tokens", why="the cap on the primary too"),
        Case(reserve_returns_response, "текст ответа", why="returns the response"),
    ],
    "03.3": [
        Case({"model": MINI, "fallbacks": [GPT4O]}, "раньше, чем к claude-3-haiku", why="skips the middle price"),
        Case({"model": HAIKU, "fallbacks": [MINI, GPT4O]}, "раньше, чем к gpt-4o-mini", why="not cheapest first"),
        Case({"model": MINI, "fallbacks": [HAIKU]}, "без ответа", why="the rate-limited model last"),
        Case({"model": MINI, "num_retries": 3}, "без ответа", why="retries alone"),
        Case({"model": GPT4O}, "раньше, чем к gpt-4o-mini", why="the reliable but expensive one"),
    ],
}

GAMING: dict[str, list[Case]] = {
    "03.1": [Case(skip_to_the_last, "к первой модели", why="never tries the primary"),
             Case(fake_response, "не было ни одного запроса", why="mock_response")],
    "03.2": [Case(reserve_only, "к основной модели", why="the reserve for everything"),
             Case(reserve_literal, "к основной модели", why="the expected text, no call")],
    "03.3": [Case({"model": MINI, "fallbacks": [HAIKU, GPT4O], "mock_response": "ответ"}, "не дошёл до провайдера",
                  why="mock_response"),
             Case({"model": "openrouter/meta-llama/llama-3.1-8b-instruct"}, "только gpt-4o-mini",
                  why="a cheaper model outside the list")],
}


def test_counts() -> None:
    fairness.assert_counts(RIGHT, WRONG, GAMING, "03")


@pytest.mark.parametrize("exercise_id,kind,case",
                         fairness.cases("right", RIGHT) + fairness.cases("wrong", WRONG)
                         + fairness.cases("gaming", GAMING))
def test_checker_verdict(course, exercise_id: str, kind: str, case: Case) -> None:
    fairness.judge(exercise_id, kind, case)
