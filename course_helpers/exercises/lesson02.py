"""Lesson 02 («Ошибки и исключения»): exercises, predictions and the quiz.

Exercises (each judged by driving real faults at the practice provider and reading its log):

* 02.1 (debug) — the seed's client loop ``send(models, messages)``: no provider error may escape,
  the loop must advance, 400/401 stop at once with their own class, the last error is raised
  when every model failed;
* 02.2 (build) — ``call_with_retry``: retry 429 honouring Retry-After, with an own backoff when
  the header is missing (OpenRouter only *may* send it);
* 02.3 (decide) — ``reliable_call(messages)``: the learner picks the path, the retries and the
  timeout so that a scripted bad day of the provider meets an SLA (≤ 3 s, ≤ 3 requests, temporary
  faults invisible to the user, 400/401 never retried).
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import litellm
import openai

from course_helpers.checks import CheckFailed, Exercise, expect, provider, register
from course_helpers.panels.errors import FAULTS, inject, model_id
from course_helpers.practice_data import answer_for
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

OPENROUTER, OPENAI = "openrouter/openai/gpt-4o-mini", "openai/gpt-4o-mini"
PRIMARY, FALLBACK = "openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o-mini"  # the seed's fallback pair
SETTLE_SECONDS = 10.0  # after giving up on a call: how long its thread may take to wind down
LOOP_GUARD = 12  # a "persistent" fault lasts this many requests: a loop that never advances still ends


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def requests_ru(count: int) -> str:
    """«1 запрос», «3 запроса», «5 запросов»: a count of requests in Russian."""
    tail = count % 100
    form = ("запросов" if 11 <= tail <= 14 else "запрос" if count % 10 == 1
            else "запроса" if 2 <= count % 10 <= 4 else "запросов")
    return f"{count} {form}"


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


@dataclass
class Outcome:
    """What one call of the learner's function did, measured by :func:`run_with_deadline`."""

    result: Any
    error: BaseException | None
    seconds: float
    finished: bool  # False: still running when the deadline passed (a hang or an endless loop)


def run_with_deadline(function: Callable[..., Any], *args: Any, deadline: float, **kwargs: Any) -> Outcome:
    """Run the learner's function in a daemon thread and wait at most ``deadline`` seconds.

    A call still running at the deadline (a hang without ``timeout=``) cannot be stopped from
    outside: the provider is reset, which ends its hung requests and faults, and the thread gets
    a few seconds to finish, so that it sends nothing into later checks. The stub's
    NotImplementedError is re-raised here: not attempted.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        start = time.perf_counter()
        try:
            box["result"], box["error"] = function(*args, **kwargs), None
        except BaseException as error:  # judged by the checker
            box["result"], box["error"] = None, error
        box["seconds"] = time.perf_counter() - start

    worker = threading.Thread(target=target, daemon=True, name="course-check")
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        provider().reset()
        worker.join(SETTLE_SECONDS)
        return Outcome(None, None, deadline, finished=False)
    if isinstance(box["error"], NotImplementedError):
        raise box["error"]
    return Outcome(box["result"], box["error"], box["seconds"], finished=True)


def restores_provider(check: Callable[[Any], str]) -> Callable[[Any], str]:
    """A checker that leaves the practice provider clean (no faults, limits or latency changes), passed
    or failed: the lesson's next cells must not meet a fault the check armed."""

    @functools.wraps(check)
    def checked(answer: Any) -> str:
        try:
            return check(answer)
        finally:
            provider().reset()

    return checked


def _quiet_provider() -> None:
    """Clean provider with latency off: the checks measure the learner's waits, not the model's."""
    provider().reset()
    provider().set_latency_scale(0)


def _requests(model: str) -> int:
    return provider().requests(model=model_id(model))


def _served(model: str) -> int:
    """Answers (HTTP 200) the provider gave ``model``."""
    return sum(1 for entry in provider().log() if entry["model"] == model_id(model) and entry["status"] == 200)


# --- predictions -----------------------------------------------------------------------------

NOTHING = "никакого: вернётся обычный ответ"

register_prediction(Prediction(
    id="02.p1",
    question="Какое исключение LiteLLM поднимет, если через `openrouter/` модель ответит HTTP 503?",
    options=["RateLimitError", "ServiceUnavailableError", "APIConnectionError", "APIError", "InternalServerError"],
    explanation="503 через `openrouter/` — `litellm.ServiceUnavailableError`. Этого класса нет в списке исходного "
                "урока, поэтому обычный временный сбой («перегрузка, попробуйте позже») попал в последнюю ветку — "
                "«Другая ошибка». Пять классов из исходного урока — далеко не все, что поднимает LiteLLM.",
))
register_prediction(Prediction(
    id="02.p2",
    question="Поймает ли `except (RateLimitError, Timeout, APIConnectionError)` из исходного урока ответ HTTP 500 "
             "через `openrouter/`?",
    options=["да, поймает", "нет, ускользнёт"],
    explanation="Через OpenRouter 500 приходит как `litellm.APIError` — это не `RateLimitError`, не `Timeout` и не "
                "`APIConnectionError`, так что кортеж исходного урока его пропускает. Так же ускользают 402, 403, "
                "502 и 503. Через `openai/` тот же 500 — `InternalServerError`, и его кортеж тоже не ловит.",
    judge=lambda caught: "да, поймает" if caught else "нет, ускользнёт",
))
register_prediction(Prediction(
    id="02.p3",
    question="Модель отвечает 503 на каждый запрос. Сколько запросов получит провайдер от одного вызова "
             "`litellm.completion(model=\"openai/gpt-4o-mini\", ..., num_retries=2)`?",
    options=["1", "3", "5", "9"],
    explanation="Повторы складываются. Путь `openai/` идёт через OpenAI SDK, который сам повторяет 429, 5xx и "
                "таймауты ещё 2 раза; `num_retries` добавляет повторы LiteLLM поверх них: `2·N + 1` запросов, "
                "при N = 2 — пять. На `openrouter/` тот же `num_retries=2` даёт 3 запроса, а без него — один.",
    judge=str,
))
register_prediction(Prediction(
    id="02.p4",
    question="OpenRouter ответил HTTP 200, но внутри варианта ответа ошибка: `choices[0].error` с кодом 502 и "
             "`finish_reason: \"error\"`. Какое исключение поднимет `litellm.completion`?",
    options=["APIError", "ServiceUnavailableError", "MidStreamFallbackError", NOTHING],
    explanation="Никакого. LiteLLM возвращает обрывок ответа как обычный, с `finish_reason == \"stop\"`; ошибка "
                "остаётся только в `choices[0].provider_specific_fields` (`native_finish_reason == \"error\"` и сам "
                "`error`), а обрывок оплачен. `except` тут ничего не поймает — такое поле проверяют сами.",
    judge=lambda error: NOTHING if error is None else type(error).__name__,
))


# --- 02.1 (debug): the seed's client loop ------------------------------------------------------

def send(models: list[str], messages: list[dict]) -> str:
    last_error = None
    for model in models:  # every iteration moves on: the loop cannot spin on one model
        try:
            response = litellm.completion(model=model, messages=messages, timeout=10)
            return response.choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise  # a wrong key or a wrong request: another model will not help; the class is kept
        except openai.APIError as e:  # the common base of every provider error: nothing escapes
            last_error = e
    raise last_error  # every model failed: the caller sees the real class


SEND_SWITCH = ["429", "503", "500", "502"]  # primary fails like this (for LOOP_GUARD requests): use the fallback
SEND_STOP = [("401", litellm.AuthenticationError), ("400", litellm.BadRequestError)]


@restores_provider
def check_send(send: Callable[[list[str], list[dict]], str]) -> str:
    expect(callable(send), "ожидается функция send(models, messages).")
    models = [PRIMARY, FALLBACK]
    _quiet_provider()
    prompt = "Проверка задания 02.1: сбой основной модели"
    done = run_with_deadline(send, models, _messages(prompt), deadline=20)
    expect(done.finished, "без всяких сбоев send не вернулся за 20 с.")
    expect(done.error is None, f"без сбоев send поднял {type(done.error).__name__}: {done.error}")
    expect(done.result == answer_for(prompt), f"без сбоев send должен вернуть текст ответа, а вернул "
                                              f"{done.result!r:.80}. Текст — response.choices[0].message.content.")
    expect(_requests(PRIMARY) == 1 and _requests(FALLBACK) == 0,
           "без сбоев должен ответить первый в списке, одним запросом: основная модель получила "
           f"{requests_ru(_requests(PRIMARY))}, резервная — {requests_ru(_requests(FALLBACK))}.")

    for fault in SEND_SWITCH:
        _quiet_provider()
        provider().fail(model_id(PRIMARY), int(fault), times=LOOP_GUARD)
        prompt = f"Проверка задания 02.1: HTTP {fault} у основной модели"
        done = run_with_deadline(send, models, _messages(prompt), deadline=30)
        primary = _requests(PRIMARY)
        expect(done.finished, f"при HTTP {fault} у основной модели send не закончился за 30 с.")
        if done.error is not None:
            raise CheckFailed(f"при HTTP {fault} у основной модели из send вылетел {type(done.error).__name__}: "
                              "эта ошибка провайдера не попала в ветку, которая переходит к резервной модели. "
                              "Вспомните карту 2.2 — какие классы бывают на самом деле?")
        expect(primary <= 3, f"при HTTP {fault} основная модель получила {requests_ru(primary)} подряд, а к резервной "
                             "send так и не перешёл: цикл застрял на одной модели и не продвигается. Посмотрите, "
                             "в какую ветку попадает эта ошибка и что эта ветка делает с attempt.")
        expect(_served(FALLBACK) == 1 and done.result == answer_for(prompt),
               f"при HTTP {fault} у основной модели должна ответить резервная, а она получила "
               f"{requests_ru(_requests(FALLBACK))}; send вернул {done.result!r:.60}.")

    for fault, expected in SEND_STOP:
        _quiet_provider()
        provider().fail(model_id(PRIMARY), int(fault), times=LOOP_GUARD)
        done = run_with_deadline(send, models, _messages(f"Проверка задания 02.1: HTTP {fault}"), deadline=30)
        expect(done.finished, f"при HTTP {fault} send не закончился за 30 с.")
        what = "ключ" if fault == "401" else "запрос"
        expect(_requests(PRIMARY) == 1, f"HTTP {fault} повторён: основная модель получила "
                                        f"{requests_ru(_requests(PRIMARY))}. Неверный {what} повтор не исправит.")
        expect(_requests(FALLBACK) == 0, f"при HTTP {fault} send отправил запрос резервной модели: неверный {what} "
                                         "другая модель не исправит — поднимите ошибку сразу.")
        expect(done.error is not None, f"при HTTP {fault} send вернул {done.result!r:.40} — ошибку нельзя прятать, "
                                       f"поднимите {expected.__name__}.")
        expect(isinstance(done.error, expected),
               f"при HTTP {fault} send поднял {type(done.error).__name__} вместо {expected.__name__}: класс ошибки "
               "потерян, и вызывающий код не поймёт, что случилось. Поднимайте её как есть: raise.")

    _quiet_provider()
    for model in models:
        provider().fail(model_id(model), 503, times=LOOP_GUARD)
    done = run_with_deadline(send, models, _messages("Проверка задания 02.1: все модели лежат"), deadline=40)
    total = provider().requests()
    expect(done.finished, "когда обе модели отвечают 503, send не закончился за 40 с.")
    expect(total <= 6, f"когда обе модели отвечают 503, провайдер получил {requests_ru(total)}: цикл не продвигается "
                       "или повторяет модель слишком много раз.")
    expect(done.error is not None, f"когда все модели отказали, send вернул {done.result!r:.40}: вызывающий код "
                                   "не узнает, что ответа нет. Поднимите последнюю ошибку провайдера.")
    expect(isinstance(done.error, openai.APIError),
           f"когда все модели отказали, send поднял {type(done.error).__name__}: поднимите последнюю ошибку "
           "провайдера (здесь ServiceUnavailableError), её класс важен вызывающему коду.")
    return ("429/500/502/503 основной модели → ответ резервной, 400 и 401 подняты своим классом без повторов, "
            "цикл всегда продвигается, а когда отказали все — поднята последняя ошибка.")


def _seed_as_is(models: list[str], messages: list[dict]) -> str:
    attempt = 0
    while attempt < len(models):
        model = models[attempt]
        try:
            return litellm.completion(model=model, messages=messages, timeout=10).choices[0].message.content
        except litellm.AuthenticationError:
            raise ValueError("Invalid API key")
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.BudgetExceededError):
            attempt += 1
        except Exception:
            continue  # never advances: the same model again
    return None


def _tuple_extended_only(models: list[str], messages: list[dict]) -> str:
    attempt = 0
    while attempt < len(models):
        model = models[attempt]
        try:
            return litellm.completion(model=model, messages=messages, timeout=10).choices[0].message.content
        except litellm.AuthenticationError:
            raise
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError,
                litellm.ServiceUnavailableError):  # 503 added, but 500 via OpenRouter is litellm.APIError
            attempt += 1
        except Exception:
            continue
    return None


def _everything_advances(models: list[str], messages: list[dict]) -> str:
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages, timeout=10).choices[0].message.content
        except litellm.AuthenticationError:
            raise ValueError("Invalid API key")  # the seed's line kept: the class is lost
        except Exception:
            continue  # 400 goes to the fallback too
    return None


def _reraises_unexpected(models: list[str], messages: list[dict]) -> str:
    attempt = 0
    while attempt < len(models):
        model = models[attempt]
        try:
            return litellm.completion(model=model, messages=messages, timeout=10).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError):
            attempt += 1
        except Exception:
            raise  # no loop any more, but 503 and 500 escape
    return None


def _returns_none_when_all_fail(models: list[str], messages: list[dict]) -> str:
    for model in models:
        try:
            return litellm.completion(model=model, messages=messages, timeout=10).choices[0].message.content
        except (litellm.AuthenticationError, litellm.BadRequestError):
            raise
        except openai.APIError:
            continue
    return None  # the caller cannot tell "no answer" from a bug


register(Exercise(
    id="02.1",
    title="Обработчик исходного урока",
    check=check_send,
    reference=send,
    answer_name="send",
    imports="import litellm\nimport openai",
    hints=[
        "Запустите проверку: она скажет, на каком сбое send ведёт себя неправильно. Сравните класс этой ошибки "
        "(карта 2.2) с ветками except — в какую из них она попадает и что эта ветка делает с attempt?",
        "Ошибок две. Кортеж «временных» классов неполон: 503 — ServiceUnavailableError, 500 и 502 через OpenRouter — "
        "APIError, и все они уходят в except Exception. А там continue не увеличивает attempt — та же модель снова.",
        "Надёжнее цикл for по моделям: каждая итерация продвигается сама. Ветки: (AuthenticationError, "
        "BadRequestError) → raise; openai.APIError (общий предок всех ошибок провайдера) → запомнить и к следующей "
        "модели; после цикла — raise последней ошибки.",
    ],
    wrong_answers=[_seed_as_is, _tuple_extended_only, _everything_advances, _reraises_unexpected,
                   _returns_none_when_all_fail],
))


# --- 02.2 (build): call_with_retry --------------------------------------------------------------

def call_with_retry(model: str, messages: list[dict], max_retries: int = 2) -> str:
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


@restores_provider
def check_call_with_retry(call_with_retry: Callable[..., str]) -> str:
    expect(callable(call_with_retry), "ожидается функция call_with_retry(model, messages, max_retries=2).")
    prompt = "Проверка задания 02.2: что такое Retry-After?"
    model = OPENROUTER

    _quiet_provider()
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"без сбоев функция подняла {type(error).__name__}: {error}")
    expect(text == answer_for(prompt), f"без сбоев нужен текст ответа, а вернулось {text!r:.80}.")
    expect(_requests(model) == 1, f"без сбоев нужен 1 запрос, а провайдер получил {requests_ru(_requests(model))}.")

    _quiet_provider()
    provider().fail(model_id(model), 429, times=1, retry_after=1)
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"после одного 429 функция должна повторить запрос, а подняла {type(error).__name__}. "
                          "Проверьте порядок веток except: RateLimitError — раньше общих.")
    expect(text == answer_for(prompt), f"после повтора нужен текст ответа, а вернулось {text!r:.80}.")
    times = _request_times(model)
    expect(len(times) == 2, f"один 429 и успех — это 2 запроса, а провайдер получил {requests_ru(len(times))}.")
    expect(times[1] - times[0] >= 0.9, f"провайдер просил подождать 1 с (Retry-After: 1), а повтор пришёл через "
                                       f"{(times[1] - times[0]) * 1000:.0f} мс.")

    _quiet_provider()
    provider().fail(model_id(model), 429, times=1)  # no Retry-After: OpenRouter only "may" send it
    text, error = _run(call_with_retry, model, _messages(prompt))
    expect(error is None, f"после одного 429 без заголовка Retry-After функция подняла {type(error).__name__}"
                          f"{f': {error}' if str(error) else ''}. Заголовка может не быть: "
                          "e.litellm_response_headers.get('retry-after') тогда вернёт None — нужна своя пауза.")
    expect(text == answer_for(prompt), f"после повтора нужен текст ответа, а вернулось {text!r:.80}.")
    times = _request_times(model)
    expect(len(times) == 2, "один 429 без Retry-After и успех — это 2 запроса, а провайдер получил "
                            f"{requests_ru(len(times))}.")
    expect(times[1] - times[0] >= 0.9, f"без заголовка Retry-After нужна своя пауза (1 с перед первым повтором), "
                                       f"а повтор пришёл через {(times[1] - times[0]) * 1000:.0f} мс.")

    for max_retries in (2, 3):
        _quiet_provider()
        provider().fail(model_id(model), 429, times=max_retries + 2, retry_after=0)  # bounded: no endless loop
        start = time.perf_counter()
        result, error = _run(call_with_retry, model, _messages(prompt), max_retries=max_retries)
        elapsed = time.perf_counter() - start
        sent = _requests(model)
        expect(sent == max_retries + 1, f"при постоянном 429 и max_retries={max_retries} нужно "
                                        f"{requests_ru(max_retries + 1)} (1 + {max_retries} повтора), а провайдер "
                                        f"получил {requests_ru(sent)}.")
        expect(isinstance(error, litellm.RateLimitError),
               f"когда повторы кончились, нужно поднять RateLimitError, а {_outcome(result, error)}.")
        expect(elapsed < 0.9, f"провайдер просил ждать 0 с (Retry-After: 0), а функция ждала "
                              f"{elapsed * 1000:.0f} мс: пауза должна браться из заголовка.")

    for fault, expected in (("503", litellm.ServiceUnavailableError), ("401", litellm.AuthenticationError)):
        _quiet_provider()
        inject(provider(), fault, model)
        result, error = _run(call_with_retry, model, _messages(prompt))
        expect(isinstance(error, expected),
               f"при HTTP {fault} нужно сразу поднять {expected.__name__}, а {_outcome(result, error)}.")
        expect(_requests(model) == 1,
               f"HTTP {fault} повторять не нужно, а провайдер получил {requests_ru(_requests(model))}.")
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
    reference=call_with_retry,
    answer_name="call_with_retry",
    imports="import time\n\nimport litellm",
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


# --- 02.3 (decide): retries and timeouts for an SLA ---------------------------------------------

SLA_SECONDS = 3.0
SLA_REQUESTS = 3
GRACE = 1.5  # how much longer than the SLA the checker waits before calling a call hung


def reliable_call(messages: list[dict]) -> str:
    retryable = (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout,
                 litellm.APIConnectionError, litellm.InternalServerError)
    for attempt in range(3):  # at most 3 requests per call
        try:
            response = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages,
                                          timeout=0.8)  # a hung request is cut after 0.8 s
            return response.choices[0].message.content
        except retryable:  # 400 and 401 are not here: they go up at once
            if attempt == 2:
                raise
            time.sleep(0.25 * 2 ** attempt)  # 0.25 s, then 0.5 s: with the timeouts, well under 3 s


@dataclass(frozen=True)
class Scenario:
    """One call of the scripted bad day: the faults it meets, in order, and what must happen."""

    label: str  # Russian
    faults: tuple[dict[str, Any], ...]
    expect: str  # "answer" or the name of the exception class that must come up
    max_requests: int = SLA_REQUESTS


BAD_DAY = [  # cheap scenarios first; the hang last (a learner's call without timeout= is abandoned there)
    Scenario("без сбоев", (), "answer", 1),
    Scenario("HTTP 400 (неверный запрос)", ({"status": 400, "times": 5},), "BadRequestError", 1),
    Scenario("HTTP 401 (неверный ключ)", ({"status": 401, "times": 5},), "AuthenticationError", 1),
    Scenario("один 503", ({"status": 503, "times": 1},), "answer"),
    Scenario("один 429 без Retry-After", ({"status": 429, "times": 1},), "answer"),
    Scenario("503, затем 429 без Retry-After", ({"status": 503, "times": 1}, {"status": 429, "times": 1}), "answer"),
    Scenario("503 на каждый запрос", ({"status": 503, "times": 6},), "ServiceUnavailableError"),
    Scenario("зависание одного запроса", ({"kind": "hang", "times": 1},), "answer"),
]


def _play(reliable_call: Callable[[list[dict]], str], scenario: Scenario, prompt: str) -> Outcome:
    _quiet_provider()
    for fault in scenario.faults:
        provider().fail("*", **fault)
    return run_with_deadline(reliable_call, _messages(prompt), deadline=SLA_SECONDS + GRACE)


@restores_provider
def check_reliable_call(reliable_call: Callable[[list[dict]], str]) -> str:
    expect(callable(reliable_call), "ожидается функция reliable_call(messages).")
    slowest = 0.0
    for number, scenario in enumerate(BAD_DAY, start=1):
        prompt = f"Проверка задания 02.3, вызов {number}: {scenario.label}"
        done = _play(reliable_call, scenario, prompt)
        sent = provider().requests()
        label = f"«{scenario.label}»"
        expect(done.finished, f"{label}: вызов не закончился и за {SLA_SECONDS + GRACE:g} с — пользователь ждёт. "
                              "Без timeout= зависший запрос держит вызов очень долго; задайте его так, чтобы "
                              f"все попытки и паузы уложились в {SLA_SECONDS:g} с.")
        expect(sent <= scenario.max_requests,
               f"{label}: провайдер получил {requests_ru(sent)}, а можно не больше {scenario.max_requests}"
               + (": 400 и 401 повтор не исправит (num_retries повторяет и их)." if scenario.max_requests == 1
                  else "."))
        expect(sent > 0, f"{label}: провайдер не получил ни одного запроса — ответ должен прийти от модели.")
        if scenario.expect == "answer":
            expect(done.error is None, f"{label}: пользователь увидел {type(done.error).__name__}, а этот сбой "
                                       "временный — следующая попытка прошла бы. Повторите его.")
            expect(done.result == answer_for(prompt), f"{label}: вернулось {done.result!r:.60}, а нужен текст "
                                                      "ответа модели.")
        else:
            expect(done.error is not None, f"{label}: вызов вернул {done.result!r:.40}, а должен поднять "
                                           f"{scenario.expect}: ответа нет, и вызывающий код должен это знать.")
            expect(type(done.error).__name__ == scenario.expect,
                   f"{label}: поднят {type(done.error).__name__}, а нужен {scenario.expect} — не заменяйте класс "
                   "ошибки (и не заворачивайте её в другую).")
        expect(done.seconds <= SLA_SECONDS, f"{label}: вызов занял {done.seconds:.2f} с, а требование — не дольше "
                                            f"{SLA_SECONDS:g} с. Сократите паузы между попытками или таймаут.")
        slowest = max(slowest, done.seconds)
    return (f"все {len(BAD_DAY)} вызовов плохого дня уложились в требование: самый долгий — {slowest:.2f} с, "
            f"не больше {SLA_REQUESTS} запросов, 400 и 401 без повторов.")


def _no_retries(messages: list[dict]) -> str:
    return litellm.completion(model=OPENROUTER, messages=messages, timeout=1).choices[0].message.content


def _num_retries_two(messages: list[dict]) -> str:
    return litellm.completion(model=OPENROUTER, messages=messages, timeout=1,
                              num_retries=2).choices[0].message.content  # retries 400 and 401 too


def _sdk_plus_num_retries(messages: list[dict]) -> str:
    return litellm.completion(model=OPENAI, messages=messages, timeout=1,
                              num_retries=2).choices[0].message.content  # 2·N + 1 = 5 requests


def _lesson_backoff(messages: list[dict]) -> str:
    for attempt in range(3):
        try:
            return litellm.completion(model=OPENROUTER, messages=messages, timeout=1).choices[0].message.content
        except (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout):
            if attempt == 2:
                raise
            time.sleep(2 ** attempt)  # 1 s, then 2 s: two faults in a row break the 3 s


def _long_timeout(messages: list[dict]) -> str:
    for attempt in range(3):
        try:
            return litellm.completion(model=OPENROUTER, messages=messages, timeout=5).choices[0].message.content
        except (litellm.RateLimitError, litellm.ServiceUnavailableError, litellm.Timeout):
            if attempt == 2:
                raise
            time.sleep(0.2)


register(Exercise(
    id="02.3",
    title="Повторы и таймаут под требование",
    check=check_reliable_call,
    reference=reliable_call,
    answer_name="reliable_call",
    imports="import time\n\nimport litellm",
    hints=[
        "Выберите, кто повторяет. num_retries не годится: он повторяет и 400/401, без пауз. Путь openai/ "
        "повторяет сам (OpenAI SDK: 429, 5xx и таймауты — ещё 2 раза, с паузами около 0,5 и 1 с; 400 и 401 — нет). "
        "Путь openrouter/ не повторяет ничего: нужен свой цикл.",
        "Посчитайте худший случай: две неудачи подряд, затем успех. Это две паузы и, если одна из неудач — "
        "зависание, ещё один таймаут. На openai/ timeout= действует на каждую попытку. Всё вместе — не больше 3 с.",
        "Подходит, например, litellm.completion(model='openai/gpt-4o-mini', messages=messages, timeout=1) — или "
        "свой цикл на 3 попытки по openrouter/ с timeout около 1 с, паузами 0,2–0,5 с и повтором только "
        "RateLimitError, ServiceUnavailableError, Timeout и им подобных.",
    ],
    wrong_answers=[_no_retries, _num_retries_two, _sdk_plus_num_retries, _lesson_backoff, _long_timeout],
))


# --- quiz -----------------------------------------------------------------------------------

for _question in [
    Question(id="02.q1", text="Через `openrouter/` модель ответила HTTP 500. Какой класс поднимет LiteLLM?",
             options=["litellm.InternalServerError", "litellm.APIError", "litellm.ServiceUnavailableError",
                      "litellm.APIConnectionError"], correct=1,
             explanation="Через OpenRouter 500, 502, 402, 403 и 413 — просто `litellm.APIError`. `InternalServerError` "
                         "и `BadGatewayError` на 500 и 502 поднимает путь `openai/`."),
    Question(id="02.q2", text="Какой класс — общий предок всех ошибок провайдера, которые поднимает LiteLLM?",
             options=["litellm.APIError", "openai.APIError", "litellm.APIConnectionError", "Exception"], correct=1,
             explanation="`openai.APIError`. `litellm.APIError` — лишь один из классов: от него не наследуют ни "
                         "`RateLimitError`, ни `ServiceUnavailableError`. `Exception` поймает и ваши собственные "
                         "ошибки, и `BudgetExceededError`, который вовсе не `openai.APIError`."),
    Question(id="02.q3", text="`except litellm.APIConnectionError` — поймает ли он `litellm.Timeout`?",
             options=["да, Timeout — его потомок", "нет"], correct=1,
             explanation="Нет: `litellm.Timeout` наследует `openai.APITimeoutError` → `openai.APIConnectionError`, "
                         "а не `litellm.APIConnectionError`. Зато `except openai.APIConnectionError` его поймает — "
                         "и если эта ветка стоит выше `except Timeout`, до неё дело не дойдёт."),
    Question(id="02.q4", text="Сколько запросов получит провайдер от `litellm.completion(model=\"openai/gpt-4o-mini\", "
                              "..., num_retries=1)`, если модель всё время отвечает 429?",
             correct=3, explanation="3: повторы LiteLLM складываются с повторами OpenAI SDK, всего `2·N + 1`. "
                                    "Через `openrouter/` было бы 2."),
    Question(id="02.q5", text="Что сделает `num_retries=2` (через `openrouter/`), если модель ответила 401?",
             options=["не повторит: ключ неверный", "повторит ещё 2 раза без пауз",
                      "повторит 2 раза, выждав Retry-After"], correct=1,
             explanation="`num_retries` в `litellm.completion` повторяет любую ошибку — и 400, и 401, и 402 — без "
                         "пауз и без оглядки на Retry-After. Поэтому для повторов он почти бесполезен."),
    Question(id="02.q6", text="429 пришёл через `openrouter/` с заголовком `Retry-After: 1`. Что даст "
                              "`e.litellm_response_headers[\"Retry-After\"]`?",
             options=["\"1\"", "KeyError", "None"], correct=1,
             explanation="KeyError: через `openrouter/` заголовки — обычный `dict` с ключами в нижнем регистре. "
                         "Берите `(e.litellm_response_headers or {}).get(\"retry-after\")`: работает и с `dict`, "
                         "и с `httpx.Headers` пути `openai/`, а без заголовка вернёт `None`."),
    Question(id="02.q7", text="Ключ OpenRouter упёрся в лимит расходов (HTTP 402). Поможет ли резервная модель "
                              "`openrouter/…` с тем же ключом?",
             options=["да, у другой модели свой лимит", "нет, ей откажут так же", "да, после паузы"], correct=1,
             explanation="Нет: кредиты — свойство ключа и счёта, а не модели; другая модель с тем же ключом получит "
                         "тот же 402. Помогает только модель, которая платит с другого счёта, или пополнение."),
]:
    register_question(_question)
