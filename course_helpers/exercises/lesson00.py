"""Lesson 00: a first call through LiteLLM, a broken call to repair, the cost of a few calls;
the lesson's predictions and quiz.

The project of the course (the seed's assistant service) has only an OpenRouter key. The
checker of 00.2 runs the learner's function that way (no OpenAI key or base in the
environment), so a call that would bypass OpenRouter fails as it would in the project.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import litellm

from course_helpers.checks import CheckFailed, Exercise, expect, provider, register
from course_helpers.practice_data import answer_for
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

MODEL = "openrouter/openai/gpt-4o-mini"
MODEL_ID = "openai/gpt-4o-mini"  # the id the provider sees


def _requests(model_id: str = MODEL_ID) -> int:
    return provider().stats()["by_model"].get(model_id, {}).get("requests", 0)


def _question(exercise_id: str) -> str:
    """A question no earlier call has asked (the answer text is derived from it)."""
    return f"Проверка задания {exercise_id}: вопрос {uuid.uuid4().hex[:8]}?"


# --- 00.1 · build ---------------------------------------------------------------------
def first_call(prompt: str) -> str:
    response = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": prompt}])
    return response.choices[0].message.content


def check_first_call(first_call: Callable[[str], str]) -> str:
    expect(callable(first_call), "ожидается функция first_call(prompt), а не значение.")
    prompt = _question("00.1")
    text = first_call(prompt)
    sent = provider().stats()["requests"]
    expect(sent > 0, "функция не отправила ни одного запроса: провайдер ничего не получил. "
                     "Вызовите litellm.completion(...) внутри функции.")
    expect(isinstance(text, str), f"функция должна вернуть текст ответа (str), а вернула {type(text).__name__}. "
                                  "Текст лежит в response.choices[0].message.content.")
    expect(_requests() == 1 and sent == 1,
           f"провайдер получил {_requests()} запросов к openai/gpt-4o-mini (всего {sent}), а ожидался ровно 1. "
           "Модель: openrouter/openai/gpt-4o-mini.")
    expect(text == answer_for(prompt), "вернулся не тот текст: нужен ответ модели на переданный prompt.")
    return "функция сделала один запрос и вернула текст ответа."


# --- 00.2 · debug ---------------------------------------------------------------------
def ask_assistant(question: str) -> str:
    """Текст ответа модели openrouter/openai/gpt-4o-mini на вопрос пользователя."""
    response = litellm.completion(
        model="openrouter/openai/gpt-4o-mini",
        messages=[{"role": "user", "content": question}],
    )
    return response["choices"][0]["message"]["content"]


@contextmanager
def openrouter_only() -> Iterator[None]:
    """The project's environment: an OpenRouter key only (no OpenAI key or base)."""
    saved = {name: os.environ.pop(name, None) for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL")}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value


def _diagnose_call_error(error: Exception) -> str | None:
    """A Russian explanation for the errors the broken function's mistakes cause; None if unknown."""
    text = str(error)
    if isinstance(error, (AttributeError, TypeError)) and "'str' object" in text:
        return ("LiteLLM упал на messages: это список сообщений-словарей "
                "[{'role': 'user', 'content': question}], а не строка.")
    if "Missing credentials" in text or getattr(error, "llm_provider", None) == "openai":
        return ("запрос пошёл напрямую в OpenAI (префикс openai/ или модель без префикса), а у проекта есть "
                "только ключ OpenRouter. Первая часть имени модели — провайдер LiteLLM: "
                "openrouter/openai/gpt-4o-mini.")
    if isinstance(error, litellm.NotFoundError):
        return "такой модели нет: проверьте имя после openrouter/ — нужна openrouter/openai/gpt-4o-mini."
    return None


def check_ask_assistant(ask_assistant: Callable[[str], str]) -> str:
    expect(callable(ask_assistant), "ожидается функция ask_assistant(question), а не значение.")
    question = _question("00.2")
    with openrouter_only():
        try:
            text = ask_assistant(question)
        except Exception as error:
            reason = _diagnose_call_error(error)
            if reason is None:
                raise
            raise CheckFailed(reason) from None
    expect(provider().stats()["requests"] > 0, "провайдер не получил ни одного запроса: функция должна "
                                               "вызвать litellm.completion.")
    expect(isinstance(text, str),
           f"функция вернула {type(text).__name__}, а нужен текст ответа (str): у сообщения "
           "response.choices[0].message текст лежит в поле .content.")
    expect(_requests() == 1, f"провайдер получил {_requests()} запросов к openai/gpt-4o-mini, а нужен ровно 1 "
                             "(модель openrouter/openai/gpt-4o-mini).")
    expect(text == answer_for(question), "вернулся не тот текст: в сообщении пользователя должен быть "
                                         "именно question, без изменений.")
    return "три ошибки исправлены: верный провайдер, список сообщений и текст ответа."


# --- 00.3 · measure -------------------------------------------------------------------
def cost_of(questions: list[str]) -> float:
    total = 0.0
    for question in questions:
        response = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                      messages=[{"role": "user", "content": question}])
        total += response._hidden_params["response_cost"]
    return total


def _questions() -> list[str]:
    """3-5 new questions of clearly different lengths (so no per-call constant fits)."""
    tail = "Учти контекст нашего сервиса: ответы ассистента повторяются. "
    return [f"Вопрос {uuid.uuid4().hex[:6]}: что такое кэш?" + " " + tail * random.randint(0, 12)
            for _ in range(random.randint(3, 5))]


def check_cost_of(cost_of: Callable[[list[str]], float]) -> str:
    expect(callable(cost_of), "ожидается функция cost_of(questions), а не значение.")
    # Someone else's request before the learner's: the provider's total is not the answer.
    litellm.completion(model=MODEL, messages=[{"role": "user", "content": "Привет!"}])
    questions = _questions()
    before = provider().stats()
    try:
        total = cost_of(list(questions))
    except Exception as error:
        if "isn't mapped" in str(error) or type(error).__name__ == "ModelNotMappedError":
            raise CheckFailed("litellm.completion_cost не знает цен моделей openrouter/...: их нет в таблице "
                              "цен LiteLLM. Стоимость, которую сообщил OpenRouter, уже лежит в "
                              "response._hidden_params['response_cost'].") from None
        raise
    after = provider().stats()
    sent = after["requests"] - before["requests"]
    billed = after["cost"] - before["cost"]
    expect(sent > 0, "функция не отправила ни одного запроса: стоимость нужно получить из ответов модели.")
    expect(sent == len(questions), f"вопросов {len(questions)}, а провайдер получил {sent} запросов: "
                                   "каждый вопрос — ровно один вызов.")
    expect(isinstance(total, (int, float)) and not isinstance(total, bool) and math.isfinite(total),
           f"функция должна вернуть число — стоимость в долларах, а вернула {type(total).__name__}.")
    tokens = after["prompt_tokens"] + after["completion_tokens"] - before["prompt_tokens"] - before["completion_tokens"]
    expect(not math.isclose(total, tokens), "вернулось число токенов, а нужна стоимость в долларах: "
                                            "response._hidden_params['response_cost'].")
    expect(not math.isclose(total, after["cost"], rel_tol=1e-6),
           "вернулся весь счёт провайдера, вместе с чужими запросами: сложите стоимость своих ответов.")
    expect(not math.isclose(total, billed / len(questions), rel_tol=1e-6),
           "вернулась средняя стоимость одного вопроса, а нужна сумма за все.")
    expect(math.isclose(total, billed, rel_tol=1e-6),
           f"ваша сумма ${total:.8f}, а провайдер выставил за эти вопросы ({sent} шт.) ${billed:.8f}: "
           "сложите response._hidden_params['response_cost'] каждого ответа (не только последнего).")
    return f"вопросов: {sent}, сумма ${total:.8f} — столько же насчитал провайдер."


register(Exercise(
    id="00.1",
    title="Первый запрос",
    check=check_first_call,
    reference=first_call,
    answer_name="first_call",
    imports="import litellm",
    hints=[
        "Вызовите litellm.completion(model=..., messages=[{'role': 'user', 'content': prompt}]).",
        "Ответ модели — response.choices[0].message.content; верните именно его.",
    ],
    wrong_answers=[
        lambda prompt: "Привет!",  # no call at all
        lambda prompt: litellm.completion(  # returns the whole response, not the text
            model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}]),
        lambda prompt: litellm.completion(  # wrong model
            model="openrouter/openai/gpt-4o", messages=[{"role": "user", "content": prompt}]).choices[0].message.content,
    ],
))

register(Exercise(
    id="00.2",
    title="Ответ ассистента",
    check=check_ask_assistant,
    reference=ask_assistant,
    answer_name="ask_assistant",
    imports="import litellm",
    hints=[
        "Запустите проверку: она называет ошибку, на которой функция споткнулась. Ошибок три: в имени модели, "
        "в messages и в том, что функция возвращает.",
        "Модель — openrouter/openai/gpt-4o-mini (первая часть — провайдер LiteLLM); messages — "
        "[{'role': 'user', 'content': question}]; текст — response['choices'][0]['message']['content'] "
        "(или response.choices[0].message.content).",
    ],
    wrong_answers=[
        lambda question: litellm.completion(  # prefix fixed, messages still a string
            model=MODEL, messages=question)["choices"][0]["message"]["content"],
        lambda question: litellm.completion(  # still straight to OpenAI
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": question}]).choices[0].message.content,
        lambda question: litellm.completion(  # returns the message object
            model=MODEL, messages=[{"role": "user", "content": question}])["choices"][0]["message"],
    ],
))

register(Exercise(
    id="00.3",
    title="Сколько стоят вопросы",
    check=check_cost_of,
    reference=cost_of,
    answer_name="cost_of",
    imports="import litellm",
    hints=[
        "Отправьте каждый вопрос отдельным вызовом и после каждого добавляйте к сумме стоимость этого ответа.",
        "Стоимость ответа в долларах — response._hidden_params['response_cost']; начните с total = 0.0 и "
        "прибавляйте её в цикле (total += ...).",
    ],
    wrong_answers=[
        lambda questions: sum(  # tokens, not dollars
            litellm.completion(model=MODEL, messages=[{"role": "user", "content": q}]).usage.total_tokens
            for q in questions),
        lambda questions: [litellm.completion(model=MODEL, messages=[{"role": "user", "content": q}])
                           for q in questions][-1]._hidden_params["response_cost"],  # the last one only
        lambda questions: sum(litellm.completion_cost(  # no price for openrouter/ models in LiteLLM's map
            litellm.completion(model=MODEL, messages=[{"role": "user", "content": q}])) for q in questions),
    ],
))


# --- predictions ----------------------------------------------------------------------------
REQUESTS_OPTIONS = {0: "0", 1: "1", 2: "2"}
register_prediction(Prediction(
    id="00.p1",
    question="Тот же вопрос «Что такое Python?» отправлен ещё два раза подряд. Сколько запросов получит провайдер?",
    options=list(REQUESTS_OPTIONS.values()),
    explanation="Кэш в LiteLLM по умолчанию выключен (litellm.cache is None): каждый вызов — новый запрос к "
                "провайдеру, и за каждый платите. Как сделать повтор бесплатным — урок 01.",
    judge=lambda n: REQUESTS_OPTIONS.get(n, str(n)),
))

RATE_LIMIT_OPTIONS = ["исключение litellm.RateLimitError", "обычный ответ: LiteLLM сам повторит запрос",
                      "ответ с текстом ошибки вместо текста модели"]
register_prediction(Prediction(
    id="00.p2",
    question="Провайдер один раз ответит 429 (слишком много запросов). Что получит ваш код?",
    options=RATE_LIMIT_OPTIONS,
    explanation="LiteLLM превращает HTTP 429 в исключение litellm.RateLimitError, и для openrouter/ сам запрос "
                "не повторяет: провайдер получил ровно один запрос. Повторы и резервные модели включаете вы — "
                "уроки 02 и 03.",
    judge=lambda outcome: {"RateLimitError": RATE_LIMIT_OPTIONS[0], "retried": RATE_LIMIT_OPTIONS[1],
                           "answer": RATE_LIMIT_OPTIONS[2]}.get(outcome, str(outcome)),
))

COST_OPTIONS = ["столько же: платим за запрос", "дороже: платим за токены", "дешевле"]
register_prediction(Prediction(
    id="00.p3",
    question="Второй вопрос в несколько раз длиннее первого. Сколько стоит его запрос по сравнению с коротким?",
    options=COST_OPTIONS,
    explanation="Цена — за токены: за токены вопроса (prompt_tokens) и за токены ответа (completion_tokens), у "
                "каждой модели своя цена за миллион тех и других. Длинный вопрос — больше prompt_tokens, значит "
                "дороже, даже если ответ такой же длины.",
    judge=lambda ratio: COST_OPTIONS[0] if math.isclose(ratio, 1.0) else COST_OPTIONS[1 if ratio > 1 else 2],
))


# --- quiz --------------------------------------------------------------------------------------
register_question(Question(
    id="00.q1",
    text="Где в ответе litellm.completion лежит текст модели?",
    options=["response.text", "response.choices[0].message.content", "response['content']", "response.message"],
    correct=1,
    explanation="Ответ LiteLLM повторяет формат OpenAI: список choices, в нём message, в нём content. "
                "Так же работает и доступ как к словарю: response['choices'][0]['message']['content'].",
))
register_question(Question(
    id="00.q2",
    text="Какое имя модели отправит запрос к gpt-4o-mini через OpenRouter?",
    options=["gpt-4o-mini", "openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini"],
    correct=2,
    explanation="Первая часть имени — провайдер LiteLLM (openrouter/), дальше — имя модели у OpenRouter "
                "(openai/gpt-4o-mini). И gpt-4o-mini, и openai/gpt-4o-mini LiteLLM отправит напрямую в OpenAI.",
))
register_question(Question(
    id="00.q3",
    text="Кэш не включали. Сколько запросов получит провайдер после трёх одинаковых вызовов litellm.completion?",
    correct=3,
    explanation="По умолчанию litellm.cache is None: каждый вызов — новый запрос к провайдеру.",
))
register_question(Question(
    id="00.q4",
    text="Откуда LiteLLM берёт стоимость запроса к модели openrouter/...?",
    options=["из своей таблицы цен litellm.model_cost", "из поля usage.cost в ответе OpenRouter",
             "считает по числу слов в ответе", "OpenRouter стоимость не сообщает, она всегда 0"],
    correct=1,
    explanation="Моделей openrouter/* в таблице цен LiteLLM нет (litellm.completion_cost для них падает с "
                "ModelNotMappedError), поэтому LiteLLM берёт usage.cost из ответа OpenRouter и кладёт его в "
                "response._hidden_params['response_cost'].",
))
register_question(Question(
    id="00.q5",
    text="Что такое «резервная модель»?",
    options=["ещё одна попытка того же запроса к той же модели",
             "модель, которой отправляют запрос, когда основная ответила ошибкой",
             "сохранённый в кэше ответ", "самая дешёвая модель провайдера"],
    correct=1,
    explanation="Резервная модель (параметр fallbacks) — другая модель для того же запроса. Ещё одна попытка "
                "к той же модели — это повтор (retry). И то и другое — уроки 02–03.",
))
register_question(Question(
    id="00.q6",
    text="check('00.1', first_call) ответил «❌ неверно». Что покажет hint('00.1', 2)?",
    options=["вторую, более конкретную подсказку", "эталонное решение", "повторит проверку"],
    correct=0,
    explanation="hint(id) — первая подсказка, hint(id, 2) — конкретнее. Решение печатает solution(id), и все "
                "решения собраны в свёрнутом блоке в конце урока.",
))
