"""Lesson 02 checkers are fair both ways: other correct answers pass, plausible wrong ones and
gaming attempts fail with a message that names the mistake."""

from __future__ import annotations

import time

import litellm
import openai
import pytest

from course_helpers import Request, ask
from course_helpers.practice_data import answer_for
from fairness import Case, assert_counts, cases, judge

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"


# --- 02.1 send: the seed's loop, fixed -------------------------------------------------------

def send_while_loop(models, messages):
    attempt, last = 0, None
    while attempt < len(models):
        try:
            return litellm.completion(model=models[attempt], messages=messages).choices[0].message.content
        except litellm.AuthenticationError:
            raise
        except litellm.BadRequestError:
            raise
        except openai.APIError as e:
            last = e
        attempt += 1  # advances on every failed iteration
    raise last


def send_with_course_client(models, messages):
    return ask(Request(model=models[0], fallbacks=list(models[1:]), messages=messages), verbose=False).value


def send_one_retry_per_model(models, messages):
    transient = (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout)
    error = None
    for model in models:
        for attempt in range(2):
            try:
                return litellm.completion(model=model, messages=messages, timeout=5).choices[0].message.content
            except (litellm.AuthenticationError, litellm.BadRequestError):
                raise
            except transient as e:
                error = e
                time.sleep(0.05)
            except openai.APIError as e:
                error = e
                break
    raise error


def send_seed(models, messages):
    attempt = 0
    while attempt < len(models):
        try:
            return litellm.completion(model=models[attempt], messages=messages).choices[0].message.content
        except litellm.AuthenticationError:
            raise ValueError("Invalid API key")
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.BudgetExceededError):
            attempt += 1
        except Exception:
            continue
    return None


def send_503_added_continue_kept(models, messages):
    attempt = 0
    while attempt < len(models):
        try:
            return litellm.completion(model=models[attempt], messages=messages).choices[0].message.content
        except litellm.AuthenticationError:
            raise
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.ServiceUnavailableError):
            attempt += 1
        except Exception:
            continue  # 500 via OpenRouter (litellm.APIError) still spins
    return None


def send_catch_litellm_apierror(models, messages):
    error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except (litellm.RateLimitError, litellm.APIError) as e:  # 503 is not a litellm.APIError
            error = e
    raise error


def send_everything_to_next(models, messages):
    error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except Exception as e:  # 400 and 401 go to the fallback too
            error = e
    raise error


def send_value_error_kept(models, messages):
    error = None
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.AuthenticationError:
            raise ValueError("Invalid API key")
        except litellm.BadRequestError:
            raise
        except openai.APIError as e:
            error = e
    raise error


def send_returns_none(models, messages):
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except openai.APIError:
            continue
    return None


def send_runtime_error_when_all_fail(models, messages):
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except openai.APIError:
            continue
    raise RuntimeError("все модели отказали")


def send_retries_400(models, messages):
    error = None
    for model in models:
        for _ in range(2):
            try:
                return litellm.completion(model=model, messages=messages).choices[0].message.content
            except litellm.AuthenticationError:
                raise
            except openai.APIError as e:  # a 400 is tried again, then sent to the fallback
                error = e
    raise error


def send_gaming_literal(models, messages):
    from course_helpers.practice_data import answer_for as expected_text

    return expected_text(messages[-1]["content"])  # never asks a model


def send_gaming_swallow(models, messages):
    try:
        return litellm.completion(model=models[0], messages=messages).choices[0].message.content
    except Exception:
        return answer_for(messages[-1]["content"])  # pretends the fallback answered


# --- 02.2 call_with_retry ----------------------------------------------------------------------

def retry_while(model, messages, max_retries=2):
    attempt = 0
    while True:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as error:
            if attempt >= max_retries:
                raise
            headers = error.litellm_response_headers
            value = headers.get("retry-after") if headers else None
            time.sleep(float(value or 2 ** attempt) if value != "0" else 0.0)
            attempt += 1


def retry_recursive(model, messages, max_retries=2, _attempt=0):
    try:
        response = litellm.completion(model=model, messages=messages)
    except litellm.RateLimitError as e:
        if _attempt == max_retries:
            raise
        header = dict((e.litellm_response_headers or {}).items()).get("retry-after")
        time.sleep(2 ** _attempt if header is None else int(header))
        return retry_recursive(model, messages, max_retries, _attempt + 1)
    return response.choices[0].message.content


def retry_capitalized_get(model, messages, max_retries=2):
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            value = (e.litellm_response_headers or {}).get("Retry-After")  # a dict with lower-case keys: None
            time.sleep(float(value) if value is not None else 2 ** attempt)


def retry_no_own_backoff(model, messages, max_retries=2):
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            time.sleep(float((e.litellm_response_headers or {}).get("retry-after") or 0))


def retry_one_too_many(model, messages, max_retries=2):
    for attempt in range(max_retries + 2):  # off by one: max_retries + 1 retries
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries + 1:
                raise
            value = (e.litellm_response_headers or {}).get("retry-after")
            time.sleep(float(value) if value is not None else 2 ** attempt)


def retry_gaming_literal(model, messages, max_retries=2):
    return answer_for(messages[-1]["content"])


def retry_gaming_swallow(model, messages, max_retries=2):
    try:
        return litellm.completion(model=model, messages=messages).choices[0].message.content
    except Exception:
        time.sleep(1)
        return litellm.completion(model=model, messages=messages).choices[0].message.content


# --- 02.3 reliable_call ------------------------------------------------------------------------

def reliable_sdk(messages):
    return litellm.completion(model=OPENAI, messages=messages, timeout=1).choices[0].message.content


def reliable_own_loop(messages):
    delays = [0.1, 0.3]
    for attempt in range(3):
        try:
            return litellm.completion(model=OPENROUTER, messages=messages, timeout=1.0).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except openai.APIError:
            if attempt == len(delays):
                raise
            time.sleep(delays[attempt])


def reliable_no_retries(messages):
    return litellm.completion(model=OPENROUTER, messages=messages, timeout=1).choices[0].message.content


def reliable_num_retries(messages):
    return litellm.completion(model=OPENROUTER, messages=messages, timeout=1, num_retries=2).choices[0].message.content


def reliable_sdk_no_timeout(messages):
    return litellm.completion(model=OPENAI, messages=messages).choices[0].message.content


def reliable_sdk_and_num_retries(messages):
    return litellm.completion(model=OPENAI, messages=messages, timeout=1, num_retries=2).choices[0].message.content


def reliable_lesson_backoff(messages):
    for attempt in range(3):
        try:
            return litellm.completion(model=OPENROUTER, messages=messages, timeout=1).choices[0].message.content
        except (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout):
            if attempt == 2:
                raise
            time.sleep(2 ** attempt)


def reliable_four_attempts(messages):
    for attempt in range(4):
        try:
            return litellm.completion(model=OPENROUTER, messages=messages, timeout=0.5).choices[0].message.content
        except (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout):
            if attempt == 3:
                raise
            time.sleep(0.1)


def reliable_wraps_errors(messages):
    try:
        return reliable_own_loop(messages)
    except openai.APIError as e:
        raise RuntimeError(f"модель недоступна: {e}") from e  # the class is lost for the caller


def reliable_gaming_literal(messages):
    return answer_for(messages[-1]["content"])


def reliable_gaming_swallow(messages):
    try:
        return reliable_own_loop(messages)
    except Exception:
        return answer_for(messages[-1]["content"])  # the user "sees" an answer that never came


RIGHT = {
    "02.1": [Case(send_while_loop, why="while with attempt += 1"), Case(send_with_course_client, why="course ask()"),
             Case(send_one_retry_per_model, why="one retry per model")],
    "02.2": [Case(retry_while, why="while loop"), Case(retry_recursive, why="recursion, items()")],
    "02.3": [Case(reliable_sdk, why="openai/ SDK retries + timeout=1"), Case(reliable_own_loop, why="own loop")],
}
WRONG = {
    "02.1": [Case(send_seed, "застрял на одной модели", why="the seed as is"),
             Case(send_503_added_continue_kept, "HTTP 500", why="503 added, continue kept"),
             Case(send_catch_litellm_apierror, "вылетел ServiceUnavailableError", why="litellm.APIError as base"),
             Case(send_everything_to_next, "резервной модели", why="400/401 to the fallback"),
             Case(send_value_error_kept, "ValueError", why="ValueError for 401"),
             Case(send_returns_none, "вернул None", why="None when every model failed"),
             Case(send_runtime_error_when_all_fail, "RuntimeError", why="RuntimeError when every model failed"),
             Case(send_retries_400, "повторён", why="400 retried")],
    "02.2": [Case(retry_capitalized_get, "Retry-After: 0", why="headers.get('Retry-After') on a dict"),
             Case(retry_no_own_backoff, "своя пауза", why="no pause without the header"),
             Case(retry_one_too_many, "max_retries=2 нужно 3 запроса", why="one retry too many")],
    "02.3": [Case(reliable_no_retries, "временный", why="no retries"),
             Case(reliable_num_retries, "num_retries", why="num_retries=2 retries 400"),
             Case(reliable_sdk_no_timeout, "timeout", why="openai/ without timeout"),
             Case(reliable_sdk_and_num_retries, "num_retries", why="openai/ + num_retries: 5 requests"),
             Case(reliable_lesson_backoff, "не дольше 3", why="pauses of 1 s and 2 s"),
             Case(reliable_four_attempts, "не больше 3", why="four attempts"),
             Case(reliable_wraps_errors, "RuntimeError", why="wraps the error")],
}
GAMING = {
    "02.1": [Case(send_gaming_literal, "одним запросом", why="returns the expected text"),
             Case(send_gaming_swallow, "резервная", why="fakes the fallback's answer")],
    "02.2": [Case(retry_gaming_literal, "провайдер получил 0", why="returns the expected text"),
             Case(retry_gaming_swallow, "нужно 3 запроса", why="one blind retry after 1 s")],
    "02.3": [Case(reliable_gaming_literal, "ни одного запроса", why="returns the expected text"),
             Case(reliable_gaming_swallow, "BadRequestError", why="answers even on 400")],
}


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "02")


@pytest.mark.parametrize("exercise_id,kind,case", cases("right", RIGHT) + cases("wrong", WRONG)
                         + cases("gaming", GAMING))
def test_checker_is_fair(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)
