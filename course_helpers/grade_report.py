"""The grading report (:mod:`course_helpers.grade`): a Markdown table per lesson (also as an HTML
page), a CSV per lesson and a feedback file in Russian per student.

Every text here may contain what a student's code printed or raised (checker messages quote the
error), so it is escaped for Markdown tables and guarded against spreadsheet formulas in CSV.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from course_helpers.session import LESSONS

if TYPE_CHECKING:
    from course_helpers.grade import Graded, Settings

CELL_MESSAGE = 160  # characters of a checker's message in a table cell (the feedback has all of it)


def _md(text: str, limit: int | None = None) -> str:
    """Text for one Markdown table cell: one line, no pipes or HTML, shortened to ``limit``."""
    text = " ".join(str(text).split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _csv(text: object) -> str:
    """A CSV cell a spreadsheet shows as text (a leading =, +, - or @ would make it a formula)."""
    value = str(text)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _verdict_cell(status: str, message: str, by_grader: bool) -> str:
    from course_helpers.grade import STATUS_MARK, STATUS_TEXT

    note = " (проверено грейдером)" if by_grader else ""
    if status == "passed":
        return f"{STATUS_MARK[status]}{note}"
    return f"{STATUS_MARK[status]} {STATUS_TEXT[status]}{note}: {_md(message, CELL_MESSAGE)}"


def _by_lesson(results: list[Graded]) -> dict[str, list[Graded]]:
    lessons: dict[str, list[Graded]] = defaultdict(list)
    for graded in results:
        lessons[graded.submission.lesson if graded.submission.lesson in LESSONS else "??"].append(graded)
    return dict(sorted(lessons.items()))


def _exercise_ids(group: list[Graded]) -> list[str]:
    return sorted({k for g in group for k in g.verdicts}, key=lambda k: [int(p) for p in k.split(".") if p.isdigit()])


def _quiz(graded: Graded) -> str:
    total, answered, right = graded.quiz
    return f"{right}/{total} (отвечено {answered})" if total else "—"


def markdown(results: list[Graded], settings: Settings, mode: str, seconds: float) -> str:
    """The whole report as Markdown: header, then one table per lesson and the run problems."""
    from course_helpers.grade import STATUS_MARK, STATUS_TEXT

    timed = [g.seconds for g in results if g.seconds]
    isolation = ("bubblewrap: только чтение вне рабочей папки, сеть — только loopback, свои пространства процессов"
                 if mode == "bwrap" else
                 "⚠️ слабее: только лимиты ресурсов и сетевой предохранитель курса (bubblewrap недоступен)")
    lines = [
        "# Проверка ноутбуков",
        "",
        f"{datetime.now().strftime('%Y-%m-%d %H:%M')} · ноутбуков: {len(results)} · всего {seconds:.0f} с"
        + (f" · на ноутбук: медиана {median(timed):.0f} с, максимум {max(timed):.0f} с" if timed else ""),
        "",
        f"Изоляция: {isolation}. Лимиты: {settings.cell_timeout} с на ячейку, {settings.notebook_timeout} с на "
        f"ноутбук, {settings.limits.memory_mb} МБ памяти и {settings.limits.processes} процессов и потоков, папка — "
        f"{settings.limits.disk_mb} МБ. Задержки провайдера ×{format(settings.latency, 'g').replace('.', ',')}.",
        "",
        "Обозначения: " + ", ".join(f"{STATUS_MARK[s]} {t}" for s, t in STATUS_TEXT.items())
        + "; «проверено грейдером» — ячейка check(...) в ноутбуке не выполнялась, грейдер вызвал ту же "
          "проверку для объекта с именем из задания после последней ячейки.",
    ]
    for lesson, group in _by_lesson(results).items():
        ids = _exercise_ids(group)
        title = LESSONS.get(lesson, "урок не определён")
        lines += ["", f"## Урок {lesson} · {title}", ""]
        from course_helpers.checks import exercises

        titles = exercises()
        header = ["ученик", *[f"{i} {titles[i].title}" if i in titles else i for i in ids], "решено", "тест",
                  "выполнение", "время"]
        lines.append("| " + " | ".join(_md(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        for graded in sorted(group, key=lambda g: g.submission.student):
            cells = [_md(graded.submission.student)]
            for exercise_id in ids:
                verdict = graded.verdicts.get(exercise_id)
                cells.append(_verdict_cell(verdict.status, verdict.message, verdict.by_grader) if verdict else "")
            cells += [f"{graded.solved}/{len(graded.verdicts)}", _quiz(graded), _md(graded.run),
                      f"{graded.seconds:.0f} с" if graded.seconds else "—"]
            lines.append("| " + " | ".join(cells) + " |")
        troubled = [g for g in sorted(group, key=lambda g: g.submission.student) if g.problems]
        if troubled:
            lines += ["", "Что случилось при выполнении:", ""]
            for graded in troubled:
                lines.append(f"- **{_md(graded.submission.student)}** ({_md(graded.submission.path.name)}): "
                             + "; ".join(_md(p, 300) for p in graded.problems[:8])
                             + (f"; и ещё {len(graded.problems) - 8}" if len(graded.problems) > 8 else ""))
    return "\n".join(lines) + "\n"


def write_csv(path: Path, group: list[Graded]) -> None:
    """One lesson as a wide table: a row per student, status and message columns per exercise."""
    from course_helpers.grade import STATUS_TEXT

    ids = _exercise_ids(group)
    header = ["ученик", "файл", "урок", *[f"{i} {kind}" for i in ids for kind in ("статус", "сообщение")],
              "решено", "заданий", "тест: верно с первой попытки", "тест: отвечено", "тест: вопросов",
              "прогнозы: верно", "прогнозы: сделано", "прогнозы: всего", "выполнение", "проблемы", "секунд"]
    with open(path, "w", encoding="utf-8-sig", newline="") as f:  # utf-8-sig: Excel opens Cyrillic correctly
        writer = csv.writer(f)
        writer.writerow(header)
        for graded in sorted(group, key=lambda g: g.submission.student):
            row: list[object] = [graded.submission.student, graded.submission.path.name, graded.submission.lesson or ""]
            for exercise_id in ids:
                verdict = graded.verdicts.get(exercise_id)
                row += ([STATUS_TEXT[verdict.status] + (" (грейдер)" if verdict.by_grader else ""), verdict.message]
                        if verdict else ["", ""])
            row += [graded.solved, len(graded.verdicts), graded.quiz[2], graded.quiz[1], graded.quiz[0],
                    graded.predictions[2], graded.predictions[1], graded.predictions[0], graded.run,
                    " | ".join(graded.problems), round(graded.seconds, 1)]
            writer.writerow([_csv(cell) for cell in row])


def feedback(student: str, results: list[Graded]) -> str:
    """Russian feedback for one student: every lesson they handed in, every exercise with its message."""
    from course_helpers.checks import exercises
    from course_helpers.grade import STATUS_MARK, STATUS_TEXT

    titles = exercises()
    lines = [f"# Результаты проверки: {student}", ""]
    for graded in sorted(results, key=lambda g: g.submission.lesson or ""):
        lesson = graded.submission.lesson
        lines += [f"## Урок {lesson or '?'} · {LESSONS.get(lesson or '', 'урок не определён')}",
                  "", f"Файл: `{graded.submission.path.name}`. Решено заданий: {graded.solved} из {len(graded.verdicts)}.",
                  ""]
        for exercise_id, verdict in graded.verdicts.items():
            title = f" «{titles[exercise_id].title}»" if exercise_id in titles else ""
            text = verdict.message or ""
            if verdict.by_grader:
                text += (f" (ячейка check({exercise_id!r}, …) в ноутбуке не выполнялась — проверка запущена "
                         "после последней ячейки)")
            text = text.strip()
            lines.append(f"- {STATUS_MARK[verdict.status]} Задание {exercise_id}{title}: {STATUS_TEXT[verdict.status]}."
                         + (f" {text[:1].upper()}{text[1:]}" if text else ""))
            if verdict.status in ("failed", "not_attempted"):
                lines.append(f"  Подсказка: `hint({exercise_id!r})`, затем `hint({exercise_id!r}, 2)`.")
        total, answered, right = graded.quiz
        if total:
            lines += ["", f"Тест: отвечено {answered} из {total}, верно с первой попытки — {right}."
                      + (" Ответы, данные кнопками виджета, в файле ноутбука не сохраняются: чтобы тест засчитали, "
                         f"ответьте в ячейке кодом — answer(\"{lesson}.q1\", номер варианта) и так далее."
                         if answered < total else "")]
        points, made, guessed = graded.predictions
        if points:
            lines.append(f"Прогнозы: сделано {made} из {points}, верных — {guessed}.")
        if graded.problems:
            lines += ["", "При выполнении ноутбука:", *[f"- {p}" for p in graded.problems]]
        lines.append("")
    return "\n".join(lines)


HTML_STYLE = """body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; text-align: left; max-width: 28em; }
th { background: #eee; position: sticky; top: 0; }
td.passed { background: #e6f4e6; } td.failed { background: #fbe3e3; } td.not_attempted { background: #fff6d6; }
td.not_checked, td.error { background: #f0f0f0; }"""
CELL_CLASS = {"✅": "passed", "❌": "failed", "⏳": "not_attempted", "—": "not_checked", "⚠": "error"}


def _inline(text: str) -> str:
    """One line of the report's Markdown as HTML: **bold** and `code`; the text is already escaped
    (``_md``: no tags), only a bare & is left to escape."""
    text = re.sub(r"&(?!(lt|gt|amp);)", "&amp;", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _row(line: str, header: bool) -> str:
    """One Markdown table row as an HTML row; verdict cells get a class for their colour."""
    cells = [re.sub(r"\\(.)", r"\1", c) for c in line[2:-2].split(" | ")]  # split first: "\|" is no separator
    tag = "th" if header else "td"
    verdict = [not header and c[:1] in CELL_CLASS and (c == "✅" or len(c) > 2) for c in cells]  # not a bare "—"
    return "<tr>" + "".join(f"<{tag}{f' class={CELL_CLASS[c[:1]]}' if v else ''}>{_inline(c)}</{tag}>"
                            for c, v in zip(cells, verdict)) + "</tr>"


def html(report: str) -> str:
    """report.md (as :func:`markdown` writes it) as a standalone HTML page."""
    body: list[str] = []
    block = ""  # the open block: "table", "ul" or ""
    for line in report.splitlines():
        kind = "table" if line.startswith("|") else "ul" if line.startswith("- ") else ""
        if kind != block:
            body += [f"</{block}>"] if block else []
            body += [f"<{kind}>"] if kind else []
            header, block = True, kind
        if line.startswith("|---"):
            continue
        if kind == "table":
            body.append(_row(line, header))
            header = False
        elif kind == "ul":
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.startswith(("# ", "## ")):
            level = line.index(" ")
            body.append(f"<h{level}>{_inline(line[level + 1:])}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    body += [f"</{block}>"] if block else []
    return ('<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8"><title>Проверка ноутбуков</title>'
            f"<style>{HTML_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(results: list[Graded], out: Path, settings: Settings, mode: str, seconds: float) -> None:
    """report.md, report.html, lesson-NN.csv and feedback/<student>.md under ``out``."""
    from course_helpers.grade import _safe

    report = markdown(results, settings, mode, seconds)
    (out / "report.md").write_text(report, encoding="utf-8")
    (out / "report.html").write_text(html(report), encoding="utf-8")
    for lesson, group in _by_lesson(results).items():
        write_csv(out / f"lesson-{lesson}.csv", group)
    students: dict[str, list[Graded]] = defaultdict(list)
    for graded in results:
        students[graded.submission.student.split(" (")[0]].append(graded)
    (out / "feedback").mkdir(exist_ok=True)
    for student, group in students.items():
        (out / "feedback" / f"{_safe(student)}.md").write_text(feedback(student, group), encoding="utf-8")
