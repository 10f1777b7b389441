"""The suite's own plumbing in ``tests/suite_plugin.py``: ``--lesson NN`` keeps one lesson's tests;
``-n auto`` starts one worker more than the usable CPUs (two more for the quick tier).

(The Restart & Run All deselection of nbval's cells is tested in ``test_restart_run_all.py``.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from suite_plugin import MAX_WORKERS, auto_workers, of_lesson

ROOT = Path(__file__).resolve().parent.parent

OF_07 = ["tests/test_checkers_07.py::test_checker_is_fair[07.6-right-0-monotonic, script file]",
         "tests/test_claims_07.py::test_redis_cache_default_ttl_is_60_seconds",
         "tests/test_panel_07.py::test_latency_figure_renders",
         "tests/test_exercises.py::test_wrong_answers_fail[07.6]",
         "tests/test_solutions_paste.py::test_printed_solution_runs_when_pasted_and_passes[07.9]",
         "notebooks/07_practical_task.ipynb::Cell 12",
         "tests/test_online_notebooks.py::test_lesson_in_online_mode_shows_what_offline_shows[07_practical_task]",
         "tests/browser/test_notebooks_in_browser.py::test_restart_and_run_all_twice_second_in_jupyterlab[07_practical_task]"]
NOT_07 = ["tests/test_checkers_06.py::test_checker_is_fair[06.3-gaming-0-the example's numbers hard-coded]",
          "tests/test_exercises.py::test_wrong_answers_fail[00.7]",
          "tests/test_practice.py::test_log_records_the_request_parameters",
          "tests/test_claims_08.py::test_bad_input_gets_a_4xx[1007 bytes]",
          "tests/test_claims_05.py::test_rpm[x07y]",
          "notebooks/08_gateway.ipynb::Cell 7"]


@pytest.mark.parametrize("nodeid", OF_07)
def test_a_lessons_own_tests_belong_to_it(nodeid: str) -> None:
    assert of_lesson(nodeid, "07")


@pytest.mark.parametrize("nodeid", NOT_07)
def test_other_tests_do_not(nodeid: str) -> None:
    assert not of_lesson(nodeid, "07")


def test_lesson_00_first_hour_is_lesson_00s() -> None:
    assert of_lesson("tests/browser/test_first_hour.py::test_lesson_00_first_hour", "00")


def _collect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_lesson_option_keeps_only_that_lessons_cells() -> None:
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("0[67]_*.ipynb"))
    done = _collect("--lesson", "7", *notebooks)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0, done.stdout + done.stderr
    assert ids and all(i.startswith("notebooks/07_") for i in ids), ids
    assert f"{len(ids)}/" in done.stdout and "deselected" in done.stdout, done.stdout  # lesson 06's were dropped


def test_an_unknown_lesson_is_a_russian_usage_error() -> None:
    done = _collect("--lesson", "12", "tests/test_suite_plugin.py")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "--lesson 12: такого урока нет; уроки курса: 00, 01" in done.stderr


def test_auto_workers_are_one_more_than_cpus_and_two_more_for_quick() -> None:
    assert [auto_workers(2, quick) for quick in (False, True)] == [3, 4]  # this machine: measured
    assert [auto_workers(1, quick) for quick in (False, True)] == [2, 3]
    assert auto_workers(16, True) == MAX_WORKERS == 8


def test_minus_n_auto_asks_the_course_rule_for_the_cpus_this_process_may_use(pytestconfig, monkeypatch) -> None:
    """What ``scripts/test.sh`` passes (``-n auto``) gets the course's count from xdist's hook, not xdist's own
    (the machine's physical cores); a process pinned to one CPU (taskset, a container's cpuset) counts one."""
    test_sh = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert 'pytest -n "${COURSE_TEST_WORKERS:-auto}"' in test_sh
    cpus = len(os.sched_getaffinity(0))
    hook = pytestconfig.hook.pytest_xdist_auto_num_workers
    for markexpr, extra in (("", 1), ("not slow", 2)):  # the full suite, the quick tier (scripts/test.sh --quick)
        monkeypatch.setattr(pytestconfig.option, "markexpr", markexpr)
        answer = hook(config=pytestconfig)
        if hook.spec is None:  # -p no:xdist: no first-result spec, so every implementation answers (only ours)
            (answer,) = answer
        assert answer == min(cpus + extra, 8)
    one_cpu = min(os.sched_getaffinity(0))
    pinned = subprocess.run([sys.executable, "-c", "from suite_plugin import usable_cpus; print(usable_cpus())"],
                            cwd=ROOT / "tests", capture_output=True, text=True, check=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {one_cpu}))
    assert pinned.stdout.strip() == "1"
