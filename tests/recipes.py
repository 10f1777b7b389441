"""The «Рецепт» code block of a lesson, as runnable source (lessons' claim tests run it)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "notebooks" / "src"


def recipe_code(lesson: str) -> str:
    """The first ```python block after «### Рецепт» in ``notebooks/src/<lesson>_*.py``."""
    source = next(SRC.glob(f"{lesson}_*.py")).read_text(encoding="utf-8")
    markdown = "\n".join(re.sub(r"^# ?", "", line) for line in source.splitlines())
    section = markdown.split("### Рецепт", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"lesson {lesson}: no python block under «### Рецепт»"
    return match.group(1)


def run_recipe(lesson: str) -> dict:
    """Execute the recipe in a fresh namespace and return it."""
    namespace: dict = {"__name__": f"recipe_{lesson}"}
    exec(compile(recipe_code(lesson), f"<recipe {lesson}>", "exec"), namespace)  # noqa: S102 - our own lesson text
    return namespace
