"""Lesson 01 exercises: caching.

``litellm.cache`` is global state. Every checker runs the learner's code inside
:func:`own_cache`, which saves the notebook's cache and restores it afterwards, so the
lesson's later cells (and other tests) see exactly the cache they had before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import litellm

from course_helpers.checks import Exercise, expect, provider, register
from course_helpers.practice_data import answer_for

MODEL = "openrouter/openai/gpt-4o-mini"


@contextmanager
def own_cache(local: bool) -> Iterator[None]:
    """Run a check with no cache (``local=False``) or a fresh in-memory one; restore after."""
    saved = litellm.cache
    litellm.disable_cache()
    if local:
        litellm.enable_cache()
    try:
        yield
    finally:
        litellm.disable_cache()
        if saved is not None:
            litellm.cache = saved
            litellm.enable_cache()  # a cache is set: only re-adds the "cache" callbacks


def _unique_prompt(exercise_id: str) -> str:
    """A prompt no cache has seen (a persistent disk or Redis cache survives between checks)."""
    return f"Проверка задания {exercise_id}: {uuid.uuid4().hex[:12]}"


def _requests() -> int:
    return provider().stats()["requests"]


def _hit(response: Any) -> bool:
    return getattr(response, "_hidden_params", {}).get("cache_hit") is True


def _expect_response(response: Any, prompt: str) -> None:
    expect(hasattr(response, "choices") and hasattr(response, "_hidden_params"),
           f"функция должна вернуть ответ litellm.completion (ModelResponse), а вернула {type(response).__name__}.")
    expect(response.choices[0].message.content == answer_for(prompt),
           "в ответе не тот текст: отправьте модели именно переданный prompt.")


# --- 01.1 -----------------------------------------------------------------------------
def reference_cached_twice(prompt: str) -> Any:
    litellm.enable_cache()  # кэш в памяти; подойдёт и DISK, и REDIS
    messages = [{"role": "user", "content": prompt}]
    litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages)
    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages)


def check_cached_twice(cached_twice: Callable[[str], Any]) -> str:
    expect(callable(cached_twice), "ожидается функция cached_twice(prompt), а не значение.")
    prompt = _unique_prompt("01.1")
    with own_cache(local=False):
        response = cached_twice(prompt)
        enabled = litellm.cache is not None
    _expect_response(response, prompt)
    expect(enabled, "после вызова функции litellm.cache is None: кэш так и не был включён.")
    reached = _requests()
    expect(_hit(response), "второй ответ пришёл не из кэша: _hidden_params['cache_hit'] не True "
                           f"(провайдер получил запросов: {reached}). Верните ответ ВТОРОГО вызова.")
    expect(reached == 1, f"провайдер получил {reached} запросов, а при работающем кэше должен получить ровно 1.")
    return "два одинаковых вызова, до провайдера дошёл один, второй ответ — из кэша."


# --- 01.2 -----------------------------------------------------------------------------
def reference_fresh_answer(prompt: str) -> Any:
    return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                              messages=[{"role": "user", "content": prompt}],
                              cache={"no-cache": True})


def check_fresh_answer(fresh_answer: Callable[[str], Any]) -> str:
    expect(callable(fresh_answer), "ожидается функция fresh_answer(prompt), а не значение.")
    prompt = _unique_prompt("01.2")
    messages = [{"role": "user", "content": prompt}]
    with own_cache(local=True):
        cache = litellm.cache
        litellm.completion(model=MODEL, messages=messages)  # the answer is now cached
        provider().reset()
        response = fresh_answer(prompt)
        reached = _requests()
        same_cache = litellm.cache is cache
        after = litellm.completion(model=MODEL, messages=messages) if litellm.cache is not None else None
    _expect_response(response, prompt)
    expect(not _hit(response) and reached == 1,
           "ответ взят из кэша, а нужен свежий: провайдер должен получить ровно 1 запрос "
           f"(получил {reached}).")
    expect(same_cache, "кэш выключен или заменён для всех: обойти его нужно только в одном вызове.")
    expect(after is not None and _hit(after) and _requests() == 1,
           "после вашего вызова обычный запрос не попал в кэш: кэш должен продолжать работать.")
    return "один вызов прошёл мимо кэша к провайдеру, а кэш продолжает работать для остальных."


# --- 01.3 -----------------------------------------------------------------------------
def reference_tenant_call(prompt: str, tenant: str) -> Any:
    # user входит в ключ кэша: у каждого клиента свои записи.
    # Так же подойдёт cache={"namespace": tenant}: ключ tenant:<sha256>, запрос провайдеру не меняется.
    return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                              messages=[{"role": "user", "content": prompt}],
                              user=tenant)


def check_tenant_call(tenant_call: Callable[[str, str], Any]) -> str:
    expect(callable(tenant_call), "ожидается функция tenant_call(prompt, tenant), а не значение.")
    prompt = _unique_prompt("01.3")
    with own_cache(local=True):
        first = tenant_call(prompt, "alice")
        after_alice = _requests()
        other = tenant_call(prompt, "bob")
        after_bob = _requests()
        again = tenant_call(prompt, "alice")
        after_again = _requests()
        bob_again = tenant_call(prompt, "bob")
        after_bob_again = _requests()
    _expect_response(first, prompt)
    expect(after_alice == 1, f"первый запрос alice должен дойти до провайдера (дошло: {after_alice}).")
    expect(not _hit(other) and after_bob == 2,
           "bob получил ответ, закэшированный для alice: записи клиентов не разделены. "
           "Ключ кэша не учитывает api_key, api_base и metadata.")
    expect(_hit(again) and after_again == 2,
           "повторный запрос alice не попал в кэш: кэш для одного клиента должен работать.")
    # Every provider response has its own id, and a hit returns the stored response with it.
    expect(getattr(again, "id", None) == getattr(first, "id", None),
           "alice получила из кэша ответ, полученный для bob: у клиентов один и тот же ключ, и ответ bob "
           "записался поверх записи alice. Не читать кэш для одного клиента (cache={'no-cache': ...} или "
           "caching=False) — не разделение: свежий ответ всё равно пишется в кэш. Сделайте ключи разными: "
           "user=tenant или cache={'namespace': tenant}.")
    expect(_hit(bob_again) and after_bob_again == 2,
           f"повторный запрос bob не попал в кэш (провайдер получил запросов: {after_bob_again}, а должен 2): "
           "кэш должен работать для каждого клиента, а не только для одного.")
    return "у каждого клиента свои записи в кэше, а повтор того же клиента — попадание."


register(Exercise(
    id="01.1",
    title="Повтор из кэша",
    check=check_cached_twice,
    reference=reference_cached_twice,
    hints=[
        "Сначала включите кэш (litellm.enable_cache(...)), потом дважды вызовите litellm.completion "
        "с одинаковыми model и messages.",
        "Верните ответ второго вызова: у него r._hidden_params['cache_hit'] is True, "
        "а провайдер получил всего один запрос.",
    ],
    wrong_answers=[
        lambda prompt: [litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}])
                        for _ in range(2)][-1],  # no cache: two requests
        lambda prompt: (litellm.enable_cache(),  # cache on, but returns the FIRST response (a miss)
                        litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}]))[1],
        lambda prompt: (litellm.enable_cache(),  # cache on, but the repeat bypasses it
                        [litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                            cache={"no-cache": True}) for _ in range(2)][-1])[1],
    ],
))

register(Exercise(
    id="01.2",
    title="Мимо кэша",
    check=check_fresh_answer,
    reference=reference_fresh_answer,
    hints=[
        "Не выключайте кэш целиком (disable_cache действует на всех): у litellm.completion есть "
        "параметр cache={...} для одного вызова.",
        "cache={'no-cache': True} — не читать из кэша (свежий ответ), а {'no-store': True} — только не записывать.",
    ],
    wrong_answers=[
        lambda prompt: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}]),  # a hit
        lambda prompt: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                          cache={"no-store": True}),  # still reads the cache
        lambda prompt: (litellm.disable_cache(),  # turns the cache off for everyone
                        litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}]))[1],
    ],
))

register(Exercise(
    id="01.3",
    title="Свой кэш у каждого клиента",
    check=check_tenant_call,
    reference=reference_tenant_call,
    hints=[
        "Посмотрите таблицу раздела 1.5: какие параметры входят в ключ кэша, а какие нет?",
        "api_key, api_base и metadata в ключ не входят, а user — входит: передайте user=tenant. "
        "Или, не меняя запрос к провайдеру, cache={'namespace': tenant}.",
    ],
    wrong_answers=[
        lambda prompt, tenant: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}]),
        lambda prompt, tenant: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                                  metadata={"tenant": tenant}),  # not in the key
        lambda prompt, tenant: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                                  caching=False),  # never reads the cache (but writes)
        lambda prompt, tenant: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                                  cache={"no-cache": tenant == "bob"}),  # bob overwrites alice
        lambda prompt, tenant: litellm.completion(model=MODEL, messages=[{"role": "user", "content": prompt}],
                                                  cache={"no-cache": tenant == "bob",  # bob bypasses the cache
                                                         "no-store": tenant == "bob"}),
    ],
))
