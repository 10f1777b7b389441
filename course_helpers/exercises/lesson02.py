"""Lesson 02 exercises: a safe call that classifies errors, and a 429 retry honouring Retry-After
(and backing off on its own when the header is missing, as OpenRouter does not promise it).

The checkers inject real faults at the practice provider and judge the learner's function by
what it returns or raises and by the requests the provider received (count and timing).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import litellm
import openai

from course_helpers.checks import CheckFailed, Exercise, expect, provider, register
from course_helpers.panels.errors import FAULTS, inject, model_id
from course_helpers.practice_data import answer_for

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None]:
    """Call the learner's function; (result, None) or (None, the exception it raised).

    NotImplementedError (the stub) is re-raised: the exercise is simply not attempted yet.
    """
    try:
        return function(*args, **kwargs), None
    except NotImplementedError:
        raise
    except Exception as error:  # judged by the checker
        return None, error


def _requests(model: str) -> int:
    return provider().requests(model=model_id(model))


# --- 02.1 safe_call -------------------------------------------------------------------------

def reference_safe_call(model: str, messages: list[dict]) -> str | None:
    import litellm
    import openai

    try:
        response = litellm.completion(model=model, messages=messages, num_retries=0)
    except (litellm.AuthenticationError, litellm.BadRequestError):
        raise  # a wrong key or a wrong request: another try will not help
    except openai.APIError:  # the common base of every provider error LiteLLM raises
        return None
    return response.choices[0].message.content


SAFE_FAULTS_NONE = [(OPENROUTER, "503"), (OPENROUTER, "500"), (OPENROUTER, "504"), (OPENROUTER, "drop"),
                    (OPENROUTER, "malformed"), (OPENROUTER, "429"), (OPENAI, "503"), (OPENAI, "429")]
SAFE_FAULTS_RAISE = [(OPENROUTER, "401", litellm.AuthenticationError), (OPENROUTER, "400", litellm.BadRequestError),
                     (OPENAI, "401", litellm.AuthenticationError)]


def check_safe_call(safe_call: Callable[[str, list[dict]], str | None]) -> str:
    expect(callable(safe_call), "ожидается функция safe_call(model, messages), а не значение.")
    prompt = "Проверка задания 02.1: что такое исключение?"
    for model in (OPENROUTER, OPENAI):
        provider().reset()
        text, error = _run(safe_call, model, _messages(prompt))
        expect(error is None, f"без всяких сбоев {model} ваша функция подняла {type(error).__name__}: {error}")
        expect(text == answer_for(prompt), f"без сбоев функция должна вернуть текст ответа ({model}), "
                                           f"а вернула {text!r:.80}. Текст — response.choices[0].message.content.")
    for model, fault in SAFE_FAULTS_NONE:
        provider().reset()
        inject(provider(), fault, model)
        result, error = _run(safe_call, model, _messages(prompt))
        label = f"сбое «{FAULTS[fault].label}» через {model}"
        if error is not None:
            raise CheckFailed(f"при {label} функция пропустила {type(error).__name__} — а должна вернуть None. "
                              "Какие классы вы ловите? Вспомните карту из раздела 2.2.")
        expect(result is None, f"при {label} функция должна вернуть None, а вернула {result!r:.60}.")
        sent = _requests(model)
        expect(sent == 1, f"при {label} провайдер получил {sent} запроса(ов), а нужен ровно 1"
                          + (": OpenAI SDK повторяет сам — передайте num_retries=0." if model == OPENAI else "."))
    for model, fault, expected in SAFE_FAULTS_RAISE:
        provider().reset()
        inject(provider(), fault, model)
        result, error = _run(safe_call, model, _messages(prompt))
        label = f"сбое «{FAULTS[fault].label}» через {model}"
        expect(error is not None, f"при {label} функция вернула {result!r:.40}, а должна поднять {expected.__name__}: "
                                  "такую ошибку нельзя прятать.")
        expect(isinstance(error, expected), f"при {label} ожидался {expected.__name__}, а поднялся "
                                            f"{type(error).__name__}: не заменяйте класс ошибки.")
        expect(_requests(model) == 1, f"при {label} провайдер получил {_requests(model)} запросов, а нужен ровно 1.")
    return (f"текст при успехе, None при {len(SAFE_FAULTS_NONE)} сбоях провайдера, AuthenticationError и "
            "BadRequestError подняты как есть, каждый раз ровно один запрос.")


def _seed_tuple_safe_call(model: str, messages: list[dict]) -> str | None:
    try:
        response = litellm.completion(model=model, messages=messages, num_retries=0)
    except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError):  # the seed's tuple: 503 escapes
        return None
    return response.choices[0].message.content


def _swallow_all_safe_call(model: str, messages: list[dict]) -> str | None:
    try:
        return litellm.completion(model=model, messages=messages, num_retries=0).choices[0].message.content
    except Exception:  # hides a wrong key too
        return None


def _litellm_base_safe_call(model: str, messages: list[dict]) -> str | None:
    try:
        return litellm.completion(model=model, messages=messages, num_retries=0).choices[0].message.content
    except (litellm.AuthenticationError, litellm.BadRequestError):
        raise
    except litellm.APIError:  # not a common base: 429 and 503 are not litellm.APIError
        return None


def _sdk_retries_safe_call(model: str, messages: list[dict]) -> str | None:
    try:
        return litellm.completion(model=model, messages=messages).choices[0].message.content  # openai/: 3 requests
    except (litellm.AuthenticationError, litellm.BadRequestError):
        raise
    except openai.APIError:
        return None


def _value_error_safe_call(model: str, messages: list[dict]) -> str | None:
    try:
        return litellm.completion(model=model, messages=messages, num_retries=0).choices[0].message.content
    except litellm.AuthenticationError:
        raise ValueError("Invalid API key")  # the seed's way: the class is lost
    except litellm.BadRequestError:
        raise
    except openai.APIError:
        return None


register(Exercise(
    id="02.1",
    title="Безопасный вызов",
    check=check_safe_call,
    reference=reference_safe_call,
    hints=[
        "Нужны две ветки except: одна для AuthenticationError и BadRequestError (внутри — просто raise), "
        "вторая — для всех остальных ошибок провайдера (return None).",
        "Общий предок всех ошибок провайдера в LiteLLM — openai.APIError (import openai). Не litellm.APIError: "
        "от него не наследуют ни RateLimitError, ни ServiceUnavailableError. Не ловите голый Exception — "
        "он спрячет и 401.",
        "Модели openai/… идут через OpenAI SDK, который сам повторяет 429 и 5xx ещё дважды. "
        "Чтобы запрос был ровно один, передайте litellm.completion(..., num_retries=0).",
    ],
    wrong_answers=[_seed_tuple_safe_call, _swallow_all_safe_call, _litellm_base_safe_call,
                   _sdk_retries_safe_call, _value_error_safe_call],
))


# --- 02.2 call_with_retry -----------------------------------------------------------------

def reference_call_with_retry(model: str, messages: list[dict], max_retries: int = 2) -> str:
    import time

    import litellm

    for attempt in range(max_retries + 1):
        try:
            response = litellm.completion(model=model, messages=messages)
            return response.choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            retry_after = (e.litellm_response_headers or {}).get("retry-after")  # OpenRouter may not send it
            time.sleep(float(retry_after) if retry_after is not None else 2 ** attempt)
    raise AssertionError("unreachable")


def _outcome(result: Any, error: BaseException | None) -> str:
    """Russian description of what the learner's function did, for feedback."""
    return f"вернулось {result!r:.40}" if error is None else f"поднялся {type(error).__name__}"


def _request_times(model: str) -> list[float]:
    return [entry["t"] for entry in provider().log() if entry["model"] == model_id(model)]


def check_call_with_retry(call_with_retry: Callable[..., str]) -> str:
    expect(callable(call_with_retry), "ожидается функция call_with_retry(model, messages, max_retries=2).")
    prompt = "Проверка задания 02.2: что такое Retry-After?"
    model = OPENROUTER

    provider().reset()
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"без сбоев функция подняла {type(error).__name__}: {error}")
    expect(text == answer_for(prompt), f"без сбоев нужен текст ответа, а вернулось {text!r:.80}.")
    expect(_requests(model) == 1, f"без сбоев нужен 1 запрос, а провайдер получил {_requests(model)}.")

    provider().reset()
    provider().fail(model_id(model), 429, times=1, retry_after=1)
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"после одного 429 функция должна повторить запрос, а подняла {type(error).__name__}. "
                          "Проверьте порядок веток except: RateLimitError — раньше общих.")
    expect(text == answer_for(prompt), f"после повтора нужен текст ответа, а вернулось {text!r:.80}.")
    times = _request_times(model)
    expect(len(times) == 2, f"один 429 и успех — это 2 запроса, а провайдер получил {len(times)}.")
    expect(times[1] - times[0] >= 0.9, f"провайдер просил подождать 1 с (Retry-After: 1), а повтор пришёл через "
                                       f"{(times[1] - times[0]) * 1000:.0f} мс.")

    provider().reset()
    provider().fail(model_id(model), 429, times=1)  # no Retry-After: OpenRouter only "may" send it
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"после одного 429 без заголовка Retry-After функция подняла {type(error).__name__}"
                          f"{f': {error}' if str(error) else ''}. Заголовка может не быть: "
                          "e.litellm_response_headers.get('retry-after') тогда вернёт None — нужна своя пауза.")
    expect(text == answer_for(prompt), f"после повтора нужен текст ответа, а вернулось {text!r:.80}.")
    times = _request_times(model)
    expect(len(times) == 2, f"один 429 без Retry-After и успех — это 2 запроса, а провайдер получил {len(times)}.")
    expect(times[1] - times[0] >= 0.9, f"без заголовка Retry-After нужна своя пауза (1 с перед первым повтором), "
                                       f"а повтор пришёл через {(times[1] - times[0]) * 1000:.0f} мс.")

    for max_retries in (2, 3):
        provider().reset()
        provider().fail(model_id(model), 429, times=max_retries + 2, retry_after=0)  # bounded: no endless loop
        start = time.perf_counter()
        result, error = _run(call_with_retry, model, _messages(prompt), max_retries=max_retries)
        elapsed = time.perf_counter() - start
        sent = _requests(model)
        expect(sent == max_retries + 1, f"при постоянном 429 и max_retries={max_retries} нужно {max_retries + 1} "
                                        f"запроса (1 + {max_retries} повтора), а провайдер получил {sent}.")
        expect(isinstance(error, litellm.RateLimitError),
               f"когда повторы кончились, нужно поднять RateLimitError, а {_outcome(result, error)}.")
        expect(elapsed < 0.9, f"провайдер просил ждать 0 с (Retry-After: 0), а функция ждала "
                              f"{elapsed * 1000:.0f} мс: пауза должна браться из заголовка.")

    for fault, expected in (("503", litellm.ServiceUnavailableError), ("401", litellm.AuthenticationError)):
        provider().reset()
        inject(provider(), fault, model)
        result, error = _run(call_with_retry, model, _messages(prompt))
        expect(isinstance(error, expected),
               f"при HTTP {fault} нужно сразу поднять {expected.__name__}, а {_outcome(result, error)}.")
        expect(_requests(model) == 1,
               f"HTTP {fault} повторять не нужно, а провайдер получил {_requests(model)} запроса.")
    return ("429 повторяется не больше max_retries раз с паузой из Retry-After, а без заголовка — со своей паузой; "
            "503 и 401 поднимаются сразу.")


def _no_retry(model: str, messages: list[dict], max_retries: int = 2) -> str:
    return litellm.completion(model=model, messages=messages).choices[0].message.content


def _ignores_retry_after(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError:
            if attempt == max_retries:
                raise  # retries at once: Retry-After ignored


def _crashes_without_header(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            time.sleep(float(e.litellm_response_headers["retry-after"]))  # KeyError when it is missing


def _spins_without_header(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            time.sleep(float((e.litellm_response_headers or {}).get("retry-after", 0)))  # no header: no pause


def _fixed_pause(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError:
            if attempt == max_retries:
                raise
            time.sleep(1)  # always 1 s, whatever the provider asks


def _retries_everything(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except openai.APIError as e:  # 503 and 401 retried too
            if attempt == max_retries:
                raise
            time.sleep(float((getattr(e, "litellm_response_headers", None) or {}).get("retry-after", 0)))


def _num_retries_kwarg(model: str, messages: list[dict], max_retries: int = 2) -> str:
    return litellm.completion(model=model, messages=messages,
                              num_retries=max_retries).choices[0].message.content  # no pause, retries 401


def _unbounded(model: str, messages: list[dict], max_retries: int = 2) -> str:
    while True:
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except litellm.RateLimitError as e:
            time.sleep(float((e.litellm_response_headers or {}).get("retry-after", 1)))


def _wrong_order(model: str, messages: list[dict], max_retries: int = 2) -> str:
    for attempt in range(max_retries + 1):
        try:
            return litellm.completion(model=model, messages=messages).choices[0].message.content
        except openai.APIStatusError:
            raise  # catches RateLimitError before its own branch
        except litellm.RateLimitError as e:
            if attempt == max_retries:
                raise
            time.sleep(float((e.litellm_response_headers or {}).get("retry-after", 1)))


register(Exercise(
    id="02.2",
    title="Повтор 429 по Retry-After",
    check=check_call_with_retry,
    reference=reference_call_with_retry,
    hints=[
        "Заголовки настоящего ответа лежат в e.litellm_response_headers: через openrouter/ это dict с ключами "
        "в нижнем регистре, через openai/ — httpx.Headers (регистр не важен). (e.litellm_response_headers or {})"
        ".get('retry-after') работает на обоих: строка с числом секунд или None, если заголовка нет — "
        "тогда ждите 2 ** attempt секунд.",
        "Цикл for attempt in range(max_retries + 1): внутри try — вызов и return текста; "
        "в except litellm.RateLimitError — если attempt == max_retries, то raise, иначе time.sleep(...).",
        "Ловите только litellm.RateLimitError. Ветка для более общего класса (openai.APIStatusError, "
        "openai.APIError, Exception), поставленная выше, перехватит 429 раньше. Не используйте num_retries: "
        "он не ждёт и повторяет даже 401.",
    ],
    wrong_answers=[_no_retry, _ignores_retry_after, _crashes_without_header, _spins_without_header, _fixed_pause,
                   _retries_everything, _num_retries_kwarg, _unbounded, _wrong_order],
))
