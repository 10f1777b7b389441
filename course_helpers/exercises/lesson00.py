"""Lesson 00 exercises: a first call through LiteLLM."""

from __future__ import annotations

from typing import Callable

import litellm

from course_helpers.checks import Exercise, expect, provider, register
from course_helpers.practice_data import answer_for


def first_call(prompt: str) -> str:
    response = litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": prompt}])
    return response.choices[0].message.content


def check_first_call(first_call: Callable[[str], str]) -> str:
    expect(callable(first_call), "ожидается функция first_call(prompt), а не значение.")
    prompt = "Проверка задания 00.1: сколько будет 2+2?"
    text = first_call(prompt)
    expect(isinstance(text, str), f"функция должна вернуть текст ответа (str), а вернула {type(text).__name__}. "
                                  "Текст лежит в response.choices[0].message.content.")
    stats = provider().stats()["by_model"].get("openai/gpt-4o-mini", {})
    expect(stats.get("requests", 0) == 1,
           f"провайдер получил {stats.get('requests', 0)} запросов к openai/gpt-4o-mini, а ожидался ровно 1. "
           "Модель: openrouter/openai/gpt-4o-mini.")
    expect(text == answer_for(prompt), "вернулся не тот текст: нужен ответ модели на переданный prompt.")
    return "функция сделала один запрос и вернула текст ответа."


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
        lambda prompt: __import__("litellm").completion(  # returns the whole response, not the text
            model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}]),
        lambda prompt: __import__("litellm").completion(  # wrong model
            model="openrouter/openai/gpt-4o", messages=[{"role": "user", "content": prompt}]).choices[0].message.content,
    ],
))
