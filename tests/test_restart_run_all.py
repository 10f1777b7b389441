"""Negative control of Restart & Run All's nbval run and of the checks every lesson's two runs go through.

Every lesson's Restart & Run All is in the browser tests: nbval runs it in a sandboxed copy of the repo
(``restart_run``), then JupyterLab runs it again with the same course state and must show what nbval's
run printed (``browser/test_notebooks_in_browser.py``; lesson 00: ``browser/test_first_hour.py``). A
notebook executes twice per full run; ``tests/suite_plugin.py`` deselects nbval's own cells for the
notebooks those tests run, while the quick tier and ``pytest notebooks/…`` run nbval directly.

Here a notebook that keeps state between runs, writes a file next to itself, fails outside a tagged cell
and has a tagged cell that does not raise goes through nbval twice in a sandbox: nbval and each check must
catch what it is there to catch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from restart_run import assert_same_as_first, make_sandbox, problems, run_twice, sanitize, write_negative_control


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
