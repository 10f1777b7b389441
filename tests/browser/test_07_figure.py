"""Lesson 07 in the browser: a learner's own measurement and figure, accepted by their checks.

The learner's part of 7.7–7.8: paste the reference solutions (what ``solution("07.6")`` and
``solution("07.7")`` print) into the stub cells of ``measure_latency`` and ``plot_latency``, run
them and their checks, then the lesson's cells that run the measurement on the lesson's prompts
and draw it. The figure drawn by the learner's function and the accepted check go to
``test-artifacts/browser/07_figure-accepted.png`` (the closing note of issue 10 shows it).
"""

from __future__ import annotations

from pathlib import Path

from course_helpers.checks import solution_text

from .conftest import NOTEBOOKS
from .lab import NotebookPage

LESSON = NOTEBOOKS / "07_practical_task.ipynb"


def test_learner_figure_accepted_in_lab(lab, page, artifacts: Path) -> None:
    nb = NotebookPage(page, lab, LESSON.name)
    nb.open()
    try:
        assert "Урок 07" in nb.run_cell(nb.find_cell("start_lesson("))
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
        page.wait_for_timeout(300)
        top = nb.cell(check_cell).bounding_box()
        bottom = nb.cell(figure_cell).bounding_box()
        page.screenshot(path=str(artifacts / "07_figure-accepted.png"),
                        clip={"x": top["x"], "y": top["y"], "width": top["width"],
                              "height": bottom["y"] + bottom["height"] - top["y"]})
    finally:
        nb.shutdown_kernel()
