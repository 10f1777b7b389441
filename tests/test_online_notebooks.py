"""Online mode, lesson by lesson: lessons 01, 03, 05 and 07 run against a stand-in OpenRouter.

The stand-in is a second practice provider process with its own key at
``COURSE_ONLINE_BASE`` (as in ``test_session.py``), so the kernels really are in online
mode: plain calls go to the stand-in, ``with course.practice():`` blocks go to the
kernel's own practice provider. Each notebook runs in a fresh kernel with its own stand-in and
course state (one test per lesson: the parallel workers of ``scripts/test.sh`` run several at once) and must

* say in its banner that it is online, and raise nothing outside ``raises-exception`` cells;
* print the «практическом провайдере» note in exactly the cells that wrap their
  experiment in ``course.practice()``;
* print, in every compared cell (the note line removed), what the committed offline run
  printed, after the nbval sanitize rules. The stand-in answers like the practice provider,
  so only a cell that reads the practice provider's stats or faults while its calls go
  elsewhere differs: a silent ``0`` requests, a missing fault, ``None``;
* have sent its unwrapped calls to the stand-in (lessons 01 and 07: a model's answer, a timed
  call), and only those. Lesson 03 sends none (each of its calls is an experiment with faults),
  and lesson 05 wraps nothing: every Router in it names the practice provider's deployments
  (``api_base``, ``api_key``) explicitly.

The panels of lessons 01 and 07, whose buttons a learner clicks outside any cell's block, run on
the practice provider by themselves (last test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams, get_sanitize_patterns

from course_helpers.provider import PracticeProvider

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = ["01_caching", "03_fallbacks", "05_routing", "07_practical_task"]
STANDIN_KEY = "stand-in-for-an-openrouter-key"
WRAPPED = "with course.practice():"
NOTE = re.compile(r"^🧪 Онлайн-режим: .*практическом провайдере.*\n", re.M)
IGNORED = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")
RULES = get_sanitize_patterns((ROOT / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8"))
# Lessons with plain calls outside the practice blocks (answers, timings): they reach the online service.
CALLS_ONLINE = {"01_caching", "07_practical_task"}
# Lesson 05 calls only Routers with the practice provider's deployments: nothing to wrap.
NOTHING_TO_WRAP = {"05_routing"}


def sanitize(text: str) -> str:
    for regex, replace in RULES:
        text = re.sub(regex, replace, text)
    return text


def shown(cell: nbformat.NotebookNode) -> str:
    """What a code cell shows, as nbval compares it: streams (``\\r`` applied), ``text/plain``
    of results and displays except widget views, errors."""
    parts = []
    for output in coalesce_streams([nbformat.from_dict(o) for o in cell.outputs]):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            if "application/vnd.jupyter.widget-view+json" not in output.data:
                parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


class OnlineRun(NamedTuple):
    notebook: nbformat.NotebookNode
    standin_requests: int
    seconds: float


@contextmanager
def standin_openrouter() -> Iterator[PracticeProvider]:
    """A second practice provider process with its own key, standing in for OpenRouter."""
    process = subprocess.Popen([sys.executable, "-m", "course_helpers.practice", "--port", "0", "--ready-json",
                                "--parent-watch", "--latency-scale", "0.25", "--key", STANDIN_KEY],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield PracticeProvider(json.loads(process.stdout.readline())["url"], key=STANDIN_KEY)
    finally:
        process.kill()
        process.wait()


def online_env(standin: PracticeProvider, state_dir: Path) -> dict[str, str]:
    """A kernel environment in online mode with the stand-in as OpenRouter (no other keys or bases)."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and k not in ("COURSE_MODE", "OPENROUTER_API_BASE", "OPENAI_API_BASE",
                                                        "OPENAI_BASE_URL")}
    env.update(COURSE_MODE="online", OPENROUTER_API_KEY=STANDIN_KEY, COURSE_ONLINE_BASE=standin.api_base("openrouter"),
               COURSE_STATE_DIR=str(state_dir), COURSE_LATENCY_SCALE="0.25", COURSE_LOOPBACK_ONLY="1")
    return env


def run_online(lesson: str, state_dir: Path) -> OnlineRun:
    """Execute the committed notebook in online mode against its own stand-in OpenRouter."""
    with standin_openrouter() as standin:
        nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(env=online_env(standin, state_dir))
        return OnlineRun(nb, standin.stats()["requests"], time.perf_counter() - start)


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_in_online_mode_shows_what_offline_shows(lesson: str, tmp_path: Path) -> None:
    online, standin_requests, seconds = run_online(lesson, tmp_path)
    offline = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    print(f"{lesson}: {seconds:.1f} s online, stand-in served {standin_requests} requests")
    pairs = [(i, cell, offline.cells[i]) for i, cell in enumerate(online.cells) if cell.cell_type == "code"]
    assert pairs[0][1].source.startswith("from course_helpers import start_lesson")
    assert "Режим: онлайн" in shown(pairs[0][1]), shown(pairs[0][1])

    problems = []
    for i, cell, stored in pairs:
        where = f"cell {i} «{cell.source.splitlines()[0][:70]}»"
        text = shown(cell)
        if any(o.output_type == "error" for o in cell.outputs) and "raises-exception" not in cell.metadata.get("tags", ()):
            problems.append(f"{where} raised: {text[-500:]}")
            continue
        notes, blocks = len(NOTE.findall(text)), cell.source.count(WRAPPED)
        if notes != blocks:
            problems.append(f"{where} printed the practice-provider note {notes} times, has {blocks} practice blocks")
        if i == pairs[0][0] or any(marker in cell.source for marker in IGNORED):
            continue
        got, want = sanitize(NOTE.sub("", text)), sanitize(shown(stored))
        if got != want:
            problems.append(f"{where} differs from the offline run:\n  online:  {got[:600]!r}\n  offline: {want[:600]!r}")
    assert not problems, f"{lesson} in online mode:\n- " + "\n- ".join(problems)
    wrapped = sum(WRAPPED in cell.source for _, cell, _ in pairs)
    assert (wrapped > 0) == (lesson not in NOTHING_TO_WRAP), f"{wrapped} cells use course.practice()"
    assert (standin_requests > 0) == (lesson in CALLS_ONLINE), f"the online service got {standin_requests} requests"


def test_cache_lab_and_fallback_stand_run_on_the_practice_provider_in_online_mode(tmp_path: Path) -> None:
    """A learner clicks the buttons outside any ``course.practice()`` block: the panels still count
    at the practice provider (where the stand also breaks the primary), not at the online service."""
    code = textwrap.dedent("""
        from course_helpers import start_lesson
        from course_helpers.panels.caching import CacheLab
        from course_helpers.panels.practical import FallbackStand
        import litellm
        course = start_lesson('07', quiet=True)
        print('MODE', course.mode)
        litellm.enable_cache()
        lab = CacheLab(course.provider)
        print('LAB', lab.send(), lab.send(), [shot.reached_provider for shot in lab.history])
        stand = FallbackStand(course.provider, ['openrouter/openai/gpt-4o-mini', 'openrouter/anthropic/claude-3-haiku'])
        stand.failure.value = 'сбой провайдера: 503 (course.provider.fail)'
        run = stand.run()
        print('STAND', run.answered_by, run.primary_statuses, run.fallback_statuses)
        print('PRACTICE', course.provider.requests())
    """)
    with standin_openrouter() as standin:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env=online_env(standin, tmp_path), cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "MODE online" in done.stdout
        assert "LAB промах попадание [1, 0]" in done.stdout
        assert "STAND anthropic/claude-3-haiku [503] [200]" in done.stdout
        assert "PRACTICE 3" in done.stdout, done.stdout
        assert standin.stats()["requests"] == 0
