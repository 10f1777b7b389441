"""Shared fixtures. Every test and every notebook kernel stays on loopback.

At import: real API keys are removed from the environment (so no test can reach a
paid API by accident), the loopback guard is installed in this process and requested
for notebook kernels (``COURSE_LOOPBACK_ONLY``), latencies are scaled down for speed,
and course state goes to a temporary folder instead of the learner's.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from course_helpers import netguard

for _name in [n for n in os.environ if n.endswith("_API_KEY") or n in ("COURSE_MODE", "REDIS_URL")]:
    del os.environ[_name]
os.environ["COURSE_LOOPBACK_ONLY"] = "1"
os.environ.setdefault("COURSE_LATENCY_SCALE", "0.25")
os.environ.setdefault("COURSE_STATE_DIR", tempfile.mkdtemp(prefix="course-state-"))
netguard.install()


@pytest.fixture(autouse=True)
def _no_real_keys() -> Iterator[None]:
    """No test may see a real API key; only the practice key set by start_lesson."""
    from course_helpers.practice import PRACTICE_KEY

    for name in [n for n in os.environ if n.endswith("_API_KEY") and os.environ[n] != PRACTICE_KEY]:
        del os.environ[name]
    yield


@pytest.fixture(scope="session")
def course():
    """One practice provider + LiteLLM pointed at it, for the whole test session."""
    from course_helpers.session import start_lesson, stop_lesson

    handle = start_lesson("00", quiet=True)
    yield handle
    stop_lesson()


@pytest.fixture
def provider(course):
    """The practice provider, reset before each test (no faults, limits, stats)."""
    course.provider.reset()
    yield course.provider
    course.provider.reset()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on loopback (skips nothing: fails if Redis cannot start)."""
    from course_helpers.redis_server import redis_url as get_url, stop_redis_servers

    yield get_url()
    stop_redis_servers()
