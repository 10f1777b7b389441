"""How the suite runs as a whole: parallel workers, the quick tier's marker, timing metadata.

Loaded by the root ``conftest.py`` (``pytest_plugins``).

* Parallel runs (``scripts/test.sh`` passes ``-n auto --dist loadscope``): ``-n auto`` starts one worker
  more than the CPUs this process may use, two more for the quick tier, at most 8
  (:func:`pytest_xdist_auto_num_workers`). The suite is bound by the processor, but its tests also wait
  (the provider's simulated latency, rpm windows, cooldowns, JupyterLab), and the extra worker fills
  those waits; the quick tier, without the browser's rendering, waits more. Measured on 2 CPUs (README,
  «Сколько идут тесты»): the full suite took as long with 4 workers as with 3, the quick tier 489–492 s
  with 4 against 533–561 s with 3. Other CPU counts follow the same rule, not measured.
  :class:`HeavyFirstScheduling` keeps every notebook's nbval cells on one worker (as
  ``loadscope`` does), gives each Restart & Run All, browser and online-mode lesson its own
  work unit, and hands out the longest units first (Restart & Run All, browser, online mode,
  nbval, then the rest), so no long unit starts last and keeps the run waiting.
* ``slow``: the browser tests and the Restart & Run All runs; ``scripts/test.sh --quick``
  deselects them (``-m "not slow"``).
* ``--lesson NN`` (repeatable): only one lesson's tests, for an author who changed that lesson —
  its notebook (nbval, or Restart & Run All and the browser), its claims, checkers and panels,
  and the per-exercise and per-notebook cases of the shared tests (see :func:`of_lesson`).
* No notebook runs more often than the checks need: the Restart & Run All tests run nbval themselves in
  a sandbox, then the notebook's second run in JupyterLab (which is also its browser check; lesson 00's is
  the first-hour test), so when one is selected for a notebook, the same notebook's nbval cells are not run
  again here (they are deselected, and the run's summary says so). The quick tier and
  ``pytest notebooks/…`` run nbval directly.
* A JUnit XML report (``--junitxml``) gets the run's setup time (``COURSE_SETUP_SECONDS``,
  set by ``scripts/test.sh``), date, machine and load average as properties, for
  ``scripts/suite_timings.py``.
"""

from __future__ import annotations

import os
import platform
import re
import time
from collections import OrderedDict
from pathlib import Path

import pytest

# The full suite's slow part, marked ``slow``: every lesson in a real browser, and Restart & Run All twice.
SLOW = ("tests/browser/", "tests/test_restart_run_all.py::")
# Tests that are each a work unit of their own: one lesson each, tens of seconds.
ONE_UNIT_EACH = (
    "tests/browser/test_notebooks_in_browser.py::test_restart_and_run_all_twice_second_in_jupyterlab[",
    "tests/test_online_notebooks.py::test_lesson_in_online_mode_shows_what_offline_shows[",
)
# Work units handed out first, in this order (longest first); the rest keep collection order.
FIRST = (
    "tests/browser/test_notebooks_in_browser.py::test_restart_and_run_all_twice_second_in_jupyterlab[",
    "tests/browser/test_first_hour.py",
    "tests/browser/",
    "tests/test_online_notebooks.py::test_lesson_in_online_mode_shows_what_offline_shows[",
    "notebooks/",
)
STARTED_AT = "course_session_started_at"
MAX_WORKERS = 8  # each holds kernels, and in the full suite a JupyterLab and a Chromium
_started_key = pytest.StashKey[float]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: browser and Restart & Run All runs (left out by scripts/test.sh --quick)")
    worker_input = getattr(config, "workerinput", None)
    started = worker_input.get(STARTED_AT) if worker_input else None
    config.stash[_started_key] = float(started) if started else time.time()
    config.pluginmanager.register(NbvalOnce(), "course-nbval-once")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--lesson", action="append", default=[], metavar="NN",
                     help="только тесты урока NN (можно несколько раз): его ноутбук, утверждения, проверки "
                          "заданий, панели; общие модули курса проверяет только весь набор")


def of_lesson(nodeid: str, lesson: str) -> bool:
    """Does the test belong to lesson ``lesson`` ("07")? Its file is the lesson's (``test_claims_07.py``,
    ``notebooks/07_….ipynb``), or its name or parameters name the lesson: an exercise (``[07.6]``,
    ``[07.6-right-0-…]``), a notebook (``[07_practical_task]``), ``lesson_00``."""
    path, _, rest = nodeid.partition("::")
    stem = Path(path).stem
    if stem.endswith(f"_{lesson}") or stem.startswith(f"{lesson}_"):
        return True
    return re.search(rf"(?<![0-9A-Za-z]){lesson}(?:[._][0-9a-z]|$|(?![0-9]))", rest) is not None


def _lessons(config: pytest.Config) -> list[str]:
    """The lessons asked for with ``--lesson`` ("7" -> "07"); a lesson without a notebook is a usage error."""
    known = sorted({p.name[:2] for p in (config.rootpath / "notebooks").glob("[0-9][0-9]_*.ipynb")})
    asked = [value.strip().zfill(2) for values in config.getoption("lesson") for value in values.split(",")]
    unknown = [lesson for lesson in asked if lesson not in known]
    if unknown:
        raise pytest.UsageError(f"--lesson {', '.join(unknown)}: такого урока нет; уроки курса: {', '.join(known)}")
    return asked


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
    lessons = _lessons(config)
    if lessons:
        other = [item for item in items if not any(of_lesson(item.nodeid, lesson) for lesson in lessons)]
        if other:
            dropped = set(other)
            items[:] = [item for item in items if item not in dropped]
            config.hook.pytest_deselected(items=other)


# The Restart & Run All tests, which run their notebook through nbval and then in JupyterLab: test id -> notebook.
RESTART = "tests/browser/test_notebooks_in_browser.py::test_restart_and_run_all_twice_second_in_jupyterlab["
FIRST_HOUR = "tests/browser/test_first_hour.py::test_lesson_00_first_hour"


def _restart_notebook(nodeid: str) -> str | None:
    """The notebook (stem) a Restart & Run All test runs, or None for any other test."""
    if nodeid.startswith(RESTART):
        return nodeid[len(RESTART):-1]
    return "00_start" if nodeid == FIRST_HOUR else None


class NbvalOnce:
    """Deselects nbval's cells of the notebooks whose Restart & Run All test (which runs nbval) is selected."""

    covered: tuple[int, int] | None = None  # (cells, notebooks)

    @pytest.hookimpl(trylast=True)  # after ``-m`` and ``-k`` have deselected
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        twice = {_restart_notebook(item.nodeid) for item in items} - {None}
        covered = [item for item in items if item.nodeid.startswith("notebooks/")
                   and Path(item.nodeid.split("::")[0]).stem in twice]
        if covered:
            dropped = set(covered)
            items[:] = [item for item in items if item not in dropped]
            config.hook.pytest_deselected(items=covered)
            self.covered = (len(covered), len(twice))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.covered:
            cells, notebooks = self.covered
            terminalreporter.write_line(f"nbval: {cells} cells of {notebooks} notebooks ran inside Restart & Run All "
                                        "(nbval in a sandbox, then a second run), not again on their own")


def usable_cpus() -> int:
    """CPUs this process may run on: ``taskset`` and a container's cpuset count (xdist's own ``auto``
    counts the machine's physical cores); macOS has no affinity."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_workers(cpus: int, quick: bool) -> int:
    """One worker more than ``cpus`` for the full suite, two more for the quick tier, at most 8."""
    return min(cpus + (2 if quick else 1), MAX_WORKERS)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: :func:`auto_workers` for the usable CPUs; the quick tier is ``-m "not slow"``."""
    return auto_workers(usable_cpus(), quick=config.option.markexpr == "not slow")


def session_started_at(config: pytest.Config) -> float:
    """When the whole run started (the controller's start under xdist): files older than this are
    left over from an earlier run."""
    return config.stash[_started_key]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # xdist, in the controller: before a worker starts
    node.workerinput[STARTED_AT] = session_started_at(node.config)


def _priority(scope: str) -> int:
    return next((i for i, prefix in enumerate(FIRST) if scope.startswith(prefix)), len(FIRST))


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # without pytest-xdist the suite runs in one process
    LoadScopeScheduling = None
else:
    class HeavyFirstScheduling(LoadScopeScheduling):
        """``loadscope`` with one work unit per lesson for the slow per-lesson tests, longest units first."""

        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith(ONE_UNIT_EACH) else super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self._ordered:  # the queue is complete before the first unit is handed out
                self.workqueue = OrderedDict(sorted(self.workqueue.items(), key=lambda unit: _priority(unit[0])))
                self._ordered = True
            super()._assign_work_unit(node)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(config: pytest.Config, log):
        return HeavyFirstScheduling(config, log) if config.getvalue("dist") == "loadscope" else None


def _junit(config: pytest.Config):
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    return config.stash.get(xml_key, None)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    xml = _junit(session.config)
    if xml is None:
        return
    xml.add_global_property("suite_date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    xml.add_global_property("suite_machine", f"{platform.node()}, {os.cpu_count()} CPU, Python {platform.python_version()}")
    xml.add_global_property("suite_loadavg", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    workers = getattr(session.config.option, "numprocesses", None)
    xml.add_global_property("suite_workers", str(workers or 0))
    if os.environ.get("COURSE_SETUP_SECONDS"):
        xml.add_global_property("suite_setup_seconds", os.environ["COURSE_SETUP_SECONDS"])
    if os.environ.get("COURSE_SUITE_COMMAND"):
        xml.add_global_property("suite_command", os.environ["COURSE_SUITE_COMMAND"])


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    xml = _junit(session.config)
    if xml is not None:
        xml.add_global_property("suite_loadavg_end", " ".join(f"{x:.2f}" for x in os.getloadavg()))
