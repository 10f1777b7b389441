"""Every notebook passes nbval twice in a row — Kernel -> Restart & Run All twice — leaving nothing behind.

Each lesson runs twice, each time in a fresh kernel from ``notebooks/`` (as JupyterLab
runs it), with the same course state folder both times, as a learner who runs a lesson
again. Each run is nbval itself (``python -m pytest notebooks/NN_name.ipynb`` in the sandbox):
every cell must print what the stored notebook shows, after the nbval sanitize rules — so the
second run, too, must print what the first did (a cache, provider or budget file left by the
first run would change it). ``tests/nbval_record.py`` keeps what each run printed, for what nbval
does not check: no traceback on stderr even in cells whose output is not compared, cells tagged
``raises-exception`` really raise, and the runs print the same. The two runs may not change a
tracked file or leave any file, ignored or not, in the repo. The runs happen in a private copy of
the working tree (see ``_make_sandbox``), so the check is exact even while authors edit the real tree.

Because these runs are nbval, a full run of the suite does not run nbval over the notebooks a
third time (``tests/suite_plugin.py`` deselects those cells when this test is selected for the
same notebook); ``pytest notebooks/`` and the quick tier still run nbval directly.
Parametrized by glob, so lessons added later are covered. One test per lesson: the parallel
workers of ``scripts/test.sh`` run several lessons at once (they mostly wait on the provider's
simulated latency), each in its own sandbox and kernels.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

from course_helpers.sandbox import copy_repository
from nbval_record import NOT_RUN, RECORD

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


KEEP_STATE = "COURSE_NBVAL_KEEP_STATE"  # the root conftest then keeps COURSE_STATE_DIR for the notebook


class Run(NamedTuple):
    """One nbval run of a notebook: did every cell pass, pytest's report, and the notebook with this
    run's outputs (``tests/nbval_record.py``)."""
    passed: bool
    report: str
    nb: nbformat.NotebookNode


def _nbval(path: Path, repo: Path, env: dict[str, str], record: Path) -> Run:
    """One Restart & Run All checked by nbval: ``pytest path`` in the sandbox ``repo`` (its pyproject's
    nbval options and sanitize file), a fresh kernel from the notebook's folder with environment ``env``."""
    # Without the plugins nbval does not need: Hypothesis's alone costs ~1.2 s of CPU per run at import.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:hypothesispytest", "-p", "no:anyio",
               "-p", "tests.nbval_record", "--durations=0", str(path.relative_to(repo))]
    done = subprocess.run(command, cwd=repo, env={**env, RECORD: str(record), KEEP_STATE: "1"},
                          capture_output=True, text=True, timeout=900)
    if not record.exists():
        raise AssertionError(f"nbval did not run {path.name} (exit {done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return Run(done.returncode == 0, done.stdout[-6000:], nbformat.read(record, as_version=4))


def _imported_from(cwd: Path, env: dict[str, str]) -> str:
    """Where a kernel started from ``cwd`` with ``env`` imports ``course_helpers`` from (same interpreter)."""
    return subprocess.run([sys.executable, "-c", "import course_helpers; print(course_helpers.__file__)"],
                          cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


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
        shown.append((i, _sanitize("".join(parts))))
    return shown




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
    imported_from: str
    first: Run
    second: Run
    left: list[str]


def _run_twice(path: Path, repo: Path, env: dict[str, str], base: Path) -> Twice:
    imported_from = _imported_from(path.parent, env)
    first = _nbval(path, repo, env, base / "first.ipynb")
    second = _nbval(path, repo, env, base / "second.ipynb")
    left = _git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all").splitlines()
    return Twice(imported_from, first, second, left)


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_restart_and_run_all_twice(notebook: Path, tmp_path: Path) -> None:
    repo, env = _make_sandbox(tmp_path)
    imported_from, first, second, left = _run_twice(repo / "notebooks" / notebook.name, repo, env, tmp_path)
    assert imported_from.startswith(str(repo)), imported_from
    assert first.passed, f"{notebook.name}, first run (nbval):\n{first.report}"
    assert second.passed, (f"{notebook.name}, second run in the same course state (nbval; state left by the "
                           f"first run?):\n{second.report}")
    for run, name in ((first, "first"), (second, "second")):
        not_run = [i for i, c in enumerate(run.nb.cells) if NOT_RUN in _tags(c)]
        assert not not_run, f"{notebook.name}, {name} run: nbval did not run cells {not_run}"
        assert not _problems(run.nb), f"{notebook.name}, {name} run:\n- " + "\n- ".join(_problems(run.nb))

    changed = [f"cell {i}:\n  first:  {a!r}\n  second: {b!r}"
               for (i, a), (_, b) in zip(_visible_text(first.nb), _visible_text(second.nb)) if a != b]
    assert not changed, (f"{notebook.name} prints something else when run again (state left by the first "
                         "run?):\n" + "\n".join(changed))

    assert not left, (f"running {notebook.name} twice changed or left files in the repo (lesson folders belong "
                      "in course.fresh_dir(...), outside the repo):\n" + "\n".join(left))


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """Negative control: a notebook that keeps state between runs, writes a file next to itself, fails
    outside a tagged cell and has a tagged cell that does not raise is caught by every check above;
    the first cell's stored output is what a first run prints, so nbval itself fails only the second."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from pathlib import Path\nimport os\n"
                                  "counter = Path(os.environ['COURSE_STATE_DIR']) / 'runs.txt'\n"
                                  "runs = int(counter.read_text()) + 1 if counter.exists() else 1\n"
                                  "counter.write_text(str(runs))\nPath('leftover.txt').write_text('x')\n"
                                  "print('запуск', runs)", execution_count=1,
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="запуск 1\n")]),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('ничего не падает')", metadata={"tags": [RAISES]}),
        nbformat.v4.new_code_cell("raise ValueError('ожидаемо')", metadata={"tags": [RAISES]}),
    ]
    sandbox, env = _make_sandbox(tmp_path)
    path = sandbox / "notebooks" / "99_negative.ipynb"
    nbformat.write(nb, path)
    _git(sandbox, "add", "-A")
    _git(sandbox, "commit", "-q", "-m", "negative control")
    imported_from, first, second, left = _run_twice(path, sandbox, env, tmp_path)
    assert imported_from.startswith(str(sandbox)), imported_from
    assert not first.passed and "ZeroDivisionError" in first.report and "Cell outputs differ" not in first.report
    assert not second.passed and "Cell outputs differ" in second.report, second.report  # "запуск 2"
    problems = _problems(second.nb)
    assert len(problems) == 2, problems
    assert "ZeroDivisionError" in problems[0] and "raised nothing" in problems[1]
    assert _visible_text(first.nb)[0] != _visible_text(second.nb)[0]  # "запуск 1" / "запуск 2": state left behind
    assert [line.split() for line in left] == [["??", "notebooks/leftover.txt"]]
    assert _sanitize("127.0.0.1:43125 за 12 мс") == "127.0.0.1:PORT за <N> мс"
