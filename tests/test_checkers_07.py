"""Lesson 07 checkers are fair both ways: other correct answers pass, plausible wrong answers and
gaming attempts (a forged cache_hit, one stopwatch split in two, numbers made up without calls,
the course's own figure) fail with a message that names the mistake."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import litellm
import matplotlib.pyplot as plt
import pytest
from litellm.caching.caching import Cache, LiteLLMCacheType

import course_helpers.exercises.lesson07 as L07
from course_helpers.budget import BudgetGuard, max_cost
from course_helpers.exercises.lesson07 import CACHED, FRESH, UNCACHED, figure_data
from course_helpers.session import current_course
from fairness import Case, assert_counts, cases, judge

PRIMARY, BACKUP = "openrouter/openai/gpt-4o-mini", "openrouter/anthropic/claude-3-haiku"


def chat(prompt):
    return [{"role": "user", "content": prompt}]


# --- 07.1 disk cache ---------------------------------------------------------------------------

def disk_cache_object(directory):
    """Right: a Cache object assigned directly (as the project's setup_caching does)."""
    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory))


def disk_cache_by_string(directory):
    """Right: the type given as a string, the folder as a Path turned into str."""
    litellm.disable_cache()
    litellm.enable_cache(type="disk", disk_cache_dir=f"{directory}")


def memory_cache(directory):
    litellm.disable_cache()
    litellm.enable_cache()


# --- 07.2 primary + fallbacks --------------------------------------------------------------------

def ask_with_dict_fallback(prompt, **kwargs):
    """Right: the fallback as a dict (as with its own key)."""
    return litellm.completion(model=PRIMARY, messages=chat(prompt), fallbacks=[{"model": BACKUP}], **kwargs)


def ask_haiku_first(prompt, **kwargs):
    """Right: another primary, the other model as its fallback."""
    models = [BACKUP, PRIMARY]
    return litellm.completion(messages=chat(prompt), model=models[0], fallbacks=models[1:], **kwargs)


def ask_fixed_prompt(prompt, **kwargs):
    return litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat("Что такое LiteLLM?"), **kwargs)


def ask_manual_fallback(prompt, **kwargs):
    """Gaming: the fallback done by hand, not by LiteLLM's fallbacks=."""
    try:
        return litellm.completion(model=PRIMARY, messages=chat(prompt), **kwargs)
    except Exception:
        return litellm.completion(model=BACKUP, messages=chat(prompt), **kwargs)


# --- 07.3 the same request twice -------------------------------------------------------------------

def send_twice_monotonic(prompt):
    """Right: time.monotonic, a list comprehension."""
    def one():
        start = time.monotonic()
        response = litellm.completion(model=PRIMARY, messages=chat(prompt))
        return response, time.monotonic() - start
    return tuple(one() for _ in range(2))


def send_twice_ns(prompt):
    """Right: perf_counter_ns, the other model."""
    out = []
    for _ in range(2):
        t0 = time.perf_counter_ns()
        r = litellm.completion(model=BACKUP, messages=chat(prompt))
        out.append((r, (time.perf_counter_ns() - t0) / 1e9))
    return out[0], out[1]


def send_twice_in_ms(prompt):
    out = []
    for _ in range(2):
        start = time.perf_counter()
        r = litellm.completion(model=PRIMARY, messages=chat(prompt))
        out.append((r, (time.perf_counter() - start) * 1000))
    return out[0], out[1]


def send_twice_one_stopwatch(prompt):
    """Gaming: one stopwatch around both calls, split in two."""
    start = time.perf_counter()
    r1 = litellm.completion(model=PRIMARY, messages=chat(prompt))
    r2 = litellm.completion(model=PRIMARY, messages=chat(prompt))
    half = (time.perf_counter() - start) / 2
    return (r1, half), (r2, half)


def send_twice_literal_times(prompt):
    """Gaming: real calls, times typed in."""
    return tuple((litellm.completion(model=PRIMARY, messages=chat(prompt)), s) for s in (2.0, 0.001))


# --- 07.4 is the speed-up the cache's ------------------------------------------------------------

def speedup_bool(first, second, provider_requests):
    """Right: unpacked differently, == comparisons, bool()."""
    r1, r2 = first[0], second[0]
    return bool(second[1] < first[1] and r1._hidden_params.get("cache_hit") in (None, False)
                and r2._hidden_params.get("cache_hit") == True and provider_requests == 1)  # noqa: E712


def speedup_ratio(first, second, provider_requests):
    """Right: a ratio, getattr, early returns."""
    hits = [getattr(r, "_hidden_params", {}).get("cache_hit") is True for r, _ in (first, second)]
    if hits != [False, True] or provider_requests != 1:
        return False
    return first[1] / second[1] > 1


# --- 07.5 the primary really fails ----------------------------------------------------------------

NO_CACHE = {"no-cache": True, "no-store": True}


def fallback_by_wrong_key(prompt):
    """Right: a revoked key on the primary only; the fallback has its own key."""
    key = current_course().provider.key
    return litellm.completion(model=PRIMARY, api_key="wrong", messages=chat(prompt), cache=NO_CACHE,
                              fallbacks=[{"model": BACKUP, "api_key": key}])


def fallback_by_rate_limit(prompt):
    """Right: the hint's rate-limit route: rpm=1, one call spends it, the next falls back."""
    course = current_course()
    course.provider.set_limits("openai/gpt-4o-mini", rpm=1)
    litellm.completion(model=PRIMARY, messages=chat("израсходовать лимит"), cache=NO_CACHE)
    return litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat(prompt), cache=NO_CACHE)


def fallback_with_caching_false(prompt):
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    return litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat(prompt), caching=False)


def fallback_by_hand(prompt):
    """Gaming: the primary broken, the backup called by hand."""
    current_course().provider.fail("openai/gpt-4o-mini", 503, times=1)
    try:
        return litellm.completion(model=PRIMARY, messages=chat(prompt), cache=NO_CACHE)
    except Exception:
        return litellm.completion(model=BACKUP, messages=chat(prompt), cache=NO_CACHE)


def fallback_mocked(prompt):
    """Gaming: a mock response, nothing sent."""
    from course_helpers.practice_data import answer_for

    return litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat(prompt),
                              mock_response=answer_for(prompt))


# --- 07.6 the measurement --------------------------------------------------------------------------

FRESH_SCRIPT = """
import sys, time
import litellm
litellm.cache = litellm.Cache(type="disk", disk_cache_dir=sys.argv[1])
t = time.monotonic()
litellm.completion(model=sys.argv[2], messages=[{"role": "user", "content": sys.argv[3]}])
print(f"first hit: {(time.monotonic() - t) * 1000}")
"""


def measure_monotonic_script_file(cache_dir, prompts, repeats, fresh_cache_dir=None):
    """Right: time.monotonic, prompt by prompt, the fresh process from a script file (wrong if
    ``fresh_cache_dir`` sends that process to another cache folder: its "first hit" is a miss)."""
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    rows = []
    for prompt in prompts:
        for i in range(repeats):
            for kind, extra in ((UNCACHED, {"cache": {"no-cache": True}} if i else {}), (CACHED, {})):
                t = time.monotonic()
                litellm.completion(model=PRIMARY, messages=chat(prompt), **extra)
                rows.append({"kind": kind, "prompt": prompt, "ms": (time.monotonic() - t) * 1000})
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "first_hit.py"
        script.write_text(FRESH_SCRIPT)
        out = subprocess.run([sys.executable, str(script), str(fresh_cache_dir or cache_dir), PRIMARY, prompts[-1]],
                             capture_output=True, text=True, check=True).stdout
    rows.append({"kind": FRESH, "prompt": prompts[-1], "ms": float(out.rsplit(":", 1)[1])})
    return rows


def measure_every_uncached_no_cache(cache_dir, prompts, repeats):
    """Right: every uncached call with no-cache (it still writes), a Cache object, perf_counter_ns."""
    litellm.cache = Cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    rows = []
    for _ in range(repeats):
        for prompt in prompts:
            t0 = time.perf_counter_ns()
            litellm.completion(model=BACKUP, messages=chat(prompt), cache={"no-cache": True})
            rows.append({"prompt": prompt, "kind": UNCACHED, "ms": (time.perf_counter_ns() - t0) / 1e6})
            t0 = time.perf_counter_ns()
            litellm.completion(model=BACKUP, messages=chat(prompt))
            rows.append({"prompt": prompt, "kind": CACHED, "ms": (time.perf_counter_ns() - t0) / 1e6})
    code = ("import sys,time,litellm\n"
            "from litellm.caching.caching import LiteLLMCacheType\n"
            "litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=sys.argv[1])\n"
            "s=time.perf_counter()\n"
            "litellm.completion(model=sys.argv[2], messages=[{'role': 'user', 'content': sys.argv[3]}])\n"
            "print((time.perf_counter()-s)*1000)")
    done = subprocess.run([sys.executable, "-c", code, str(cache_dir), BACKUP, prompts[0]],
                          capture_output=True, text=True, check=True)
    return rows + [{"prompt": prompts[0], "kind": FRESH, "ms": float(done.stdout.strip())}]


def _plain_loop(cache_dir, prompts, repeats, seconds=False, plain_repeats=False, forge=False):
    litellm.disable_cache()
    litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(cache_dir))
    rows = []
    for i in range(repeats):
        for prompt in prompts:
            for kind in (UNCACHED, CACHED):
                extra = {"cache": {"no-cache": True}} if (kind == UNCACHED and i and not plain_repeats) else {}
                if forge and kind == CACHED:
                    extra = {"cache": {"no-cache": True}}
                start = time.perf_counter()
                r = litellm.completion(model=PRIMARY, messages=chat(prompt), **extra)
                took = time.perf_counter() - start
                if forge and kind == CACHED:
                    r._hidden_params["cache_hit"] = True  # forged
                rows.append({"prompt": prompt, "kind": kind, "ms": took if seconds else took * 1000})
    return rows + [{"prompt": prompts[0], "kind": FRESH, "ms": 300.0}]


def measure_in_seconds(cache_dir, prompts, repeats):
    return _plain_loop(cache_dir, prompts, repeats, seconds=True)


def measure_plain_repeats(cache_dir, prompts, repeats):
    """Wrong: later rounds' "uncached" calls without no-cache: they are cache hits."""
    return _plain_loop(cache_dir, prompts, repeats, plain_repeats=True)


def measure_forged_cache_hit(cache_dir, prompts, repeats):
    """Gaming: model calls labelled cached, cache_hit forged on the response."""
    return _plain_loop(cache_dir, prompts, repeats, forge=True)


def measure_made_up(cache_dir, prompts, repeats):
    """Gaming: plausible numbers, no calls."""
    return ([{"prompt": p, "kind": k, "ms": ms} for p in prompts for _ in range(repeats)
             for k, ms in ((UNCACHED, 420.0), (CACHED, 1.2))] + [{"prompt": prompts[0], "kind": FRESH, "ms": 310.0}])


# --- 07.7 the figure ---------------------------------------------------------------------------

def _groups(samples):
    return {kind: [s["ms"] for s in samples if s["kind"] == kind] for kind in (UNCACHED, CACHED, FRESH)}


def plot_boxes(samples):
    """Right: box plots with the points on top, n in the tick labels, fig from plt.figure()."""
    groups = {k: v for k, v in _groups(samples).items() if v}
    fig = plt.figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.boxplot(list(groups.values()))
    for i, values in enumerate(groups.values(), start=1):
        ax.plot([i] * len(values), values, "o", alpha=0.5)
    ax.set_xticks(range(1, len(groups) + 1), [f"{k}\nn = {len(v)}" for k, v in groups.items()])
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms")
    return fig


def plot_horizontal_seconds(samples):
    """Right: horizontal, in seconds, log x axis, a legend with n."""
    fig, ax = plt.subplots()
    for y, kind in enumerate((UNCACHED, CACHED)):
        seconds = [s["ms"] / 1000 for s in samples if s["kind"] == kind]
        ax.scatter(seconds, [y] * len(seconds), label=f"{kind}, n={len(seconds)}")
    ax.set_xscale("log")
    ax.set_xlabel("время ответа, с")
    ax.set_yticks([])
    ax.legend()
    return fig


def plot_log10_values(samples):
    """Right: the logarithm drawn as values, the axis label says so."""
    import math

    fig, ax = plt.subplots()
    for x, kind in enumerate((UNCACHED, CACHED)):
        values = [math.log10(s["ms"]) for s in samples if s["kind"] == kind]
        ax.scatter([x] * len(values), values, label=f"{kind} ({len(values)} замеров)")
    ax.set_ylabel("log10(время, мс)")
    ax.legend()
    return fig


def plot_no_n(samples):
    fig, ax = plt.subplots()
    for kind in (UNCACHED, CACHED):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([kind] * len(values), values, label=kind)
    ax.set_yscale("log")
    ax.set_ylabel("время, мс")
    ax.legend()
    return fig


def plot_no_group_labels(samples):
    fig, ax = plt.subplots()
    for x, kind in enumerate((UNCACHED, CACHED)):
        values = [s["ms"] for s in samples if s["kind"] == kind]
        ax.scatter([x] * len(values), values)
    ax.set_yscale("log")
    ax.set_ylabel("время, мс")
    ax.set_title(f"n = {sum(1 for s in samples if s['kind'] == UNCACHED)} / "
                 f"{sum(1 for s in samples if s['kind'] == CACHED)}")
    return fig


def plot_reference(samples):
    """Gaming: the course's own figure."""
    from course_helpers.panels.practical import reference_figure

    return reference_figure(samples)


def plot_fixed_data(samples):
    """Gaming: a good-looking figure of data of its own."""
    from course_helpers.exercises.lesson07 import plot_latency

    return plot_latency(figure_data(3, 2, 1, seed=1))


def plot_returns_axes(samples):
    from course_helpers.exercises.lesson07 import plot_latency

    return plot_latency(samples).axes[0]


# --- 07.8 Router -------------------------------------------------------------------------------------

def _deployment(group, model, name=None):
    provider = current_course().provider
    params = {"model": model, "api_key": provider.key}
    if name:
        params["api_base"] = provider.api_base("openrouter", deployment=name)
    return {"model_name": group, "litellm_params": params}


def router_default_fallbacks():
    """Right: default_fallbacks (accepted in 03.2 too)."""
    return litellm.Router(model_list=[_deployment("main", PRIMARY, "d1"), _deployment("main", PRIMARY, "d2"),
                                      _deployment("backup", BACKUP)], default_fallbacks=["backup"])


def router_explicit_strategy():
    """Right: a loop, an explicit routing strategy, the backup on its own deployment name."""
    model_list = [_deployment("main", PRIMARY, name) for name in ("east", "west")]
    model_list.append(_deployment("backup", BACKUP, "reserve"))
    return litellm.Router(model_list=model_list, routing_strategy="simple-shuffle", fallbacks=[{"main": ["backup"]}])


def router_backup_same_deployments():
    """Wrong: the "backup" group is the same two deployments."""
    return litellm.Router(model_list=[_deployment("main", PRIMARY, "d1"), _deployment("main", PRIMARY, "d2"),
                                      _deployment("backup", PRIMARY, "d1")], fallbacks=[{"main": ["backup"]}])


def _registered(exercise: int, index: int):
    """A wrong answer registered with exercise 07.<exercise> (the lambdas have no names to import)."""
    from course_helpers.checks import exercises

    return exercises()[f"07.{exercise}"].wrong_answers[index]


# --- 07.9 budget guard -----------------------------------------------------------------------------

def guard_reserve_block(limit_usd):
    """Right: lesson 06's reserve() block (the old checker rejected it)."""
    guard = BudgetGuard(limit=limit_usd)

    def guarded_ask(prompt):
        msgs = chat(prompt)
        with guard.reserve("openrouter/openai/gpt-4o-mini", msgs, max_tokens=50) as hold:
            response = litellm.completion(model="openrouter/openai/gpt-4o-mini", messages=msgs, max_tokens=50)
            hold.settle(response)
        return response
    return guarded_ask


class HandGuard:
    """Right: a hand-written reservation with max_cost and a lock."""

    def __init__(self, limit):
        self.limit, self.spent, self.lock = limit, 0.0, threading.Lock()

    def __call__(self, prompt):
        msgs = chat(prompt)
        need = max_cost(PRIMARY, msgs, 50)
        with self.lock:
            if self.spent + need > self.limit:
                raise litellm.BudgetExceededError(current_cost=self.spent, max_budget=self.limit)
            self.spent += need
        response = litellm.completion(model=PRIMARY, messages=msgs, max_tokens=50)
        with self.lock:
            self.spent += (response._hidden_params.get("response_cost") or 0.0) - need
        return response


def guard_charges_hits(limit_usd):
    """Wrong: every call charged its maximum, cache hits too."""
    spent = [0.0]

    def guarded_ask(prompt):
        need = max_cost(PRIMARY, chat(prompt), 50)
        if spent[0] + need > limit_usd:
            raise litellm.BudgetExceededError(current_cost=spent[0], max_budget=limit_usd)
        spent[0] += need
        return litellm.completion(model=PRIMARY, messages=chat(prompt), max_tokens=50)
    return guarded_ask


def guard_fixed_price(limit_usd):
    """Gaming: a hard-coded per-call price."""
    spent = [0.0]

    def guarded_ask(prompt):
        if spent[0] + 0.00002 > limit_usd:
            raise litellm.BudgetExceededError(current_cost=spent[0], max_budget=limit_usd)
        r = litellm.completion(model=PRIMARY, messages=chat(prompt), max_tokens=50)
        spent[0] += 0.00002 if not r._hidden_params.get("cache_hit") else 0.0
        return r
    return guarded_ask


# --- tables ------------------------------------------------------------------------------------------

RIGHT = {
    "07.1": [Case(disk_cache_object, why="litellm.cache = Cache(...)"),
             Case(disk_cache_by_string, why="type='disk'")],
    "07.2": [Case(ask_with_dict_fallback, why="fallback as a dict"),
             Case(ask_haiku_first, why="other primary")],
    "07.3": [Case(send_twice_monotonic, why="monotonic"),
             Case(send_twice_ns, why="perf_counter_ns, other model")],
    "07.4": [Case(speedup_bool, why="bool, =="),
             Case(speedup_ratio, why="ratio, getattr")],
    "07.5": [Case(fallback_by_wrong_key, why="wrong key on the primary"),
             Case(fallback_by_rate_limit, why="rate limit (the hint's route)")],
    "07.6": [Case(measure_monotonic_script_file, why="monotonic, script file"),
             Case(measure_every_uncached_no_cache, why="no-cache always, Cache object, ns")],
    "07.7": [Case(plot_boxes, why="box plot, n in ticks"),
             Case(plot_horizontal_seconds, why="horizontal, seconds"),
             Case(plot_log10_values, why="log10 values")],
    "07.8": [Case(router_default_fallbacks, why="default_fallbacks"),
             Case(router_explicit_strategy, why="explicit strategy")],
    "07.9": [Case(guard_reserve_block, why="reserve() block"),
             Case(HandGuard, why="hand-written reservation")],
}

WRONG = {
    "07.1": [Case(lambda directory: None, "прежний кэш", why="nothing"),
             Case(lambda directory: litellm.enable_cache(type=LiteLLMCacheType.DISK, disk_cache_dir=str(directory)),
                  "disable_cache", why="old cache stays"),
             Case(memory_cache, "нужен дисковый", why="in memory"),
             Case(lambda directory: (litellm.disable_cache(), litellm.enable_cache(
                 type=LiteLLMCacheType.DISK, disk_cache_dir=tempfile.mkdtemp())), "cache.db", why="another folder")],
    "07.2": [Case(lambda prompt, **kw: litellm.completion(model=PRIMARY, messages=chat(prompt), **kw),
                  "не подключена", why="no fallbacks"),
             Case(lambda prompt, **kw: litellm.completion(model=PRIMARY, fallbacks=["openai/gpt-4o-mini"],
                                                          messages=chat(prompt), **kw),
                  "та же модель", why="same model by another route"),
             Case(lambda prompt, **kw: litellm.completion(model=PRIMARY, fallbacks=["несуществующая-модель"],
                                                          messages=chat(prompt), **kw),
                  "не существует", why="nonexistent fallback"),
             Case(ask_fixed_prompt, "не на тот запрос", why="prompt ignored")],
    "07.3": [Case(send_twice_in_ms, "в секундах", why="milliseconds"),
             Case(lambda prompt: tuple((litellm.completion(model=PRIMARY, messages=chat(f"{prompt} {i}")), 0.5)
                                       for i in range(2)), "должен 1", why="two different requests"),
             Case(lambda prompt: tuple((litellm.completion(model=PRIMARY, messages=chat(prompt),
                                                           cache={"no-cache": True}), 0.5) for _ in range(2)),
                  "должен 1", why="cache skipped")],
    "07.4": [Case(lambda first, second, n: second[1] < first[1], "оба запроса пришли из кэша", why="faster only"),
             Case(lambda first, second, n: (first[0]._hidden_params.get("cache_hit") is not True
                                            and second[0]._hidden_params.get("cache_hit") is True and n == 1),
                  "сравните и время", why="timing ignored"),
             Case(lambda first, second, n: second[1] < first[1] and n == 1, "cache_hit", why="cache_hit ignored"),
             Case(lambda first, second, n: (second[0]._hidden_params.get("cache_hit") is not False
                                            and second[1] < first[1]), "функция ответила true", why="None trap")],
    "07.5": [Case(L07._seed_step5, "ни одного запроса", why="the seed's step 5 as given"),
             Case(lambda prompt: litellm.completion(model="несуществующая-модель", messages=chat(prompt)),
                  "до сети", why="the seed's nonexistent model"),
             Case(lambda prompt: litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat(prompt),
                                                    cache=NO_CACHE), "не получил отказа", why="nothing broken"),
             Case(fallback_with_caching_false, "no-store", why="caching=False"),
             Case(lambda prompt: (current_course().provider.fail("openai/gpt-4o-mini", 503, times=1),
                                  litellm.completion(model=PRIMARY, fallbacks=[BACKUP], messages=chat(prompt),
                                                     cache={"no-store": True}))[1],
                  "из кэша", why="no-store only")],
    "07.6": [Case(measure_in_seconds, "похоже на секунды", why="seconds"),
             Case(measure_plain_repeats, "до провайдера дошло", why="repeats without no-cache"),
             Case(L07._fresh_in_this_kernel, "новом процессе", why="first hit timed in this kernel"),
             Case(lambda cache_dir, prompts, repeats: measure_monotonic_script_file(
                 cache_dir, prompts, repeats, fresh_cache_dir=Path(cache_dir) / "elsewhere"),
                  "промахнулся мимо кэша", why="fresh process in another cache folder"),
             Case(L07._cached_reaches_the_model, "cache_hit не true", why="cached calls with no-cache")],
    "07.7": [Case(plot_no_n, "сколько замеров", why="no n"),
             Case(plot_no_group_labels, "где какая группа", why="no group labels"),
             Case(L07._no_units, "нет единиц", why="no units"),
             Case(L07._linear_scale, "линейная", why="linear scale"),
             Case(L07._mean_bars, "а не одно среднее", why="mean bars")],
    "07.8": [Case(router_backup_same_deployments, "«backup»", why="backup = the same deployments"),
             Case(_registered(8, 0), "одно развёртывание", why="one deployment"),
             Case(_registered(8, 1), "backup", why="no backup group"),
             Case(_registered(8, 2), "одно развёртывание", why="default route twice")],
    "07.9": [Case(guard_charges_hits, "повторы", why="cache hits charged"),
             Case(L07._seed_budget, "пропустил", why="litellm.max_budget"),
             Case(L07._check_then_call, "пропустил", why="check-then-call"),
             Case(L07._count_calls, "повторы", why="counts calls")],
}

GAMING = {
    "07.2": [Case(ask_manual_fallback, "не средствами litellm", why="fallback by hand")],
    "07.3": [Case(send_twice_one_stopwatch, "один секундомер", why="one stopwatch split in two"),
             Case(send_twice_literal_times, "больше, чем длилась", why="literal times")],
    "07.4": [Case(lambda first, second, n: True, "сравните и время", why="always True"),
             Case(lambda first, second, n: False, "ответила false", why="always False")],
    "07.5": [Case(fallback_by_hand, "x-litellm-attempted-fallbacks", why="backup called by hand"),
             Case(fallback_mocked, "не от практического провайдера", why="mock_response")],
    "07.6": [Case(measure_forged_cache_hit, "cache_hit не true", why="forged cache_hit"),
             Case(measure_made_up, "придуманы", why="made up, no calls")],
    "07.7": [Case(plot_reference, "эталонный", why="the course's figure"),
             Case(plot_fixed_data, "не", why="data of its own"),
             Case(plot_returns_axes, "нужна figure", why="Axes")],
    "07.9": [Case(guard_fixed_price, "пропустил", why="hard-coded price")],
}


@pytest.mark.parametrize("exercise_id,kind,case",
                         cases("right", RIGHT) + cases("wrong", WRONG) + cases("gaming", GAMING))
def test_checker_is_fair(course, exercise_id: str, kind: str, case: Case) -> None:
    judge(exercise_id, kind, case)


def test_every_exercise_has_enough_cases() -> None:
    assert_counts(RIGHT, WRONG, GAMING, "07")


def test_the_checker_waits_for_late_callbacks_while_they_keep_coming() -> None:
    """07.6 on a busy machine: LiteLLM's success callbacks trickle in from its worker threads. Eight of them
    0.3 s apart (2.4 s in all) are all waited for with ``idle_s=1`` (a fixed 1 s deadline would have stopped
    at about three); when none come, the wait ends after ``idle_s``."""
    spy = L07.CallSpy()

    def trickle() -> None:
        for _ in range(8):
            time.sleep(0.3)
            spy.calls.append(L07.Call("p", False, 1.0))

    threading.Thread(target=trickle, daemon=True).start()
    L07._wait_for_calls(spy, 8, idle_s=1.0)
    assert len(spy.calls) == 8
    start = time.monotonic()
    L07._wait_for_calls(L07.CallSpy(), 3, idle_s=0.5)
    assert 0.5 <= time.monotonic() - start < 3


def test_a_figure_without_units_is_told_so(course) -> None:
    """The message the closing note quotes: a figure whose latency axis has no unit."""
    from course_helpers.checks import run_check

    result = run_check("07.7", L07._no_units)
    assert result.status == "failed"
    assert "нет единиц измерения" in result.message and "время ответа, мс" in result.message
