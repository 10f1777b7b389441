"""Restart & Run All twice in a row, leaving nothing behind: lesson 00 here (nbval twice), and the negative
control of the checks every lesson's runs go through.

Each run is in a fresh kernel from ``notebooks/`` (as JupyterLab runs it), with the same course state
folder both times, as a learner who runs a lesson again, in a private copy of the working tree
(``restart_run.make_sandbox``), so the check is exact even while authors edit the real tree. A run here
is nbval itself (``python -m pytest notebooks/NN_name.ipynb`` in the sandbox): every cell must print what
the stored notebook shows, after the nbval sanitize rules. ``tests/nbval_record.py`` keeps what each run
printed, for what nbval does not check: no traceback on stderr even in cells whose output is not compared,
cells tagged ``raises-exception`` really raise, and the second run prints what the first did (a cache,
provider or budget file left by the first run would change it). The runs may not change a tracked file or
leave any file, ignored or not, in the repo.

Lessons 01+ go through the same checks in ``browser/test_notebooks_in_browser.py``, where the second run
is the one in JupyterLab: a notebook is executed twice per full run, not three times. Lesson 00's browser
run is ``browser/test_first_hour.py``. Because these runs are nbval, a full run of the suite does not run
nbval over the notebooks again (``tests/suite_plugin.py`` deselects those cells); ``pytest notebooks/`` and
the quick tier still run nbval directly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from restart_run import (FIRST_HOUR, NOTEBOOKS, assert_nothing_left, assert_ran_clean, assert_same_as_first,
                         make_sandbox, problems, run_twice, sanitize, write_negative_control)


@pytest.mark.parametrize("notebook", [NOTEBOOKS / FIRST_HOUR], ids=lambda p: p.stem)
def test_restart_and_run_all_twice(notebook: Path, tmp_path: Path) -> None:
    repo, env = make_sandbox(tmp_path)
    where, first, second, left = run_twice(repo / "notebooks" / notebook.name, repo, env, tmp_path)
    assert where.startswith(str(repo)), where
    assert first.passed, f"{notebook.name}, first run (nbval):\n{first.report}"
    assert second.passed, (f"{notebook.name}, second run in the same course state (nbval; state left by the "
                           f"first run?):\n{second.report}")
    assert_ran_clean(notebook.name, "first", first.nb)
    assert_ran_clean(notebook.name, "second", second.nb)
    assert_same_as_first(notebook.name, first.nb, second.nb)
    assert_nothing_left(notebook.name, left)


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Negative control: a notebook that keeps state between runs, writes a file next to itself, fails
    outside a tagged cell and has a tagged cell that does not raise is caught by every check above;
    the first cell's stored output is what a first run prints, so nbval itself fails only the second."""
    sandbox, env = make_sandbox(tmp_path)
    path = write_negative_control(sandbox)
    where, first, second, left = run_twice(path, sandbox, env, tmp_path)
    assert where.startswith(str(sandbox)), where
    assert not first.passed and "ZeroDivisionError" in first.report and "Cell outputs differ" not in first.report
    assert not second.passed and "Cell outputs differ" in second.report, second.report  # "запуск 2"
    found = problems(second.nb)
    assert len(found) == 2, found
    assert "ZeroDivisionError" in found[0] and "raised nothing" in found[1]
    with pytest.raises(AssertionError, match="prints something else when run again"):
        assert_same_as_first(path.name, first.nb, second.nb)  # "запуск 1" / "запуск 2": state left behind
    assert [line.split() for line in left] == [["??", "notebooks/leftover.txt"]]
    assert sanitize("127.0.0.1:43125 за 12 мс") == "127.0.0.1:PORT за <N> мс"
