"""Every lesson, in real JupyterLab and Chromium, as the second run of its Restart & Run All.

For each lesson but 00: nbval runs it in a sandboxed copy of the repo (``restart_run.nbval_run``: every
cell prints what the stored notebook shows), then JupyterLab runs it again from the same sandbox with the
same course state, as a learner who runs a lesson a second time. That second run must show what the first
printed (cell by cell, after the nbval sanitize rules; read from JupyterLab's own notebook model, which is
what the page shows), raise nothing outside ``raises-exception`` cells, pass the generic checks of what a
learner sees (``checks.check_lesson_run``: widgets operated, plots drawn, a screenshot), and leave no file
in the repo. So each lesson executes twice per full run, not three times (before: nbval twice, then the
browser). What a learner does after Run All (lesson 07: paste two solutions, measure, draw) is checked in
the same page and kernel (``learner_steps.py``), not in a run of its own. Lesson 00's second run is in
``test_first_hour.py``, which runs it as a newcomer does and makes the same generic checks there.

Parametrized by glob, so a lesson added later is covered without editing this file. The negative
controls prove the checks can fail: a second run that prints something else, errs, or leaves a file is
caught in the browser too; with the JupyterLab widget extension disabled, the widget check fails.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from restart_run import (FIRST_HOUR, NOTEBOOK_FILES, SECOND_RUN_IN_BROWSER, assert_nothing_left, assert_ran_clean,
                         assert_same_as_first, first_run_in_sandbox, leftovers, make_sandbox, nbval_run, problems,
                         write_negative_control)

from .checks import assert_clean_run, assert_widgets_live, check_lesson_run
from .conftest import lab_on_sandbox
from .lab import WIDGETS_EXTENSION, NotebookPage
from .learner_steps import AFTER_RUN_ALL


def test_there_are_notebooks() -> None:
    assert NOTEBOOK_FILES and FIRST_HOUR in {n.name for n in NOTEBOOK_FILES}


def _second_run_in_lab(start_lab, page, repo: Path, env: dict[str, str], name: str,
                       check: bool, artifacts: Path) -> tuple[nbformat.NotebookNode, str]:
    """Run All of ``repo/notebooks/name`` in a JupyterLab on the sandbox (its kernels get ``env``); the notebook
    as JupyterLab holds it right after the run, and what the generic checks operated (``check``) and the
    lesson's learner steps after Run All did (``learner_steps.AFTER_RUN_ALL``, in the same kernel)."""
    server = lab_on_sandbox(start_lab, repo, env)
    nb = NotebookPage(page, server, name)
    try:
        nb.open()
        nb.run_all()
        shown = nbformat.from_dict(nb.notebook_json())
        operated = check_lesson_run(nb, repo / "notebooks" / name, artifacts) if check else ""
        if check and name in AFTER_RUN_ALL:
            operated += "; " + AFTER_RUN_ALL[name](nb, artifacts)
    finally:
        nb.shutdown_kernel()
        server.stop()
    return shown, operated


@pytest.mark.parametrize("notebook", SECOND_RUN_IN_BROWSER, ids=lambda p: p.stem)
def test_restart_and_run_all_twice_second_in_jupyterlab(start_lab, page, artifacts: Path, notebook: Path,
                                                        tmp_path: Path) -> None:
    start = time.monotonic()
    repo, env, first = first_run_in_sandbox(tmp_path, notebook.name)
    ran = time.monotonic()
    shown, operated = _second_run_in_lab(start_lab, page, repo, env, notebook.name, True, artifacts)
    assert_ran_clean(notebook.name, "second (JupyterLab)", shown)
    assert_same_as_first(notebook.name, first.nb, shown)
    assert_nothing_left(notebook.name, leftovers(repo))
    print(f"{notebook.name}: nbval {ran - start:.1f} s, JupyterLab {time.monotonic() - ran:.1f} s; operated {operated}")


def test_second_run_in_jupyterlab_can_fail(start_lab, page, artifacts: Path, tmp_path: Path) -> None:
    """Negative control: the notebook that keeps state, writes a file, errs and has a tagged cell that does
    not raise (``restart_run.write_negative_control``), run first by nbval and then in JupyterLab."""
    repo, env = make_sandbox(tmp_path)
    path = write_negative_control(repo)
    first = nbval_run(path, repo, env, tmp_path / "first.ipynb")
    assert not first.passed and "ZeroDivisionError" in first.report
    shown, _ = _second_run_in_lab(start_lab, page, repo, env, path.name, False, artifacts)
    found = problems(shown)  # JupyterLab's Run All stops at an untagged error: the tagged cells after it never ran
    assert "ZeroDivisionError" in found[0] and all("raised nothing" in f for f in found[1:]) and len(found) == 3, found
    assert [c.execution_count for c in shown.cells][2:] == [None, None]
    with pytest.raises(AssertionError, match="prints something else when run again"):
        assert_same_as_first(path.name, first.nb, shown)  # «запуск 1» / «запуск 2»
    assert [line.split() for line in leftovers(repo)] == [["??", "notebooks/leftover.txt"]]


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
