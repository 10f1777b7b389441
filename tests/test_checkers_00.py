"""Lesson 00 checkers are fair both ways: other correct answers pass, a learner's plausible
mistakes and shortcuts fail with a message that names the mistake."""

from __future__ import annotations

import litellm
import pytest

from course_helpers.practice_data import answer_for
from course_helpers.session import current_course
from fairness import Case, assert_counts, cases, judge

MODEL = "openrouter/openai/gpt-4o-mini"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --- 00.1 first_call --------------------------------------------------------------------------
def first_call_dict_access(prompt: str) -> str:
    return litellm.completion(model=MODEL, messages=user(prompt))["choices"][0]["message"]["content"]


def first_call_positional(prompt: str) -> str:
    reply = litellm.completion("openrouter/openai/gpt-4o-mini", [{"content": prompt, "role": "user"}])
    return str(reply.choices[0].message.content)


def first_call_batch(prompt: str) -> str:
    return litellm.batch_completion(model=MODEL, messages=[user(prompt)])[0].choices[0].message.content


def first_call_twice(prompt: str) -> str:
    litellm.completion(model=MODEL, messages=user(prompt))  # "a test call first"
    return litellm.completion(model=MODEL, messages=user(prompt)).choices[0].message.content


def first_call_string_messages(prompt: str) -> str:
    return litellm.completion(model=MODEL, messages=prompt).choices[0].message.content


# --- 00.2 ask_assistant ------------------------------------------------------------------------
def assistant_attribute_style(question: str) -> str:
    messages = [{"role": "user", "content": question}]
    response = litellm.completion(messages=messages, model="openrouter/openai/gpt-4o-mini")
    return response.choices[0].message.content


def assistant_message_dict(question: str) -> str:
    response = litellm.completion(model=MODEL, messages=[dict(role="user", content=question)])
    return response.choices[0].message["content"]


def assistant_only_prefix_fixed(question: str) -> str:
    return litellm.completion(model=MODEL, messages=question)["choices"][0]["message"]


def assistant_only_messages_fixed(question: str) -> str:
    return litellm.completion(model="openai/gpt-4o-mini", messages=user(question))["choices"][0]["message"]


def assistant_bare_model(question: str) -> str:
    return litellm.completion(model="gpt-4o-mini", messages=user(question)).choices[0].message.content


def assistant_returns_message(question: str) -> str:
    return litellm.completion(model=MODEL, messages=user(question))["choices"][0]["message"]


def assistant_prefix_typo(question: str) -> str:
    return litellm.completion(model="openrouter/openai/gpt4o-mini", messages=user(question)).choices[0].message.content


def assistant_wraps_question(question: str) -> str:
    return litellm.completion(model=MODEL, messages=user(f"Ответь кратко: {question}")).choices[0].message.content


# --- 00.3 cost_of ---------------------------------------------------------------------------------
def cost_sum_generator(questions: list[str]) -> float:
    return sum(litellm.completion(model=MODEL, messages=user(q))._hidden_params["response_cost"] for q in questions)


def cost_from_usage(questions: list[str]) -> float:
    spent = 0
    for q in questions:
        spent = spent + litellm.completion(model=MODEL, messages=user(q)).usage.cost
    return spent


def cost_batch(questions: list[str]) -> float:
    responses = litellm.batch_completion(model=MODEL, messages=[user(q) for q in questions])
    return float(sum(r._hidden_params.get("response_cost", 0.0) for r in responses))


def cost_tokens(questions: list[str]) -> float:
    return sum(litellm.completion(model=MODEL, messages=user(q)).usage.total_tokens for q in questions)


def cost_last_only(questions: list[str]) -> float:
    total = 0.0
    for q in questions:
        total = litellm.completion(model=MODEL, messages=user(q))._hidden_params["response_cost"]
    return total


def cost_completion_cost(questions: list[str]) -> float:
    return sum(litellm.completion_cost(litellm.completion(model=MODEL, messages=user(q))) for q in questions)


def cost_average(questions: list[str]) -> float:
    costs = [litellm.completion(model=MODEL, messages=user(q))._hidden_params["response_cost"] for q in questions]
    return sum(costs) / len(costs)


def cost_provider_bill(questions: list[str]) -> float:
    for q in questions:
        litellm.completion(model=MODEL, messages=user(q))
    return current_course().provider.stats()["cost"]


def cost_per_call_constant(questions: list[str]) -> float:
    for q in questions:
        litellm.completion(model=MODEL, messages=user(q))
    return len(questions) * 3.5e-05


def cost_without_calls(questions: list[str]) -> float:
    return 0.00012


RIGHT = {
    "00.1": [Case(first_call_dict_access, why="dict access"), Case(first_call_positional, why="positional args"),
             Case(first_call_batch, why="batch_completion")],
    "00.2": [Case(assistant_attribute_style, why="attribute access"),
             Case(assistant_message_dict, why="message['content']")],
    "00.3": [Case(cost_sum_generator, why="sum of a generator"), Case(cost_from_usage, why="usage.cost"),
             Case(cost_batch, why="batch_completion")],
}
WRONG = {
    "00.1": [Case(lambda p: litellm.completion(model=MODEL, messages=user(p)), "вернуть текст", why="whole response"),
             Case(lambda p: litellm.completion(model="openrouter/openai/gpt-4o", messages=user(p)).choices[0].message.content,
                  "ровно 1", why="other model"),
             Case(first_call_twice, "ровно 1", why="two calls"),
             Case(first_call_string_messages, "упал", why="messages as a string")],
    "00.2": [Case(assistant_only_prefix_fixed, "не строка", why="messages still a string"),
             Case(assistant_only_messages_fixed, "только ключ OpenRouter", why="still openai/"),
             Case(assistant_returns_message, ".content", why="returns the Message"),
             Case(assistant_bare_model, "напрямую в OpenAI", why="model without a prefix"),
             Case(assistant_prefix_typo, "такой модели нет", why="typo in the model name"),
             Case(assistant_wraps_question, "именно question", why="changes the question")],
    "00.3": [Case(cost_tokens, "токенов", why="total_tokens"), Case(cost_last_only, "не только последнего", why="last only"),
             Case(cost_completion_cost, "completion_cost", why="completion_cost"),
             Case(cost_average, "средняя", why="average")],
}
GAMING = {
    "00.1": [Case(lambda p: answer_for(p), "не отправила ни одного запроса", why="expected text without a call"),
             Case(lambda p: "Python — язык программирования", "не отправила", why="a literal")],
    "00.2": [Case(lambda q: answer_for(q), "ни одного запроса", why="expected text without a call")],
    "00.3": [Case(cost_provider_bill, "чужими запросами", why="the provider's whole bill"),
             Case(cost_per_call_constant, "провайдер выставил", why="a hard-coded per-call price"),
             Case(cost_without_calls, "не отправила ни одного запроса", why="a literal")],
}


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "00")


@pytest.mark.parametrize("exercise_id,kind,case", cases("right", RIGHT) + cases("wrong", WRONG) + cases("gaming", GAMING))
def test_checker_verdict(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)
