"""Shared fixtures of the test suite (the environment itself is set up by ../conftest.py)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest


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


@pytest.fixture(autouse=True)
def _isolate_litellm_globals() -> Iterator[None]:
    """Each test starts from the same LiteLLM globals: a Router with explicit prices or
    ``register_model`` writes into ``litellm.model_cost`` for the whole process, which would
    change how later tests (e.g. budgets, BudgetManager) price OpenRouter models."""
    import litellm

    model_cost = {k: dict(v) if isinstance(v, dict) else v for k, v in litellm.model_cost.items()}
    cache, provider_map = litellm.cache, list(litellm.custom_provider_map)
    yield
    litellm.model_cost.clear()
    litellm.model_cost.update(model_cost)
    # What register_model itself calls after changing model_cost: its lookup map and the LRU caches of
    # get_model_info would otherwise keep a later test's prices (a BudgetManager claim test found them).
    litellm.utils._invalidate_model_cost_lowercase_map()
    litellm.cache, litellm.custom_provider_map = cache, provider_map


@pytest.fixture
def drain_litellm_logging() -> Iterator[None]:
    """Sync calls leave LiteLLM's async logging tasks queued; they would be delivered to the
    callbacks of a later test (e.g. lesson 06's spend counter). Run them after the test.
    Used by the lesson 03 tests (``pytestmark``)."""
    yield
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    asyncio.run(GLOBAL_LOGGING_WORKER.flush())
