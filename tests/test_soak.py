"""Fault soak: 1000 requests through the project's client with fallbacks, ~30 % mixed faults
on the primary (429 + Retry-After, 5xx, hangs past the timeout, dropped connections) and
some on the fallbacks. Bounded in count and time, loopback only.

Every request is either answered (by its own answer, exactly once) or fails with a clear
error; the provider's stats agree with the client's own count of attempts."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from course_helpers import Request, ask
from course_helpers.practice_data import answer_for

N = 1000
PRIMARY, FB1, FB2 = "openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku", "openrouter/openai/gpt-4o"


@pytest.fixture
def faulty(provider):
    provider.set_latency_scale(0.0)
    p = "openai/gpt-4o-mini"
    provider.fail(p, 429, probability=0.10, retry_after=0.01)
    provider.fail(p, 503, probability=0.10)
    provider.fail(p, 500, probability=0.06)
    provider.fail(p, kind="hang", probability=0.03)
    provider.fail(p, kind="drop", probability=0.04)
    provider.fail("anthropic/claude-3-haiku", 503, probability=0.5)
    provider.fail("anthropic/claude-3-haiku", kind="drop", probability=0.2)
    provider.fail("openai/gpt-4o", 502, probability=0.3)
    return provider


def one(i: int):
    prompt = f"soak request #{i}"
    request = Request(model=PRIMARY, fallbacks=[FB1, FB2], messages=[{"role": "user", "content": prompt}],
                      timeout=0.5, retries=1)
    try:
        answer = ask(request, verbose=False, sleep=lambda s: time.sleep(min(s, 0.01)))
        return i, prompt, answer, None
    except openai.APIError as e:  # all models down for this request: a clear, typed error
        return i, prompt, None, e


def test_soak_none_lost_none_twice_counts_agree(faulty) -> None:
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(N)))
    elapsed = time.perf_counter() - start

    assert len(results) == N and sorted(r[0] for r in results) == list(range(N))  # none lost
    answered = [r for r in results if r[2] is not None]
    failed = [r for r in results if r[3] is not None]
    assert len(answered) + len(failed) == N
    for _, prompt, answer, _ in answered:
        assert answer.value == answer_for(prompt)  # its own answer, not someone else's
    for _, _, _, error in failed:
        assert "Все модели отказали" in error.__notes__[-1]

    client_attempts = sum(len(r[2].attempts if r[2] else r[3].attempts) for r in results)
    stats = faulty.stats()
    assert stats["requests"] == client_attempts
    assert stats["statuses"].get("200", 0) == len(answered)  # none answered twice

    primary_faults = Counter(e["status"] for e in faulty.log() if e["model"] == "openai/gpt-4o-mini")
    first_try_fault_rate = 1 - primary_faults[200] / sum(primary_faults.values())
    assert 0.2 < first_try_fault_rate < 0.4
    print(f"\nsoak: {N} requests in {elapsed:.1f} s, answered {len(answered)}, failed clearly {len(failed)}, "
          f"provider requests {stats['requests']}, primary fault rate {first_try_fault_rate:.0%}, "
          f"statuses {dict(stats['statuses'])}")
    assert elapsed < 120
