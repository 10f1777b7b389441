"""Every lesson, in real JupyterLab and Chromium: Run All, then what the learner sees.

Parametrized by glob, so a lesson added later is covered without editing this file. Lesson 00
is the one exception: ``test_first_hour.py`` runs it in the browser as a newcomer does and makes
these same generic checks there, so it is not run a second time here.
The negative control proves the widget check can fail: with the JupyterLab widget
extension disabled, the same check on a notebook with a widget panel must fail.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from .checks import assert_clean_run, assert_widgets_live, check_lesson_run
from .conftest import NOTEBOOKS
from .lab import WIDGETS_EXTENSION, NotebookPage

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
RUN_BY_FIRST_HOUR = "00_start.ipynb"  # test_first_hour.py runs it and calls check_lesson_run


def test_there_are_notebooks() -> None:
    assert NOTEBOOK_FILES, f"no notebooks/[0-9][0-9]_*.ipynb in {NOTEBOOKS}"
    assert RUN_BY_FIRST_HOUR in {n.name for n in NOTEBOOK_FILES}


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOK_FILES if n.name != RUN_BY_FIRST_HOUR],
                         ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab(lab, page, artifacts: Path, notebook: Path) -> None:
    nb = NotebookPage(page, lab, notebook.name)
    start = time.monotonic()
    nb.open()
    opened = time.monotonic()
    try:
        nb.run_all()
        ran = time.monotonic()
        operated = check_lesson_run(nb, notebook, artifacts)
    finally:
        nb.shutdown_kernel()
    print(f"{notebook.name}: open {opened - start:.1f} s, run all {ran - opened:.1f} s, "
          f"total {time.monotonic() - start:.1f} s; operated {operated}")


PANEL = """import ipywidgets as widgets
button, result = widgets.Button(description="Отправить"), widgets.HTML("ещё ничего")
button.on_click(lambda _: setattr(result, "value", "нажато"))
widgets.VBox([button, result])"""


def test_negative_control_widget_check_fails_without_widget_extension(start_lab, page, artifacts: Path,
                                                                     tmp_path: Path) -> None:
    """A notebook with a widget panel (as every lesson has), the same checks, JupyterLab without
    @jupyter-widgets/jupyterlab-manager: the widget check must fail. A two-cell notebook, not a lesson:
    what is checked is the check, and a lesson's run is slower and checked above."""
    notebook = tmp_path / "panel.ipynb"
    lesson = nbformat.read(NOTEBOOK_FILES[0], as_version=4)  # the lessons' kernel, or JupyterLab asks for one
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('урок идёт')"),
                                                   nbformat.v4.new_code_cell(PANEL)],
                                            metadata={"kernelspec": lesson.metadata.kernelspec}), notebook)
    server = start_lab(disabled_extensions=(WIDGETS_EXTENSION,), root_dir=tmp_path)
    nb = NotebookPage(page, server, notebook.name)
    try:
        nb.open()
        nb.run_all()
        report = nb.settle_widgets(timeout_s=3)
        assert_clean_run(report, notebook)  # the notebook itself runs fine there...
        with pytest.raises(AssertionError, match="no rendered widget control") as failure:
            assert_widgets_live(nb, render_timeout_s=5)  # ...but its panel is not widgets
        assert report["widgetTextFallback"] > 0, "expected the widgets' text repr in the outputs"
        print(f"negative control failed as it must: {failure.value}")
    finally:
        nb.screenshot(artifacts / "negative-control-no-widget-extension.png")
        nb.shutdown_kernel()
        server.stop()


def _has_stored_widgets(notebook: Path) -> bool:
    return "application/vnd.jupyter.widget-view+json" in notebook.read_text(encoding="utf-8")


def test_committed_panels_show_before_running_once_trusted(start_lab, page, artifacts: Path) -> None:
    """DESIGN: a learner sees results before running anything. JupyterLab renders the stored widget state
    of a *trusted* notebook only; an untrusted one (any fresh clone) shows ``VBox(children=...)`` text.
    ``.binder/postBuild`` runs ``jupyter trust`` on the lessons; this proves that it is what it takes."""
    notebook = next((n for n in NOTEBOOK_FILES if _has_stored_widgets(n)), None)
    assert notebook is not None, "no committed notebook stores a widget view"
    server = start_lab()
    nb = NotebookPage(page, server, notebook.name)
    try:
        nb.open()
        untrusted = nb.settle_widgets(timeout_s=3)
        assert nb.panel.locator("button.widget-button").count() == 0 and untrusted["widgetTextFallback"] > 0
        nb.shutdown_kernel()
        server.trust(notebook)
        nb.open()
        nb.panel.locator("button.widget-button").first.wait_for(timeout=15_000)
        trusted = nb.settle_widgets()
        assert not trusted["errorDisplaying"] and trusted["widgetTextFallback"] == 0, trusted
        nb.screenshot(artifacts / f"{notebook.stem}-trusted-before-running.png")
    finally:
        nb.shutdown_kernel()
        server.stop()
