"""Reference solution of lesson 07 (the practical task of the seed lesson), as a script.

    .venv/bin/python scripts/reference_practical_task.py

Starts the course (offline: the practice provider), does the five steps — disk cache, a
primary + fallback list, the same request twice with timing, proof that the cache made the
second one faster, the primary broken on purpose (outage, wrong key, rate limit) and the
fallback proven — then measures cached vs uncached latency (several prompts × repeats, the
first hit in a fresh process, one perf_counter per call), prints the numbers and draws the figure
(``test-artifacts/07_latency.png``). Finally the lesson's own checkers (07.1-07.7) judge the
functions below. Exit code 0 only if every
check passed. ``COURSE_LATENCY_SCALE`` (default 1.0) scales the provider's latency.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_helpers import start_lesson  # noqa: E402  (path set first)

course = start_lesson("07")

import litellm  # noqa: E402
from litellm.caching.caching import LiteLLMCacheType  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # a script: the figure goes to a file
import matplotlib.pyplot as plt  # noqa: E402

from course_helpers.checks import run_check  # noqa: E402
from course_helpers.measure import fmt_ms  # noqa: E402

# --- the solution: one function per step ------------------------------------------------------------

MODELS = ["openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"]  # step 2
PRIMARY_ID = MODELS[0].removeprefix("openrouter/")  # the primary as the provider names it
NO_CACHE = {"no-cache": True, "no-store": True}  # the cache must neither hide a failure nor store a fallback
UNCACHED, CACHED, FRESH = "без кэша", "из кэша", "новый процесс"  # kinds of a measurement record
FIGURE = Path(__file__).resolve().parent.parent / "test-artifacts" / "07_latency.png"


def setup_disk_cache(directory: Path) -> None:
    """Step 1: LiteLLM's disk cache in ``directory`` (enable_cache ignores a second call: disable first)."""
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))


def ask(prompt: str, **kwargs):
    """Step 2: the primary model with the others as fallbacks."""
    return litellm.completion(model=MODELS[0], fallbacks=MODELS[1:],
                              messages=[{"role": "user", "content": prompt}], **kwargs)


def send_twice(prompt: str):
    """Step 3: the same request twice, each timed with perf_counter."""
    results = []
    for _ in range(2):
        start = time.perf_counter()
        response = ask(prompt)
        results.append((response, time.perf_counter() - start))
    return results[0], results[1]


def cache_explains_speedup(first, second, provider_requests: int) -> bool:
    """Step 4: faster AND a miss then a hit AND one request reached the model."""
    (r1, s1), (r2, s2) = first, second
    return (s2 < s1 and r1._hidden_params.get("cache_hit") is not True
            and r2._hidden_params.get("cache_hit") is True and provider_requests == 1)


def break_primary_and_ask(prompt: str):
    """Step 5: an injected outage of the primary, then the request with fallbacks."""
    course.provider.fail(PRIMARY_ID, 503, times=1)
    return ask(prompt, cache=NO_CACHE)


FRESH_PROCESS = """
import sys, time
import litellm
from litellm.caching.caching import LiteLLMCacheType
litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[1])
start = time.perf_counter()
response = litellm.completion(model=sys.argv[2], messages=[{"role": "user", "content": sys.argv[3]}])
ms = (time.perf_counter() - start) * 1000
assert response._hidden_params.get("cache_hit") is True, "в новом процессе — промах"
print(ms)
"""


def measure_latency(cache_dir: Path, prompts: list[str], repeats: int) -> list[dict]:
    """The measurement: per prompt and round, one call to the model (the first round a real miss,
    then ``no-cache``) and the same call from the cache, each under its own perf_counter; then the
    first hit in a fresh Python process, which pays LiteLLM's lazy imports."""
    setup_disk_cache(cache_dir)

    def timed_call(prompt: str, **kwargs):
        start = time.perf_counter()
        response = litellm.completion(model=MODELS[0], messages=[{"role": "user", "content": prompt}], **kwargs)
        return response, (time.perf_counter() - start) * 1000

    samples = []
    for round_no in range(repeats):
        for prompt in prompts:
            response, ms = timed_call(prompt, **({} if round_no == 0 else {"cache": {"no-cache": True}}))
            assert response._hidden_params.get("cache_hit") is not True
            samples.append({"prompt": prompt, "kind": UNCACHED, "ms": ms})
            response, ms = timed_call(prompt)
            assert response._hidden_params.get("cache_hit") is True
            samples.append({"prompt": prompt, "kind": CACHED, "ms": ms})
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(cache_dir), MODELS[0], prompts[0]],
                          capture_output=True, text=True, check=True)
    samples.append({"prompt": prompts[0], "kind": FRESH, "ms": float(done.stdout.split()[-1])})
    return samples


def plot_latency(samples: list[dict]):
    """The figure: every measurement a point, a log axis in ms, the groups labelled with their n."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for x, (kind, color) in enumerate([(UNCACHED, "#cf222e"), (CACHED, "#1a7f37"), (FRESH, "#8250df")]):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([x] * len(values), values, color=color, alpha=0.7, label=f"{kind} (n={len(values)})")
    ax.set_yscale("log")  # hits (~1 ms) and the model (~500 ms) on one axis
    ax.set_xticks(range(3), [UNCACHED, CACHED, FRESH])
    ax.set_ylabel("время ответа, мс (логарифмическая шкала)")
    ax.set_title("Кэш против модели: каждый замер — точка")
    ax.legend(loc="center")  # the middle of the plot is empty: the legend covers no point
    return fig


# --- running it --------------------------------------------------------------------------------------

failures: list[str] = []


def verify(condition: bool, what: str) -> None:
    print(f"  [{'OK' if condition else 'FAIL'}] {what}")
    if not condition:
        failures.append(what)


def fallback_evidence(response, seen: int) -> bool:
    """r.model, the attempted-fallbacks header and the provider's log agree: the fallback answered."""
    log = [(e["model"], e["status"]) for e in course.provider.log()[seen:]]
    attempts = response._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"]
    print(f"  ответила {response.model}; x-litellm-attempted-fallbacks = {attempts}; журнал провайдера: {log}")
    return (response.model != PRIMARY_ID and attempts >= 1 and (PRIMARY_ID, 200) not in log
            and log[-1] == (response.model, 200))


def main() -> int:
    print("\nШаг 1. Кэш на диске")
    cache_dir = course.fresh_dir("reference_script")
    setup_disk_cache(cache_dir)
    verify(type(litellm.cache.cache).__name__ == "DiskCache", f"дисковый кэш в {cache_dir.name}/")

    print("\nШаг 2. Основная и резервная модели:", MODELS)
    r = ask("Что такое LiteLLM?")
    verify(r.model == PRIMARY_ID, f"здоровая основная отвечает сама: {r.model}")

    print("\nШаг 3. Один запрос дважды")
    # the first cache hit of a process pays for lazy imports (~200 ms): pay it apart and report it,
    # or a fast model can look slower than "the cache"
    ask("Прогрев кэша")
    start = time.perf_counter()
    warm = ask("Прогрев кэша")
    print(f"  прогрев: первое попадание в процессе {fmt_ms((time.perf_counter() - start) * 1000)}, "
          f"cache_hit = {warm._hidden_params.get('cache_hit')}")
    before = course.provider.requests()
    first, second = send_twice("Что такое Python?")
    requests = course.provider.requests() - before
    for name, (response, seconds) in (("первый", first), ("второй", second)):
        print(f"  {name}: {fmt_ms(seconds * 1000)}, cache_hit = {response._hidden_params.get('cache_hit')}")

    print("\nШаг 4. Ускорение — из-за кэша?")
    verify(cache_explains_speedup(first, second, requests),
           f"второй быстрее, он из кэша, до модели дошёл {requests} запрос")

    print("\nЗамер: 5 запросов × 3 повтора, без кэша и из кэша, и первое попадание в новом процессе")
    prompts = ["Замер: что такое токен?", "Замер: что такое задержка ответа?", "Замер: что такое TTL кэша?",
               "Замер: зачем нужна резервная модель?", "Напиши длинный рассказ"]
    before = course.provider.requests()
    samples = measure_latency(course.fresh_dir("reference_measurement"), prompts, 3)
    requests = course.provider.requests() - before
    ms = {kind: [s["ms"] for s in samples if s["kind"] == kind] for kind in (UNCACHED, CACHED, FRESH)}
    for kind, values in ms.items():
        print(f"  {kind}: n = {len(values)}, медиана {fmt_ms(statistics.median(values))}, "
              f"от {fmt_ms(min(values))} до {fmt_ms(max(values))}")
    ratio = statistics.median(ms[UNCACHED]) / statistics.median(ms[CACHED])
    verify(requests == len(ms[UNCACHED]), f"до модели дошли только вызовы без кэша: {requests}")
    verify(max(ms[CACHED]) < min(ms[UNCACHED]), "каждое попадание быстрее любого вызова модели")
    verify(ms[FRESH][0] > 3 * statistics.median(ms[CACHED]),
           "первое попадание в новом процессе медленнее попаданий в этом процессе (ленивые импорты)")
    FIGURE.parent.mkdir(exist_ok=True)
    plot_latency(samples).savefig(FIGURE, dpi=100)
    print(f"  график: {FIGURE.relative_to(FIGURE.parent.parent)}")

    print("\nШаг 5. Основная падает — отвечает резервная")
    print(" а) сбой провайдера 503:")
    seen = len(course.provider.log())
    verify(fallback_evidence(break_primary_and_ask("Что такое fallback?"), seen), "фолбэк при 503")
    print(" б) неверный ключ у основной (у резервной — свой ключ):")
    seen = len(course.provider.log())
    r = litellm.completion(model=MODELS[0], api_key="wrong", messages=[{"role": "user", "content": "Ключ?"}],
                           fallbacks=[{"model": m, "api_key": os.environ["OPENROUTER_API_KEY"]} for m in MODELS[1:]],
                           cache=NO_CACHE)
    verify(fallback_evidence(r, seen), "фолбэк при 401")
    print(" в) лимит запросов rpm=1:")
    course.provider.set_limits(PRIMARY_ID, rpm=1)
    ask("Лимит: первый запрос", cache=NO_CACHE)
    seen = len(course.provider.log())
    verify(fallback_evidence(ask("Лимит: второй запрос", cache=NO_CACHE), seen), "фолбэк при 429")
    course.provider.set_limits(PRIMARY_ID)

    print("\nПроверки урока (check) для функций этого скрипта")
    for exercise_id, answer in (("07.1", setup_disk_cache), ("07.2", ask), ("07.3", send_twice),
                                ("07.4", cache_explains_speedup), ("07.5", break_primary_and_ask),
                                ("07.6", measure_latency), ("07.7", plot_latency)):
        result = run_check(exercise_id, answer)
        verify(result.passed, f"{exercise_id}: {result.message}")

    print(f"\nИтог: медиана без кэша {fmt_ms(statistics.median(ms[UNCACHED]))}, медиана из кэша "
          f"{fmt_ms(statistics.median(ms[CACHED]))}, отношение медиан ×{ratio:.0f}; первое попадание в новом "
          f"процессе {fmt_ms(ms[FRESH][0])}.")
    print("Все проверки пройдены." if not failures else f"Не пройдено проверок: {len(failures)}.")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
