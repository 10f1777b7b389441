"""Every exercise's checker accepts its reference solution and rejects its wrong answers."""

from __future__ import annotations

import pytest

from course_helpers.checks import exercises, run_check

EXERCISES = exercises()


def test_every_lesson_has_exercises() -> None:
    lessons = {exercise_id.split(".")[0] for exercise_id in EXERCISES}
    assert "00" in lessons


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_reference_passes(course, exercise_id: str) -> None:
    result = run_check(exercise_id, EXERCISES[exercise_id].reference)
    assert result.status == "passed", result.message


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_wrong_answers_fail(course, exercise_id: str) -> None:
    wrong = EXERCISES[exercise_id].wrong_answers
    assert wrong, f"{exercise_id}: no wrong answers to prove the checker can fail"
    for answer in wrong:
        result = run_check(exercise_id, answer)
        assert result.status == "failed", (exercise_id, answer, result)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_not_attempted_is_friendly(course, exercise_id: str, capsys) -> None:
    from course_helpers.checks import check

    def stub(*args, **kwargs):
        raise NotImplementedError

    for answer in (..., stub):
        result = run_check(exercise_id, answer)
        assert result.status == "not_attempted", (exercise_id, result)
        assert "замените" in result.message, result.message
        check(exercise_id, answer)
        assert capsys.readouterr().out.startswith(f"⏳ ещё не решено · Задание {exercise_id}")


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_hints_and_solution_print(capsys, exercise_id: str) -> None:
    from course_helpers.checks import hint, solution

    hint(exercise_id)
    solution(exercise_id)
    out = capsys.readouterr().out
    assert "Подсказка 1" in out and "Эталонное решение" in out


def test_unknown_exercise_lists_known_ids() -> None:
    result = run_check("99.1", lambda: None)
    assert result.status == "error" and "Нет задания '99.1'" in result.message and "00.1" in result.message


def _fresh_by_caching_false(prompt: str):
    import litellm

    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                              caching=False)  # skips the read, still writes: as good as no-cache here


def _fresh_by_bypass(prompt: str):
    import litellm

    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                              cache={"no-cache": True, "no-store": True})


def _tenant_by_namespace(prompt: str, tenant: str):
    import litellm

    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                              cache={"namespace": tenant})


def _tenant_by_redis_namespace_metadata(prompt: str, tenant: str):
    import litellm

    return litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                              metadata={"redis_namespace": tenant})


# Correct solutions written differently from the reference: the checker must accept them too.
OTHER_CORRECT = [
    ("01.2", _fresh_by_caching_false),
    ("01.2", _fresh_by_bypass),
    ("01.3", _tenant_by_namespace),
    ("01.3", _tenant_by_redis_namespace_metadata),
]


@pytest.mark.parametrize("exercise_id,answer", OTHER_CORRECT, ids=[f"{e}-{a.__name__}" for e, a in OTHER_CORRECT])
def test_other_correct_solutions_pass(course, exercise_id: str, answer) -> None:
    result = run_check(exercise_id, answer)
    assert result.status == "passed", result.message


def test_01_3_never_reading_for_one_tenant_fails_naming_the_mistake(course) -> None:
    import litellm

    def no_cache_for_bob(prompt: str, tenant: str):
        return litellm.completion(model="openrouter/openai/gpt-4o-mini",
                                  messages=[{"role": "user", "content": prompt}], cache={"no-cache": tenant == "bob"})

    result = run_check("01.3", no_cache_for_bob)
    assert result.status == "failed" and "no-cache" in result.message and "ответ, полученный для bob" in result.message
