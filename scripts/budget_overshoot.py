"""How far past its limit BudgetGuard lets spend go, under the ways a learner's code ends a call early.

Prints a table (a measurement, not a test; ``tests/test_budget_overshoot.py`` asserts the bound):
for each scenario, the practice provider's bill for a key of its own, the guard's limit, and the
overshoot in USD and in "maximum costs of one request". The goal (issue 12): overshoot ≤ one
request's maximum cost in every scenario.

    .venv/bin/python scripts/budget_overshoot.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from course_helpers.budget import BudgetExceeded, BudgetGuard, max_cost  # noqa: E402
from course_helpers.provider import PracticeProvider  # noqa: E402

MODEL = "openrouter/openai/gpt-4o-mini"
MAX_TOKENS = 60
LIMIT_REQUESTS = 8  # the guard's limit, in maximum costs of one request


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Напиши длинный рассказ (вариант {i})"}]


@dataclass
class Outcome:
    scenario: str
    calls: int
    billed: float
    limit: float
    one: float

    @property
    def overshoot(self) -> float:
        return max(0.0, self.billed - self.limit)

    @property
    def within(self) -> bool:
        return self.overshoot <= self.one + 1e-12


def _billed(provider: PracticeProvider, label: str) -> float:
    """Everything the provider logged for the key labelled ``label`` (cancelled calls included)."""
    return sum(entry.get("cost", 0.0) for entry in provider.log() if entry.get("key") == label)


async def _tasks(guard: BudgetGuard, key: str) -> None:
    async def one(i: int) -> None:
        try:
            await guard.acompletion(model=MODEL, messages=messages(i), max_tokens=MAX_TOKENS, api_key=key)
        except BudgetExceeded:
            pass
    await asyncio.gather(*(one(i) for i in range(60)))


def _threads(guard: BudgetGuard, key: str) -> None:
    def worker(w: int) -> None:
        for i in range(3):
            try:
                guard.completion(model=MODEL, messages=messages(w * 10 + i), max_tokens=MAX_TOKENS, api_key=key)
            except BudgetExceeded:
                pass
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# The client gives up after its request has left (60 tasks' LiteLLM work takes a while on a busy CPU) and
# before the answer comes (~0.7 s: run() sets the provider's realistic latency for this scenario).
CANCEL_AFTER_S = 0.25


async def _cancelled(guard: BudgetGuard, key: str) -> None:
    async def one(i: int) -> None:
        try:
            await asyncio.wait_for(guard.acompletion(model=MODEL, messages=messages(i), max_tokens=MAX_TOKENS,
                                                     api_key=key), timeout=CANCEL_AFTER_S)
        except (BudgetExceeded, asyncio.TimeoutError):
            pass
    await asyncio.gather(*(one(i) for i in range(60)))
    await asyncio.sleep(1.5)  # the provider finishes (and bills) what the client gave up on


async def _exception_in_block(guard: BudgetGuard, key: str) -> None:
    async def one(i: int) -> None:
        try:
            with guard.reserve(MODEL, messages(i), max_tokens=MAX_TOKENS):
                await litellm.acompletion(model=MODEL, messages=messages(i), max_tokens=MAX_TOKENS, api_key=key)
                raise KeyError("ошибка в коде после ответа")  # the learner's bug before settle
        except (BudgetExceeded, KeyError):
            pass
    await asyncio.gather(*(one(i) for i in range(40)))


async def _streams_cut(guard: BudgetGuard, key: str) -> None:
    async def one(i: int) -> None:
        try:
            stream = await guard.acompletion(model=MODEL, messages=messages(i), max_tokens=MAX_TOKENS, api_key=key,
                                             stream=True)
            seen = 0
            async for _ in stream:
                seen += 1
                if seen == 2:
                    break  # the reader stops early
            await stream.aclose()
        except BudgetExceeded:
            pass
    await asyncio.gather(*(one(i) for i in range(30)))
    await asyncio.sleep(1.5)


async def _nan(guard: BudgetGuard, key: str) -> None:
    async def one(i: int) -> None:
        try:
            with guard.reserve(MODEL, messages(i), max_tokens=MAX_TOKENS) as hold:
                await litellm.acompletion(model=MODEL, messages=messages(i), max_tokens=MAX_TOKENS, api_key=key)
                try:
                    hold.settle(float("nan"))  # a broken cost computation
                except ValueError:
                    pass
        except BudgetExceeded:
            pass
    await asyncio.gather(*(one(i) for i in range(30)))


SCENARIOS: dict[str, Callable[[BudgetGuard, str], object]] = {
    "потоки: 20 × 3 вызова guard.completion": _threads,
    "задачи: 60 одновременных guard.acompletion": _tasks,
    f"отмена: asyncio.wait_for(..., {CANCEL_AFTER_S:g} с) × 60": _cancelled,
    "исключение в блоке после вызова × 40": _exception_in_block,
    "поток оборван после 2 кусков × 30": _streams_cut,
    "settle(nan) × 30": _nan,
}


def run(provider: PracticeProvider) -> list[Outcome]:
    """Every scenario on its own key of the practice provider (LiteLLM already pointed at it)."""
    one = max_cost(MODEL, messages(0), MAX_TOKENS)
    outcomes = []
    for n, (name, scenario) in enumerate(SCENARIOS.items()):
        label = f"overshoot-{n}"
        key = provider.create_key(label)
        guard = BudgetGuard(limit=LIMIT_REQUESTS * one, margin=0)
        scale = provider.latency_scale() if scenario is _cancelled else None
        if scale is not None:
            provider.set_latency_scale(1)
        try:
            result = scenario(guard, key)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        finally:
            if scale is not None:
                provider.set_latency_scale(scale)
        calls = sum(1 for entry in provider.log() if entry.get("key") == label)
        outcomes.append(Outcome(name, calls, _billed(provider, label), guard.limit, one))
    return outcomes


def main() -> int:
    from course_helpers import start_lesson

    course = start_lesson("06", quiet=True)
    outcomes = run(course.provider)
    print(f"BudgetGuard: лимит = {LIMIT_REQUESTS} × максимум одного запроса (${outcomes[0].one:.7f}), margin=0\n")
    print(f"{'сценарий':<45} {'запросов':>8} {'счёт, $':>11} {'лимит, $':>10} {'перерасход':>11}")
    for o in outcomes:
        print(f"{o.scenario:<45} {o.calls:>8} {o.billed:>11.7f} {o.limit:>10.7f} "
              f"{o.overshoot / o.one:>8.2f} зап. {'✓' if o.within else '✗'}")
    return 0 if all(o.within for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
