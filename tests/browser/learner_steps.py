"""What a learner does in a lesson after Run All, checked in the same JupyterLab page and kernel as the
lesson's second run (``test_notebooks_in_browser.py``), so the lesson is not executed a third time.

Lesson 07, the learner's part of 7.7–7.8: paste the reference solutions (what ``solution("07.6")`` and
``solution("07.7")`` print) into the stub cells of ``measure_latency`` and ``plot_latency``, run them and
their checks, then the lesson's cells that run the measurement on the lesson's prompts and draw it. The
figure drawn by the learner's function and the accepted check go to
``test-artifacts/browser/07_figure-accepted.png`` (the closing note of issue 10 shows it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from course_helpers.checks import solution_text

from .lab import NotebookPage


def lesson_07_figure(nb: NotebookPage, artifacts: Path) -> str:
    """Paste 07.6 and 07.7, see both checks accept them, measure and draw; a screenshot of the figure."""
    for stub, exercise in (("def measure_latency(", "07.6"), ("def plot_latency(", "07.7")):
        index = nb.find_cell(stub)
        nb.set_source(index, solution_text(exercise))
        nb.run_cell(index)
        verdict = nb.run_cell(nb.find_cell(f'check("{exercise}"'), timeout_s=240)
        assert verdict.startswith("✅"), f"{exercise}: {verdict}"
    measured = nb.run_cell(nb.find_cell("samples = measure_latency("), timeout_s=240)
    assert "без кэша: n = 15" in measured and "новый процесс: n = 1" in measured, measured
    check_cell, figure_cell = nb.find_cell('check("07.7"'), nb.find_cell('if passed("07.7") and samples')
    nb.run_cell(figure_cell)
    assert nb.cell(figure_cell).locator(".jp-OutputArea img").count() == 1, "no figure under the cell"

    nb.cell(check_cell).evaluate("node => node.scrollIntoView({block: 'start'})")  # the figure below it fits
    nb.page.wait_for_timeout(300)
    top = nb.cell(check_cell).bounding_box()
    bottom = nb.cell(figure_cell).bounding_box()
    nb.page.screenshot(path=str(artifacts / "07_figure-accepted.png"),
                       clip={"x": top["x"], "y": top["y"], "width": top["width"],
                             "height": bottom["y"] + bottom["height"] - top["y"]})
    return "07.6 and 07.7 pasted and accepted, the learner's figure drawn"


# notebook file -> the learner's steps after Run All (each returns what it did, for the test's log line)
AFTER_RUN_ALL: dict[str, Callable[[NotebookPage, Path], str]] = {"07_practical_task.ipynb": lesson_07_figure}
