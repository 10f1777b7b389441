"""What every lesson must show a learner after Run All in JupyterLab (generic, no lesson specifics).

- every code cell ran, and none failed except cells tagged ``raises-exception``;
- no Python traceback on stderr, no "Error displaying widget", no stuck "Loading widget";
- every plot stored in the committed notebook is drawn again (a loaded ``<img>``);
- the lesson's panel is made of real widgets that respond: the first widget button,
  clicked, changes some HTML / Output / Image widget; with no button, another control
  (dropdown, slider, text, checkbox, toggle) changed does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .lab import CONTROLS, NotebookPage

RAISES = "raises-exception"


def stored_plot_cells(notebook: Path) -> list[int]:
    """Indexes of the cells whose committed outputs hold a PNG (matplotlib plots)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [i for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            and any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))]


def assert_clean_run(report: dict[str, Any], notebook: Path) -> None:
    """Every cell ran; errors only where tagged; plots drawn; no widget error or spinner."""
    problems = []
    for cell in report["cells"]:
        where = f"cell {cell['index']} «{cell['source']}»"
        if cell["executionCount"] is None:
            problems.append(f"{where} did not run (Run All stopped before it?)")
        if RAISES in cell["tags"]:
            continue
        problems += [f"{where} raised {error}" for error in cell["errors"]]
        problems += [f"{where} printed a traceback on stderr:\n{text[-800:]}" for text in cell["stderrTracebacks"]]
    images = {cell["index"]: cell["images"] for cell in report["cells"]}
    problems += [f"cell {i}: the committed notebook shows a plot here, the browser shows no image"
                 for i in stored_plot_cells(notebook) if not images.get(i)]
    if report["errorDisplaying"]:
        problems.append("a widget output says 'Error displaying widget'")
    if report["loadingWidget"]:
        problems.append("a widget output is stuck at 'Loading widget...'")
    if report["truncatedLabels"]:
        problems.append(f"widget labels cut off (text wider than its box): {report['truncatedLabels']}")
    if report["brokenImages"]:
        problems.append(f"{report['brokenImages']} empty widget image(s) shown as a broken-image icon")
    assert not problems, f"{notebook.name} after Run All:\n- " + "\n- ".join(problems)


def _wait_for_change(nb: NotebookPage, change_timeout_s: float, finish_timeout_s: float) -> int:
    """Wait until a result widget changed (transient changes count), then until the kernel is idle
    again (the handler finished, its errors are in). Returns the number of DOM changes seen."""
    deadline = time.monotonic() + change_timeout_s
    while not nb.result_changes() and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + finish_timeout_s
    while not nb.kernel_idle() and time.monotonic() < deadline:
        time.sleep(0.2)
    return nb.result_changes()


def _operate(nb: NotebookPage, kind: str, control: Any) -> None:
    """Change one control the way a learner would."""
    if kind == "dropdown":
        options = control.evaluate("(s) => Array.from(s.options).map((o) => o.value)")
        current = control.input_value()
        other = next((o for o in options if o != current), None)
        if other is None:
            raise AssertionError("the only dropdown has a single option: nothing to change")
        control.select_option(other)
    elif kind == "slider":
        control.focus()
        control.press("ArrowRight")
        control.press("ArrowRight")
    elif kind == "text":
        control.fill(control.input_value() + " 2")
        control.press("Enter")
    else:  # button, checkbox, toggle
        control.click()


def assert_widgets_live(nb: NotebookPage, render_timeout_s: float = 15, change_timeout_s: float = 60) -> str:
    """The panel is real widgets answering the kernel; returns what was operated."""
    panel = nb.panel
    found = {}
    deadline = time.monotonic() + render_timeout_s
    while not found and time.monotonic() < deadline:
        found = {kind: panel.locator(selector) for kind, selector in CONTROLS.items()
                 if panel.locator(selector).count()}
        if not found:
            time.sleep(0.25)
    if not found:
        fallback = nb.report()["widgetTextFallback"]
        raise AssertionError(
            "no rendered widget control (button, dropdown, slider, text, checkbox) in the notebook: the panel "
            "is not shown as widgets" + (f"; {fallback} output(s) show a widget's text repr instead, as when "
                                         "the JupyterLab widget extension is missing" if fallback else ""))
    kind = "button" if "button" in found else next(iter(found))
    control = found[kind].first
    control.scroll_into_view_if_needed()
    before = nb.outputs_snapshot()
    if not before:
        raise AssertionError(f"widgets rendered ({', '.join(found)}), but no HTML / Output / Image widget "
                             "to show a result")
    label = control.inner_text().strip() if kind == "button" else kind
    nb.watch_kernel_errors()
    nb.observe_results()
    _operate(nb, kind, control)
    changed = _wait_for_change(nb, change_timeout_s, finish_timeout_s=180)
    errors = nb.kernel_errors()
    assert not errors, f"operating the {kind} «{label}» made the kernel report an error:\n" + "\n".join(errors)
    assert changed, (f"the {kind} «{label}» was operated, but no HTML / Output / Image widget changed within "
                     f"{change_timeout_s:.0f} s: the widgets are not connected to the kernel, or the handler "
                     "redraws exactly what was shown (then a learner sees nothing happen either)")
    return f"{kind} «{label}» ({changed} DOM changes)"


def check_lesson_run(nb: NotebookPage, notebook: Path, artifacts: Path) -> str:
    """The generic checks after Run All: a clean run, live widgets, a screenshot, nothing saved by JupyterLab.
    Returns what was operated."""
    try:
        assert_clean_run(nb.settle_widgets(), notebook)
        operated = assert_widgets_live(nb)
    finally:
        nb.screenshot(artifacts / f"{notebook.stem}.png")
    assert not nb.saved_by_lab(), "JupyterLab saved the notebook over the committed one (autosave must be off)"
    return operated
