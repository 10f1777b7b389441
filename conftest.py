"""Test environment for everything pytest collects here: tests/ and the notebooks (nbval).

At import: real API keys are removed from the environment (no test can reach a paid API by
accident), the loopback guard is installed in this process and requested for notebook
kernels (``COURSE_LOOPBACK_ONLY``), latencies are scaled down for speed, and course state
goes to a temporary folder instead of the learner's (one per parallel worker). Being at the
root, this also applies to ``pytest notebooks/NN_name.ipynb`` run on its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from nbval.plugin import IPyNbFile

from course_helpers import netguard

pytest_plugins = ("tests.suite_plugin",)  # parallel workers, the quick tier's marker, timing metadata

for _name in [n for n in os.environ if n.endswith("_API_KEY") or n in ("COURSE_MODE", "REDIS_URL")]:
    del os.environ[_name]
os.environ["COURSE_LOOPBACK_ONLY"] = "1"
os.environ.setdefault("COURSE_LATENCY_SCALE", "0.25")
os.environ.setdefault("COURSE_STATE_DIR", tempfile.mkdtemp(prefix="course-state-"))
netguard.install()


def pytest_configure(config: pytest.Config) -> None:
    """Each parallel worker gets its own course state: a subfolder named after it.

    The workers inherit the controller's ``COURSE_STATE_DIR``, and ``fresh_dir(name)`` wipes a
    lesson's folder by name: a checker run on one worker (``test_exercises``' wrong 07.6 answers)
    wiped the disk cache another worker's 07.6 case was measuring, whose fresh process then
    missed the cache — a correct answer rejected, about once in six full runs."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        own = os.path.join(os.environ["COURSE_STATE_DIR"], f"worker-{worker}")
        os.makedirs(own, exist_ok=True)
        os.environ["COURSE_STATE_DIR"] = own


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Each notebook checked by nbval gets its own empty course state (progress), as on a
    learner's first run: exercises checked by earlier tests must not show up in its output.
    Set while nbval sets the notebook up (it starts the kernel, which inherits the environment),
    then the worker's own state is back for the tests that follow on this worker."""
    notebook = item.parent
    if os.environ.get("COURSE_NBVAL_KEEP_STATE") or not isinstance(notebook, IPyNbFile):
        return (yield)  # KEEP_STATE: tests/test_restart_run_all.py's two runs share one state
    if not getattr(notebook, "course_state", None):
        notebook.course_state = tempfile.mkdtemp(prefix="course-notebook-")
    own = os.environ["COURSE_STATE_DIR"]
    os.environ["COURSE_STATE_DIR"] = notebook.course_state
    try:
        return (yield)
    finally:
        os.environ["COURSE_STATE_DIR"] = own
