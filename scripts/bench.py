"""Benchmarks of the course: prints measured numbers (not a test).

    .venv/bin/python scripts/bench.py                 # provider + LiteLLM + cache numbers
    .venv/bin/python scripts/bench.py --notebooks     # + execution time of every notebook
    .venv/bin/python scripts/bench.py --suite         # + wall time of the whole test suite

Measured: start_lesson time to ready; practice provider overhead over its configured
latency (p50, 1 and 50 concurrent); provider requests/s at zero latency; LiteLLM's
per-call overhead through the provider; cache-hit p50 and the uncached/cached ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from course_helpers.practice import PRACTICE_KEY  # noqa: E402
from course_helpers.provider import start_provider  # noqa: E402

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Что такое Python?"}]}


def p50(values: list[float]) -> float:
    return statistics.median(values)


def timed_posts(url: str, n: int, workers: int) -> list[float]:
    """Wall time (s) of n chat requests with `workers` concurrent keep-alive clients."""
    per_worker = n // workers

    def run(_: int) -> list[float]:
        out = []
        with httpx.Client(headers={"Authorization": f"Bearer {PRACTICE_KEY}"}, timeout=30) as client:
            for _ in range(per_worker):
                start = time.perf_counter()
                client.post(url, json=BODY).raise_for_status()
                out.append(time.perf_counter() - start)
        return out

    with ThreadPoolExecutor(workers) as pool:
        return [t for chunk in pool.map(run, range(workers)) for t in chunk]


def bench_provider() -> None:
    provider = start_provider(latency_scale=1.0)
    url = provider.api_base() + "/chat/completions"
    try:
        provider.set_latency("*", base_ms=100, per_token_ms=0, jitter=0)
        timed_posts(url, 5, 1)  # warm-up
        for workers, n in ((1, 100), (50, 500)):
            times = timed_posts(url, n, workers)
            print(f"provider overhead over 100 ms latency, {workers:>2} concurrent: "
                  f"p50 {(p50(times) - 0.100) * 1000:.2f} ms, p90 {(sorted(times)[int(len(times) * .9)] - 0.1) * 1000:.2f} ms")
        provider.set_latency_scale(0.0)
        for workers in (1, 8):
            start = time.perf_counter()
            times = timed_posts(url, 2000, workers)
            print(f"provider at zero latency, {workers} client threads: {len(times) / (time.perf_counter() - start):.0f} requests/s")
    finally:
        provider.stop()


def bench_start_lesson() -> None:
    code = ("import time; t = time.perf_counter(); from course_helpers import start_lesson; "
            "start_lesson('00', quiet=True); print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 cwd=ROOT).stdout.strip().splitlines()[-1]) for _ in range(3)]
    print(f"start_lesson to ready (fresh process, includes importing LiteLLM): p50 {p50(runs):.2f} s over 3 runs")


def bench_litellm() -> None:
    from course_helpers.session import start_lesson

    course = start_lesson("00", quiet=True, latency_scale=0.0)
    import litellm

    url = course.provider.api_base() + "/chat/completions"
    direct = timed_posts(url, 200, 1)
    calls = []
    for i in range(201):
        start = time.perf_counter()
        litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=BODY["messages"])
        calls.append(time.perf_counter() - start)
    first, rest = calls[0], calls[1:]
    print(f"LiteLLM completion through the provider (zero latency): first call {first * 1000:.1f} ms, "
          f"then p50 {p50(rest) * 1000:.2f} ms vs direct HTTP p50 {p50(direct) * 1000:.2f} ms "
          f"-> LiteLLM overhead ≈ {(p50(rest) - p50(direct)) * 1000:.2f} ms per call")

    course.provider.set_latency_scale(1.0)
    litellm.enable_cache(type=litellm.caching.caching.LiteLLMCacheType.LOCAL)
    try:
        misses, first_hits, hits = [], [], []
        for i in range(10):
            messages = [{"role": "user", "content": f"бенчмарк кэша, вопрос {i}"}]
            for bucket in (misses, first_hits, hits, hits, hits):
                start = time.perf_counter()
                litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=messages)
                bucket.append(time.perf_counter() - start)
    finally:
        litellm.disable_cache()
    print(f"cache (LOCAL, realistic latency): miss p50 {p50(misses) * 1000:.0f} ms, first hit in process "
          f"{first_hits[0] * 1000:.0f} ms (lazy imports), hit p50 {p50(first_hits[1:] + hits) * 1000:.2f} ms, "
          f"uncached/cached ratio ×{p50(misses) / p50(first_hits[1:] + hits):.0f}")


def bench_notebooks() -> None:
    env = {**os.environ, "COURSE_LATENCY_SCALE": os.environ.get("COURSE_LATENCY_SCALE", "0.25")}
    code = ("import sys, time, nbformat; from nbclient import NotebookClient; nb = nbformat.read(sys.argv[1], 4); "
            "t = time.perf_counter(); NotebookClient(nb, timeout=900, kernel_name='python3', "
            "resources={'metadata': {'path': 'notebooks'}}).execute(); print(time.perf_counter() - t)")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                             cwd=ROOT)
        value = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else "FAILED"
        print(f"notebook {path.name} (scale {env['COURSE_LATENCY_SCALE']}): {value} s")


def bench_suite() -> None:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"], cwd=ROOT,
                            capture_output=True, text=True)
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"full test suite: {time.perf_counter() - start:.0f} s wall ({tail})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", action="store_true")
    parser.add_argument("--suite", action="store_true")
    args = parser.parse_args()
    print(f"# {date.today()} · {platform.platform()} · {os.cpu_count()} CPU · Python {platform.python_version()}")
    bench_start_lesson()
    bench_provider()
    bench_litellm()
    if args.notebooks:
        bench_notebooks()
    if args.suite:
        bench_suite()


if __name__ == "__main__":
    main()
