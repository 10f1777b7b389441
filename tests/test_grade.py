"""The grading command end to end: a synthetic class of one lesson (``grading_class.py``) graded in
sandboxes, with the expected verdict for every student, what each hostile notebook got, and the
report files; then the pieces (who is who, verdicts from a progress file, escaping) on their own.

The class (13 notebooks of lesson 00, whose exercises are read from the checks' registry) is graded
once (module fixture) at latency 0 with short time limits, four notebooks at a time: 1,5–2,5 minutes
on 2 CPUs, depending on what else runs.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat
import pytest

import grading_class
from course_helpers import grade, grade_report, sandbox
from course_helpers.predictions import Prediction, register_prediction
from course_helpers.quizzes import Question, register_question

LESSON = "00"
# 128 processes: the fork bomb reaches the limit in a few seconds even with four notebooks on 2 CPUs
SETTINGS = grade.Settings(cell_timeout=20, notebook_timeout=150, latency=0, jobs=4,
                          limits=sandbox.Limits(processes=128))
IDS = grading_class.lesson_exercises(LESSON)
QUESTIONS = len(grading_class.questions(LESSON))
STUBS = {k: grading_class.handed_out_as_stub(LESSON, k) for k in IDS}  # else: given code to fix, which fails


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("grading")
    mode = sandbox.isolation()
    outside = base / "outside"
    targets = grading_class.write_class(base / "class", LESSON, outside, bypass_netguard=mode == "bwrap")
    results = grade.grade([base / "class"], base / "report", SETTINGS, log=lambda *_: None)
    return {"base": base, "mode": mode, "targets": targets, "outside": outside, "report": base / "report",
            "by": {g.submission.student: g for g in results}}


def _outputs(graded: dict, student: str) -> list[str]:
    """What each code cell of the student's executed notebook printed."""
    nb = nbformat.read(graded["by"][student].executed, as_version=4)
    return ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"]


def test_complete_submission_passes_everything(graded: dict) -> None:
    result = graded["by"]["complete"]
    assert {k: v.status for k, v in result.verdicts.items()} == {k: "passed" for k in IDS}, result.verdicts
    assert not any(v.by_grader for v in result.verdicts.values())
    assert result.quiz == (QUESTIONS, QUESTIONS, QUESTIONS)
    assert result.run == "без ошибок" and result.problems == []


def test_partly_wrong_submission_gets_the_checkers_message(graded: dict) -> None:
    result = graded["by"]["partly_wrong"]
    *right, wrong = IDS
    assert all(result.verdicts[k].status == "passed" for k in right)
    assert result.verdicts[wrong].status == "failed" and len(result.verdicts[wrong].message) > 10
    assert result.quiz == (QUESTIONS, QUESTIONS, 0)
    row = next(line for line in (graded["report"] / "report.md").read_text().splitlines()
               if line.startswith("| partly_wrong |"))
    assert f"❌ неверно: {result.verdicts[wrong].message[:40]}" in row


def test_deleted_check_cells_are_checked_after_the_last_cell(graded: dict) -> None:
    result = graded["by"]["skipped_checks"]
    assert all(v.status == "passed" and v.by_grader for v in result.verdicts.values()), result.verdicts
    assert "проверено грейдером" in (graded["report"] / "report.md").read_text()


def test_renamed_function_is_not_checked_with_the_reason(graded: dict) -> None:
    result = graded["by"]["renamed"]
    for exercise_id in IDS:
        verdict = result.verdicts[exercise_id]
        name = grading_class.exercises()[exercise_id].answer_name
        assert verdict.status == "not_checked"
        assert "NameError" in verdict.message and f"объекта {name} в ноутбуке нет" in verdict.message


def test_broken_setup_cell_fails_every_check_with_a_clear_message(graded: dict) -> None:
    result = graded["by"]["broken_setup"]
    assert all(v.status == "failed" and "start_lesson" in v.message for v in result.verdicts.values())
    assert "TypeError" in result.problems[0] and "latency" in result.problems[0]


def test_hanging_cells_are_interrupted_and_a_stuck_kernel_ends_the_run(graded: dict) -> None:
    result = graded["by"]["hangs"]
    assert all(v.status == "passed" for v in result.verdicts.values())  # the run went on after the interrupt
    timeouts = [p for p in result.problems if f"не завершилась за {SETTINGS.cell_timeout} с" in p]
    assert len(timeouts) == 2, result.problems
    assert any("ядро не ответило на прерывание" in p for p in result.problems)
    assert result.run == "остановлен: время"
    assert result.seconds < SETTINGS.notebook_timeout  # stopped at the stuck cell, not at the notebook limit


def _checks_still_count(graded: dict, student: str) -> str:
    """Every exercise passed (the hostile cell comes after the checks); what the hostile cell printed."""
    result = graded["by"][student]
    assert all(v.status == "passed" for v in result.verdicts.values()), result.verdicts
    return _outputs(graded, student)[-1]


def _contained(graded: dict) -> bool:
    """Files outside the scratch folder are out of reach: bwrap (read-only), or root's own user per run."""
    return graded["mode"] == "bwrap" or os.geteuid() == 0


def test_writing_outside_its_folder_fails(graded: dict) -> None:
    printed = _checks_still_count(graded, "writes_outside")
    if _contained(graded):
        assert printed.count("не записал") == len(graded["targets"]), printed
        assert not any(path.exists() for path in graded["targets"])


def test_deleting_files_outside_its_folder_fails(graded: dict) -> None:
    printed = _checks_still_count(graded, "deletes_files")
    assert "своя копия курса на месте: False" in printed  # what it may delete, it did
    if _contained(graded):
        assert printed.count("не удалил") == 2, printed
        assert (graded["outside"] / "keep" / "instructor.txt").read_text(encoding="utf-8") == "файл преподавателя"
    assert (sandbox.REPO_ROOT / "course_helpers" / "grade.py").is_file()


def test_network_is_loopback_only(graded: dict) -> None:
    printed = _checks_still_count(graded, "network")
    assert "сети нет" in printed and "сеть есть" not in printed
    if graded["mode"] == "bwrap":  # a raw socket goes around the Python guard, not around the namespace
        assert "сети в обход нет: OSError [Errno 101]" in printed, printed


def test_megabytes_of_output_are_cut(graded: dict) -> None:
    printed = _checks_still_count(graded, "prints_megabytes")
    assert "дальнейший вывод ячейки отброшен" in printed and len(printed) < SETTINGS.cell_output_kb * 1024 + 500
    assert any("слишком большой вывод" in p for p in graded["by"]["prints_megabytes"].problems)
    assert (graded["report"] / "notebooks" / "prints_megabytes").is_dir()


def test_fork_bomb_hits_the_process_limit(graded: dict) -> None:
    result = graded["by"]["fork_bomb"]
    printed = _checks_still_count(graded, "fork_bomb")
    assert "fork остановлен после" in printed, (printed, result.run, result.problems)
    assert int(printed.split("после")[1].split()[0]) < SETTINGS.limits.processes
    assert result.run == "без ошибок"
    if os.geteuid() == 0:  # every process of the sandboxes' users is gone
        users = {sandbox.FIRST_UID + slot for slot in range(SETTINGS.jobs)}
        assert not _live_processes(users)


def test_skipped_exercises_are_not_attempted(graded: dict) -> None:
    result = graded["by"]["skipped"]
    assert {k: v.status for k, v in result.verdicts.items()} == \
        {k: "not_attempted" if STUBS[k] else "failed" for k in IDS}
    assert all("NotImplementedError" in v.message for k, v in result.verdicts.items() if STUBS[k])
    assert result.run == "без ошибок"  # the stub's error is what check() reports, not a crashed cell


def _live_processes(users: set[int]) -> list[Path]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid in users and (proc / "stat").read_text().split(")")[-1].split()[0] != "Z":
                found.append(proc)
        except OSError:
            pass
    return found


def test_unreadable_file_is_reported_not_run(graded: dict) -> None:
    result = graded["by"]["not_a_notebook"]
    assert result.run == "не запускался" and "не читается как ноутбук" in result.problems[0]
    assert result.submission.lesson == LESSON  # from its file name: it sits in the lesson's table
    assert all(v.status == "not_checked" for v in result.verdicts.values())


def test_report_files(graded: dict) -> None:
    report = graded["report"]
    text = (report / "report.md").read_text(encoding="utf-8")
    students = sorted(graded["by"])
    assert all(f"| {student} |" in text for student in students)
    assert ("bubblewrap" in text) if graded["mode"] == "bwrap" else ("⚠️ слабее" in text)
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count("<tr>") == len(students) + 1 and all(f"<td>{student}</td>" in page for student in students)
    with open(report / f"lesson-{LESSON}.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["ученик"] for r in rows) == students
    by = {r["ученик"]: r for r in rows}
    assert all(by["complete"][f"{k} статус"] == "верно" for k in IDS)
    assert by["partly_wrong"][f"{IDS[-1]} статус"] == "неверно" and by["partly_wrong"][f"{IDS[-1]} сообщение"]
    assert all(by["skipped_checks"][f"{k} статус"] == "верно (грейдер)" for k in IDS)
    for student in students:
        feedback = (report / "feedback" / f"{student}.md").read_text(encoding="utf-8")
        assert feedback.startswith(f"# Результаты проверки: {student}") and "Задание" in feedback
    assert "Подсказка: `hint(" in (report / "feedback" / "partly_wrong.md").read_text(encoding="utf-8")


def _table(report: Path) -> dict[str, list[str]]:
    """The lesson's table in report.md: student → cells."""
    rows = [line for line in (report / "report.md").read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:])}


PASSED = "✅"
EXPECTED = {  # student: (how each exercise's cell starts, how the run column starts)
    "complete": (PASSED, "без ошибок"),
    "partly_wrong": (PASSED, "без ошибок"),  # but the last exercise: "❌ неверно:"
    "skipped": ("⏳ не решено: замените заглушку", "без ошибок"),  # a stub; given code to fix: "❌ неверно:"
    "skipped_checks": ("✅ (проверено грейдером)", "без ошибок"),
    "renamed": ("— не проверено: ячейка проверки", "ошибок в ячейках:"),
    "broken_setup": ("❌ неверно", "ошибок в ячейках:"),  # "…: сначала выполните ячейку с start_lesson(...)"
    "hangs": (PASSED, "остановлен: время"),
    "writes_outside": (PASSED, "без ошибок"),
    "deletes_files": (PASSED, "без ошибок"),
    "network": (PASSED, "без ошибок"),
    "prints_megabytes": (PASSED, "без ошибок"),
    "fork_bomb": (PASSED, "без ошибок"),
    "not_a_notebook": ("— не проверено: файл не читается как ноутбук", "не запускался"),
}


def test_the_class_report_table(graded: dict) -> None:
    """The expected report: every student's row, exercise by exercise, and how the run went."""
    table = _table(graded["report"])
    assert set(table) == set(EXPECTED)
    for student, (each, run) in EXPECTED.items():
        cells = table[student]
        verdicts, (solved, _quiz, ran, _seconds) = cells[:len(IDS)], cells[len(IDS):]
        expected = [each] * len(IDS)
        if student == "partly_wrong":
            expected[-1] = "❌ неверно: "
        if student == "skipped":
            expected = [each if STUBS[k] else "❌ неверно: " for k in IDS]
        assert all(v == e if e == PASSED else v.startswith(e) for v, e in zip(verdicts, expected)), (student, cells)
        assert solved == f"{sum(v.startswith(PASSED) for v in verdicts)}/{len(IDS)}", (student, cells)
        assert ran.startswith(run), (student, cells)


# --- the pieces, without kernels ------------------------------------------------------------------

def _notebook(path: Path, setup: str = 'course = start_lesson("00")') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup)]), path)
    return path


def test_who_is_who(tmp_path: Path) -> None:
    _notebook(tmp_path / "class" / "ivanov" / "00_start.ipynb")
    _notebook(tmp_path / "class" / "ivanov" / "00_start-копия.ipynb")
    _notebook(tmp_path / "class" / "petrov.ipynb", 'course = start_lesson("3")')
    _notebook(tmp_path / "class" / ".ipynb_checkpoints" / "x-checkpoint.ipynb")
    single = _notebook(tmp_path / "sidorov" / "05_routing.ipynb", "print(1)")
    found = {(s.student, s.lesson) for s in grade.find_submissions([tmp_path / "class", single])}
    assert found == {("ivanov (00_start.ipynb)", "00"), ("ivanov (00_start-копия.ipynb)", "00"),
                     ("petrov", "03"), ("sidorov", "05")}
    unknown = grade.find_submissions([_notebook(tmp_path / "x.ipynb", "print(1)")])[0]
    assert unknown.lesson is None and "--lesson" in unknown.problem
    assert grade.find_submissions([tmp_path / "x.ipynb"], lesson="02")[0].problem is None


def test_verdicts_from_a_progress_file() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('check("00.1", first_call)')])
    progress = {"version": 2, "exercises": {"00.1": {"attempts": 2, "passed": False, "last": "failed",
                                                      "message": "вернулся не тот текст"}}}
    assert grade.verdicts_for("00", progress, nb, {"cells": []})["00.1"] == grade.Verdict("failed", "вернулся не тот текст")
    progress["exercises"]["00.1"].update(passed=True, last="failed")  # passed once in the run: passed
    assert grade.verdicts_for("00", progress, nb, {"cells": []})["00.1"].status == "passed"
    old = {"00.1": {"attempts": 1, "passed": False, "last": "failed"}}  # the first layout, no message
    assert grade.verdicts_for("00", old, nb, None)["00.1"] == grade.Verdict("failed", "")
    crashed = {"cells": [{"index": 0, "status": "error", "ename": "ValueError", "evalue": "плохо"}]}
    verdict = grade.verdicts_for("00", {}, nb, crashed)["00.1"]
    assert verdict.status == "not_checked" and "ValueError: плохо" in verdict.message
    unreached = grade.verdicts_for("00", {}, nb, {"cells": [], "kernel": "stuck"})["00.1"]
    assert "не дошло до ячейки проверки" in unreached.message
    for garbage in (None, [], {"version": 2, "exercises": []}, {"version": 2, "exercises": {"00.1": 5}}):
        assert grade.verdicts_for("00", garbage, nb, None)["00.1"].status == "not_checked"


register_question(Question(id="97.q1", text="?", options=["a", "b"], correct=1, explanation="."))
register_question(Question(id="97.q2", text="?", options=None, correct=2.0, explanation="."))
register_prediction(Prediction(id="97.p1", question="?", options=["0", "1"], explanation="."))


def test_quiz_and_predictions_are_counted() -> None:
    progress = {"version": 2, "quiz": {"97.q1": {"attempts": 2, "first_correct": False, "correct": True},
                                       "97.q2": {"attempts": 1, "first_correct": True, "correct": True},
                                       "99.q1": {"first_correct": True}},
                "predictions": {"97.p1": {"choice": "1", "first_correct": True}}}
    assert grade.quiz_and_predictions("97", progress) == ((2, 2, 1), (1, 1, 1))
    assert grade.quiz_and_predictions("97", {}) == ((2, 0, 0), (1, 0, 0))


def test_report_escapes_what_students_wrote(tmp_path: Path) -> None:
    submission = grade.Submission("=cmd|' /C calc'!A0", tmp_path / "00_start.ipynb", "00")
    result = grade.Graded(submission, {"00.1": grade.Verdict("failed", "ваш код упал: a | b\n<script>x</script>")},
                          run="без ошибок", seconds=3)
    text = grade_report.markdown([result], SETTINGS, "bwrap", 3)
    row = next(line for line in text.splitlines() if line.startswith("| =cmd"))
    assert "a \\| b &lt;script&gt;" in row and row.count(" | ") == 5  # one row, 6 cells
    page = grade_report.html(text)
    assert "<script>" not in page and "<td class=failed>❌ неверно: ваш код упал: a | b &lt;script&gt;x" in page
    assert page.count("<tr>") == 2 and page.count("<table>") == page.count("</table>") == 1
    grade_report.write_csv(tmp_path / "x.csv", [result])
    with open(tmp_path / "x.csv", encoding="utf-8-sig", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["ученик"].startswith("'=")  # a spreadsheet shows it as text, not a formula
    assert grade._safe("../../etc/passwd") == "etc_passwd" and grade._safe("Иванов И.") == "Иванов_И"


def test_check_records_its_message_and_a_run_without_an_answer(course, tmp_path, monkeypatch, capsys) -> None:
    """What the report reads: check() stores the last verdict with its message; «not attempted»
    is recorded too, without counting as an attempt (progress() still says «ещё не решено»)."""
    from course_helpers import progress_store
    from course_helpers.checks import check, progress

    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    check("00.1", ...)
    entry = progress_store.load()["exercises"]["00.1"]
    assert entry["attempts"] == 0 and entry["last"] == "not_attempted" and "замените" in entry["message"]
    capsys.readouterr()
    progress("00")
    assert "00.1 Первый запрос: ещё не решено" in capsys.readouterr().out
    check("00.1", lambda prompt: "не то")
    entry = progress_store.load()["exercises"]["00.1"]
    assert entry["attempts"] == 1 and entry["last"] == "failed"
    printed = capsys.readouterr().out  # check() prints as before: the stored message is the printed one
    assert printed.startswith("❌ неверно · Задание 00.1") and f": {entry['message']}\n" in printed


def test_command_line_errors_are_messages_not_tracebacks(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        grade.main([str(tmp_path / "нет-такой-папки")])
    assert exit_info.value.code == 2 and "нет такого файла или папки" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert grade.main([str(tmp_path / "notes.txt"), "--out", str(tmp_path / "report")]) == 2
    assert "не ноутбук (.ipynb) и не папка" in capsys.readouterr().err
