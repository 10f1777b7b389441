"""Grade a class's saved lesson notebooks: ``python -m course_helpers.grade SUBMISSIONS...``.

Each notebook runs in a fresh kernel, offline, on its own practice provider, in a scratch copy of
the course (:mod:`course_helpers.sandbox`: resource limits, a wall-clock limit, loopback only;
bubblewrap isolation when it works here), through :mod:`course_helpers.grade_runner`. Verdicts
come from the course's own checkers: the notebook's ``check(...)`` cells record each verdict and
its message in the progress file of the run's own state folder; quiz answers and predictions are
read from the same file. An exercise whose check never ran is checked after the last cell if the
kernel has the object the exercise asks for (``answer_name``), and marked so in the report.

Student identity: the notebook's folder below a SUBMISSIONS folder (``class/ivanov/00_start.ipynb``),
else its file name (``class/ivanov.ipynb``); a notebook named like a lesson file
(``00_start.ipynb``) passed directly takes its folder's name. The lesson: ``--lesson``, else the
``start_lesson("NN")`` call in the notebook, else the file name's ``NN_`` prefix.

Writes to ``--out`` (default ``grading-report``): ``report.md`` and ``report.html`` (students × exercises, with each
failure's message), ``lesson-NN.csv``, ``feedback/<student>.md`` (Russian feedback for the
student) and ``notebooks/<student>/<file>`` (the executed notebook, for the instructor).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course_helpers import sandbox
from course_helpers.session import LESSONS

MAX_NOTEBOOK_BYTES = 50 * 2**20  # a submission larger than this is not run
MAX_RESULT_BYTES = 20 * 2**20  # what the grader reads back from a sandbox, at most, per file
STATUS_TEXT = {"passed": "верно", "failed": "неверно", "not_attempted": "не решено", "error": "ошибка проверки",
               "not_checked": "не проверено"}
STATUS_MARK = {"passed": "✅", "failed": "❌", "not_attempted": "⏳", "error": "⚠️", "not_checked": "—"}


@dataclass
class Settings:
    """How every submission of a batch is run."""

    cell_timeout: int = 120
    notebook_timeout: int = 900
    latency: float = 0.25
    jobs: int = 2
    isolation: str = "auto"
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    cell_output_kb: int = 1024
    notebook_output_mb: int = 10
    keep_scratch: bool = False


@dataclass
class Submission:
    """One notebook of one student."""

    student: str
    path: Path
    lesson: str | None = None
    problem: str | None = None  # why it cannot be run (unreadable, unknown lesson)
    notebook: Any = None


@dataclass
class Verdict:
    """One exercise of one submission: status (see STATUS_TEXT), the checker's message, who checked."""

    status: str
    message: str
    by_grader: bool = False  # the notebook never ran check() for it; the grader did, after the last cell


@dataclass
class Graded:
    """Everything the report says about one submission."""

    submission: Submission
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    quiz: tuple[int, int, int] = (0, 0, 0)  # questions, answered, right at the first attempt
    predictions: tuple[int, int, int] = (0, 0, 0)  # points, made and revealed, right
    run: str = "не запускался"  # one line for the table
    problems: list[str] = field(default_factory=list)  # details for the instructor and the student
    seconds: float = 0.0
    executed: Path | None = None

    @property
    def solved(self) -> int:
        return sum(v.status == "passed" for v in self.verdicts.values())


# --- submissions -------------------------------------------------------------------------------

LESSON_FILE = re.compile(r"^(\d\d)_")
START_CALL = re.compile(r"""start_lesson\(\s*["'](\d{1,2})["']""")


def _lesson_of(nb: Any, path: Path) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            match = START_CALL.search(cell.source)
            if match:
                return match.group(1).zfill(2)
    match = LESSON_FILE.match(path.name)
    return match.group(1) if match else None


def _read(student: str, path: Path, lesson: str | None) -> Submission:
    submission = Submission(student, path)
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"файл больше {MAX_NOTEBOOK_BYTES // 2**20} МБ")
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # any reason a file is not a notebook: JSON, schema, encoding, size
        submission.problem = f"файл не читается как ноутбук Jupyter ({type(e).__name__}: {str(e)[:200]})"
        match = LESSON_FILE.match(path.name)
        submission.lesson = lesson or (match.group(1) if match else None)  # so it shows in its lesson's table
        return submission
    for cell in nb.cells:  # outputs are made anew; what the student saved is not trusted
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    submission.notebook = nb
    submission.lesson = lesson or _lesson_of(nb, path)
    if submission.lesson not in LESSONS:
        submission.problem = (f"не понятно, какой это урок (нет ячейки start_lesson(\"NN\") и имя файла не "
                              f"начинается с номера урока); укажите --lesson")
    return submission


def _safe(name: str) -> str:
    """A student's name as a file name: letters, digits, '-', '_' and '.' (no paths, no hidden files)."""
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._") or "student"
    return cleaned[:80]


def find_submissions(paths: list[Path], lesson: str | None = None) -> list[Submission]:
    """Every notebook under ``paths`` with its student (see the module docstring), in a stable order."""
    found: list[tuple[str, Path]] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*.ipynb")):
                relative = path.relative_to(root)
                if ".ipynb_checkpoints" in relative.parts or any(p.startswith(".") for p in relative.parts):
                    continue
                found.append((relative.parts[0] if len(relative.parts) > 1 else path.stem, path))
        elif root.suffix == ".ipynb":
            named_like_lesson = LESSON_FILE.match(root.name) is not None
            found.append((root.resolve().parent.name if named_like_lesson else root.stem, root))
        else:
            raise FileNotFoundError(f"{root}: не ноутбук (.ipynb) и не папка")
    submissions = [_read(student, path, lesson) for student, path in found]
    counts: dict[tuple[str, str | None], int] = {}
    for s in submissions:
        counts[(s.student, s.lesson)] = counts.get((s.student, s.lesson), 0) + 1
    for s in submissions:  # two notebooks of one student for one lesson: tell them apart by file
        if counts[(s.student, s.lesson)] > 1:
            s.student = f"{s.student} ({s.path.name})"
    return submissions


# --- one submission ----------------------------------------------------------------------------

def _exercises(lesson: str) -> dict[str, Any]:
    from course_helpers.checks import exercises

    return {k: v for k, v in exercises().items() if k.startswith(f"{lesson}.")}


def _read_json(path: Path) -> Any:
    """A JSON file written inside the sandbox (untrusted): None if missing, too big or malformed."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _section(progress: Any, name: str) -> dict[str, dict[str, Any]]:
    if not isinstance(progress, dict):
        return {}
    section = progress.get(name, {}) if "version" in progress else (progress if name == "exercises" else {})
    return {str(k): v for k, v in section.items() if isinstance(v, dict)} if isinstance(section, dict) else {}


def _first_line(nb: Any, index: int) -> str:
    try:
        line = nb.cells[index].source.strip().splitlines()[0]
    except (IndexError, AttributeError):
        return ""
    return line[:60] + ("…" if len(line) > 60 else "")


def _cells(result: dict[str, Any], nb: Any) -> list[dict[str, Any]]:
    """The runner's cell records, minus errors the lesson shows on purpose (cells tagged raises-exception)."""
    cells = []
    for cell in result.get("cells", []):
        if not isinstance(cell, dict):
            continue
        index = cell.get("index")
        tags = nb.cells[index].get("metadata", {}).get("tags", []) if isinstance(index, int) \
            and 0 <= index < len(nb.cells) else []
        if not (cell.get("status") == "error" and "raises-exception" in tags):
            cells.append(cell)
    return cells


def _run_problems(result: dict[str, Any] | None, outcome: sandbox.Outcome, nb: Any, settings: Settings) -> list[str]:
    """What went wrong while the notebook ran, in Russian, most important first."""
    problems: list[str] = []
    if outcome.over_disk:
        problems.append(f"превышен объём папки ({settings.limits.disk_mb} МБ или {sandbox.MAX_FILES} файлов): "
                        "выполнение остановлено")
    if outcome.timed_out:
        problems.append("выполнение остановлено: вышло время на ноутбук")
    if result is None:
        if not (outcome.over_disk or outcome.timed_out):
            problems.append(f"выполнение прервалось (код {outcome.returncode}; не хватило памяти?)")
        return problems
    kernel = result.get("kernel")
    for cell in _cells(result, nb):
        where = f"ячейка {cell.get('index', '?')} «{_first_line(nb, cell.get('index', -1))}»"
        status = cell.get("status")
        if status == "error":
            problems.append(f"{where}: {cell.get('ename', 'ошибка')}: {str(cell.get('evalue', ''))[:300]}")
        elif status == "timeout":
            problems.append(f"{where}: не завершилась за {settings.cell_timeout} с и была прервана")
        elif status == "dead":
            problems.append(f"{where}: ядро Python остановилось (выход из процесса, нехватка памяти или сбой)")
    if kernel == "stuck":
        problems.append("ядро не ответило на прерывание: остальные ячейки не выполнялись")
    elif kernel == "notebook_timeout":
        problems.append(f"вышло время на ноутбук ({settings.notebook_timeout} с): остальные ячейки не выполнялись")
    elif kernel == "runner_error":
        problems.append(f"ноутбук не удалось выполнить: {str(result.get('error', ''))[:300]}")
    for index in result.get("truncated", []):
        problems.append(f"ячейка {index}: слишком большой вывод, он обрезан")
    return problems


def _run_summary(result: dict[str, Any] | None, outcome: sandbox.Outcome, nb: Any) -> str:
    if outcome.over_disk:
        return "остановлен: объём папки"
    if outcome.timed_out or (result or {}).get("kernel") in ("stuck", "notebook_timeout"):
        return "остановлен: время"
    if result is None:
        return "прервался"
    if result.get("kernel") == "dead":
        return "ядро остановилось"
    if result.get("kernel") == "runner_error":
        return "не выполнился"
    errors = [c for c in _cells(result, nb) if c.get("status") in ("error", "timeout")]
    return f"ошибок в ячейках: {len(errors)}" if errors else "без ошибок"


def _check_cell_reason(exercise_id: str, nb: Any, result: dict[str, Any] | None) -> str:
    """Why an exercise has no verdict: what happened to the cell that calls check for it."""
    pattern = re.compile(r"""check\(\s*["']""" + re.escape(exercise_id) + r"""["']""")
    indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and pattern.search(c.source)]
    ran = {c.get("index"): c for c in (result or {}).get("cells", []) if isinstance(c, dict)}
    for index in indices:
        cell = ran.get(index)
        if cell and cell.get("status") == "error":
            return f"ячейка проверки (ячейка {index}) упала: {cell.get('ename')}: {str(cell.get('evalue', ''))[:200]}"
        if cell and cell.get("status") == "timeout":
            return f"ячейка проверки (ячейка {index}) не завершилась за отведённое время"
    if indices and not any(i in ran for i in indices):
        return "выполнение ноутбука не дошло до ячейки проверки"
    return ""


def verdicts_for(lesson: str, progress: Any, nb: Any, result: dict[str, Any] | None) -> dict[str, Verdict]:
    """Each exercise of the lesson: its recorded verdict, or «не проверено» with the reason."""
    recorded = _section(progress, "exercises")
    rechecked = set((result or {}).get("rechecked", []))
    missing = set((result or {}).get("missing", []))
    verdicts = {}
    for exercise_id, exercise in _exercises(lesson).items():
        entry = recorded.get(exercise_id)
        if entry is not None:
            status = "passed" if entry.get("passed") is True else str(entry.get("last", "failed"))
            status = status if status in STATUS_TEXT else "failed"
            message = str(entry.get("message", ""))[:2000]
            verdicts[exercise_id] = Verdict(status, message, by_grader=exercise_id in rechecked)
            continue
        reason = _check_cell_reason(exercise_id, nb, result)
        name = exercise.answer_name or "ответ"
        if exercise_id in missing:
            reason = (f"{reason}; " if reason else f"нет вызова check({exercise_id!r}, …); ") + \
                f"объекта {name} в ноутбуке нет, а задание просит определить его под этим именем"
        elif not reason:
            reason = f"check({exercise_id!r}, …) не выполнялся, и проверить {name} после последней ячейки не удалось"
        verdicts[exercise_id] = Verdict("not_checked", reason)
    return verdicts


def quiz_and_predictions(lesson: str, progress: Any) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(questions, answered, right at the first attempt) and (points, revealed, right) of the lesson."""
    from course_helpers.predictions import predictions
    from course_helpers.quizzes import questions

    answers, guesses = _section(progress, "quiz"), _section(progress, "predictions")
    asked = [answers[q] for q in questions(lesson) if q in answers]
    points = predictions(lesson)
    revealed = [guesses[p] for p in points if "first_correct" in guesses.get(p, {})]
    return ((len(questions(lesson)), len(asked), sum(e.get("first_correct") is True for e in asked)),
            (len(points), len(revealed), sum(e.get("first_correct") is True for e in revealed)))


def grade_one(submission: Submission, settings: Settings, mode: str, slot: int, work: Path, out: Path,
              hide: list[Path], inputs: list[Path]) -> Graded:
    """Run one submission in its own sandbox and read its verdicts."""
    graded = Graded(submission)
    if submission.problem:
        graded.run, graded.problems = "не запускался", [submission.problem]
        graded.verdicts = {k: Verdict("not_checked", submission.problem) for k in _exercises(submission.lesson)} \
            if submission.lesson in LESSONS else {}
        return graded
    lesson = submission.lesson
    box = sandbox.Sandbox(Path(tempfile.mkdtemp(prefix=f"{_safe(submission.student)}-", dir=work)), mode, slot,
                          settings.limits, hide)
    try:
        repo = sandbox.copy_repository(box.scratch / "repo", exclude=[out, *inputs])  # the class may sit in the checkout
        (repo / "notebooks").mkdir(exist_ok=True)
        name = next((p.name for p in (repo / "notebooks").glob(f"{lesson}_*.ipynb")), f"{lesson}_submission.ipynb")
        nbformat.write(submission.notebook, repo / "notebooks" / name)
        inside = box.inside
        answers = {k: e.answer_name for k, e in _exercises(lesson).items() if e.answer_name}
        spec = {"notebook": str(inside / "repo" / "notebooks" / name), "cwd": str(inside / "repo" / "notebooks"),
                "state": str(inside / "state"), "result": str(inside / "result.json"),
                "executed": str(inside / "executed.ipynb"), "answers": answers,
                "cell_timeout": settings.cell_timeout, "notebook_timeout": settings.notebook_timeout,
                "cell_output_cap": settings.cell_output_kb * 1024,
                "notebook_output_cap": settings.notebook_output_mb * 2**20}
        (box.scratch / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        box.prepare()
        env = {"PYTHONPATH": str(inside / "repo"), "COURSE_STATE_DIR": str(inside / "state"),
               "COURSE_LOOPBACK_ONLY": "1", "COURSE_MODE": "offline", "COURSE_LATENCY_SCALE": str(settings.latency),
               "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        wall = settings.notebook_timeout + settings.cell_timeout + 120  # kernel start, epilogue, shutdown
        outcome = box.run([sandbox.PYTHON, "-m", "course_helpers.grade_runner", str(inside / "spec.json")], env,
                          wall, box.scratch / "runner.log")
        result = _read_json(box.scratch / "result.json")
        result = result if isinstance(result, dict) else None
        progress = _read_json(box.scratch / "state" / "progress.json")
        graded.verdicts = verdicts_for(lesson, progress, submission.notebook, result)
        graded.quiz, graded.predictions = quiz_and_predictions(lesson, progress)
        graded.problems = _run_problems(result, outcome, submission.notebook, settings)
        graded.run = _run_summary(result, outcome, submission.notebook)
        graded.seconds = outcome.seconds
        executed = box.scratch / "executed.ipynb"
        if executed.is_file() and not executed.is_symlink() and executed.stat().st_size <= MAX_RESULT_BYTES:
            target = out / "notebooks" / _safe(submission.student) / submission.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(executed, target)
            graded.executed = target
    finally:
        if not settings.keep_scratch:
            box.cleanup()
    return graded


def grade(paths: list[Path], out: Path, settings: Settings, lesson: str | None = None,
          log: Any = print) -> list[Graded]:
    """Grade every submission under ``paths`` and write the report to ``out``; returns the results."""
    from course_helpers import grade_report

    submissions = find_submissions(paths, lesson)
    mode = sandbox.isolation(settings.isolation)
    if mode != "bwrap":
        log(f"⚠️ Изоляция слабее: bubblewrap недоступен ({sandbox.bwrap_problem() or 'выключен ключом --isolation'}). "
            "Работают лимиты ресурсов, отдельный пользователь (если грейдер запущен от root) и сетевой "
            "предохранитель курса на уровне Python; файлы вне рабочей папки защищены только правами доступа.")
    out.mkdir(parents=True, exist_ok=True)
    hide = [out, *(p if p.is_dir() else p.parent for p in paths)]
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="course-grade-"))
    os.chmod(work, 0o755)  # the sandbox's user must reach its own folder
    try:
        slots = list(range(settings.jobs))

        def task(submission: Submission) -> Graded:
            slot = slots.pop()
            try:
                graded = grade_one(submission, settings, mode, slot, work, out, hide, paths)
            finally:
                slots.append(slot)
            log(f"{submission.student} · урок {submission.lesson or '?'}: решено {graded.solved} из "
                f"{len(graded.verdicts)}, {graded.run}, {graded.seconds:.0f} с")
            return graded

        with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
            results = list(pool.map(task, submissions))
    finally:
        if settings.keep_scratch:
            log(f"Рабочие папки оставлены в {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    grade_report.write(results, out, settings, mode, time.monotonic() - started)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_helpers.grade",
        description="Проверить сохранённые ноутбуки учеников: каждый выполняется в свежем ядре, офлайн, в "
                    "песочнице; вердикты дают проверки самого курса. Отчёт: report.md и report.html, lesson-NN.csv, "
                    "feedback/.")
    parser.add_argument("submissions", nargs="+", type=Path, help="ноутбуки (.ipynb) или папки с ними")
    parser.add_argument("--out", type=Path, default=Path("grading-report"), help="куда писать отчёт")
    parser.add_argument("--lesson", help="номер урока, если его нельзя понять из ноутбука")
    parser.add_argument("--jobs", type=int, default=Settings.jobs, help="сколько ноутбуков выполнять одновременно")
    parser.add_argument("--cell-timeout", type=int, default=Settings.cell_timeout, help="секунд на ячейку")
    parser.add_argument("--notebook-timeout", type=int, default=Settings.notebook_timeout, help="секунд на ноутбук")
    parser.add_argument("--latency", type=float, default=Settings.latency,
                        help="масштаб задержек практического провайдера (1 — как у ученика)")
    parser.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory_mb, help="адресное пространство процесса")
    parser.add_argument("--isolation", choices=("auto", "bwrap", "rlimits"), default="auto")
    parser.add_argument("--keep-scratch", action="store_true", help="не удалять рабочие папки (для разбора)")
    args = parser.parse_args(argv)
    lesson = args.lesson.zfill(2) if args.lesson else None
    if lesson is not None and lesson not in LESSONS:
        parser.error(f"нет урока {args.lesson}; уроки: {', '.join(LESSONS)}")
    settings = Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, latency=args.latency,
                        jobs=max(1, args.jobs), isolation=args.isolation, keep_scratch=args.keep_scratch,
                        limits=sandbox.Limits(memory_mb=args.memory_mb))
    missing = [str(path) for path in args.submissions if not path.exists()]
    if missing:
        parser.error(f"нет такого файла или папки: {', '.join(missing)}")
    try:
        results = grade(args.submissions, args.out, settings, lesson)
    except (FileNotFoundError, RuntimeError) as e:  # not a notebook or folder; no usable sandbox here
        print(f"Ошибка: {e}", file=sys.stderr)
        return 2
    print(f"Готово: {len(results)} ноутбуков. Отчёт: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
