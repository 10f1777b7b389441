"""The pieces of Restart & Run All shared by the browser tests that run every lesson twice
(``browser/test_notebooks_in_browser.py``; lesson 00: ``browser/test_first_hour.py``: nbval first, then the
second run in JupyterLab) and by ``test_restart_run_all.py`` (their negative control, nbval twice): a
sandboxed copy of the repo, one nbval run of a notebook in it, and the checks of what a run printed and
left behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat

from course_helpers.sandbox import copy_repository
from nbval_record import NOT_RUN, RECORD

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
# Lesson 00's second run is the newcomer's hour in ``browser/test_first_hour.py``; every other lesson's is the
# generic one in ``browser/test_notebooks_in_browser.py``.
FIRST_HOUR = "00_start.ipynb"
SECOND_RUN_IN_BROWSER = [n for n in NOTEBOOK_FILES if n.name != FIRST_HOUR]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
RAISES = "raises-exception"
IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")


def sanitize_rules() -> list[tuple[re.Pattern[str], str]]:
    """The ``regex: … / replace: …`` pairs of the nbval sanitize file, in order."""
    rules, pattern = [], None
    for line in SANITIZE.read_text(encoding="utf-8").splitlines():
        if line.startswith("regex: "):
            pattern = re.compile(line[len("regex: "):])
        elif line.startswith("replace: ") and pattern is not None:
            rules.append((pattern, line[len("replace: "):]))
            pattern = None
    return rules


RULES = sanitize_rules()


def sanitize(text: str) -> str:
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def tags(cell: nbformat.NotebookNode) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


KEEP_STATE = "COURSE_NBVAL_KEEP_STATE"  # the root conftest then keeps COURSE_STATE_DIR for the notebook


class Run(NamedTuple):
    """One nbval run of a notebook: did every cell pass, pytest's report, and the notebook with this
    run's outputs (``tests/nbval_record.py``)."""
    passed: bool
    report: str
    nb: nbformat.NotebookNode


def nbval_run(path: Path, repo: Path, env: dict[str, str], record: Path) -> Run:
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


def imported_from(cwd: Path, env: dict[str, str]) -> str:
    """Where a kernel started from ``cwd`` with ``env`` imports ``course_helpers`` from (same interpreter)."""
    return subprocess.run([sys.executable, "-c", "import course_helpers; print(course_helpers.__file__)"],
                          cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Errors outside ``raises-exception`` cells, tracebacks on stderr, tagged cells that did not raise."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {i} «{cell.source.splitlines()[0][:80] if cell.source else ''}»"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if RAISES in tags(cell):
            if not errors:
                problems.append(f"{where} is tagged {RAISES} but raised nothing")
            continue
        problems += [f"{where} raised {e.ename}: {e.evalue}" for e in errors]
        problems += [f"{where} printed a traceback on stderr:\n{o.text[-600:]}" for o in cell.outputs
                     if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text]
    return problems


def visible_text(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """What each compared cell shows, sanitized as nbval does: its stdout, then its stderr, each joined in order,
    then its results and errors in order. Streams apart from the rest, as nbval compares them (it merges a
    cell's stdout into one output): JupyterLab keeps text printed after a plot after the plot."""
    shown = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or any(m in cell.source for m in IGNORE_MARKERS) \
                or any(t in tags(cell) for t in IGNORE_TAGS):
            continue
        streams, rest = {"stdout": [], "stderr": []}, []
        for output in cell.outputs:
            if output.output_type == "stream":
                streams[output.name].append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                data = output.get("data", {})
                if "application/vnd.jupyter.widget-view+json" not in data:  # widget reprs hold model ids
                    rest.append(data.get("text/plain", ""))
            elif output.output_type == "error":
                rest.append(f"{output.ename}: {output.evalue}")
        shown.append((i, sanitize("".join(streams["stdout"]) + "\n[stderr]\n" + "".join(streams["stderr"])
                                  + "\n[results]\n" + "\n".join(rest))))
    return shown


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=course-tests", "-c", "user.email=tests@localhost", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def make_sandbox(base: Path) -> tuple[Path, dict[str, str]]:
    """A private copy of the working tree under ``base``, committed to its own git repo, and the
    environment for kernels that import *its* ``course_helpers`` (PYTHONPATH) and share one course
    state folder: whatever the notebooks write shows up in the copy's ``git status``, and authors
    editing the real tree at the same time cannot disturb the check."""
    repo = copy_repository(base / "repo", ROOT)  # the same copy the grader runs students' notebooks in
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    (base / "course-state").mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the copy
    env["COURSE_STATE_DIR"] = str(base / "course-state")  # shared by both runs
    return repo, env


def leftovers(repo: Path) -> list[str]:
    """What ``git status`` shows in the sandbox: changed tracked files and new files, ignored or not."""
    return git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all").splitlines()


class Twice(NamedTuple):
    """Both runs of one notebook in its own sandbox, and what ``git status`` shows afterwards."""
    imported_from: str
    first: Run
    second: Run
    left: list[str]


def run_twice(path: Path, repo: Path, env: dict[str, str], base: Path) -> Twice:
    """Two nbval runs of ``path`` in the sandbox ``repo``, sharing the course state in ``env``."""
    where = imported_from(path.parent, env)
    first = nbval_run(path, repo, env, base / "first.ipynb")
    second = nbval_run(path, repo, env, base / "second.ipynb")
    return Twice(where, first, second, leftovers(repo))


def first_run_in_sandbox(base: Path, name: str) -> tuple[Path, dict[str, str], Run]:
    """Restart & Run All's first run of ``notebooks/name``: nbval in a sandbox under ``base`` (it must pass
    cleanly). Returns the sandbox, its environment (for the second run) and the run."""
    repo, env = make_sandbox(base)
    path = repo / "notebooks" / name
    where = imported_from(path.parent, env)
    assert where.startswith(str(repo)), where
    first = nbval_run(path, repo, env, base / "first.ipynb")
    assert first.passed, f"{name}, first run (nbval):\n{first.report}"
    assert_ran_clean(name, "first", first.nb)
    return repo, env, first


def assert_ran_clean(name: str, label: str, nb: nbformat.NotebookNode) -> None:
    """Every code cell of this run ran; errors only in ``raises-exception`` cells, which did raise; no
    traceback on stderr."""
    not_run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and NOT_RUN in tags(c)]
    assert not not_run, f"{name}, {label} run: cells {not_run} did not run"
    found = problems(nb)
    assert not found, f"{name}, {label} run:\n- " + "\n- ".join(found)


def assert_same_as_first(name: str, first: nbformat.NotebookNode, second: nbformat.NotebookNode) -> None:
    """The second run (same course state) printed what the first did, cell by cell, after the sanitize rules."""
    before, after = visible_text(first), visible_text(second)
    assert [i for i, _ in before] == [i for i, _ in after], f"{name}: the runs compare different cells"
    changed = [f"cell {i}:\n  first:  {a!r}\n  second: {b!r}" for (i, a), (_, b) in zip(before, after) if a != b]
    assert not changed, (f"{name} prints something else when run again (state left by the first "
                         "run?):\n" + "\n".join(changed))


def assert_nothing_left(name: str, left: list[str]) -> None:
    assert not left, (f"running {name} twice changed or left files in the repo (lesson folders belong "
                      "in course.fresh_dir(...), outside the repo):\n" + "\n".join(left))


def write_negative_control(repo: Path) -> Path:
    """The negative controls' notebook, committed in the sandbox ``repo``: it keeps state between runs
    (prints «запуск 1», then «запуск 2»; the stored output is the first), writes a file next to itself,
    fails outside a tagged cell and has a tagged cell that does not raise."""
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
    nb.metadata["kernelspec"] = nbformat.read(NOTEBOOK_FILES[0], as_version=4).metadata.kernelspec
    path = repo / "notebooks" / "99_negative.ipynb"
    nbformat.write(nb, path)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "negative control")
    return path
