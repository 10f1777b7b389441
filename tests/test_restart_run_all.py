"""Every notebook passes Kernel -> Restart & Run All twice in a row, leaving nothing behind.

Each lesson runs twice, each time in a fresh kernel from ``notebooks/`` (as JupyterLab
runs it), with the same course state folder both times, as a learner who runs a lesson
again. The second run must be as clean as the first (no error outside cells tagged
``raises-exception``, which must really raise), must print the same thing (after the
nbval sanitize rules: a cache, provider or budget file left by the first run would
change it), and the two runs may not change a tracked file or leave any file, ignored
or not, in the repo. The runs happen in a private copy of the working tree (see
``_make_sandbox``), so the check is exact even while authors edit the real tree.
Parametrized by glob, so lessons added later are covered. One test per lesson: the parallel
workers of ``scripts/test.sh`` run several lessons at once (they mostly wait on the provider's
simulated latency), each in its own sandbox and kernels.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from nbclient import NotebookClient

from course_helpers.sandbox import copy_repository

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
RAISES = "raises-exception"
PROBE = "course-tests-probe"
IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")


def _sanitize_rules() -> list[tuple[re.Pattern[str], str]]:
    """The ``regex: … / replace: …`` pairs of the nbval sanitize file, in order."""
    rules, pattern = [], None
    for line in SANITIZE.read_text(encoding="utf-8").splitlines():
        if line.startswith("regex: "):
            pattern = re.compile(line[len("regex: "):])
        elif line.startswith("replace: ") and pattern is not None:
            rules.append((pattern, line[len("replace: "):]))
            pattern = None
    return rules


RULES = _sanitize_rules()


def _sanitize(text: str) -> str:
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _execute(path: Path, cwd: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """One Restart & Run All: a fresh kernel from ``cwd`` with environment ``env``; errors are
    collected, not raised.

    A last cell (not part of the lesson) reports where ``course_helpers`` was imported from."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import course_helpers\nprint(course_helpers.__file__)",
                                              metadata={"tags": [PROBE]}))
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)
    probe = nb.cells.pop()
    nb.metadata["course_helpers_file"] = "".join(o.get("text", "") for o in probe.outputs).strip()
    return nb


def _problems(nb: nbformat.NotebookNode) -> list[str]:
    """Errors outside ``raises-exception`` cells, tracebacks on stderr, tagged cells that did not raise."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {i} «{cell.source.splitlines()[0][:80] if cell.source else ''}»"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if RAISES in _tags(cell):
            if not errors:
                problems.append(f"{where} is tagged {RAISES} but raised nothing")
            continue
        problems += [f"{where} raised {e.ename}: {e.evalue}" for e in errors]
        problems += [f"{where} printed a traceback on stderr:\n{o.text[-600:]}" for o in cell.outputs
                     if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text]
    return problems


def _visible_text(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """What each compared cell shows (streams, text/plain, errors), sanitized as nbval does."""
    shown = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or any(m in cell.source for m in IGNORE_MARKERS) \
                or any(t in _tags(cell) for t in IGNORE_TAGS):
            continue
        parts = []
        for output in cell.outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "application/vnd.jupyter.widget-view+json" not in data:  # widget reprs hold model ids
                    parts.append(data.get("text/plain", ""))
            elif output.output_type == "error":
                parts.append(f"{output.ename}: {output.evalue}")
        shown.append((i, ATTEMPTS.sub("попыток: N", _sanitize("".join(parts)))))
    return shown


# progress() counts a learner's check attempts across runs on purpose (the course state is the
# learner's history, kept over restarts): a debug exercise handed out as broken code is checked
# once per run. The count is the only thing allowed to grow; the verdicts must stay the same.
ATTEMPTS = re.compile(r"попыток: \d+")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=course-tests", "-c", "user.email=tests@localhost", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def _make_sandbox(base: Path) -> tuple[Path, dict[str, str]]:
    """A private copy of the working tree under ``base``, committed to its own git repo, and the
    environment for kernels that import *its* ``course_helpers`` (PYTHONPATH) and share one course
    state folder: whatever the notebooks write shows up in the copy's ``git status``, and authors
    editing the real tree at the same time cannot disturb the check."""
    repo = copy_repository(base / "repo", ROOT)  # the same copy the grader runs students' notebooks in
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "snapshot")
    (base / "course-state").mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the copy
    env["COURSE_STATE_DIR"] = str(base / "course-state")  # shared by both runs
    return repo, env


class Twice(NamedTuple):
    """Both runs of one notebook in its own sandbox, and what ``git status`` shows afterwards."""
    sandbox: Path
    first: nbformat.NotebookNode
    second: nbformat.NotebookNode
    left: list[str]


def _run_twice(notebook: Path, base: Path) -> Twice:
    repo, env = _make_sandbox(base)
    path = repo / "notebooks" / notebook.name
    first = _execute(path, path.parent, env)
    second = _execute(path, path.parent, env)
    left = _git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all").splitlines()
    return Twice(repo, first, second, left)


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_restart_and_run_all_twice(notebook: Path, tmp_path: Path) -> None:
    sandbox, first, second, left = _run_twice(notebook, tmp_path)
    assert first.metadata["course_helpers_file"].startswith(str(sandbox)), first.metadata["course_helpers_file"]
    assert not _problems(first), f"{notebook.name}, first run:\n- " + "\n- ".join(_problems(first))
    assert not _problems(second), f"{notebook.name}, second run:\n- " + "\n- ".join(_problems(second))

    changed = [f"cell {i}:\n  first:  {a!r}\n  second: {b!r}"
               for (i, a), (_, b) in zip(_visible_text(first), _visible_text(second)) if a != b]
    assert not changed, (f"{notebook.name} prints something else when run again (state left by the first "
                         "run?):\n" + "\n".join(changed))

    assert not left, (f"running {notebook.name} twice changed or left files in the repo (lesson folders belong "
                      "in course.fresh_dir(...), outside the repo):\n" + "\n".join(left))


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Negative control: a notebook that keeps state between runs, writes a file next to itself, fails
    outside a tagged cell and has a tagged cell that does not raise is caught by every check above."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from pathlib import Path\nimport os\n"
                                  "counter = Path(os.environ['COURSE_STATE_DIR']) / 'runs.txt'\n"
                                  "runs = int(counter.read_text()) + 1 if counter.exists() else 1\n"
                                  "counter.write_text(str(runs))\nPath('leftover.txt').write_text('x')\n"
                                  "print('запуск', runs)"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('ничего не падает')", metadata={"tags": [RAISES]}),
        nbformat.v4.new_code_cell("raise ValueError('ожидаемо')", metadata={"tags": [RAISES]}),
    ]
    sandbox, env = _make_sandbox(tmp_path)
    path = sandbox / "notebooks" / "99_negative.ipynb"
    nbformat.write(nb, path)
    _git(sandbox, "add", "-A")
    _git(sandbox, "commit", "-q", "-m", "negative control")
    first, second = _execute(path, path.parent, env), _execute(path, path.parent, env)
    problems = _problems(second)
    assert len(problems) == 2, problems
    assert "ZeroDivisionError" in problems[0] and "raised nothing" in problems[1]
    assert _visible_text(first)[0] != _visible_text(second)[0]  # "запуск 1" / "запуск 2": state left behind
    assert _git(sandbox, "status", "--porcelain", "--ignored", "--untracked-files=all").split() == \
        ["??", "notebooks/leftover.txt"]
    assert _sanitize("127.0.0.1:43125 за 12 мс") == "127.0.0.1:PORT за <N> мс"
