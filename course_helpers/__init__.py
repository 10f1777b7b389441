"""Helper package of the course «LiteLLM: продвинутые возможности».

Notebooks import public names from here, e.g. ``from course_helpers import start_lesson``.
Names are loaded lazily, so ``python -m course_helpers.practice`` (the practice provider)
starts without importing LiteLLM. ``LITELLM_LOCAL_MODEL_COST_MAP`` is set before anything
can import LiteLLM: no network fetch of the price map, reproducible prices.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "start_lesson": "course_helpers.session",
    "Course": "course_helpers.session",
    "enter_key": "course_helpers.session",
    "PracticeProvider": "course_helpers.provider",
    "ProviderError": "course_helpers.provider",
    "PRACTICE_KEY": "course_helpers.practice",
    "redis_url": "course_helpers.redis_server",
    "RedisUnavailable": "course_helpers.redis_server",
    "doctor": "course_helpers.diagnostics",
    "setup_caching": "course_helpers.project",
    "Request": "course_helpers.project",
    "Answer": "course_helpers.project",
    "ask": "course_helpers.project",
    "check": "course_helpers.checks",
    "hint": "course_helpers.checks",
    "solution": "course_helpers.checks",
    "progress": "course_helpers.checks",
    "predict": "course_helpers.predictions",
    "reveal": "course_helpers.predictions",
    "quiz": "course_helpers.quizzes",
    "answer": "course_helpers.quizzes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the defining module on first use of a public name (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'course_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
