"""Every lesson, in real JupyterLab and Chromium: Run All, then what the learner sees.

Parametrized by glob, so a lesson added later is covered without editing this file.
The negative control proves the widget check can fail: with the JupyterLab widget
extension disabled, the same check on the same notebook must fail.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .checks import assert_clean_run, assert_widgets_live
from .conftest import NOTEBOOKS
from .lab import WIDGETS_EXTENSION, NotebookPage

NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOK_FILES, f"no notebooks/[0-9][0-9]_*.ipynb in {NOTEBOOKS}"


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab(lab, page, artifacts: Path, notebook: Path) -> None:
    nb = NotebookPage(page, lab, notebook.name)
    start = time.monotonic()
    nb.open()
    opened = time.monotonic()
    try:
        nb.run_all()
        ran = time.monotonic()
        assert_clean_run(nb.settle_widgets(), notebook)
        operated = assert_widgets_live(nb)
    finally:
        nb.screenshot(artifacts / f"{notebook.stem}.png")
        nb.shutdown_kernel()
    print(f"{notebook.name}: open {opened - start:.1f} s, run all {ran - opened:.1f} s, "
          f"total {time.monotonic() - start:.1f} s; operated {operated}")
    assert not nb.saved_by_lab(), "JupyterLab saved the notebook over the committed one (autosave must be off)"


def test_negative_control_widget_check_fails_without_widget_extension(start_lab, page, artifacts: Path) -> None:
    """Same notebook, same check, JupyterLab without @jupyter-widgets/jupyterlab-manager: must fail."""
    server = start_lab(disabled_extensions=(WIDGETS_EXTENSION,))
    notebook = NOTEBOOK_FILES[0]
    nb = NotebookPage(page, server, notebook.name)
    try:
        nb.open()
        nb.run_all()
        report = nb.settle_widgets(timeout_s=3)
        assert_clean_run(report, notebook)  # the lesson itself runs fine there...
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
