"""Latency measurement harness of lesson 07 (the practical task): cached vs uncached calls.

Scaffolding, not the subject of the lesson. The notebook passes its own ``send(prompt,
**kwargs)`` function, so the LiteLLM call being measured stays visible there; this module
only times it, proves that every sample is what it claims to be (an uncached call really
reached the practice provider, a cached one really was a cache hit) and summarises.

The first cache hit in a process pays for lazy imports (fastapi, orjson, soundfile...):
:func:`measure_cache` reports that warm-up hit on its own instead of mixing it into the
cached samples, and :func:`first_hits_in_new_process` measures it cleanly in a fresh
Python process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from course_helpers.provider import PracticeProvider

UNCACHED, WARMUP, CACHED = "uncached", "warmup", "cached"
# Packages LiteLLM imports lazily on the first cache hit of a process (measured on 1.108.14).
LAZY_ON_FIRST_HIT = ("fastapi", "orjson", "soundfile")


class MeasurementError(RuntimeError):
    """A sample was not what it should be (e.g. a "cached" call reached the provider)."""


def fmt_ms(ms: float) -> str:
    """``1234.5`` -> ``'1235 мс'``, ``0.84`` -> ``'0.8 мс'`` (the course's sanitized format)."""
    return f"{ms:.1f} мс" if ms < 10 else f"{ms:.0f} мс"


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn`` and return ``(result, milliseconds)`` measured with ``perf_counter``."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000


def is_cache_hit(response: Any) -> bool:
    """True only for a cache hit: LiteLLM sets ``cache_hit`` to True on a hit, None on a miss."""
    return getattr(response, "_hidden_params", {}).get("cache_hit") is True


@dataclass
class Sample:
    """One timed call of the measurement."""

    prompt: str
    kind: str  # UNCACHED, WARMUP or CACHED
    ms: float
    model: str


@dataclass
class CacheMeasurement:
    """Every sample of one :func:`measure_cache` run and what the provider saw meanwhile."""

    samples: list[Sample] = field(default_factory=list)
    provider_requests: int = 0

    def ms(self, kind: str) -> list[float]:
        """Latencies of one kind, in call order."""
        return [s.ms for s in self.samples if s.kind == kind]

    def median(self, kind: str) -> float:
        """Median latency of one kind (ms)."""
        return statistics.median(self.ms(kind))

    def by_prompt(self, kind: str) -> dict[str, float]:
        """Median latency of one kind per prompt, in prompt order."""
        prompts = list(dict.fromkeys(s.prompt for s in self.samples))
        return {p: statistics.median([s.ms for s in self.samples if s.prompt == p and s.kind == kind])
                for p in prompts if any(s.prompt == p and s.kind == kind for s in self.samples)}

    @property
    def ratio(self) -> float:
        """How many times the median uncached call is slower than the median cache hit."""
        return self.median(UNCACHED) / self.median(CACHED)

    @property
    def always_faster(self) -> bool:
        """True if the slowest cache hit beat the fastest uncached call."""
        return max(self.ms(CACHED)) < min(self.ms(UNCACHED))

    def report(self) -> str:
        """Russian summary in the course's sanitized formats (``N мс``, ``×N``)."""
        warm = self.ms(WARMUP)
        lines = [
            f"разных запросов: {len(self.by_prompt(UNCACHED))}; вызовов без кэша: {len(self.ms(UNCACHED))}; "
            f"попаданий: {len(self.ms(CACHED))} + {len(warm)} прогревочное",
            f"провайдер получил запросов: {self.provider_requests} "
            f"(ровно столько, сколько вызовов без кэша: {self.provider_requests == len(self.ms(UNCACHED))})",
            f"медиана без кэша: {fmt_ms(self.median(UNCACHED))}",
            f"медиана из кэша (p50): {fmt_ms(self.median(CACHED))}",
            f"прогревочное попадание (первое в замере, отдельно): {fmt_ms(warm[0]) if warm else 'нет'}",
            f"ускорение по медианам: ×{self.ratio:.0f}",
            f"каждое попадание быстрее каждого вызова модели: {self.always_faster}",
        ]
        return "\n".join(lines)


def measure_cache(send: Callable[..., Any], prompts: Sequence[str], repeats: int = 3,
                  provider: PracticeProvider | None = None) -> CacheMeasurement:
    """Time ``send(prompt, **kwargs)`` uncached and cached, ``repeats`` times per prompt.

    Round 1 sends every prompt as a plain call (a real miss: the cache must be empty for
    these prompts); later rounds send ``cache={"no-cache": True}`` (skip the read, reach the
    model). After each uncached call the same prompt is sent plainly: a cache hit. The very
    first hit of the run is kept apart as the warm-up (it may carry the lazy-import cost).
    Raises :class:`MeasurementError` if a sample is not the kind it claims to be.
    """
    if len(set(prompts)) != len(prompts) or not prompts:
        raise ValueError("нужны разные запросы (prompts), хотя бы один")
    before = provider.requests() if provider is not None else 0
    result = CacheMeasurement()
    for round_no in range(repeats):
        for prompt in prompts:
            extra = {} if round_no == 0 else {"cache": {"no-cache": True}}
            response, ms = timed(send, prompt, **extra)
            if is_cache_hit(response):
                raise MeasurementError(f"вызов без кэша для «{prompt}» оказался попаданием в кэш: "
                                       "начните с пустой папки кэша (course.fresh_dir).")
            result.samples.append(Sample(prompt, UNCACHED, ms, response.model))
            response, ms = timed(send, prompt)
            if not is_cache_hit(response):
                raise MeasurementError(f"повтор «{prompt}» не попал в кэш: кэш включён?")
            kind = WARMUP if not result.ms(WARMUP) else CACHED
            result.samples.append(Sample(prompt, kind, ms, response.model))
    if provider is not None:
        result.provider_requests = provider.requests() - before
    return result


_FRESH_PROCESS_SCRIPT = """
import json, sys, time
import litellm
from litellm.caching.caching import LiteLLMCacheType
litellm.suppress_debug_info = True
cache_dir, model, prompt, hits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=cache_dir)
def call(**kw):
    t = time.perf_counter()
    r = litellm.completion(model=model, **kw)
    return r, (time.perf_counter() - t) * 1000
# the first completion() of a process has its own cost: pay it without network or cache
_, first_call = call(messages=[{"role": "user", "content": "warm-up"}], mock_response="ok", caching=False)
before = set(sys.modules)
samples, loaded = [], []
for i in range(hits):
    r, ms = call(messages=[{"role": "user", "content": prompt}])
    samples.append({"ms": ms, "cache_hit": r._hidden_params.get("cache_hit")})
    if i == 0:
        loaded = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"first_call_ms": first_call, "hits": samples, "loaded": loaded}))
"""


@dataclass
class FreshProcessHits:
    """Cache hits timed in a new Python process (see :func:`first_hits_in_new_process`)."""

    first_call_ms: float  # the process's first completion() (mock, no cache): paid separately
    hits_ms: list[float]  # hit #1 (lazy imports), #2, #3...
    all_hits: bool
    loaded_on_first_hit: list[str]

    @property
    def import_cost_ms(self) -> float:
        """First hit minus the median of the later hits: what the lazy imports cost."""
        return self.hits_ms[0] - statistics.median(self.hits_ms[1:])

    def report(self) -> str:
        """Russian summary in the sanitized formats."""
        lazy = [name for name in LAZY_ON_FIRST_HIT if name in self.loaded_on_first_hit]
        return "\n".join([
            f"новый процесс: первый вызов completion (mock, без кэша): {fmt_ms(self.first_call_ms)}",
            f"первое попадание в кэш: {fmt_ms(self.hits_ms[0])}; следующие: "
            + ", ".join(fmt_ms(ms) for ms in self.hits_ms[1:]),
            f"все вызовы — попадания: {self.all_hits}",
            f"цена ленивых импортов первого попадания: {fmt_ms(self.import_cost_ms)}",
            f"при первом попадании загружены {', '.join(LAZY_ON_FIRST_HIT)}: {lazy == list(LAZY_ON_FIRST_HIT)}",
        ])


def first_hits_in_new_process(cache_dir: str | Path, model: str, prompt: str, hits: int = 4,
                              timeout: float = 120) -> FreshProcessHits:
    """Time ``hits`` cache hits of an already cached prompt in a fresh Python process.

    The process first makes one mock ``completion`` (no network, no cache) so that the
    first-call cost is not blamed on the cache; then the first hit shows the lazy-import
    cost on its own. Environment (provider URLs, keys) is inherited.
    """
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", _FRESH_PROCESS_SCRIPT, str(cache_dir), model, prompt, str(hits)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise MeasurementError(f"процесс замера завершился с ошибкой: {done.stderr[-500:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return FreshProcessHits(first_call_ms=data["first_call_ms"], hits_ms=[h["ms"] for h in data["hits"]],
                            all_hits=all(h["cache_hit"] is True for h in data["hits"]),
                            loaded_on_first_hit=data["loaded"])
