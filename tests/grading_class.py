"""A synthetic class for the grading tests: students' notebooks of one lesson built from the lesson's
own notebook and the course's reference solutions (``solution_text``), so they follow the lesson
as it is now, whatever exercises it has.

``python tests/grading_class.py DIR [LESSON]`` writes the class to DIR (to grade it by hand).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

from course_helpers.checks import exercises, solution_text
from course_helpers.quizzes import questions

ROOT = Path(__file__).resolve().parent.parent


def lesson_notebook(lesson: str) -> nbformat.NotebookNode:
    """The lesson's notebook as handed out (outputs removed)."""
    nb = nbformat.read(next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb")), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def lesson_exercises(lesson: str) -> list[str]:
    return [k for k in exercises() if k.startswith(f"{lesson}.")]


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def check_cell(nb: nbformat.NotebookNode, exercise_id: str) -> int:
    pattern = re.compile(r"""check\(\s*["']""" + re.escape(exercise_id) + r"""["']""")
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and pattern.search(c.source))


def answer_cell(nb: nbformat.NotebookNode, exercise_id: str) -> int:
    """The cell where the learner writes the answer: the last one before the check cell that defines
    the name the exercise asks for (a new cell is inserted before the check cell if there is none)."""
    name = exercises()[exercise_id].answer_name
    check = check_cell(nb, exercise_id)
    found = [i for i, c in enumerate(nb.cells[:check + 1]) if c.cell_type == "code" and _defines(c.source, name)]
    if found and found[-1] != check:
        return found[-1]
    nb.cells.insert(check, nbformat.v4.new_code_cell(""))
    if found:  # the stub sits in the check cell itself: keep only the check there
        cell = nb.cells[check + 1]
        cell.source = "\n".join(line for line in cell.source.splitlines()
                                if "check(" in line or line.startswith(("from ", "import ")))
    return check


def put_answer(nb: nbformat.NotebookNode, exercise_id: str, source: str) -> None:
    nb.cells[answer_cell(nb, exercise_id)].source = source


def wrong_answer(exercise_id: str) -> str:
    """A cell defining an answer the checker must reject (the exercise's first known-wrong answer)."""
    name = exercises()[exercise_id].answer_name
    return (f"from course_helpers.checks import get_exercise\n\n"
            f"{name} = get_exercise({exercise_id!r}).wrong_answers[0]")


def quiz_answers(lesson: str, right: bool = True) -> list[nbformat.NotebookNode]:
    """Cells answering every quiz question of the lesson in code (right or wrong)."""
    cells = []
    for question_id, question in questions(lesson).items():
        if question.options is None:
            value: object = question.correct if right else float(question.correct) + question.tolerance + 1
        else:
            value = int(question.correct) + 1 if right else (int(question.correct) + 1) % len(question.options) + 1
        cells.append(nbformat.v4.new_code_cell(f"from course_helpers import answer\n\nanswer({question_id!r}, {value!r})"))
    return cells


def complete(lesson: str) -> nbformat.NotebookNode:
    """Every exercise solved with the reference solution, every quiz question answered right."""
    nb = lesson_notebook(lesson)
    for exercise_id in lesson_exercises(lesson):
        put_answer(nb, exercise_id, solution_text(exercise_id))
    nb.cells += quiz_answers(lesson)
    return nb


def partly_wrong(lesson: str) -> nbformat.NotebookNode:
    """The last exercise answered wrong (the others right), quiz answered wrong."""
    nb = lesson_notebook(lesson)
    *right, wrong = lesson_exercises(lesson)
    for exercise_id in right:
        put_answer(nb, exercise_id, solution_text(exercise_id))
    put_answer(nb, wrong, wrong_answer(wrong))
    nb.cells += quiz_answers(lesson, right=False)
    return nb


def skipped_checks(lesson: str) -> nbformat.NotebookNode:
    """Right answers, but every ``check(...)`` call deleted (the grader checks them after the last cell);
    the rest of the check cells (imports the lesson uses later) stays."""
    nb = complete(lesson)
    for exercise_id in lesson_exercises(lesson):
        cell = nb.cells[check_cell(nb, exercise_id)]
        cell.source = "\n".join(line for line in cell.source.splitlines() if f"check({exercise_id!r}" not in
                                line.replace('"', "'"))
    return nb


def renamed(lesson: str) -> nbformat.NotebookNode:
    """Right answers under another name: the check cells still name the original, which is not defined."""
    nb = lesson_notebook(lesson)
    for exercise_id in lesson_exercises(lesson):
        name = exercises()[exercise_id].answer_name
        put_answer(nb, exercise_id, re.sub(rf"\b{name}\b", f"my_{name}", solution_text(exercise_id)))
    return nb


def broken_setup(lesson: str) -> nbformat.NotebookNode:
    """Right answers, but the setup cell raises (the student edited start_lesson's call)."""
    nb = complete(lesson)
    setup = next(c for c in nb.cells if c.cell_type == "code" and "start_lesson(" in c.source)
    setup.source = setup.source.replace(f'start_lesson("{lesson}")', f'start_lesson("{lesson}", latency=0)')
    return nb


HANG = "import time\n\nwhile True:  # забытый бесконечный цикл\n    time.sleep(0.1)"
STUCK = ("import signal, time\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)  # прерывание не работает\n"
         "while True:\n    time.sleep(0.1)")


def hangs(lesson: str) -> nbformat.NotebookNode:
    """Right answers; an endless loop before the first check cell (interrupted, the run goes on), and
    one that ignores interrupts before the last cell (the run stops there)."""
    nb = complete(lesson)
    nb.cells.insert(check_cell(nb, lesson_exercises(lesson)[0]), nbformat.v4.new_code_cell(HANG))
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_code_cell(STUCK))
    return nb


def skipped(lesson: str) -> nbformat.NotebookNode:
    """The lesson as handed out: every exercise left as it was given, every check cell run."""
    return lesson_notebook(lesson)


def handed_out_as_stub(lesson: str, exercise_id: str) -> bool:
    """True if the lesson hands the exercise out as a stub (``raise NotImplementedError`` or ``...``):
    left as is, it is «not attempted». Otherwise the given code is the task (a bug to fix, code to
    change) and, left as is, fails its check."""
    nb = lesson_notebook(lesson)
    name = exercises()[exercise_id].answer_name
    check = check_cell(nb, exercise_id)
    found = [c.source for c in nb.cells[:check + 1] if c.cell_type == "code" and name and _defines(c.source, name)]
    source = found[-1] if found else nb.cells[check].source
    return "NotImplementedError" in source or "..." in source


def _with_cells(lesson: str, *sources: str) -> nbformat.NotebookNode:
    """Right answers, then the given cells at the end (what the checks say must not depend on them)."""
    nb = complete(lesson)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def writes_outside(lesson: str, outside: list[Path]) -> nbformat.NotebookNode:
    """Writes files outside its folder (absolute paths the instructor owns)."""
    return _with_cells(lesson, "\n".join(
        f"try:\n    open({str(p)!r}, 'w').write('ученик был здесь')\n    print('записал', {str(p)!r})\n"
        f"except OSError as e:\n    print('не записал:', type(e).__name__, e)" for p in outside))


def deletes_files(lesson: str, victim: Path) -> nbformat.NotebookNode:
    """Deletes a file and a folder outside its folder, then its own copy of the course and its home."""
    return _with_cells(lesson, (
        f"import os, shutil\n\nfor path in ({str(victim)!r}, {str(victim.parent)!r}):\n    try:\n"
        f"        os.remove(path) if os.path.isfile(path) else shutil.rmtree(path)\n        print('удалил', path)\n"
        f"    except OSError as e:\n        print('не удалил:', type(e).__name__, e)\n"
        f"for path in ('..', os.path.expanduser('~')):  # its own copy of the course, its home: allowed\n"
        f"    shutil.rmtree(path, ignore_errors=True)\nprint('своя копия курса на месте:', os.path.exists('../course_helpers'))"))


def network(lesson: str, bypass_netguard: bool) -> nbformat.NotebookNode:
    """Connects to an address outside loopback; with ``bypass_netguard``, also through a raw socket
    (the loopback guard is a Python patch; only the network namespace stops that one)."""
    source = ("import socket\n\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n    print('сеть есть')\n"
              "except OSError as e:\n    print('сети нет:', type(e).__name__, e)")
    if bypass_netguard:
        source += ("\nimport _socket\n\ns = _socket.socket()\ns.settimeout(3)\ntry:\n    s.connect(('192.0.2.1', 80))\n"
                   "    print('сеть в обход есть')\nexcept OSError as e:\n    print('сети в обход нет:', type(e).__name__, e)")
    return _with_cells(lesson, source)


def prints_megabytes(lesson: str) -> nbformat.NotebookNode:
    """Prints 30 MB in one cell."""
    return _with_cells(lesson, "for _ in range(30):\n    print('x' * 10**6)")


def fork_bomb(lesson: str) -> nbformat.NotebookNode:
    """Forks until the process limit stops it."""
    return _with_cells(lesson, (
        "import os, time\n\nchildren = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(3600)\n            os._exit(0)\n        children += 1\n"
        "except OSError as e:\n    print('fork остановлен после', children, 'процессов:', type(e).__name__)"))


BUILDERS: dict[str, Callable[[str], nbformat.NotebookNode]] = {
    "complete": complete, "partly_wrong": partly_wrong, "skipped": skipped, "skipped_checks": skipped_checks,
    "renamed": renamed, "broken_setup": broken_setup, "hangs": hangs, "prints_megabytes": prints_megabytes,
    "fork_bomb": fork_bomb,
}


def write_class(folder: Path, lesson: str, outside: Path, bypass_netguard: bool) -> list[Path]:
    """One folder per student, each with the lesson's notebook under its usual name, and a file that
    is not a notebook. ``outside`` (a folder of the instructor's) gets a file for ``deletes_files``;
    returns the files ``writes_outside`` tries to create there."""
    name = next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb")).name
    targets = [outside / "from-student.txt"]
    victim = outside / "keep" / "instructor.txt"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("файл преподавателя", encoding="utf-8")
    notebooks = {student: build(lesson) for student, build in BUILDERS.items()}
    notebooks["writes_outside"] = writes_outside(lesson, targets)
    notebooks["deletes_files"] = deletes_files(lesson, victim)
    notebooks["network"] = network(lesson, bypass_netguard)
    for student, nb in notebooks.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / name)
    (folder / "not_a_notebook").mkdir(exist_ok=True)
    (folder / "not_a_notebook" / name).write_text("{ это не JSON", encoding="utf-8")
    return targets


if __name__ == "__main__":
    target = Path(sys.argv[1])
    write_class(target, sys.argv[2] if len(sys.argv) > 2 else "00", target.parent / "outside", True)
