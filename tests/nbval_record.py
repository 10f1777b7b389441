"""A pytest plugin for the Restart & Run All test: keeps what nbval's fresh run printed.

``tests/test_restart_run_all.py`` runs nbval itself (``python -m pytest -p tests.nbval_record
notebooks/NN_name.ipynb``) twice in a sandbox. nbval compares each cell with the stored output
and reports differences; this plugin also writes the notebook as this run left it (the stored
notebook with each code cell's outputs replaced by the fresh ones) to the file named by
``COURSE_NBVAL_RECORD``, so the test can check what nbval does not: tracebacks on stderr in
cells whose output is not compared, and that the second run printed what the first did.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbCell

RECORD = "COURSE_NBVAL_RECORD"
NOT_RUN = "course-not-run"  # tag of a code cell nbval did not execute in this run

_notebooks: dict[int, nbformat.NotebookNode] = {}  # id(nbval's notebook) -> its copy with fresh outputs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    yield
    if call.when != "call" or not isinstance(item, IPyNbCell) or item.test_outputs is None:
        return
    stored = item.parent.nb
    if id(stored) not in _notebooks:
        fresh = copy.deepcopy(stored)
        for cell in fresh.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.metadata.setdefault("tags", []).append(NOT_RUN)
        _notebooks[id(stored)] = fresh
    index = next(i for i, cell in enumerate(stored.cells) if cell is item.cell)
    cell = _notebooks[id(stored)].cells[index]
    cell.outputs = [nbformat.from_dict(dict(output)) for output in item.test_outputs]
    cell.metadata["tags"].remove(NOT_RUN)


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RECORD)
    if not target:
        return
    if len(_notebooks) > 1:
        raise pytest.UsageError(f"{RECORD} records one notebook per run, got {len(_notebooks)}")
    for nb in _notebooks.values():
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.metadata["tags"]:
                del cell.metadata["tags"]
        Path(target).write_text(nbformat.writes(nb), encoding="utf-8")
